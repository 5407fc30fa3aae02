"""Tests of the simulator's WSGI application through werkzeug's Client.

A fake clock drives every timed transition, so nothing here sleeps.
"""

import time

import fixtures
import testtools
from werkzeug.test import Client

from otcclient_detach.simulator import app as app_mod
from otcclient_detach.simulator import ids
from otcclient_detach.simulator import state as state_mod


PORTS = {'identity': 5000, 'compute': 8774, 'volume': 8776, 'image': 9292,
         'kms': 9311}


class FakeClock:
    def __init__(self, now=1700000000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


class AdminClient(Client):
    """werkzeug's Client, sending the admin token to the control API."""

    def __init__(self, application, admin_token):
        super().__init__(application)
        self.admin_token = admin_token

    def open(self, *args, **kwargs):
        headers = dict(kwargs.pop('headers', None) or {})
        headers.setdefault(app_mod.ADMIN_TOKEN_HEADER, self.admin_token)
        return super().open(*args, headers=headers, **kwargs)


class SimAppTestCase(testtools.TestCase):
    compute_version = None

    def setUp(self):
        super().setUp()
        self.clock = FakeClock()
        self.state = state_mod.State(None, clock=self.clock,
                                     compute_version=self.compute_version)
        self.app = app_mod.SimApp(self.state, ports=PORTS)
        # One client per service port, as OTC has one host per service;
        # each sends the admin token to the control API.
        self.clients = {name: AdminClient(self.app.service_app(name),
                                          self.app.admin_token)
                        for name in app_mod.SERVICE_NAMES}
        self.client = self.clients['identity']
        self.pid = self.state.project['id']
        self.token = self.login().headers['X-Subject-Token']

    # -- helpers ------------------------------------------------------------

    def login(self, password='otc-sim-password', scope=True, **user):
        user = user or {'name': 'otc-user',
                        'domain': {'name': 'OTC00000000001000000501'}}
        user['password'] = password
        body = {'auth': {'identity': {'methods': ['password'],
                                      'password': {'user': user}}}}
        if scope:
            body['auth']['scope'] = {'project': {
                'name': 'eu-de_otc-sim',
                'domain': {'name': 'OTC00000000001000000501'}}}
        return self.client.post('/v3/auth/tokens', json=body)

    def call(self, method, path, mv=None, token=True, service='compute',
             **kwargs):
        headers = kwargs.pop('headers', {})
        if token:
            headers['X-Auth-Token'] = self.token
        if mv:
            headers['OpenStack-API-Version'] = 'compute %s' % mv
        return self.clients[service].open(path, method=method,
                                          headers=headers, **kwargs)

    def compute(self, method, path, mv=None, **kwargs):
        return self.call(method, '/v2.1/%s%s' % (self.pid, path), mv,
                         **kwargs)

    def evs(self, path, api='v2'):
        return self.call('GET', '/%s/%s%s' % (api, self.pid, path),
                         service='volume')

    def native(self, method, path, **kwargs):
        return self.call(method, '/v1/%s%s' % (self.pid, path), **kwargs)

    def sid(self, name):
        return ids.sim_id('server', name)

    def vid(self, name, occurrence=1):
        return ids.sim_id('volume', name, occurrence)

    def detach(self, server, volume):
        return self.compute('DELETE', '/servers/%s/os-volume_attachments/%s'
                            % (self.sid(server), self.vid(volume)))

    def volume(self, name):
        return self.evs('/volumes/%s' % self.vid(name)).json['volume']

    def server(self, name, mv='2.60'):
        return self.compute('GET', '/servers/%s' % self.sid(name),
                            mv).json['server']

    def attached(self, server):
        resp = self.compute('GET', '/servers/%s/os-volume_attachments'
                            % self.sid(server))
        self.assertEqual(200, resp.status_code)
        return {a['volumeId']: a['device']
                for a in resp.json['volumeAttachments']}


class TestIdentity(SimAppTestCase):

    def test_password_token(self):
        resp = self.login()
        self.assertEqual(201, resp.status_code)
        self.assertTrue(resp.headers['X-Subject-Token'])
        token = resp.json['token']
        self.assertEqual(['password'], token['methods'])
        self.assertEqual(self.pid, token['project']['id'])
        self.assertEqual('eu-de_otc-sim', token['project']['name'])
        self.assertEqual('otc-user', token['user']['name'])
        self.assertTrue(token['roles'])
        self.assertEqual(state_mod.isotime(self.clock.now + 86400, True),
                         token['expires_at'])

    def test_catalog(self):
        token = self.login().json['token']
        urls = {e['type']: e['endpoints'][0]['url']
                for e in token['catalog']}
        self.assertEqual({
            'identity': 'http://localhost:5000/v3',
            'compute': 'http://localhost:8774/v2.1/%s' % self.pid,
            'ecs': 'http://localhost:8774/v1/%s' % self.pid,
            'volumev2': 'http://localhost:8776/v2/%s' % self.pid,
            'volumev3': 'http://localhost:8776/v3/%s' % self.pid,
            'block-storage': 'http://localhost:8776/v3/%s' % self.pid,
            'image': 'http://localhost:9292/v2',
            'kms': 'http://localhost:%d/v1.0' % PORTS['kms']}, urls)
        for entry in token['catalog']:
            self.assertEqual('public', entry['endpoints'][0]['interface'])
            self.assertEqual('eu-de', entry['endpoints'][0]['region'])

    def test_user_id_and_project_id(self):
        user_id = self.state.users[0]['id']
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {
                'user': {'id': user_id, 'password': 'otc-sim-password'}}},
            'scope': {'project': {'id': self.pid}}}}
        resp = self.client.post('/v3/auth/tokens', json=body)
        self.assertEqual(201, resp.status_code)

    def test_wrong_password(self):
        resp = self.login(password='nope')
        self.assertEqual(401, resp.status_code)
        self.assertEqual(401, resp.json['error']['code'])
        self.assertEqual('Unauthorized', resp.json['error']['title'])
        self.assertNotIn(b'nope', resp.data)

    def test_unknown_project(self):
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {
                'user': {'id': self.state.users[0]['id'],
                         'password': 'otc-sim-password'}}},
            'scope': {'project': {'name': 'other', 'domain': {
                'name': 'OTC00000000001000000501'}}}}}
        resp = self.client.post('/v3/auth/tokens', json=body)
        self.assertEqual(401, resp.status_code)

    def test_application_credential(self):
        cred = self.state.users[0]['app_credentials'][0]
        body = {'auth': {'identity': {
            'methods': ['application_credential'],
            'application_credential': {'id': cred['id'],
                                       'secret': cred['secret']}}}}
        resp = self.client.post('/v3/auth/tokens', json=body)
        self.assertEqual(201, resp.status_code)
        token = resp.json['token']
        self.assertEqual(['application_credential'], token['methods'])
        self.assertEqual(cred['id'], token['application_credential']['id'])
        self.assertNotIn(cred['secret'].encode(), resp.data)
        self.assertTrue(token['catalog'])
        body['auth']['identity']['application_credential']['secret'] = 'x'
        resp = self.client.post('/v3/auth/tokens', json=body)
        self.assertEqual(401, resp.status_code)

    def test_validate_token(self):
        resp = self.call('GET', '/v3/auth/tokens', service='identity',
                         headers={'X-Subject-Token': self.token})
        self.assertEqual(200, resp.status_code)
        self.assertEqual(self.token, resp.headers['X-Subject-Token'])
        resp = self.call('GET', '/v3/auth/tokens', service='identity',
                         headers={'X-Subject-Token': 'bogus'})
        self.assertEqual(404, resp.status_code)
        other = self.login().headers['X-Subject-Token']
        resp = self.call('DELETE', '/v3/auth/tokens', service='identity',
                         headers={'X-Subject-Token': other})
        self.assertEqual(204, resp.status_code)
        self.assertIsNone(self.state.check_token(other))

    def test_missing_token(self):
        resp = self.compute('GET', '/servers', token=False)
        self.assertEqual(401, resp.status_code)
        self.assertIn('Keystone uri=', resp.headers['WWW-Authenticate'])
        self.assertEqual(401, resp.json['error']['code'])

    def test_token_expiry(self):
        self.state.set_token_ttl(5)
        resp = self.login()
        token = resp.json['token']
        self.assertEqual(state_mod.isotime(self.clock.now + 5, True),
                         token['expires_at'])
        self.token = resp.headers['X-Subject-Token']
        self.assertEqual(200, self.compute('GET', '/servers').status_code)
        self.clock.advance(5)
        self.assertEqual(401, self.compute('GET', '/servers').status_code)

    def test_revoke_over_http(self):
        resp = self.client.delete('/_sim/tokens')
        self.assertEqual(204, resp.status_code)
        self.assertEqual(401, self.compute('GET', '/servers').status_code)
        resp = self.client.post('/_sim/tokens', json={'ttl': 30})
        self.assertEqual(30, resp.json['ttl'])


