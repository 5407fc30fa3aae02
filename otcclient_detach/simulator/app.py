"""The WSGI application: OTC's IAM, ECS, EVS, IMS and KMS APIs, one port each.

OTC serves every service from a host of its own, with the API version
first in the path (``https://ecs.eu-de.../v2.1/{project_id}``,
``https://evs.../v2/{project_id}``, ``https://ims.../v2``,
``https://iam.../v3``).  The simulator does the same with one port per
service on the bound address: :data:`SERVICES` is the table of them,
each with its catalog entries and its routes, so adding a service is
one entry.  Each endpoint name maps to a method ``on_<endpoint>`` of
:class:`SimApp`.  This module holds the table and the dispatch:
authentication, project check, microversion negotiation, fault
injection, the request log and error responses.  The handlers are
mixins, one module per API: identity.py (IAM), compute.py (ECS),
storage.py (EVS and IMS), snapshots.py (EVS snapshots), kms.py (KMS)
and control.py (``/_sim/``, on every port).
Everything that is not about HTTP (rules, transitions) lives in
state.py; response shapes live in views.py; error documents and JSON
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

SERVICES = (
    Service('identity', [('identity', 'keystone', '/v3')], [
        Rule('/', endpoint='iam_versions', methods=GET),
        Rule('/v3/', endpoint='iam_version', methods=GET),
        Rule('/v3/auth/tokens', endpoint='tokens',
             methods=GET + POST + DELETE),
    ]),
    # the nova API of ECS and native ECS v1 share OTC's ecs host
    Service('compute', [
        ('compute', 'nova', '/{compute_version}/{project_id}'),
        ('ecs', 'ecs', '/v1/{project_id}'),
    ], [
        Rule('/', endpoint='ecs_versions', methods=GET),
        Rule('/<any("v2", "v2.1"):api>/', endpoint='compute_version',
             methods=GET),
        Rule('/v1/', endpoint='ecs_v1_version', methods=GET),
        Rule(COMPUTE + '/servers', endpoint='servers', methods=GET),
        Rule(COMPUTE + '/servers/detail', endpoint='servers_detail',
             methods=GET),
        Rule(COMPUTE + '/servers/<sid>', endpoint='server', methods=GET),
        Rule(COMPUTE + '/servers/<sid>/action', endpoint='server_action',
             methods=POST),
        Rule(COMPUTE + '/servers/<sid>/os-volume_attachments',
             endpoint='attachments', methods=GET + POST),
        Rule(COMPUTE + '/servers/<sid>/os-volume_attachments/<vid>',
             endpoint='attachment', methods=GET + DELETE),
        Rule(COMPUTE + '/servers/<sid>/tags', endpoint='tags',
             methods=GET + PUT + DELETE),
        Rule(COMPUTE + '/servers/<sid>/tags/<tag>', endpoint='tag',
             methods=GET + PUT + DELETE),
        Rule(COMPUTE + '/flavors', endpoint='flavors', methods=GET),
        Rule(COMPUTE + '/flavors/detail', endpoint='flavors_detail',
             methods=GET),
        Rule(COMPUTE + '/flavors/<fid>', endpoint='flavor', methods=GET),
        Rule(ECS1 + '/cloudservers/detail', endpoint='native_servers',
             methods=GET),
        Rule(ECS1 + '/cloudservers/<sid>', endpoint='native_server',
             methods=GET),
        Rule(ECS1 + '/cloudservers/<sid>/tags', endpoint='native_tags',
             methods=GET),
        Rule(ECS1 + '/cloudservers/<sid>/tags/action',
             endpoint='native_tags_action', methods=POST),
        Rule(ECS1 + '/cloudservers/<sid>/detachvolume/<vid>',
             endpoint='native_detach', methods=DELETE),
        Rule(ECS1 + '/jobs/<job_id>', endpoint='native_job', methods=GET),
    ]),
    Service('volume', [
        ('volumev2', 'cinderv2', '/v2/{project_id}'),
        ('volumev3', 'cinderv3', '/v3/{project_id}'),
        ('block-storage', 'evs', '/v3/{project_id}'),
    ], [
        Rule('/', endpoint='evs_versions', methods=GET),
        Rule('/<any(v2, v3):api>/', endpoint='evs_version', methods=GET),
        Rule(EVS + '/volumes', endpoint='volumes', methods=GET),
        Rule(EVS + '/volumes/detail', endpoint='volumes_detail',
             methods=GET),
        Rule(EVS + '/volumes/<vid>', endpoint='volume', methods=GET),
        Rule(EVS + '/snapshots', endpoint='snapshots', methods=GET + POST),
        Rule(EVS + '/snapshots/detail', endpoint='snapshots_detail',
             methods=GET),
        Rule(EVS + '/snapshots/<snap_id>', endpoint='snapshot',
             methods=GET),
    ]),
    Service('image', [('image', 'glance', '/v2')], [
        Rule('/', endpoint='ims_versions', methods=GET),
        Rule('/v2/', endpoint='ims_versions', methods=GET),
        Rule('/v2/images', endpoint='images', methods=GET),
        Rule('/v2/images/<iid>', endpoint='image', methods=GET),
        Rule('/v2/schemas/<any(image, images):name>',
             endpoint='image_schema', methods=GET),
    ]),
    # KMS; clients append the project ID to the catalog URL, as
    # otcextensions does.  The scenario may leave it out of the catalog.
    Service('kms', [('kms', 'kms', '/v1.0')], [
        Rule('/v1.0/<pid>/kms/describe-key', endpoint='kms_describe_key',
             methods=POST),
    ]),
)
SERVICE_NAMES = tuple(s.name for s in SERVICES)

# The control API, on every port: not logged; the admin token
# (ADMIN_TOKEN_HEADER) instead of a keystone token.
CONTROL_RULES = [
    Rule('/_sim/requests', endpoint='sim_requests', methods=GET + DELETE),
    Rule('/_sim/faults', endpoint='sim_faults', methods=GET + POST + DELETE),
    Rule('/_sim/state', endpoint='sim_state', methods=GET),
    Rule('/_sim/tokens', endpoint='sim_tokens', methods=POST + DELETE),
    Rule('/_sim/volumes/<ref>', endpoint='sim_volume', methods=GET + POST),
    Rule('/_sim/servers/<ref>', endpoint='sim_server', methods=GET + POST),
    Rule('/_sim/keys/<ref>', endpoint='sim_key', methods=GET + POST),
]
# A werkzeug Rule belongs to one Map: each map gets copies.
URL_MAPS = {
    s.name: Map([r.empty() for r in s.rules + CONTROL_RULES],
                strict_slashes=False)
    for s in SERVICES}

# Endpoints reachable without a token.
PUBLIC = {'iam_versions', 'iam_version', 'tokens', 'ecs_versions',
          'compute_version', 'ecs_v1_version', 'evs_versions', 'evs_version',
          'ims_versions'}
_VERSION_RE = re.compile(r'^([1-9][0-9]*)\.(0|[1-9][0-9]*)$')
SERVICE_KEY = 'otcsim.service'


def catalog_entries(state, root_of):
    """(type, name, url) of every catalog entry of :data:`SERVICES`.

    ``root_of(service_name)`` is that service's root URL.
    """
    fill = {'project_id': state.project['id'],
            'compute_version': state.compute_version}
    return [(stype, name, root_of(service.name) + path.format(**fill))
            for service in SERVICES
            if service.name != 'kms' or state.kms_in_catalog
            for stype, name, path in service.catalog]


class SimApp(identity.IdentityAPI, compute.ComputeAPI, storage.StorageAPI,
             snapshots.SnapshotAPI, kms.KmsAPI, control.ControlAPI):
    """The WSGI callable.

    ``state``, ``faults`` and ``log`` are shared with the
    :class:`~otcclient_detach.simulator.server.Simulator` that runs it.
    """

    def __init__(self, state, faults=None, log=None, stopping=None,
                 ports=None, admin_token=None):
        self.state = state
        # The /_sim control API answers only to requests carrying it.
        self.admin_token = admin_token or secrets.token_urlsafe(24)
        if faults is None:
            faults = faults_mod.Faults(state.scenario['faults'])
        self.faults = faults
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

    def _log(self, request, status, started, dropped=False):
        self.log.add(request.method, request.path,
                     request.query_string.decode('latin-1'), status, dropped,
                     service=request.service, started=started)

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
            if endpoint.startswith('sim_'):
                raise HTTPError(404, 'The resource could not be found.')
            if endpoint not in PUBLIC:
                request.token = self._authenticate(request)
                pid = values.pop('pid', None)
                if pid is not None and pid != self.state.project['id']:
                    raise HTTPError(400, "Malformed request URL: URL's "
                                    "project_id '%s' doesn't match Context's"
                                    " project_id '%s'" % (
                                        pid, self.state.project['id']))
            service = service_of(request.service, request.path)
            # The legacy /v2 and EVS /v2 endpoints have no microversions.
            if endpoint in PUBLIC:
                pass
            elif service == 'compute' and values['api'] == 'v2.1':
                mv = ('compute', self._microversion(
                    request, 'compute', views.COMPUTE_MIN, views.COMPUTE_MAX,
                    'X-OpenStack-Nova-API-Version'))
            elif service == 'evs' and values['api'] == 'v3':
                mv = ('volume', self._microversion(
                    request, 'volume', views.VOLUME_V3_MIN,
                    views.VOLUME_V3_MAX))
            request.microversion = mv[1] if mv else None
            handler = getattr(self, 'on_' + endpoint)
            response = handler(request, **values)
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
            if not endpoint.startswith('sim_'):
                raise wz_exc.NotFound()
            return getattr(self, 'on_' + endpoint)(request, **values)
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
