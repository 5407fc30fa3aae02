"""OTC's rules, third reading, through the real CLI against the simulator.

Disk states, bare metal servers, every error code OTC documents for these
calls, the disk's name inside the guest, a way out that works, the
operator's own OS list and the snapshot limit.  The simulator's answers
follow OTC's documented shapes (scenarios/features.yaml,
scenarios/snapshot-limit.yaml, the fault presets).
"""

import json
import os

from tests.functional import base
from tests.functional import test_operations
from tests.functional import test_otc_rules

from otcclient_detach import error_codes
from otcclient_detach.simulator import scenario as sim_scenario

flat = test_otc_rules.flat
SNAPSHOT_LIMIT = os.path.join(os.path.dirname(sim_scenario.__file__),
                              'scenarios', 'snapshot-limit.yaml')


class DiskStatusTest(test_otc_rules.OtcRulesTestCase):
    """Only an in-use disk can be detached (EVS's disk status table)."""

    scenario = test_otc_rules.FEATURES

    def test_busy_states_are_refused_and_not_forceable(self):
        for disk, status in (('disk-detaching', 'detaching'),
                             ('disk-extending', 'extending'),
                             ('disk-uploading', 'uploading'),
                             ('disk-error-detaching', 'error_detaching')):
            for force in ((), ('--force',)):
                result = self.detach(*(force + ('busy-disks', disk)))
                self.assertRefusedWithWayOut(result, 'disk-status')
                self.assertIn('is %s' % status, flat(result.stderr))
                self.assertNotIn('--force sends the detach anyway',
                                 result.stderr)

    def test_in_use_is_allowed(self):
        result = self.detach('busy-disks', 'disk-scsi')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.deletes()))


class BareMetalTest(test_otc_rules.OtcRulesTestCase):
    """A BMS: all disks SCSI, no OS list, the system disk only stopped."""

    scenario = test_otc_rules.FEATURES

    def test_scsi_data_disk_of_a_running_windows_bms_goes(self):
        result = self.detach('bms-windows', 'bms-windows-data')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.deletes()), result)

    def test_rules_say_why_they_do_not_apply(self):
        result = self.detach('--dry-run', '-f', 'json', 'bms-windows',
                             'bms-windows-data')
        rows = {r['Rule']: r for r in json.loads(result.stdout)}
        for rule in ('os-supported', 'windows-scsi'):
            self.assertEqual('n/a', rows[rule]['Verdict'], result)
            self.assertIn('bare metal', rows[rule]['Detail'], result)

    def test_system_disk_of_a_running_bms_is_refused(self):
        result = self.detach('--force', 'bms-windows', 'bms-windows-sys')
        self.assertRefusedWithWayOut(result, 'system-disk')
        self.assertIn('running BMS', flat(result.stderr))

    def test_stopped_bms_gives_any_disk(self):
        result = self.detach('bms-stopped', 'bms-stopped-sys')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.deletes()), result)


class ErrorCodesTest(base.SimulatorTestCase):
    """Each documented code gets its own sentence and way out."""

    def test_every_code_of_a_detach(self):
        hints = set()
        for code in ('Ecs.1002', 'Ecs.0003', 'Pdp.0001', 'Ecs.0603',
                     'EVS.2021', 'EVS.2068'):
            self.sim.clear_faults()
            self.sim.faults.add('DELETE', 'os-volume_attachments',
                                preset=code)
            result = self.detach('web-linux', 'web-data-1')
            self.assertEqual(1, result.returncode, (code, result))
            self.assertNoTraceback(result)
            text = flat(result.stderr)
            entry = error_codes.CODES[code]
            self.assertIn(code, text)
            self.assertIn(entry.way_out, text, (code, result))
            hints.add(entry.hint)
            self.sim.patch_volume('web-data-1', status='in-use')
        self.assertEqual(6, len(hints))

    def test_kms_codes_refuse_with_their_way_out(self):
        self.sim.faults.add('POST', 'describe-key', preset='KMS.0205',
                            count=None)
        result = self.detach('secure-app', 'secure-data')
        self.assertRefused(result, 'encryption-key')
        self.assertIn('KMS.0205', flat(result.stderr))
        self.sim.clear_faults()
        self.sim.faults.add('POST', 'describe-key', preset='KMS.0207',
                            count=None)
        result = self.detach('secure-app', 'secure-data')
        self.assertRefused(result, 'encryption-key')
        self.assertIn('which KMS does not know', flat(result.stderr))


