"""The simulator's cloud features, over HTTP on 127.0.0.1.

Each test starts a real simulator and finds its endpoints in the token's
catalog, as a client does: KMS describe-key, EVS snapshots, os-start
without a system disk (Ecs.0105), the legacy /v2 compute endpoint, Xen
ECSs, paging and name filters, and the fault kinds.  A fake clock drives
the timed transitions.
"""

import os
import threading
import time

import requests
import testtools
from tests.unit.test_simulator import FakeClock

from otcclient_detach.simulator import faults
from otcclient_detach.simulator import ids
from otcclient_detach.simulator import scenario as scenario_mod
from otcclient_detach.simulator import ScenarioError
from otcclient_detach.simulator import Simulator

FEATURES_YAML = os.path.join(os.path.dirname(scenario_mod.__file__),
                             'scenarios', 'features.yaml')
KEY_STATES = ('pending-activation', 'enabled', 'disabled',
              'pending-deletion', 'pending-import')


def features_scenario(**extra):
    data = {
        'kms': {'keys': [{'alias': 'key-%s' % s, 'state': s}
                         for s in KEY_STATES]},
        'servers': [
            {'name': 'vm1'},
            {'name': 'stopped', 'status': 'SHUTOFF'},
            {'name': 'xen1', 'hypervisor': 'xen'},
            {'name': 'xen-hidden', 'hypervisor': 'xen',
             'root_device_name': '/dev/xvda',
             'show_root_device_name': False},
        ],
        'volumes': [
            {'name': 'vm1-sys', 'attachments': [
                {'server': 'vm1', 'device': '/dev/vda'}]},
            {'name': 'secret', 'encryption_key': 'key-disabled',
             'attachments': [{'server': 'vm1', 'device': '/dev/vdb'}]},
            {'name': 'orphan-key', 'encryption_key':
             '0b0b0b0b-0000-4000-8000-000000000000'},
            {'name': 'fragile', 'snapshot_fails': True,
             'attachments': [{'server': 'vm1', 'device': '/dev/vdc'}]},
            {'name': 'spare'},
            {'name': 'stopped-sys', 'attachments': [
                {'server': 'stopped', 'device': '/dev/vda'}]},
            {'name': 'xen1-sys', 'attachments': [
                {'server': 'xen1', 'device': '/dev/sda'}]},
            {'name': 'xen1-hda', 'attachments': [
                {'server': 'xen1', 'device': '/dev/hda'}]},
            {'name': 'xen-hidden-sys', 'attachments': [
                {'server': 'xen-hidden', 'device': '/dev/xvda'}]},
        ],
    }
    data.update(extra)
    return data


class HTTPTestCase(testtools.TestCase):
    """A simulator on 127.0.0.1 and a token; URLs from the catalog."""

    scenario = None
    compute_version = None

    def setUp(self):
        super().setUp()
        self.clock = FakeClock()
        self.sim = Simulator(self.scenario or features_scenario(),
                             clock=self.clock,
                             compute_version=self.compute_version)
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.http = requests.Session()
        self.addCleanup(self.http.close)
        self.login()

    def login(self):
        user = self.sim.state.users[0]
        project = self.sim.state.project
        password = {'user': {'name': user['name'],
                             'password': user['password'],
                             'domain': {'name': user['domain']['name']}}}
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': password},
            'scope': {'project': {'id': project['id']}}}}
        resp = self.http.post(self.sim.auth_url + '/auth/tokens', json=body,
                              timeout=5)
        self.assertEqual(201, resp.status_code, resp.text)
        self.http.headers['X-Auth-Token'] = resp.headers['X-Subject-Token']
        self.catalog = {e['type']: e['endpoints'][0]['url']
                        for e in resp.json()['token']['catalog']}

    def url(self, service, path):
        return self.catalog[service].rstrip('/') + path

    def get(self, service, path, **kwargs):
        return self.http.get(self.url(service, path), timeout=5, **kwargs)

    def post(self, service, path, body, **kwargs):
        return self.http.post(self.url(service, path), json=body, timeout=5,
                              **kwargs)

    def vid(self, name):
        return ids.sim_id('volume', name)

    def sid(self, name):
        return ids.sim_id('server', name)


