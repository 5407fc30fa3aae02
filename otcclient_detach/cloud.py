"""Talking to the cloud: error bodies, hints and a checked request.

The openstacksdk proxies are keystoneauth adapters over the CLI's
session, so everything sent here inherits the endpoint, project, TLS and
retry settings of ``clouds.yaml`` / ``OS_*``.
"""

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


def request(adapter, method, url, **kwargs):
    """Send one request; return the response or raise :class:`CloudError`.

    ``raise_exc=False`` keeps keystoneauth from turning the answer into
    its own exception, so the cloud's codes reach the user.
    """
    resp = adapter.request(url, method, raise_exc=False, **kwargs)
    if resp.status_code >= 400:
        raise error_from(resp)
    return resp


def get_json(adapter, url, **kwargs):
    return request(adapter, 'GET', url, **kwargs).json()
