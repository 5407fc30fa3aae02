"""The simulator's side of OTC's rules and flow control, over HTTP.

Disks in busy EVS states, bare metal servers and their SCSI disks,
``wwn``, the seven-snapshot limit, OTC's documented error answers as
fault presets, and rate limits on the simulator's (fake) clock.  Each
test runs a real simulator on 127.0.0.1 (scenarios/features.yaml unless
it says otherwise).
"""

import os
import re

import requests
from tests.unit.test_simulator_features import FEATURES_YAML
from tests.unit.test_simulator_features import features_scenario
from tests.unit.test_simulator_features import HTTPTestCase

from otcclient_detach.simulator import cli
from otcclient_detach.simulator import faults
from otcclient_detach.simulator import ids
from otcclient_detach.simulator import ratelimit
from otcclient_detach.simulator import ScenarioError
from otcclient_detach.simulator import Simulator

SNAPSHOT_LIMIT_YAML = os.path.join(os.path.dirname(FEATURES_YAML),
                                   'snapshot-limit.yaml')


class FeaturesTestCase(HTTPTestCase):
    scenario = FEATURES_YAML

    def control(self, method, path, body=None):
        return requests.request(method, self.sim.base_url + '/_sim' + path,
                                json=body, headers=self.sim.control_headers,
                                timeout=5)

    def nova_detach(self, server, volume):
        return self.http.delete(self.url(
            'compute', '/servers/%s/os-volume_attachments/%s' % (
                self.sid(server), self.vid(volume))), timeout=5)

    def native_detach(self, server, volume):
        return self.http.delete(self.url(
            'ecs', '/cloudservers/%s/detachvolume/%s' % (
                self.sid(server), self.vid(volume))), timeout=5)

    def server(self, name, microversion='2.26'):
        return self.get('compute', '/servers/%s' % self.sid(name), headers={
            'OpenStack-API-Version': 'compute ' + microversion}
        ).json()['server']


class TestDiskStates(FeaturesTestCase):

    def test_only_in_use_disks_are_detached(self):
        for volume in ('disk-detaching', 'disk-extending', 'disk-uploading'):
            status = volume.split('-')[1]
            for resp in (self.nova_detach('busy-disks', volume),
                         self.native_detach('busy-disks', volume)):
                self.assertEqual(400, resp.status_code, volume)
                self.assertIn('it is %s.' % status, resp.text)
            self.assertEqual(status, self.sim.volume(volume)['status'])
        self.assertEqual('Ecs.0100', self.native_detach(
            'busy-disks', 'disk-extending').json()['error']['code'])

    def test_error_detaching_is_evs_2021(self):
        resp = self.native_detach('busy-disks', 'disk-error-detaching')
        self.assertEqual(500, resp.status_code)
        self.assertEqual({'code': 'EVS.2021',
                          'message': 'volume is error_detaching!'},
                         resp.json()['error'])
        self.assertEqual(500, self.nova_detach(
            'busy-disks', 'disk-error-detaching').status_code)

    def test_attachments_kept_in_a_busy_state(self):
        vol = self.get('volumev2', '/volumes/%s' % self.vid(
            'disk-extending')).json()['volume']
        self.assertEqual('extending', vol['status'])
        self.assertEqual([self.sid('busy-disks')],
                         [a['server_id'] for a in vol['attachments']])

    def test_status_set_at_run_time(self):
        resp = self.control('POST', '/volumes/disk-scsi',
                            {'status': 'extending'})
        self.assertEqual('extending', resp.json()['status'])
        self.assertEqual(400, self.nova_detach('busy-disks',
                                               'disk-scsi').status_code)
        self.control('POST', '/volumes/disk-scsi', {'status': None})
        self.assertEqual(202, self.nova_detach('busy-disks',
                                               'disk-scsi').status_code)
        resp = self.control('POST', '/volumes/disk-scsi',
                            {'status': 'resting'})
        self.assertEqual(400, resp.status_code)


