"""Tests for otcclient_detach.wait and the run of a plan (run.py).

A DELETE only starts a detach; it is done when the volume has left the
server's attachment list and it failed when the cloud rolled it back to
``in-use`` (nova API reference, "Detach a volume from an instance";
tempest waits so).  No test sleeps: every
poller gets a fake clock.
"""

import functools
import io
import re
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ks_exceptions
import testtools
from tests.unit import fakes

from otcclient_detach import closing
from otcclient_detach import detach
from otcclient_detach import errors
from otcclient_detach import facts
from otcclient_detach import model
from otcclient_detach import plan as plans
from otcclient_detach import process
from otcclient_detach import render
from otcclient_detach import wait
from otcclient_detach import workflow

EXIT_OK = closing.EXIT_OK
EXIT_FAILED = closing.EXIT_FAILED
EXIT_INTERRUPTED = closing.EXIT_INTERRUPTED

SERVER_ID = 'srv-1'
OTHER_SERVER_ID = 'srv-2'


def poll_sleeps(timeout, clock=None, work=0.0):
    """Run a poller to its end; return the sleeps (``work`` s per poll)."""
    clock = clock or fakes.FakeClock()
    poller = wait.Poller(timeout, clock=clock.clock, sleep=clock.sleep)
    polls = 0
    for _ in poller:
        polls += 1
        clock.now += work
    return clock.sleeps, polls


class TestPoller(testtools.TestCase):

    def test_intervals_back_off_to_five_seconds(self):
        sleeps, polls = poll_sleeps(30)
        self.assertEqual([1.0, 1.5, 2.25, 3.375, 5.0, 5.0, 5.0, 5.0, 1.875],
                         sleeps)
        self.assertEqual(len(sleeps), polls)

    def test_first_look_after_one_second(self):
        clock = fakes.FakeClock()
        poller = wait.Poller(10, clock=clock.clock, sleep=clock.sleep)
        next(iter(poller))
        self.assertEqual([wait.FIRST_INTERVAL], clock.sleeps)
        self.assertEqual(1.0, wait.FIRST_INTERVAL)
        self.assertEqual(1.0, poller.elapsed)

    def test_sleeps_never_exceed_the_timeout(self):
        for timeout in (1, 2, 2.5, 7, 61, 300, 9.5):
            sleeps, _ = poll_sleeps(timeout)
            self.assertLessEqual(sum(sleeps), timeout)
            self.assertGreater(sum(sleeps), timeout - wait.FIRST_INTERVAL)
            self.assertLessEqual(max(sleeps), wait.MAX_INTERVAL)
            # "at most every second", the last look included
            self.assertGreaterEqual(min(sleeps), wait.FIRST_INTERVAL)

    def test_immediate_first_look(self):
        clock = fakes.FakeClock()
        poller = wait.Poller(10, clock=clock.clock, sleep=clock.sleep,
                             immediate=True)
        looks = iter(poller)
        next(looks)
        self.assertEqual([], clock.sleeps)
        next(looks)
        self.assertEqual([wait.FIRST_INTERVAL], clock.sleeps)

    def test_stops_at_the_deadline_when_polls_take_time(self):
        clock = fakes.FakeClock()
        sleeps, polls = poll_sleeps(10, clock, work=4.0)
        # Looks at 1, 5 and 9 (each took 4 s, more than the interval:
        # no pause on top); at 13 the deadline has passed.
        self.assertEqual([1.0], sleeps)
        self.assertEqual(3, polls)

    def test_intervals_run_from_look_to_look(self):
        clock = fakes.FakeClock()
        sleeps, polls = poll_sleeps(10, clock, work=0.25)
        # Each look takes 0.25 s: the pauses are shorter by that much;
        # looks at 1, 2.5, 4.75, 8.125 and, 1.625 s before the deadline,
        # a last one at 10.
        self.assertEqual([1.0, 1.25, 2.0, 3.125, 1.625], sleeps)
        self.assertEqual(5, polls)

    def test_no_poll_without_time(self):
        sleeps, polls = poll_sleeps(0)
        self.assertEqual(([], 0), (sleeps, polls))


class ScriptedGatherer(object):
    """``attachments`` and ``volume_by_id`` from a script, one step a poll.

    Each step is an exception to raise or ``{volume ID: Volume or None}``:
    a Volume listed for this server, None for a volume not listed.
    """

    def __init__(self, steps, server_id=SERVER_ID):
        self.steps = steps
        self.server_id = server_id
        self.polls = 0
        self.volume_gets = []
        self.current = {}

    def __call__(self, volume_ids):
        """One look (as wait.BatchLook): each volume, None once it left."""
        step = self.steps[min(self.polls, len(self.steps) - 1)]
        self.polls += 1
        if isinstance(step, BaseException):
            raise step
        self.current = step
        # What one read shows of each volume still on the server.
        self.volume_gets.extend(vid for vid in volume_ids
                                if step.get(vid) is not None)
        return {vid: step.get(vid) for vid in volume_ids}


