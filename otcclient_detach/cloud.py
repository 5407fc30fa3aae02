"""Talking to the cloud: error bodies, hints, retries and a checked request.

The openstacksdk proxies are keystoneauth adapters over the CLI's
session, so everything sent here inherits the endpoint, project, TLS and
retry settings of ``clouds.yaml`` / ``OS_*``.

Retry policy (doc/source/hardening.rst): a read (GET) is retried by
keystoneauth itself on 429, 500, 502, 503 and 504 and on connection
errors, with exponential backoff (0.5 s, 1 s, 2 s, ...) or the
``Retry-After`` the cloud sent; a write (DELETE, POST) is sent exactly
once, and its failure is judged by reading the state again.
"""

import re
import time

from keystoneauth1 import exceptions as ks_exceptions

#: Answers to a read that are worth another try.
RETRIABLE_STATUS_CODES = (429, 500, 502, 503, 504)
#: Retries of a read after such an answer (at least; clouds.yaml's
#: ``status_code_retries`` may ask for more).
READ_STATUS_RETRIES = 4
#: Retries of a read after a connection error (at least; clouds.yaml's
#: ``connect_retries`` may ask for more).
READ_CONNECT_RETRIES = 3
#: Methods that change nothing and may therefore be repeated.
SAFE_METHODS = ('GET', 'HEAD')
#: Connection problems: refused, reset, dropped, timed out, TLS.
CONNECTION_ERRORS = (ks_exceptions.ConnectionError,)

#: What to do about the error codes OTC documents for a detach
#: (ECS API reference, "Error Codes"; otc-facts.md).
HINTS = {
    'Ecs.0100': 'the ECS status does not allow this; stop the ECS or wait '
                'until it is ACTIVE or SHUTOFF',
    'Ecs.0101': 'the system disk did not respond; try again later or stop '
                'the ECS first',
    'Ecs.0102': 'the data disk did not respond (still mounted or busy in '
                'the guest?); unmount it, stop I/O and try again',
    'Ecs.0111': 'the disk is not in the ECS attachment list; see '
                "'openstack server volume list'",
    'Ecs.0073': 'the system disk is being backed up; try again when the '
                'backup has finished',
    'Ecs.0605': "the ECS is locked; unlock it ('openstack server unlock')",
    'Ecs.0114': 'the ECS does not exist',
    'Ecs.0614': 'the ECS does not exist',
    'Ecs.0603': 'the cloud is executing other commands; try again later',
    'Common.0024': 'flow control: too many requests; try again later',
    'Common.1503': 'flow control: too many requests; try again later',
    '0101046': 'the ECS is busy with a task (starting, stopping, '
               'rebooting); wait until it has finished',
}


class CloudError(Exception):
    """An error answer from the cloud, with OTC's codes picked out."""

    def __init__(self, status, message, code=None, errno=None, url=None):
        self.status = status
        self.message = message
        self.code = code
        self.errno = errno
        self.url = url
        super(CloudError, self).__init__(self.describe())

    @property
    def hint(self):
        return HINTS.get(self.code) or HINTS.get(self.errno)

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


def error_from(resp):
    """Build a :class:`CloudError` from a nova-, OTC- or keystone-style body.

    Nova: ``{"conflictingRequest": {"code", "message", "custom_errno"}}``;
    OTC: ``{"error": {"code": "Ecs.0100", "message"}}``.
    """
    message, code, errno = None, None, None
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and len(body) >= 1:
        inner = next(iter(body.values()))
        if isinstance(inner, dict):
            message = inner.get('message') or inner.get('fail_reason')
            code = inner.get('code')
            errno = inner.get('custom_errno')
        elif isinstance(body.get('message'), str):
            message, code = body['message'], body.get('code')
    if not message:
        message = (resp.text or resp.reason or '').strip()[:300] or \
            'no message'
    if code == resp.status_code:
        code = None
    return CloudError(resp.status_code, message, code=code, errno=errno,
                      url=resp.url)


def _at_least(value, minimum):
    try:
        return max(int(value), minimum)
    except (TypeError, ValueError):
        return minimum


