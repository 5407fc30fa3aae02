"""OTC's rules beyond the seed page, through the real CLI.

Each class runs ``openstack server volume detach-otc`` against the
embedded simulator: ``scenarios/features.yaml`` (encrypted disks with KMS
keys in every state, a Xen ECS, an ECS that hides root_device_name, a
disk whose snapshots fail) or the built-in demo.  Every refusal exits 1,
sends no DELETE and names its way out.
"""

import os
import re

from tests.functional import base
import yaml

from otcclient_detach.simulator import scenario as sim_scenario

FEATURES = os.path.join(os.path.dirname(sim_scenario.__file__), 'scenarios',
                        'features.yaml')


def features(**changes):
    with open(FEATURES) as fh:
        found = yaml.safe_load(fh)
    for key, value in changes.items():
        found[key] = value
    return found


def flat(text):
    return ' '.join(text.split())


class OtcRulesTestCase(base.SimulatorTestCase):

    def assertRefusedWithWayOut(self, result, *rule_ids):
        self.assertRefused(result, *rule_ids)
        self.assertIn('Way out:', result.stderr, result)

    def native_gets(self, server):
        return self.requests('GET', '/cloudservers/%s' % self.server_id(
            server), 'compute')

    def kms_requests(self):
        return self.requests(None, '/kms/', 'kms')


class SystemDiskFailSafeTest(OtcRulesTestCase):
    """Point 1: the system disk from documented facts, else fail safe."""

    scenario = FEATURES

    def test_hidden_root_system_disk_found_by_boot_index(self):
        result = self.detach('hidden-root', 'hidden-root-sys')
        self.assertRefusedWithWayOut(result, 'system-disk')
        self.assertIn('bootIndex', flat(result.stderr))
        self.assertEqual(1, len(self.native_gets('hidden-root')), result)
        self.assertIn('weaker facts', flat(result.stderr))

    def test_hidden_root_data_disk_detached_with_a_note(self):
        result = self.detach('hidden-root', 'hidden-root-data')
        self.assertDetachedOnce(result, 'hidden-root', 'hidden-root-data')
        notes = [line for line in result.stderr.splitlines()
                 if line.startswith('Note:')]
        self.assertEqual(1, len(notes), result)
        self.assertIn('weaker facts', flat(result.stderr))

    def test_native_api_fails_too_possible_system_disk_refused(self):
        self.sim.add_fault('GET', r'/cloudservers/%s$' % self.server_id(
            'hidden-root'), status=500, count=None)
        result = self.detach('hidden-root', 'hidden-root-sys')
        self.assertRefusedWithWayOut(result, 'system-disk')
        text = flat(result.stderr)
        self.assertIn('could not be determined', text)
        self.assertIn('500', text)
        self.assertIn('--stop-server', text)
        self.assertIn('--force when you know it is a data disk', text)

    def test_native_api_fails_plain_data_disk_goes_with_a_note(self):
        self.sim.add_fault('GET', r'/cloudservers/%s$' % self.server_id(
            'hidden-root'), status=403, count=None)
        result = self.detach('hidden-root', 'hidden-root-data')
        self.assertDetachedOnce(result, 'hidden-root', 'hidden-root-data')
        self.assertIn('could not be determined', flat(result.stderr))

    def test_force_gets_past_the_fail_safe(self):
        # 403: not retried, as a 500 would be.
        self.sim.add_fault('GET', r'/cloudservers/%s$' % self.server_id(
            'hidden-root'), status=403, count=None)
        result = self.detach('--force', 'hidden-root', 'hidden-root-sys')
        self.assertIn('Warning (--force) [system-disk]', result.stderr)
        # Sent once; the cloud has the last word (it keeps the system
        # disk of a running ECS).
        self.assertEqual([self.nova_detach_path('hidden-root',
                                                'hidden-root-sys')],
                         [r['path'] for r in self.deletes()], result)
        self.assertNoTraceback(result)

    def test_xen_system_disk_at_sda(self):
        result = self.detach('xen-linux', 'xen-linux-sys')
        self.assertRefusedWithWayOut(result, 'system-disk')
        self.assertIn('/dev/sda', result.stderr)
        # root_device_name was there: no native lookup, no note.
        self.assertEqual([], self.native_gets('xen-linux'))
        self.assertNotIn('weaker facts', flat(result.stderr))

    def test_xen_data_disk(self):
        result = self.detach('xen-linux', 'xen-data')
        self.assertDetachedOnce(result, 'xen-linux', 'xen-data')


