"""HTTP plumbing shared by the simulator's handler modules.

The error exception and error documents of each OTC API, JSON
responses, and the two request helpers every handler uses.  It imports
no other simulator module, so app.py and the handler modules can all
import it.
"""

import json

from werkzeug.wrappers import Response

# Nova's fault names by status (nova/api/openstack/wsgi.py).
NOVA_FAULTS = {400: 'badRequest', 401: 'unauthorized', 403: 'forbidden',
               404: 'itemNotFound', 405: 'badMethod',
               409: 'conflictingRequest', 413: 'overLimit', 429: 'overLimit',
               501: 'notImplemented',
               503: 'serviceUnavailable'}
TITLES = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
          404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable',
          409: 'Conflict', 429: 'Too Many Requests',
          500: 'Internal Server Error', 502: 'Bad Gateway',
          503: 'Service Unavailable', 504: 'Gateway Timeout'}


class HTTPError(Exception):
    """Abort a request with a status and a message."""

    def __init__(self, status, message, kind=None, ecs_code=None,
                 headers=None, custom_errno=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.ecs_code = ecs_code
        self.headers = headers or {}
        self.custom_errno = custom_errno

    @classmethod
    def from_sim(cls, err):
        return cls(err.status, err.message, err.kind, err.ecs_code,
                   custom_errno=err.custom_errno)


def json_response(data, status=200, headers=None):
    if status == 204 or data is None:
        return Response(b'', status=status, headers=headers)
    return Response(json.dumps(data), status=status, headers=headers,
                    content_type='application/json')


def service_of(service, path):
    """Which error shape and headers a request gets.

    ``service`` is the name of the port's service (app.SERVICES); the
    ECS host serves both the nova API and native ECS v1 (``/v1/...``).
    """
    if service == 'compute':
        return 'ecs' if path.startswith('/v1/') else 'compute'
    return {'identity': 'iam', 'volume': 'evs', 'image': 'ims',
            'kms': 'kms'}.get(service, 'other')


def error_body(service, err):
    """The error document each OTC API answers with."""
    status = err.status
    if service in ('iam', 'other') or status == 401:
        return {'error': {'code': status, 'title': TITLES.get(status, ''),
                          'message': err.message}}
    if service == 'kms':
        # KMS's own shape (its error-code appendix): error_code/error_msg.
        code = err.ecs_code or 'KMS.%04d' % status
        return {'error': {'error_code': code, 'error_msg': err.message}}
    code = err.ecs_code or ('Common.1503' if status == 429 else None)
    if service == 'ecs' and code:
        return {'error': {'code': code, 'message': err.message}}
    # No documented ECS code (e.g. an unknown path): nova's fault body,
    # which the ECS host also answers with, rather than an invented code.
    kind = err.kind or NOVA_FAULTS.get(status, 'computeFault')
    body = {'code': status, 'message': err.message}
    if err.custom_errno:
        body['custom_errno'] = err.custom_errno
    if status == 429 and 'Retry-After' in err.headers:
        body['retryAfter'] = err.headers['Retry-After']
    return {kind: body}


def base_url(request):
    """The simulator's own URL as the client reached it, no slash."""
    return request.host_url.rstrip('/')


def json_body(request):
    """The request's JSON object, or a 400 in the API's error shape."""
    try:
        data = json.loads(request.get_data(as_text=True) or 'null')
    except ValueError:
        raise HTTPError(400, 'Malformed request body')
    if not isinstance(data, dict):
        raise HTTPError(400, 'The request body must be a JSON object')
    return data