def retry_settings(adapter, method):
    """keystoneauth's per-request retry arguments for ``method``.

    Reads get at least :data:`READ_STATUS_RETRIES` /
    :data:`READ_CONNECT_RETRIES` (more if ``clouds.yaml`` configured more
    on the proxy) and retry on :data:`RETRIABLE_STATUS_CODES` plus any
    configured; writes get none: a DELETE that timed out may have been
    carried out, and sending it again would hide what happened.
    """
    if method.upper() not in SAFE_METHODS:
        return {'status_code_retries': 0, 'connect_retries': 0}
    codes = set(RETRIABLE_STATUS_CODES)
    codes.update(getattr(adapter, 'retriable_status_codes', None) or ())
    return {
        'status_code_retries': _at_least(
            getattr(adapter, 'status_code_retries', None),
            READ_STATUS_RETRIES),
        'connect_retries': _at_least(
            getattr(adapter, 'connect_retries', None),
            READ_CONNECT_RETRIES),
        'retriable_status_codes': sorted(codes),
    }


def request(adapter, method, url, **kwargs):
    """Send one request; return the response or raise :class:`CloudError`.

    ``raise_exc=False`` keeps keystoneauth from turning the answer into
    its own exception, so the cloud's codes reach the user.  Retries
    follow :func:`retry_settings` unless the caller overrides them.
    Connection problems raise keystoneauth's exceptions
    (:data:`CONNECTION_ERRORS`).
    """
    for key, value in retry_settings(adapter, method).items():
        kwargs.setdefault(key, value)
    resp = adapter.request(url, method, raise_exc=False, **kwargs)
    if resp.status_code >= 400:
        raise error_from(resp)
    return resp


def get_json(adapter, url, **kwargs):
    return request(adapter, 'GET', url, **kwargs).json()


# -- failures of a write, and of the connection ----------------------------

def is_ambiguous(error):
    """Whether a failed write may still have been carried out.

    A 5xx, a 429, a timeout or a lost connection says nothing definite
    about the request; a 4xx (other than 408 and 429) is the cloud's
    refusal, so nothing was changed.
    """
    if isinstance(error, CloudError):
        return error.status >= 500 or error.status in (408, 429)
    return isinstance(error, CONNECTION_ERRORS)


def may_still_happen(error):
    """Whether a failed write may still be carried out later.

    After an answer (any status) the cloud is done with the request, and
    a request whose connection was never set up (refused, no such host,
    TLS handshake) never reached it; a timeout or a connection that broke
    off after the request was sent leaves it in flight.
    """
    if not isinstance(error, CONNECTION_ERRORS):
        return False
    if isinstance(error, ks_exceptions.SSLError):
        return False
    text = str(error)
    return not any(sign in text for sign in (
        'NewConnectionError', 'Failed to establish a new connection',
        'NameResolutionError', 'Name or service not known',
        'Connection refused'))


def what_happened(error, request='the request'):
    """How ``request`` failed: 'the cloud answered 503 to the DELETE'."""
    if isinstance(error, CloudError):
        return 'the cloud answered %s to %s' % (error.status, request)
    if isinstance(error, CONNECTION_ERRORS):
        return '%s got no answer (%s)' % (request, reason_of(error))
    return '%s failed (%s)' % (request, error)


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")
_SSL = re.compile(r"SSL\w*Error\(\d+, ['\"]([^'\"]+?)\s*(\(_ssl[^)]*\))?"
                  r"['\"]")
_CERT = re.compile(r'certificate verify failed: ([^(\'")]+?)\s*(\(|$)')