class TestDiscovery(SimAppTestCase):

    def test_compute_versions(self):
        compute = self.clients['compute']
        for path in ('/', ''):
            versions = compute.get(path).json['versions']
            by_id = {v['id']: v for v in versions}
            self.assertEqual('SUPPORTED', by_id['v2.0']['status'])
            self.assertEqual('CURRENT', by_id['v2.1']['status'])
            self.assertEqual('2.1', by_id['v2.1']['min_version'])
            self.assertEqual('2.60', by_id['v2.1']['version'])
        for path, vid in (('/v2.1/', 'v2.1'), ('/v2.1', 'v2.1'),
                          ('/v2/', 'v2.0')):
            resp = compute.get(path)
            self.assertEqual(200, resp.status_code, path)
            self.assertEqual(vid, resp.json['version']['id'])
        self.assertEqual('v1', compute.get('/v1/').json['version']['id'])

    def test_volume_image_identity_versions(self):
        evs = self.clients['volume']
        ids_ = [v['id'] for v in evs.get('/').json['versions']]
        self.assertEqual(['v2.0', 'v3.0'], ids_)
        v3 = evs.get('/v3/').json['versions'][0]
        self.assertEqual(('3.0', '3.0'), (v3['min_version'], v3['version']))
        self.assertEqual(['v2.0'], [v['id'] for v in evs.get(
            '/v2').json['versions']])
        self.assertEqual('application/vnd.openstack.volume+json;version=3',
                         v3['media-types'][0]['type'])
        for path in ('/', '/v2/'):
            images = self.clients['image'].get(path).json['versions']
            self.assertTrue(all(v['id'].startswith('v2.') for v in images))
        self.assertEqual('v3.6', self.client.get(
            '/v3').json['version']['id'])
        self.assertIn('values', self.client.get('/').json['versions'])

    def test_unknown_path(self):
        resp = self.call('GET', '/v2.1/%s/nothing' % self.pid, mv='2.26')
        self.assertEqual(404, resp.status_code)
        self.assertEqual(404, resp.json['itemNotFound']['code'])
        self.assertEqual('compute 2.26',
                         resp.headers['OpenStack-API-Version'])
        self.assertEqual('2.26', resp.headers['X-OpenStack-Nova-API-Version'])

    def test_tags(self):
        sid = self.sid('web-linux')
        path = '/servers/%s/tags' % sid
        self.assertEqual(404, self.compute('GET', path, '2.25').status_code)
        self.assertEqual([], self.compute('GET', path, '2.26').json['tags'])
        self.assertEqual(201, self.compute('PUT', path + '/blue',
                                           '2.26').status_code)
        self.assertEqual(204, self.compute('PUT', path + '/blue',
                                           '2.26').status_code)
        self.assertEqual(204, self.compute('GET', path + '/blue',
                                           '2.26').status_code)
        self.assertEqual(404, self.compute('GET', path + '/red',
                                           '2.26').status_code)
        self.assertEqual(['red', 'green'], self.compute(
            'PUT', path, '2.26', json={'tags': ['red', 'green']}).json['tags'])
        self.assertEqual(400, self.compute(
            'PUT', path, '2.26', json={'tags': ['a,b']}).status_code)
        self.assertEqual(204, self.compute('DELETE', path + '/red',
                                           '2.26').status_code)
        self.assertEqual(['green'], self.server('web-linux')['tags'])
        self.assertEqual(204, self.compute('DELETE', path,
                                           '2.26').status_code)
        self.assertEqual([], self.server('web-linux')['tags'])
        action = '/cloudservers/%s/tags/action' % sid
        self.assertEqual(204, self.native('POST', action, json={
            'action': 'create', 'tags': [{'key': 'env', 'value': 'prod'}]
        }).status_code)
        self.assertEqual(['env=prod'], self.server('web-linux')['tags'])
        self.assertEqual([{'key': 'env', 'value': 'prod'}], self.native(
            'GET', '/cloudservers/%s/tags' % sid).json['tags'])
        resp = self.native('POST', action, json={'action': 'drop'})
        self.assertEqual('Ecs.0005', resp.json['error']['code'])

    def test_wrong_project_in_url(self):
        resp = self.call('GET', '/v2.1/%s/servers' % ('0' * 32))
        self.assertEqual(400, resp.status_code)
        self.assertIn('badRequest', resp.json)


