"""Never hang, never lose track through the real CLI.

Paging and exact names, bounded time (request timeout, capped
Retry-After, --timeout that holds whatever the cloud answers), interrupts
and signals, hostile answers, --stop-server that takes too long, names
that are data and not terminal commands, and usage.  Every test runs the
real ``openstack`` CLI against the simulator; signals, closed pipes and
exit statuses of the real script use a real process.
"""

import signal
import time

from tests.functional import base
from tests.functional import test_faults
from tests.functional import test_operations

from otcclient_detach.simulator import faults
from otcclient_detach.simulator import ids

ATTACHMENTS = r'/servers/[^/]+/os-volume_attachments$'
#: EVS's disk list of a server: where the wait looks, once a look.
DISK_LIST = r'/cloudvolumes/detail$'
ESC = '\x1b'


def interruptible(test, *argv):
    """The real CLI, detaching, in a process that Ctrl-C (SIGINT) stops.

    A test runner may start its workers with SIGINT ignored, which a
    child inherits: the child gets the default handler back.
    """
    kwargs = {}
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        kwargs['preexec_fn'] = test_operations.default_sigint
    return test.popen_detach(*argv, universal_newlines=True, **kwargs)


def scenario(servers=(), volumes=(), page_size=None, **timings):
    """The demo scenario plus ``servers`` and ``volumes``."""
    raw = test_faults.demo_scenario(**timings)
    raw['servers'].extend(servers)
    raw['volumes'].extend(volumes)
    if page_size:
        raw['page_size'] = page_size
    return raw


def stopped(name):
    return {'name': name, 'status': 'SHUTOFF', 'root_device_name': '/dev/vda',
            'image': 'Standard_Debian_10_latest'}


def data_disk(name, server, device='/dev/vdb'):
    return {'name': name, 'attachments': [{'server': server,
                                           'device': device}]}


class HardeningTestCase(base.SimulatorTestCase):

    def assertOneClearMessage(self, result, *phrases):
        """Exit 1, no traceback, no Python exception text, the phrases."""
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        for leak in ('Expecting value', "KeyError", "'id'", 'NoneType'):
            self.assertNotIn(leak, result.stderr, result)
        text = ' '.join(result.stderr.split())
        for phrase in phrases:
            self.assertIn(phrase, text, result)


class PagingTest(HardeningTestCase):
    """Point 1: lists are followed page by page; names are exact."""

    scenario = scenario(
        servers=[stopped('webA1'), stopped('webB1'), stopped('web.1'),
                 stopped('db+prod(1)'), stopped('dbprod1')],
        volumes=[data_disk('dot-data', 'web.1'),
                 data_disk('plus-data', 'db+prod(1)'),
                 data_disk('third', 'db-stopped', '/dev/vdc'),
                 data_disk('third', 'db-stopped', '/dev/vdd'),
                 data_disk('third', 'db-stopped', '/dev/vde')],
        page_size=2)

    def test_regex_characters_in_a_name_find_exactly_that_server(self):
        # 'web.1' as a regex matches webA1 and webB1 (the first page);
        # 'db+prod(1)' as a regex matches dbprod1 but not itself.
        for server, volume in (('web.1', 'dot-data'),
                               ('db+prod(1)', 'plus-data')):
            result = self.detach('--dry-run', '-f', 'value', server, volume)
            self.assertEqual(0, result.returncode, result)
            self.assertIn(volume, result.stdout)
        sent = [r['query'] for r in self.requests('GET', '/servers/detail')
                if 'name=' in r.get('query', '')]
        self.assertTrue(sent)
        for query in sent:
            self.assertIn('name=%5E', query)  # anchored: ^...$

    def test_ambiguous_name_across_pages_lists_every_id(self):
        result = self.detach('--dry-run', 'db-stopped', 'third')
        self.assertOneClearMessage(result, 'More than one volume')
        for occurrence in (1, 2, 3):
            self.assertIn(ids.sim_id('volume', 'third', occurrence),
                          result.stderr.replace('\n    ', ' '))
        self.assertTrue(any('marker=' in r.get('query', '') for r in
                            self.requests('GET', '/volumes/detail')))

    def test_upper_case_ids_find_the_resources(self):
        result = self.detach('--dry-run', '-f', 'value',
                             self.server_id('db-stopped').upper(),
                             self.volume_id('db-data').upper())
        self.assertEqual(0, result.returncode, result)
        self.assertIn('db-data', result.stdout)


