"""Tests for otcclient_detach.facts (gathering) and errors (error bodies).

The gatherer must resolve names and IDs the way OSC does but with fewer
requests, pick the OS from the best source there is, and ask for the OS
only when a rule needs it (a running ECS): ECS API reference, "Detaching
a Disk from an ECS", Constraints, and IMS "External Image File Formats
and Supported OSs".
"""

import re
from unittest import mock

from keystoneauth1 import exceptions as ks_exceptions
import testtools
from tests.unit import fakes

from otcclient_detach import cloud
from otcclient_detach import errors
from otcclient_detach import facts
from otcclient_detach import model
from otcclient_detach import sources
from otcclient_detach import reads
from otcclient_detach import render


class GathererTestCase(testtools.TestCase):

    def setUp(self):
        super(GathererTestCase, self).setUp()
        self.cloud = fakes.FakeCloud()
        self.gatherer = facts.Gatherer(self.cloud.connection)
        patcher = mock.patch('otcclient_detach.reads.evs_native_endpoint',
                             return_value=self.cloud.evs)
        patcher.start()
        self.addCleanup(patcher.stop)

    def lookup_failure(self, error_type, lookup, ref):
        """The words the user reads for a lookup that names no one disk.

        The reads raise a value; render words it (workflow turns it into
        the CommandError the user sees).
        """
        e = self.assertRaises(error_type, lookup, ref)
        return render.lookup_failed(e)

    def assertNothingUnrouted(self):
        self.assertEqual([], self.cloud.unrouted())


class TestLooksLikeId(testtools.TestCase):

    def test_uuid_forms(self):
        self.assertTrue(reads.looks_like_id(
            '0b5e8a3c-1d2f-4a6b-9c8d-7e6f5a4b3c2d'))
        self.assertTrue(reads.looks_like_id(
            '0b5e8a3c1d2f4a6b9c8d7e6f5a4b3c2d'))

    def test_names(self):
        for value in ('web-1', '', None, 'data-0b5e8a3c', '12345'):
            self.assertFalse(reads.looks_like_id(value), value)