class TestMicroversions(SimAppTestCase):

    def test_default_is_2_1(self):
        resp = self.compute('GET', '/servers/%s' % self.sid('web-linux'))
        self.assertEqual('compute 2.1', resp.headers['OpenStack-API-Version'])
        self.assertEqual('2.1', resp.headers['X-OpenStack-Nova-API-Version'])
        server = resp.json['server']
        self.assertNotIn('OS-EXT-SRV-ATTR:root_device_name', server)
        self.assertNotIn('locked', server)
        for key in ('status', 'OS-EXT-STS:task_state', 'OS-EXT-STS:vm_state',
                    'OS-EXT-STS:power_state', 'metadata', 'flavor',
                    'addresses', 'tenant_id', 'created', 'updated', 'links',
                    'os-extended-volumes:volumes_attached'):
            self.assertIn(key, server)
        self.assertEqual('', server['image'])

    def test_2_3_and_2_9(self):
        server = self.server('web-linux', '2.3')
        self.assertEqual('/dev/vda',
                         server['OS-EXT-SRV-ATTR:root_device_name'])
        self.assertNotIn('locked', server)
        server = self.server('web-linux', '2.9')
        self.assertIs(False, server['locked'])

    def test_nova_header_and_latest(self):
        resp = self.compute('GET', '/servers/%s' % self.sid('win-app'),
                            headers={'X-OpenStack-Nova-API-Version': '2.9'})
        self.assertEqual('2.9', resp.headers['X-OpenStack-Nova-API-Version'])
        self.assertEqual('/dev/sda', resp.json['server'][
            'OS-EXT-SRV-ATTR:root_device_name'])
        resp = self.compute('GET', '/servers', 'latest')
        self.assertEqual('compute 2.60', resp.headers['OpenStack-API-Version'])

    def test_unsupported_versions(self):
        self.assertEqual(406, self.compute('GET', '/servers',
                                           '2.61').status_code)
        self.assertEqual(406, self.compute('GET', '/servers',
                                           '2.0').status_code)
        self.assertEqual(400, self.compute('GET', '/servers',
                                           'two').status_code)

    def test_embedded_flavor(self):
        self.assertEqual({'id', 'links'}, set(
            self.server('web-linux', '2.46')['flavor']))
        flavor = self.server('web-linux', '2.47')['flavor']
        self.assertEqual('s3.large.2', flavor['original_name'])
        self.assertEqual((2, 4096), (flavor['vcpus'], flavor['ram']))


class TestLegacyV2(SimAppTestCase):
    compute_version = 'v2'

    def test_catalog_and_fields(self):
        token = self.login().json['token']
        compute = [e for e in token['catalog'] if e['type'] == 'compute'][0]
        self.assertTrue(compute['endpoints'][0]['url'].endswith(
            ':8774/v2/' + self.pid))
        resp = self.call('GET', '/v2/%s/servers/%s' % (
            self.pid, self.sid('web-linux')), mv='2.60')
        self.assertEqual(200, resp.status_code)
        self.assertNotIn('OpenStack-API-Version', resp.headers)
        self.assertNotIn('OS-EXT-SRV-ATTR:root_device_name',
                         resp.json['server'])


