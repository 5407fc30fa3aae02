"""Fakes for the unit tests of the command, the waits and the gathering.

``FakeProxy`` stands for an openstacksdk proxy (a keystoneauth adapter):
its ``request(url, method, raise_exc=False, **kwargs)`` answers from a
routing table that a test fills, and records every call.  ``FakeCloud``
fills the tables of five such proxies (compute, block storage, image,
OTC's native ECS API and EVS's native disk list) from servers, volumes,
images and jobs kept as the cloud would send them, so that a test
states the situation and then looks at the requests the code sent.
"""

import collections
import copy
import http.client
import itertools
import json
import re
import threading

from keystoneauth1 import discover
import requests

from otcclient_detach import model

PROJECT_ID = '5f3e9a1c2b7d4e8f9a0b1c2d3e4f5a6b'
COMPUTE_ENDPOINT = ('https://ecs.eu-de.otc.t-systems.com/v2.1/%s' %
                    PROJECT_ID)
ECS_ENDPOINT = 'https://ecs.eu-de.otc.t-systems.com/v1/%s' % PROJECT_ID
VOLUME_ENDPOINTS = {
    'v2': 'https://evs.eu-de.otc.t-systems.com/v2/%s' % PROJECT_ID,
    'v3': 'https://evs.eu-de.otc.t-systems.com/v3/%s' % PROJECT_ID,
}
IMAGE_ENDPOINT = 'https://ims.eu-de.otc.t-systems.com/v2'

LINUX_OS = 'CentOS 7.6 64bit'
WINDOWS_OS = 'Windows Server 2016 Standard 64bit'
UNLISTED_OS = 'Slackware 14.2 64bit'

#: One recorded request.  ``service`` is the proxy's service type.
Call = collections.namedtuple(
    'Call', 'service method url params json microversion raise_exc')

_ids = itertools.count(1)


def new_id(prefix):
    """A UUID-shaped ID whose first group tells what it is (readable)."""
    number = next(_ids)
    head = (prefix.encode().hex() + '00000000')[:8]
    return '%s-0000-4000-8000-%012d' % (head, number)


def response(status=200, body=None, text=None, url='', reason=None,
             headers=None):
    """A real :class:`requests.Response` with a JSON ``body`` or ``text``."""
    resp = requests.Response()
    resp.status_code = status
    resp.reason = (reason if reason is not None
                   else http.client.responses.get(status, ''))
    resp.url = url
    if body is not None:
        resp._content = json.dumps(body).encode('utf-8')
        resp.headers['Content-Type'] = 'application/json'
    elif text is not None:
        resp._content = text.encode('utf-8')
        resp.headers['Content-Type'] = 'text/html'
    else:
        resp._content = b''
    resp.encoding = 'utf-8'
    resp.headers.update(headers or {})
    return resp


def nova_error(status, message, kind=None, errno=None):
    """A nova-style error body: ``{"itemNotFound": {"code", "message"}}``."""
    kind = kind or {400: 'badRequest', 403: 'forbidden',
                    404: 'itemNotFound', 409: 'conflictingRequest'}.get(
                        status, 'computeFault')
    inner = {'code': status, 'message': message}
    if errno:
        inner['custom_errno'] = errno
    return {kind: inner}


def otc_error(code, message):
    """An OTC-style error body: ``{"error": {"code": "Ecs.0100", ...}}``."""
    return {'error': {'code': code, 'message': message}}


class FakeSession(object):
    """Stands for the CLI's keystoneauth session (only compared by id)."""


Route = collections.namedtuple('Route', 'method url params answer times')


