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
from tests.unit import fakes

from otcclient_detach import encryption
from otcclient_detach import error_codes
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


# Written by hand from OTC's error code pages (opentelekomcloud-docs):
ECS_PAGE = 'elastic-cloud-server: api-ref/source/appendix/error_codes.rst'
EVS_PAGE = 'elastic-volume-service: api-ref/source/appendix/error_codes.rst'
KMS_PAGE = 'key-management-service: api-ref/source/appendix/error_code.rst'

# (code, HTTP status the page gives, whether trying again later can help,
# words the hint must say, the page's file).
DOCUMENTED = [
    ('Ecs.0003', 403, False,
     ['no permission', 'ecs:cloudServers:detachVolume', 'ECS FullAccess'],
     ECS_PAGE),
    ('Ecs.0073', 400, True, ['backed up'], ECS_PAGE),
    ('Ecs.0100', 400, True, ['status', 'ACTIVE or SHUTOFF'],
     ECS_PAGE),
    ('Ecs.0101', 400, True, ['system disk', 'unresponsive'],
     ECS_PAGE),
    ('Ecs.0102', 400, True, ['data disk', 'unresponsive'],
     ECS_PAGE),
    ('Ecs.0105', 400, False, ['no system disk', 'attach the system disk'],
     ECS_PAGE),
    ('Ecs.0111', 400, False, ['not in the ECS attachment list'],
     ECS_PAGE),
    ('Ecs.0114', 404, False, ['does not exist'], ECS_PAGE),
    ('Ecs.0603', 501, True, ['other commands', 'in a minute'],
     ECS_PAGE),
    ('Ecs.0605', 400, False, ['locked', 'openstack server unlock'],
     ECS_PAGE),
    ('Ecs.0614', 404, False, ['does not exist'], ECS_PAGE),
    ('Ecs.1002', 400, True, ['disk or NIC', 'attached or detached',
                             'wait until that has finished'],
     ECS_PAGE),
    ('Pdp.0001', 403, False,
     ['IAM policy', 'ecs:serverVolumeAttachments:delete',
      'evs:volumes:detach', 'Server Administrator'],
     'permissions_and_supported_actions/disk_management.rst'),
    ('Common.0024', 202, True, ['flow control'], ECS_PAGE),
    ('Common.1503', 429, True, ['flow control'], ECS_PAGE),
    ('EVS.2021', 500, True, ['error_detaching', 'try again later'],
     EVS_PAGE),
    ('EVS.2068', 400, False, ['disk is locked', 'unlock the disk'],
     EVS_PAGE),
    ('KMS.0205', 400, False, ['key ID', 'invalid'],
     KMS_PAGE),
    ('KMS.0207', 404, False, ['does not exist', 'attached again'],
     KMS_PAGE),
]

#: Codes that OTC's pages word the same, so their hints may be equal.
SAME_WORDS = [{'Ecs.0114', 'Ecs.0614'}, {'Common.0024', 'Common.1503'}]


class TestErrorCodes(testtools.TestCase):

    def test_every_documented_code(self):
        for code, status, retry, words, page in DOCUMENTED:
            entry = error_codes.CODES.get(code)
            self.assertIsNotNone(entry, '%s has no entry' % code)
            self.assertEqual((status, retry), (entry.status,
                                               entry.retry_later), code)
            for word in words:
                self.assertIn(word, entry.hint, code)
            self.assertIn(page, entry.source, code)
            if code != 'Ecs.0105':
                self.assertIsNone(entry.observed, code + ' is documented')
            self.assertEqual(entry.hint, errors.HINTS[code])

    def test_ecs_codes_rest_on_the_ecs_table(self):
        for code, _status, _retry, _words, _page in DOCUMENTED:
            if code.startswith(('Ecs.', 'Pdp.', 'Common.')):
                self.assertIn(error_codes.ECS_ERRORS,
                              error_codes.CODES[code].source, code)

    def test_each_code_has_its_own_hint(self):
        by_hint = {}
        for code, entry in error_codes.CODES.items():
            by_hint.setdefault(entry.hint, set()).add(code)
        shared = [codes for codes in by_hint.values() if len(codes) > 1]
        self.assertEqual(sorted(SAME_WORDS, key=sorted),
                         sorted(shared, key=sorted))

    def test_observations_say_so(self):
        # The power-task errno is on no OTC page at all; Ecs.0105 is, but
        # not as the answer of os-start.
        busy = error_codes.CODES['0101046']
        self.assertIsNotNone(busy.observed)
        self.assertNotIn('.rst', busy.source)
        self.assertIn('os-start', error_codes.CODES['Ecs.0105'].observed)

    def test_lookup_takes_the_first_known_code(self):
        self.assertIsNone(error_codes.lookup(None, 'Ecs.9999'))
        self.assertEqual('0101046',
                         error_codes.lookup('Ecs.9999', '0101046').code)
        e = errors.CloudError(400, 'busy', code='Ecs.1002')
        self.assertIs(error_codes.CODES['Ecs.1002'], e.explanation)
        self.assertTrue(e.explanation.retry_later)


# (body, status, expected code, expected message).
ERROR_BODIES = [
    ({'error': {'error_code': 'KMS.0207',
                'error_msg': 'The key does not exist.'}}, 404,
     'KMS.0207', 'The key does not exist.'),
    ({'error': {'error_code': 'KMS.0205', 'error_msg': 'Invalid key ID.'}},
     400, 'KMS.0205', 'Invalid key ID.'),
    ({'error_code': 'KMS.0205', 'error_msg': 'Invalid key ID.'}, 400,
     'KMS.0205', 'Invalid key ID.'),
    ({'error': {'code': 'EVS.2068', 'message': 'operation failed because '
                'of volume be locked'}}, 400, 'EVS.2068',
     'operation failed because of volume be locked'),
    ({'error': {'code': 'Ecs.1002', 'message': 'A system exception '
                'occurred.'}}, 400, 'Ecs.1002', 'A system exception '
     'occurred.'),
    ({'forbidden': {'code': 403, 'message': 'Policy doesn\'t allow '
                    'detach.'}}, 403, None, 'Policy doesn\'t allow detach.'),
]