class TestKms(HTTPTestCase):

    def describe(self, key_id):
        # Clients append the project ID to the catalog URL (otcextensions).
        return self.post('kms', '/%s/kms/describe-key' % self.sim.project_id,
                         {'key_id': key_id})

    def test_catalog_url_ends_in_v1_0(self):
        self.assertTrue(self.catalog['kms'].endswith('/v1.0'),
                        self.catalog['kms'])

    def test_every_key_state(self):
        for number, name in enumerate(KEY_STATES, 1):
            key_id = ids.sim_id('kms-key', 'key-' + name)
            resp = self.describe(key_id)
            self.assertEqual(200, resp.status_code, resp.text)
            info = resp.json()['key_info']
            self.assertEqual((key_id, 'key-' + name, str(number)),
                             (info['key_id'], info['key_alias'],
                              info['key_state']))

    def test_unknown_and_malformed_keys(self):
        resp = self.describe('0b0b0b0b-0000-4000-8000-000000000000')
        self.assertEqual(404, resp.status_code)
        self.assertEqual({'error': {'error_code': 'KMS.0207',
                                    'error_msg': 'The key does not exist.'}},
                         resp.json())
        # An alias is not a key ID.
        self.assertEqual(400, self.describe('key-enabled').status_code)
        self.assertEqual('KMS.0205',
                         self.describe('nope').json()['error']['error_code'])

    def test_encrypted_volume_metadata(self):
        meta = self.get('volumev2', '/volumes/%s' % self.vid(
            'secret')).json()['volume']['metadata']
        self.assertEqual({'__system__encrypted': '1',
                          '__system__cmkid': ids.sim_id('kms-key',
                                                        'key-disabled')},
                         meta)
        self.assertEqual(36, len(meta['__system__cmkid']))
        orphan = self.sim.volume('orphan-key')['metadata']
        self.assertEqual(404, self.describe(
            orphan['__system__cmkid']).status_code)

    def test_key_state_changes(self):
        key_id = ids.sim_id('kms-key', 'key-disabled')
        self.sim.patch_key('key-disabled', state='enabled')
        self.assertEqual('2',
                         self.describe(key_id).json()['key_info']['key_state'])
        resp = requests.post(self.sim.base_url + '/_sim/keys/' + key_id,
                             json={'state': '4'}, timeout=5,
                             headers=self.sim.control_headers)
        self.assertEqual(200, resp.status_code, resp.text)
        self.assertEqual('4',
                         self.describe(key_id).json()['key_info']['key_state'])
        self.assertRaises(ValueError, self.sim.patch_key, key_id, state='9')

    def test_kms_left_out_of_the_catalog(self):
        with Simulator(features_scenario(kms={'in_catalog': False})) as sim:
            resp = requests.post(sim.auth_url + '/auth/tokens', json={
                'auth': {'identity': {'methods': ['password'], 'password': {
                    'user': {'name': 'otc-user', 'password': 'otc-password',
                             'domain': {'name': 'OTC00000000001000000001'}}}
                }}}, timeout=5)
            types = [e['type'] for e in resp.json()['token']['catalog']]
        self.assertNotIn('kms', types)
        self.assertIn('compute', types)

    def test_scenario_checks(self):
        self.assertRaises(ScenarioError, Simulator, features_scenario(
            kms={'keys': [{'alias': 'k', 'state': 'gone'}]}))
        self.assertRaises(ScenarioError, Simulator, features_scenario(
            kms={'keys': [{'alias': 'k'}, {'alias': 'k'}]}))


