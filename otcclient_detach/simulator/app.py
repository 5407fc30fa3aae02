"""The WSGI application: OTC's IAM, ECS, EVS, IMS and KMS APIs, one port each.

OTC serves every service from a host of its own, with the API version
first in the path (``https://ecs.eu-de.../v2.1/{project_id}``,
``https://evs.../v2/{project_id}``, ``https://ims.../v2``,
``https://iam.../v3``).  The simulator does the same with one port per
service on the bound address: :data:`SERVICES` is the table of them,
each with its catalog entries and its routes, so adding a service is
one entry.  Each route names its handler (``route(path, handler,
methods)``), so grepping a handler finds its route; :class:`Route` says
what a request needs to reach it.  This module holds the table and the
dispatch: authentication, project check, microversion negotiation, fault
injection, the request log and error responses.  The handlers are
mixins, one module per API: identity.py (IAM), compute.py (ECS),
storage.py (EVS and IMS), snapshots.py (EVS snapshots), kms.py (KMS)
and control.py (``/_sim/``, on every port).
Everything that is not about HTTP (rules, transitions) lives in
state.py; each handler runs inside one ``State.transaction()``, taken
here (the state's locking discipline, see state.py); response shapes
live in views.py; error documents and JSON
responses in http_util.py (``HTTPError`` and ``json_response`` are
importable from here too).
"""

import collections
import hmac
import logging
import re
import secrets
import threading
import time

from werkzeug import exceptions as wz_exc
from werkzeug.routing import Map
from werkzeug.routing import RequestRedirect
from werkzeug.routing import Rule
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from otcclient_detach.simulator import compute
from otcclient_detach.simulator import control
from otcclient_detach.simulator import faults as faults_mod
from otcclient_detach.simulator import identity
from otcclient_detach.simulator import kms
from otcclient_detach.simulator import ratelimit
from otcclient_detach.simulator import snapshots
from otcclient_detach.simulator import state as state_mod
from otcclient_detach.simulator import storage
from otcclient_detach.simulator import views
from otcclient_detach.simulator.http_util import error_body
from otcclient_detach.simulator.http_util import HTTPError
from otcclient_detach.simulator.http_util import json_response
from otcclient_detach.simulator.http_util import service_of

LOG = logging.getLogger(__name__)
COMPUTE = '/<any("v2", "v2.1"):api>/<pid>'
EVS = '/<any(v2, v3):api>/<pid>'
ECS1 = '/v1/<pid>'
GET, POST, PUT, DELETE = ['GET', 'HEAD'], ['POST'], ['PUT'], ['DELETE']
# The header that carries the control API's admin token.
ADMIN_TOKEN_HEADER = 'X-Sim-Admin-Token'

#: One OTC service: ``name`` (also the request log's ``service``), its
#: catalog entries as (type, name, path) with ``{project_id}`` and
#: ``{compute_version}`` filled in, and its werkzeug rules (paths from
#: the service's root).
Service = collections.namedtuple('Service', 'name catalog rules')

#: What a rule's ``endpoint`` is: the handler itself (an ``on_*``
#: method of a mixin, called with the app as ``self``), and who may
#: call it: ``auth`` 'token' (a keystone token and the project in the
#: path), 'public' (no token: version documents, IAM's tokens) or
#: 'admin' (the /_sim control API: the admin token).
Route = collections.namedtuple('Route', 'handler auth')


def route(path, handler, methods, auth='token'):
    """The werkzeug rule that sends ``methods`` on ``path`` to ``handler``."""
    return Rule(path, endpoint=Route(handler, auth), methods=methods)


def public(path, handler, methods):
    return route(path, handler, methods, auth='public')


def admin(path, handler, methods):
    return route(path, handler, methods, auth='admin')


