"""Talking to the cloud: one checked request, with the retry policy.

The openstacksdk proxies are keystoneauth adapters over the CLI's
session, so everything sent here inherits the endpoint, project, TLS and
retry settings of ``clouds.yaml`` / ``OS_*``.

Retry policy (doc/source/hardening.rst): a read (GET) is retried by
keystoneauth itself on 429, 500, 502, 503 and 504 and on connection
errors, with exponential backoff (0.5 s, 1 s, 2 s, ...) or the
``Retry-After`` the cloud sent; a write (DELETE, POST) is sent exactly
once, and its failure is judged by reading the state again.
"""

import contextlib
import contextvars
import logging
import re
import time

from otcclient_detach import errors

LOG = logging.getLogger(__name__)

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
#: Seconds a request may wait for the cloud's answer when clouds.yaml
#: sets no ``api_timeout`` (which, if set, is used instead).
DEFAULT_REQUEST_TIMEOUT = 30.0
#: Longest ``Retry-After`` obeyed; a cloud asking for more ends the
#: command at once.
MAX_RETRY_AFTER = errors.MAX_RETRY_AFTER
#: The delay before the first retry of a read; it doubles each time.
FIRST_RETRY_DELAY = 0.5

#: The deadline of the current wait, or None.  A context variable, so
#: that reads run side by side (side_by_side) keep their caller's.
_deadline = contextvars.ContextVar('otcclient_detach_deadline',
                                   default=None)


def seconds_left():
    """Seconds left before the current deadline, or None without one."""
    return _left()


def deadline_seconds():
    """How long the current deadline was set for, in whole seconds."""
    limit = _deadline.get()
    return None if limit is None else limit[2]


@contextlib.contextmanager
def deadline(when, clock=time.monotonic):
    """Within this block no request waits (or retries) beyond ``when``.

    ``when`` is a time of ``clock``; --wait sets it to its own deadline
    so that neither a slow answer nor a Retry-After outlasts --timeout.
    """
    token = _deadline.set((when, clock, int(round(when - clock()))))
    try:
        yield
    finally:
        _deadline.reset(token)


def _left():
    """Seconds left before the current deadline, or None."""
    limit = _deadline.get()
    if limit is None:
        return None
    when, clock, _ = limit
    return when - clock()


def request_timeout(adapter):
    """The seconds to wait for an answer: api_timeout, else the default."""
    timeout = getattr(getattr(adapter, 'session', None), 'timeout', None)
    try:
        timeout = float(timeout) if timeout else DEFAULT_REQUEST_TIMEOUT
    except (TypeError, ValueError):
        timeout = DEFAULT_REQUEST_TIMEOUT
    left = _left()
    if left is not None:
        timeout = max(1.0, min(timeout, left))
    return timeout


def catalog_url(proxy, service_type):
    """The catalog's URL of ``service_type`` beside ``proxy``, or None.

    Same session, interface and region as ``proxy`` (an SDK proxy).
    """
    from keystoneauth1 import adapter
    from keystoneauth1 import exceptions as ks_exceptions

    try:
        url = adapter.Adapter(
            session=proxy.session, service_type=service_type,
            interface=proxy.interface,
            region_name=proxy.region_name).get_endpoint()
    except ks_exceptions.EndpointNotFound:
        return None
    return url.rstrip('/') if url else None


def adapter_at(proxy, url):
    """A keystoneauth adapter for ``url`` on ``proxy``'s session.

    It keeps the proxy's retry settings (clouds.yaml), which
    :func:`retry_settings` builds on.
    """
    from keystoneauth1 import adapter
    return adapter.Adapter(
        session=proxy.session, endpoint_override=url.rstrip('/'),
        connect_retries=proxy.connect_retries,
        status_code_retries=getattr(proxy, 'status_code_retries', None),
        retriable_status_codes=getattr(proxy, 'retriable_status_codes',
                                       None))


def sibling(proxy, version, service_type=None):
    """An adapter for API ``version`` of ``proxy``'s service, same host.

    The catalog's ``service_type`` entry when given and listed; else the
    proxy's endpoint with its version segment swapped: OTC serves ECS's
    ``/v1/{project_id}`` next to ``/v2.1/{project_id}``, and EVS's
    native ``/v2/{project_id}`` next to ``/v3/{project_id}``.
    """
    url = service_type and catalog_url(proxy, service_type)
    if not url:
        url = re.sub(r'/v\d+(\.\d+)?(?=/|$)', '/' + version,
                     proxy.get_endpoint(), count=1)
    return adapter_at(proxy, url)


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


def _retry_after(resp):
    return errors.retry_after_value(resp.headers)


