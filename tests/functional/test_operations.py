"""Operations against the simulator: --wait, rollback, batches, --dry-run,
--stop-server, --api native and Ctrl-C, with the real ``openstack`` CLI.

Every test asserts on what the simulator saw (its request log, whose
``timestamp`` is taken when the answer is ready) and on its state, plus
exit codes and key phrases: never on whole sentences, which may change.
Timings come from the demo scenario with ``timings`` overridden per test
(see :func:`timings`).
"""

import csv
import io
import json
import os
import re
import select
import signal
import subprocess
import time

import fixtures
import yaml
from tests.functional import base

from otcclient_detach import rules
from otcclient_detach import simulator as sim_pkg
from otcclient_detach.simulator import views as sim_views

DEMO = os.path.join(os.path.dirname(sim_pkg.__file__), 'scenarios',
                    'demo.yaml')

#: What doc/source/operations.rst promises about polling (seconds), with
#: room for a loaded machine: never more often than every second, never
#: less than every 5 s.
MIN_INTERVAL = 0.9
MAX_INTERVAL = 5.0
SLACK = 1.0

#: Every rule, in table order: a row each per volume in the report.
RULE_IDS = tuple(rule.id for rule in rules.RULES)
REPORT_COLUMNS = ['Volume', 'Rule', 'Verdict', 'Detail']


def demo_scenario(**timings):
    with open(DEMO) as fh:
        scenario = yaml.safe_load(fh)
    scenario.setdefault('timings', {}).update(timings)
    return scenario


def timings(**values):
    """Run the decorated test on the demo scenario with these timings."""
    def decorate(test):
        test.sim_timings = values
        return test
    return decorate


