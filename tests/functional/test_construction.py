"""Safety by construction, tried as a hostile cloud and an unlucky operator.

Each test is one way the command used to lose track of the truth: a
check minutes old, sources that disagree, one fact read two ways, a run
that ends before its job is done, words that are no longer true.  All go
through the real ``openstack`` CLI against the simulator; the verdicts
follow from OTC's rules by hand, never from the code under test.
"""

import signal
import subprocess
import time

import fixtures
from tests.functional import base
from tests.functional import test_faults
from tests.functional import test_hardening
from tests.functional import test_operations

from otcclient_detach import plan as plans
from otcclient_detach import workflow
from otcclient_detach.simulator import views as sim_views

flat = test_faults.flat
when = test_faults.when

#: Longer than plan.FRESH_FOR: the DELETE after it is a late write.
SLOW_SNAPSHOT = plans.FRESH_FOR + 2.0


def volume_body(sim, name):
    """The volume as the block storage API shows it (GET /volumes/{id})."""
    with sim.state.transaction():
        vol = sim.state.find_volume(name)
        return {'volume': sim_views.volume_detail(
            sim.state, sim.url('volume'), 'v2', vol)}


class LateWriteTest(test_operations.OperationsTestCase):
    """A check minutes old: the rules are judged again before the DELETE."""

    sim_timings = {'snapshot_seconds': SLOW_SNAPSHOT, 'start_seconds': 0.5}

    def start_during_the_snapshot(self, server):
        when(lambda: self.requests('POST', '/snapshots'),
             lambda: self.sim.state.power(self.server_id(server), 'start'))

    def test_system_disk_of_an_ecs_started_meanwhile_is_not_sent(self):
        self.start_during_the_snapshot('db-stopped')
        result = self.detach('--snapshot', 'db-stopped', 'db-stopped-sys')
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual('ACTIVE', self.sim.server('db-stopped')['status'])
        self.assertEqual([], self.deletes(), result)
        text = flat(result.stderr)
        self.assertIn('not sent: checked again just before the DELETE',
                      text)
        self.assertIn('[system-disk]', text)
        # The second look: the server read again after the snapshot.
        snapshot_done = max(r['finished'] for r in self.requests(
            'GET', '/snapshots/'))
        self.assertTrue(any(
            r['started'] >= snapshot_done for r in self.requests(
                'GET', '/servers/%s' % self.server_id('db-stopped'))),
            result)

    def test_scsi_disk_of_a_windows_ecs_started_meanwhile_is_not_sent(self):
        self.sim.patch_server('win-app', status='SHUTOFF')
        self.start_during_the_snapshot('win-app')
        result = self.detach('--snapshot', 'win-app', 'win-scsi')
        self.assertEqual(1, result.returncode, result)
        self.assertEqual([], self.deletes(), result)
        self.assertIn('[windows-scsi]', flat(result.stderr))
        self.assertEqual('in-use', self.sim.volume('win-scsi')['status'])

    def test_a_fresh_check_costs_no_second_look(self):
        # An immediate detach: the DELETE leaves well within FRESH_FOR of
        # the reads, and the server is read once.
        result = self.detach('web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertEqual(1, len(self.requests('GET', '/servers/detail')))
        self.assertEqual([], self.requests(
            'GET', '/servers/%s' % self.server_id('web-linux')))

    def test_still_allowed_after_the_snapshot_is_sent(self):
        result = self.detach('--snapshot', 'db-stopped', 'db-data')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.deletes()), result)
        self.assertIn('accepted', result.stderr)


class DisagreeingSourcesTest(base.SimulatorTestCase):
    """Sources that disagree are settled on the safe side, and named."""

    def test_system_disk_named_by_evs_list_whatever_the_attachment_says(self):
        volume_id = self.volume_id('win-app-sys')
        for device in (None, '', 'sda', '/dev/xvda', 'missing'):
            self.sim.clear_faults()
            self.sim.clear_requests()
            body = volume_body(self.sim, 'win-app-sys')
            attachment = body['volume']['attachments'][0]
            if device == 'missing':
                del attachment['device']
            else:
                attachment['device'] = device
            self.sim.add_fault('GET', '/volumes/%s$' % volume_id, status=200,
                               body=body, count=None)
            result = self.detach('win-app', volume_id)
            self.assertRefused(result, 'system-disk')
            text = flat(result.stderr)
            self.assertIn("EVS's disk list", text, (device, result))
            self.assertIn('/dev/sda', text, (device, result))

    def test_windows_by_os_version_outranks_the_metadata_hint(self):
        self.sim.patch_volume('win-app-sys', volume_image_metadata={
            '__os_version': 'Windows Server 2016 Standard 64bit'})
        self.sim.patch_server('win-app', metadata={'os_type': 'Linux'})
        result = self.detach('win-app', 'win-scsi')
        self.assertRefused(result, 'windows-scsi')
        self.assertIn('SCSI', result.stderr)

    def test_the_decision_log_and_the_verdict_agree(self):
        body = volume_body(self.sim, 'win-app-sys')
        body['volume']['attachments'][0]['device'] = None
        self.sim.add_fault('GET', '/volumes/%s$' % self.volume_id(
            'win-app-sys'), status=200, body=body, count=None)
        result = self.detach('-v', 'win-app',
                             self.volume_id('win-app-sys'))
        self.assertRefused(result, 'system-disk')
        self.assertIn('system disk win-app-sys', result.stderr)


