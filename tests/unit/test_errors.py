"""Tests for otcclient_detach.errors: failures judged by exception types.

The connection failures are real: keystoneauth's session against sockets
on 127.0.0.1 that refuse, drop the connection, or never answer, so the
exception chains (keystoneauth, requests, urllib3, socket) are the ones a
user meets.
"""

import socket
import threading

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session
import testtools

from otcclient_detach import errors


def _listener():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    sock.listen(1)
    return sock


class ConnectionTestCase(testtools.TestCase):

    def fail_with(self, url, timeout=5):
        e = self.assertRaises(
            ks_exceptions.ConnectionError, session.Session().get, url,
            timeout=timeout, connect_retries=0)
        return e

    def serve(self, handle):
        sock = _listener()
        self.addCleanup(sock.close)

        def accept():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            handle(conn)

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        return 'http://127.0.0.1:%d/x' % sock.getsockname()[1]


class TestConnectionFailures(ConnectionTestCase):

    def test_refused_never_reached_the_cloud(self):
        sock = _listener()
        port = sock.getsockname()[1]
        sock.close()
        e = self.fail_with('http://127.0.0.1:%d/x' % port)
        self.assertFalse(errors.may_still_happen(e))
        self.assertTrue(errors.is_ambiguous(e))
        self.assertEqual('Connection refused', errors.reason_of(e))

    def test_dropped_after_the_request_may_still_happen(self):
        def drop(conn):
            conn.recv(65536)
            conn.close()

        e = self.fail_with(self.serve(drop))
        self.assertTrue(errors.may_still_happen(e))
        self.assertEqual('the cloud closed the connection without answering',
                         errors.reason_of(e))

    def test_no_answer_in_time_may_still_happen(self):
        done = threading.Event()

        def hold(conn):
            conn.recv(65536)
            done.wait(10)
            conn.close()

        url = self.serve(hold)
        self.addCleanup(done.set)  # before the thread is joined
        e = self.fail_with(url, timeout=0.5)
        self.assertIsInstance(e, ks_exceptions.ConnectTimeout)
        self.assertTrue(errors.may_still_happen(e))
        self.assertEqual('timed out', errors.reason_of(e))

    def test_message_texts_are_not_read(self):
        # A text that looks like a refusal, without the exception behind
        # it, is judged by its type: a failure that may still happen.
        e = ks_exceptions.ConnectFailure('Connection refused')
        self.assertTrue(errors.may_still_happen(e))

    def test_answers_are_never_in_flight(self):
        self.assertFalse(errors.may_still_happen(errors.CloudError(503, 'x')))
        self.assertFalse(errors.may_still_happen(ValueError('x')))


class TestConnectionFailureMessage(ConnectionTestCase):

    def test_names_the_endpoint_that_failed(self):
        sock = _listener()
        port = sock.getsockname()[1]
        sock.close()
        url = 'http://127.0.0.1:%d/ecs/v2.1/p/servers/detail' % port
        e = self.fail_with(url + '?name=web-1')
        self.assertEqual(
            'Cannot reach the cloud at %s: Connection refused (retried)' %
            url, errors.connection_failure(e, 'http://127.0.0.1:1/v3'))

    def test_at_the_auth_url_it_says_so(self):
        sock = _listener()
        port = sock.getsockname()[1]
        sock.close()
        auth_url = 'http://127.0.0.1:%d/v3' % port
        e = self.fail_with(auth_url + '/auth/tokens')
        self.assertTrue(errors.connection_failure(e, auth_url).startswith(
            'Cannot reach the cloud at %s (auth_url): Connection refused. '
            'Check auth_url' % auth_url))