class TestServers(SimAppTestCase):

    def names(self, resp):
        return [s['name'] for s in resp.json['servers']]

    def test_list_filters(self):
        self.assertEqual(8, len(self.compute('GET', '/servers').json[
            'servers']))
        self.assertEqual(['web-linux'], self.names(self.compute(
            'GET', '/servers?name=web')))
        self.assertEqual(['cluster-a', 'cluster-b'], self.names(self.compute(
            'GET', '/servers/detail?name=^cluster-')))
        self.assertEqual(['db-stopped'], self.names(self.compute(
            'GET', '/servers/detail?status=SHUTOFF')))
        self.assertEqual(['win-app'], self.names(self.compute(
            'GET', '/servers/detail?limit=1&marker=%s'
            % self.sid('web-linux'))))

    def test_detail_fields(self):
        server = self.server('web-linux')
        attached = server['os-extended-volumes:volumes_attached']
        # OTC's nova API: id (+ delete_on_termination from 2.3) only
        self.assertEqual([{'id', 'delete_on_termination'}] * 7,
                         [set(a) for a in attached])
        self.assertEqual([{'id'}] * 7, [set(a) for a in self.server(
            'web-linux', '2.1')['os-extended-volumes:volumes_attached']])
        # the native API has the devices, bootIndex "0" the system disk
        native = self.native('GET', '/cloudservers/%s' % self.sid(
            'web-linux')).json['server']
        attached = native['os-extended-volumes:volumes_attached']
        root = [a for a in attached if a['device'] == '/dev/vda'][0]
        self.assertEqual(self.vid('web-linux-sys'), root['id'])
        self.assertEqual('0', root['bootIndex'])
        self.assertEqual({'id', 'delete_on_termination', 'device',
                          'bootIndex'}, set(root))
        listed = self.native('GET', '/cloudservers/detail').json
        self.assertEqual(len(listed['servers']), listed['count'])
        # the list shows a subset of what the single server shows
        one = [s for s in listed['servers'] if s['id'] == native['id']][0]
        self.assertLess(set(one), set(native))
        self.assertEqual({k: native[k] for k in one if k not in (
            'flavor', 'addresses')}, {k: one[k] for k in one if k not in (
                'flavor', 'addresses')})
        meta = server['metadata']
        self.assertEqual('Linux', meta['os_type'])
        self.assertEqual('64', meta['os_bit'])
        self.assertEqual(ids.sim_id('image', 'Standard_CentOS_7.6_latest'),
                         meta['metering.image_id'])
        self.assertEqual('Standard_CentOS_7.6_latest', meta['image_name'])
        self.assertEqual(('ACTIVE', 'active', 1, None), (
            server['status'], server['OS-EXT-STS:vm_state'],
            server['OS-EXT-STS:power_state'],
            server['OS-EXT-STS:task_state']))
        busy = self.server('busy-stopping')
        self.assertEqual('powering-off', busy['OS-EXT-STS:task_state'])
        self.assertEqual(4, self.server('db-stopped')[
            'OS-EXT-STS:power_state'])

    def test_unknown_server(self):
        resp = self.compute('GET', '/servers/nope')
        self.assertEqual(404, resp.status_code)
        self.assertEqual(404, resp.json['itemNotFound']['code'])

    def test_flavors(self):
        flavors = self.compute('GET', '/flavors/detail').json['flavors']
        self.assertIn('s3.large.2', [f['id'] for f in flavors])
        resp = self.compute('GET', '/flavors/s3.xlarge.2')
        self.assertEqual(4, resp.json['flavor']['vcpus'])

    def test_stop_and_start(self):
        sid = self.sid('web-linux')
        resp = self.compute('POST', '/servers/%s/action' % sid,
                            json={'os-stop': None})
        self.assertEqual(202, resp.status_code)
        self.assertEqual('powering-off',
                         self.server('web-linux')['OS-EXT-STS:task_state'])
        self.clock.advance(1.0)
        server = self.server('web-linux')
        self.assertEqual(('SHUTOFF', 'stopped', None), (
            server['status'], server['OS-EXT-STS:vm_state'],
            server['OS-EXT-STS:task_state']))
        resp = self.compute('POST', '/servers/%s/action' % sid,
                            json={'os-stop': None})
        self.assertEqual(409, resp.status_code)
        self.assertIn('vm_state stopped',
                      resp.json['conflictingRequest']['message'])
        resp = self.compute('POST', '/servers/%s/action' % sid,
                            json={'os-start': None})
        self.assertEqual(202, resp.status_code)
        self.assertEqual('powering-on',
                         self.server('web-linux')['OS-EXT-STS:task_state'])
        self.clock.advance(1.0)
        self.assertEqual('ACTIVE', self.server('web-linux')['status'])
        resp = self.compute('POST', '/servers/%s/action' % sid,
                            json={'reboot': {}})
        self.assertEqual(400, resp.status_code)

    def test_lock_and_unlock(self):
        sid = self.sid('web-linux')
        for action, locked in (('lock', True), ('unlock', False)):
            resp = self.compute('POST', '/servers/%s/action' % sid,
                                json={action: None})
            self.assertEqual(202, resp.status_code)
            self.assertIs(locked, self.server('web-linux')['locked'])

    def test_busy_server_stays_busy(self):
        self.clock.advance(60)
        server = self.server('busy-stopping')
        self.assertEqual(('ACTIVE', 'powering-off'), (
            server['status'], server['OS-EXT-STS:task_state']))