SERVICES = (
    Service('identity', [('identity', 'keystone', '/v3')], [
        public('/', identity.IdentityAPI.on_iam_versions, GET),
        public('/v3/', identity.IdentityAPI.on_iam_version, GET),
        public('/v3/auth/tokens',
               identity.IdentityAPI.on_tokens, GET + POST + DELETE),
    ]),
    # the nova API of ECS and native ECS v1 share OTC's ecs host
    Service('compute', [
        ('compute', 'nova', '/{compute_version}/{project_id}'),
        ('ecs', 'ecs', '/v1/{project_id}'),
    ], [
        public('/', compute.ComputeAPI.on_ecs_versions, GET),
        public('/<any("v2", "v2.1"):api>/',
               compute.ComputeAPI.on_compute_version, GET),
        public('/v1/', compute.ComputeAPI.on_ecs_v1_version, GET),
        route(COMPUTE + '/servers', compute.ComputeAPI.on_servers, GET),
        route(COMPUTE + '/servers/detail',
              compute.ComputeAPI.on_servers_detail, GET),
        route(COMPUTE + '/servers/<sid>', compute.ComputeAPI.on_server, GET),
        route(COMPUTE + '/servers/<sid>/action',
              compute.ComputeAPI.on_server_action, POST),
        route(COMPUTE + '/servers/<sid>/os-volume_attachments',
              compute.ComputeAPI.on_attachments, GET + POST),
        route(COMPUTE + '/servers/<sid>/os-volume_attachments/<vid>',
              compute.ComputeAPI.on_attachment, GET + DELETE),
        route(COMPUTE + '/servers/<sid>/tags',
              compute.ComputeAPI.on_tags, GET + PUT + DELETE),
        route(COMPUTE + '/servers/<sid>/tags/<tag>',
              compute.ComputeAPI.on_tag, GET + PUT + DELETE),
        route(COMPUTE + '/flavors', compute.ComputeAPI.on_flavors, GET),
        route(COMPUTE + '/flavors/detail',
              compute.ComputeAPI.on_flavors_detail, GET),
        route(COMPUTE + '/flavors/<fid>', compute.ComputeAPI.on_flavor, GET),
        route(ECS1 + '/cloudservers/detail',
              compute.ComputeAPI.on_native_servers, GET),
        route(ECS1 + '/cloudservers/<sid>',
              compute.ComputeAPI.on_native_server, GET),
        route(ECS1 + '/cloudservers/<sid>/tags',
              compute.ComputeAPI.on_native_tags, GET),
        route(ECS1 + '/cloudservers/<sid>/tags/action',
              compute.ComputeAPI.on_native_tags_action, POST),
        route(ECS1 + '/cloudservers/<sid>/detachvolume/<vid>',
              compute.ComputeAPI.on_native_detach, DELETE),
        route(ECS1 + '/jobs/<job_id>', compute.ComputeAPI.on_native_job, GET),
    ]),
    Service('volume', [
        ('volumev2', 'cinderv2', '/v2/{project_id}'),
        ('volumev3', 'cinderv3', '/v3/{project_id}'),
        ('block-storage', 'evs', '/v3/{project_id}'),
    ], [
        public('/', storage.StorageAPI.on_evs_versions, GET),
        public('/<any(v2, v3):api>/',
               storage.StorageAPI.on_evs_version, GET),
        route(EVS + '/volumes', storage.StorageAPI.on_volumes, GET),
        route(EVS + '/volumes/detail',
              storage.StorageAPI.on_volumes_detail, GET),
        route(EVS + '/volumes/<vid>', storage.StorageAPI.on_volume, GET),
        # EVS's native disk list: under /v2 only, as OTC documents it
        route('/v2/<pid>/cloudvolumes/detail',
              storage.StorageAPI.on_cloudvolumes_detail, GET),
        route(EVS + '/snapshots',
              snapshots.SnapshotAPI.on_snapshots, GET + POST),
        route(EVS + '/snapshots/detail',
              snapshots.SnapshotAPI.on_snapshots_detail, GET),
        route(EVS + '/snapshots/<snap_id>',
              snapshots.SnapshotAPI.on_snapshot, GET),
    ]),
    Service('image', [('image', 'glance', '/v2')], [
        public('/', storage.StorageAPI.on_ims_versions, GET),
        public('/v2/', storage.StorageAPI.on_ims_versions, GET),
        route('/v2/images', storage.StorageAPI.on_images, GET),
        route('/v2/images/<iid>', storage.StorageAPI.on_image, GET),
        route('/v2/schemas/<any(image, images):name>',
              storage.StorageAPI.on_image_schema, GET),
    ]),
    # KMS; clients append the project ID to the catalog URL, as
    # otcextensions does.  The scenario may leave it out of the catalog.
    Service('kms', [('kms', 'kms', '/v1.0')], [
        route('/v1.0/<pid>/kms/describe-key',
              kms.KmsAPI.on_kms_describe_key, POST),
    ]),
)
SERVICE_NAMES = tuple(s.name for s in SERVICES)

