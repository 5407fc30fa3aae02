"""Tests for otcclient_detach.cloud: a cloud's Retry-After, bounded.

A Retry-After that is negative, not a number or infinite is ignored (the
command's own backoff applies); one past the cap ends the request at
once in the cloud's words, for every service (IAM too).
"""

import testtools
from tests.unit import fakes

from otcclient_detach import cloud
from otcclient_detach import errors


class TestBoundedDelay(testtools.TestCase):
    """The Retry-After a request obeys: plain seconds, or nothing."""

    def delay(self, value):
        return cloud._retry_after(fakes.response(
            503, {}, headers={'Retry-After': value}))

    def test_a_number_of_seconds(self):
        for value, seconds in (('3', 3.0), ('0', 0.0), ('1.5', 1.5),
                               ('3600', 3600.0)):
            self.assertEqual(seconds, self.delay(value), value)

    def test_what_is_no_delay_is_ignored(self):
        for value in ('-1', '-0.5', 'nan', 'NaN', 'inf', '-inf', 'soon',
                      '', 'Wed, 21 Oct 2015 07:28:00 GMT'):
            self.assertIsNone(self.delay(value), value)


class Busy(object):
    """An adapter that answers every request 503 with a Retry-After."""

    def __init__(self, retry_after):
        self.retry_after = retry_after
        self.sent = 0

    def request(self, url, method, **kwargs):
        self.sent += 1
        return fakes.response(
            503, fakes.nova_error(503, 'busy'),
            headers={'Retry-After': self.retry_after})


class TestRetryAfter(testtools.TestCase):

    def read(self, retry_after):
        adapter, sleeps = Busy(retry_after), []
        error = self.assertRaises(errors.CloudError, cloud.get_json,
                                  adapter, '/servers/x',
                                  sleep=sleeps.append)
        return adapter, sleeps, error

    def test_a_meaningless_one_leaves_the_own_backoff(self):
        for value in ('-1', 'nan', 'inf', 'tomorrow'):
            adapter, sleeps, error = self.read(value)
            self.assertEqual([0.5, 1.0, 2.0, 4.0], sleeps, value)
            self.assertEqual(1 + len(sleeps), adapter.sent, value)
            self.assertIsNone(error.wait_hint, value)

    def test_a_sensible_one_is_followed(self):
        adapter, sleeps, error = self.read('2')
        self.assertEqual([2.0] * 4, sleeps)
        self.assertEqual(2.0, error.wait_hint)

    def test_past_the_cap_ends_at_once(self):
        adapter, sleeps, error = self.read('3600')
        self.assertEqual([], sleeps)
        self.assertEqual(1, adapter.sent)
        self.assertEqual(503, error.status)
        self.assertGreater(3600, cloud.MAX_RETRY_AFTER)

    def test_past_the_deadline_ends_at_once(self):
        clock = fakes.FakeClock()
        with cloud.deadline(clock.clock() + 10, clock.clock):
            adapter, sleeps, _ = self.read('20')
        self.assertEqual([], sleeps)
        self.assertEqual(1, adapter.sent)
