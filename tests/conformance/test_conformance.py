"""The simulator against clients and schemas nobody here wrote.

tempest.lib's service clients check every response against tempest's
JSON schemas (and the compute clients check the microversion headers);
they run here at every compute microversion for which tempest has a
schema variant, up to the simulator's maximum.  openstacksdk's proxies
and their waiters, and otcextensions' native ECS job resource, drive the
same simulator.  All on 127.0.0.1, a fresh simulator per test.

Where OTC's own documentation differs from upstream OpenStack, the
difference is allowed in deviations.py, each with the OTC page that
shows it; nothing else is relaxed.
"""

import copy
import os
import time

import fixtures
import openstack
from otcextensions import sdk as otc_sdk
from otcextensions.sdk import job as otc_job
import testtools
from tempest.lib.api_schema.response import compute as compute_schemas
from tempest.lib import auth
from tempest.lib.common import api_microversion_fixture
from tempest.lib.services.compute import flavors_client
from tempest.lib.services.compute import servers_client
from tempest.lib.services.compute import versions_client
from tempest.lib.services.image.v2 import images_client
from tempest.lib.services.image.v2 import schemas_client
from tempest.lib.services.volume.v3 import versions_client as \
    volume_versions_client
from tempest.lib.services.volume.v3 import volumes_client
from tests.conformance import deviations
import yaml

from otcclient_detach.simulator import ids
from otcclient_detach.simulator import scenario as scenario_mod
from otcclient_detach.simulator import server as sim_server
from otcclient_detach.simulator import views

#: OTC's documented differences from upstream, the only relaxations
#: (deviations.py holds them, each with its OTC page).
DEVIATIONS = deviations.of_judge('tempest')


def _compute_microversions():
    """Each tempest compute schema variant up to the simulator's max."""
    found = set()
    for name in os.listdir(os.path.dirname(compute_schemas.__file__)):
        major, _, minor = name[1:].partition('_')
        if name.startswith('v2_') and minor.isdigit():
            version = (int(major), int(minor))
            if views.COMPUTE_MIN <= version <= views.COMPUTE_MAX:
                found.add(version)
    return ['%d.%d' % v for v in sorted(found)]


COMPUTE_MICROVERSIONS = _compute_microversions()


def relaxed(schema):
    """``schema`` with :data:`DEVIATIONS` allowed, and nothing else."""
    schema = copy.deepcopy(schema)
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get('properties')
            if isinstance(props, dict):
                for dev in DEVIATIONS:
                    if dev['where'] in props:
                        props[dev['field']] = dev['allow']
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return schema


class _Relaxed(object):
    @classmethod
    def validate_response(cls, schema, resp, body):
        super(_Relaxed, cls).validate_response(relaxed(schema), resp, body)


class VolumesClient(_Relaxed, volumes_client.VolumesClient):
    pass


def fast_demo():
    """The demo scenario with short transitions, for the waiters."""
    with open(scenario_mod.DEFAULT_SCENARIO) as fh:
        data = yaml.safe_load(fh)
    data['timings'] = dict(data.get('timings') or {}, detach_seconds=0.2,
                           stop_seconds=0.2, start_seconds=0.2)
    return data


class ConformanceTestCase(testtools.TestCase):

    def setUp(self):
        super(ConformanceTestCase, self).setUp()
        self.sim = sim_server.Simulator(scenario=fast_demo())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        user = self.sim.state.users[0]
        project = self.sim.state.project
        creds = auth.KeystoneV3Credentials(
            username=user['name'], password=user['password'],
            project_name=project['name'],
            user_domain_name=user['domain']['name'],
            project_domain_name=project['domain']['name'])
        self.auth = auth.KeystoneV3AuthProvider(creds, self.sim.auth_url)
        self.region = self.sim.state.region

    def client(self, cls, service):
        return cls(self.auth, service, self.region, build_interval=0.2,
                   build_timeout=10)

    def microversion(self, compute=None, volume=None):
        self.useFixture(api_microversion_fixture.APIMicroversionFixture(
            compute_microversion=compute, volume_microversion=volume))

    def sid(self, name):
        return ids.sim_id('server', name)

    def wait_status(self, servers, sid, status, timeout=10):
        deadline = time.monotonic() + timeout
        while servers.show_server(sid)['server']['status'] != status:
            self.assertLess(time.monotonic(), deadline,
                            'server %s never became %s' % (sid, status))
            time.sleep(0.1)

    def vid(self, name):
        return ids.sim_id('volume', name)