class TestServerResolution(GathererTestCase):

    def test_id_is_fetched_by_id_only(self):
        server = self.cloud.add_server('web-1')
        found = self.gatherer.reads.server(server['id'])
        self.assertEqual(server['id'], found.id)
        self.assertEqual(
            [('compute', 'GET', '/servers/%s' % server['id'], None)],
            self.cloud.sent())

    def test_server_requests_use_the_highest_common_microversion(self):
        server = self.cloud.add_server('web-1')
        self.gatherer.reads.server(server['id'])
        self.gatherer.reads.server('web-1')
        self.assertEqual(['2.60', '2.60'],
                         [c.microversion for c in self.cloud.compute.calls])

    def test_microversion_capped_by_the_cloud(self):
        self.cloud = fakes.FakeCloud(max_microversion='2.26')
        self.gatherer = facts.Gatherer(self.cloud.connection)
        self.cloud.add_server('web-1')
        self.gatherer.reads.server('web-1')
        self.assertEqual('2.26', self.cloud.compute.calls[0].microversion)

    def test_no_microversion_where_the_cloud_names_none(self):
        self.cloud = fakes.FakeCloud(max_microversion=None)
        self.gatherer = facts.Gatherer(self.cloud.connection)
        server = self.cloud.add_server('web-1')
        self.assertEqual(server['id'], self.gatherer.reads.server('web-1').id)
        self.assertIsNone(self.cloud.compute.calls[0].microversion)

    def test_requests_do_not_raise_in_keystoneauth(self):
        # raise_exc=False lets the cloud's error codes reach the user.
        server = self.cloud.add_server('web-1')
        self.gatherer.reads.server(server['id'])
        self.assertEqual([False],
                         [c.raise_exc for c in self.cloud.compute.calls])

    def test_uuid_not_found_by_id_is_tried_as_name(self):
        name = '0b5e8a3c-1d2f-4a6b-9c8d-7e6f5a4b3c2d'
        server = self.cloud.add_server(name)
        found = self.gatherer.reads.server(name)
        self.assertEqual(server['id'], found.id)
        self.assertEqual(
            [('compute', 'GET', '/servers/%s' % name, None),
             ('compute', 'GET', '/servers/detail',
              {'name': '^%s$' % re.escape(name)})],
            self.cloud.sent())

    def test_uuid_by_id_other_error_propagates(self):
        name = '0b5e8a3c-1d2f-4a6b-9c8d-7e6f5a4b3c2d'
        self.cloud.compute.route('GET', '/servers/%s' % name, status=403,
                                 body=fakes.nova_error(403, 'Forbidden'))
        e = self.assertRaises(errors.CloudError, self.gatherer.reads.server,
                              name)
        self.assertEqual(403, e.status)
        self.assertEqual(1, len(self.cloud.sent()))

    def test_name_is_listed_without_a_get_by_id(self):
        server = self.cloud.add_server('web-1')
        found = self.gatherer.reads.server('web-1')
        self.assertEqual(server['id'], found.id)
        self.assertEqual(
            [('compute', 'GET', '/servers/detail',
              {'name': r'^web\-1$'})],
            self.cloud.sent())

    def test_name_filter_is_exact_although_nova_matches_a_regex(self):
        self.cloud.add_server('web-2')
        web = self.cloud.add_server('web')
        self.cloud.add_server('my-web')
        # The fake answers like nova: all three match the regex 'web'.
        found = self.gatherer.reads.server('web')
        self.assertEqual(web['id'], found.id)
        self.assertEqual('web', found.name)

    def test_dot_in_name_does_not_match_other_characters(self):
        dotted = self.cloud.add_server('web.1')
        self.cloud.add_server('webx1')
        self.assertEqual(dotted['id'], self.gatherer.reads.server('web.1').id)

    def test_ambiguous_name_lists_every_id(self):
        one = self.cloud.add_server('web')
        two = self.cloud.add_server('web')
        words = self.lookup_failure(reads.Ambiguous,
                                    self.gatherer.reads.server, 'web')
        self.assertIn(one['id'], words)
        self.assertIn(two['id'], words)
        self.assertIn("More than one server exists with the name 'web'",
                      words)

    def test_unknown_name(self):
        self.cloud.add_server('web-2')
        words = self.lookup_failure(reads.NotFound,
                                    self.gatherer.reads.server, 'web')
        self.assertEqual("No server with a name or ID of 'web' exists.",
                         words)

    def test_unknown_uuid(self):
        name = '0b5e8a3c-1d2f-4a6b-9c8d-7e6f5a4b3c2d'
        words = self.lookup_failure(reads.NotFound,
                                    self.gatherer.reads.server, name)
        self.assertEqual("No server with a name or ID of '%s' exists." %
                         name, words)

    def test_empty_name_is_refused_without_a_request(self):
        for value in ('', '   '):
            words = self.lookup_failure(reads.EmptyRef,
                                        self.gatherer.reads.server, value)
            self.assertIn('must not be empty', words)
        self.assertEqual([], self.cloud.sent())

    def test_server_fields(self):
        server = self.cloud.add_server(
            'web-1', status='active', task_state='powering-off',
            locked=True, root_device_name='/dev/sda',
            metadata={'os_type': 'Linux'}, volumes=[('v-1', '/dev/sda')])
        found = self.gatherer.reads.server(server['id'])
        self.assertEqual(
            model.Server(id=server['id'], name='web-1', status='ACTIVE',
                         task_state='powering-off', locked=True,
                         root_device_name='/dev/sda',
                         metadata={'os_type': 'Linux'},
                         volumes_attached=[
                             {'id': 'v-1', 'device': '/dev/sda',
                              'delete_on_termination': False}]),
            found)

    def test_empty_task_state_is_none(self):
        server = self.cloud.add_server('web-1', task_state='')
        self.assertIsNone(self.gatherer.reads.server(server['id']).task_state)