class BoundedTimeTest(HardeningTestCase):
    """Point 2: no request, retry or wait outlasts its bound."""

    scenario = scenario(detach_seconds=60.0)

    def test_hanging_read_names_the_url_and_the_time_waited(self):
        clouds = self.write_clouds_yaml('timeout.yaml',
                                        extra={'api_timeout': 1})
        self.sim.add_fault('GET', r'/servers/detail$', latency=30,
                           count=None, status=503)
        started = time.monotonic()
        result = self.detach('web-linux', 'web-data-1',
                             env=self.env(clouds))
        took = time.monotonic() - started
        self.assertOneClearMessage(result, 'no answer within 1 s',
                                   '/servers/detail', 'Nothing was detached')
        # 4 tries of 1 s and the backoff between them, with room to spare.
        self.assertLess(took, 25, result)
        self.assertEqual([], self.deletes())

    def test_hanging_delete_says_the_cloud_may_still_carry_it_out(self):
        clouds = self.write_clouds_yaml('timeout.yaml',
                                        extra={'api_timeout': 1})
        self.sim.add_fault('DELETE', ATTACHMENTS[:-1], latency=3)
        result = self.detach('web-linux', 'web-data-1',
                             env=self.env(clouds))
        self.assertOneClearMessage(result, 'no answer within 1 s',
                                   'may still carry the DELETE out')
        time.sleep(3.5)  # the DELETE reaches the log when it ends
        self.assertEqual(1, len(self.deletes()))

    def test_retry_after_beyond_the_cap_ends_at_once(self):
        self.sim.add_fault('GET', r'/volumes/detail$', status=429,
                           retry_after=3600, count=None)
        started = time.monotonic()
        result = self.detach('web-linux', 'web-data-1')
        self.assertOneClearMessage(result, 'retry in 3600 s',
                                   'Nothing was detached')
        self.assertLess(time.monotonic() - started, 20, result)
        self.assertEqual(1, len(self.requests('GET', '/volumes/detail')))

    def test_wait_timeout_holds_while_the_cloud_hangs(self):
        # Every poll after the DELETE hangs (no api_timeout configured).
        test_faults.when(lambda: self.deletes(), lambda: self.sim.add_fault(
            'GET', ATTACHMENTS, latency=120, count=None, status=503))
        started = time.monotonic()
        result = self.detach('--wait', '--timeout', '5', 'web-linux',
                             'web-data-1')
        took = time.monotonic() - started
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertIn('accepted', result.stderr)
        # 5 s, the look-ups before the DELETE and a loaded machine.
        self.assertLess(took, 20, result)

    def test_wait_timeout_holds_against_a_long_retry_after(self):
        test_faults.when(lambda: self.deletes(), lambda: self.sim.add_fault(
            'GET', DISK_LIST, status=503, retry_after=25, count=None))
        started = time.monotonic()
        result = self.detach('--wait', '--timeout', '5', 'web-linux',
                             'web-data-1')
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertLess(time.monotonic() - started, 20, result)
        # Ended at the first look, in the cloud's words, and the accepted
        # detach is not reported as a plain failure.
        text = ' '.join(result.stderr.split())
        self.assertIn('the cloud asks to retry in 25 s', text)
        self.assertIn('the detach was accepted', text)
        self.assertEqual(1, len(self._looks_after_the_delete()), result)

    def test_retry_after_beyond_the_cap_ends_a_wait_at_once(self):
        test_faults.when(lambda: self.deletes(), lambda: self.sim.add_fault(
            'GET', DISK_LIST, status=429, retry_after=45, count=None))
        result = self.detach('--wait', '--timeout', '120', 'web-linux',
                             'web-data-1')
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        text = ' '.join(result.stderr.split())
        self.assertIn('the cloud asks to retry in 45 s', text)
        self.assertIn('the detach was accepted', text)
        # One look, not two minutes of them.
        self.assertEqual(1, len(self._looks_after_the_delete()), result)

    def _looks_after_the_delete(self):
        """The wait's looks: one read of EVS's disk list each."""
        log = self.sim.requests
        first = [i for i, r in enumerate(log) if r['method'] == 'DELETE']
        return [r for r in log[first[0]:] if r['method'] == 'GET' and
                r['path'].endswith('/cloudvolumes/detail')]