class TestVolumesAndImages(SimAppTestCase):

    def test_list_filters(self):
        vols = self.evs('/volumes/detail?name=dup-disk').json['volumes']
        self.assertEqual({self.vid('dup-disk'), self.vid('dup-disk', 2)},
                         {v['id'] for v in vols})
        vols = self.evs('/volumes?status=available').json['volumes']
        self.assertEqual(['spare-disk'], [v['name'] for v in vols])
        self.assertEqual(22, len(self.evs('/volumes', 'v3').json['volumes']))
        self.assertEqual([], self.evs('/volumes?name=dup').json['volumes'])

    def test_fields(self):
        vol = self.volume('web-linux-sys')
        self.assertEqual(('in-use', 'true', False), (
            vol['status'], vol['bootable'], vol['multiattach']))
        self.assertEqual('CentOS 7.6 64bit',
                         vol['volume_image_metadata']['__os_version'])
        self.assertEqual('Linux', vol['volume_image_metadata']['__os_type'])
        att = vol['attachments'][0]
        self.assertEqual((self.sid('web-linux'), '/dev/vda',
                          self.vid('web-linux-sys')),
                         (att['server_id'], att['device'], att['volume_id']))
        for key in ('attachment_id', 'id', 'host_name', 'attached_at'):
            self.assertIn(key, att)
        for key in ('size', 'metadata', 'volume_type', 'availability_zone',
                    'os-vol-tenant-attr:tenant_id', 'created_at',
                    'description'):
            self.assertIn(key, vol)
        self.assertEqual({}, self.volume('legacy-sys')[
            'volume_image_metadata'])
        self.assertEqual('true',
                         self.volume('win-scsi')['metadata']['hw:passthrough'])
        self.assertNotIn('hw:passthrough',
                         self.volume('win-vbd')['metadata'])
        self.assertEqual('Windows Server 2016 Standard 64bit',
                         self.volume('win-app-sys')[
                             'volume_image_metadata']['__os_version'])
        shared = self.volume('shared-disk')
        self.assertIs(True, shared['multiattach'])
        self.assertEqual(2, len(shared['attachments']))
        v3 = self.evs('/volumes/%s' % self.vid('spare-disk'), 'v3')
        self.assertEqual('available', v3.json['volume']['status'])

    def test_volume_microversion(self):
        path = '/v3/%s/volumes' % self.pid
        resp = self.call('GET', path, service='volume')
        self.assertEqual('volume 3.0', resp.headers['OpenStack-API-Version'])
        resp = self.call('GET', path, service='volume',
                         headers={'OpenStack-API-Version': 'volume 3.27'})
        self.assertEqual(406, resp.status_code)
        resp = self.call('GET', '/v2/%s/volumes' % self.pid, service='volume',
                         headers={'OpenStack-API-Version': 'volume 3.27'})
        self.assertEqual(200, resp.status_code)
        self.assertNotIn('OpenStack-API-Version', resp.headers)

    def test_unknown_volume(self):
        resp = self.evs('/volumes/nope')
        self.assertEqual(404, resp.status_code)
        self.assertIn('itemNotFound', resp.json)

    def test_images(self):
        resp = self.call('GET', '/v2/images?name=slackware-14.2',
                         service='image')
        images = resp.json['images']
        self.assertEqual(1, len(images))
        image = images[0]
        self.assertEqual('Slackware 14.2 64bit', image['__os_version'])
        for key in ('__os_type', '__platform', '__os_bit',
                    'virtual_env_type', '__support_kvm', '__imagetype'):
            self.assertIn(key, image)
        one = self.call('GET', '/v2/images/%s' % image['id'],
                        service='image').json
        self.assertEqual('slackware-14.2', one['name'])
        legacy = self.server('legacy-os')
        self.assertEqual(image['id'], legacy['metadata']['metering.image_id'])
        resp = self.call('GET', '/v2/images?id=in:%s,x' % image['id'],
                         service='image')
        self.assertEqual(1, len(resp.json['images']))