def _root(error):
    """The first keystoneauth connection error in ``error``'s chain."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, CONNECTION_ERRORS):
            return error
        error = error.__cause__ or error.__context__
    return None


def reason_of(error):
    """The low-level reason of a connection error, in a few words."""
    text = str(error)
    if isinstance(error, ks_exceptions.SSLError):
        found = _CERT.search(text)
        if found:
            return 'TLS certificate verify failed: %s' % found.group(1)
        found = _SSL.search(text)
        return 'TLS handshake failed (%s)' % (
            found.group(1).strip() if found else 'no details')
    if isinstance(error, ks_exceptions.ConnectTimeout):
        return 'timed out'
    if 'RemoteDisconnected' in text or 'closed connection without' in text:
        return 'the cloud closed the connection without answering'
    if 'Connection reset' in text or 'ConnectionResetError' in text:
        return 'connection reset'
    found = _ERRNO.search(text)
    if found:
        return found.group(1).strip()
    return text.split(': ', 1)[-1][:200]


def connection_failure(error, auth_url=None):
    """A message for a cloud that could not be reached, or None.

    ``error`` is anything raised while authenticating or talking to the
    cloud; None means it was not a connection problem.  The message
    names the URL that failed: the auth URL (with advice on clouds.yaml)
    or the service endpoint that stopped answering.
    """
    root = _root(error)
    if root is None:
        return None
    url = _url_in(str(root))
    at_auth = not url or not auth_url or \
        url.rstrip('/').startswith(auth_url.rstrip('/'))
    if at_auth:
        where = 'the cloud at %s (auth_url)' % auth_url if auth_url \
            else 'the cloud'
    else:
        where = 'the cloud at %s' % url
    if isinstance(root, ks_exceptions.SSLError):
        reason = reason_of(root)
        if 'verify failed' in reason:
            return ("Cannot connect securely to %s: %s. Trust the cloud's "
                    "certificate with 'cacert' in clouds.yaml (or "
                    "--os-cacert, OS_CACERT), or turn verification off with "
                    "'insecure: true' (--insecure; not recommended)" % (
                        where, reason))
        return ("Cannot connect securely to %s: %s. Check the TLS settings "
                "in clouds.yaml: 'cacert' (the cloud's CA certificate), "
                "'cert' and 'key' (a client certificate, if the cloud asks "
                "for one; --os-cert, --os-key), 'insecure'" % (where, reason))
    if at_auth:
        return 'Cannot reach %s: %s. Check auth_url in clouds.yaml (or ' \
               'OS_AUTH_URL) and the network (proxy, firewall)' % (
                   where, reason_of(root))
    return 'Cannot reach %s: %s (retried)' % (where, reason_of(root))


_URL = re.compile(r'https?://[^\s:/]+(:\d+)?[^\s:]*')


def _url_in(text):
    found = _URL.search(text)
    return found.group(0) if found else None


def auth_url_of(app):
    """The auth URL the CLI uses (clouds.yaml / OS_AUTH_URL), or None."""
    candidates = []
    manager = getattr(app, 'client_manager', None)
    conn = getattr(manager, 'sdk_connection', None)
    candidates.append(getattr(getattr(conn, 'config', None), 'auth', None))
    for cloud_region in (getattr(app, 'cloud', None),
                         getattr(manager, '_cli_options', None)):
        config = getattr(cloud_region, 'config', None)
        if isinstance(config, dict):
            candidates.append(config.get('auth'))
    for auth in candidates:
        if isinstance(auth, dict) and isinstance(auth.get('auth_url'), str):
            return auth['auth_url']
    return None


def _transient_auth_failure(error):
    """'connect', 'status' (with the Retry-After delay or None) or None.

    Whether authenticating again may help: after a lost connection or a
    5xx / 429 answer, yes; after a TLS error or a 401, no.
    """
    root = _root(error)
    if root is not None:
        if isinstance(root, ks_exceptions.SSLError):
            return None, None
        return 'connect', None
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        status = getattr(error, 'http_status', None)
        if isinstance(status, int) and (
                status >= 500 or status in (408, 429)):
            response = getattr(error, 'response', None)
            headers = getattr(response, 'headers', None) or {}
            try:
                retry_after = float(headers.get('Retry-After'))
            except (TypeError, ValueError):
                retry_after = None
            return 'status', retry_after
        error = error.__cause__ or error.__context__
    return None, None


def connect(command, sleep=time.sleep):
    """Authenticate (unless done) and return the CLI's SDK connection.

    The command declares ``auth_required = False`` so that its options
    are checked before any request; here python-openstackclient's own
    set-up runs as it would have before parsing, with the
    ``clouds.yaml`` / ``OS_*`` settings (TLS, retries, region) intact.
    Identity requests are outside keystoneauth's retries, so a transient
    failure (5xx, 429, lost connection) is tried again like a read.
    """
    app = command.app
    manager = app.client_manager
    prepare = getattr(app, 'prepare_to_run_command', None)
    if prepare is None or getattr(manager, '_auth_setup_completed', True):
        # Already authenticated (or a test's fake application).
        return manager.sdk_connection
    command.auth_required = True
    left = {'connect': READ_CONNECT_RETRIES, 'status': READ_STATUS_RETRIES}
    delay = {'connect': 0.5, 'status': 0.5}
    while True:
        try:
            prepare(command)
            return manager.sdk_connection
        except Exception as e:
            kind, retry_after = _transient_auth_failure(e)
            if kind is None or left[kind] <= 0:
                raise
            left[kind] -= 1
            sleep(retry_after if retry_after is not None else delay[kind])
            delay[kind] *= 2


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
