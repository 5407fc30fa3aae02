"""Tests of scenario loading, the threaded server, the clients and the CLI."""

import io
import json
import os
import subprocess
import sys
import threading
import time

import fixtures
import requests
import testtools
import yaml

from otcclient_detach.simulator import cli
from otcclient_detach.simulator import demo
from otcclient_detach.simulator import ids
from otcclient_detach.simulator import scenario
from otcclient_detach.simulator import Simulator
from otcclient_detach.simulator import tls


def minimal(**extra):
    data = {
        'servers': [{'name': 'vm1', 'status': 'ACTIVE'}],
        'volumes': [
            {'name': 'vm1-sys', 'attachments': [
                {'server': 'vm1', 'device': '/dev/vda'}]},
            {'name': 'data', 'attachments': [
                {'server': 'vm1', 'device': '/dev/vdb'}]}],
    }
    data.update(extra)
    return data


class TestScenario(testtools.TestCase):

    def test_defaults(self):
        sc = scenario.load(minimal())
        self.assertEqual('eu-de', sc['region'])
        self.assertEqual('eu-de', sc['project']['name'])
        self.assertEqual(32, len(sc['project']['id']))
        self.assertEqual('v2.1', sc['compute_version'])
        self.assertEqual(1.0, sc['timings']['detach_seconds'])
        self.assertEqual('otc-user', sc['users'][0]['name'])
        self.assertEqual(ids.sim_id('server', 'vm1'), sc['servers'][0]['id'])
        vols = {v['name']: v for v in sc['volumes']}
        self.assertTrue(vols['vm1-sys']['bootable'])
        self.assertFalse(vols['data']['bootable'])
        self.assertEqual('/dev/vda', sc['servers'][0]['root_device_name'])

    def test_demo_ids_are_predictable(self):
        sc = scenario.load()
        vols = [v for v in sc['volumes'] if v['name'] == 'dup-disk']
        self.assertEqual([ids.sim_id('volume', 'dup-disk'),
                          ids.sim_id('volume', 'dup-disk', 2)],
                         [v['id'] for v in vols])
        self.assertEqual(scenario.load()['servers'], sc['servers'])

    def test_demo_content(self):
        sc = scenario.load()
        servers = {s['name']: s for s in sc['servers']}
        vols = {v['name']: v for v in sc['volumes']}

        def at(vol):
            return [(servers_by_id[a['server_id']], a['device'])
                    for a in vols[vol]['attachments']]
        servers_by_id = {s['id']: s['name'] for s in sc['servers']}
        self.assertEqual(('ACTIVE', '/dev/vda'), (
            servers['web-linux']['status'],
            servers['web-linux']['root_device_name']))
        self.assertEqual([('web-linux', '/dev/vda')], at('web-linux-sys'))
        self.assertEqual('CentOS 7.6 64bit', vols['web-linux-sys'][
            'volume_image_metadata']['__os_version'])
        for name, dev in (('web-data-1', '/dev/vdb'),
                          ('web-data-2', '/dev/vdc'),
                          ('web-data-3', '/dev/vdd'),
                          ('web-stuck', '/dev/vde')):
            self.assertEqual([('web-linux', dev)], at(name))
        self.assertTrue(vols['web-stuck']['guest_refuses'])
        self.assertEqual('/dev/sda', servers['win-app']['root_device_name'])
        self.assertEqual('Windows', vols['win-app-sys'][
            'volume_image_metadata']['__os_type'])
        self.assertEqual('true', vols['win-scsi']['metadata'][
            'hw:passthrough'])
        self.assertEqual([('win-app', '/dev/sdc')], at('win-vbd'))
        self.assertEqual('SHUTOFF', servers['db-stopped']['status'])
        self.assertEqual('Debian GNU/Linux 10.0.0 64bit', vols[
            'db-stopped-sys']['volume_image_metadata']['__os_version'])
        self.assertEqual('powering-off',
                         servers['busy-stopping']['task_state'])
        self.assertEqual({}, vols['legacy-sys']['volume_image_metadata'])
        images = {i['id']: i for i in sc['images']}
        legacy_image = images[servers['legacy-os']['metadata'][
            'metering.image_id']]
        self.assertEqual('Slackware 14.2 64bit',
                         legacy_image['properties']['__os_version'])
        self.assertEqual([('cluster-a', '/dev/vdb'),
                          ('cluster-b', '/dev/vdb')], at('shared-disk'))
        self.assertEqual([], vols['spare-disk']['attachments'])

    def test_files(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 's.json')
        with open(path, 'w') as fh:
            json.dump(minimal(region='eu-nl'), fh)
        self.assertEqual('eu-nl', scenario.load(path)['region'])
        path = os.path.join(tmp, 's.yaml')
        with open(path, 'w') as fh:
            fh.write('servers: [\n')
        self.assertRaisesRegex(scenario.ScenarioError, 'cannot parse',
                               scenario.load, path)
        self.assertRaisesRegex(scenario.ScenarioError, 'cannot read',
                               scenario.load, os.path.join(tmp, 'none'))

    def assertInvalid(self, pattern, data):
        self.assertRaisesRegex(scenario.ScenarioError, pattern,
                               scenario.load, data)

    def test_validation(self):
        self.assertInvalid(r"scenario: unknown key\(s\) colour",
                           minimal(colour=1))
        self.assertInvalid("compute_version", minimal(compute_version='v3'))
        self.assertInvalid(r"timings.detach_seconds: expected a number",
                           minimal(timings={'detach_seconds': 'x'}))
        bad = minimal()
        bad['servers'][0]['status'] = 'RUNNING'
        self.assertInvalid(r"servers\[0\].status: 'RUNNING'", bad)
        bad = minimal()
        bad['volumes'][1]['attachments'][0]['server'] = 'vm9'
        self.assertInvalid(r"volumes\[1\].attachments\[0\].server: unknown "
                           r"server 'vm9'", bad)
        bad = minimal()
        bad['volumes'][1]['attachments'][0]['device'] = '/dev/vda'
        self.assertInvalid("already used by volume vm1-sys", bad)
        bad = minimal()
        bad['servers'].append({'name': 'vm2'})
        bad['volumes'][1]['attachments'].append(
            {'server': 'vm2', 'device': '/dev/vdb'})
        self.assertInvalid("multiattach is false", bad)
        bad = minimal()
        bad['volumes'][1]['status'] = 'available'
        self.assertInvalid("contradicts", bad)
        bad = minimal()
        bad['volumes'][1]['size'] = -1
        self.assertInvalid(r"volumes\[1\].size", bad)
        bad = minimal(images=[{'name': 'a'}, {'name': 'a'}])
        self.assertInvalid("duplicate image name", bad)
        bad = minimal()
        bad['servers'][0]['image'] = 'nope'
        self.assertInvalid("unknown image 'nope'", bad)
        bad = minimal()
        bad['servers'][0]['flavor'] = 'huge'
        self.assertInvalid("not an OTC flavor", bad)
        self.assertInvalid(r"users\[0\]: missing required key 'password'",
                           minimal(users=[{'name': 'u'}]))
        bad = minimal()
        bad['servers'].append({'name': 'x', 'id': bad['servers'][0].get(
            'id', ids.sim_id('server', 'vm1'))})
        self.assertInvalid("duplicate id", bad)