class TestDetach(SimAppTestCase):

    def test_data_disk_lifecycle(self):
        resp = self.detach('web-linux', 'web-data-1')
        self.assertEqual(202, resp.status_code)
        self.assertEqual(b'', resp.data)
        self.assertEqual('detaching', self.volume('web-data-1')['status'])
        self.assertIn(self.vid('web-data-1'), self.attached('web-linux'))
        self.clock.advance(0.99)
        self.assertEqual('detaching', self.volume('web-data-1')['status'])
        self.clock.advance(0.01)
        vol = self.volume('web-data-1')
        self.assertEqual(('available', []), (vol['status'],
                                             vol['attachments']))
        self.assertNotIn(self.vid('web-data-1'), self.attached('web-linux'))
        resp = self.compute('GET', '/servers/%s/os-volume_attachments/%s' % (
            self.sid('web-linux'), self.vid('web-data-1')))
        self.assertEqual(404, resp.status_code)

    def test_detach_time_from_scenario(self):
        self.state.timings['detach_seconds'] = 3
        self.detach('web-linux', 'web-data-1')
        self.clock.advance(2)
        self.assertEqual('detaching', self.volume('web-data-1')['status'])
        self.clock.advance(1)
        self.assertEqual('available', self.volume('web-data-1')['status'])

    def test_multiattach(self):
        self.assertEqual(202, self.detach('cluster-a',
                                          'shared-disk').status_code)
        self.assertEqual('detaching', self.volume('shared-disk')['status'])
        self.clock.advance(1)
        vol = self.volume('shared-disk')
        self.assertEqual('in-use', vol['status'])
        self.assertEqual([self.sid('cluster-b')],
                         [a['server_id'] for a in vol['attachments']])
        self.assertNotIn(self.vid('shared-disk'), self.attached('cluster-a'))
        self.assertIn(self.vid('shared-disk'), self.attached('cluster-b'))

    def test_guest_refuses(self):
        self.assertEqual(202, self.detach('web-linux',
                                          'web-stuck').status_code)
        self.assertEqual('detaching', self.volume('web-stuck')['status'])
        self.clock.advance(1)
        vol = self.volume('web-stuck')
        self.assertEqual('in-use', vol['status'])
        self.assertEqual(1, len(vol['attachments']))
        self.assertIn(self.vid('web-stuck'), self.attached('web-linux'))

    def test_root_of_running_server(self):
        resp = self.detach('web-linux', 'web-linux-sys')
        self.assertEqual(400, resp.status_code)
        self.assertEqual({'badRequest': {
            'code': 400, 'message': "Can't detach root device volume"}},
            resp.json)
        self.assertEqual('in-use', self.volume('web-linux-sys')['status'])

    def test_root_of_stopped_server(self):
        self.assertEqual(202, self.detach('db-stopped',
                                          'db-stopped-sys').status_code)
        self.clock.advance(1)
        self.assertEqual('available', self.volume('db-stopped-sys')['status'])

    def test_not_attached(self):
        resp = self.detach('web-linux', 'spare-disk')
        self.assertEqual(404, resp.status_code)
        self.assertEqual(404, resp.json['itemNotFound']['code'])
        resp = self.detach('win-app', 'web-data-1')
        self.assertEqual(404, resp.status_code)

    def test_unknown_server(self):
        resp = self.compute('DELETE', '/servers/nope/os-volume_attachments/'
                            '%s' % self.vid('web-data-1'))
        self.assertEqual(404, resp.status_code)
        self.assertIn('itemNotFound', resp.json)

    def test_task_state(self):
        resp = self.detach('busy-stopping', 'busy-data')
        self.assertEqual(409, resp.status_code)
        self.assertEqual({'conflictingRequest': {
            'code': 409, 'custom_errno': '0101046',
            'message': "Cannot 'detach_volume' instance %s while it is in "
                       "task_state powering-off" % self.sid('busy-stopping')}},
            resp.json)

    def test_locked(self):
        self.state.patch_server('web-linux', locked=True)
        resp = self.detach('web-linux', 'web-data-1')
        self.assertEqual(409, resp.status_code)
        self.assertIn('is locked', resp.json['conflictingRequest']['message'])

    def test_error_state(self):
        self.state.patch_server('web-linux', status='ERROR')
        resp = self.detach('web-linux', 'web-data-1')
        self.assertEqual(409, resp.status_code)
        self.assertIn('while it is in vm_state error',
                      resp.json['conflictingRequest']['message'])

    def test_detach_twice(self):
        self.detach('web-linux', 'web-data-1')
        self.assertEqual(400, self.detach('web-linux',
                                          'web-data-1').status_code)

    def test_attach(self):
        path = '/servers/%s/os-volume_attachments'
        resp = self.compute(
            'POST', path % self.sid('web-linux'),
            json={'volumeAttachment': {'volumeId': self.vid('spare-disk')}})
        self.assertEqual(200, resp.status_code)
        self.assertEqual('/dev/vdh', resp.json['volumeAttachment']['device'])
        self.assertEqual('in-use', self.volume('spare-disk')['status'])
        resp = self.compute(
            'POST', path % self.sid('win-app'),
            json={'volumeAttachment': {'volumeId': self.vid('spare-disk')}})
        self.assertEqual(400, resp.status_code)


class TestNativeEcs(SimAppTestCase):

    def native_detach(self, server, volume, flag=None):
        path = '/cloudservers/%s/detachvolume/%s' % (
            self.sid(server) if server else 'nope', self.vid(volume))
        if flag is not None:
            path += '?delete_flag=%s' % flag
        return self.native('DELETE', path)

    def job(self, job_id):
        resp = self.native('GET', '/jobs/%s' % job_id)
        self.assertEqual(200, resp.status_code)
        return resp.json

    def test_job_success(self):
        resp = self.native_detach('web-linux', 'web-data-2', 0)
        self.assertEqual(200, resp.status_code)
        job_id = resp.json['job_id']
        self.assertRegex(job_id, '^ff8080[0-9a-f]{26}$')
        job = self.job(job_id)
        self.assertEqual(('INIT', 'detachVolume'), (job['status'],
                                                    job['job_type']))
        self.assertEqual({'server_id': self.sid('web-linux')},
                         job['entities']['sub_jobs'][0]['entities'])
        self.clock.advance(0.5)
        self.assertEqual('RUNNING', self.job(job_id)['status'])
        self.assertEqual('detaching', self.volume('web-data-2')['status'])
        self.clock.advance(0.5)
        job = self.job(job_id)
        self.assertEqual('SUCCESS', job['status'])
        for key in ('begin_time', 'end_time', 'error_code', 'fail_reason'):
            self.assertIn(key, job)
        self.assertTrue(job['end_time'])
        self.assertEqual('available', self.volume('web-data-2')['status'])

    def test_job_fail_when_guest_refuses(self):
        job_id = self.native_detach('web-linux', 'web-stuck').json['job_id']
        self.clock.advance(1)
        job = self.job(job_id)
        self.assertEqual(('FAIL', 'Ecs.0102'), (job['status'],
                                                job['error_code']))
        self.assertTrue(job['fail_reason'])
        self.assertEqual('in-use', self.volume('web-stuck')['status'])

    def test_force_detach(self):
        job_id = self.native_detach('web-linux', 'web-stuck',
                                    1).json['job_id']
        self.clock.advance(1)
        self.assertEqual('SUCCESS', self.job(job_id)['status'])

    def assertEcsError(self, resp, status, code):
        self.assertEqual(status, resp.status_code)
        self.assertEqual(code, resp.json['error']['code'])
        self.assertTrue(resp.json['error']['message'])

    def test_refusals(self):
        self.assertEcsError(self.native_detach(None, 'web-data-1'),
                            404, 'Ecs.0114')
        self.assertEcsError(self.native_detach('web-linux', 'spare-disk'),
                            404, 'Ecs.0111')
        self.assertEcsError(self.native_detach('web-linux', 'web-linux-sys'),
                            400, 'Ecs.0100')
        self.assertEcsError(self.native_detach('db-stopped',
                                               'db-stopped-sys', 1),
                            400, 'Ecs.0100')
        self.assertEcsError(self.native_detach('web-linux', 'web-data-1',
                                               'yes'), 400, 'Ecs.0005')
        self.assertEcsError(self.native_detach('busy-stopping', 'busy-data'),
                            409, 'Ecs.0100')
        self.state.patch_server('web-linux', locked=True)
        self.assertEcsError(self.native_detach('web-linux', 'web-data-1'),
                            409, 'Ecs.0605')
        self.assertEcsError(self.native('GET', '/jobs/nope'), 404,
                            'Ecs.0200')

    def test_stopped_root_without_force(self):
        resp = self.native_detach('db-stopped', 'db-stopped-sys', 0)
        self.assertEqual(200, resp.status_code)