class TestVolumeResolution(GathererTestCase):

    def test_id_is_fetched_by_id_only(self):
        volume = self.cloud.add_volume('data-1')
        found = self.gatherer.reads.volume(volume['id'])
        self.assertEqual(volume['id'], found.id)
        self.assertEqual(
            [('block-storage', 'GET', '/volumes/%s' % volume['id'], None)],
            self.cloud.sent())

    def test_uuid_not_found_by_id_is_tried_as_name(self):
        name = '0b5e8a3c-1d2f-4a6b-9c8d-7e6f5a4b3c2d'
        volume = self.cloud.add_volume(name)
        self.assertEqual(volume['id'], self.gatherer.reads.volume(name).id)
        self.assertEqual(
            [('block-storage', 'GET', '/volumes/%s' % name, None),
             ('block-storage', 'GET', '/volumes/detail', {'name': name})],
            self.cloud.sent())

    def test_name_is_listed_without_a_get_by_id(self):
        volume = self.cloud.add_volume('data-1')
        self.assertEqual(volume['id'], self.gatherer.reads.volume('data-1').id)
        self.assertEqual(
            [('block-storage', 'GET', '/volumes/detail',
              {'name': 'data-1'})],
            self.cloud.sent())

    def test_name_filter_is_exact(self):
        # Some clouds filter volumes loosely too.
        data = self.cloud.add_volume('data')
        other = fakes.volume_body(name='data-2')
        self.cloud.block_storage.route(
            'GET', '/volumes/detail',
            body={'volumes': [other, self.cloud.volumes[data['id']]]})
        self.assertEqual(data['id'], self.gatherer.reads.volume('data').id)

    def test_ambiguous_name(self):
        one = self.cloud.add_volume('data')
        two = self.cloud.add_volume('data')
        words = self.lookup_failure(reads.Ambiguous,
                                    self.gatherer.reads.volume, 'data')
        self.assertIn(one['id'], words)
        self.assertIn(two['id'], words)

    def test_unknown(self):
        words = self.lookup_failure(reads.NotFound,
                                    self.gatherer.reads.volume, 'nope')
        self.assertEqual("No volume with a name or ID of 'nope' exists.",
                         words)

    def test_empty(self):
        words = self.lookup_failure(reads.EmptyRef,
                                    self.gatherer.reads.volume, '')
        self.assertIn('Volume name or ID must not be empty', words)
        self.assertEqual([], self.cloud.sent())

    def test_volume_fields(self):
        server = self.cloud.add_server('web-1')
        volume = self.cloud.add_volume(
            'data-1', server, '/dev/vdb', metadata={'hw:passthrough': 'true'},
            os_version=fakes.LINUX_OS, os_type='Linux', multiattach=True)
        found = self.gatherer.reads.volume_by_id(volume['id'])
        self.assertEqual('in-use', found.status)
        self.assertTrue(found.is_scsi)
        self.assertEqual({'__os_version': fakes.LINUX_OS,
                          '__os_type': 'Linux'}, found.image_metadata)
        attachment = found.attachment_to(server['id'])
        self.assertEqual('/dev/vdb', attachment.device)

    def test_attachments_lists_nova_entries(self):
        server = self.cloud.add_server('web-1')
        volume = self.cloud.add_volume('data-1', server, '/dev/vdb')
        self.assertEqual(
            [{'id': volume['id'], 'volumeId': volume['id'],
              'serverId': server['id'], 'device': '/dev/vdb'}],
            self.gatherer.reads.attachments(server['id']))
        self.assertEqual(
            [('GET', '/servers/%s/os-volume_attachments' % server['id'])],
            self.cloud.compute.requests())