class FlowControlTest(HardeningTestCase):
    """OTC's Common.0024: a 2xx with an error body accepted nothing."""

    def test_flow_limit_in_a_202_is_no_acceptance(self):
        self.sim.add_fault('DELETE', ATTACHMENTS[:-1], status=202,
                           body=faults.FLOW_LIMIT_BODY, count=None)
        result = self.detach('--timeout', '3', 'web-linux', 'web-data-1')
        self.assertOneClearMessage(result, 'Flow limit exceeded',
                                   'Common.0024', 'flow control',
                                   'nothing was detached',
                                   'To retry just that one')
        self.assertNotIn('accepted', result.stderr)
        self.assertEqual('in-use', self.sim.volume('web-data-1')['status'])
        # Sent again after the cloud's delay, until --timeout.
        self.assertGreater(len(self.deletes()), 1, result)

    def test_flow_limit_once_then_accepted(self):
        self.sim.add_fault('DELETE', ATTACHMENTS[:-1], status=202,
                           body=faults.FLOW_LIMIT_BODY)
        result = self.detach('web-linux', 'web-data-1')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual([202, 202], [r['status'] for r in self.deletes()])
        self.assertIn('accepted', result.stderr)
        self.assertEqual('detaching', self.sim.volume('web-data-1')['status'])


class HostileAnswersTest(HardeningTestCase):
    """Point 4: broken answers give one clear sentence."""

    scenario = scenario(detach_seconds=1.0)

    def test_broken_bodies_of_a_read(self):
        for body, kind in (('<html><body>Gateway</body></html>', 'HTML'),
                           ('null', 'null'), ('[1, 2]', 'a list')):
            self.sim.clear_faults()
            self.sim.add_fault('GET', r'/volumes/detail$', status=200,
                               body=body, content_type='text/html')
            result = self.detach('web-linux', 'web-data-1')
            self.assertOneClearMessage(
                result, 'with %s instead of a JSON object' % kind,
                'GET /volumes/detail')
            self.assertEqual([], self.deletes())

    def test_json_without_the_needed_object(self):
        self.sim.add_fault('GET', r'/servers/%s$' % self.server_id(
            'web-linux'), status=200, body={'servers': []})
        result = self.detach(self.server_id('web-linux'), 'web-data-1')
        self.assertOneClearMessage(result, "no 'server' object")

    def test_listed_server_without_an_id(self):
        self.sim.add_fault('GET', r'/servers/detail$', status=200,
                           body={'servers': [{'name': 'web-linux'}]})
        result = self.detach('web-linux', 'web-data-1')
        self.assertOneClearMessage(result, 'a server without an ID')

    def test_broken_answers_while_waiting_are_retried(self):
        test_faults.when(lambda: self.deletes(), lambda: self.sim.add_fault(
            'GET', ATTACHMENTS, status=200, body='<html>busy</html>',
            content_type='text/html', count=2))
        result = self.detach('--wait', 'web-linux', 'web-data-1')
        self.assertEqual(0, result.returncode, result)
        self.assertIn('is detached', result.stderr)

    def test_lasting_broken_answers_after_acceptance_say_accepted(self):
        def broken():
            for path in (ATTACHMENTS, DISK_LIST):
                self.sim.add_fault('GET', path, status=200, body='null',
                                   count=None)
        test_faults.when(lambda: self.deletes(), broken)
        result = self.detach('--wait', '--timeout', '4', 'web-linux',
                             'web-data-1')
        self.assertOneClearMessage(result, 'the detach was accepted',
                                   'openstack server volume list')

    def test_native_2xx_without_job_id_is_confirmed_by_the_list(self):
        self.sim.add_fault('DELETE', r'/detachvolume/', status=200,
                           body={}, carry_out=True)
        result = self.detach('--api', 'native', 'web-linux', 'web-data-1')
        self.assertEqual(0, result.returncode, result)
        self.assertNotIn('refused', result.stderr)
        self.assertIn('is detached', result.stderr)


class StopServerTimeoutTest(HardeningTestCase):
    """Point 5: --stop-server that takes too long."""

    scenario = scenario(stop_seconds=60.0)

    def test_says_state_nothing_detached_and_how_to_start(self):
        # A data disk: with --start-server the system disk is refused
        # before anything is sent (an ECS cannot start without it).
        result = self.detach('--stop-server', '--start-server', '--timeout',
                             '2', 'web-linux', 'web-data-1')
        self.assertOneClearMessage(result)
        text = ' '.join(result.stderr.split())
        for phrase in ('did not stop within 2 s', 'nothing was detached',
                       'The server is ACTIVE, task powering-off now',
                       "start it again with 'openstack server start "
                       "web-linux'", '--start-server did not start it'):
            self.assertIn(phrase, text)
        self.assertEqual([], self.deletes())