class TestSnapshots(HTTPTestCase):

    def create(self, volume, force=None, api='volumev2'):
        body = {'volume_id': self.vid(volume), 'name': 'snap-' + volume}
        if force is not None:
            body['force'] = force
        return self.post(api, '/snapshots', {'snapshot': body})

    def test_in_use_needs_force(self):
        resp = self.create('secret')
        self.assertEqual(400, resp.status_code)
        self.assertIn('status must be available, but current status is: '
                      'in-use', resp.json()['badRequest']['message'])
        self.assertEqual([], self.sim.state.list_snapshots())
        self.assertEqual(400, self.create('secret', 'maybe').status_code)

    def test_creating_then_available(self):
        resp = self.create('secret', True)
        self.assertEqual(202, resp.status_code, resp.text)
        snap = resp.json()['snapshot']
        self.assertEqual(('creating', self.vid('secret'), 'snap-secret'),
                         (snap['status'], snap['volume_id'], snap['name']))
        path = '/snapshots/%s' % snap['id']
        self.assertEqual('creating',
                         self.get('volumev2', path).json()['snapshot'][
                             'status'])
        self.clock.advance(1.0)  # timings.snapshot_seconds
        shown = self.get('volumev3', path).json()['snapshot']
        self.assertEqual(('available', 10), (shown['status'], shown['size']))
        listed = self.get('volumev2', '/snapshots').json()['snapshots']
        self.assertEqual([snap['id']], [s['id'] for s in listed])
        detail = self.get('volumev2', '/snapshots/detail?volume_id=%s'
                          % self.vid('secret')).json()['snapshots']
        self.assertEqual('100%', detail[0][
            'os-extended-snapshot-attributes:progress'])
        self.assertEqual([], self.get('volumev2', '/snapshots?volume_id=x')
                         .json()['snapshots'])

    def test_available_volume_without_force(self):
        self.assertEqual(202, self.create('spare', api='volumev3')
                         .status_code)

    def test_snapshot_ends_in_error(self):
        snap = self.create('fragile', 'true').json()['snapshot']
        self.clock.advance(1.0)
        self.assertEqual('error', self.sim.snapshot(snap['id'])['status'])
        self.sim.patch_volume('fragile', snapshot_fails=False)
        snap = self.create('fragile', True).json()['snapshot']
        self.clock.advance(1.0)
        self.assertEqual('available', self.sim.snapshot(snap['id'])['status'])

    def test_timing_and_unknown(self):
        sim = Simulator(features_scenario(timings={'snapshot_seconds': 30}),
                        clock=self.clock)
        snap = sim.state.create_snapshot(self.vid('spare'))
        self.clock.advance(29)
        self.assertEqual('creating', sim.snapshot(snap['id'])['status'])
        self.clock.advance(1)
        self.assertEqual('available', sim.snapshot(snap['id'])['status'])
        self.assertEqual(404, self.get('volumev2', '/snapshots/nope')
                         .status_code)
        self.assertEqual(404, self.post('volumev2', '/snapshots', {
            'snapshot': {'volume_id': 'nope'}}).status_code)


class TestStartWithoutSystemDisk(HTTPTestCase):

    def action(self, server, body):
        return self.post('compute', '/servers/%s/action' % self.sid(server),
                         body)

    def test_ecs_0105(self):
        resp = self.http.delete(self.url(
            'compute', '/servers/%s/os-volume_attachments/%s' % (
                self.sid('stopped'), self.vid('stopped-sys'))), timeout=5)
        self.assertEqual(202, resp.status_code, resp.text)
        self.clock.advance(1.0)
        resp = self.action('stopped', {'os-start': None})
        self.assertEqual(400, resp.status_code)
        self.assertEqual(
            'No system disk found. Attach the system disk to the ECS and '
            'try again.', resp.json()['badRequest']['message'])
        self.assertEqual('SHUTOFF', self.sim.server('stopped')['status'])
        # Attached again at the root device, it starts.
        resp = self.post('compute', '/servers/%s/os-volume_attachments'
                         % self.sid('stopped'), {'volumeAttachment': {
                             'volumeId': self.vid('stopped-sys'),
                             'device': '/dev/vda'}})
        self.assertEqual(200, resp.status_code, resp.text)
        self.assertEqual(202, self.action('stopped', {'os-start': None})
                         .status_code)


