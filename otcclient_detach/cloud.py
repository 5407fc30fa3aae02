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

import logging

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
    """Send one request; return the response or raise ``CloudError``.

    ``raise_exc=False`` keeps keystoneauth from turning the answer into
    its own exception, so the cloud's codes reach the user.  Retries
    follow :func:`retry_settings` unless the caller overrides them.
    Connection problems raise keystoneauth's exceptions
    (``errors.CONNECTION_ERRORS``).  Every write is logged (``-v``).
    """
    for key, value in retry_settings(adapter, method).items():
        kwargs.setdefault(key, value)
    if method.upper() not in SAFE_METHODS:
        extra = [str(kwargs[k]) for k in ('params', 'json') if kwargs.get(k)]
        LOG.info('Sending %s %s%s (once; a write is never retried)',
                 method.upper(), url, ''.join(' ' + e for e in extra))
    resp = adapter.request(url, method, raise_exc=False, **kwargs)
    if resp.status_code >= 400:
        raise errors.error_from(resp)
    return resp


def get_json(adapter, url, **kwargs):
    return request(adapter, 'GET', url, **kwargs).json()