class TestSimulatorServer(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        for key in list(os.environ):
            if key.startswith('OS_'):
                self.useFixture(fixtures.EnvironmentVariable(key))

    def test_start_stop_fast_and_clean(self):
        before = set(threading.enumerate())
        start = time.monotonic()
        sim_a = Simulator().start()
        sim_b = Simulator(scenario=minimal()).start()
        try:
            self.assertNotEqual(sim_a.port, sim_b.port)
            url_a = sim_a.base_url
            for sim in (sim_a, sim_b):
                resp = requests.get(sim.url('compute') + '/', timeout=5)
                self.assertEqual(200, resp.status_code)
        finally:
            sim_a.stop()
            sim_b.stop()
        self.assertLess(time.monotonic() - start, 1.0)
        self.assertEqual(before, set(threading.enumerate()))
        # The port is closed again.
        self.assertRaises(requests.ConnectionError, requests.get,
                          url_a + '/', timeout=1)

    def test_stop_ends_latency(self):
        sim = Simulator().start()
        sim.add_fault('GET', '^/$', latency=30, service='compute')
        thread = threading.Thread(target=lambda: requests.get(
            sim.url('compute') + '/', timeout=10))
        thread.start()
        time.sleep(0.1)
        start = time.monotonic()
        sim.stop()
        thread.join()
        self.assertLess(time.monotonic() - start, 0.5)

    def test_openstacksdk(self):
        import openstack
        with Simulator() as sim:
            path = sim.write_clouds_yaml(os.path.join(self.tmp, 'c.yaml'))
            with open(path) as fh:
                conf = yaml.safe_load(fh)['clouds']['otc-sim']
            self.assertEqual(sim.auth_url, conf['auth']['auth_url'])
            self.assertEqual('2', conf['volume_api_version'])
            self.useFixture(fixtures.EnvironmentVariable(
                'OS_CLIENT_CONFIG_FILE', path))
            conn = openstack.connect(cloud='otc-sim')
            server = conn.compute.find_server('web-linux',
                                              ignore_missing=False)
            self.assertEqual(ids.sim_id('server', 'web-linux'), server.id)
            volume = conn.block_storage.get_volume(
                ids.sim_id('volume', 'web-data-1'))
            self.assertEqual(('web-data-1', 'in-use'),
                             (volume.name, volume.status))
            # A revoked token is answered with 401: keystoneauth must
            # re-authenticate and retry on its own.
            sim.revoke_tokens()
            sim.clear_requests()
            conn.compute.get_server(server.id)
            log = [(r['method'], r['path'].split('/')[-1], r['status'])
                   for r in sim.requests]
            self.assertIn(('POST', 'tokens', 201), log)
            self.assertEqual(('GET', server.id, 200), log[-1])
            self.assertIn(401, [r['status'] for r in sim.requests])
            conn.close()

    def test_application_credential_and_tls(self):
        import openstack
        with Simulator(tls=True) as sim:
            self.assertTrue(sim.base_url.startswith('https://'))
            path = sim.write_clouds_yaml(
                os.path.join(self.tmp, 'c.yaml'),
                auth_type='v3applicationcredential')
            self.useFixture(fixtures.EnvironmentVariable(
                'OS_CLIENT_CONFIG_FILE', path))
            conn = openstack.connect(cloud='otc-sim')
            self.assertEqual('win-app', conn.compute.get_server(
                ids.sim_id('server', 'win-app')).name)
            conn.close()
            for service in sim.ports:
                self.assertRaises(requests.exceptions.SSLError, requests.get,
                                  sim.url(service) + '/', timeout=5)
            self.assertEqual(200, requests.get(
                sim.auth_url, verify=sim.cacert, timeout=5).status_code)

    def test_python_api(self):
        sim = Simulator(scenario=minimal(timings={'detach_seconds': 0.0}))
        self.assertFalse(sim.running)
        self.assertRaises(RuntimeError, getattr, sim, 'port')
        with sim:
            self.assertTrue(sim.running)
            sim.patch_volume('data', guest_refuses=True)
            self.assertTrue(sim.volume('data')['guest_refuses'])
            self.assertEqual('ERROR', sim.patch_server(
                'vm1', status='ERROR')['status'])
            self.assertEqual(['vm1-sys', 'data'],
                             [v['name'] for v in sim.server('vm1')['volumes']])
            self.assertRaises(ValueError, sim.patch_server, 'vm1', size=1)
            rule = sim.add_fault('GET', '/servers', status=500, count=None)
            self.assertIsNone(rule.count)
            sim.clear_faults()
            conf = sim.clouds_config(extra={'auth': {'password': 'x'},
                                            'api_timeout': 5},
                                     insecure=True)['clouds']['otc-sim']
            self.assertEqual(('x', 5, False), (
                conf['auth']['password'], conf['api_timeout'],
                conf['verify']))
            self.assertEqual('otc-user', conf['auth']['username'])
        self.assertFalse(sim.running)
        self.assertGreater(sim.port, 0)

    def test_tls_helper(self):
        cert, key = tls.generate_self_signed(self.tmp)
        self.assertTrue(os.path.exists(cert))
        self.assertEqual(0o600, os.stat(key).st_mode & 0o777)


CONTROL_PROBE = """\
import json, os, sys, urllib.error, urllib.request
url = os.environ['OTC_SIM_URL'] + '/_sim/state'
token = os.environ['OTC_SIM_ADMIN_TOKEN']
req = urllib.request.Request(url, headers={'X-Sim-Admin-Token': token})
state = json.load(urllib.request.urlopen(req))
try:
    urllib.request.urlopen(urllib.request.Request(
        url, headers={'X-Sim-Admin-Token': token + 'x'}))
except urllib.error.HTTPError as exc:
    sys.exit(0 if exc.code == 403 and state['servers'] else 8)
sys.exit(9)
"""


class TestCli(testtools.TestCase):

    def test_clean_env(self):
        env = cli.clean_env('/x/clouds.yaml', {
            'OS_PASSWORD': 'p', 'OS_AUTH_URL': 'u', 'OS_CLOUD': 'prod',
            'OS_VOLUME_API_VERSION': '3', 'PATH': '/bin'})
        self.assertEqual({
            'OS_CLIENT_CONFIG_FILE': '/x/clouds.yaml', 'OS_CLOUD': 'otc-sim',
            'OS_CLIENT_SECURE_FILE': '/x/secure.yaml',
            'OS_VOLUME_API_VERSION': '3', 'PATH': '/bin'}, env)

    def test_run(self):
        code = ('import os, sys, yaml;'
                'f = open(os.environ["OS_CLIENT_CONFIG_FILE"]);'
                'c = yaml.safe_load(f);'
                'sys.exit(0 if os.environ["OS_CLOUD"] in c["clouds"] else 9)')
        self.assertEqual(0, cli.main(['run', '--', sys.executable, '-c',
                                      code]))
        self.assertEqual(3, cli.main(['run', '--', sys.executable, '-c',
                                      'raise SystemExit(3)']))

    def test_run_hands_over_the_control_api(self):
        # the command reads the simulator's state through /_sim with the
        # admin token it was given, and is refused with another one
        script = os.path.join(self.useFixture(fixtures.TempDir()).path,
                              'probe.py')
        with open(script, 'w') as fh:
            fh.write(CONTROL_PROBE)
        self.assertEqual(0, cli.main(['run', '--', sys.executable, script]))

    def test_bad_scenario(self):
        stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        self.assertEqual(2, cli.main(['run', '--scenario', '/nonexistent',
                                      '--', 'true']))
        self.assertIn('cannot read scenario /nonexistent', stderr.getvalue())

    def test_serve_sigterm(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        clouds = os.path.join(tmp, 'clouds.yaml')
        proc = subprocess.Popen(
            [sys.executable, '-c', 'from otcclient_detach.simulator.cli '
             'import main; raise SystemExit(main())', 'serve',
             '--clouds-yaml', clouds], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            self.assertIn('serving http://127.0.0.1:', line)
            self.assertTrue(os.path.exists(clouds))
            proc.terminate()
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        self.assertEqual(0, proc.returncode)
        self.assertNotIn('Traceback', err)

    def test_demo_step_checks(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        fake = os.path.join(tmp, 'openstack')
        with open(fake, 'w') as fh:
            fh.write('#!/bin/sh\necho refused >&2\nexit 1\n')
        os.chmod(fake, 0o755)
        out = io.StringIO()
        with Simulator() as sim:
            refused, detached = demo.STEPS[0], demo.STEPS[2]
            self.assertTrue(demo.run_step(sim, refused, fake, {}, out))
            self.assertFalse(demo.run_step(sim, detached, fake, {}, out))
        text = out.getvalue()
        self.assertIn('$ openstack server volume detach-otc web-linux '
                      'web-linux-sys', text)
        self.assertIn('PASS', text)
        self.assertIn('FAIL', text)
        self.assertIn('exit status 1, expected 0', text)