class TestLegacyV2(HTTPTestCase):
    """/v2 has no microversions: headers ignored, 2.0 (= 2.1 base) shapes."""

    compute_version = 'v2'

    def test_microversion_headers_ignored(self):
        self.assertFalse(self.catalog['compute'].split('/')[-2] == 'v2.1')
        for header in ('compute 2.60', 'compute latest', 'compute 9.9',
                       'nonsense'):
            resp = self.get('compute', '/servers/%s' % self.sid('vm1'),
                            headers={'OpenStack-API-Version': header,
                                     'X-OpenStack-Nova-API-Version': '2.60'})
            self.assertEqual(200, resp.status_code, header)
            server = resp.json()['server']
            for absent in ('OS-EXT-SRV-ATTR:root_device_name', 'locked',
                           'description', 'tags',
                           'OS-EXT-SRV-ATTR:hostname'):
                self.assertNotIn(absent, server, header)
            # What 2.1 base shows is there: task_state, vm_state.
            self.assertIn('OS-EXT-STS:task_state', server)
            self.assertEqual([{'id': self.vid('vm1-sys')}], [
                {'id': v['id']} for v in
                server['os-extended-volumes:volumes_attached']][:1])
            self.assertNotIn('delete_on_termination', server[
                'os-extended-volumes:volumes_attached'][0])
            self.assertIn('links', server['flavor'])
            self.assertNotIn('OpenStack-API-Version', resp.headers)
            self.assertNotIn('X-OpenStack-Nova-API-Version', resp.headers)


class TestXen(HTTPTestCase):

    def server(self, name):
        return self.get('compute', '/servers/%s' % self.sid(name), headers={
            'OpenStack-API-Version': 'compute 2.60'}).json()['server']

    def test_system_disk_shows_as_sda(self):
        self.assertEqual('/dev/sda', self.server('xen1')[
            'OS-EXT-SRV-ATTR:root_device_name'])
        devices = {a['volumeId']: a['device'] for a in self.get(
            'compute', '/servers/%s/os-volume_attachments' % self.sid(
                'xen1')).json()['volumeAttachments']}
        self.assertEqual('/dev/hda', devices[self.vid('xen1-hda')])
        self.assertEqual('xen', self.sim.server('xen1')['hypervisor'])

    def test_root_device_name_hidden(self):
        server = self.server('xen-hidden')
        self.assertIn('OS-EXT-SRV-ATTR:root_device_name', server)
        self.assertIsNone(server['OS-EXT-SRV-ATTR:root_device_name'])
        # Hidden is not gone: the cloud still refuses the system disk.
        resp = self.http.delete(self.url(
            'compute', '/servers/%s/os-volume_attachments/%s' % (
                self.sid('xen-hidden'), self.vid('xen-hidden-sys'))),
            timeout=5)
        self.assertEqual(400, resp.status_code)

    def test_bad_hypervisor(self):
        self.assertRaises(ScenarioError, Simulator, features_scenario(
            servers=[{'name': 'x', 'hypervisor': 'hyperv'}], volumes=[]))