class TestOsInfo(GathererTestCase):
    """Where the OS of a running ECS is read, and at what cost."""

    def setUp(self):
        super(TestOsInfo, self).setUp()
        self.server = self.cloud.add_server(
            'web-1', metadata={'os_type': 'Linux',
                               'image_name': 'my-image'})
        self.system = self.cloud.add_volume(
            'web-1-sys', self.server, '/dev/vda', os_version=fakes.LINUX_OS,
            os_type='Linux')
        self.data = self.cloud.add_volume('data-1', self.server, '/dev/vdb')

    def os_info(self, volume=None):
        server = self.gatherer.reads.server_by_id(self.server['id'])
        vol = self.gatherer.reads.volume_by_id((volume or self.data)['id'])
        del self.cloud.log[:]
        # The one read of the system disk's sources that every path
        # makes for a running ECS, here asked for the OS too.
        return sources.SystemDisk(self.gatherer.reads).read(
            server, [model.Facts(server, vol)], True)

    def disk_list(self):
        return ('evs', 'GET', '/cloudvolumes/detail',
                {'server_id': self.server['id']})

    def old_path(self):
        """nova's attachment list, then the system disk's GET."""
        return [('compute', 'GET', '/servers/%s/os-volume_attachments' %
                 self.server['id'], None),
                ('block-storage', 'GET', '/volumes/%s' % self.system['id'],
                 None)]

    def test_from_system_disk_in_evs_disk_list(self):
        # OTC's volumes_attached has no device: EVS's disk list of the
        # server names the system disk and its OS in one read.
        for entry in self.server['os-extended-volumes:volumes_attached']:
            entry.pop('device', None)
        found = self.os_info()
        self.assertEqual(fakes.LINUX_OS, found.version)
        self.assertEqual('Linux', found.os_type)
        self.assertIn('volume_image_metadata of system disk web-1-sys',
                      found.source)
        self.assertEqual([self.disk_list()], self.cloud.sent())

    def assertFallsBack(self):
        """The old path is taken, and finds the same OS."""
        found = self.os_info()
        self.assertEqual(fakes.LINUX_OS, found.version)
        self.assertEqual([self.disk_list()] + self.old_path(),
                         self.cloud.sent())

    def test_disk_list_refused_falls_back(self):
        for status in (404, 400, 403):
            self.cloud.evs.route('GET', '/cloudvolumes/detail', times=1,
                                 status=status,
                                 body=fakes.otc_error('EVS.0001', 'no'))
            self.assertFallsBack()

    def test_disk_list_without_a_list_falls_back(self):
        for body in ({'count': 1}, {'volumes': 'web-1-sys'},
                     {'volumes': [{'name': 'no id'}]},
                     {'volumes': [dict(self.system, attachments=1)]},
                     {'volumes': [dict(self.system,
                                       volume_image_metadata='x')]}):
            self.cloud.evs.route('GET', '/cloudvolumes/detail', times=1,
                                 body=body)
            self.assertFallsBack()

    def test_two_disks_at_root_device_name_fall_back(self):
        twin = dict(self.system, id=fakes.new_id('vol'),
                    volume_image_metadata={'__os_version': 'Windows 95'})
        self.cloud.evs.route('GET', '/cloudvolumes/detail', body={
            'volumes': [self.system, twin], 'count': 2})
        self.assertFallsBack()

    def test_disk_list_ignoring_the_filter_still_finds_this_server(self):
        # A disk of another server at the same device is no system disk
        # of this one.
        other = self.cloud.add_server('web-2')
        self.cloud.add_volume('web-2-sys', other, '/dev/vda',
                              os_version=fakes.UNLISTED_OS)
        self.cloud.evs.route('GET', '/cloudvolumes/detail', body={
            'volumes': list(self.cloud.volumes.values()), 'count': 3})
        found = self.os_info()
        self.assertEqual(fakes.LINUX_OS, found.version)
        self.assertEqual([self.disk_list()], self.cloud.sent())

    def test_disk_list_pages_are_followed_by_marker(self):
        sid = self.server['id']
        self.cloud.evs.route('GET', '/cloudvolumes/detail',
                             params={'server_id': sid},
                             body={'volumes': [self.data], 'count': 2})
        self.cloud.evs.route('GET', '/cloudvolumes/detail',
                             params={'server_id': sid,
                                     'marker': self.data['id']},
                             body={'volumes': [self.system], 'count': 2})
        found = self.os_info()
        self.assertEqual(fakes.LINUX_OS, found.version)
        self.assertEqual(2, len(self.cloud.sent()))

    def test_disk_list_without_end_falls_back(self):
        self.cloud.evs.route('GET', '/cloudvolumes/detail', body={
            'volumes': [self.data],
            'volumes_links': [{'rel': 'next', 'href': 'x'}]})
        found = self.os_info()
        self.assertEqual(fakes.LINUX_OS, found.version)
        self.assertEqual([self.disk_list()] + self.old_path(),
                         [c for c in self.cloud.sent()
                          if c[0] != 'evs' or c[3] == self.disk_list()[3]])
        self.assertEqual(reads.MAX_DISK_LIST_PAGES, len(
            [c for c in self.cloud.sent() if c[0] == 'evs']))

    def test_without_root_device_name_the_native_boot_index_decides(self):
        self.server['OS-EXT-SRV-ATTR:root_device_name'] = None
        sid = self.server['id']
        self.cloud.ecs.route('GET', '/cloudservers/%s' % sid, body={
            'server': {'id': sid, 'os-extended-volumes:volumes_attached': [
                {'id': self.data['id'], 'bootIndex': '-1'},
                {'id': self.system['id'], 'bootIndex': '0'}]}})
        with mock.patch('otcclient_detach.detach.native_endpoint',
                        return_value=self.cloud.ecs):
            found = self.os_info()
        self.assertEqual(fakes.LINUX_OS, found.version)
        self.assertEqual(
            [('ecs', 'GET', '/cloudservers/%s' % sid, None),
             ('block-storage', 'GET', '/volumes/%s' % self.system['id'],
              None)], self.cloud.sent())

    def test_without_root_device_name_nor_native_api_no_system_disk(self):
        self.server['OS-EXT-SRV-ATTR:root_device_name'] = None
        with mock.patch('otcclient_detach.detach.native_endpoint',
                        return_value=self.cloud.ecs):
            found = self.os_info()
        # Only the server's image_name is left: not confirmed.
        self.assertFalse(found.confirmed)

    def test_root_device_name_decides_over_the_usual_names(self):
        # The system disk is /dev/sdz here; /dev/vda is a data disk.
        self.server['OS-EXT-SRV-ATTR:root_device_name'] = '/dev/sdz'
        self.cloud.volumes[self.system['id']]['attachments'][0][
            'device'] = '/dev/sdz'
        self.server['os-extended-volumes:volumes_attached'][0][
            'device'] = '/dev/sdz'
        decoy = self.cloud.add_volume('decoy', self.server, '/dev/vda',
                                      os_version=fakes.UNLISTED_OS)
        found = self.os_info()
        self.assertEqual(fakes.LINUX_OS, found.version)
        self.assertNotIn(('block-storage', 'GET', '/volumes/%s' %
                          decoy['id'], None), self.cloud.sent())

    def test_from_attachment_list_when_volumes_attached_has_no_device(self):
        # Upstream nova lists only IDs in os-extended-volumes; a cloud
        # without EVS's disk list: nova's attachment list.
        for entry in self.server['os-extended-volumes:volumes_attached']:
            del entry['device']
        self.cloud.evs.route('GET', '/cloudvolumes/detail', status=404,
                             body=fakes.nova_error(404, 'Not Found'))
        self.assertFallsBack()

    def test_detaching_the_system_disk_reads_the_disk_list_too(self):
        # Every path reads the system disk the same way: one read of
        # EVS's disk list, even when the system disk itself is detached.
        found = self.os_info(self.system)
        self.assertEqual(fakes.LINUX_OS, found.version)
        self.assertEqual([self.disk_list()], self.cloud.sent())

    def test_from_image_named_in_server_metadata(self):
        image = self.cloud.add_image(os_version='Ubuntu 20.04 server 64bit')
        self.server['metadata']['metering.image_id'] = image['id']
        del self.cloud.volumes[self.system['id']]['volume_image_metadata']
        found = self.os_info()
        self.assertEqual('Ubuntu 20.04 server 64bit', found.version)
        self.assertEqual('Linux', found.os_type)
        self.assertEqual('image %s (%s)' % (image['name'], image['id']),
                         found.source)
        # The listed system disk has no __os_version: as before, the
        # image.
        self.assertEqual(
            [self.disk_list(),
             ('image', 'GET', '/images/%s' % image['id'], None)],
            self.cloud.sent())

    def test_from_image_named_in_system_disk_metadata(self):
        image = self.cloud.add_image(os_version=fakes.WINDOWS_OS,
                                     os_type='Windows')
        self.cloud.volumes[self.system['id']]['volume_image_metadata'] = {
            'image_id': image['id']}
        found = self.os_info()
        self.assertEqual(fakes.WINDOWS_OS, found.version)
        self.assertEqual('Windows', found.os_type)
        self.assertIn(('image', 'GET', '/images/%s' % image['id'], None),
                      self.cloud.sent())

    def test_system_disk_metadata_wins_over_image(self):
        image = self.cloud.add_image(os_version=fakes.WINDOWS_OS)
        self.server['metadata']['metering.image_id'] = image['id']
        found = self.os_info()
        self.assertEqual(fakes.LINUX_OS, found.version)
        self.assertNotIn('image', [c[0] for c in self.cloud.sent()])

    def test_image_gone_falls_back_to_server_metadata(self):
        self.server['metadata']['metering.image_id'] = 'gone'
        del self.cloud.volumes[self.system['id']]['volume_image_metadata']
        found = self.os_info()
        self.assertEqual('my-image', found.version)
        self.assertEqual('Linux', found.os_type)
        self.assertIn('metadata (image_name) of server web-1', found.source)

    def test_image_error_other_than_404_propagates(self):
        self.server['metadata']['metering.image_id'] = 'img-1'
        del self.cloud.volumes[self.system['id']]['volume_image_metadata']
        # A refusal (not retried, unlike a 5xx): no seconds of backoff.
        self.cloud.image.route('GET', '/images/img-1', status=403,
                               body=fakes.nova_error(403, 'forbidden'))
        e = self.assertRaises(errors.CloudError, self.os_info)
        self.assertEqual(403, e.status)

    def test_from_server_metadata_without_image_request(self):
        del self.cloud.volumes[self.system['id']]['volume_image_metadata']
        found = self.os_info()
        self.assertEqual(model.OsInfo(
            'my-image', 'Linux', 'the metadata (image_name) of server web-1',
            confirmed=False), found)
        self.assertNotIn('image', [c[0] for c in self.cloud.sent()])

    def test_nothing_known(self):
        self.server['metadata'] = {}
        del self.cloud.volumes[self.system['id']]['volume_image_metadata']
        found = self.os_info()
        self.assertIsNone(found.version)
        self.assertIsNone(found.os_type)

    def test_no_system_disk_found(self):
        self.cloud.detach(self.server['id'], self.system['id'])
        found = self.os_info()
        self.assertEqual('my-image', found.version)
        self.assertFalse(found.confirmed)
        # No disk at root_device_name in EVS's list: nova's list, once.
        self.assertEqual(
            [self.disk_list(),
             ('compute', 'GET',
              '/servers/%s/os-volume_attachments' % self.server['id'],
              None)],
            self.cloud.sent())