class TestBareMetal(FeaturesTestCase):

    def test_nova_shows_the_bms_markers(self):
        srv = self.server('bms-windows')
        self.assertEqual(['__type_baremetal'], srv['tags'])
        self.assertEqual('__type_baremetal',
                         srv['metadata']['metering.resourcetype'])
        self.assertEqual('physical.o2.medium.windows',
                         srv['metadata']['metering.resourcespeccode'])
        self.assertEqual('Windows', srv['metadata']['os_type'])
        self.assertEqual('/dev/sda',
                         srv['OS-EXT-SRV-ATTR:root_device_name'])
        self.assertEqual('physical.o2.medium', self.get(
            'compute', '/flavors/physical.o2.medium').json()['flavor']['id'])
        ecs = self.server('busy-disks')
        self.assertEqual([], ecs['tags'])
        self.assertNotIn('metering.resourcetype', ecs['metadata'])

    def test_native_server_and_scsi_disks(self):
        srv = self.get('ecs', '/cloudservers/%s' % self.sid(
            'bms-stopped')).json()['server']
        self.assertEqual('SHUTOFF', srv['status'])
        self.assertEqual(['__type_baremetal'], srv['tags'])
        self.assertEqual('__type_baremetal',
                         srv['metadata']['metering.resourcetype'])
        for name in ('bms-windows-sys', 'bms-windows-data', 'disk-scsi'):
            meta = self.get('volumev2', '/volumes/%s' % self.vid(
                name)).json()['volume']['metadata']
            self.assertEqual('true', meta['hw:passthrough'], name)
        meta = self.get('volumev2', '/volumes/%s' % self.vid(
            'disk-extending')).json()['volume']['metadata']
        self.assertNotIn('hw:passthrough', meta)

    def test_nova_detaches_a_bms_data_disk(self):
        self.assertEqual(202, self.nova_detach(
            'bms-windows', 'bms-windows-data').status_code)
        self.assertEqual(400, self.nova_detach(
            'bms-windows', 'bms-windows-sys').status_code)
        self.clock.advance(2)
        self.assertEqual('available',
                         self.sim.volume('bms-windows-data')['status'])

    def test_scenario_checks(self):
        bad = [{'servers': [{'name': 'b', 'kind': 'bms',
                             'flavor': 's3.medium.2'}]},
               {'servers': [{'name': 'e', 'flavor': 'physical.o2.medium'}]},
               {'servers': [{'name': 'x', 'kind': 'mainframe'}]},
               {'servers': [{'name': 'b', 'kind': 'bms'}],
                'volumes': [{'name': 'v', 'scsi': False, 'attachments': [
                    {'server': 'b', 'device': '/dev/sdb'}]}]}]
        for raw in bad:
            self.assertRaises(ScenarioError, Simulator, raw)


class TestWwn(FeaturesTestCase):

    def test_wwn_in_evs_disk_list(self):
        disks = self.get('volumev2', '/cloudvolumes/detail').json()
        wwns = {d['name']: d['wwn'] for d in disks['volumes']}
        self.assertRegex(wwns['disk-scsi'], '^[0-9a-f]{32}$')
        self.assertEqual(len(wwns), len(set(wwns.values())))
        again = self.get('volumev2', '/cloudvolumes/detail').json()
        self.assertEqual(wwns, {d['name']: d['wwn']
                                for d in again['volumes']})


class TestSnapshotLimit(FeaturesTestCase):
    scenario = SNAPSHOT_LIMIT_YAML

    def create(self, volume):
        return self.post('volumev2', '/snapshots', {'snapshot': {
            'volume_id': self.vid(volume), 'force': True}})

    def count(self, volume, path='/snapshots'):
        # features.yaml pages every 2 items: follow the next links
        page = self.get('volumev2', path, params={
            'volume_id': self.vid(volume)}).json()
        found = page['snapshots']
        while page.get('snapshots_links'):
            page = self.http.get(page['snapshots_links'][0]['href'],
                                 timeout=5).json()
            found += page['snapshots']
        for snap in found:
            self.assertEqual(self.vid(volume), snap['volume_id'])
        return len(found)

    def test_eighth_snapshot_refused(self):
        self.assertEqual(7, self.count('snap-full'))
        self.assertEqual(7, self.count('snap-full', '/snapshots/detail'))
        self.assertEqual(0, self.count('snap-none'))
        resp = self.create('snap-full')
        self.assertEqual(413, resp.status_code)
        self.assertEqual({'code': 413, 'message': 'Maximum number of '
                          'snapshots allowed (7) exceeded'},
                         resp.json()['overLimit'])
        self.assertEqual(7, self.count('snap-full'))

    def test_ids_follow_from_the_volume(self):
        first = ids.sim_id('snapshot', '%s#1' % self.vid('snap-full'))
        snap = self.get('volumev2', '/snapshots/%s' % first).json()
        self.assertEqual(('snap-full-snap-1', 'available'),
                         (snap['snapshot']['name'],
                          snap['snapshot']['status']))

    def test_seventh_allowed_then_refused(self):
        self.assertEqual(6, self.count('snap-six'))
        self.assertEqual(202, self.create('snap-six').status_code)
        self.assertEqual(413, self.create('snap-six').status_code)
        self.assertEqual(7, self.count('snap-six'))
        # every status counts: the error snapshot too
        statuses = [s['status'] for s in self.sim.state.dump()['snapshots']
                    if s['volume_id'] == self.vid('snap-six')]
        self.assertEqual(1, statuses.count('error'))

    def test_scenario_checks(self):
        for snaps in (-1, 'seven', [{'status': 'odd'}], [{'size': 3}]):
            self.assertRaises(ScenarioError, Simulator, features_scenario(
                volumes=[{'name': 'v', 'snapshots': snaps}]))