class FakeProxy(object):
    """An SDK proxy answering relative URLs from a routing table.

    Newer routes win over older ones, so a test can override one answer
    of :class:`FakeCloud`.  A request no route answers gets a nova-style
    404 and is listed in :attr:`unrouted`.
    """

    def __init__(self, service_type, endpoint, log=None,
                 min_microversion=None, max_microversion=None):
        self.service_type = service_type
        self.endpoint = endpoint
        self.calls = []
        self.log = log if log is not None else []
        self.unrouted = []
        self._routes = []
        self._lock = threading.RLock()
        self.session = FakeSession()
        self.interface = 'public'
        self.region_name = 'eu-de'
        self.connect_retries = 2
        self.status_code_retries = 1
        self.retriable_status_codes = [503]
        self.default_microversion = None
        self.min_microversion = min_microversion
        self.max_microversion = max_microversion

    # -- what the code under test uses ------------------------------------

    def get_endpoint(self, **kwargs):
        return self.endpoint

    def get_endpoint_data(self, **kwargs):
        return discover.EndpointData(
            catalog_url=self.endpoint, service_url=self.endpoint,
            service_type=self.service_type, interface=self.interface,
            region_name=self.region_name,
            min_microversion=self.min_microversion,
            max_microversion=self.max_microversion)

    def request(self, url, method, raise_exc=True, **kwargs):
        call = Call(self.service_type, method.upper(), url,
                    kwargs.get('params'), kwargs.get('json'),
                    kwargs.get('microversion'), raise_exc)
        with self._lock:
            self.calls.append(call)
            self.log.append(call)
            route, groups = self._match(call)
            if route is None:
                self.unrouted.append(call)
                return response(404, nova_error(
                    404, 'No route for %s %s' % (call.method, url)),
                    url=self.endpoint + url)
            answer = route.answer
            if isinstance(answer, BaseException):
                raise answer
            if callable(answer):
                answer = answer(call, *groups)
        if isinstance(answer, requests.Response):
            if not answer.url:
                answer.url = self.endpoint + url
            return answer
        status, body = answer
        if isinstance(body, str):
            return response(status, text=body, url=self.endpoint + url)
        return response(status, body, url=self.endpoint + url)

    # -- for the tests ----------------------------------------------------

    def route(self, method, url, answer=None, status=200, body=None,
              params=None, times=None):
        """Answer ``method`` ``url`` (and ``params`` if given).

        ``url`` is a relative URL or a compiled regex matched in full; its
        groups are passed to a callable ``answer``.  ``answer`` is a
        ``requests.Response``, an exception to raise, a ``(status,
        body)`` pair, or a callable ``answer(call, *groups)`` returning
        one of those; without it ``status`` and ``body`` are sent.
        ``times`` limits how often the route answers.
        """
        if answer is None:
            answer = (status, body)
        with self._lock:
            self._routes.insert(0, Route(method.upper(), url, params,
                                         answer, [times]))

    def _match(self, call):
        for route in self._routes:
            if route.method != call.method:
                continue
            if isinstance(route.url, str):
                if route.url != call.url:
                    continue
                groups = ()
            else:
                found = route.url.fullmatch(call.url)
                if not found:
                    continue
                groups = found.groups()
            if route.params is not None and \
                    route.params != (call.params or {}):
                continue
            left = route.times[0]
            if left is not None:
                if left <= 0:
                    continue
                route.times[0] = left - 1
            return route, groups
        return None, ()

    def requests(self, method=None):
        """(method, url) of the calls, optionally of one method only."""
        return [(c.method, c.url) for c in self.calls
                if method is None or c.method == method.upper()]


class FakeConnection(object):
    """``self.app.client_manager.sdk_connection``."""

    def __init__(self, compute, block_storage, image):
        self.compute = compute
        self.block_storage = block_storage
        self.image = image


def server_body(server_id=None, name='web-1', status='ACTIVE',
                task_state=None, locked=False, root_device_name='/dev/vda',
                metadata=None, volumes=()):
    """A nova server as OTC sends it at microversion 2.60.

    ``volumes`` are (volume ID, device) pairs for
    ``os-extended-volumes:volumes_attached``.
    """
    body = {
        'id': server_id or new_id('srv'),
        'name': name,
        'status': status,
        'OS-EXT-STS:task_state': task_state,
        'OS-EXT-STS:vm_state': (status or '').lower(),
        'locked': locked,
        'OS-EXT-SRV-ATTR:root_device_name': root_device_name,
        'image': '',
        'metadata': dict(metadata or {}),
        'os-extended-volumes:volumes_attached': [
            {'id': vid, 'device': device, 'delete_on_termination': False}
            for vid, device in volumes],
    }
    return body


