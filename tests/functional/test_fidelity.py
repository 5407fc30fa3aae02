"""Stock python-openstackclient commands against the simulator.

If the simulator answers the stock commands the way OTC does, the tests
of ``detach-otc`` against it mean something.  The last tests show the
problem the command solves: with ``volume_api_version: 2``, as OTC
recommends, stock ``server remove volume`` fails before any request.
"""

import json

from tests.functional import base


class TestStockCommands(base.SimulatorTestCase):

    def json_of(self, *argv, **kwargs):
        result = self.openstack(*(argv + ('-f', 'json')), **kwargs)
        self.assertEqual(0, result.returncode, result)
        self.assertNoTraceback(result)
        return json.loads(result.stdout)

    def test_server_list(self):
        servers = {s['Name']: s for s in self.json_of('server', 'list')}
        for name in ('web-linux', 'win-app', 'db-stopped', 'busy-stopping',
                     'legacy-os', 'cluster-a', 'cluster-b'):
            self.assertIn(name, servers)
        self.assertEqual('ACTIVE', servers['web-linux']['Status'])
        self.assertEqual('ACTIVE', servers['win-app']['Status'])
        self.assertEqual('SHUTOFF', servers['db-stopped']['Status'])
        self.assertEqual(self.server_id('web-linux'),
                         servers['web-linux']['ID'])
        self.assertEqual([], self.deletes())

    def test_server_show(self):
        server = self.json_of('server', 'show', 'web-linux')
        self.assertEqual(self.server_id('web-linux'), server['id'])
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual('/dev/vda',
                         server['OS-EXT-SRV-ATTR:root_device_name'])
        self.assertIsNone(server['OS-EXT-STS:task_state'])
        self.assertIs(False, server['locked'])
        self.assertEqual('Linux', server['properties']['os_type'])
        attached = {v['id']: v['device'] for v in server['volumes_attached']}
        self.assertEqual('/dev/vda', attached[self.volume_id('web-linux-sys')])
        self.assertEqual('/dev/vdb', attached[self.volume_id('web-data-1')])

    def test_server_show_windows_root_device(self):
        server = self.json_of('server', 'show', 'win-app')
        self.assertEqual('/dev/sda',
                         server['OS-EXT-SRV-ATTR:root_device_name'])
        self.assertEqual('Windows', server['properties']['os_type'])

    def test_server_show_busy_task_state(self):
        server = self.json_of('server', 'show', 'busy-stopping')
        self.assertEqual('powering-off', server['OS-EXT-STS:task_state'])

    def test_server_volume_list(self):
        rows = self.json_of('server', 'volume', 'list', 'web-linux')
        devices = {r['Volume ID']: r['Device'] for r in rows}
        self.assertEqual({
            self.volume_id('web-linux-sys'): '/dev/vda',
            self.volume_id('web-data-1'): '/dev/vdb',
            self.volume_id('web-data-2'): '/dev/vdc',
            self.volume_id('web-data-3'): '/dev/vdd',
            self.volume_id('web-stuck'): '/dev/vde',
            self.volume_id('dup-disk'): '/dev/vdf',
            self.volume_id('dup-disk', 2): '/dev/vdg',
        }, devices)
        self.assertEqual({self.server_id('web-linux')},
                         {r['Server ID'] for r in rows})

    def test_volume_list(self):
        volumes = self.json_of('volume', 'list')
        by_name = {}
        for v in volumes:
            by_name.setdefault(v['Name'], []).append(v)
        self.assertEqual(2, len(by_name['dup-disk']))
        self.assertEqual('available', by_name['spare-disk'][0]['Status'])
        self.assertEqual('in-use', by_name['web-data-1'][0]['Status'])
        self.assertEqual(20, by_name['web-data-1'][0]['Size'])
        shared = by_name['shared-disk'][0]['Attached to']
        self.assertEqual(
            {self.server_id('cluster-a'), self.server_id('cluster-b')},
            {a['server_id'] for a in shared})

    def test_volume_show(self):
        volume = self.json_of('volume', 'show', 'web-data-1')
        self.assertEqual(self.volume_id('web-data-1'), volume['id'])
        self.assertEqual('in-use', volume['status'])
        self.assertEqual(20, volume['size'])
        self.assertIs(False, volume['bootable'])
        self.assertEqual(
            [(self.server_id('web-linux'), '/dev/vdb')],
            [(a['server_id'], a['device']) for a in volume['attachments']])

    def test_volume_show_scsi_metadata(self):
        volume = self.json_of('volume', 'show', 'win-scsi')
        self.assertEqual('true', volume['properties']['hw:passthrough'])

    def test_remove_volume_volume_api_3(self):
        result = self.openstack('server', 'remove', 'volume', 'web-linux',
                                'web-data-2',
                                env=self.env(OS_VOLUME_API_VERSION='3'))
        self.assertEqual(0, result.returncode, result)
        self.assertDetachedOnce(result, 'web-linux', 'web-data-2')

    def test_remove_volume_volume_api_2_fails_and_ours_works(self):
        result = self.openstack('server', 'remove', 'volume', 'web-linux',
                                'web-data-2')
        self.assertEqual(1, result.returncode, result)
        self.assertIn("requires API version '3'", result.stderr)
        self.assertEqual([], self.deletes())
        self.assertEqual([], self.requests(path_contains='/servers'))

        self.sim.clear_requests()
        result = self.detach('web-linux', 'web-data-2')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-2')
        self.assertNotEqual([], self.requests('GET', '/v2/', 'volume'))