class TestComputeSchemas(ConformanceTestCase):
    """Nova API of ECS, at each microversion tempest has a schema for."""

    def check_microversion(self, mv):
        self.microversion(compute=mv)
        servers = self.client(servers_client.ServersClient, 'compute')
        flavors = self.client(flavors_client.FlavorsClient, 'compute')
        sid = self.sid('web-linux')
        shown = servers.show_server(sid)['server']
        self.assertEqual(sid, shown['id'])
        listed = servers.list_servers(detail=True)['servers']
        self.assertIn(sid, [s['id'] for s in listed])
        self.assertIn(sid, [s['id'] for s in servers.list_servers()[
            'servers']])
        attachments = servers.list_volume_attachments(sid)[
            'volumeAttachments']
        self.assertIn(self.vid('web-data-1'),
                      [a['volumeId'] for a in attachments])
        one = servers.show_volume_attachment(sid, self.vid('web-data-1'))
        self.assertEqual(sid, one['volumeAttachment']['serverId'])
        flavor = flavors.show_flavor(shown['flavor'].get(
            'id') or shown['flavor']['original_name'])['flavor']
        self.assertTrue(flavor['name'])
        self.assertTrue(flavors.list_flavors(detail=True)['flavors'])
        # the volumes nova lists next to the server: "id" only, plus
        # delete_on_termination from 2.3 (OTC's nova API reference)
        for item in shown['os-extended-volumes:volumes_attached']:
            wanted = {'id', 'delete_on_termination'} if tuple(
                map(int, mv.split('.'))) >= (2, 3) else {'id'}
            self.assertEqual(wanted, set(item))

    def test_tags(self):
        self.microversion(compute='2.26')
        servers = self.client(servers_client.ServersClient, 'compute')
        sid = self.sid('web-linux')
        self.assertEqual([], servers.list_tags(sid)['tags'])
        servers.update_tag(sid, 'blue')
        servers.check_tag_existence(sid, 'blue')
        self.assertEqual(['green', 'red'], sorted(servers.update_all_tags(
            sid, ['red', 'green'])['tags']))
        servers.delete_tag(sid, 'red')
        self.assertEqual(['green'], servers.list_tags(sid)['tags'])
        self.assertEqual(['green'], servers.show_server(sid)['server'][
            'tags'])
        servers.delete_all_tags(sid)
        self.assertEqual([], servers.list_tags(sid)['tags'])

    def test_stop_start_attach_detach(self):
        self.microversion(compute='2.60')
        servers = self.client(servers_client.ServersClient, 'compute')
        sid = self.sid('web-linux')
        servers.stop_server(sid)
        self.wait_status(servers, sid, 'SHUTOFF')
        servers.start_server(sid)
        self.wait_status(servers, sid, 'ACTIVE')
        vid = self.vid('spare-disk')
        att = servers.attach_volume(sid, volumeId=vid)['volumeAttachment']
        self.assertEqual(vid, att['volumeId'])
        servers.detach_volume(sid, vid)

    def test_versions(self):
        versions = self.client(versions_client.VersionsClient, 'compute')
        ids_ = [v['id'] for v in versions.list_versions()['versions']]
        self.assertIn('v2.1', ids_)


def _add_microversion_tests(cls):
    for mv in COMPUTE_MICROVERSIONS:
        def test(self, mv=mv):
            self.check_microversion(mv)
        test.__name__ = 'test_microversion_%s' % mv.replace('.', '_')
        test.__doc__ = 'Server, attachment and flavor schemas at %s' % mv
        setattr(cls, test.__name__, test)


_add_microversion_tests(TestComputeSchemas)


class TestVolumeSchemas(ConformanceTestCase):
    """EVS v2 and v3 volumes and version documents."""

    def check_volumes(self, service):
        volumes = self.client(VolumesClient, service)
        listed = volumes.list_volumes(detail=True)['volumes']
        self.assertIn(self.vid('web-data-1'), [v['id'] for v in listed])
        self.assertTrue(volumes.list_volumes()['volumes'])
        shown = volumes.show_volume(self.vid('shared-disk'))['volume']
        self.assertEqual(2, len(shown['attachments']))

    def test_volumes_v2(self):
        self.check_volumes('volumev2')

    def test_volumes_v3(self):
        self.microversion(volume='3.0')
        self.check_volumes('volumev3')

    def test_volume_versions(self):
        versions = self.client(volume_versions_client.VersionsClient,
                               'volumev3')
        listed = versions.list_versions()['versions']
        self.assertEqual(['v2.0', 'v3.0'], sorted(v['id'] for v in listed))
        shown = versions.show_version('v3')['versions']
        self.assertEqual(['v3.0'], [v['id'] for v in shown])