# The control API, on every port: not logged; the admin token
# (ADMIN_TOKEN_HEADER) instead of a keystone token.
CONTROL_RULES = [
    admin('/_sim/requests', control.ControlAPI.on_sim_requests, GET + DELETE),
    admin('/_sim/faults',
          control.ControlAPI.on_sim_faults, GET + POST + DELETE),
    admin('/_sim/rate_limits',
          control.ControlAPI.on_sim_rate_limits, GET + POST + DELETE),
    admin('/_sim/state', control.ControlAPI.on_sim_state, GET),
    admin('/_sim/tokens', control.ControlAPI.on_sim_tokens, POST + DELETE),
    admin('/_sim/volumes/<ref>', control.ControlAPI.on_sim_volume, GET + POST),
    admin('/_sim/servers/<ref>', control.ControlAPI.on_sim_server, GET + POST),
    admin('/_sim/keys/<ref>', control.ControlAPI.on_sim_key, GET + POST),
]
# A werkzeug Rule belongs to one Map: each map gets copies.
URL_MAPS = {
    s.name: Map([r.empty() for r in s.rules + CONTROL_RULES],
                strict_slashes=False)
    for s in SERVICES}

_VERSION_RE = re.compile(r'^([1-9][0-9]*)\.(0|[1-9][0-9]*)$')
SERVICE_KEY = 'otcsim.service'


def catalog_entries(state, root_of):
    """(type, name, url) of every catalog entry of :data:`SERVICES`.

    ``root_of(service_name)`` is that service's root URL.
    """
    fill = {'project_id': state.project.id,
            'compute_version': state.compute_version}
    return [(stype, name, root_of(service.name) + path.format(**fill))
            for service in SERVICES
            if service.name != 'kms' or state.kms_in_catalog
            for stype, name, path in service.catalog]


