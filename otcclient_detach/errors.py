"""What went wrong, in words: error answers, failed connections, hints.

Reads the cloud's error bodies (nova, OTC and keystone style), judges a
failure by its exception types (keystoneauth's, and the requests / urllib3
/ ssl / socket exceptions chained to them; never their message texts) and
words what the user reads about it.  No I/O.
"""

import http.client
import re
import socket
import ssl

from keystoneauth1 import exceptions as ks_exceptions

from otcclient_detach import error_codes

#: Connection problems: refused, reset, dropped, timed out, TLS.
CONNECTION_ERRORS = (ks_exceptions.ConnectionError,)

#: What to do about each error code: the meaning and the way out, as one
#: line (the codes, their pages and whether a retry can help are in
#: :mod:`otcclient_detach.error_codes`).
HINTS = {code: entry.hint for code, entry in error_codes.CODES.items()}

#: The longest Retry-After the command sleeps on (seconds).
MAX_RETRY_AFTER = 30.0

# RFC 9110 delay-seconds, and the fractions some clouds send; no sign,
# exponent, "nan" or "inf".
_DELAY_SECONDS = re.compile(r'\s*[0-9]{1,12}(\.[0-9]{1,6})?\s*')


class CloudError(Exception):
    """An error answer from the cloud, with OTC's codes picked out."""

    def __init__(self, status, message, code=None, errno=None):
        #: A 2xx whose body is an error object (error_in_success).
        self.in_success = False
        #: Seconds the cloud asked to wait before a retry, when that was
        #: more than the command waits (cloud.request); else None.
        self.retry_after = None
        self.status = status
        self.message = message
        self.code = code
        self.errno = errno
        super(CloudError, self).__init__(self.describe())

    @property
    def explanation(self):
        """The :class:`error_codes.ErrorCode` of the answer, or None."""
        return error_codes.lookup(self.code, self.errno)

    @property
    def hint(self):
        entry = self.explanation
        return entry.hint if entry else None

    def describe(self):
        codes = [str(self.status)]
        codes += [c for c in (self.code, self.errno)
                  if c and str(c) != str(self.status)]
        text = '%s (HTTP %s)' % (self.message, ', '.join(codes))
        if self.hint:
            text += '. Hint: %s' % self.hint
        return text


#: What a request may raise besides a programming error.
FAILURES = (CloudError,) + CONNECTION_ERRORS


class BrokenAnswer(CloudError):
    """An answer the command cannot use: not JSON, or missing its fields.

    Judged like a 5xx: it says nothing definite about the request.
    """

    def describe(self):
        return self.message


def _kind_of(resp):
    """What a body that is no JSON object is: 'HTML', 'null', 'a list'."""
    text = (getattr(resp, 'text', '') or '').lstrip()
    if not text:
        return 'an empty body'
    if text.startswith('<'):
        return 'HTML'
    try:
        body = resp.json()
    except ValueError:
        return 'no JSON'
    if body is None:
        return 'null'
    return {list: 'a list', str: 'a string', bool: 'a boolean'}.get(
        type(body), 'a number')


