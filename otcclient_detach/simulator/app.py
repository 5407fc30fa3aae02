"""The WSGI application: OTC's IAM, ECS, EVS and IMS APIs on one port.

Routing is werkzeug's ``Map``; each endpoint name maps to a method
``on_<endpoint>`` of :class:`SimApp`.  Everything that is not about
HTTP (rules, transitions) lives in state.py; response shapes live in
views.py.
"""

import json
import logging
import re
import threading

from werkzeug import exceptions as wz_exc
from werkzeug.routing import Map
from werkzeug.routing import RequestRedirect
from werkzeug.routing import Rule
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from otcclient_detach.simulator import faults as faults_mod
from otcclient_detach.simulator import state as state_mod
from otcclient_detach.simulator import views

LOG = logging.getLogger(__name__)
COMPUTE = '/ecs/<any("v2", "v2.1"):api>/<pid>'
EVS = '/evs/<any(v2, v3):api>/<pid>'
ECS1 = '/ecs/v1/<pid>'
GET, POST, DELETE = ['GET', 'HEAD'], ['POST'], ['DELETE']

URL_MAP = Map([
    Rule('/', endpoint='root', methods=GET),
    # identity
    Rule('/iam/', endpoint='iam_versions', methods=GET),
    Rule('/iam/v3/', endpoint='iam_version', methods=GET),
    Rule('/iam/v3/auth/tokens', endpoint='tokens',
         methods=GET + POST + DELETE),
    # compute (nova API of ECS) and native ECS v1
    Rule('/ecs/', endpoint='ecs_versions', methods=GET),
    Rule('/ecs/<any("v2", "v2.1"):api>/', endpoint='compute_version',
         methods=GET),
    Rule('/ecs/v1/', endpoint='ecs_v1_version', methods=GET),
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
    Rule(COMPUTE + '/flavors', endpoint='flavors', methods=GET),
    Rule(COMPUTE + '/flavors/detail', endpoint='flavors_detail',
         methods=GET),
    Rule(COMPUTE + '/flavors/<fid>', endpoint='flavor', methods=GET),
    Rule(ECS1 + '/cloudservers/<sid>/detachvolume/<vid>',
         endpoint='native_detach', methods=DELETE),
    Rule(ECS1 + '/jobs/<job_id>', endpoint='native_job', methods=GET),
    # block storage (EVS)
    Rule('/evs/', endpoint='evs_versions', methods=GET),
    Rule('/evs/<any(v2, v3):api>/', endpoint='evs_version', methods=GET),
    Rule(EVS + '/volumes', endpoint='volumes', methods=GET),
    Rule(EVS + '/volumes/detail', endpoint='volumes_detail', methods=GET),
    Rule(EVS + '/volumes/<vid>', endpoint='volume', methods=GET),
    # images (IMS)
    Rule('/ims/', endpoint='ims_versions', methods=GET),
    Rule('/ims/v2/images', endpoint='images', methods=GET),
    Rule('/ims/v2/images/<iid>', endpoint='image', methods=GET),
    # control API, not logged and not authenticated
    Rule('/_sim/requests', endpoint='sim_requests', methods=GET + DELETE),
    Rule('/_sim/faults', endpoint='sim_faults', methods=GET + POST + DELETE),
    Rule('/_sim/state', endpoint='sim_state', methods=GET),
    Rule('/_sim/tokens', endpoint='sim_tokens', methods=POST + DELETE),
    Rule('/_sim/volumes/<ref>', endpoint='sim_volume', methods=GET + POST),
    Rule('/_sim/servers/<ref>', endpoint='sim_server', methods=GET + POST),
], strict_slashes=False)

# Endpoints reachable without a token.
PUBLIC = {'root', 'iam_versions', 'iam_version', 'tokens', 'ecs_versions',
          'compute_version', 'ecs_v1_version', 'evs_versions', 'evs_version',
          'ims_versions'}
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
_VERSION_RE = re.compile(r'^([1-9][0-9]*)\.(0|[1-9][0-9]*)$')


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


def _service(path):
    """Which API a path belongs to, for error shapes and headers."""
    for prefix, name in (('/iam', 'iam'), ('/ecs/v1', 'ecs'),
                         ('/ecs', 'compute'), ('/evs', 'evs'),
                         ('/ims', 'ims')):
        if path.startswith(prefix):
            return name
    return 'other'