class TestImages(ConformanceTestCase):
    """IMS through tempest's glance v2 clients."""

    def test_images_and_schemas(self):
        images = self.client(images_client.ImagesClient, 'image')
        listed = images.list_images()['images']
        self.assertTrue(listed)
        one = images.show_image(listed[0]['id'])
        self.assertEqual(listed[0]['id'], one['id'])
        schemas = self.client(schemas_client.SchemasClient, 'image')
        self.assertEqual('image', schemas.show_schema('image')['name'])
        self.assertEqual('images', schemas.show_schema('images')['name'])


class SDKTestCase(ConformanceTestCase):

    def setUp(self):
        super(SDKTestCase, self).setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        path = self.sim.write_clouds_yaml(os.path.join(tmp, 'clouds.yaml'),
                                          volume_api_version='3')
        for key in list(os.environ):
            if key.startswith('OS_'):
                self.useFixture(fixtures.EnvironmentVariable(key))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', path))
        self.conn = openstack.connect(cloud='otc-sim')
        self.addCleanup(self.conn.close)


class TestOpenStackSDK(SDKTestCase):
    """openstacksdk's proxies and waiters."""

    def test_attachments_and_volumes(self):
        server = self.conn.compute.get_server(self.sid('web-linux'))
        attached = [a.volume_id for a in
                    self.conn.compute.volume_attachments(server)]
        self.assertIn(self.vid('web-data-1'), attached)
        volume = self.conn.block_storage.get_volume(self.vid('web-data-1'))
        self.assertEqual('in-use', volume.status)
        names = [v.name for v in self.conn.block_storage.volumes()]
        self.assertIn('web-data-1', names)
        self.conn.compute.delete_volume_attachment(server, volume)
        self.conn.block_storage.wait_for_status(volume, 'available',
                                                interval=0.2, wait=10)
        self.conn.compute.create_volume_attachment(server,
                                                   volume_id=volume.id)
        self.conn.block_storage.wait_for_status(volume, 'in-use',
                                                interval=0.2, wait=10)

    def test_stop_start_and_waiters(self):
        server = self.conn.compute.get_server(self.sid('web-linux'))
        self.conn.compute.stop_server(server)
        self.conn.compute.wait_for_server(server, status='SHUTOFF',
                                          interval=0.2, wait=10)
        self.conn.compute.start_server(server)
        self.conn.compute.wait_for_server(server, status='ACTIVE',
                                          interval=0.2, wait=10)

    def test_images(self):
        images = list(self.conn.image.images())
        self.assertTrue(images)
        one = self.conn.image.get_image(images[0].id)
        self.assertEqual(images[0].name, one.name)


class TestOTCExtensions(SDKTestCase):
    """otcextensions' native ECS job resource on the native detach."""

    def test_native_job(self):
        otc_sdk.register_otc_extensions(self.conn)
        job_id = self.conn.session.request(
            self.sim.endpoints['ecs'] + '/cloudservers/%s/detachvolume/%s'
            % (self.sid('web-linux'), self.vid('web-data-1')),
            'DELETE').json()['job_id']
        job = otc_job.Job(id=job_id).fetch(self.conn.ecs)
        self.assertIn(job.status, ('RUNNING', 'SUCCESS', 'INIT'))
        self.assertEqual('detachVolume', job.type)

    def test_server_tags(self):
        # otcextensions replaces openstacksdk's Server.add_tag and
        # remove_tag with OTC's native tags/action, reached by swapping
        # the first path segment of the compute endpoint for "v1"
        otc_sdk.register_otc_extensions(self.conn)
        server = self.conn.compute.get_server(self.sid('web-linux'))
        server.add_tag(self.conn.compute, 'env=prod')
        self.assertEqual(['env=prod'], self.sim.server('web-linux')['tags'])
        self.assertEqual(['env=prod'],
                         self.conn.compute.get_server(server.id).tags)
        server.remove_tag(self.conn.compute, 'env=prod')
        self.assertEqual([], self.sim.server('web-linux')['tags'])