def attached(vid, status, others=()):
    return fakes.model_volume(vid, status=status,
                              attached_to=(SERVER_ID,) + tuple(others))


def gone(vid):
    return {vid: None}


class WaitDetachedTestCase(testtools.TestCase):
    """wait_detached on a fake clock, for web-1."""

    def setUp(self):
        super(WaitDetachedTestCase, self).setUp()
        self.clock = fakes.FakeClock()
        self.server = model.Server(id=SERVER_ID, name='web-1',
                                   status='ACTIVE')

    def wait(self, gatherer, volume_ids=('v1',), timeout=60):
        poller = wait.Poller(timeout, clock=self.clock.clock,
                             sleep=self.clock.sleep)
        return wait.wait_detached(gatherer, self.server, list(volume_ids),
                                  poller)


class TestWaitDetached(WaitDetachedTestCase):

    def test_detached_when_it_leaves_the_list(self):
        g = ScriptedGatherer([{'v1': attached('v1', 'detaching')},
                              gone('v1')])
        self.assertEqual({'v1': (wait.DETACHED, None)}, self.wait(g))
        self.assertEqual(2, g.polls)

    def test_multiattach_volume_staying_in_use_is_detached(self):
        # Another server still holds it: in-use, but gone from this list.
        g = ScriptedGatherer([gone('v1')])
        self.assertEqual({'v1': (wait.DETACHED, None)}, self.wait(g))
        self.assertEqual(1, g.polls)
        self.assertEqual([], g.volume_gets)

    def test_multiattach_in_use_for_other_server_only_is_not_rollback(self):
        other = fakes.model_volume('v1', status='in-use',
                                   attached_to=(OTHER_SERVER_ID,))
        # Nova still lists it for a while, the volume no longer does.
        g = ScriptedGatherer([{'v1': other}] * 5 + [gone('v1')])
        self.assertEqual({'v1': (wait.DETACHED, None)}, self.wait(g))
        self.assertEqual(6, g.polls)

    def test_rollback_seen_on_first_poll_after_it(self):
        g = ScriptedGatherer([{'v1': attached('v1', 'detaching')},
                              {'v1': attached('v1', 'in-use')}])
        outcome = self.wait(g, timeout=300)
        self.assertEqual({'v1': (wait.ROLLED_BACK, 'in-use')}, outcome)
        self.assertEqual(2, g.polls)
        self.assertLess(sum(self.clock.sleeps), 300)

    def test_in_use_and_never_detaching_is_rolled_back_after_grace(self):
        g = ScriptedGatherer([{'v1': attached('v1', 'in-use')}])
        outcome = self.wait(g, timeout=300)
        self.assertEqual({'v1': (wait.ROLLED_BACK, 'in-use')}, outcome)
        self.assertEqual(wait.IN_USE_GRACE_POLLS, g.polls)

    def test_in_use_before_detaching_within_grace_is_fine(self):
        steps = ([{'v1': attached('v1', 'in-use')}] *
                 (wait.IN_USE_GRACE_POLLS - 1) +
                 [{'v1': attached('v1', 'detaching')}, gone('v1')])
        g = ScriptedGatherer(steps)
        self.assertEqual({'v1': (wait.DETACHED, None)}, self.wait(g))

    def test_error_status_fails(self):
        g = ScriptedGatherer([{'v1': attached('v1', 'detaching')},
                              {'v1': attached('v1', 'error_detaching')}])
        self.assertEqual({'v1': (wait.FAILED, 'error_detaching')},
                         self.wait(g))

    def test_timeout(self):
        g = ScriptedGatherer([{'v1': attached('v1', 'detaching')}])
        self.assertEqual({'v1': (wait.TIMED_OUT, None)},
                         self.wait(g, timeout=20))
        # The last look comes less than a second before the deadline.
        self.assertLessEqual(sum(self.clock.sleeps), 20)
        self.assertGreater(sum(self.clock.sleeps), 20 - wait.FIRST_INTERVAL)

    def test_transient_errors_are_survived(self):
        g = ScriptedGatherer([
            errors.CloudError(503, 'Service Unavailable'),
            ks_exceptions.ConnectFailure('connection reset'),
            errors.CloudError(429, 'Too many requests', code='Common.1503'),
            ks_exceptions.ConnectTimeout('slow'),
            gone('v1')])
        self.assertEqual({'v1': (wait.DETACHED, None)}, self.wait(g))
        self.assertEqual(5, g.polls)

    def test_non_transient_error_propagates(self):
        g = ScriptedGatherer([{'v1': attached('v1', 'detaching')},
                              errors.CloudError(403, 'Forbidden')])
        e = self.assertRaises(errors.CloudError, self.wait, g)
        self.assertEqual(403, e.status)

    def test_three_volumes_wait_in_one_loop(self):
        single = ScriptedGatherer([{'v1': attached('v1', 'detaching')},
                                   gone('v1')])
        self.wait(single)
        three = ScriptedGatherer([
            {v: attached(v, 'detaching') for v in ('v1', 'v2', 'v3')},
            {}])
        outcome = self.wait(three, ('v1', 'v2', 'v3'))
        self.assertEqual({v: (wait.DETACHED, None)
                          for v in ('v1', 'v2', 'v3')}, outcome)
        self.assertEqual(single.polls, three.polls)

    def test_volumes_end_differently(self):
        g = ScriptedGatherer([
            {'v1': attached('v1', 'detaching'),
             'v2': attached('v2', 'detaching'),
             'v3': attached('v3', 'detaching')},
            {'v1': None, 'v2': attached('v2', 'in-use'),
             'v3': attached('v3', 'detaching')}])
        outcome = self.wait(g, ('v1', 'v2', 'v3'), timeout=10)
        self.assertEqual({'v1': (wait.DETACHED, None),
                          'v2': (wait.ROLLED_BACK, 'in-use'),
                          'v3': (wait.TIMED_OUT, None)}, outcome)

    def test_finished_volume_is_not_fetched_again(self):
        g = ScriptedGatherer([
            {'v1': attached('v1', 'error'), 'v2': attached('v2', 'detaching')},
            {'v1': attached('v1', 'error'), 'v2': attached('v2', 'detaching')},
            {'v1': attached('v1', 'error'), 'v2': None}])
        self.wait(g, ('v1', 'v2'))
        self.assertEqual(1, g.volume_gets.count('v1'))

    def test_progress_on_a_terminal_only(self):
        class Tty(io.StringIO):
            def isatty(self):
                return True

        tty, pipe = Tty(), io.StringIO()
        for stream in (tty, pipe):
            poller = wait.Poller(60, clock=self.clock.clock,
                                 sleep=self.clock.sleep)
            wait.wait_detached(
                ScriptedGatherer([{'v1': attached('v1', 'detaching')},
                                  gone('v1')]),
                self.server, ['v1'], poller, render.Progress(stream))
        self.assertIn('Waiting for 1 of 1 volume to detach from web-1',
                      tty.getvalue())
        # Once every volume is gone there is nothing left to wait for.
        self.assertNotIn('Waiting for 0', tty.getvalue())
        self.assertTrue(tty.getvalue().endswith('\n'))
        self.assertEqual('', pipe.getvalue())