class SystemDiskLegacyComputeTest(OtcRulesTestCase):
    """Point 1 on the legacy /v2 endpoint: no root_device_name at all."""

    scenario = FEATURES
    compute_version = 'v2'

    def test_xen_system_disk_by_boot_index(self):
        result = self.detach('xen-linux', 'xen-linux-sys')
        self.assertRefusedWithWayOut(result, 'system-disk')
        self.assertIn('bootIndex', flat(result.stderr))
        self.assertEqual(1, len(self.native_gets('xen-linux')))

    def test_xen_system_disk_fail_safe_at_sda(self):
        self.sim.add_fault('GET', r'/cloudservers/%s$' % self.server_id(
            'xen-linux'), status=403, count=None)
        result = self.detach('xen-linux', 'xen-linux-sys')
        self.assertRefusedWithWayOut(result, 'system-disk')
        text = flat(result.stderr)
        self.assertIn('could not be determined', text)
        self.assertIn('/dev/sda', text)

    def test_data_disk_on_v2(self):
        result = self.detach('xen-linux', 'xen-data')
        self.assertDetachedOnce(result, 'xen-linux', 'xen-data',
                                version='v2')
        self.assertIn('weaker facts', flat(result.stderr))


class EncryptionKeyTest(OtcRulesTestCase):
    """Point 2: rule encryption-key, one KMS request per encrypted disk."""

    scenario = FEATURES

    def test_enabled_key_detached_with_one_kms_request(self):
        result = self.detach('crypt-running', 'enc-enabled')
        self.assertDetachedOnce(result, 'crypt-running', 'enc-enabled')
        self.assertEqual(1, len(self.kms_requests()), result)
        self.assertEqual('POST', self.kms_requests()[0]['method'])

    def test_describe_key_is_a_read_retried_and_not_logged_as_a_write(self):
        self.sim.add_fault('POST', r'/kms/describe-key$', status=503)
        result = self.detach('-v', 'crypt-running', 'enc-enabled')
        self.assertDetachedOnce(result, 'crypt-running', 'enc-enabled')
        self.assertEqual([503, 200], [r['status']
                                      for r in self.kms_requests()], result)
        self.assertNotIn('Sending POST /kms/describe-key', result.stderr)

    def test_unencrypted_disk_asks_no_kms(self):
        result = self.detach('xen-linux', 'xen-data')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual([], self.kms_requests())

    def test_keys_not_enabled_refused(self):
        for volume, words, way_out in (
                ('enc-disabled', 'which is disabled', 'enable the key'),
                ('enc-deleting', 'scheduled for deletion',
                 "cancel the key's scheduled deletion"),
                ('enc-inactive', 'waiting to be activated', 'activate'),
                ('enc-importing', 'waiting for import', 'import the key'),
                ('enc-unknown-key', 'KMS does not know', 'check the key')):
            self.sim.clear_requests()
            result = self.detach('crypt-running', volume)
            self.assertRefusedWithWayOut(result, 'encryption-key')
            text = flat(result.stderr)
            self.assertIn(words, text)
            self.assertIn(way_out, text)
            self.assertEqual(1, len(self.kms_requests()), result)

    def test_stopped_ecs_too(self):
        result = self.detach('crypt-stopped', 'enc-stopped-disabled')
        self.assertRefusedWithWayOut(result, 'encryption-key')
        self.assertIn('key-disabled', result.stderr)

    def test_two_encrypted_disks_two_kms_requests(self):
        result = self.detach('--dry-run', 'crypt-running', 'enc-enabled',
                             'enc-disabled')
        self.assertEqual(1, result.returncode, result)
        self.assertEqual(2, len(self.kms_requests()))
        self.assertIn('encryption-key', result.stdout)

    def test_kms_refuses_to_answer(self):
        self.sim.add_fault('POST', r'/kms/describe-key$', status=403,
                           count=None)
        result = self.detach('crypt-running', 'enc-enabled')
        self.assertRefusedWithWayOut(result, 'encryption-key')
        text = flat(result.stderr)
        self.assertIn('KMS could not be asked', text)
        self.assertIn('403', text)
        self.assertIn('--force', text)

    def test_force_when_kms_cannot_be_asked(self):
        self.sim.add_fault('POST', r'/kms/describe-key$', status=403,
                           count=None)
        result = self.detach('--force', 'crypt-running', 'enc-enabled')
        self.assertDetachedOnce(result, 'crypt-running', 'enc-enabled')
        self.assertIn('Warning (--force) [encryption-key]', result.stderr)