def error_body(service, err):
    """The error document each OTC API answers with."""
    status = err.status
    if service in ('iam', 'other') or status == 401:
        return {'error': {'code': status, 'title': TITLES.get(status, ''),
                          'message': err.message}}
    if service == 'ecs':
        code = err.ecs_code or ('Common.1503' if status == 429 else
                                'Ecs.%04d' % status)
        return {'error': {'code': code, 'message': err.message}}
    kind = err.kind or NOVA_FAULTS.get(status, 'computeFault')
    body = {'code': status, 'message': err.message}
    if err.custom_errno:
        body['custom_errno'] = err.custom_errno
    if status == 429 and 'Retry-After' in err.headers:
        body['retryAfter'] = err.headers['Retry-After']
    return {kind: body}


class SimApp:
    """The WSGI callable.

    ``state``, ``faults`` and ``log`` are shared with the
    :class:`~otcclient_detach.simulator.server.Simulator` that runs it.
    """

    def __init__(self, state, faults=None, log=None, stopping=None):
        self.state = state
        self.faults = faults or faults_mod.Faults()
        self.log = log or faults_mod.RequestLog(state.clock)
        # Set on shutdown so injected latency ends at once.
        self.stopping = stopping or threading.Event()

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path.startswith('/_sim/'):
            return self._control(request)(environ, start_response)
        rule = self.faults.take(request.method, request.path)
        response = None
        if rule is not None:
            if rule.latency:
                self.stopping.wait(rule.latency)
            if rule.drop:
                self._log(request, None, dropped=True)
                # werkzeug's handler treats this as a dropped connection
                # and closes the socket without writing a response.
                raise ConnectionResetError('fault injection: drop')
            if rule.status:
                headers = {}
                if rule.retry_after is not None:
                    headers['Retry-After'] = str(rule.retry_after)
                response = self._error(request, HTTPError(
                    rule.status, 'Injected fault %d for %s %s' % (
                        rule.status, request.method, request.path),
                    headers=headers))
        if response is None:
            response = self._dispatch(request)
        self._log(request, response.status_code)
        return response(environ, start_response)

    def _log(self, request, status, dropped=False):
        self.log.add(request.method, request.path,
                     request.query_string.decode('latin-1'), status, dropped)

    def _error(self, request, err):
        service = _service(request.path)
        headers = dict(err.headers)
        if err.status == 401:
            headers['WWW-Authenticate'] = 'Keystone uri="%s/iam/v3"' % (
                request.host_url.rstrip('/'))
        return json_response(error_body(service, err), err.status, headers)

    def _dispatch(self, request):
        adapter = URL_MAP.bind_to_environ(request.environ)
        mv = None
        try:
            try:
                endpoint, values = adapter.match()
            except RequestRedirect as exc:
                return exc.get_response(request.environ)
            except wz_exc.HTTPException as exc:
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
            service = _service(request.path)
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

    # -- helpers ----------------------------------------------------------

    def base(self, request):
        return request.host_url.rstrip('/')

    def _authenticate(self, request):
        rec = self.state.check_token(request.headers.get('X-Auth-Token'))
        if rec is None:
            raise HTTPError(401, 'The request you have made requires '
                            'authentication.')
        return rec

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

    def _json_body(self, request):
        try:
            data = json.loads(request.get_data(as_text=True) or 'null')
        except ValueError:
            raise HTTPError(400, 'Malformed request body')
        if not isinstance(data, dict):
            raise HTTPError(400, 'The request body must be a JSON object')
        return data

    # -- root and discovery ------------------------------------------------

    def on_root(self, request):
        base = self.base(request)
        return json_response({'simulator': 'otc-detach-sim', 'services': {
            'identity': base + '/iam/v3', 'compute': base + '/ecs/',
            'volume': base + '/evs/', 'image': base + '/ims/'}})

    def on_iam_versions(self, request):
        return json_response({'versions': {'values': [
            views.identity_version(self.base(request))]}}, 300)

    def on_iam_version(self, request):
        return json_response({
            'version': views.identity_version(self.base(request))})

    def on_ecs_versions(self, request):
        return json_response({
            'versions': views.compute_versions(self.base(request))})

    def on_compute_version(self, request, api):
        versions = views.compute_versions(self.base(request))
        wanted = 'v2.0' if api == 'v2' else 'v2.1'
        return json_response({'version': [
            v for v in versions if v['id'] == wanted][0]})

    def on_ecs_v1_version(self, request):
        return json_response({
            'version': views.ecs_v1_version(self.base(request))})

    def on_evs_versions(self, request):
        return json_response({
            'versions': views.volume_versions(self.base(request))}, 300)

    def on_evs_version(self, request, api):
        versions = views.volume_versions(self.base(request))
        return json_response({'version': [
            v for v in versions if v['id'] == api + '.0'][0]})

    def on_ims_versions(self, request):
        return json_response({
            'versions': views.image_versions(self.base(request))}, 300)

    # -- identity ---------------------------------------------------------

    def on_tokens(self, request):
        if request.method == 'POST':
            return self._issue_token(request)
        self._authenticate(request)
        subject = self.state.check_token(request.headers.get(
            'X-Subject-Token'))
        if subject is None:
            raise HTTPError(404, 'Could not find token: %s' % (
                request.headers.get('X-Subject-Token', '')[:8] + '...'))
        if request.method == 'DELETE':
            self.state.revoke_token(request.headers['X-Subject-Token'])
            return json_response(None, 204)
        return json_response(
            views.token(self.state, self.base(request), subject,
                        request.headers['X-Subject-Token']),
            headers={'X-Subject-Token': request.headers['X-Subject-Token']})

    def _issue_token(self, request):
        body = self._json_body(request)
        try:
            identity = body['auth']['identity']
            methods = list(identity['methods'])
        except (KeyError, TypeError):
            raise HTTPError(400, 'Expecting to find identity in auth. The '
                            'server could not comply with the request '
                            'since it is either malformed or otherwise '
                            'incorrect.')
        user = app_cred = None
        if 'password' in methods:
            user = self._password_user(identity.get('password') or {})
        elif 'application_credential' in methods:
            user, app_cred = self._app_cred_user(
                identity.get('application_credential') or {})
        elif 'token' in methods:
            rec = self.state.check_token(
                (identity.get('token') or {}).get('id'))
            if rec:
                user, app_cred = rec['user'], rec['app_cred']
        if user is None:
            raise HTTPError(401, 'The request you have made requires '
                            'authentication.')
        scope = body['auth'].get('scope')
        if scope is not None and not app_cred:
            self._check_scope(scope)
        token_id, rec = self.state.issue_token(user, methods, app_cred)
        return json_response(views.token(self.state, self.base(request),
                                         rec, token_id), 201,
                             {'X-Subject-Token': token_id})

    def _find_user(self, spec):
        for user in self.state.users:
            if spec.get('id'):
                if spec['id'] == user['id']:
                    return user
                continue
            domain = spec.get('domain') or {}
            same_domain = user['domain']['name'] == domain.get('name') or \
                user['domain']['id'] == domain.get('id')
            if spec.get('name') == user['name'] and same_domain:
                return user
        return None

    def _password_user(self, password):
        spec = password.get('user') or {}
        user = self._find_user(spec)
        if user is None or spec.get('password') != user['password']:
            return None
        return user

    def _app_cred_user(self, spec):
        for user in self.state.users:
            if spec.get('user') and self._find_user(spec['user']) is not user:
                continue
            for cred in user['app_credentials']:
                wanted = spec.get('id') == cred['id'] or \
                    spec.get('name') == cred['name']
                if wanted and spec.get('secret') == cred['secret']:
                    return user, cred
        return None, None

    def _check_scope(self, scope):
        project = scope.get('project') if isinstance(scope, dict) else None
        mine = self.state.project
        if not isinstance(project, dict):
            raise HTTPError(401, 'The request you have made requires '
                            'authentication.')
        if project.get('id'):
            ok = project['id'] == mine['id']
        else:
            domain = project.get('domain') or {}
            ok = project.get('name') == mine['name'] and (
                domain.get('name') == mine['domain']['name'] or
                domain.get('id') == mine['domain']['id'])
        if not ok:
            raise HTTPError(401, 'The request you have made requires '
                            'authentication.')

    # -- compute ----------------------------------------------------------

    def _servers(self, request):
        args = request.args
        servers = self.state.list_servers()
        if args.get('name'):
            servers = [s for s in servers
                       if state_mod.matches_name(args['name'], s['name'])]
        if args.get('status'):
            servers = [s for s in servers
                       if s['status'] == args['status'].upper()]
        if args.get('marker'):
            ids = [s['id'] for s in servers]
            if args['marker'] not in ids:
                raise HTTPError(400, 'marker [%s] not found'
                                % args['marker'])
            servers = servers[ids.index(args['marker']) + 1:]
        if args.get('limit'):
            try:
                servers = servers[:int(args['limit'])]
            except ValueError:
                raise HTTPError(400, 'limit must be an integer')
        return servers

    def on_servers(self, request, api):
        base = self.base(request)
        return json_response({'servers': [
            views.server_summary(self.state, base, api, s)
            for s in self._servers(request)]})

    def on_servers_detail(self, request, api):
        base = self.base(request)
        with self.state.lock:
            return json_response({'servers': [
                views.server_detail(self.state, base, api, s,
                                    request.microversion)
                for s in self._servers(request)]})

    def on_server(self, request, api, sid):
        with self.state.lock:
            srv = self.state.get_server(sid)
            return json_response({'server': views.server_detail(
                self.state, self.base(request), api, srv,
                request.microversion)})

    def on_server_action(self, request, api, sid):
        body = self._json_body(request)
        self.state.get_server(sid)
        if 'os-stop' in body:
            self.state.power(sid, 'stop')
        elif 'os-start' in body:
            self.state.power(sid, 'start')
        elif 'lock' in body or 'unlock' in body:
            # Nova's lock/unlock, so that the advice "openstack server
            # unlock" can be followed against the simulator.
            self.state.patch_server(sid, locked='lock' in body)
        else:
            raise HTTPError(400, 'There is no such action: %s'
                            % (', '.join(body) or '(none)'))
        return json_response(None, 202)

    def on_attachments(self, request, api, sid):
        with self.state.lock:
            srv = self.state.get_server(sid)
            if request.method == 'POST':
                spec = self._json_body(request).get('volumeAttachment')
                if not isinstance(spec, dict) or not spec.get('volumeId'):
                    raise HTTPError(400, "Invalid input for field/attribute "
                                    "volumeAttachment.")
                vol = self.state.get_volume(spec['volumeId'])
                att = self.state.attach(sid, vol['id'], spec.get('device'))
                return json_response({'volumeAttachment':
                                      views.volume_attachment(srv, vol, att)})
            return json_response({'volumeAttachments': [
                views.volume_attachment(srv, vol, att)
                for vol, att in self.state.server_volumes(sid)]})

    def on_attachment(self, request, api, sid, vid):
        if request.method == 'DELETE':
            self.state.detach(sid, vid)
            return json_response(None, 202)
        with self.state.lock:
            srv = self.state.get_server(sid)
            for vol, att in self.state.server_volumes(sid):
                if vol['id'] == vid:
                    return json_response({'volumeAttachment':
                                          views.volume_attachment(
                                              srv, vol, att)})
        raise HTTPError(404, 'Instance %s is not attached to volume %s'
                        % (sid, vid))

    def on_flavors(self, request, api):
        base = self.base(request)
        return json_response({'flavors': [
            {'id': f, 'name': f, 'links': views.flavor(
                self.state, base, api, f)['links']}
            for f in self.state.flavors]})

    def on_flavors_detail(self, request, api):
        base = self.base(request)
        return json_response({'flavors': [
            views.flavor(self.state, base, api, f, request.microversion)
            for f in self.state.flavors]})

    def on_flavor(self, request, api, fid):
        if fid not in self.state.flavors:
            raise HTTPError(404, 'Flavor %s could not be found.' % fid)
        return json_response({'flavor': views.flavor(
            self.state, self.base(request), api, fid, request.microversion)})

    # -- native ECS -------------------------------------------------------

    def on_native_detach(self, request, sid, vid):
        flag = request.args.get('delete_flag', '0')
        if flag not in ('0', '1'):
            raise HTTPError(400, 'Invalid parameter: delete_flag must be 0 '
                            'or 1.', ecs_code='Ecs.0005')
        job_id = self.state.detach(sid, vid, native=True, force=flag == '1')
        return json_response({'job_id': job_id})

    def on_native_job(self, request, job_id):
        return json_response(self.state.job(job_id))

    # -- block storage ----------------------------------------------------

    def _volumes(self, request):
        args = request.args
        volumes = self.state.list_volumes()
        if args.get('name'):
            volumes = [v for v in volumes if v['name'] == args['name']]
        if args.get('status'):
            volumes = [v for v in volumes
                       if self.state.volume_status(v) == args['status']]
        if args.get('marker'):
            ids = [v['id'] for v in volumes]
            if args['marker'] not in ids:
                raise HTTPError(404, 'Marker %s could not be found.'
                                % args['marker'])
            volumes = volumes[ids.index(args['marker']) + 1:]
        if args.get('limit'):
            try:
                volumes = volumes[:int(args['limit'])]
            except ValueError:
                raise HTTPError(400, 'limit must be an integer')
        return volumes

    def on_volumes(self, request, api):
        base = self.base(request)
        return json_response({'volumes': [
            views.volume_summary(self.state, base, api, v)
            for v in self._volumes(request)]})

    def on_volumes_detail(self, request, api):
        base = self.base(request)
        with self.state.lock:
            return json_response({'volumes': [
                views.volume_detail(self.state, base, api, v)
                for v in self._volumes(request)]})

    def on_volume(self, request, api, vid):
        with self.state.lock:
            vol = self.state.get_volume(vid)
            return json_response({'volume': views.volume_detail(
                self.state, self.base(request), api, vol)})

    # -- images -----------------------------------------------------------

    def on_images(self, request):
        images = list(self.state.images)
        name, wanted = request.args.get('name'), request.args.get('id')
        if name:
            images = [i for i in images if i['name'] == name]
        if wanted:
            # glance's "in:" operator, used by "openstack server list"
            wanted = wanted[3:].split(',') if wanted.startswith('in:') \
                else [wanted]
            images = [i for i in images if i['id'] in wanted]
        return json_response({'images': [views.image(self.state, i)
                                         for i in images],
                              'first': '/v2/images',
                              'schema': '/v2/schemas/images'})

    def on_image(self, request, iid):
        return json_response(views.image(self.state, self.state.image(iid)))

    # -- control API ------------------------------------------------------

    def _control(self, request):
        adapter = URL_MAP.bind_to_environ(request.environ)
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

    def on_sim_requests(self, request):
        if request.method == 'DELETE':
            self.log.clear()
            return json_response(None, 204)
        return json_response(self.log.entries())

    def on_sim_faults(self, request):
        if request.method == 'DELETE':
            self.faults.clear()
            return json_response(None, 204)
        if request.method == 'POST':
            spec = self._control_body(request)
            unknown = set(spec) - set(faults_mod.FAULT_KEYS)
            if unknown:
                raise ValueError('unknown fault key(s): %s'
                                 % ', '.join(sorted(unknown)))
            return json_response(self.faults.add(**spec).to_dict(), 201)
        return json_response(self.faults.rules())

    def on_sim_state(self, request):
        return json_response(self.state.dump())

    def on_sim_tokens(self, request):
        if request.method == 'DELETE':
            self.state.revoke_tokens()
            return json_response(None, 204)
        spec = self._control_body(request)
        if 'ttl' not in spec:
            raise ValueError('expected {"ttl": seconds}')
        self.state.set_token_ttl(float(spec['ttl']))
        return json_response({'ttl': self.state.timings['token_seconds']})

    def on_sim_volume(self, request, ref):
        if request.method == 'POST':
            self.state.patch_volume(ref, **self._control_body(request))
        vol = self.state.find_volume(ref)
        with self.state.lock:
            return json_response(views.volume_detail(
                self.state, self.base(request), 'v3', vol))

    def on_sim_server(self, request, ref):
        if request.method == 'POST':
            self.state.patch_server(ref, **self._control_body(request))
        srv = self.state.find_server(ref)
        with self.state.lock:
            return json_response(views.server_detail(
                self.state, self.base(request), 'v2.1', srv,
                views.COMPUTE_MAX))

    def _control_body(self, request):
        try:
            data = json.loads(request.get_data(as_text=True) or '{}')
        except ValueError:
            raise ValueError('the body must be JSON')
        if not isinstance(data, dict):
            raise ValueError('the body must be a JSON object')
        return data