class ScriptedServers(object):
    def __init__(self, steps):
        self.steps = steps
        self.polls = 0

    def server_by_id(self, server_id):
        step = self.steps[min(self.polls, len(self.steps) - 1)]
        self.polls += 1
        if isinstance(step, BaseException):
            raise step
        status, task = step
        return model.Server(id=server_id, name='web-1', status=status,
                            task_state=task)


class TestWaitServerStatus(testtools.TestCase):

    def setUp(self):
        super(TestWaitServerStatus, self).setUp()
        self.clock = fakes.FakeClock()

    def poller(self, timeout=60):
        return wait.Poller(timeout, clock=self.clock.clock,
                           sleep=self.clock.sleep)

    def test_waits_for_status_and_no_task(self):
        g = ScriptedServers([('ACTIVE', 'powering-off'),
                             ('SHUTOFF', 'powering-off'),
                             ('SHUTOFF', None)])
        server = wait.wait_server_status(g, 's', 'SHUTOFF', self.poller())
        self.assertEqual('SHUTOFF', server.status)
        self.assertEqual(3, g.polls)

    def test_timeout(self):
        g = ScriptedServers([('ACTIVE', 'powering-off')])
        self.assertRaises(wait.Timeout, wait.wait_server_status, g, 's',
                          'SHUTOFF', self.poller(30))
        self.assertAlmostEqual(30, sum(self.clock.sleeps))

    def test_error_status_ends_the_wait_early(self):
        g = ScriptedServers([('ERROR', None)])
        self.assertRaises(wait.WentWrong, wait.wait_server_status, g, 's',
                          'SHUTOFF', self.poller(300))
        self.assertEqual(1, g.polls)

    def test_transient_errors_are_survived(self):
        g = ScriptedServers([errors.CloudError(502, 'Bad Gateway'),
                             ks_exceptions.ConnectFailure('reset'),
                             ('SHUTOFF', None)])
        wait.wait_server_status(g, 's', 'SHUTOFF', self.poller())
        self.assertEqual(3, g.polls)

    def test_non_transient_error_propagates(self):
        g = ScriptedServers([errors.CloudError(404, 'gone')])
        self.assertRaises(errors.CloudError, wait.wait_server_status, g, 's',
                          'SHUTOFF', self.poller())