def json_object(resp, request):
    """The JSON object of a 2xx answer; :class:`BrokenAnswer` if none."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    raise BrokenAnswer(resp.status_code, (
        'The cloud answered %s to %s with %s instead of a JSON object' % (
            resp.status_code, request, _kind_of(resp))))


def error_in_success(resp):
    """A :class:`CloudError` for a 2xx whose body is an error object.

    OTC's flow control answers ``{"error": {"code": "Common.0024",
    "message": "Flow limit exceeded."}}`` with HTTP 202: nothing was
    done.  None for any other answer.
    """
    try:
        body = resp.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or list(body) != ['error']:
        return None
    if not isinstance(body['error'], dict) or not _fields(body)[1]:
        return None
    error = error_from(resp)
    error.in_success = True
    return error


def _fields(body):
    """(message, code, custom_errno) of an error body; None where absent.

    The error object is the body's first value (nova names it after the
    error, OTC calls it ``error``), or the body itself when it has no
    object inside.  Nova and ECS/EVS say ``code`` and ``message`` (a
    job ``fail_reason``), KMS ``error_code`` and ``error_msg``.
    """
    if not isinstance(body, dict) or not body:
        return None, None, None
    inner = next(iter(body.values()))
    if not isinstance(inner, dict):
        inner = body
    message = (inner.get('message') or inner.get('fail_reason') or
               inner.get('error_msg'))
    code = inner.get('code') or inner.get('error_code')
    return (message if isinstance(message, str) else None, code,
            inner.get('custom_errno'))


def error_from(resp, retry_after=None):
    """Build a :class:`CloudError` from a nova-, OTC- or keystone-style body.

    Nova: ``{"conflictingRequest": {"code", "message", "custom_errno"}}``;
    OTC: ``{"error": {"code": "Ecs.0100", "message"}}``; KMS:
    ``{"error": {"error_code": "KMS.0207", "error_msg"}}`` (KMS API
    reference, "Querying the Information About a CMK").  ``retry_after``:
    the cloud asked to retry after that many seconds, too long to wait.
    """
    try:
        body = resp.json()
    except ValueError:
        body = None
    message, code, errno = _fields(body)
    if not message:
        message = (resp.text or resp.reason or '').strip()[:300] or \
            'no message'
    if code == resp.status_code:
        code = None
    if retry_after is not None:
        message = '%s; the cloud asks to retry in %d s, longer than the ' \
                  'command waits' % (message.rstrip('.'), retry_after)
    error = CloudError(resp.status_code, message, code=code, errno=errno)
    error.retry_after = retry_after
    return error


def worth_another_look(error):
    """Whether a wait should look again after ``error``, not end.

    The cloud being briefly unwell (5xx, 429, a lost connection, a broken
    answer) is worth another look; a refusal is not, and neither is a
    cloud that asks to retry later than the command waits: that ends the
    wait at once, with the cloud's words.
    """
    return is_ambiguous(error) and getattr(error, 'retry_after',
                                           None) is None


def is_ambiguous(error):
    """Whether a failed write may still have been carried out.

    A 5xx, a 429, a timeout or a lost connection says nothing definite
    about the request; a 4xx (other than 408 and 429) is the cloud's
    refusal, so nothing was changed.
    """
    if isinstance(error, BrokenAnswer):
        return True
    if isinstance(error, CloudError):
        return error.status >= 500 or error.status in (408, 429)
    return isinstance(error, CONNECTION_ERRORS)


def _chain(error):
    """``error`` and every exception behind it, nearest first.

    keystoneauth raises its own exception while handling requests' one,
    which wraps urllib3's (``MaxRetryError.reason``, ``ProtocolError``'s
    arguments), which was raised from the socket's or ssl's.
    """
    seen, todo = set(), [error]
    while todo:
        current = todo.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend([current.__cause__, current.__context__,
                     getattr(current, 'reason', None)])
        todo.extend(current.args)


def _found(error, types):
    """The first exception of ``types`` behind ``error``, or None."""
    for current in _chain(error):
        if isinstance(current, types):
            return current
    return None


def _never_sent_types():
    """Failures to set up a connection: the request never left."""
    types = [ConnectionRefusedError, socket.gaierror, ssl.SSLError]
    try:
        from urllib3 import exceptions as urllib3_exceptions
    except ImportError:  # pragma: no cover - requests needs urllib3
        pass
    else:
        # NewConnectionError and NameResolutionError are among them.
        types.append(urllib3_exceptions.ConnectTimeoutError)
    try:
        from requests import exceptions as requests_exceptions
    except ImportError:  # pragma: no cover - keystoneauth needs requests
        pass
    else:
        types.append(requests_exceptions.ConnectTimeout)
    return tuple(types)


def may_still_happen(error):
    """Whether a failed write may still be carried out later.

    After an answer (any status) the cloud is done with the request, and
    a request whose connection was never set up (refused, no such host,
    TLS handshake, connect timeout) never reached it; a read timeout or a
    connection that broke off after the request was sent leaves it in
    flight.
    """
    if not isinstance(error, CONNECTION_ERRORS):
        return False
    if isinstance(error, ks_exceptions.SSLError):
        return False
    return _found(error, _never_sent_types()) is None


def what_happened(error, request='the request'):
    """How ``request`` failed: 'the cloud answered 503 to the DELETE'."""
    if isinstance(error, CloudError):
        return 'the cloud answered %s to %s' % (error.status, request)
    if isinstance(error, CONNECTION_ERRORS):
        return '%s got no answer (%s)' % (request, reason_of(error))
    return '%s failed (%s)' % (request, error)


def _tls_reason(error):
    verify = _found(error, ssl.SSLCertVerificationError)
    if verify is not None:
        return 'TLS certificate verify failed: %s' % (
            verify.verify_message or verify.reason or 'no details')
    handshake = _found(error, ssl.SSLError)
    if handshake is not None:
        return 'TLS handshake failed (%s)' % (
            handshake.reason or handshake.strerror or 'no details')
    return 'TLS handshake failed (no details)'


def reason_of(error):
    """The low-level reason of a connection error, in a few words."""
    if isinstance(error, ks_exceptions.SSLError) or \
            _found(error, ssl.SSLError) is not None:
        return _tls_reason(error)
    if isinstance(error, ks_exceptions.ConnectTimeout):
        waited = getattr(error, 'waited', None)
        if waited:
            return 'no answer within %d s' % waited
        return 'timed out'
    if _found(error, http.client.RemoteDisconnected) is not None:
        return 'the cloud closed the connection without answering'
    if _found(error, ConnectionResetError) is not None:
        return 'connection reset'
    if _found(error, ConnectionRefusedError) is not None:
        return 'Connection refused'
    os_error = _found(error, OSError)
    if os_error is not None and os_error.strerror:
        return os_error.strerror
    innermost = list(_chain(error))[-1]
    return type(innermost).__name__


def _connection_error(error):
    """The first keystoneauth connection error in ``error``'s chain."""
    return _found(error, CONNECTION_ERRORS)