class TestErrorPresets(FeaturesTestCase):

    def test_every_preset_answers_as_documented(self):
        for name, (status, body, service) in sorted(faults.PRESETS.items()):
            resp = self.control('POST', '/faults', {'preset': name})
            self.assertEqual(201, resp.status_code, resp.text)
            target = 'kms' if service == 'kms' else 'compute'
            resp = self.post(target, '/%s/kms/describe-key'
                             % self.sim.project_id, {}) \
                if target == 'kms' else self.get('compute', '/servers')
            self.assertEqual(status, resp.status_code, name)
            self.assertEqual(body, resp.json(), name)
            code = body['error'].get('code') or body['error']['error_code']
            self.assertEqual(name, code)
        self.assertEqual([], self.control('GET', '/faults').json())

    def test_kms_shape_and_scenario(self):
        body = faults.PRESETS['KMS.0207'][1]
        self.assertEqual({'error_code', 'error_msg'}, set(body['error']))
        scenario = features_scenario(faults=[
            {'preset': 'Ecs.1002', 'method': 'DELETE', 'count': None}])
        with Simulator(scenario) as sim:
            rule = sim.faults.rules()[0]
            self.assertEqual(400, rule['status'])
            self.assertIn('Ecs.1002', rule['body'])
        self.assertRaises(ScenarioError, Simulator, features_scenario(
            faults=[{'preset': 'Ecs.9999'}]))
        rule = self.sim.faults.add('GET', '.', status=409, preset='Ecs.0603')
        self.assertEqual(409, rule.status)


class TestRateLimits(FeaturesTestCase):

    def servers(self):
        return self.get('compute', '/servers')

    def test_token_bucket_on_the_clock(self):
        self.control('POST', '/rate_limits', {
            'rate': 2, 'service': 'compute', 'method': 'GET'})
        got = [self.servers().status_code for _ in range(3)]
        self.assertEqual([200, 200, 429], got)
        resp = self.servers()
        self.assertEqual('Common.1503', resp.json()['error']['code'])
        self.clock.advance(0.5)
        self.assertEqual([200, 429], [self.servers().status_code
                                      for _ in range(2)])
        rule = self.control('GET', '/rate_limits').json()[0]
        self.assertEqual((3, 3), (rule['allowed'], rule['refused']))
        refused = [e for e in self.sim.requests if e['rate_limited']]
        self.assertEqual([429] * 3, [e['status'] for e in refused])
        self.assertEqual(204, self.control('DELETE',
                                           '/rate_limits').status_code)
        self.assertEqual(200, self.servers().status_code)

    def test_202_flow_limit_carries_nothing_out(self):
        self.sim.app.rate_limits.add(rate=1, method='DELETE', answer=202,
                                     burst=1)
        self.assertEqual(202, self.nova_detach(
            'bms-windows', 'bms-windows-data').status_code)
        resp = self.nova_detach('bms-stopped', 'bms-stopped-data')
        self.assertEqual((202, {'error': {'code': 'Common.0024',
                                          'message': 'Flow limit exceeded.'}}),
                         (resp.status_code, resp.json()))
        self.clock.advance(5)
        self.assertEqual('in-use',
                         self.sim.volume('bms-stopped-data')['status'])
        self.assertEqual('available',
                         self.sim.volume('bms-windows-data')['status'])
        last = self.sim.requests[-1]
        self.assertEqual(('DELETE', 202, True),
                         (last['method'], last['status'],
                          last['rate_limited']))

    def test_scenario_and_retry_after(self):
        with Simulator(features_scenario(rate_limits=[
                {'rate': 1, 'path': '/auth/tokens$', 'retry_after': 2}]),
                clock=self.clock) as sim:
            url = sim.auth_url + '/auth/tokens'
            first = requests.post(url, json={}, timeout=5)
            second = requests.post(url, json={}, timeout=5)
        self.assertNotEqual(429, first.status_code)
        self.assertEqual((429, '2'), (second.status_code,
                                      second.headers.get('Retry-After')))
        for bad in ([{'burst': 2}], [{'rate': 0}], [{'rate': 1,
                                                     'answer': 503}],
                    [{'rate': 1, 'path': '('}], [{'rate': 1, 'x': 1}]):
            self.assertRaises(ScenarioError, Simulator,
                              features_scenario(rate_limits=bad))

    def test_cli_spec(self):
        self.assertEqual({'rate': 10.0, 'service': 'compute',
                          'method': 'DELETE', 'answer': 202},
                         ratelimit.parse_spec('rate=10,service=compute,'
                                              'method=DELETE,answer=202'))
        self.assertEqual({'rate': 5.0}, ratelimit.parse_spec('5'))
        for bad in ('', 'colour=red', 'rate=0', 'rate=2,answer=500'):
            self.assertRaises(ValueError, ratelimit.parse_spec, bad)
        args = cli.build_parser().parse_args(
            ['serve', '--rate-limit', '3', '--rate-limit',
             'rate=1,method=DELETE'])
        self.assertEqual([{'rate': 3.0}, {'rate': 1.0, 'method': 'DELETE'}],
                         args.rate_limit)
        args = cli.build_parser().parse_args(
            ['run', '--rate-limit', 'rate=2,answer=202', '--', 'true'])
        rules = cli._simulator(args).app.rate_limits.rules()
        self.assertEqual([(2.0, 202)], [(r['rate'], r['answer'])
                                        for r in rules])
        self.assertTrue(re.search('Common', ratelimit.refusal_body(
            202, 1)['error']['code']))