class TestWaitJob(testtools.TestCase):

    def setUp(self):
        super(TestWaitJob, self).setUp()
        self.clock = fakes.FakeClock()
        self.ecs = fakes.FakeProxy('ecs', fakes.ECS_ENDPOINT)

    def poller(self, timeout=60):
        return wait.Poller(timeout, clock=self.clock.clock,
                           sleep=self.clock.sleep)

    def wait(self, timeout=60, job_ids=('j1',)):
        return wait.wait_jobs(functools.partial(detach.job_status, self.ecs),
                              list(job_ids),
                              self.poller(timeout))[job_ids[0]]

    def job(self, *answers):
        for answer in reversed(answers):
            if not isinstance(answer, (tuple, BaseException)):
                answer = (200, {'job_id': 'j1', 'status': answer})
            self.ecs.route('GET', '/jobs/j1', answer, times=1)

    def test_success(self):
        self.job('INIT', 'RUNNING', 'SUCCESS')
        status, body = self.wait()
        self.assertEqual('SUCCESS', status)
        self.assertEqual('j1', body['job_id'])
        self.assertEqual([('GET', '/jobs/j1')] * 3, self.ecs.requests())

    def test_fail_returns_the_body(self):
        self.ecs.route('GET', '/jobs/j1', body={
            'status': 'FAIL', 'fail_reason': 'busy',
            'error_code': 'Ecs.0102'})
        status, body = self.wait()
        self.assertEqual(('FAIL', 'busy'), (status, body['fail_reason']))

    def test_lower_case_status(self):
        self.job('success')
        self.assertEqual('SUCCESS', self.wait()[0])

    def test_timeout(self):
        self.ecs.route('GET', '/jobs/j1', body={'status': 'RUNNING'})
        self.assertEqual((wait.TIMED_OUT, None), self.wait(15))
        self.assertAlmostEqual(15, sum(self.clock.sleeps))

    def test_transient_errors_are_survived(self):
        self.job((503, {'message': 'busy'}),
                 ks_exceptions.ConnectFailure('reset'), 'SUCCESS')
        self.assertEqual('SUCCESS', self.wait()[0])
        self.assertEqual(3, len(self.ecs.calls))

    def test_jobs_side_by_side_are_asked_in_one_round(self):
        for job_id, status in (('j1', 'SUCCESS'), ('j2', 'FAIL')):
            self.ecs.route('GET', '/jobs/%s' % job_id,
                           body={'job_id': job_id, 'status': status})
        outcomes = wait.wait_jobs(
            functools.partial(detach.job_status, self.ecs), ['j1', 'j2'],
            self.poller())
        self.assertEqual({'j1': 'SUCCESS', 'j2': 'FAIL'},
                         {j: o[0] for j, o in outcomes.items()})
        self.assertEqual([wait.FIRST_INTERVAL], self.clock.sleeps)

    def test_non_transient_error_ends_the_wait_for_that_job(self):
        self.job((404, fakes.otc_error('Ecs.0614', 'no such job')))
        status, e = self.wait()
        self.assertEqual(wait.FAILED, status)
        self.assertIsInstance(e, errors.CloudError)
        self.assertEqual('Ecs.0614', e.code)


class PlannedRun(object):
    """``run()`` carries the plan out on the test's fake clock."""

    def __init__(self, case, plan):
        self.case, self.plan = case, plan

    def run(self):
        case = self.case
        status, _ = workflow.carry_out(
            case.gatherer, self.plan, process.Output(case.stderr),
            checked_at=case.clock.clock(), clock=case.clock.clock,
            sleep=case.clock.sleep)
        return status


