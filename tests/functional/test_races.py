"""Races: the state changes between check and DELETE.

Another client acts while our DELETE is held in the simulator (a latency
fault; the action runs through the simulator's Python API as soon as the
request has arrived), or two ``detach-otc`` runs go for the same disk at
once.  The outcome is always clear, and never a false success: exit 0
only when the cloud accepted our DELETE.
"""

import subprocess
import threading
import time

from tests.functional import base

from otcclient_detach.simulator import ids

WEB = ids.sim_id('server', 'web-linux')
DB = ids.sim_id('server', 'db-stopped')
ATTACHMENTS = 'os-volume_attachments'

#: What the loser of two concurrent runs may say, by when it came.
ALREADY_DETACHING = ('a detach of this volume is already in progress '
                     '(another client?)')
ALREADY_DETACHED = 'Someone else detached it meanwhile'
NOT_ATTACHED_AT_CHECK = 'volume web-data-1 is not attached to server ' \
                        'web-linux'
#: The other run's DELETE got there before this one's check.
DETACHING_AT_CHECK = '[disk-status] disk web-data-1 is detaching'


def flat(text):
    return ' '.join(text.split())


class RaceTestCase(base.SimulatorTestCase):

    def while_held(self, path_regex, action, latency, method='DELETE'):
        """Hold the next matching request; meanwhile run ``action``.

        The request waits ``latency`` seconds in the simulator;
        ``action`` runs as soon as it has arrived.
        """
        rule = self.sim.add_fault(method, path_regex, latency=latency)

        def watch():
            deadline = time.monotonic() + 60
            while rule.hits == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            action()

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        return rule

    def someone_detaches(self, volume, server=WEB):
        return lambda: self.sim.state.detach(server, self.volume_id(volume))

    def assertFailedOnce(self, result, *texts):
        """Exit 1, one DELETE (ours, refused), the texts said."""
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual(1, len(self.deletes()), result)
        for text in texts:
            self.assertIn(text, flat(result.stderr))


class TestDiskRaces(RaceTestCase):

    def test_detached_by_someone_else_before_our_delete(self):
        # Their detach has finished (1 s) when ours is carried out.
        self.while_held(ATTACHMENTS, self.someone_detaches('web-data-1'),
                        latency=2.5)
        result = self.detach('web-linux', 'web-data-1')
        self.assertFailedOnce(
            result, 'Failed to detach volume web-data-1 from server '
            'web-linux: the cloud says it is not attached (any more):',
            'Someone else detached it meanwhile (its status is available '
            'now)', '1 of 1 volume failed to detach.')
        self.assertEqual([404], [r['status'] for r in self.deletes()])

    def test_detached_by_someone_else_while_we_would_wait(self):
        self.while_held(ATTACHMENTS, self.someone_detaches('web-data-1'),
                        latency=2.5)
        result = self.detach('--wait', 'web-linux', 'web-data-1')
        self.assertFailedOnce(result, 'not attached (any more)',
                              'Someone else detached it meanwhile')
        self.assertNotIn('is detached from server', result.stderr)

    def test_detach_in_progress_by_someone_else(self):
        self.while_held(ATTACHMENTS, self.someone_detaches('web-data-1'),
                        latency=0.3)
        result = self.detach('web-linux', 'web-data-1')
        self.assertFailedOnce(
            result, 'the cloud refused: Invalid volume: Volume status must '
            'be in-use to detach, it is detaching. (HTTP 400). Meanwhile '
            '%s' % ALREADY_DETACHING)
        self.assertEqual([400], [r['status'] for r in self.deletes()])

    def test_native_detach_in_progress_by_someone_else(self):
        self.while_held('detachvolume', self.someone_detaches('web-data-1'),
                        latency=0.3)
        result = self.detach('--api', 'native', 'web-linux', 'web-data-1')
        self.assertFailedOnce(result, 'Ecs.0100', ALREADY_DETACHING)

    def test_one_of_two_taken_by_someone_else(self):
        # Only the DELETE of web-data-1 is held; web-data-2 goes through.
        self.while_held(ATTACHMENTS + '/' + self.volume_id('web-data-1'),
                        self.someone_detaches('web-data-1'), latency=2.5)
        result = self.detach('--wait', 'web-linux', 'web-data-1',
                             'web-data-2')
        self.assertEqual(1, result.returncode, result)
        self.assertEqual(2, len(self.deletes()))
        self.assertIn('Volume web-data-2 is detached from server web-linux.',
                      result.stderr)
        self.assertIn('Someone else detached it meanwhile',
                      flat(result.stderr))
        self.assertIn('1 of 2 volumes failed to detach.', result.stderr)