class OneReadingTest(base.SimulatorTestCase):
    """One fact, read the same way by --dry-run and by --stop-server."""

    scenario = test_hardening.scenario(
        servers=[{'name': 'hidden', 'status': 'ACTIVE',
                  'root_device_name': '/dev/vda',
                  'show_root_device_name': False,
                  'image': 'Standard_CentOS_7.6_latest'}],
        volumes=[{'name': 'hidden-sys', 'image': 'Standard_CentOS_7.6_latest',
                  'attachments': [{'server': 'hidden', 'device': '/dev/vda',
                                   'boot_index': 0}]},
                 {'name': 'hidden-boot-data', 'bootable': True,
                  'image': 'Standard_CentOS_7.6_latest',
                  'attachments': [{'server': 'hidden', 'device': '/dev/vdb',
                                   'boot_index': 1}]}],
        stop_seconds=0.5, start_seconds=0.5)

    def test_dry_run_and_stop_server_agree_on_the_system_disk(self):
        report = self.detach('--dry-run', '-f', 'value', '-c', 'Rule', '-c',
                             'Verdict', 'hidden', 'hidden-boot-data')
        self.assertIn('system-disk pass', report.stdout, report)
        result = self.detach('--stop-server', '--start-server', 'hidden',
                             'hidden-boot-data')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.deletes()), result)
        self.assertEqual('ACTIVE', self.sim.server('hidden')['status'])

    def test_the_real_system_disk_is_refused_on_both_paths(self):
        report = self.detach('--dry-run', '-f', 'value', '-c', 'Rule', '-c',
                             'Verdict', 'hidden', 'hidden-sys')
        self.assertIn('system-disk refuse', report.stdout, report)
        result = self.detach('--stop-server', '--start-server', 'hidden',
                             'hidden-sys')
        self.assertEqual(1, result.returncode, result)
        self.assertIn('--start-server', result.stderr)
        self.assertEqual([], self.requests('POST', '/action'))


class RunsToTheEndTest(test_operations.OperationsTestCase):
    """Whatever ends the run early, the ECS ends as the plan said."""

    sim_timings = {'stop_seconds': 0.5, 'start_seconds': 0.5,
                   'detach_seconds': 0.5}

    def test_a_closed_pipe_does_not_leave_the_ecs_stopped(self):
        command = ('%s server volume detach-otc --stop-server --start-server '
                   'web-linux web-data-1 2>&1 | head -n 1' %
                   base.openstack_executable())
        proc = subprocess.run(['bash', '-c', 'set -o pipefail; ' + command],
                              env=self.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=base.CLI_TIMEOUT)
        self.assertEqual(1, len(proc.stdout.splitlines()), proc)
        self.wait_for(lambda: len(self.requests('POST', '/action')) >= 2,
                      what='os-start')
        self.wait_for(lambda: self.sim.server('web-linux')['status'] ==
                      'ACTIVE', what='the ECS running again')
        self.assertEqual(1, len(self.deletes()))
        self.assertEqual('available', self.sim.volume('web-data-1')['status'])

    def test_retry_after_that_is_no_delay_is_ignored(self):
        for value, name in (('-1', 'web-data-1'), ('nan', 'web-data-2'),
                            ('soon', 'web-stuck')):
            self.sim.clear_faults()
            self.sim.clear_requests()
            self.sim.add_fault('GET', r'/volumes/detail$', status=503,
                               retry_after=value)
            result = self.detach('web-linux', name)
            self.assertNoTraceback(result)
            self.assertNotIn('sleep length', result.stderr)
            self.assertEqual(0, result.returncode, (value, result))
            self.assertEqual([503, 200], [r['status'] for r in self.requests(
                'GET', '/volumes/detail')])