class OperationTestCase(testtools.TestCase):
    """Operation over a FakeCloud: a running Linux ECS, two data disks."""

    def setUp(self):
        super(OperationTestCase, self).setUp()
        self.cloud = fakes.FakeCloud()
        self.server = self.cloud.linux_server('web-1')
        self.data1 = self.cloud.add_volume('data-1', self.server, '/dev/vdb')
        self.data2 = self.cloud.add_volume('data-2', self.server, '/dev/vdc')
        self.gatherer = facts.Gatherer(self.cloud.connection)
        self.clock = fakes.FakeClock()
        self.stderr = io.StringIO()
        self.useFixture(fixtures.MockPatch(
            'otcclient_detach.detach.native_endpoint',
            return_value=self.cloud.ecs))
        self.useFixture(fixtures.MockPatch(
            'otcclient_detach.reads.evs_native_endpoint',
            return_value=self.cloud.evs))

    def operation(self, volumes=None, **options):
        """The run of a plan that detaches ``volumes``, rules aside."""
        options.setdefault('timeout', 60)
        server = self.gatherer.reads.server_by_id(self.server['id'])
        volumes = [self.gatherer.reads.volume_by_id(v['id'])
                   for v in (volumes or [self.data1])]
        gathered = [model.Facts(server, v) for v in volumes]
        plan = plans.Plan(plans.Options(**options), server, gathered,
                          [[] for _ in gathered])
        plan.steps = plans.steps_for(plan)
        del self.cloud.log[:]
        return PlannedRun(self, plan)

    def said(self):
        """stderr, whitespace squashed: the messages are wrapped."""
        return ' '.join(self.stderr.getvalue().split())

    def compute_calls(self):
        return [(c.method, c.url, c.json) for c in self.cloud.log
                if c.service == 'compute']

    def attachment_url(self, volume):
        return '/servers/%s/os-volume_attachments/%s' % (
            self.server['id'], volume['id'])


class TestOperationNova(OperationTestCase):

    def test_detach_without_wait(self):
        status = self.operation().run()
        self.assertEqual(EXIT_OK, status)
        self.assertEqual([('DELETE', self.attachment_url(self.data1), None)],
                         self.compute_calls())
        self.assertEqual([], self.clock.sleeps)

    def test_detach_and_wait(self):
        status = self.operation(wait=True).run()
        self.assertEqual(EXIT_OK, status)
        self.assertIn('Volume data-1 is detached from server web-1.',
                      self.said())
        self.assertEqual([('DELETE', self.attachment_url(self.data1), None)],
                         self.compute_calls())
        # One look: EVS's disk list of the server.
        self.assertEqual(['/cloudvolumes/detail'],
                         [c.url for c in self.cloud.evs.calls])

    def test_rollback_names_the_likely_causes(self):
        vid = self.data1['id']
        operation = self.operation(wait=True, timeout=300)
        # The cloud accepts, shows 'detaching' once, then rolls back.
        self.cloud.compute.route('DELETE', self.attachment_url(self.data1),
                                 status=202, body='')
        detaching = fakes.volume_body(vid, 'data-1', status='detaching',
                                      attachments=[(self.server['id'],
                                                    '/dev/vdb')])
        self.cloud.evs.route('GET', '/cloudvolumes/detail',
                             body={'volumes': [detaching], 'count': 1},
                             times=1)
        status = operation.run()
        self.assertEqual(EXIT_FAILED, status)
        err = self.said()
        self.assertIn('rolled the detach back', err)
        self.assertIn('umount', err)
        self.assertIn('I/O', err)
        self.assertIn('OTC Tools', err)
        self.assertIn('1 of 1 volume failed to detach.', err)
        # Known on the second poll, long before the timeout.
        self.assertEqual(2, len(self.clock.sleeps))

    def test_timeout_tells_how_to_check(self):
        self.cloud.compute.route('DELETE', self.attachment_url(self.data1),
                                 status=202, body='')
        self.cloud.volumes[self.data1['id']]['status'] = 'detaching'
        status = self.operation(wait=True, timeout=20).run()
        self.assertEqual(EXIT_FAILED, status)
        err = self.said()
        self.assertIn('the detach was accepted, but not confirmed within 20 s',
                      err)
        self.assertNotIn('Failed to detach', err)
        self.assertIn("'openstack server volume list web-1'", err)
        self.assertLessEqual(sum(self.clock.sleeps), 20)
        self.assertGreater(sum(self.clock.sleeps), 20 - wait.FIRST_INTERVAL)

    def test_error_status_reported(self):
        self.cloud.compute.route('DELETE', self.attachment_url(self.data1),
                                 status=202, body='')
        self.cloud.volumes[self.data1['id']]['status'] = 'error_detaching'
        status = self.operation(wait=True).run()
        self.assertEqual(EXIT_FAILED, status)
        self.assertIn('went to status error_detaching',
                      self.said())

    def test_interrupt_while_waiting(self):
        self.cloud.compute.route('DELETE', self.attachment_url(self.data1),
                                 status=202, body='')
        self.cloud.volumes[self.data1['id']]['status'] = 'detaching'

        def interrupt(count):
            if count == 2:
                raise KeyboardInterrupt()

        self.clock.on_sleep = interrupt
        status = self.operation(wait=True).run()
        self.assertEqual(130, status)
        self.assertEqual(EXIT_INTERRUPTED, status)
        err = self.said()
        self.assertIn('The detach goes on in the cloud', err)
        self.assertIn("'openstack server volume list web-1'", err)
        self.assertEqual(1, len(self.cloud.deletes()))

    def test_two_volumes_both_sent(self):
        status = self.operation([self.data1, self.data2], wait=True).run()
        self.assertEqual(EXIT_OK, status)
        self.assertEqual(
            sorted([('compute', self.attachment_url(self.data1)),
                    ('compute', self.attachment_url(self.data2))]),
            sorted(self.cloud.deletes()))
        # One attachment list per poll for both volumes.
        self.assertEqual(1, len([c for c in self.cloud.log
                                 if c.method == 'GET']))

    def test_a_bug_in_one_send_is_told_and_the_other_goes_ahead(self):
        real = detach.detach_nova

        def buggy(compute, server_id, volume_id):
            if volume_id == self.data2['id']:
                raise AttributeError('a bug')
            return real(compute, server_id, volume_id)

        with mock.patch('otcclient_detach.detach.detach_nova', buggy):
            status = self.operation([self.data1, self.data2]).run()
        self.assertEqual(EXIT_FAILED, status)
        err = self.said()
        self.assertIn('unexpected error: a bug', err)
        self.assertEqual([('compute', self.attachment_url(self.data1))],
                         self.cloud.deletes())

    def test_one_of_two_fails(self):
        self.cloud.compute.route(
            'DELETE', self.attachment_url(self.data2), status=400,
            body=fakes.otc_error('Ecs.0102', 'Data disk unresponsive.'))
        status = self.operation([self.data1, self.data2]).run()
        self.assertEqual(EXIT_FAILED, status)
        err = self.said()
        self.assertIn('Failed to detach volume data-2 from server web-1',
                      err)
        self.assertIn('Data disk unresponsive.', err)
        self.assertIn(errors.HINTS['Ecs.0102'], err)
        self.assertIn('1 of 2 volumes failed to detach.', err)
        self.assertEqual(2, len(self.cloud.deletes()))