def volume_body(volume_id=None, name='data-1', status=None,
                attachments=(), metadata=None, os_version=None,
                os_type=None, image_id=None, multiattach=False,
                bootable=None):
    """A cinder (EVS) volume; ``attachments`` are (server ID, device).

    ``status`` defaults to in-use when attached, else available.
    """
    body = {
        'id': volume_id or new_id('vol'),
        'name': name,
        'status': 'available',
        'size': 10,
        'multiattach': multiattach,
        'metadata': dict(metadata or {}),
        'attachments': [],
    }
    for server_id, device in attachments:
        add_attachment(body, server_id, device)
    if status:
        body['status'] = status
    image_meta = {}
    if os_version:
        image_meta['__os_version'] = os_version
    if os_type:
        image_meta['__os_type'] = os_type
    if image_id:
        image_meta['image_id'] = image_id
    if image_meta:
        body['volume_image_metadata'] = image_meta
    if bootable is None:
        bootable = bool(image_meta)
    body['bootable'] = 'true' if bootable else 'false'
    return body


def add_attachment(volume, server_id, device):
    volume['attachments'].append({
        'server_id': server_id, 'device': device,
        'attachment_id': new_id('att'), 'volume_id': volume['id'],
        'id': volume['id']})
    volume['status'] = 'in-use'


def model_volume(volume_id, status='in-use', attached_to=(), name=None):
    """A :class:`model.Volume` as ``Gatherer.volume_by_id`` returns it."""
    return model.Volume(
        id=volume_id, name=name, status=status,
        attachments=[model.Attachment(server_id=sid, device='/dev/vdb')
                     for sid in attached_to])


class FakeClock(object):
    """``clock`` and ``sleep`` for :class:`otcclient_detach.wait.Poller`."""

    def __init__(self, now=1000.0):
        self.now = now
        self.sleeps = []
        #: Called after each sleep (e.g. to raise KeyboardInterrupt).
        self.on_sleep = None

    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0, seconds
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(len(self.sleeps))