class TestServerRaces(RaceTestCase):

    def test_server_being_stopped_meanwhile(self):
        self.while_held(ATTACHMENTS,
                        lambda: self.sim.state.power(WEB, 'stop'),
                        latency=0.3)
        result = self.detach('web-linux', 'web-data-1')
        self.assertFailedOnce(
            result, "while it is in task_state powering-off (HTTP 409, "
            "0101046)", 'Meanwhile server web-linux changed: it was ACTIVE '
            'when checked and is ACTIVE, task powering-off now (someone '
            'else stopped, started or changed it)')
        self.assertEqual('in-use', self.sim.volume('web-data-1')['status'])

    def test_server_stopped_meanwhile_data_disk_is_fine(self):
        # From a stopped ECS any disk may go: OTC accepts, and so do we.
        self.while_held(ATTACHMENTS,
                        lambda: self.sim.state.power(WEB, 'stop'),
                        latency=2.0)
        result = self.detach('--wait', 'web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertEqual('SHUTOFF', self.sim.server('web-linux')['status'])

    def test_stopped_server_started_meanwhile_keeps_its_system_disk(self):
        # Checked while SHUTOFF (allowed), carried out on a running ECS:
        # the cloud refuses, and the user is told why.
        self.while_held(ATTACHMENTS,
                        lambda: self.sim.state.power(DB, 'start'),
                        latency=2.0)
        result = self.detach('db-stopped', 'db-stopped-sys')
        self.assertFailedOnce(
            result, "the cloud refused: Can't detach root device volume "
            "(HTTP 400). Meanwhile server db-stopped changed: it was "
            "SHUTOFF when checked and is ACTIVE now")
        self.assertEqual('in-use',
                         self.sim.volume('db-stopped-sys')['status'])

    def test_stopped_server_being_started_meanwhile(self):
        self.while_held(ATTACHMENTS,
                        lambda: self.sim.state.power(DB, 'start'),
                        latency=0.3)
        result = self.detach('db-stopped', 'db-stopped-sys')
        self.assertFailedOnce(
            result, 'task_state powering-on',
            'it was SHUTOFF when checked and is SHUTOFF, task powering-on '
            'now')
        self.assertEqual('in-use',
                         self.sim.volume('db-stopped-sys')['status'])

    def test_server_locked_meanwhile(self):
        self.while_held(ATTACHMENTS,
                        lambda: self.sim.patch_server('web-linux',
                                                      locked=True),
                        latency=0.3)
        result = self.detach('web-linux', 'web-data-1')
        self.assertFailedOnce(
            result, 'is locked (HTTP 409)',
            'it was ACTIVE when checked and is ACTIVE, locked now')


class TestConcurrentRuns(RaceTestCase):
    """Two detach-otc runs at once: one wins, the other says so."""

    def run_two(self, *argv):
        # Both DELETEs are held a little, so both runs pass their checks
        # before either DELETE is carried out.
        self.sim.add_fault('DELETE', ATTACHMENTS, latency=0.5, count=2)
        command = [base.openstack_executable(), 'server', 'volume',
                   'detach-otc'] + list(argv)
        procs = [subprocess.Popen(
            command, env=self.env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True) for _ in range(2)]
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=base.CLI_TIMEOUT)
            results.append((proc.returncode, out, err))
        return results

    def check(self, results, wait=False):
        codes = sorted(code for code, _, _ in results)
        self.assertEqual([0, 1], codes, results)
        winner = [r for r in results if r[0] == 0][0]
        loser = [r for r in results if r[0] == 1][0]
        for _, out, err in results:
            self.assertNotIn('Traceback', out + err)
        said = flat(loser[2])
        self.assertTrue(any(text in said for text in (
            ALREADY_DETACHING, ALREADY_DETACHED, NOT_ATTACHED_AT_CHECK,
            DETACHING_AT_CHECK)), said)
        if wait:
            self.assertIn('Volume web-data-1 is detached', winner[2])
        # The cloud accepted exactly one DELETE.
        accepted = [r for r in self.deletes() if r['status'] == 202]
        self.assertEqual(1, len(accepted), self.deletes())

    def test_same_disk(self):
        self.check(self.run_two('web-linux', 'web-data-1'))

    def test_same_disk_with_wait(self):
        self.check(self.run_two('--wait', 'web-linux', 'web-data-1'),
                   wait=True)

    def test_different_disks_both_succeed(self):
        self.sim.add_fault('DELETE', ATTACHMENTS, latency=0.5, count=2)
        command = [base.openstack_executable(), 'server', 'volume',
                   'detach-otc', '--wait', 'web-linux']
        procs = [subprocess.Popen(
            command + [volume], env=self.env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True) for volume in ('web-data-1',
                                                    'web-data-2')]
        for proc in procs:
            out, err = proc.communicate(timeout=base.CLI_TIMEOUT)
            self.assertEqual(0, proc.returncode, err)
        self.assertEqual([202, 202],
                         [r['status'] for r in self.deletes()])