class GuestNameTest(test_otc_rules.OtcRulesTestCase):
    """The disk's name inside the guest, in the reminder, -v and dry-run."""

    scenario = test_otc_rules.FEATURES

    def test_virtio_disk_by_its_serial(self):
        volume_id = self.volume_id('disk-extending')
        result = self.detach('--dry-run', '-f', 'json', 'crypt-running',
                             'enc-enabled')
        serial = self.volume_id('enc-enabled')[:20]
        rows = {r['Rule']: r for r in json.loads(result.stdout)}
        detail = rows['guest-prepare']['Detail']
        self.assertIn('/dev/disk/by-id/virtio-%s' % serial, detail)
        self.assertIn('/etc/fstab', detail)
        self.assertNotIn(volume_id[:20], detail)

    def test_scsi_disk_by_its_wwn(self):
        result = self.detach('-v', 'busy-disks', 'disk-scsi')
        self.assertEqual(0, result.returncode, result)
        text = flat(result.stderr)
        self.assertIn('/dev/disk/by-id/wwn-0x', text)
        self.assertIn('Reminder [guest-prepare]', text)
        self.assertIn('rule guest-prepare: remind', text)


class WayOutTest(test_operations.OperationsTestCase):
    """Advice names only what can succeed."""

    sim_timings = {'stop_seconds': 0.5}

    def test_after_the_system_disk_left_the_ecs_stays_stopped(self):
        result = self.detach('--stop-server', 'web-linux', 'web-linux-sys')
        self.assertEqual(0, result.returncode, result)
        text = flat(result.stderr)
        self.assertIn('stays stopped until a system disk is attached again',
                      text)
        self.assertIn("'openstack server add volume web-linux <volume> "
                      "--device /dev/vda'", text)


class OsListTest(base.SimulatorTestCase):
    """An operator vouches for an OS they checked, narrowly."""

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as fh:
            fh.write(text)
        return path

    def test_unlisted_os_is_refused_and_told_how_to_vouch(self):
        result = self.detach('legacy-os', 'legacy-data')
        self.assertRefused(result, 'os-supported')
        self.assertIn('user OS list', flat(result.stderr))

    def test_the_option_file_vouches_and_is_named(self):
        path = self.write('mine.tsv', '# checked by ops, 2026-11\n'
                          'Slackware 14.2 64bit\tchecked in staging\n')
        result = self.detach('-v', '--os-list', path, 'legacy-os',
                             'legacy-data')
        self.assertEqual(0, result.returncode, result)
        self.assertIn('user OS list %s, line 2' % path, flat(result.stderr))
        self.assertEqual(1, len(self.deletes()))

    def test_the_environment_and_xdg_find_it(self):
        path = self.write('env.tsv', 'Slackware 14.2 64bit\n')
        by_env = self.detach('legacy-os', 'legacy-data',
                             env=self.env(OTC_DETACH_OS_LIST=path))
        self.assertEqual(0, by_env.returncode, by_env)
        xdg = os.path.join(self.tmp, 'xdg')
        os.makedirs(os.path.join(xdg, 'otcclient-detach'))
        with open(os.path.join(xdg, 'otcclient-detach', 'os-list.tsv'),
                  'w') as fh:
            fh.write('Slackware 14.2 64bit\n')
        self.sim.patch_volume('legacy-data', status='in-use')
        by_xdg = self.detach('--dry-run', 'legacy-os', 'legacy-data',
                             env=self.env(XDG_CONFIG_HOME=xdg))
        self.assertEqual(0, by_xdg.returncode, by_xdg)

    def test_a_bad_file_stops_before_anything_is_sent(self):
        missing = os.path.join(self.tmp, 'nope.tsv')
        bad = self.write('bad.tsv', 'Slackware 14.2 64bit\ta\tb\n')
        for path, words in ((missing, 'nope.tsv'), (bad, 'line 1')):
            result = self.detach('--os-list', path, 'legacy-os',
                                 'legacy-data')
            self.assertEqual(2, result.returncode, result)
            self.assertIn(words, result.stderr)
            self.assertNoTraceback(result)
        self.assertEqual([], self.sim.requests)

    def test_force_is_unchanged(self):
        result = self.detach('--force', 'legacy-os', 'legacy-data')
        self.assertEqual(0, result.returncode, result)
        self.assertIn('Warning (--force) [os-supported]', result.stderr)


class SnapshotLimitTest(base.SimulatorTestCase):
    """Seven manual snapshots per disk: counted before anything changes."""

    scenario = SNAPSHOT_LIMIT

    def test_a_full_disk_is_refused_before_anything(self):
        result = self.detach('--snapshot', 'snap-vm', 'snap-full',
                             'snap-none')
        self.assertRefused(result, 'snapshot-limit')
        text = flat(result.stderr)
        self.assertIn('CBR', text)
        self.assertIn('deleting a disk deletes its snapshots', text)
        self.assertEqual([], self.requests('POST', '/snapshots'))

    def test_room_for_one_more(self):
        result = self.detach('--snapshot', 'snap-vm', 'snap-six')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.requests('POST', '/snapshots')))
        self.assertEqual(1, len(self.deletes()))