class FakeCloud(object):
    """An OTC project behind four fake proxies, answering as OTC does.

    Nova's ``name`` filter is a regular expression (``re.search``) while
    cinder's is exact; a DELETE of an attachment detaches at once (tests
    override the route for slower or failing detaches); ``os-stop`` and
    ``os-start`` change the status at once; a native ECS job reports the
    statuses of :attr:`job_statuses` one per GET and detaches on SUCCESS.
    """

    def __init__(self, volume_api='v2', max_microversion='2.60'):
        self.log = []
        self.compute = FakeProxy('compute', COMPUTE_ENDPOINT, self.log,
                                 min_microversion='2.1',
                                 max_microversion=max_microversion)
        self.block_storage = FakeProxy('block-storage',
                                       VOLUME_ENDPOINTS[volume_api],
                                       self.log)
        self.image = FakeProxy('image', IMAGE_ENDPOINT, self.log)
        self.ecs = FakeProxy('ecs', ECS_ENDPOINT, self.log)
        #: EVS's native /v2 API (facts.evs_native_endpoint).
        self.evs = FakeProxy('evs', VOLUME_ENDPOINTS['v2'], self.log)
        self.connection = FakeConnection(self.compute, self.block_storage,
                                         self.image)
        self.servers = collections.OrderedDict()
        self.volumes = collections.OrderedDict()
        self.images = {}
        self.jobs = {}
        self.job_statuses = ('RUNNING', 'SUCCESS')
        #: (source, volume ID) -> the device that source names for the
        #: volume's attachment, where it disagrees with the others;
        #: sources: 'volume' (block storage API), 'evs' (EVS's disk
        #: list), 'nova' (nova's attachment list).
        self.told_devices = {}
        self._install_routes()

    # -- the situation ----------------------------------------------------

    def add_server(self, name='web-1', **kwargs):
        body = server_body(name=name, **kwargs)
        self.servers[body['id']] = body
        return body

    def add_volume(self, name='data-1', server=None, device=None,
                   **kwargs):
        body = volume_body(name=name, **kwargs)
        self.volumes[body['id']] = body
        if server is not None:
            self.attach(server, body, device)
        return body

    def add_image(self, image_id=None, os_version=LINUX_OS,
                  os_type='Linux'):
        image_id = image_id or new_id('img')
        self.images[image_id] = {
            'id': image_id, 'name': 'image-%s' % image_id[:8],
            '__os_version': os_version, '__os_type': os_type,
            '__platform': (os_version or '').split(' ')[0],
            '__os_bit': '64', 'virtual_env_type': 'FusionCompute'}
        return self.images[image_id]

    def attach(self, server, volume, device):
        server['os-extended-volumes:volumes_attached'].append(
            {'id': volume['id'], 'device': device,
             'delete_on_termination': False})
        add_attachment(volume, server['id'], device)

    def detach(self, server_id, volume_id):
        server = self.servers[server_id]
        volume = self.volumes[volume_id]
        server['os-extended-volumes:volumes_attached'] = [
            a for a in server['os-extended-volumes:volumes_attached']
            if a['id'] != volume_id]
        volume['attachments'] = [a for a in volume['attachments']
                                 if a['server_id'] != server_id]
        if not volume['attachments']:
            volume['status'] = 'available'

    def is_attached(self, server_id, volume_id):
        return any(a['id'] == volume_id for a in self.servers[server_id][
            'os-extended-volumes:volumes_attached'])

    def linux_server(self, name='web-1', status='ACTIVE',
                     os_version=LINUX_OS, os_type='Linux', **kwargs):
        """A server with a system disk (/dev/vda) telling its OS."""
        server = self.add_server(name=name, status=status,
                                 metadata={'os_type': os_type or ''},
                                 **kwargs)
        self.add_volume('%s-sys' % name, server, '/dev/vda',
                        os_version=os_version, os_type=os_type)
        return server

    def system_volume(self, server):
        for entry in server['os-extended-volumes:volumes_attached']:
            if entry['device'] == server[
                    'OS-EXT-SRV-ATTR:root_device_name']:
                return self.volumes[entry['id']]
        return None

    def tell_device(self, source, volume_id, device):
        """Make one source name ``device`` for the volume's attachment."""
        self.told_devices[(source, volume_id)] = device

    def _as_told(self, source, volume):
        """A copy of the volume body as ``source`` shows it."""
        body = copy.deepcopy(volume)
        key = (source, body['id'])
        if key in self.told_devices:
            for attachment in body['attachments']:
                attachment['device'] = self.told_devices[key]
        return body

    # -- what was sent ----------------------------------------------------

    def sent(self):
        """(service, method, url, params) of every request, in order."""
        return [(c.service, c.method, c.url, c.params) for c in self.log]

    def deletes(self):
        return [(c.service, c.url) for c in self.log if c.method == 'DELETE']

    def unrouted(self):
        return (self.compute.unrouted + self.block_storage.unrouted +
                self.image.unrouted + self.ecs.unrouted +
                self.evs.unrouted)

    # -- the answers ------------------------------------------------------

    def _install_routes(self):
        c, b, i, e = self.compute, self.block_storage, self.image, self.ecs
        c.route('GET', re.compile(r'/servers/([^/]+)'), self._get_server)
        c.route('GET', '/servers/detail', self._list_servers)
        c.route('GET', re.compile(r'/servers/([^/]+)/os-volume_attachments'),
                self._list_attachments)
        c.route('DELETE', re.compile(
            r'/servers/([^/]+)/os-volume_attachments/([^/]+)'),
            self._delete_attachment)
        c.route('POST', re.compile(r'/servers/([^/]+)/action'),
                self._server_action)
        b.route('GET', re.compile(r'/volumes/([^/]+)'), self._get_volume)
        b.route('GET', '/volumes/detail', self._list_volumes)
        i.route('GET', re.compile(r'/images/([^/]+)'), self._get_image)
        e.route('DELETE', re.compile(
            r'/cloudservers/([^/]+)/detachvolume/([^/]+)'),
            self._native_detach)
        e.route('GET', re.compile(r'/jobs/([^/]+)'), self._get_job)
        self.evs.route('GET', '/cloudvolumes/detail', self._list_disks)

    def _get_server(self, call, server_id):
        if server_id not in self.servers:
            return 404, nova_error(
                404, 'Instance %s could not be found.' % server_id)
        return 200, {'server': copy.deepcopy(self.servers[server_id])}

    def _list_servers(self, call):
        name = (call.params or {}).get('name')
        found = [copy.deepcopy(s) for s in self.servers.values()
                 if name is None or re.search(name, s['name'] or '')]
        return 200, {'servers': found}

    def _list_attachments(self, call, server_id):
        if server_id not in self.servers:
            return 404, nova_error(
                404, 'Instance %s could not be found.' % server_id)
        return 200, {'volumeAttachments': [
            {'id': a['id'], 'volumeId': a['id'], 'serverId': server_id,
             'device': self._device(server_id, a['id'])}
            for a in self.servers[server_id][
                'os-extended-volumes:volumes_attached']]}

    def _device(self, server_id, volume_id):
        # Nova keeps the device in its block device mapping; the volume's
        # attachment says the same (unless a test makes them disagree).
        if ('nova', volume_id) in self.told_devices:
            return self.told_devices[('nova', volume_id)]
        for a in self.volumes[volume_id]['attachments']:
            if a['server_id'] == server_id:
                return a['device']
        return None

    def _delete_attachment(self, call, server_id, volume_id):
        if server_id not in self.servers:
            return 404, nova_error(
                404, 'Instance %s could not be found.' % server_id)
        if not self.is_attached(server_id, volume_id):
            return 404, nova_error(
                404, 'volume_id not found: %s' % volume_id)
        self.detach(server_id, volume_id)
        return 202, ''

    def _server_action(self, call, server_id):
        server = self.servers[server_id]
        if 'os-stop' in (call.json or {}):
            server['status'] = 'SHUTOFF'
        elif 'os-start' in (call.json or {}):
            server['status'] = 'ACTIVE'
        return 202, ''

    def _get_volume(self, call, volume_id):
        if volume_id not in self.volumes:
            return 404, nova_error(
                404, 'Volume %s could not be found.' % volume_id)
        return 200, {'volume': self._as_told('volume',
                                             self.volumes[volume_id])}

    def _list_volumes(self, call):
        name = (call.params or {}).get('name')
        return 200, {'volumes': [self._as_told('volume', v)
                                 for v in self.volumes.values()
                                 if name is None or v['name'] == name]}

    def _list_disks(self, call):
        """EVS's native disk list; ``server_id`` filters, one page."""
        server_id = (call.params or {}).get('server_id')
        found = [self._as_told('evs', v) for v in self.volumes.values()
                 if server_id is None or
                 any(a['server_id'] == server_id for a in v['attachments'])]
        return 200, {'volumes': found, 'count': len(found)}

    def _get_image(self, call, image_id):
        if image_id not in self.images:
            return 404, nova_error(404, 'Image %s not found' % image_id)
        return 200, copy.deepcopy(self.images[image_id])

    def _native_detach(self, call, server_id, volume_id):
        if server_id not in self.servers:
            return 404, otc_error('Ecs.0114', 'The ECS does not exist.')
        if not self.is_attached(server_id, volume_id):
            return 400, otc_error('Ecs.0111', 'The disk is not attached.')
        job_id = new_id('job')
        self.jobs[job_id] = {'server_id': server_id,
                             'volume_id': volume_id,
                             'statuses': list(self.job_statuses)}
        return 200, {'job_id': job_id}

    def _get_job(self, call, job_id):
        job = self.jobs.get(job_id)
        if job is None:
            return 404, otc_error('Ecs.0614', 'No such job.')
        statuses = job['statuses']
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        body = {'job_id': job_id, 'job_type': 'detachVolume',
                'status': status, 'entities': {
                    'server_id': job['server_id'],
                    'volume_id': job['volume_id']}}
        server_id, volume_id = job['server_id'], job['volume_id']
        if status == 'SUCCESS' and self.is_attached(server_id, volume_id):
            self.detach(server_id, volume_id)
        if status == 'FAIL':
            body['fail_reason'] = job.get('fail_reason', 'disk busy')
            body['error_code'] = job.get('error_code', 'Ecs.0102')
        return 200, body