class TestFaultsAndLog(SimAppTestCase):

    def test_error_for_next_calls(self):
        self.app.faults.add('GET', r'/servers/detail$', status=500, count=2)
        for _ in range(2):
            resp = self.compute('GET', '/servers/detail')
            self.assertEqual(500, resp.status_code)
            self.assertIn('computeFault', resp.json)
        self.assertEqual(200, self.compute('GET',
                                           '/servers/detail').status_code)

    def test_retry_after(self):
        self.app.faults.add('*', 'os-volume_attachments', status=429,
                            retry_after=3)
        resp = self.detach('web-linux', 'web-data-1')
        self.assertEqual(429, resp.status_code)
        self.assertEqual('3', resp.headers['Retry-After'])
        self.assertEqual('3', resp.json['overLimit']['retryAfter'])
        self.assertEqual('in-use', self.volume('web-data-1')['status'])

    def test_method_must_match(self):
        self.app.faults.add('DELETE', 'servers', status=503)
        self.assertEqual(200, self.compute('GET', '/servers').status_code)
        resp = self.detach('web-linux', 'web-data-1')
        self.assertEqual(503, resp.status_code)
        self.assertIn('serviceUnavailable', resp.json)

    def test_native_and_identity_error_shapes(self):
        self.app.faults.add('GET', '/jobs/', status=503)
        resp = self.native('GET', '/jobs/x')
        self.assertEqual(503, resp.status_code)
        # no documented ECS code for it: nova's fault, no invented code
        self.assertEqual(503, resp.json['serviceUnavailable']['code'])
        resp = self.native('GET', '/nothing')
        self.assertEqual(404, resp.status_code)
        self.assertEqual(404, resp.json['itemNotFound']['code'])
        resp = self.native('GET', '/cloudservers/%s' % ('0' * 32))
        self.assertEqual('Ecs.0114', resp.json['error']['code'])
        self.app.faults.add('POST', '/auth/tokens', status=500)
        resp = self.login()
        self.assertEqual(500, resp.status_code)
        self.assertEqual('Internal Server Error', resp.json['error']['title'])

    def test_latency(self):
        self.app.faults.add('GET', '/servers$', latency=0.05, count=None)
        start = time.monotonic()
        self.assertEqual(200, self.compute('GET', '/servers').status_code)
        self.assertGreaterEqual(time.monotonic() - start, 0.05)

    def test_drop(self):
        self.app.faults.add('GET', '/servers$', drop=True)
        self.assertRaises(ConnectionResetError, self.compute, 'GET',
                          '/servers')
        entry = self.app.log.entries()[-1]
        self.assertEqual((None, True), (entry['status'], entry['dropped']))
        self.assertEqual(200, self.compute('GET', '/servers').status_code)

    def test_faults_over_http(self):
        resp = self.client.post('/_sim/faults', json={
            'method': 'GET', 'path': '/volumes', 'status': 503, 'count': 1})
        self.assertEqual(201, resp.status_code)
        self.assertEqual(1, len(self.client.get('/_sim/faults').json))
        self.assertEqual(503, self.evs('/volumes').status_code)
        self.assertEqual(200, self.evs('/volumes').status_code)
        self.client.post('/_sim/faults', json={'path': '.', 'status': 500})
        self.assertEqual(204, self.client.delete('/_sim/faults').status_code)
        self.assertEqual(200, self.evs('/volumes').status_code)
        for bad in ({'path': '.'}, {'status': 200}, {'path': '(',
                                                     'status': 500},
                    {'status': 500, 'colour': 'red'}):
            resp = self.client.post('/_sim/faults', json=bad)
            self.assertEqual(400, resp.status_code, bad)

    def test_internal_error_is_a_500(self):
        self.useFixture(fixtures.MonkeyPatch(
            'otcclient_detach.simulator.views.volume_summary', None))
        self.useFixture(fixtures.FakeLogger(name=app_mod.__name__))
        resp = self.evs('/volumes')
        self.assertEqual(500, resp.status_code)
        self.assertIn('computeFault', resp.json)
        self.assertEqual(500, self.app.log.entries()[-1]['status'])

    def test_request_log(self):
        self.app.log.clear()
        self.compute('GET', '/servers/detail?name=web')
        self.client.get('/_sim/state')
        entries = self.client.get('/_sim/requests').json
        self.assertEqual(1, len(entries))
        entry = entries[0]
        self.assertEqual(('compute', 'GET',
                          '/v2.1/%s/servers/detail' % self.pid,
                          'name=web', 200),
                         (entry['service'], entry['method'], entry['path'],
                          entry['query'], entry['status']))
        self.assertLessEqual(entry['started'], entry['finished'])
        self.assertTrue(entry['time'].endswith('Z'))
        self.assertEqual(204, self.client.delete(
            '/_sim/requests').status_code)
        self.assertEqual([], self.client.get('/_sim/requests').json)

    def test_state_dump(self):
        self.detach('web-linux', 'web-data-1')
        dump = self.client.get('/_sim/state').json
        self.assertEqual(self.pid, dump['project']['id'])
        vols = {v['name']: v for v in dump['volumes']
                if v['name'] != 'dup-disk'}
        self.assertEqual('detaching', vols['web-data-1']['status'])
        self.assertEqual([self.sid('web-linux')],
                         vols['web-data-1']['detaching_from'])
        self.assertEqual(8, len(dump['servers']))

    def test_patch_over_http(self):
        resp = self.client.post('/_sim/volumes/web-data-1',
                                json={'guest_refuses': True})
        self.assertEqual(200, resp.status_code)
        self.detach('web-linux', 'web-data-1')
        self.clock.advance(1)
        self.assertEqual('in-use', self.volume('web-data-1')['status'])
        resp = self.client.post('/_sim/servers/win-app',
                                json={'status': 'ERROR'})
        self.assertEqual('error', resp.json['OS-EXT-STS:vm_state'])
        resp = self.client.post('/_sim/volumes/%s' % self.vid('spare-disk'),
                                json={'status': 'error'})
        self.assertEqual('error', resp.json['status'])
        self.assertEqual(400, self.client.post(
            '/_sim/servers/win-app', json={'colour': 'red'}).status_code)
        self.assertEqual(404, self.client.post(
            '/_sim/servers/nope', json={}).status_code)
        self.assertEqual(409, self.client.get(
            '/_sim/volumes/dup-disk').status_code)
        self.assertEqual(404, self.client.get('/_sim/nothing').status_code)

    def test_control_api_needs_the_admin_token(self):
        plain = Client(self.app)
        for method, path in (('GET', '/_sim/state'),
                             ('POST', '/_sim/faults'),
                             ('DELETE', '/_sim/requests')):
            resp = plain.open(path, method=method)
            self.assertEqual(403, resp.status_code, path)
            self.assertIn('X-Sim-Admin-Token', resp.json['error'])
            resp = plain.open(path, method=method, headers={
                'X-Sim-Admin-Token': self.app.admin_token + 'x'})
            self.assertEqual(403, resp.status_code, path)
        self.assertEqual([], self.app.faults.rules())