class EscapingTest(HardeningTestCase):
    """Point 6: names and messages from the cloud are data."""

    scenario = scenario(
        servers=[stopped('evil\x1b]0;pwned\x07srv')],
        volumes=[data_disk('disk\x1b[2J\rX', 'evil\x1b]0;pwned\x07srv')])

    def test_dry_run_report_in_every_format(self):
        server = self.server_id('evil\x1b]0;pwned\x07srv')
        volume = self.volume_id('disk\x1b[2J\rX')
        for fmt in ('table', 'json', 'value', 'csv', 'yaml'):
            result = self.detach('--dry-run', '-f', fmt, server, volume)
            self.assertEqual(0, result.returncode, result)
            for control in (ESC, '\r', '\x07'):
                self.assertNotIn(control, result.stdout + result.stderr)
            self.assertIn('x1b', result.stdout, fmt)

    def test_messages_of_a_detach_and_of_the_cloud(self):
        server = self.server_id('evil\x1b]0;pwned\x07srv')
        volume = self.volume_id('disk\x1b[2J\rX')
        self.sim.add_fault('DELETE', ATTACHMENTS[:-1], status=409, body={
            'conflictingRequest': {'code': 409,
                                   'message': 'no\x1b[31m way\x07'}})
        result = self.detach('--wait', server, volume)
        self.assertEqual(1, result.returncode, result)
        self.assertIn('no\\x1b[31m way\\x07', ' '.join(
            result.stderr.split()))
        for control in (ESC, '\r', '\x07'):
            self.assertNotIn(control, result.stdout + result.stderr)
        result = self.detach('--wait', server, volume)
        self.assertEqual(0, result.returncode, result)
        self.assertIn('disk\\x1b[2J\\rX', result.stderr)
        self.assertNotIn(ESC, result.stderr)

    def test_decision_log(self):
        # -v prints the facts found, names from the cloud among them.
        server = self.server_id('evil\x1b]0;pwned\x07srv')
        volume = self.volume_id('disk\x1b[2J\rX')
        result = self.detach('-v', '--dry-run', server, volume)
        self.assertEqual(0, result.returncode, result)
        self.assertIn('disk\\x1b[2J\\rX', result.stderr)
        for control in (ESC, '\r', '\x07'):
            self.assertNotIn(control, result.stdout + result.stderr)


class UsageTest(HardeningTestCase):
    """Point 7, and the final message wrapped like a refusal."""

    def test_format_on_a_real_run_prints_the_result(self):
        result = self.detach('-f', 'value', '-c', 'Outcome', 'web-linux',
                             'web-data-1')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual('accepted\n', result.stdout, result)

    def test_help_lists_the_exit_statuses_of_interrupts(self):
        result = self.detach('--help')
        self.assertEqual(0, result.returncode, result)
        text = ' '.join(result.stdout.split())
        for status in ('130', '129', '143'):
            self.assertIn(status, text)

    def test_final_error_is_wrapped(self):
        self.sim.add_fault('GET', r'/volumes/detail$', status=400,
                           count=None)
        result = self.detach('web-linux', 'web-data-1')
        self.assertEqual(1, result.returncode, result)
        lines = result.stderr.rstrip('\n').splitlines()
        self.assertGreater(len(lines), 1, result)
        self.assertTrue(all(len(line) <= 79 for line in lines), result)
        self.assertTrue(lines[-1].startswith('    '), result)