class OperationsTestCase(base.SimulatorTestCase):
    #: Timings for every test of the class (a test's own ones win).
    sim_timings = {}

    def setUp(self):
        test = getattr(self, self._testMethodName)
        values = dict(self.sim_timings)
        values.update(getattr(test, 'sim_timings', {}))
        if values:
            self.scenario = demo_scenario(**values)
        self.detach_seconds = values.get('detach_seconds', 1.0)
        self.stop_seconds = values.get('stop_seconds', 1.0)
        super(OperationsTestCase, self).setUp()

    # -- running the CLI ----------------------------------------------------

    def timed_detach(self, *argv, **kwargs):
        """detach(); also return the wall time (s) and the end (epoch)."""
        started = time.monotonic()
        result = self.detach(*argv, **kwargs)
        return result, time.monotonic() - started, time.time()

    def popen_detach(self, *argv, **kwargs):
        kwargs.setdefault('stdout', subprocess.PIPE)
        kwargs.setdefault('stderr', subprocess.PIPE)
        proc = subprocess.Popen(
            [base.openstack_executable(), 'server', 'volume', 'detach-otc'] +
            list(argv), env=self.env(), stdin=subprocess.DEVNULL, **kwargs)
        self.addCleanup(self._reap, proc)
        return proc

    @staticmethod
    def _reap(proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()

    def wait_for(self, predicate, timeout=30, what='condition'):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        self.fail('timed out after %s s waiting for %s; requests: %s' % (
            timeout, what, self.sim.requests))

    # -- the request log ----------------------------------------------------

    def polls(self, server='web-linux'):
        """The --wait looks after the first DELETE: one read each.

        A look reads EVS's disk list of the server (the whole batch in
        one answer); the read before the DELETE is the gathering of the
        facts.
        """
        server_id = self.server_id(server)
        log = self.sim.requests
        deletes = [i for i, r in enumerate(log) if r['method'] == 'DELETE']
        first = deletes[0] if deletes else 0
        return [r for r in log[first:] if r['method'] == 'GET' and
                r['path'].endswith('/cloudvolumes/detail') and
                'server_id=%s' % server_id in r.get('query', '')]

    def server_actions(self, server='web-linux'):
        suffix = '/servers/%s/action' % self.server_id(server)
        return [r for r in self.requests('POST')
                if r['path'].endswith(suffix)]

    def changes(self):
        """Every request that could change something in the cloud."""
        return [r for r in self.sim.requests
                if r['method'] not in ('GET', 'HEAD') and
                not r['path'].endswith('/auth/tokens')]

    def record_power(self):
        """Record os-stop / os-start as the simulator handles them.

        The request log has no bodies; wrapping this test's simulator
        state tells an os-stop from an os-start.
        """
        actions = []
        power = self.sim.state.power

        def recording(server_id, action):
            actions.append((action, server_id))
            return power(server_id, action)

        self.sim.state.power = recording
        return actions

    # -- assertions ---------------------------------------------------------

    def assertIntervals(self, times, result, first_after=None):
        """Polls: never closer than 1 s, never further apart than 5 s."""
        if first_after is not None:
            self.assertGreaterEqual(times[0] - first_after, MIN_INTERVAL,
                                    result)
        for earlier, later in zip(times, times[1:]):
            self.assertGreaterEqual(later - earlier, MIN_INTERVAL, result)
            self.assertLessEqual(later - earlier, MAX_INTERVAL + SLACK,
                                 result)

    def assertPhrases(self, text, *phrases):
        said = ' '.join(text.split()).lower()  # messages are wrapped
        for phrase in phrases:
            self.assertIn(phrase.lower(), said)

    def assertNoTerminalControl(self, result):
        self.assertNotIn('\r', result.stderr, result)
        self.assertNotIn('\x1b', result.stderr, result)


class WaitTest(OperationsTestCase):
    """--wait and --timeout on a single disk."""

    @timings(detach_seconds=4.0)
    def test_wait_polls_attachment_list_until_gone(self):
        result = self.detach('--wait', 'web-linux', 'web-data-1')

        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertEqual('available', self.sim.volume('web-data-1')['status'])
        self.assertNotIn('web-data-1', [
            v['name'] for v in self.sim.server('web-linux')['volumes']])
        delete = self.deletes()[0]
        polls = self.polls()
        # 4 s of detaching seen by a poll at ~1 s, ~2.5 s and ~4.75 s.
        self.assertGreaterEqual(len(polls), 2, result)
        self.assertLessEqual(len(polls), 4, result)
        self.assertTrue(all(p['timestamp'] > delete['timestamp']
                            for p in polls), result)
        self.assertIntervals([p['timestamp'] for p in polls], result,
                             first_after=delete['timestamp'])
        # It waited for the detach to finish, not less.
        self.assertGreaterEqual(
            polls[-1]['timestamp'] - delete['timestamp'],
            self.detach_seconds, result)
        self.assertNoTerminalControl(result)

    def test_wait_quiet_when_stderr_is_not_a_terminal(self):
        result = self.detach('--wait', 'web-linux', 'web-data-2')

        self.assertDetachedOnce(result, 'web-linux', 'web-data-2')
        self.assertGreaterEqual(len(self.polls()), 1, result)
        self.assertNoTerminalControl(result)
        self.assertNotIn('Waiting for', result.stderr, result)

    @timings(detach_seconds=3.0)
    def test_wait_shows_progress_on_a_terminal(self):
        master, slave = os.openpty()
        try:
            proc = self.popen_detach('--wait', 'web-linux', 'web-data-3',
                                     stderr=slave)
        finally:
            os.close(slave)
        chunks = []
        deadline = time.monotonic() + base.CLI_TIMEOUT
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 1)
                if not ready:
                    if proc.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(master)
        proc.stdout.read()
        self.assertEqual(0, proc.wait(10))
        stderr = b''.join(chunks).decode('utf-8', 'replace')

        self.assertEqual([self.nova_detach_path('web-linux', 'web-data-3')],
                         [r['path'] for r in self.deletes()])
        self.assertGreaterEqual(len(self.polls()), 2, stderr)
        # The terminal turns "\n" into "\r\n"; a progress line rewrites
        # itself with a bare "\r".
        progress = [line for line in re.split(r'\r(?!\n)', stderr)[1:]
                    if line.strip()]
        self.assertNotEqual([], progress, stderr)
        self.assertTrue(any('web-linux' in line or 'web-data-3' in line
                            for line in progress), stderr)
        self.assertNotIn('Traceback', stderr)
        self.assertEqual('available', self.sim.volume('web-data-3')['status'])

    def test_wait_multiattach_volume_stays_in_use(self):
        result = self.detach('--wait', 'cluster-a', 'shared-disk')

        self.assertDetachedOnce(result, 'cluster-a', 'shared-disk')
        self.assertGreaterEqual(len(self.polls('cluster-a')), 1, result)
        volume = self.sim.volume('shared-disk')
        self.assertEqual('in-use', volume['status'], result)
        self.assertEqual([self.server_id('cluster-b')],
                         [a['server_id'] for a in volume['attachments']])
        self.assertNotIn('shared-disk', [
            v['name'] for v in self.sim.server('cluster-a')['volumes']])
        self.assertIn('shared-disk', [
            v['name'] for v in self.sim.server('cluster-b')['volumes']])

    @timings(detach_seconds=30.0)
    def test_timeout_expiry(self):
        result, wall, _ = self.timed_detach('--wait', '--timeout', '2',
                                            'web-linux', 'web-data-1')

        self.assertEqual(1, result.returncode, result)
        self.assertEqual([self.nova_detach_path('web-linux', 'web-data-1')],
                         [r['path'] for r in self.deletes()], result)
        # One true thing: accepted, not confirmed within the timeout.
        self.assertPhrases(result.stderr, 'the detach was accepted, but not '
                           'confirmed within 2 s',
                           'openstack server volume list')
        self.assertNotIn('Failed to detach', result.stderr)
        self.assertIn('1 of 1', result.stderr, result)
        self.assertNoTraceback(result)
        # Still detaching in the cloud: the command gave up waiting only.
        self.assertEqual('detaching', self.sim.volume('web-data-1')['status'])
        # The last poll is within the 2 s (and a request's time) of the
        # DELETE, and the command ended long before the detach.
        delete = self.deletes()[0]
        polls = self.polls()
        self.assertGreaterEqual(len(polls), 1, result)
        self.assertLessEqual(polls[-1]['timestamp'] - delete['timestamp'],
                             2 + SLACK, result)
        self.assertLess(wall, 20, result)

    @timings(detach_seconds=30.0)
    def test_poll_interval_backs_off_to_five_seconds(self):
        # Every second while detaching for wait.STEADY_FOR (12 s), then
        # ~1.5, ~2.25, ~3.4, ~5: a detach that lasts is looked at less.
        result = self.detach('--wait', '--timeout', '25', 'web-linux',
                             'web-data-2')

        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        delete = self.deletes()[0]
        times = [p['timestamp'] for p in self.polls()]
        self.assertIntervals(times, result, first_after=delete['timestamp'])
        intervals = [b - a for a, b in zip([delete['timestamp']] + times,
                                           times)]
        self.assertGreaterEqual(len(intervals), 10, (intervals, result))
        # Steady while the cloud is at work: the end of a 2-10 s detach
        # is seen within about a second.
        self.assertLess(max(intervals[:9]), 1.0 + SLACK,
                        (intervals, result))
        # Backing off: later polls are further apart than the first ones.
        self.assertGreater(max(intervals[9:]), 2.5, (intervals, result))
        self.assertLessEqual(max(intervals), MAX_INTERVAL + SLACK,
                             (intervals, result))

    def test_timeout_must_be_a_positive_integer(self):
        for value in ('0', '-5', 'abc', '1.5'):
            result = self.detach('--wait', '--timeout', value, 'web-linux',
                                 'web-data-1')
            self.assertEqual(2, result.returncode, result)
            self.assertIn('--timeout', result.stderr, result)
            self.assertNoTraceback(result)
        self.assertEqual([], self.changes())