class EncryptionWithoutKmsEndpointTest(OtcRulesTestCase):
    """Point 2: no kms entry in the catalog."""

    def setUp(self):
        self.scenario = features(kms=dict(features()['kms'],
                                          in_catalog=False))
        super(EncryptionWithoutKmsEndpointTest, self).setUp()

    def test_refused_saying_why(self):
        result = self.detach('crypt-running', 'enc-enabled')
        self.assertRefusedWithWayOut(result, 'encryption-key')
        self.assertIn('no kms endpoint', flat(result.stderr))
        self.assertEqual([], self.kms_requests())


class StartWithoutSystemDiskTest(OtcRulesTestCase):
    """Point 3: --start-server never follows a system disk's detach."""

    def test_refused_before_anything_is_sent(self):
        result = self.detach('--stop-server', '--start-server', 'web-linux',
                             'web-linux-sys')
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual([], self.deletes())
        self.assertEqual([], self.requests('POST', service='compute'))
        text = flat(result.stderr)
        self.assertIn('Ecs.0105', text)
        self.assertIn('Way out: use --stop-server alone', text)
        self.assertEqual('ACTIVE', self.sim.server('web-linux')['status'])


class OsFactsTest(OtcRulesTestCase):
    """Point 4: OS facts that OTC documents, compared right."""

    def test_image_name_alone_is_an_unknown_os(self):
        self.sim.patch_volume('web-linux-sys', volume_image_metadata={})
        server = self.sim.server('web-linux')
        metadata = {k: v for k, v in server['metadata'].items()
                    if k != 'metering.image_id'}
        self.sim.patch_server('web-linux', metadata=metadata)
        result = self.detach('web-linux', 'web-data-1')
        self.assertRefusedWithWayOut(result, 'os-supported')
        text = flat(result.stderr)
        self.assertIn(metadata['image_name'], text)
        self.assertIn('anybody', text)

    def test_os_type_in_any_case(self):
        sys_meta = self.sim.volume('win-app-sys')['volume_image_metadata']
        self.sim.patch_volume('win-app-sys', volume_image_metadata=dict(
            sys_meta, __os_type='WINDOWS'))
        result = self.detach('win-app', 'win-scsi')
        self.assertRefusedWithWayOut(result, 'windows-scsi')


class ForceDetachTest(OtcRulesTestCase):
    """Point 5: --force-detach is the data-loss path."""

    def test_running_ecs_warned(self):
        result = self.detach('--api', 'native', '--force-detach',
                             'web-linux', 'web-data-1')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.deletes()))
        self.assertIn('delete_flag=1', self.deletes()[0]['query'])
        self.assertIn('Warning [force-detach]', result.stderr)
        self.assertIn('may lose data', flat(result.stderr))

    def test_scsi_of_running_windows_refused_without_force(self):
        result = self.detach('--api', 'native', '--force-detach', 'win-app',
                             'win-scsi')
        self.assertRefusedWithWayOut(result, 'force-detach')
        self.assertIn('add --force', flat(result.stderr))

    def test_scsi_of_running_windows_with_force(self):
        result = self.detach('--force', '--api', 'native', '--force-detach',
                             'win-app', 'win-scsi')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.deletes()))
        self.assertIn('Warning (--force) [force-detach]', result.stderr)