class InterruptBatchTest(test_operations.OperationsTestCase):
    """Point 3: Ctrl-C, SIGTERM, SIGHUP and a closed stdout, for real."""

    scenario = scenario(
        servers=[stopped('batch')],
        volumes=[data_disk('b%d' % n, 'batch', '/dev/vd%s' % 'bcdefg'[n - 1])
                 for n in range(1, 7)])
    LATENCY = 4.0

    def setUp(self):
        super(InterruptBatchTest, self).setUp()
        self.sim.add_fault('DELETE', ATTACHMENTS[:-1], latency=self.LATENCY,
                           count=None)

    def interrupt_batch(self, signum):
        proc = interruptible(self, 'batch', *['b%d' % n for n in range(1, 7)])
        # The log shows a DELETE when it ends: wait until the CLI has
        # looked every volume up, then the first four are in flight.
        self.wait_for(lambda: proc.poll() is not None or len(
            self.requests('GET', '/volumes/detail')) >= 6,
            what='the look-ups')
        time.sleep(1.5)
        self.assertIsNone(proc.poll(), 'the CLI ended before the signal')
        sent = time.monotonic()
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
        time.sleep(self.LATENCY + 1)  # in-flight DELETEs reach the log
        after = [r for r in self.deletes() if r['started'] > sent]
        return proc.returncode, stdout, stderr, after

    def assertToldSentAndUnsent(self, stderr):
        """The message names the volumes whose DELETE went out, and the rest.

        Four DELETEs leave at once (operations.MAX_PARALLEL); which of the
        six went out is read from the simulator's log.
        """
        text = ' '.join(stderr.split())
        self.assertNotIn('Traceback', stderr)
        names = ['b%d' % n for n in range(1, 7)]
        by_id = {self.volume_id(name): name for name in names}
        sent = sorted(by_id[r['path'].rsplit('/', 1)[-1]]
                      for r in self.deletes())
        unsent = [name for name in names if name not in sent]
        self.assertEqual(4, len(sent), stderr)
        self.assertIn('%s (sent)' % ', '.join(sent), text)
        self.assertIn('Not sent (still attached): %s.' % ', '.join(unsent),
                      text)
        for name in unsent:
            self.assertEqual('in-use', self.sim.volume(name)['status'])

    def test_ctrl_c_sends_no_further_delete(self):
        code, _, stderr, after = self.interrupt_batch(signal.SIGINT)
        self.assertEqual(130, code, stderr)
        self.assertEqual([], after, stderr)
        self.assertToldSentAndUnsent(stderr)

    def test_sigterm_is_handled_like_ctrl_c(self):
        code, _, stderr, after = self.interrupt_batch(signal.SIGTERM)
        self.assertEqual(143, code, stderr)
        self.assertEqual([], after, stderr)
        self.assertToldSentAndUnsent(stderr)

    def test_sighup_is_handled_like_ctrl_c(self):
        code, _, stderr, after = self.interrupt_batch(signal.SIGHUP)
        self.assertEqual(129, code, stderr)
        self.assertEqual([], after, stderr)
        self.assertToldSentAndUnsent(stderr)


class InterruptHangingDeleteTest(test_operations.OperationsTestCase):
    """Ctrl-C while DELETEs hang: the command ends at once and tells."""

    scenario = InterruptBatchTest.scenario

    def test_ctrl_c_does_not_wait_for_deletes_on_the_wire(self):
        # Far longer than the test waits: the command once waited for
        # the answers to the DELETEs in flight before it could exit.
        self.sim.add_fault('DELETE', ATTACHMENTS[:-1], latency=300,
                           count=None)
        proc = interruptible(self, 'batch', 'b1', 'b2')
        self.wait_for(lambda: proc.poll() is not None or len(
            self.requests('GET', '/volumes/detail')) >= 2,
            what='the look-ups')
        time.sleep(1.5)
        self.assertIsNone(proc.poll(), 'the CLI ended before the signal')
        proc.send_signal(signal.SIGINT)
        # Well under the 30 s a request may take (cloud.py): waiting for
        # the DELETEs' answers would end only then.
        _, stderr = proc.communicate(timeout=20)
        self.assertEqual(130, proc.returncode, stderr)
        self.assertNotIn('Traceback', stderr)
        self.assertIn('b1, b2 (sent)', ' '.join(stderr.split()))


class InterruptBeforeDeleteTest(test_operations.OperationsTestCase):

    def test_ctrl_c_before_any_delete(self):
        # The volume lookup hangs far longer than the test waits: Ctrl-C
        # must not wait for it (it once held the process until the read
        # ended).
        self.sim.add_fault('GET', r'/volumes/detail$', latency=300)
        proc = interruptible(self, 'web-linux', 'web-data-1')
        self.wait_for(lambda: self.requests('GET', '/servers/detail') or
                      proc.poll() is not None, what='the server look-up')
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        self.assertEqual(130, proc.returncode, stderr)
        self.assertIn('nothing was detached', stderr)
        self.assertNotIn('Traceback', stderr)
        self.assertEqual([], self.deletes())

    def test_closed_stdout_ends_quietly(self):
        proc = self.popen_detach('--dry-run', 'web-linux', 'web-data-1',
                                 universal_newlines=True)
        proc.stdout.close()  # like '| head -c0': nobody reads
        stderr = proc.stderr.read()
        proc.wait(timeout=60)
        self.assertEqual(0, proc.returncode, stderr)
        self.assertEqual('', stderr)