class RollbackTest(OperationsTestCase):
    """The guest does not release web-stuck: the cloud rolls it back."""

    @timings(detach_seconds=6.0)
    def test_rollback_detected_within_seconds_not_at_timeout(self):
        self.assertTrue(self.sim.volume('web-stuck')['guest_refuses'])
        result, wall, ended = self.timed_detach(
            '--wait', '--timeout', '120', 'web-linux', 'web-stuck')

        self.assertEqual(1, result.returncode, result)
        self.assertEqual([self.nova_detach_path('web-linux', 'web-stuck')],
                         [r['path'] for r in self.deletes()], result)
        self.assertPhrases(result.stderr, 'umount', 'I/O', 'OTC Tools',
                           '1 of 1')
        self.assertNoTraceback(result)
        volume = self.sim.volume('web-stuck')
        self.assertEqual('in-use', volume['status'])
        self.assertEqual([self.server_id('web-linux')],
                         [a['server_id'] for a in volume['attachments']])

        rollback = self.deletes()[0]['timestamp'] + self.detach_seconds
        polls = [p['timestamp'] for p in self.polls()]
        self.assertIntervals(polls, result)
        # Seen by the first poll after the rollback (at most 5 s later),
        # and the command ended right after that poll.
        self.assertLessEqual(polls[-1] - rollback, MAX_INTERVAL + SLACK,
                             result)
        self.assertLessEqual(ended - rollback, MAX_INTERVAL + 2 * SLACK,
                             result)
        self.assertEqual(1, len([p for p in polls if p > rollback]), result)
        self.assertLess(wall, self.detach_seconds + 15, result)

    def test_rollback_detected_when_detaching_was_never_seen(self):
        # 1 s detach: the first poll (~1 s) already sees the rolled back
        # volume, without having seen it "detaching".
        result, wall, ended = self.timed_detach(
            '--wait', '--timeout', '120', 'web-linux', 'web-stuck')

        self.assertEqual(1, result.returncode, result)
        self.assertEqual(1, len(self.deletes()), result)
        self.assertPhrases(result.stderr, 'umount', 'OTC Tools')
        self.assertNoTraceback(result)
        rollback = self.deletes()[0]['timestamp'] + self.detach_seconds
        self.assertLessEqual(ended - rollback, 2 * MAX_INTERVAL, result)
        self.assertLess(wall, 20, result)
        self.assertEqual('in-use', self.sim.volume('web-stuck')['status'])