class TestErrorBodies(testtools.TestCase):

    def test_codes_and_messages(self):
        for body, status, code, message in ERROR_BODIES:
            e = errors.error_from(fakes.response(status, body))
            self.assertEqual((code, message), (e.code, e.message), body)

    def test_kms_code_brings_its_hint(self):
        e = errors.error_from(fakes.response(404, {'error': {
            'error_code': 'KMS.0207', 'error_msg': 'The key does not '
            'exist.'}}))
        self.assertEqual('The key does not exist. (HTTP 404, KMS.0207). '
                         'Hint: %s' % errors.HINTS['KMS.0207'], str(e))

    def test_kms_shape_in_a_2xx_is_an_error(self):
        e = errors.error_in_success(fakes.response(200, {'error': {
            'error_code': 'KMS.0205', 'error_msg': 'Invalid key ID.'}}))
        self.assertEqual('KMS.0205', e.code)
        self.assertTrue(e.in_success)

    def test_error_without_code_in_a_2xx_is_no_error(self):
        self.assertIsNone(errors.error_in_success(fakes.response(
            200, {'error': {'error_msg': 'x'}})))


KEY_ID = '0b0b0b0b-0000-4000-8000-000000000001'


class TestDescribeKeyErrors(testtools.TestCase):
    """encryption.describe_key judges KMS's errors by KMS's codes."""

    def describe(self, status, body=None, text=None):
        kms = fakes.FakeProxy('kms', 'http://kms.example/v1.0/p')
        kms.route('POST', '/kms/describe-key', answer=fakes.response(
            status, body, text=text))
        return encryption.describe_key(kms, KEY_ID)

    def test_key_not_found_whatever_the_status(self):
        for status in (404, 400):
            info = self.describe(status, {'error': {
                'error_code': 'KMS.0207',
                'error_msg': 'The key does not exist.'}})
            self.assertTrue(info.unknown, status)
            self.assertIsNone(info.problem)

    def test_invalid_key_id_is_a_problem_with_its_hint(self):
        info = self.describe(400, {'error': {'error_code': 'KMS.0205',
                                             'error_msg': 'Invalid key ID.'}})
        self.assertFalse(info.unknown)
        self.assertIn('Invalid key ID', info.problem)
        self.assertIn(errors.HINTS['KMS.0205'], info.problem)

    def test_a_bare_404_says_nothing_about_the_key(self):
        info = self.describe(404, text='<html>Not Found</html>')
        self.assertFalse(info.unknown)
        self.assertIn('404', info.problem)


# (Retry-After, what may be slept with a cap of 30 s).
RETRY_AFTER = [
    ('3', 3.0),
    ('0', 0.0),
    ('0.5', 0.5),
    (' 12 ', 12.0),
    ('30', 30.0),
    ('31', 30.0),
    ('999999999999', 30.0),
    ('-1', None),
    ('-0.5', None),
    ('+3', None),
    ('nan', None),
    ('NaN', None),
    ('inf', None),
    ('-inf', None),
    ('Infinity', None),
    ('1e3', None),
    ('1_000', None),
    ('\u0663', None),  # an Arabic-Indic three: float() would take it
    ('Wed, 21 Oct 2015 07:28:00 GMT', None),
    ('', None),
    ('soon', None),
    (None, None),
]


class TestRetryAfter(testtools.TestCase):

    def test_bounded_or_none(self):
        for value, expected in RETRY_AFTER:
            headers = {} if value is None else {'Retry-After': value}
            found = errors.retry_after_seconds(headers, 30)
            self.assertEqual(expected, found, repr(value))
            if found is not None:
                self.assertIsInstance(found, float)

    def test_beyond_the_cap_is_still_told(self):
        # cloud.request ends at once when the cloud asks for more than
        # it waits: the value itself, unbounded but finite.
        self.assertEqual(120.0, errors.retry_after_value(
            {'Retry-After': '120'}))
        self.assertIsNone(errors.retry_after_value({'Retry-After': 'inf'}))

    def test_no_headers(self):
        self.assertIsNone(errors.retry_after_seconds(None, 30))
        self.assertIsNone(errors.retry_after_seconds(object(), 30))

    def test_case_of_the_header_name(self):
        resp = fakes.response(503, headers={'retry-after': '4'})
        self.assertEqual(4.0, errors.retry_after_seconds(resp.headers, 30))

    def test_auth_retries_sleep_within_the_cap(self):
        for value, expected in RETRY_AFTER:
            headers = {} if value is None else {'Retry-After': value}
            e = ks_exceptions.from_response(
                fakes.response(503, headers=headers), 'POST',
                'http://127.0.0.1:1/v3/auth/tokens')
            self.assertEqual(('status', expected),
                             errors.transient_auth_failure(e, cap=30),
                             repr(value))

    def test_auth_cap_defaults_to_the_commands(self):
        e = ks_exceptions.from_response(
            fakes.response(429, headers={'Retry-After': '3600'}), 'POST',
            'http://127.0.0.1:1/v3/auth/tokens')
        self.assertEqual(('status', errors.MAX_RETRY_AFTER),
                         errors.transient_auth_failure(e))