class TestOperationStopServer(OperationTestCase):

    def setUp(self):
        super(TestOperationStopServer, self).setUp()
        sid = self.server['id']
        busy = dict(self.server, **{'OS-EXT-STS:task_state': 'powering-off'})
        # The first look after os-stop sees the ECS still powering off.
        self.cloud.compute.route(
            'POST', '/servers/%s/action' % sid,
            lambda call: self._act(call, busy))
        self.server_url = '/servers/%s' % sid
        self.action_url = '/servers/%s/action' % sid
        self.list_url = '/servers/%s/os-volume_attachments' % sid

    def _act(self, call, busy):
        if 'os-stop' in call.json:
            self.cloud.compute.route('GET', self.server_url,
                                     body={'server': busy}, times=1)
            self.server['status'] = 'SHUTOFF'
        else:
            self.server['status'] = 'ACTIVE'
        return 202, ''

    def test_stop_detach_start(self):
        status = self.operation(stop_server=True, start_server=True).run()
        self.assertEqual(EXIT_OK, status)
        self.assertEqual(
            [('POST', self.action_url, {'os-stop': None}),
             ('GET', self.server_url, None),
             ('GET', self.server_url, None),
             ('DELETE', self.attachment_url(self.data1), None),
             ('POST', self.action_url, {'os-start': None}),
             ('GET', self.server_url, None)],
            self.compute_calls())
        err = self.said()
        self.assertIn('Server web-1 is stopped (SHUTOFF).', err)
        self.assertIn('Server web-1 is running (ACTIVE) again.', err)
        self.assertEqual('ACTIVE', self.server['status'])

    def test_stop_without_start(self):
        status = self.operation(stop_server=True).run()
        self.assertEqual(EXIT_OK, status)
        self.assertNotIn(('POST', self.action_url, {'os-start': None}),
                         self.compute_calls())
        self.assertEqual('SHUTOFF', self.server['status'])

    def test_stopped_server_is_neither_stopped_nor_started(self):
        self.server['status'] = 'SHUTOFF'
        status = self.operation(stop_server=True, start_server=True).run()
        self.assertEqual(EXIT_OK, status)
        self.assertEqual([], [c for c in self.compute_calls()
                              if c[0] == 'POST'])
        self.assertIn('already; not stopping it', self.said())
        self.assertEqual(1, len(self.cloud.deletes()))

    def test_stop_timeout_detaches_nothing(self):
        self.cloud.compute.route('POST', self.action_url, status=202,
                                 body='')
        status = self.operation(stop_server=True, start_server=True,
                                timeout=30).run()
        self.assertEqual(EXIT_FAILED, status)
        self.assertEqual([], self.cloud.deletes())
        self.assertIn('did not stop within 30 s; nothing was detached',
                      self.said())

    def test_stop_refused_detaches_nothing(self):
        self.cloud.compute.route(
            'POST', self.action_url, status=409, body=fakes.nova_error(
                409, 'Instance is locked', errno='0101046'))
        status = self.operation(stop_server=True).run()
        self.assertEqual(EXIT_FAILED, status)
        self.assertEqual([], self.cloud.deletes())
        self.assertIn('refused to stop server web-1: Instance is locked',
                      self.said())

    def test_server_going_to_error_is_told(self):
        # wait_server_status gives up at once on ERROR; the user must be
        # told that, not that the stop took too long.
        def break_down(call):
            self.server['status'] = 'ERROR'
            return 202, ''

        self.cloud.compute.route('POST', self.action_url, break_down)
        status = self.operation(stop_server=True, timeout=300).run()
        self.assertEqual(EXIT_FAILED, status)
        self.assertEqual([], self.cloud.deletes())
        self.assertEqual(1, len(self.clock.sleeps))
        err = self.said()
        self.assertIn('nothing was detached', err)
        self.assertIn('ERROR', err)
        self.assertNotIn('did not stop within 300 s', err)

    def test_start_fails_after_detach(self):
        self.cloud.compute.route(
            'POST', self.action_url,
            lambda call: (409, fakes.nova_error(409, 'no start'))
            if 'os-start' in call.json else self._act(call, self.server))
        status = self.operation(stop_server=True, start_server=True).run()
        self.assertEqual(EXIT_FAILED, status)
        self.assertEqual(1, len(self.cloud.deletes()))
        self.assertIn('refused to start server web-1 again',
                      self.said())


