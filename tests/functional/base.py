"""The real ``openstack`` executable against the embedded OTC simulator.

Every test gets a fresh simulator on its own free port on 127.0.0.1 and a
clouds.yaml of its own, so tests run in parallel and share no state.  The
environment handed to the CLI holds no OS_* setting of the developer's.
"""

import os
import shutil
import subprocess
import sys

import fixtures
import testtools

from otcclient_detach.simulator import cli as sim_cli
from otcclient_detach.simulator import ids
from otcclient_detach.simulator import server as sim_server

CLI_TIMEOUT = 120


def openstack_executable():
    """The ``openstack`` next to this Python (the tox env), else PATH."""
    here = os.path.join(os.path.dirname(sys.executable), 'openstack')
    return here if os.path.exists(here) else shutil.which('openstack')


class Result(object):
    def __init__(self, argv, proc):
        self.argv = argv
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def __repr__(self):
        return ('openstack %s -> exit %s\n--- stdout\n%s--- stderr\n%s' % (
            ' '.join(self.argv), self.returncode, self.stdout, self.stderr))


class SimulatorTestCase(testtools.TestCase):
    #: A scenario file or dict; None is the built-in demo.
    scenario = None
    #: 'v2' serves compute at /v2/{project_id} in the catalog.
    compute_version = None
    volume_api_version = '2'
    tls = None

    def setUp(self):
        super(SimulatorTestCase, self).setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.sim = sim_server.Simulator(
            scenario=self.scenario, compute_version=self.compute_version,
            tls=self.tls)
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.clouds_yaml = self.write_clouds_yaml()

    def write_clouds_yaml(self, name='clouds.yaml', **kwargs):
        kwargs.setdefault('volume_api_version', self.volume_api_version)
        return self.sim.write_clouds_yaml(os.path.join(self.tmp, name),
                                          **kwargs)

    def env(self, clouds_yaml=None, **extra):
        env = sim_cli.clean_env(clouds_yaml or self.clouds_yaml)
        for key in list(env):
            if key.endswith('_API_VERSION') and key.startswith('OS_'):
                del env[key]
        env.update(extra)
        return env

    def openstack(self, *argv, **kwargs):
        """Run ``openstack ARGV``; return a :class:`Result`."""
        env = kwargs.pop('env', None) or self.env()
        proc = subprocess.run(
            [openstack_executable()] + list(argv), env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, universal_newlines=True,
            timeout=kwargs.pop('timeout', CLI_TIMEOUT), **kwargs)
        return Result(argv, proc)

    def detach(self, *argv, **kwargs):
        return self.openstack('server', 'volume', 'detach-otc', *argv,
                              **kwargs)

    # -- what the simulator saw ---------------------------------------------

    def requests(self, method=None, path_contains=None, service=None):
        """Logged requests; ``service`` is e.g. 'compute' or 'volume'."""
        return [r for r in self.sim.requests
                if (method is None or r['method'] == method) and
                (path_contains is None or path_contains in r['path']) and
                (service is None or r['service'] == service)]

    def deletes(self):
        return self.requests('DELETE')

    def server_id(self, name):
        return ids.sim_id('server', name)

    def volume_id(self, name, occurrence=1):
        return ids.sim_id('volume', name, occurrence)

    def nova_detach_path(self, server, volume, version='v2.1'):
        """Path on the compute port (OTC's ecs host) of nova's detach."""
        return '/%s/%s/servers/%s/os-volume_attachments/%s' % (
            version, self.sim.project_id, self.server_id(server),
            self.volume_id(volume))

    # -- assertions ----------------------------------------------------------

    def assertNoTraceback(self, result):
        for stream in (result.stdout, result.stderr):
            self.assertNotIn('Traceback (most recent call last)', stream,
                             result)

    def assertRefused(self, result, *rule_ids):
        """Exit 1, each rule named on stderr, and no DELETE sent."""
        self.assertEqual(1, result.returncode, result)
        for rule_id in rule_ids:
            self.assertIn('[%s]' % rule_id, result.stderr, result)
        self.assertEqual([], self.deletes(), result)
        self.assertNoTraceback(result)

    def assertDetachedOnce(self, result, server, volume, version='v2.1'):
        """Exit 0 and exactly one DELETE, to the seed's URI."""
        self.assertEqual(0, result.returncode, result)
        self.assertEqual([self.nova_detach_path(server, volume, version)],
                         [r['path'] for r in self.deletes()], result)
        self.assertNoTraceback(result)