class BatchTest(OperationsTestCase):
    """Several disks: checked together, sent concurrently, waited at once."""

    sim_timings = {'detach_seconds': 2.0}

    def slow_deletes(self):
        # 1 s per DELETE answer: sent one after the other, three DELETEs
        # would be logged 1 s apart; sent together, within a moment.
        self.sim.add_fault('DELETE', 'os-volume_attachments', latency=1.0,
                           count=None)

    def test_three_disks_concurrent_and_waited_together(self):
        self.slow_deletes()
        single, single_wall, _ = self.timed_detach('--wait', 'win-app',
                                                   'win-vbd')
        self.assertDetachedOnce(single, 'win-app', 'win-vbd')
        single_polls = len(self.polls('win-app'))
        self.sim.clear_requests()

        volumes = ('web-data-1', 'web-data-2', 'web-data-3')
        result, wall, _ = self.timed_detach('--wait', 'web-linux', *volumes)

        self.assertEqual(0, result.returncode, result)
        self.assertNoTraceback(result)
        deletes = self.deletes()
        self.assertEqual(
            sorted(self.nova_detach_path('web-linux', v) for v in volumes),
            sorted(r['path'] for r in deletes), result)
        stamps = [r['timestamp'] for r in deletes]
        self.assertLess(max(stamps) - min(stamps), 0.6, (stamps, result))
        for volume in volumes:
            self.assertEqual('available', self.sim.volume(volume)['status'])
        # One poll of the attachment list covers all three disks.
        polls = self.polls()
        self.assertGreaterEqual(len(polls), 1, result)
        self.assertLessEqual(len(polls), single_polls + 1,
                             (single_polls, result))
        self.assertIntervals([p['timestamp'] for p in polls], result,
                             first_after=max(stamps))
        # Generous sanity only: three disks are not three times one.
        self.assertLess(wall, 2 * single_wall + 2, (wall, single_wall))

    def test_one_refused_none_detached(self):
        result = self.detach('--wait', 'web-linux', 'web-data-1',
                             'web-linux-sys')

        self.assertRefused(result, 'system-disk')
        self.assertEqual([], self.changes(), result)
        for volume in ('web-data-1', 'web-linux-sys'):
            self.assertEqual('in-use', self.sim.volume(volume)['status'])

    def test_force_one_delete_fails_at_the_cloud(self):
        failing = self.volume_id('web-data-2')
        self.sim.add_fault('DELETE', failing, status=500, count=None)
        volumes = ('web-data-1', 'web-data-2', 'web-data-3')
        result = self.detach('--force', '--wait', 'web-linux', *volumes)

        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertIn('1 of 3 volumes failed to detach', result.stderr,
                      result)
        self.assertIn('web-data-2', result.stderr, result)
        sent = {r['path'] for r in self.deletes()}
        self.assertEqual(
            {self.nova_detach_path('web-linux', v) for v in volumes}, sent,
            result)
        self.assertTrue(all(r['status'] == 500 for r in self.deletes()
                            if failing in r['path']), result)
        self.assertEqual('available', self.sim.volume('web-data-1')['status'])
        self.assertEqual('available', self.sim.volume('web-data-3')['status'])
        self.assertEqual('in-use', self.sim.volume('web-data-2')['status'])

    def test_force_cannot_send_a_known_system_disk(self):
        # The cloud refuses a root device of a running ECS itself, so
        # --force does not bypass that refusal: the batch is refused whole
        # and the refusal offers no --force.
        result = self.detach('--force', '--wait', 'web-linux', 'web-data-1',
                             'web-linux-sys', 'web-data-2')

        self.assertRefused(result, 'system-disk')
        self.assertNotIn('--force sends the detach anyway', result.stderr)
        self.assertIn('--stop-server', result.stderr)
        self.assertEqual('in-use', self.sim.volume('web-linux-sys')['status'])
        self.assertEqual('in-use', self.sim.volume('web-data-1')['status'])

    def test_force_never_bypasses_attached(self):
        result = self.detach('--force', 'web-linux', 'web-data-1',
                             'spare-disk')

        self.assertRefused(result, 'attached')
        self.assertEqual('in-use', self.sim.volume('web-data-1')['status'])

    def test_rollback_of_one_does_not_stop_the_others(self):
        result = self.detach('--wait', '--timeout', '60', 'web-linux',
                             'web-data-1', 'web-stuck', 'web-data-2')

        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual(3, len(self.deletes()), result)
        self.assertIn('1 of 3 volumes failed to detach', result.stderr,
                      result)
        self.assertPhrases(result.stderr, 'web-stuck', 'umount')
        self.assertEqual('in-use', self.sim.volume('web-stuck')['status'])
        self.assertEqual('available', self.sim.volume('web-data-1')['status'])
        self.assertEqual('available', self.sim.volume('web-data-2')['status'])