class SimApp(identity.IdentityAPI, compute.ComputeAPI, storage.StorageAPI,
             snapshots.SnapshotAPI, kms.KmsAPI, control.ControlAPI):
    """The WSGI callable.

    ``state``, ``faults`` and ``log`` are shared with the
    :class:`~otcclient_detach.simulator.server.Simulator` that runs it;
    ``rate_limits`` (ratelimit.py) starts from the scenario's.
    """

    def __init__(self, state, faults=None, log=None, stopping=None,
                 ports=None, admin_token=None, rate_limits=None):
        self.state = state
        # The /_sim control API answers only to requests carrying it.
        self.admin_token = admin_token or secrets.token_urlsafe(24)
        if faults is None:
            faults = faults_mod.Faults(state.scenario['faults'])
        self.faults = faults
        if rate_limits is None:
            rate_limits = ratelimit.RateLimits(
                state.scenario['rate_limits'], state.clock)
        self.rate_limits = rate_limits
        self.log = log or faults_mod.RequestLog(state.clock)
        # Set on shutdown so injected latency ends at once.
        self.stopping = stopping or threading.Event()
        #: service name -> the port it is served on (for the catalog)
        self.ports = dict(ports or {})

    def service_app(self, service):
        """The WSGI callable that serves one service of :data:`SERVICES`."""
        if service not in URL_MAPS:
            raise ValueError('unknown service %r' % service)

        def serve(environ, start_response):
            environ[SERVICE_KEY] = service
            return self(environ, start_response)
        return serve

    def __call__(self, environ, start_response):
        started = time.monotonic()
        request = Request(environ)
        request.service = environ.get(SERVICE_KEY, SERVICE_NAMES[0])
        if request.path.startswith('/_sim/'):
            return self._control(request)(environ, start_response)
        limit = self.rate_limits.check(request.method, request.path,
                                       request.service)
        if limit is not None:
            # Over the flow limit: refused before anything is done.
            response = limit.response()
            self._log(request, response.status_code, started,
                      rate_limited=True)
            return response(environ, start_response)
        rule = self.faults.take(request.method, request.path,
                                request.service)
        response = None
        if rule is not None:
            if rule.latency:
                self.stopping.wait(rule.latency)
            if not rule.carry_out:
                response = self._fault_response(request, rule, started)
        if response is None:
            response = self._dispatch(request)
            if rule is not None and rule.carry_out:
                # "Do it, then answer with an error": the state changed.
                response = self._fault_response(request, rule, started)
        self._log(request, response.status_code, started)
        return response(environ, start_response)

    def _fault_response(self, request, rule, started):
        """What a fault rule answers instead; None to answer normally."""
        headers = {}
        if rule.retry_after is not None:
            headers['Retry-After'] = str(rule.retry_after)
        if rule.drop:
            self._log(request, None, started, dropped=True)
            # werkzeug's handler treats this as a dropped connection
            # and closes the socket without writing a response.
            raise ConnectionResetError('fault injection: drop')
        if rule.has_body:
            return Response(rule.body, status=rule.status or 200,
                            headers=headers, content_type=rule.content_type)
        if rule.status:
            return self._error(request, HTTPError(
                rule.status, 'Injected fault %d for %s %s' % (
                    rule.status, request.method, request.path),
                headers=headers))
        return None

    def _log(self, request, status, started, dropped=False,
             rate_limited=False):
        self.log.add(request.method, request.path,
                     request.query_string.decode('latin-1'), status, dropped,
                     service=request.service, started=started,
                     rate_limited=rate_limited)

    # -- where each service is ---------------------------------------------

    def service_url(self, request, service):
        """Base URL of ``service`` as seen from this request's host."""
        host = request.host
        if not host.endswith(']') and ':' in host:
            host = host.rsplit(':', 1)[0]
        port = self.ports.get(service)
        if port is None:
            raise RuntimeError('no port known for service %s' % service)
        return '%s://%s:%d' % (request.scheme, host, port)

    def catalog_entries(self, request):
        return catalog_entries(
            self.state, lambda name: self.service_url(request, name))

    def _error(self, request, err):
        service = service_of(request.service, request.path)
        headers = dict(err.headers)
        if err.status == 401:
            headers['WWW-Authenticate'] = 'Keystone uri="%s/v3"' % (
                self.service_url(request, 'identity'))
        return json_response(error_body(service, err), err.status, headers)

    def _dispatch(self, request):
        adapter = URL_MAPS[request.service].bind_to_environ(
            request.environ)
        mv = None
        try:
            try:
                endpoint, values = adapter.match()
            except RequestRedirect as exc:
                return exc.get_response(request.environ)
            except wz_exc.HTTPException as exc:
                if request.service == 'compute' and \
                        request.path.startswith('/v2.1/'):
                    # nova negotiates before routing: even its 404
                    # names the microversion
                    mv = ('compute', self._microversion(
                        request, 'compute', views.COMPUTE_MIN,
                        views.COMPUTE_MAX, 'X-OpenStack-Nova-API-Version'))
                raise HTTPError(exc.code, exc.description)
            if endpoint.auth == 'admin':
                raise HTTPError(404, 'The resource could not be found.')
            if endpoint.auth == 'token':
                request.token = self._authenticate(request)
                pid = values.pop('pid', None)
                if pid is not None and pid != self.state.project.id:
                    raise HTTPError(400, "Malformed request URL: URL's "
                                    "project_id '%s' doesn't match Context's"
                                    " project_id '%s'" % (
                                        pid, self.state.project.id))
            service = service_of(request.service, request.path)
            # The legacy /v2 and EVS /v2 endpoints have no microversions.
            if endpoint.auth == 'public':
                pass
            elif service == 'compute' and values['api'] == 'v2.1':
                mv = ('compute', self._microversion(
                    request, 'compute', views.COMPUTE_MIN, views.COMPUTE_MAX,
                    'X-OpenStack-Nova-API-Version'))
            elif service == 'evs' and values.get('api') == 'v3':
                mv = ('volume', self._microversion(
                    request, 'volume', views.VOLUME_V3_MIN,
                    views.VOLUME_V3_MAX))
            request.microversion = mv[1] if mv else None
            with self.state.transaction():
                response = endpoint.handler(self, request, **values)
        except state_mod.SimError as err:
            response = self._error(request, HTTPError.from_sim(err))
        except HTTPError as err:
            response = self._error(request, err)
        except Exception as exc:
            # A simulator bug: answer 500 like a cloud would, and keep it
            # in the request log instead of losing it in werkzeug's.
            LOG.exception('simulator error on %s %s', request.method,
                          request.path)
            response = self._error(request, HTTPError(
                500, 'Unexpected simulator error: %s' % exc))
        if mv is not None:
            text = '%d.%d' % mv[1]
            response.headers['OpenStack-API-Version'] = '%s %s' % (mv[0],
                                                                   text)
            vary = 'OpenStack-API-Version'
            if mv[0] == 'compute':
                response.headers['X-OpenStack-Nova-API-Version'] = text
                vary += ', X-OpenStack-Nova-API-Version'
            response.headers['Vary'] = vary
        return response

    def _control(self, request):
        """Dispatch a ``/_sim/`` request to control.py's handlers.

        No fault injection or log; the admin token (ADMIN_TOKEN_HEADER)
        is required; errors are ``{"error": ...}``.
        """
        given = request.headers.get(ADMIN_TOKEN_HEADER, '')
        if not hmac.compare_digest(given.encode(), self.admin_token.encode()):
            return json_response({'error': 'the control API needs the admin '
                                  'token in the %s header'
                                  % ADMIN_TOKEN_HEADER}, 403)
        adapter = URL_MAPS[request.service].bind_to_environ(
            request.environ)
        try:
            endpoint, values = adapter.match()
            if endpoint.auth != 'admin':
                raise wz_exc.NotFound()
            with self.state.transaction():
                return endpoint.handler(self, request, **values)
        except wz_exc.HTTPException as exc:
            return json_response({'error': exc.description}, exc.code)
        except (ValueError, TypeError) as exc:
            return json_response({'error': str(exc)}, 400)
        except state_mod.SimError as exc:
            return json_response({'error': exc.message}, exc.status)

    # -- helpers ----------------------------------------------------------

    def _microversion(self, request, service, minimum, maximum,
                      legacy_header=None):
        """Microversion negotiation as nova and cinder do it."""
        wanted = None
        for part in request.headers.get('OpenStack-API-Version', '').split(
                ','):
            bits = part.strip().split()
            if len(bits) == 2 and bits[0].lower() == service:
                wanted = bits[1]
        if wanted is None and legacy_header:
            wanted = request.headers.get(legacy_header)
        if not wanted:
            return minimum
        if wanted.strip().lower() == 'latest':
            return maximum
        match = _VERSION_RE.match(wanted.strip())
        if not match:
            raise HTTPError(400, 'API Version String %s is of invalid '
                            'format. Must be of format MajorNum.MinorNum.'
                            % wanted)
        version = (int(match.group(1)), int(match.group(2)))
        if not minimum <= version <= maximum:
            raise HTTPError(406, 'Version %s is not supported by the API. '
                            'Minimum is %d.%d and maximum is %d.%d.' % (
                                (wanted,) + minimum + maximum),
                            kind='computeFault')
        return version
