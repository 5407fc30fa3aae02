"""Few sequential round trips: what a user far from OTC waits for.

Every request is delayed by the simulator's latency fault, so requests
sent one after another cannot overlap and the log shows which were sent
side by side.  The assertions are counts from the log, never times.
"""

import os

from tests.functional import base
import testtools
import yaml

from otcclient_detach.simulator import scenario as sim_scenario

#: Added to every request: long enough that requests sent side by side
#: overlap in the log even when a busy machine starts a thread late,
#: short enough to keep the tests quick.
LATENCY = 0.25

#: A running ECS, a data disk, by names: identity discovery, token, the
#: lookups (compute discovery, server, volume) side by side, the system
#: disk and its OS (EVS's disk list of the server), the DELETE.
ROUND_TRIPS_RUNNING_BY_NAMES = 5
FEATURES = os.path.join(os.path.dirname(sim_scenario.__file__), 'scenarios',
                        'features.yaml')


class RoundTripTestCase(base.SimulatorTestCase):

    volume_api_version = '3'

    def setUp(self):
        super(RoundTripTestCase, self).setUp()
        self.sim.add_fault('*', '.*', latency=LATENCY, count=None)

    def overlapping(self, first, second):
        return first['started'] < second['finished'] and \
            second['started'] < first['finished']


class RoundTripTest(RoundTripTestCase):

    def test_running_ecs_by_names(self):
        result = self.detach('web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertEqual(ROUND_TRIPS_RUNNING_BY_NAMES,
                         base.round_trips(self.sim.requests),
                         self.sim.requests)

    def test_four_without_identity_discovery(self):
        # auth_type v3password names the identity version itself, so
        # keystoneauth reads no version document before the token.
        with open(self.clouds_yaml, encoding='utf-8') as f:
            config = yaml.safe_load(f)
        for cloud in config['clouds'].values():
            cloud['auth_type'] = 'v3password'
            self.assertTrue(cloud['auth']['auth_url'].endswith('/v3'))
        with open(self.clouds_yaml, 'w', encoding='utf-8') as f:
            yaml.safe_dump(config, f)
        result = self.detach('web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertEqual([], self.requests('GET', service='identity'))
        self.assertEqual(ROUND_TRIPS_RUNNING_BY_NAMES - 1,
                         base.round_trips(self.sim.requests),
                         self.sim.requests)

    def test_lookups_side_by_side(self):
        result = self.detach('web-linux', 'web-data-1', 'web-data-2')
        self.assertEqual(0, result.returncode, result)
        server = self.requests('GET', '/servers/detail', 'compute')
        volumes = self.requests('GET', '/volumes/detail', 'volume')
        self.assertEqual(1, len(server), self.sim.requests)
        self.assertEqual(2, len(volumes), self.sim.requests)
        for volume in volumes:
            self.assertTrue(self.overlapping(server[0], volume),
                            self.sim.requests)

    def test_no_delete_before_every_read(self):
        # Safety: every fact is read before the first DELETE is sent.
        result = self.detach('web-linux', 'web-data-1', 'web-data-2')
        self.assertEqual(0, result.returncode, result)
        deletes = self.deletes()
        self.assertEqual(2, len(deletes), self.sim.requests)
        first = min(d['started'] for d in deletes)
        for r in self.sim.requests:
            if r['method'] == 'GET':
                self.assertLessEqual(r['finished'], first, r)

    def test_stopped_ecs_needs_no_os_round_trip(self):
        result = self.detach('db-stopped', 'db-data')
        self.assertDetachedOnce(result, 'db-stopped', 'db-data')
        # Identity discovery, token, lookups, DELETE.
        self.assertEqual(4, base.round_trips(self.sim.requests),
                         self.sim.requests)


class KeyAndOsRoundTripTest(RoundTripTestCase):
    """KMS's describe-key beside the OS read, not after it."""

    scenario = FEATURES

    def test_key_read_beside_the_os_read(self):
        result = self.detach('crypt-running', 'enc-enabled')
        self.assertDetachedOnce(result, 'crypt-running', 'enc-enabled')
        keys = self.requests('POST', '/kms/describe-key', 'kms')
        lists = self.requests('GET', '/cloudvolumes/detail', 'volume')
        self.assertEqual((1, 1), (len(keys), len(lists)), self.sim.requests)
        self.assertTrue(self.overlapping(keys[0], lists[0]),
                        self.sim.requests)
        self.assertEqual(ROUND_TRIPS_RUNNING_BY_NAMES,
                         base.round_trips(self.sim.requests),
                         self.sim.requests)

    def test_two_keys_and_the_os_side_by_side(self):
        result = self.detach('--dry-run', 'crypt-running', 'enc-enabled',
                             'enc-disabled')
        self.assertEqual(1, result.returncode, result)
        reads = (self.requests('POST', '/kms/describe-key', 'kms') +
                 self.requests('GET', '/cloudvolumes/detail', 'volume'))
        self.assertEqual(3, len(reads), self.sim.requests)
        for first in reads:
            for second in reads:
                self.assertTrue(self.overlapping(first, second),
                                self.sim.requests)


class RoundTripCountTest(testtools.TestCase):
    """base.round_trips on logs written by hand."""

    def entry(self, started, finished):
        return {'started': started, 'finished': finished}

    def test_sequential_requests_each_count(self):
        log = [self.entry(0, 1), self.entry(1, 2), self.entry(2.5, 3)]
        self.assertEqual(3, base.round_trips(log))

    def test_overlapping_requests_count_once(self):
        log = [self.entry(0, 1), self.entry(1.1, 2), self.entry(1.2, 2.1),
               self.entry(1.3, 1.9), self.entry(2.2, 3)]
        self.assertEqual(3, base.round_trips(log))

    def test_longest_chain_not_the_last_request(self):
        # A long request beside a chain of three short ones.
        log = [self.entry(0, 3), self.entry(0, 1), self.entry(1, 2),
               self.entry(2, 3)]
        self.assertEqual(3, base.round_trips(log))
        self.assertEqual(0, base.round_trips([]))