def connection_failure(error, auth_url=None):
    """A message for a cloud that could not be reached, or None.

    ``error`` is anything raised while authenticating or talking to the
    cloud; None means it was not a connection problem.  The message
    names the URL that failed: the auth URL (with advice on clouds.yaml)
    or the service endpoint that stopped answering.
    """
    root = _connection_error(error)
    if root is None:
        return None
    url = _url_of(error)
    at_auth = not url or not auth_url or \
        url.rstrip('/').startswith(auth_url.rstrip('/'))
    if at_auth:
        where = 'the cloud at %s (auth_url)' % auth_url if auth_url \
            else 'the cloud'
    else:
        where = 'the cloud at %s' % url
    reason = reason_of(root)
    if reason.startswith('TLS certificate verify failed'):
        return ("Cannot connect securely to %s: %s. Trust the cloud's "
                "certificate with 'cacert' in clouds.yaml (or "
                "--os-cacert, OS_CACERT), or turn verification off with "
                "'insecure: true' (--insecure; not recommended)" % (
                    where, reason))
    if reason.startswith('TLS'):
        return ("Cannot connect securely to %s: %s. Check the TLS settings "
                "in clouds.yaml: 'cacert' (the cloud's CA certificate), "
                "'cert' and 'key' (a client certificate, if the cloud asks "
                "for one; --os-cert, --os-key), 'insecure'" % (where, reason))
    if at_auth:
        return 'Cannot reach %s: %s. Check auth_url in clouds.yaml (or ' \
               'OS_AUTH_URL) and the network (proxy, firewall)' % (
                   where, reason)
    return 'Cannot reach %s: %s (retried)' % (where, reason)


def _url_of(error):
    """The URL whose request failed (without its query), or None.

    requests' exception carries the request it failed to send.
    """
    for current in _chain(error):
        url = getattr(getattr(current, 'request', None), 'url', None)
        if isinstance(url, str):
            return url.split('?', 1)[0]
    return None


def transient_auth_failure(error, cap=MAX_RETRY_AFTER):
    """'connect', 'status' (with the Retry-After delay or None) or None.

    Whether authenticating again may help: after a lost connection or a
    5xx / 429 answer, yes; after a TLS error or a 401, no.  The delay is
    :func:`retry_after_seconds`: at most ``cap``.
    """
    root = _connection_error(error)
    if root is not None:
        if isinstance(root, ks_exceptions.SSLError):
            return None, None
        return 'connect', None
    for current in _chain(error):
        status = getattr(current, 'http_status', None)
        if isinstance(status, int) and (
                status >= 500 or status in (408, 429)):
            response = getattr(current, 'response', None)
            return 'status', retry_after_seconds(
                getattr(response, 'headers', None), cap)
    return None, None


def retry_after_value(headers):
    """The seconds a ``Retry-After`` header asks for, or None.

    Only delay-seconds count (digits, perhaps a fraction): None for a
    missing header, an HTTP date, a sign, an exponent, "nan", "inf" or
    anything else that is no plain number, so that nothing unbounded or
    negative can reach a sleep.
    """
    try:
        text = (headers or {}).get('Retry-After')
    except AttributeError:
        return None
    if not isinstance(text, str) or not _DELAY_SECONDS.fullmatch(text):
        return None
    return float(text)


def retry_after_seconds(headers, cap=MAX_RETRY_AFTER):
    """The ``Retry-After`` delay in [0, ``cap``], or None if none is given.

    :func:`retry_after_value`, at most ``cap``: what a sleep may take.
    """
    wanted = retry_after_value(headers)
    return None if wanted is None else float(min(wanted, cap))


def failure_message(error, auth_url=None, sent=False):
    """What to tell the user about ``error`` that ended the command.

    None for errors that are not about reaching or asking the cloud
    (they are shown as they are).  ``sent`` says whether a detach was
    sent already.
    """
    after = ('The detach may have been sent already: check it with '
             "'openstack server volume list'." if sent
             else 'Nothing was detached.')
    message = connection_failure(error, auth_url)
    if message:
        return '%s. %s' % (message, after)
    if isinstance(error, ks_exceptions.Unauthorized):
        where = ' at %s' % auth_url if auth_url else ''
        return ('Authentication%s failed: %s. Check the credentials in '
                'clouds.yaml (or OS_*). %s' % (where, error, after))
    if isinstance(error, CloudError):
        return '%s. %s' % (error, after)
    if isinstance(error, ks_exceptions.ClientException):
        return 'The cloud could not be used: %s. %s' % (error, after)
    return None