class TestPaging(HTTPTestCase):

    scenario = {
        'page_size': {'servers': 2, 'volumes': 3},
        'servers': [{'name': n} for n in (
            'web-1', 'webx1', 'db+prod(1)', 'db+prod(1)-old', 'other')],
        'volumes': [{'name': 'v%d' % i} for i in range(7)] + [
            {'name': 'v1-copy'}],
    }

    def follow(self, service, path, key):
        pages, url = [], self.url(service, path)
        while url:
            body = self.http.get(url, timeout=5).json()
            pages.append([item['name'] for item in body[key]])
            links = [link['href'] for link in body.get(key + '_links', [])
                     if link['rel'] == 'next']
            url = links[0] if links else None
            self.assertLess(len(pages), 10)
        return pages

    def test_server_pages(self):
        pages = self.follow('compute', '/servers/detail', 'servers')
        self.assertEqual([['web-1', 'webx1'], ['db+prod(1)', 'db+prod(1)-old'],
                          ['other'], ], pages[:3])
        # A full last page still has a next link; the page after is empty.
        self.assertEqual(3, len(pages))
        self.assertEqual([['web-1'], ['webx1'], ['db+prod(1)'],
                          ['db+prod(1)-old'], ['other'], []],
                         self.follow('compute', '/servers?limit=1',
                                     'servers'))
        # A limit above the page size is cut to it.
        self.assertEqual(2, len(self.get('compute', '/servers?limit=50')
                                .json()['servers']))
        self.assertEqual(400, self.get('compute', '/servers?marker=nope')
                         .status_code)

    def test_next_link_keeps_the_filters(self):
        body = self.get('compute', '/servers?name=db&limit=1').json()
        href = body['servers_links'][0]['href']
        self.assertIn('name=db', href)
        self.assertIn('marker=%s' % self.sid('db+prod(1)'), href)

    def test_volume_pages(self):
        pages = self.follow('volumev2', '/volumes/detail', 'volumes')
        self.assertEqual([['v0', 'v1', 'v2'], ['v3', 'v4', 'v5'],
                          ['v6', 'v1-copy'], ], pages)
        pages = self.follow('volumev3', '/volumes?limit=4', 'volumes')
        self.assertEqual([3, 3, 2], [len(p) for p in pages])

    def test_name_filters(self):
        def names(query):
            return [s['name'] for s in self.get(
                'compute', '/servers?' + query).json()['servers']]
        # nova: a regular expression, searched (not anchored).
        self.assertEqual(['web-1', 'webx1'], names('name=web.1'))
        self.assertEqual(['db+prod(1)', 'db+prod(1)-old'],
                         names('name=db%5C%2Bprod%5C%281%5C%29'))
        self.assertEqual(['db+prod(1)'],
                         names('name=%5Edb%5C%2Bprod%5C%281%5C%29%24'))
        self.assertEqual([], names('name=db%2Bprod'))  # "b+" != "b+"
        # cinder: exact.
        vols = self.get('volumev2', '/volumes?name=v1').json()['volumes']
        self.assertEqual(['v1'], [v['name'] for v in vols])

    def test_default_page_is_1000(self):
        sim = Simulator({'servers': [{'name': 's%d' % i}
                                     for i in range(1001)]})
        self.assertEqual({'servers': 1000, 'volumes': 1000},
                         sim.state.page_size)
        self.assertRaises(ScenarioError, Simulator, {'page_size': 0})