def request(adapter, method, url, sleep=time.sleep, read=None, **kwargs):
    """Send one request; return the response or raise ``CloudError``.

    ``raise_exc=False`` keeps keystoneauth from turning the answer into
    its own exception, so the cloud's codes reach the user.  Connection
    retries follow :func:`retry_settings`; retries after an error answer
    are done here, so that a ``Retry-After`` beyond
    :data:`MAX_RETRY_AFTER` or beyond the deadline ends the request at
    once.  Every request waits at most :func:`request_timeout` for its
    answer.  Connection problems raise keystoneauth's exceptions
    (``errors.CONNECTION_ERRORS``), with ``waited`` set to that timeout.
    A 2xx whose body is an error object (OTC's flow control answers
    ``Common.0024`` with HTTP 202) raises ``CloudError`` too: it is no
    acceptance.  Every write is logged (``-v``).  ``read=True`` marks a
    request that changes nothing whatever its method (KMS answers
    ``describe-key`` to a POST): it is retried and not logged like a read.
    """
    if read is None:
        read = method.upper() in SAFE_METHODS
    tries = _Tries(adapter, method, read, kwargs, sleep)
    if not read:
        extra = [str(kwargs[k]) for k in ('params', 'json') if kwargs.get(k)]
        LOG.info('Sending %s %s%s (once; a write is never retried on its '
                 'own: only one the cloud turned away for flow control is '
                 'sent again)',
                 method.upper(), url, ''.join(' ' + e for e in extra))
    while True:
        resp = tries.answer(adapter, method, url, kwargs)
        if not tries.again_after(resp):
            break
    return _checked(resp)


class _Tries(object):
    """The retries one request has left, and the pause before each.

    Connection retries are made here, not by keystoneauth, so that none
    outlasts the deadline (keystoneauth's own would not look at it).
    """

    def __init__(self, adapter, method, read, kwargs, sleep):
        settings = retry_settings(adapter, 'GET' if read else method)
        self.status = settings.pop('status_code_retries')
        self.codes = settings.pop('retriable_status_codes', ())
        for key, value in settings.items():
            kwargs.setdefault(key, value)
        kwargs['status_code_retries'] = 0
        self.connect = kwargs.pop('connect_retries', 0) or 0
        kwargs['connect_retries'] = 0
        self.sleep = sleep
        self.delay = FIRST_RETRY_DELAY

    def answer(self, adapter, method, url, kwargs):
        """The cloud's answer, after connection retries within the time."""
        while True:
            timeout = request_timeout(adapter)
            try:
                return adapter.request(url, method, raise_exc=False,
                                       timeout=timeout, **kwargs)
            except errors.CONNECTION_ERRORS as e:
                e.waited = timeout
                left = _left()
                if self.connect <= 0 or (left is not None and
                                         left < FIRST_RETRY_DELAY + 1.0):
                    raise
                LOG.warning('%s %s %s. Retrying in %.1fs.', method.upper(),
                            url, 'timed out' if isinstance(
                                e, errors.ks_exceptions.ConnectTimeout) else
                            'got no answer (%s)' % errors.reason_of(e),
                            self.delay)
                self._pause(self.delay)
                self.connect -= 1

    def again_after(self, resp):
        """Whether to ask again after this answer (having paused).

        A Retry-After beyond :data:`MAX_RETRY_AFTER` or the deadline
        ends the request at once, in the cloud's words.
        """
        if resp.status_code not in self.codes or self.status <= 0:
            return False
        wanted = _retry_after(resp)
        pause = self.delay if wanted is None else wanted
        left = _left()
        if wanted is not None and (
                wanted > MAX_RETRY_AFTER or
                (left is not None and wanted >= left)):
            raise errors.error_from(resp, retry_after=wanted)
        if left is not None and pause >= left:
            return False
        LOG.warning('Retriable status code %s. Retrying in %.1fs. %s '
                    'retries left', resp.status_code, pause, self.status)
        self._pause(pause)
        self.status -= 1
        return True

    def _pause(self, seconds):
        self.sleep(seconds)
        self.delay *= 2


def _checked(resp):
    """``resp`` if it is an answer to use; its CloudError otherwise.

    A 2xx whose body is an error object (OTC's flow control) is no
    acceptance either.
    """
    if resp.status_code >= 400:
        error = errors.error_from(resp)
        error.wait_hint = _retry_after(resp)
        raise error
    flow = errors.error_in_success(resp)
    if flow is not None:
        flow.wait_hint = _retry_after(resp)
        raise flow
    return resp


def get_json(adapter, url, **kwargs):
    """The JSON object a GET answers; ``BrokenAnswer`` if it is none."""
    resp = request(adapter, 'GET', url, **kwargs)
    return errors.json_object(resp, 'GET %s' % url)


def field(body, key, request):
    """``body[key]`` as a JSON object; ``BrokenAnswer`` if missing."""
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, dict):
        raise errors.BrokenAnswer(
            200, 'The answer to %s has no %r object' % (request, key))
    return value