class BrokenAnswersTest(test_operations.OperationsTestCase):
    """Answers of another shape end through the record, not a traceback."""

    sim_timings = {'stop_seconds': 0.5, 'start_seconds': 0.5,
                   'detach_seconds': 3.0}

    def test_broken_answers_after_the_stop_still_start_the_ecs(self):
        for name, shape in (('web-data-1', {'status': 1}),
                            ('web-data-2', {'attachments': True})):
            volume = {'id': self.volume_id(name), 'status': 'in-use',
                      'attachments': []}
            volume.update(shape)
            self.sim.clear_faults()
            self.sim.clear_requests()

            def broken():
                # The disk list and the volume answer of another shape;
                # nova's attachment list still answers.
                self.sim.add_fault('GET', r'/cloudvolumes/detail$',
                                   status=200, count=None,
                                   body={'volumes': [volume], 'count': 1})
                self.sim.add_fault('GET', '/volumes/%s$' % volume['id'],
                                   status=200, count=None,
                                   body={'volume': volume})
            when(lambda: self.deletes(), broken)
            result = self.detach('--stop-server', '--start-server',
                                 'web-linux', name)
            self.assertNoTraceback(result)
            text = flat(result.stderr)
            self.assertNotIn("'int' object", text)
            self.assertEqual(0, result.returncode, result)
            self.assertIn('is detached from server web-linux', text)
            self.assertIn('Server web-linux is running (ACTIVE) again', text,
                          result)
            self.assertEqual('ACTIVE', self.sim.server('web-linux')['status'])

    def test_a_snapshot_status_of_another_type(self):
        self.sim.add_fault('GET', r'/snapshots/[^/]+$', status=200,
                           body={'snapshot': {'id': 'x', 'status': 1}},
                           count=None)
        result = self.detach('--snapshot', '--timeout', '3', 'web-linux',
                             'web-data-1')
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        text = flat(result.stderr)
        self.assertNotIn('unexpectedly', text)
        self.assertIn('was not available within 3 s', text)
        self.assertEqual([], self.deletes())


class BoundedTimeTest(base.SimulatorTestCase):
    """One deadline holds the whole command, identity included."""

    def test_the_deadline_is_under_a_minute(self):
        self.assertLess(workflow.GATHER_SECONDS, 60)

    def test_identity_asking_for_an_hour_ends_the_command_at_once(self):
        self.sim.add_fault('POST', r'/auth/tokens$', status=503,
                           retry_after=3600, count=None, service='identity')
        started = time.monotonic()
        result = self.detach('web-linux', 'web-data-1')
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertIn('Nothing was detached', result.stderr)
        self.assertEqual(1, len(self.requests('POST', '/auth/tokens')))
        self.assertLess(time.monotonic() - started, 60, result)

    def test_a_cloud_that_never_answers_ends_the_command(self):
        # The one deadline, shortened from its 45 s for the test's sake
        # (the in-process CLI reads it when it runs); before it, four
        # tries of 30 s each made this 124 s.
        self.useFixture(fixtures.MonkeyPatch(
            'otcclient_detach.workflow.GATHER_SECONDS', 8.0))
        self.sim.add_fault('GET', r'/servers/detail$', latency=120,
                           count=None)
        started = time.monotonic()
        result = self.detach('web-linux', 'web-data-1')
        # The margin is for a loaded machine.
        self.assertLess(time.monotonic() - started, 30, result)
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertIn('Nothing was detached', result.stderr)
        self.assertEqual([], self.deletes())
        # Each try waits for what is left of the one deadline: no more
        # tries start after it.
        tries = self.requests('GET', '/servers/detail')
        self.assertLessEqual(len(tries), 3, tries)


class TrueWordsTest(test_operations.OperationsTestCase):
    """Every closing line is read off the record of what happened."""

    sim_timings = {'detach_seconds': 30.0}

    def test_ctrl_c_names_refused_and_unsent_apart(self):
        self.sim.add_fault('DELETE', self.nova_detach_path(
            'web-linux', 'web-data-2') + '$', status=409)
        proc = test_hardening.interruptible(
            self, '--wait', 'web-linux', 'web-data-1', 'web-data-2')
        self.wait_for(lambda: len(self.deletes()) >= 2, what='the DELETEs')
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        self.assertEqual(130, proc.returncode, stderr)
        text = flat(stderr)
        self.assertIn('The detach goes on in the cloud for volume web-data-1 '
                      '(sent)', text)
        self.assertIn('Refused by the cloud: web-data-2.', text)
        self.assertNotIn('web-data-1, web-data-2', text)

    def test_names_from_the_cloud_cannot_rewrite_the_line(self):
        self.sim.patch_volume('spare-disk', name='x\rOK: volume detached.'
                              '\x1b[8m')
        result = self.detach('web-linux', self.volume_id('spare-disk'))
        self.assertRefused(result, 'attached')
        self.assertNotIn('\r', result.stderr)
        self.assertNotIn('\x1b', result.stderr)
        self.assertIn('\\r', result.stderr)


class LateDetachingTest(test_operations.OperationsTestCase):
    """A cloud that marks the volume detaching late is not a rollback."""

    sim_timings = {'detach_seconds': 4.0}

    def test_three_looks_before_a_rollback(self):
        volume_id = self.volume_id('web-data-1')
        late = dict(volume_body(self.sim, 'web-data-1')['volume'],
                    status='in-use')

        def two_looks_in_use():
            # Whichever way a look reads the disk, the first two still
            # show it in-use and attached: the cloud marks it late.
            self.sim.add_fault('GET', r'/cloudvolumes/detail$', status=200,
                               body={'volumes': [late], 'count': 1},
                               count=2)
            self.sim.add_fault('GET', r'/volumes/%s$' % volume_id,
                               status=200, body={'volume': late}, count=2)
        when(lambda: self.deletes(), two_looks_in_use)
        result = self.detach('--wait', 'web-linux', volume_id)
        self.assertEqual(0, result.returncode, result)
        self.assertNotIn('rolled', result.stderr)
        self.assertIn('is detached', result.stderr)