class TestFaults(HTTPTestCase):

    def servers(self, **kwargs):
        return self.get('compute', '/servers/detail', **kwargs)

    def test_answer_after_n_seconds(self):
        self.sim.add_fault('GET', r'/servers/detail$', latency=0.3)
        start = time.monotonic()
        resp = self.servers()
        self.assertEqual(200, resp.status_code)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)

    def test_hanging_read_ends_when_the_simulator_stops(self):
        self.sim.add_fault('GET', r'/servers/detail$', latency=60)
        errors = []

        def read():
            try:
                self.servers()
            except requests.RequestException as exc:
                errors.append(exc)
        thread = threading.Thread(target=read)
        thread.start()
        time.sleep(0.2)
        start = time.monotonic()
        self.sim.stop()
        thread.join(10)
        self.assertFalse(thread.is_alive())
        self.assertLess(time.monotonic() - start, 5)

    def test_raw_bodies(self):
        for status, body, ctype in ((200, '<html>Gateway</html>',
                                     'text/html'),
                                    (200, 'null', 'application/json'),
                                    (200, [1, 2], 'application/json'),
                                    (504, '', 'text/plain')):
            self.sim.add_fault('GET', r'/servers/detail$', status=status,
                               body=body, content_type=ctype)
            resp = self.servers()
            self.assertEqual(status, resp.status_code)
            self.assertTrue(resp.headers['Content-Type'].startswith(ctype))
            self.assertEqual(body if isinstance(body, str) else '[1, 2]',
                             resp.text)
        self.assertEqual(200, self.servers().status_code)
        self.assertIn('servers', self.servers().json())

    def test_2xx_with_an_error_body(self):
        self.sim.add_fault('DELETE', 'os-volume_attachments', status=202,
                           body=faults.FLOW_LIMIT_BODY)
        resp = self.http.delete(self.url(
            'compute', '/servers/%s/os-volume_attachments/%s' % (
                self.sid('vm1'), self.vid('secret'))), timeout=5)
        self.assertEqual(202, resp.status_code)
        self.assertEqual({'error': {'code': 'Common.0024',
                                    'message': 'Flow limit exceeded.'}},
                         resp.json())
        # Nothing was done.
        self.assertEqual('in-use', self.sim.volume('secret')['status'])

    def test_carried_out_then_an_error(self):
        path = '/servers/%s/os-volume_attachments/%s' % (
            self.sid('vm1'), self.vid('secret'))
        self.sim.add_fault('DELETE', 'os-volume_attachments', status=500,
                           carry_out=True)
        resp = self.http.delete(self.url('compute', path), timeout=5)
        self.assertEqual(500, resp.status_code)
        self.assertIn('computeFault', resp.json())
        self.assertEqual('detaching', self.sim.volume('secret')['status'])
        self.sim.add_fault('DELETE', 'os-volume_attachments', drop=True,
                           carry_out=True)
        path = path.replace(self.vid('secret'), self.vid('fragile'))
        self.assertRaises(requests.ConnectionError, self.http.delete,
                          self.url('compute', path), timeout=5)
        self.assertEqual('detaching', self.sim.volume('fragile')['status'])
        log = [(r['method'], r['status'], r['dropped'])
               for r in self.sim.requests if r['method'] == 'DELETE']
        self.assertEqual([('DELETE', 500, False), ('DELETE', None, True)],
                         log)

    def test_fault_checks(self):
        for bad in ({'status': 200}, {'carry_out': True, 'latency': 1},
                    {'status': 99, 'body': ''}, {}):
            self.assertRaises(ValueError, self.sim.add_fault, 'GET', '.',
                              **bad)

    def test_control_api_and_scenario(self):
        resp = requests.post(self.sim.base_url + '/_sim/faults', json={
            'method': 'GET', 'path': r'/servers/detail$', 'status': 202,
            'body': None}, headers=self.sim.control_headers, timeout=5)
        self.assertEqual(201, resp.status_code, resp.text)
        self.assertEqual('null', resp.json()['body'])
        resp = self.servers()
        self.assertEqual((202, None), (resp.status_code, resp.json()))
        with Simulator(features_scenario(faults=[{
                'method': 'GET', 'path': '.', 'status': 503,
                'count': None}])) as sim:
            resp = requests.get(sim.auth_url, timeout=5)
            self.assertEqual(503, resp.status_code)
            self.assertEqual(503, resp.json()['error']['code'])
        self.assertRaises(ScenarioError, Simulator, features_scenario(
            faults=[{'path': '/x', 'status': 200}]))
        self.assertRaises(ScenarioError, Simulator, features_scenario(
            faults=[{'colour': 'red', 'status': 500}]))


class TestFeaturesScenarioFile(HTTPTestCase):
    """scenarios/features.yaml: what the functional tests of #8/#9 use."""

    scenario = FEATURES_YAML

    def test_encrypted_disks_and_their_keys(self):
        expected = {'enc-enabled': '2', 'enc-disabled': '3',
                    'enc-deleting': '4', 'enc-importing': '5',
                    'enc-inactive': '1', 'enc-stopped-disabled': '3',
                    'enc-unknown-key': 404}
        for name, state in expected.items():
            meta = self.get('volumev2', '/volumes/%s' % self.vid(
                name)).json()['volume']['metadata']
            self.assertEqual('1', meta['__system__encrypted'], name)
            resp = self.post('kms', '/%s/kms/describe-key'
                             % self.sim.project_id,
                             {'key_id': meta['__system__cmkid']})
            got = (resp.json()['key_info']['key_state']
                   if resp.status_code == 200 else resp.status_code)
            self.assertEqual(state, got, name)

    def test_xen_hidden_root_and_pages(self):
        servers = self.get('compute', '/servers/detail', headers={
            'OpenStack-API-Version': 'compute 2.3'}).json()
        self.assertEqual(2, len(servers['servers']))
        self.assertIn('servers_links', servers)
        roots = {s['name']: s['OS-EXT-SRV-ATTR:root_device_name']
                 for s in self.get('compute', '/servers/detail?limit=2&'
                                   'marker=%s' % self.sid('crypt-stopped'),
                                   headers={'OpenStack-API-Version':
                                            'compute 2.3'})
                 .json()['servers']}
        self.assertEqual({'xen-linux': '/dev/sda', 'hidden-root': None},
                         roots)
        self.assertTrue(self.sim.volume('snap-fails')['snapshot_fails'])