class TestGather(GathererTestCase):

    def setUp(self):
        super(TestGather, self).setUp()
        self.server = self.cloud.linux_server('web-1')
        self.system = self.cloud.system_volume(self.server)
        self.data1 = self.cloud.add_volume('data-1', self.server, '/dev/vdb')
        self.data2 = self.cloud.add_volume('data-2', self.server, '/dev/vdc')

    def test_running_ecs_by_names(self):
        gathered = self.gatherer.gather('web-1', ['data-1'])
        self.assertEqual(1, len(gathered))
        self.assertEqual(self.server['id'], gathered[0].server.id)
        self.assertEqual(self.data1['id'], gathered[0].volume.id)
        self.assertEqual(fakes.LINUX_OS, gathered[0].os.version)
        self.assertEqual(
            [('compute', 'GET', '/servers/detail',
              {'name': r'^web\-1$'}),
             ('block-storage', 'GET', '/volumes/detail',
              {'name': 'data-1'}),
             ('evs', 'GET', '/cloudvolumes/detail',
              {'server_id': self.server['id']})],
            self.cloud.sent())
        self.assertNothingUnrouted()

    def test_os_is_read_once_for_several_volumes(self):
        gathered = self.gatherer.gather('web-1', ['data-1', 'data-2'])
        self.assertEqual([self.data1['id'], self.data2['id']],
                         [f.volume.id for f in gathered])
        self.assertIs(gathered[0].os, gathered[1].os)
        self.assertEqual(1, self.cloud.sent().count(
            ('evs', 'GET', '/cloudvolumes/detail',
             {'server_id': self.server['id']})))

    def test_stopped_ecs_needs_no_os(self):
        self.server['status'] = 'SHUTOFF'
        gathered = self.gatherer.gather('web-1', ['web-1-sys', 'data-1'])
        self.assertEqual([None, None], [f.os for f in gathered])
        self.assertEqual(
            [('compute', 'GET', '/servers/detail',
              {'name': r'^web\-1$'}),
             ('block-storage', 'GET', '/volumes/detail',
              {'name': 'web-1-sys'}),
             ('block-storage', 'GET', '/volumes/detail',
              {'name': 'data-1'})],
            self.cloud.sent())

    def disk_list(self):
        return ('evs', 'GET', '/cloudvolumes/detail',
                {'server_id': self.server['id']})

    def test_stop_first_needs_no_os(self):
        # The system disk's sources are read all the same (every path
        # reads them alike): the one disk list, no OS read beyond it.
        gathered = self.gatherer.gather('web-1', ['data-1'],
                                        stop_first=True)
        self.assertIsNone(gathered[0].os)
        self.assertEqual(3, len(self.cloud.sent()))
        self.assertEqual(self.disk_list(), self.cloud.sent()[-1])
        self.assertNothingUnrouted()

    def test_volume_not_attached_needs_no_os(self):
        self.cloud.add_volume('loose')
        gathered = self.gatherer.gather('web-1', ['loose'])
        self.assertIsNone(gathered[0].os)
        self.assertEqual(3, len(self.cloud.sent()))
        self.assertEqual(self.disk_list(), self.cloud.sent()[-1])

    def test_every_path_reads_the_system_disk_sources(self):
        for stop_first in (False, True):
            gathered = self.gatherer.gather('web-1', ['data-1'],
                                            stop_first=stop_first)
            devices = gathered[0].server.devices
            self.assertEqual(['/dev/vda'], [
                r.value for r in devices[self.system['id']]])
            self.assertEqual(['/dev/vdb'], [
                r.value for r in devices[self.data1['id']]])
            is_system, _, weak = model.system_disk(gathered[0])
            self.assertFalse(is_system)
            self.assertFalse(weak)
        self.assertEqual(2, self.cloud.sent().count(self.disk_list()))

    def test_duplicate_arguments_are_gathered_once(self):
        gathered = self.gatherer.gather(
            'web-1', ['data-1', self.data1['id'], 'data-1', 'data-2'])
        self.assertEqual([self.data1['id'], self.data2['id']],
                         [f.volume.id for f in gathered])

    def test_repeated_argument_is_looked_up_once(self):
        self.gatherer.gather('web-1', ['data-1', 'data-1'])
        self.assertEqual(1, self.cloud.sent().count(
            ('block-storage', 'GET', '/volumes/detail', {'name': 'data-1'})))

    def test_server_error_wins_over_volume_errors(self):
        # The lookups run side by side; the error shown does not depend
        # on which finished first: the server's comes first.
        error = self.assertRaises(reads.NotFound,
                                  self.gatherer.gather, 'nope', ['nope-2'])
        self.assertIn("No server with a name or ID of 'nope'",
                      render.lookup_failed(error))
        self.assertEqual({'compute', 'block-storage'},
                         {c[0] for c in self.cloud.sent()})