class TestOperationNative(OperationTestCase):

    def native_url(self, volume):
        return '/cloudservers/%s/detachvolume/%s' % (
            self.server['id'], volume['id'])

    def ecs_calls(self):
        return [(c.method, c.url, c.params) for c in self.cloud.ecs.calls]

    def test_detach_waits_for_job_then_confirms(self):
        status = self.operation(api='native').run()
        self.assertEqual(EXIT_OK, status)
        job_id = list(self.cloud.jobs)[0]
        self.assertEqual(
            [('DELETE', self.native_url(self.data1), None),
             ('GET', '/jobs/%s' % job_id, None),
             ('GET', '/jobs/%s' % job_id, None)],
            self.ecs_calls())
        # Confirmed with EVS's disk list of the server after SUCCESS.
        self.assertEqual(('evs', 'GET', '/cloudvolumes/detail'),
                         self.cloud.sent()[-1][:3])
        self.assertEqual([], self.cloud.compute.requests('DELETE'))
        self.assertIn('ECS job %s started' % job_id, self.said())

    def test_force_detach_sends_delete_flag(self):
        status = self.operation(api='native', force_detach=True).run()
        self.assertEqual(EXIT_OK, status)
        self.assertEqual(('DELETE', self.native_url(self.data1),
                          {'delete_flag': '1'}), self.ecs_calls()[0])

    def test_job_fail(self):
        self.cloud.job_statuses = ('RUNNING', 'FAIL')
        status = self.operation(api='native').run()
        self.assertEqual(EXIT_FAILED, status)
        err = self.said()
        self.assertIn('failed: disk busy (Ecs.0102)', err)
        self.assertIn(errors.HINTS['Ecs.0102'], err)
        self.assertTrue(self.cloud.is_attached(self.server['id'],
                                               self.data1['id']))

    def test_early_success_is_not_trusted(self):
        # A job that says SUCCESS while the disk stays attached.
        self.cloud.ecs.route('GET', re.compile(r'/jobs/(.+)'),
                             body={'status': 'SUCCESS'})
        status = self.operation(api='native').run()
        self.assertEqual(EXIT_FAILED, status)
        self.assertIn('rolled the detach back', self.said())

    def test_job_timeout(self):
        self.cloud.job_statuses = ('RUNNING',)
        status = self.operation(api='native', timeout=25).run()
        self.assertEqual(EXIT_FAILED, status)
        self.assertIn('not confirmed within 25 s', self.said())
        self.assertIn('did not end', self.said())
        self.assertAlmostEqual(25, sum(self.clock.sleeps))

    def test_two_jobs_share_one_deadline(self):
        self.cloud.job_statuses = ('RUNNING',)
        status = self.operation([self.data1, self.data2], api='native',
                                timeout=25).run()
        self.assertEqual(EXIT_FAILED, status)
        self.assertAlmostEqual(25, sum(self.clock.sleeps))
        self.assertIn('2 of 2 volumes failed', self.said())

    def test_not_attached_code(self):
        self.cloud.detach(self.server['id'], self.data1['id'])
        status = self.operation(api='native').run()
        self.assertEqual(EXIT_FAILED, status)
        self.assertIn('not attached (any more)', self.said())