class DryRunTest(OperationsTestCase):
    """--dry-run: every rule, a row per volume and rule, no change."""

    def dry_run(self, fmt, *argv):
        result = self.detach('--dry-run', '-f', fmt, *argv)
        self.assertNoTraceback(result)
        self.assertEqual([], self.changes(), result)
        return result

    def assertReport(self, rows, volumes, result):
        """A row per volume and rule, in volume order; then the plan."""
        plan = [r for r in rows if r['Rule'] == 'plan']
        rows = [r for r in rows if r['Rule'] != 'plan']
        if not any(r['Verdict'] == 'refuse' for r in rows):
            self.assertEqual(
                ['detach'] * len(volumes),
                [r['Detail'].split(':')[0] for r in plan], result)
        self.assertEqual(len(volumes) * len(RULE_IDS), len(rows), result)
        for volume in volumes:
            rules = [r['Rule'] for r in rows if r['Volume'] == volume]
            self.assertEqual(sorted(RULE_IDS), sorted(rules), result)
        self.assertEqual(list(volumes),
                         list(dict.fromkeys(r['Volume'] for r in rows)))
        for row in rows:
            self.assertTrue(row['Verdict'], result)
            self.assertTrue(row['Detail'], result)

    def verdicts(self, rows):
        return {(r['Volume'], r['Rule']): r['Verdict'] for r in rows}

    def test_json_allowed(self):
        result = self.dry_run('json', 'web-linux', 'web-data-1', 'web-data-2')

        self.assertEqual(0, result.returncode, result)
        rows = json.loads(result.stdout)
        self.assertEqual(set(REPORT_COLUMNS), set(rows[0]))
        self.assertReport(rows, ('web-data-1', 'web-data-2'), result)
        self.assertNotIn('refuse', self.verdicts(rows).values(), result)
        self.assertEqual('pass',
                         self.verdicts(rows)[('web-data-1', 'system-disk')])

    def test_json_refused(self):
        result = self.dry_run('json', 'web-linux', 'web-data-1',
                              'web-linux-sys')

        self.assertEqual(1, result.returncode, result)
        rows = json.loads(result.stdout)
        self.assertReport(rows, ('web-data-1', 'web-linux-sys'), result)
        verdicts = self.verdicts(rows)
        self.assertEqual('refuse', verdicts[('web-linux-sys', 'system-disk')])
        self.assertEqual('pass', verdicts[('web-data-1', 'system-disk')])

    def test_yaml(self):
        result = self.dry_run('yaml', 'win-app', 'win-scsi')

        self.assertEqual(1, result.returncode, result)
        rows = yaml.safe_load(result.stdout)
        self.assertReport(rows, ('win-scsi',), result)
        self.assertEqual('refuse',
                         self.verdicts(rows)[('win-scsi', 'windows-scsi')])

    def test_csv(self):
        result = self.dry_run('csv', 'web-linux', 'web-data-1')

        self.assertEqual(0, result.returncode, result)
        reader = csv.reader(io.StringIO(result.stdout))
        header = next(reader)
        self.assertEqual(REPORT_COLUMNS, header)
        rows = [dict(zip(header, row)) for row in reader if row]
        self.assertReport(rows, ('web-data-1',), result)

    def test_value(self):
        result = self.dry_run('value', '-c', 'Volume', '-c', 'Rule', '-c',
                              'Verdict', 'legacy-os', 'legacy-data')

        self.assertEqual(1, result.returncode, result)
        rows = [dict(zip(REPORT_COLUMNS, line.split(' ', 2)))
                for line in result.stdout.splitlines() if line.strip()]
        rows = [r for r in rows if r['Rule'] != 'plan']
        self.assertEqual(len(RULE_IDS), len(rows), result)
        self.assertEqual({'legacy-data'}, {r['Volume'] for r in rows})
        self.assertEqual(sorted(RULE_IDS), sorted(r['Rule'] for r in rows))
        self.assertEqual('refuse',
                         self.verdicts(rows)[('legacy-data', 'os-supported')])

    def test_table(self):
        result = self.dry_run('table', 'db-stopped', 'db-stopped-sys',
                              'db-data')

        self.assertEqual(0, result.returncode, result)
        lines = [line for line in result.stdout.splitlines()
                 if line.startswith('|')]
        header = [c.strip() for c in lines[0].strip('|').split('|')]
        self.assertEqual(REPORT_COLUMNS, header)
        # A row per volume and rule, then the plan's two detaches.
        self.assertEqual(2 * len(RULE_IDS) + 2, len(lines) - 1, result)
        for rule in RULE_IDS:
            self.assertIn(' %s ' % rule, result.stdout)

    def test_force_turns_refusal_into_go_but_not_attached(self):
        forced = self.dry_run('json', '--force', 'legacy-os', 'legacy-data')
        self.assertEqual(0, forced.returncode, forced)
        verdict = self.verdicts(json.loads(forced.stdout))[
            ('legacy-data', 'os-supported')]
        self.assertEqual('forced', verdict, forced)

        # The cloud refuses a known root device itself: --force cannot
        # help, so it is not offered.
        root = self.dry_run('json', '--force', 'web-linux', 'web-linux-sys')
        self.assertEqual(1, root.returncode, root)
        self.assertEqual('refuse', self.verdicts(json.loads(root.stdout))[
            ('web-linux-sys', 'system-disk')])

        spare = self.dry_run('json', '--force', 'web-linux', 'spare-disk')
        self.assertEqual(1, spare.returncode, spare)
        self.assertEqual('refuse', self.verdicts(json.loads(spare.stdout))[
            ('spare-disk', 'attached')])