class SnapshotTest(OtcRulesTestCase):
    """Point 6: --snapshot backs each volume up first."""

    scenario = FEATURES

    def snapshot_posts(self):
        return self.requests('POST', '/snapshots', 'volume')

    def test_snapshot_then_detach(self):
        result = self.detach('--snapshot', 'xen-linux', 'xen-data')
        self.assertDetachedOnce(result, 'xen-linux', 'xen-data')
        posts = self.snapshot_posts()
        self.assertEqual(1, len(posts), result)
        # Available before the DELETE was sent.
        self.assertLess(posts[0]['finished'], self.deletes()[0]['started'])
        match = re.search(r'snapshot (detach-otc-xen-data-\d{8}T\d{6}Z) is '
                          r'available', result.stderr)
        self.assertIsNotNone(match, result)
        snaps = self.sim.state.list_snapshots()
        self.assertEqual([(match.group(1), 'available', True)],
                         [(s['name'], s['status'], True) for s in snaps])

    def test_snapshot_polls_ride_out_a_passing_5xx(self):
        # Following a snapshot is a wait like the others: a 503 that
        # lasts longer than a read's own retries is looked at again.
        self.sim.add_fault('GET', r'/snapshots/[^/]+$', status=503, count=6)
        result = self.detach('--snapshot', 'xen-linux', 'xen-data')
        self.assertDetachedOnce(result, 'xen-linux', 'xen-data')
        self.assertIn('is available', result.stderr)

    def test_failed_snapshot_detaches_nothing(self):
        result = self.detach('--snapshot', 'crypt-running', 'snap-fails')
        self.assertEqual(1, result.returncode, result)
        self.assertEqual([], self.deletes())
        self.assertEqual(1, len(self.snapshot_posts()))
        self.assertIn('Nothing was detached', flat(result.stderr))
        self.assertIn('error', result.stderr)

    def test_dry_run_names_the_snapshots(self):
        result = self.detach('--dry-run', '--snapshot', 'xen-linux',
                             'xen-data', '-f', 'value')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual([], self.snapshot_posts())
        self.assertEqual([], self.deletes())
        self.assertRegex(result.stdout,
                         r'xen-data snapshot would make EVS snapshot '
                         r'detach-otc-xen-data-\d{8}T\d{6}Z')


class ReadingAnswersTest(OtcRulesTestCase):
    """Point 7 (bullets 2 and 3): OTC's hints and the Windows reminder."""

    def test_ecs_0102_hint_as_otc_words_it(self):
        self.sim.add_fault('DELETE', self.volume_id('web-data-1'),
                           status=400, count=None, body={'error': {
                               'code': 'Ecs.0102',
                               'message': 'The data disk is unresponsive.'}})
        result = self.detach('web-linux', 'web-data-1')
        self.assertEqual(1, result.returncode, result)
        self.assertIn('the data disk is currently unresponsive; try again '
                      'later or contact customer service',
                      flat(result.stderr))

    def test_windows_reminder_says_offline_first(self):
        result = self.detach('win-app', 'win-vbd')
        self.assertEqual(0, result.returncode, result)
        text = flat(result.stderr)
        self.assertIn('take it offline first', text)
        self.assertIn('Set-Disk -Number <n> -IsOffline $true', text)


class HelpTest(OtcRulesTestCase):
    """Point 8: --help covers the new rule and the fail-safe cases."""

    def test_help(self):
        result = self.detach('--help')
        self.assertEqual(0, result.returncode, result)
        text = flat(result.stdout)
        for words in ('- encryption-key:', 'bootIndex "0"',
                      'rests on weaker facts', 'Ecs.0105', '--snapshot',
                      'may lose data', 'take it offline',
                      "image_name alone is not enough"):
            self.assertIn(words, text)
        self.assertEqual([], self.requests())