class FakeSession(fakes.FakeSession):
    def __init__(self, ecs_url=None):
        self.ecs_url = ecs_url
        self.asked = []

    def get_endpoint(self, auth=None, **kwargs):
        self.asked.append(kwargs)
        if self.ecs_url is None:
            raise ks_exceptions.EndpointNotFound('no ecs')
        return self.ecs_url


class TestNativeEndpoint(testtools.TestCase):

    def compute(self, session):
        compute = fakes.FakeProxy('compute', fakes.COMPUTE_ENDPOINT)
        compute.session = session
        return compute

    def test_from_compute_endpoint(self):
        session = FakeSession()
        ecs = detach.native_endpoint(self.compute(session))
        self.assertEqual(fakes.ECS_ENDPOINT, ecs.endpoint_override)
        self.assertIs(session, ecs.session)
        self.assertEqual('ecs', session.asked[0]['service_type'])
        self.assertEqual('eu-de', session.asked[0]['region_name'])

    def test_v2_compute_endpoint(self):
        compute = self.compute(FakeSession())
        compute.endpoint = 'https://ecs.example/v2/%s/' % fakes.PROJECT_ID
        self.assertEqual(fakes.ECS_ENDPOINT.replace(
            'ecs.eu-de.otc.t-systems.com', 'ecs.example'),
            detach.native_endpoint(compute).endpoint_override)

    def test_from_catalog(self):
        url = 'https://ecs.catalog.example/v1/%s/' % fakes.PROJECT_ID
        ecs = detach.native_endpoint(self.compute(FakeSession(url)))
        self.assertEqual(url.rstrip('/'), ecs.endpoint_override)


class TestOperationOutcomeLines(OperationTestCase):

    def test_without_wait_the_detach_is_accepted_not_done(self):
        self.assertEqual(0, self.operation().run())
        self.assertEqual(
            "Detach of volume data-1 accepted; the cloud may still roll it "
            "back: follow it with 'openstack server volume list web-1', or "
            "use --wait.", self.said())
        self.assertEqual(2, len(self.stderr.getvalue().splitlines()))

    def test_messages_wrap_at_79_columns(self):
        self.cloud.compute.route('DELETE', self.attachment_url(self.data1),
                                 status=202, body='')
        self.cloud.volumes[self.data1['id']]['status'] = 'error_detaching'
        self.operation(wait=True).run()
        for line in self.stderr.getvalue().splitlines():
            self.assertLessEqual(len(line), 79, line)
        self.assertIn('1 of 1 volume failed to detach.', self.said())


class TestScheduleFollowsTheCloud(WaitDetachedTestCase):
    """Looks come every second while a volume is detaching."""

    def test_steady_resets_the_next_interval(self):
        poller = wait.Poller(60, clock=self.clock.clock,
                             sleep=self.clock.sleep)
        looks = iter(poller)
        next(looks)
        next(looks)
        poller.steady()
        next(looks)
        next(looks)
        self.assertEqual([1.0, 1.5, 1.0, 1.5], self.clock.sleeps)

    def test_every_second_while_detaching(self):
        # A detach that takes 10 s: seen gone at the first look after it.
        steps = [{'v1': attached('v1', 'detaching')}] * 10 + [gone('v1')]
        g = ScriptedGatherer(steps)
        self.assertEqual({'v1': (wait.DETACHED, None)}, self.wait(g))
        self.assertEqual([1.0] * 11, self.clock.sleeps)

    def test_backs_off_while_nothing_happens(self):
        # Still listed, but no longer detaching: no sign of work.
        idle = attached('v1', 'available')
        steps = [{'v1': attached('v1', 'detaching')}] + [{'v1': idle}] * 3 + \
            [gone('v1')]
        g = ScriptedGatherer(steps)
        self.wait(g)
        self.assertEqual([1.0, 1.0, 1.5, 2.25, 3.375], self.clock.sleeps)

    def test_backs_off_when_detaching_lasts(self):
        # Stuck in detaching: a second apart for STEADY_FOR, then back off.
        steps = [{'v1': attached('v1', 'detaching')}] * 20 + [gone('v1')]
        g = ScriptedGatherer(steps)
        self.wait(g)
        self.assertEqual([1.0] * 12 + [1.5, 2.25, 3.375, 5.0, 5.0, 5.0],
                         self.clock.sleeps[:18])
        self.assertEqual(12.0, wait.STEADY_FOR)

    def test_several_volumes_read_in_one_round(self):
        steps = [{'v1': attached('v1', 'detaching'),
                  'v2': attached('v2', 'detaching')},
                 gone('v1'), {}]
        g = ScriptedGatherer(steps)
        outcomes = self.wait(g, ('v1', 'v2'))
        self.assertEqual({'v1': (wait.DETACHED, None),
                          'v2': (wait.DETACHED, None)}, outcomes)
        self.assertEqual(['v1', 'v2'], sorted(g.volume_gets))