class StopServerTest(OperationsTestCase):
    """--stop-server [--start-server]: the way to a system disk."""

    sim_timings = {'stop_seconds': 1.5}

    def test_stop_server_detaches_system_disk(self):
        power = self.record_power()
        result = self.detach('--stop-server', 'web-linux', 'web-linux-sys')

        self.assertDetachedOnce(result, 'web-linux', 'web-linux-sys')
        sid = self.server_id('web-linux')
        self.assertEqual([('stop', sid)], power, result)
        actions = self.server_actions()
        self.assertEqual(1, len(actions), result)
        delete = self.deletes()[0]
        # Waited for SHUTOFF: the DELETE came after the stop time.
        self.assertGreaterEqual(delete['timestamp'] - actions[0]['timestamp'],
                                self.stop_seconds, result)
        self.assertEqual(202, delete['status'], result)
        # ... and for the detach (the attachment list was polled after).
        self.assertTrue(any(p['timestamp'] > delete['timestamp']
                            for p in self.polls()), result)
        self.assertPhrases(result.stderr, 'os-stop', 'SHUTOFF')
        self.assertIn('web-linux-sys', result.stderr)
        server = self.sim.server('web-linux')
        self.assertEqual('SHUTOFF', server['status'])
        self.assertNotIn('web-linux-sys', [v['name']
                                           for v in server['volumes']])
        self.assertEqual('available',
                         self.sim.volume('web-linux-sys')['status'])

    def test_start_server_afterwards(self):
        power = self.record_power()
        # A data disk: an ECS without its system disk cannot be started
        # (Ecs.0105), so that detach is refused with --start-server
        # (test_otc_rules.StartWithoutSystemDiskTest).
        result = self.detach('--stop-server', '--start-server', 'web-linux',
                             'web-data-1')

        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        sid = self.server_id('web-linux')
        self.assertEqual([('stop', sid), ('start', sid)], power, result)
        stop, start = [a['timestamp'] for a in self.server_actions()]
        delete = self.deletes()[0]['timestamp']
        polls = [p['timestamp'] for p in self.polls()]
        self.assertLess(stop, delete)
        # Started only after the detach was seen done.
        self.assertTrue(polls and delete < polls[-1] < start, result)
        self.assertPhrases(result.stderr, 'os-stop', 'SHUTOFF', 'os-start',
                           'ACTIVE')
        self.assertLess(result.stderr.lower().index('os-stop'),
                        result.stderr.lower().index('os-start'))
        self.assertEqual('ACTIVE', self.sim.server('web-linux')['status'])
        self.assertIsNone(self.sim.server('web-linux')['task_state'])
        self.assertEqual('available',
                         self.sim.volume('web-data-1')['status'])

    def test_started_again_when_the_detach_fails(self):
        power = self.record_power()
        self.sim.add_fault('DELETE', self.volume_id('web-data-1'),
                           status=500, count=None)
        result = self.detach('--stop-server', '--start-server', 'web-linux',
                             'web-data-1')

        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertGreaterEqual(len(self.deletes()), 1, result)
        sid = self.server_id('web-linux')
        self.assertEqual([('stop', sid), ('start', sid)], power, result)
        self.assertIn('1 of 1', result.stderr, result)
        self.assertEqual('ACTIVE', self.sim.server('web-linux')['status'])
        self.assertEqual('in-use', self.sim.volume('web-data-1')['status'])

    def test_refused_by_a_rule_stops_nothing(self):
        self.sim.patch_server('web-linux', locked=True)
        result = self.detach('--stop-server', '--start-server', 'web-linux',
                             'web-linux-sys')

        self.assertRefused(result, 'locked')
        self.assertEqual([], self.changes(), result)
        self.assertEqual('ACTIVE', self.sim.server('web-linux')['status'])

    def test_already_stopped_neither_stopped_nor_started(self):
        power = self.record_power()
        result = self.detach('--stop-server', '--start-server', 'db-stopped',
                             'db-stopped-sys')

        self.assertDetachedOnce(result, 'db-stopped', 'db-stopped-sys')
        self.assertEqual([], power, result)
        self.assertEqual([], self.server_actions('db-stopped'), result)
        self.assertIn('SHUTOFF', result.stderr, result)
        self.assertEqual('SHUTOFF', self.sim.server('db-stopped')['status'])
        self.assertEqual('available',
                         self.sim.volume('db-stopped-sys')['status'])

    def test_unlisted_os_data_disk(self):
        power = self.record_power()
        result = self.detach('--stop-server', 'legacy-os', 'legacy-data')

        self.assertDetachedOnce(result, 'legacy-os', 'legacy-data')
        self.assertEqual([('stop', self.server_id('legacy-os'))], power)
        self.assertNotIn('[os-supported]', result.stderr, result)
        self.assertEqual('SHUTOFF', self.sim.server('legacy-os')['status'])
        self.assertEqual('available',
                         self.sim.volume('legacy-data')['status'])


class NativeMixin(object):

    def native_path(self, server, volume):
        return '/v1/%s/cloudservers/%s/detachvolume/%s' % (
            self.sim.project_id, self.server_id(server),
            self.volume_id(volume))

    def jobs(self):
        prefix = '/v1/%s/jobs/' % self.sim.project_id
        return [r for r in self.requests('GET', prefix)
                if r['path'].startswith(prefix)]

    def assertNativeDetached(self, result, server, volume, delete_flag):
        self.assertEqual(0, result.returncode, result)
        self.assertNoTraceback(result)
        deletes = self.deletes()
        self.assertEqual([self.native_path(server, volume)],
                         [r['path'] for r in deletes], result)
        query = deletes[0]['query']
        if delete_flag:
            self.assertIn('delete_flag=1', query, result)
        else:
            self.assertNotIn('delete_flag=1', query, result)
        jobs = self.jobs()
        self.assertGreaterEqual(len(jobs), 1, result)
        job_id = jobs[0]['path'].rsplit('/', 1)[1]
        self.assertEqual({job_id},
                         {j['path'].rsplit('/', 1)[1] for j in jobs})
        self.assertEqual('SUCCESS', self.sim.job(job_id)['status'])
        # Confirmed with the attachment list after the job's last look.
        self.assertTrue(any(p['timestamp'] > jobs[-1]['timestamp']
                            for p in self.polls(server)), result)
        self.assertIntervals([j['timestamp'] for j in jobs], result,
                             first_after=deletes[0]['timestamp'])
        self.assertEqual('available', self.sim.volume(volume)['status'])
        return job_id