class TestEvsNativeEndpoint(testtools.TestCase):
    """EVS's /v2 beside the block storage endpoint, whichever version."""

    def test_beside_v3_and_v2(self):
        for api in ('v2', 'v3'):
            block_storage = fakes.FakeProxy('block-storage',
                                            fakes.VOLUME_ENDPOINTS[api])
            evs = reads.evs_native_endpoint(block_storage)
            self.assertEqual(fakes.VOLUME_ENDPOINTS['v2'],
                             evs.endpoint_override)
            self.assertIs(block_storage.session, evs.session)
            # The proxy's retry settings (clouds.yaml) carry over.
            self.assertEqual(block_storage.connect_retries,
                             evs.connect_retries)


class TestErrorFrom(testtools.TestCase):

    def test_nova_style_with_custom_errno(self):
        message = ("Cannot 'detach_volume' instance abc while it is in "
                   "task_state powering-off")
        e = errors.error_from(fakes.response(
            409, fakes.nova_error(409, message, errno='0101046')))
        self.assertEqual(409, e.status)
        self.assertEqual(message, e.message)
        self.assertIsNone(e.code)
        self.assertEqual('0101046', e.errno)
        self.assertEqual(errors.HINTS['0101046'], e.hint)
        self.assertEqual('%s (HTTP 409, 0101046). Hint: %s' % (
            message, errors.HINTS['0101046']), str(e))

    def test_nova_style_without_errno(self):
        e = errors.error_from(fakes.response(
            404, fakes.nova_error(404, 'volume_id not found: v')))
        self.assertEqual('volume_id not found: v', e.message)
        self.assertIsNone(e.hint)
        self.assertEqual('volume_id not found: v (HTTP 404)', str(e))

    def test_otc_style(self):
        e = errors.error_from(fakes.response(
            400, fakes.otc_error('Ecs.0100', 'ECS status is not valid.')))
        self.assertEqual(400, e.status)
        self.assertEqual('Ecs.0100', e.code)
        self.assertEqual('ECS status is not valid.', e.message)
        self.assertEqual(errors.HINTS['Ecs.0100'], e.hint)
        self.assertIn('(HTTP 400, Ecs.0100). Hint: ', str(e))

    def test_flat_message(self):
        e = errors.error_from(fakes.response(
            429, {'message': 'Too many requests', 'code': 'Common.1503'}))
        self.assertEqual('Too many requests', e.message)
        self.assertEqual('Common.1503', e.code)
        self.assertIn('flow control', str(e))

    def test_html_body(self):
        e = errors.error_from(fakes.response(
            502, text='  <html><body>Bad Gateway</body></html>\n'))
        self.assertEqual(502, e.status)
        self.assertEqual('<html><body>Bad Gateway</body></html>', e.message)
        self.assertIsNone(e.code)
        self.assertIsNone(e.errno)

    def test_long_text_is_cut(self):
        e = errors.error_from(fakes.response(500, text='x' * 1000))
        self.assertEqual(300, len(e.message))

    def test_empty_body_uses_reason(self):
        e = errors.error_from(fakes.response(503))
        self.assertEqual('Service Unavailable', e.message)
        self.assertEqual('Service Unavailable (HTTP 503)', str(e))

    def test_nothing_at_all(self):
        e = errors.error_from(fakes.response(500, reason=''))
        self.assertEqual('no message', e.message)

    def test_json_without_message(self):
        e = errors.error_from(fakes.response(400, {'badRequest': {}}))
        self.assertEqual(400, e.status)
        self.assertTrue(e.message)


class TestRequest(testtools.TestCase):

    def setUp(self):
        super(TestRequest, self).setUp()
        self.proxy = fakes.FakeProxy('compute', fakes.COMPUTE_ENDPOINT)

    def test_success_returns_response(self):
        self.proxy.route('GET', '/x', status=200, body={'a': 1})
        self.assertEqual({'a': 1}, cloud.get_json(self.proxy, '/x',
                                                  params={'p': '1'}))
        call = self.proxy.calls[0]
        self.assertFalse(call.raise_exc)
        self.assertEqual({'p': '1'}, call.params)

    def test_error_raises_cloud_error(self):
        self.proxy.route('DELETE', '/x', status=409, body=fakes.nova_error(
            409, 'busy', errno='0101046'))
        e = self.assertRaises(errors.CloudError, cloud.request, self.proxy,
                              'DELETE', '/x')
        self.assertEqual('0101046', e.errno)

    def test_connection_errors_propagate(self):
        self.proxy.route('GET', '/x', ks_exceptions.ConnectFailure('down'))
        self.assertRaises(ks_exceptions.ConnectFailure, cloud.request,
                          self.proxy, 'GET', '/x')