class TestCloudVolumes(SimAppTestCase):
    """EVS's native disk list: ``GET /v2/{project_id}/cloudvolumes/detail``.

    EVS API reference, "Querying Details About All Disks".
    """

    def disks(self, query='', api='v2'):
        resp = self.evs('/cloudvolumes/detail' + query, api)
        self.assertEqual(200, resp.status_code, resp.data)
        return resp.json

    def test_by_server_id(self):
        body = self.disks('?server_id=%s' % self.sid('web-linux'))
        self.assertEqual(set(self.attached('web-linux')),
                         {v['id'] for v in body['volumes']})
        self.assertEqual(len(body['volumes']), body['count'])
        self.assertNotIn('volumes_links', body)
        system = [v for v in body['volumes']
                  if v['name'] == 'web-linux-sys'][0]
        self.assertEqual([(self.sid('web-linux'), '/dev/vda')],
                         [(a['server_id'], a['device'])
                          for a in system['attachments']])
        self.assertEqual('CentOS 7.6 64bit',
                         system['volume_image_metadata']['__os_version'])
        self.assertEqual(('EVS', 'true'), (system['service_type'],
                                           system['bootable']))
        self.assertEqual([], self.disks('?server_id=nope')['volumes'])

    def test_by_name_and_id(self):
        self.assertEqual({self.vid('dup-disk'), self.vid('dup-disk', 2)},
                         {v['id'] for v in self.disks(
                             '?name=dup-disk')['volumes']})
        body = self.disks('?id=%s' % self.vid('spare-disk'))
        self.assertEqual((['spare-disk'], 1), (
            [v['name'] for v in body['volumes']], body['count']))

    def test_limit_offset_and_marker(self):
        every = [v['id'] for v in self.disks()['volumes']]
        self.assertEqual(22, len(every))
        body = self.disks('?limit=2&offset=2')
        # count is not affected by the paging
        self.assertEqual((every[2:4], 22), (
            [v['id'] for v in body['volumes']], body['count']))
        self.assertEqual(every[5:], [v['id'] for v in self.disks(
            '?marker=%s' % every[4])['volumes']])
        self.assertEqual(every[5:7], [v['id'] for v in self.disks(
            '?marker=%s&limit=2' % every[4])['volumes']])

    def test_next_links_lead_through_every_page(self):
        seen, query = [], '?limit=3&offset=1'
        while True:
            body = self.disks(query)
            seen.extend(v['id'] for v in body['volumes'])
            links = body.get('volumes_links')
            if not links:
                break
            self.assertEqual('next', links[0]['rel'])
            self.assertIn('/v2/%s/cloudvolumes/detail?' % self.pid,
                          links[0]['href'])
            query = '?' + links[0]['href'].split('?', 1)[1]
        self.assertEqual([v['id'] for v in self.disks()['volumes']][1:],
                         seen)

    def test_bad_paging_refused(self):
        for query in ('?limit=0', '?limit=x', '?offset=-1', '?offset=x',
                      '?marker=nope'):
            resp = self.evs('/cloudvolumes/detail' + query)
            self.assertEqual(400, resp.status_code, query)

    def test_only_under_v2(self):
        resp = self.evs('/cloudvolumes/detail', 'v3')
        self.assertEqual(404, resp.status_code)

    def test_needs_a_token(self):
        resp = self.call('GET', '/v2/%s/cloudvolumes/detail' % self.pid,
                         token=False, service='volume')
        self.assertEqual(401, resp.status_code)