class NativeApiTest(NativeMixin, OperationsTestCase):
    """--api native: OTC's ECS v1 detach, its job, then the attachments."""

    def test_native_detach(self):
        result = self.detach('--api', 'native', 'web-linux', 'web-data-1')

        self.assertNativeDetached(result, 'web-linux', 'web-data-1',
                                  delete_flag=False)
        self.assertEqual([], self.requests('DELETE', 'os-volume_attachments'))

    def test_force_detach_sends_delete_flag(self):
        # delete_flag=1 also gets past a guest that does not let go.
        result = self.detach('--api', 'native', '--force-detach',
                             'web-linux', 'web-stuck')

        self.assertNativeDetached(result, 'web-linux', 'web-stuck',
                                  delete_flag=True)

    def test_force_detach_refused_for_system_disk(self):
        # The rules allow the system disk of a stopped ECS; delete_flag=1
        # is for data disks only.
        result = self.detach('--api', 'native', '--force-detach',
                             'db-stopped', 'db-stopped-sys')

        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertIn('--force-detach', result.stderr, result)
        self.assertIn('db-stopped-sys', result.stderr, result)
        self.assertEqual([], self.changes(), result)
        self.assertEqual('in-use',
                         self.sim.volume('db-stopped-sys')['status'])

    def test_job_fail_reported_with_reason_and_code(self):
        result = self.detach('--api', 'native', 'web-linux', 'web-stuck')

        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual([self.native_path('web-linux', 'web-stuck')],
                         [r['path'] for r in self.deletes()], result)
        jobs = self.jobs()
        self.assertGreaterEqual(len(jobs), 1, result)
        job_id = jobs[0]['path'].rsplit('/', 1)[1]
        job = self.sim.job(job_id)
        self.assertEqual('FAIL', job['status'])
        self.assertIn(job['error_code'], result.stderr, result)
        self.assertIn('Ecs.0102', result.stderr, result)
        self.assertIn(job['fail_reason'].split(':')[0],
                      ' '.join(result.stderr.split()), result)
        self.assertIn('1 of 1', result.stderr, result)
        self.assertEqual('in-use', self.sim.volume('web-stuck')['status'])

    @timings(detach_seconds=30.0)
    def test_job_timeout(self):
        result = self.detach('--api', 'native', '--timeout', '2',
                             'web-linux', 'web-data-2')

        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual(1, len(self.deletes()), result)
        self.assertPhrases(result.stderr, 'the detach was accepted, but not '
                           'confirmed within 2 s', 'did not end',
                           'openstack server volume list')
        self.assertEqual('detaching', self.sim.volume('web-data-2')['status'])

    @timings(detach_seconds=2.0)
    def test_batch_waits_for_all_jobs_at_once(self):
        single = self.detach('--api', 'native', 'win-app', 'win-vbd')
        self.assertNativeDetached(single, 'win-app', 'win-vbd',
                                  delete_flag=False)
        single_rounds = poll_rounds(self.jobs() + self.polls('win-app'))
        self.sim.clear_requests()

        volumes = ('web-data-1', 'web-data-2', 'web-data-3')
        result = self.detach('--api', 'native', 'web-linux', *volumes)

        self.assertEqual(0, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual(
            sorted(self.native_path('web-linux', v) for v in volumes),
            sorted(r['path'] for r in self.deletes()), result)
        jobs = self.jobs()
        self.assertEqual(3, len({j['path'] for j in jobs}), result)
        for volume in volumes:
            self.assertEqual('available', self.sim.volume(volume)['status'])
        # The three jobs run side by side in the cloud; following them
        # takes as many rounds of polling as one job, give or take one.
        rounds = poll_rounds(jobs + self.polls())
        start = max(r['timestamp'] for r in self.deletes())
        seen = ['%+.2fs %s' % (r['timestamp'] - start, r['path'][-40:])
                for r in sorted(jobs + self.polls(),
                                key=lambda r: r['timestamp'])]
        self.assertLessEqual(rounds, single_rounds + 1,
                             'single disk: %d rounds of polling, three '
                             'disks: %d (after the DELETEs: %s)' % (
                                 single_rounds, rounds, seen))


def poll_rounds(requests, gap=0.5):
    """How many bursts of polling (less than ``gap`` s apart: one)."""
    stamps = sorted(r['timestamp'] for r in requests)
    return len([b for a, b in zip([None] + stamps, stamps)
                if a is None or b - a >= gap])


def catalog_without_ecs(state, base_url, _catalog=sim_views.catalog):
    return [s for s in _catalog(state, base_url) if s['type'] != 'ecs']


class NativeFallbackTest(NativeMixin, OperationsTestCase):
    """No ``ecs`` in the catalog: compute's endpoint with ``v1``.

    The scenario format has no key to leave ``ecs`` out of the catalog,
    so the simulator's catalog view is patched for these tests.
    """

    def setUp(self):
        self.useFixture(fixtures.MonkeyPatch(
            'otcclient_detach.simulator.views.catalog', catalog_without_ecs))
        super(NativeFallbackTest, self).setUp()

    def test_fallback_endpoint(self):
        catalog = self.openstack('catalog', 'list', '-f', 'json')
        self.assertEqual(0, catalog.returncode, catalog)
        types = {s['Type'] for s in json.loads(catalog.stdout)}
        self.assertIn('compute', types)
        self.assertNotIn('ecs', types)
        self.sim.clear_requests()

        result = self.detach('--api', 'native', '--force-detach',
                             'web-linux', 'web-data-1')

        self.assertNativeDetached(result, 'web-linux', 'web-data-1',
                                  delete_flag=True)


class NativeFallbackV2Test(NativeFallbackTest):
    """Same, from the legacy ``/v2/{project_id}`` compute endpoint."""

    compute_version = 'v2'

    def test_fallback_endpoint(self):
        result = self.detach('--api', 'native', 'web-linux', 'web-data-2')

        self.assertNativeDetached(result, 'web-linux', 'web-data-2',
                                  delete_flag=False)


def default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class InterruptTest(OperationsTestCase):
    """Ctrl-C while waiting."""

    @timings(detach_seconds=30.0)
    def test_ctrl_c_while_waiting(self):
        code, stdout, stderr, took = self.interrupt_after(
            'DELETE', '--wait', 'web-linux', 'web-data-1')

        self.assertEqual(130, code, stderr)
        self.assertStoppedWaiting(took, stderr)
        self.assertNotIn('Traceback', stderr + stdout)
        self.assertPhrases(stderr, 'cloud', 'openstack server volume list')
        self.assertEqual([self.nova_detach_path('web-linux', 'web-data-1')],
                         [r['path'] for r in self.deletes()])
        # The detach goes on in the cloud.
        self.assertEqual('detaching', self.sim.volume('web-data-1')['status'])

    def assertStoppedWaiting(self, took, stderr):
        # Ended well before the detach (30 s) could have finished: it
        # stopped waiting.  Half of it leaves room for a loaded machine.
        self.assertLess(took, self.detach_seconds / 2, stderr)

    def interrupt_after(self, method, *argv):
        """Start the CLI and SIGINT it once ``method`` was logged.

        Returns exit code, stdout, stderr and the seconds from the signal
        to the end.
        """
        # A runner that ignores SIGINT hands that down, and Python keeps
        # an ignored SIGINT ignored: then give the CLI the default back.
        kwargs = {}
        if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
            kwargs['preexec_fn'] = default_sigint
        proc = self.popen_detach(*argv, universal_newlines=True, **kwargs)
        self.wait_for(
            lambda: self.requests(method) or proc.poll() is not None,
            what='a %s' % method)
        self.assertIsNone(proc.poll(), 'the CLI ended before the signal')
        time.sleep(0.3)  # well into the wait
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
        return proc.returncode, stdout, stderr, time.monotonic() - sent

    @timings(detach_seconds=30.0)
    def test_ctrl_c_while_waiting_for_the_native_job(self):
        code, stdout, stderr, took = self.interrupt_after(
            'DELETE', '--api', 'native', 'web-linux', 'web-data-2')

        self.assertEqual(130, code, stderr)
        self.assertStoppedWaiting(took, stderr)
        self.assertNotIn('Traceback', stderr + stdout)
        self.assertPhrases(stderr, 'cloud', 'openstack server volume list')
        self.assertEqual(1, len(self.deletes()))
        self.assertIn('/detachvolume/', self.deletes()[0]['path'])
        self.assertEqual('detaching', self.sim.volume('web-data-2')['status'])

    @timings(detach_seconds=30.0)
    def test_ctrl_c_with_start_server_says_server_left_stopped(self):
        # --start-server was asked for, but Ctrl-C ends the command before
        # the os-start: the user must learn that the ECS stays stopped.
        code, stdout, stderr, took = self.interrupt_after(
            'DELETE', '--stop-server', '--start-server', 'web-linux',
            'web-data-1')

        self.assertEqual(130, code, stderr)
        self.assertStoppedWaiting(took, stderr)
        self.assertNotIn('Traceback', stderr + stdout)
        self.assertPhrases(stderr, 'openstack server volume list')
        self.assertEqual(1, len(self.server_actions()))
        self.assertEqual('SHUTOFF', self.sim.server('web-linux')['status'])
        tail = stderr[stderr.lower().rindex('interrupted'):]
        self.assertRegex(
            tail, r'(?i)server start|not (been )?(re)?started|SHUTOFF|'
            r'(is|stays|remains|left) stopped', stderr)
