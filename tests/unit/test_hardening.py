"""Pure logic of the hardening: timeouts, Retry-After, broken answers."""

import testtools
from tests.unit import fakes

from otcclient_detach import cloud
from otcclient_detach import errors
from otcclient_detach import osc_adapter
from otcclient_detach import render


class Session(object):
    def __init__(self, timeout=None):
        self.timeout = timeout


class Adapter(object):
    """Answers each request with the next of ``answers``."""

    status_code_retries = None
    connect_retries = None
    retriable_status_codes = None

    def __init__(self, answers, timeout=None):
        self.answers = list(answers)
        self.session = Session(timeout)
        self.sent = []

    def request(self, url, method, **kwargs):
        self.sent.append(kwargs)
        return self.answers.pop(0)


class Clock(object):
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def busy(retry_after=None, status=503):
    headers = {'Retry-After': str(retry_after)} if retry_after else None
    return fakes.response(status, {'error': {'message': 'busy'}},
                          headers=headers)


class TestRequestTimeout(testtools.TestCase):

    def test_default_without_api_timeout(self):
        adapter = Adapter([fakes.response(200, {})])
        cloud.get_json(adapter, '/x')
        self.assertEqual(cloud.DEFAULT_REQUEST_TIMEOUT,
                         adapter.sent[0]['timeout'])

    def test_api_timeout_wins(self):
        adapter = Adapter([fakes.response(200, {})], timeout=7)
        cloud.get_json(adapter, '/x')
        self.assertEqual(7.0, adapter.sent[0]['timeout'])

    def test_never_beyond_the_deadline(self):
        clock = Clock()
        adapter = Adapter([fakes.response(200, {})])
        with cloud.deadline(4.5, clock):
            cloud.get_json(adapter, '/x')
        self.assertEqual(4.5, adapter.sent[0]['timeout'])
        # Under a deadline the waiting loop retries, not keystoneauth.
        self.assertEqual(0, adapter.sent[0]['connect_retries'])

    def test_session_gets_the_default(self):
        session = Session()
        osc_adapter.bound_requests(session)
        self.assertEqual(cloud.DEFAULT_REQUEST_TIMEOUT, session.timeout)
        session = Session(12)
        osc_adapter.bound_requests(session)
        self.assertEqual(12, session.timeout)


class TestRetryAfter(testtools.TestCase):

    def test_obeyed_up_to_the_cap(self):
        clock = Clock()
        adapter = Adapter([busy(int(cloud.MAX_RETRY_AFTER)),
                           fakes.response(200, {'ok': True})])
        self.assertEqual({'ok': True}, cloud.get_json(
            adapter, '/x', sleep=clock.sleep))
        self.assertEqual([cloud.MAX_RETRY_AFTER], clock.slept)

    def test_beyond_the_cap_ends_at_once(self):
        clock = Clock()
        adapter = Adapter([busy(3600)])
        e = self.assertRaises(errors.CloudError, cloud.get_json, adapter,
                              '/x', sleep=clock.sleep)
        self.assertIn('the cloud asks to retry in 3600 s', str(e))
        self.assertEqual([], clock.slept)

    def test_beyond_the_deadline_ends_at_once(self):
        clock = Clock()
        adapter = Adapter([busy(10)])
        with cloud.deadline(5, clock):
            e = self.assertRaises(errors.CloudError, cloud.get_json,
                                  adapter, '/x', sleep=clock.sleep)
        self.assertIn('retry in 10 s', str(e))
        self.assertEqual([], clock.slept)

    def test_backoff_stops_at_the_deadline(self):
        clock = Clock()
        adapter = Adapter([busy(), busy(), busy(), busy()])
        with cloud.deadline(1.2, clock):
            self.assertRaises(errors.CloudError, cloud.get_json, adapter,
                              '/x', sleep=clock.sleep)
        self.assertEqual([0.5], clock.slept)

    def test_writes_are_not_retried(self):
        adapter = Adapter([busy(1)])
        self.assertRaises(errors.CloudError, cloud.request, adapter,
                          'DELETE', '/x', sleep=lambda s: self.fail(s))
        self.assertEqual(1, len(adapter.sent))


class TestBrokenAnswers(testtools.TestCase):

    def test_bodies_that_are_no_object(self):
        for resp, kind in (
                (fakes.response(200, text='<html>x</html>'), 'HTML'),
                (fakes.response(200, text='null'), 'null'),
                (fakes.response(200, text='[1]'), 'a list'),
                (fakes.response(200, text='{"a": '), 'no JSON'),
                (fakes.response(200), 'an empty body')):
            e = self.assertRaises(errors.BrokenAnswer, cloud.get_json,
                                  Adapter([resp]), '/servers/x')
            self.assertEqual('The cloud answered 200 to GET /servers/x with '
                             '%s instead of a JSON object' % kind, str(e))
            self.assertTrue(errors.is_ambiguous(e))

    def test_missing_object(self):
        e = self.assertRaises(errors.BrokenAnswer, cloud.field,
                              {'servers': []}, 'server', 'GET /servers/x')
        self.assertIn("no 'server' object", str(e))

    def test_error_body_in_a_2xx_is_no_success(self):
        resp = fakes.response(202, {'error': {
            'code': 'Common.0024', 'message': 'Flow limit exceeded.'}})
        e = self.assertRaises(errors.CloudError, cloud.request,
                              Adapter([resp]), 'DELETE', '/x')
        self.assertEqual('Common.0024', e.code)
        self.assertIn('flow control', str(e))
        self.assertFalse(errors.is_ambiguous(e))

    def test_ordinary_bodies_are_success(self):
        for body in ({'job_id': 'j'}, {'server': {'id': 'x'}}, {},
                     {'error': 'text only'}):
            resp = fakes.response(200, body)
            self.assertIs(resp, cloud.request(Adapter([resp]), 'GET', '/x'))


class TestEscape(testtools.TestCase):

    def test_control_characters(self):
        self.assertEqual('a\\x1b[2Jb\\rc\\x07', render.escape(
            'a\x1b[2Jb\rc\x07'))
        self.assertEqual('été', render.escape('été'))
        # Idempotent: an escaped text stays as it is.
        once = render.escape('\x1b')
        self.assertEqual(once, render.escape(once))

    def test_wrapped_messages_are_escaped(self):
        self.assertNotIn('\x1b', render.fill('Server \x1b]0;x\x07 ' * 20))
