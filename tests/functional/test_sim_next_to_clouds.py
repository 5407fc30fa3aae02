"""``otc-detach-sim serve`` next to the user's own clouds: where requests go.

The user's own cloud is a second simulator, named ``mine`` in the
clouds.yaml of a home directory made for the test; their shell also has
an openrc's ``OS_*`` variables pointing at it.  ``otc-detach-sim serve``
runs as a real process with that environment, and the real ``openstack``
console script is run with each set-up ``serve`` prints.  Both
simulators' request logs say where each command went.
"""

import os
import subprocess
import sys

import fixtures
import requests
import testtools
from tests.functional import base
import yaml

from otcclient_detach.simulator.clientenv import CLOUD
from otcclient_detach.simulator import Simulator

DETACH = ('server', 'volume', 'detach-otc', 'web-linux')


def sim_executable():
    return os.path.join(os.path.dirname(sys.executable), 'otc-detach-sim')


class ServeOutput(object):
    """The lines ``serve`` printed, up to and with the control API line."""

    def __init__(self, lines):
        self.lines = lines
        words = lines[-1].split()
        self.control_url = words[2].rsplit('/_sim/', 1)[0]
        self.admin_token = words[words.index(
            '"X-Sim-Admin-Token:') + 1].rstrip('"')

    def block(self, comment_start):
        """The lines after the comment starting so, up to the next one."""
        start = next(i for i, line in enumerate(self.lines)
                     if line.startswith(comment_start)) + 1
        end = start
        while end < len(self.lines) - 1 and not self.lines[end].startswith(
                ('#', 'control API:')):
            end += 1
        return self.lines[start:end]

    def requests(self):
        resp = requests.get(self.control_url + '/_sim/requests', timeout=10,
                            headers={'X-Sim-Admin-Token': self.admin_token})
        resp.raise_for_status()
        return resp.json()


class TestServeNextToOwnClouds(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.home = os.path.join(self.tmp, 'home')
        self.own_clouds = os.path.join(self.home, '.config', 'openstack',
                                       'clouds.yaml')
        self.mine = Simulator()
        self.mine.start()
        self.addCleanup(self.mine.stop)
        self.mine.write_clouds_yaml(self.own_clouds, cloud='mine')
        self.sim_clouds = os.path.join(self.tmp, 'sim', 'clouds.yaml')
        self.serve = self.start_serve()

    def user_env(self):
        """A shell of the user: their HOME and an openrc for ``mine``."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        env['HOME'] = self.home
        env.update(self.mine.env_vars())
        return env

    def start_serve(self):
        proc = subprocess.Popen(
            [sim_executable(), 'serve', '--clouds-yaml', self.sim_clouds,
             '--print-env', '--print-cloud'], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, universal_newlines=True,
            env=self.user_env(), cwd=self.tmp)
        self.addCleanup(self._stop, proc)
        lines = []
        for line in proc.stdout:
            lines.append(line.rstrip('\n'))
            if line.startswith('control API:'):
                return ServeOutput(lines)
        self.fail('serve ended early: %s %s' % (lines, proc.stderr.read()))

    def _stop(self, proc):
        proc.terminate()
        proc.communicate(timeout=30)

    def run_user(self, argv, env=None):
        result = subprocess.run(
            argv, env=env or self.user_env(), cwd=self.tmp,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, universal_newlines=True,
            timeout=base.CLI_TIMEOUT)
        self.assertNotIn('Traceback', result.stderr)
        return result

    def deletes(self):
        """DELETEs of attachments seen by (the simulator, ``mine``)."""
        def pick(log):
            return [r['path'] for r in log if r['method'] == 'DELETE' and
                    'os-volume_attachments' in r['path']]
        return pick(self.serve.requests()), pick(self.mine.requests)

    def unset_openrc(self, env):
        for key in self.mine.env_vars():
            env.pop(key, None)
        return env

    def test_pasted_entry_next_to_own_cloud(self):
        entry = self.serve.block('# paste under "clouds:"')
        with open(self.own_clouds, 'a') as fh:
            fh.write('\n'.join(entry) + '\n')
        with open(self.own_clouds) as fh:
            self.assertEqual(['mine', CLOUD],
                             sorted(yaml.safe_load(fh)['clouds']))
        # Without the openrc, as serve's warning and the docs ask.
        env = self.unset_openrc(self.user_env())
        osc = base.openstack_executable()
        result = self.run_user([osc, '--os-cloud', 'mine'] + list(DETACH) +
                               ['web-data-1'], env)
        self.assertEqual(0, result.returncode, result.stderr)
        sim_deletes, own_deletes = self.deletes()
        self.assertEqual([], self.serve.requests())
        self.assertEqual(1, len(own_deletes))
        result = self.run_user([osc, '--os-cloud', CLOUD] + list(DETACH) +
                               ['web-data-2'], env)
        self.assertEqual(0, result.returncode, result.stderr)
        sim_deletes, own_deletes = self.deletes()
        self.assertEqual(1, len(sim_deletes))
        self.assertEqual(1, len(own_deletes))

    def test_printed_env_never_reaches_own_cloud(self):
        lines = self.serve.block('# for this shell')
        self.assertFalse([line for line in lines if 'OS_AUTH' in line or
                          'OS_PASSWORD' in line], lines)
        osc = base.openstack_executable()
        script = '\n'.join(lines) + '\n"$@"\n'
        as_user = ['sh', '-c', script, 'sh', osc]
        result = self.run_user(as_user + ['--os-cloud', 'mine'] +
                               list(DETACH) + ['web-data-1'])
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertIn('Cloud mine was not found', result.stderr)
        self.assertEqual([], self.mine.requests)
        self.assertEqual([], self.serve.requests())
        # The openrc for "mine" in the same shell does not redirect it.
        result = self.run_user(as_user + list(DETACH) + ['web-data-1'])
        self.assertEqual(0, result.returncode, result.stderr)
        sim_deletes, own_deletes = self.deletes()
        self.assertEqual(1, len(sim_deletes))
        self.assertEqual([], own_deletes)

    def test_shell_reaches_the_simulator_only(self):
        shell = [sim_executable(), 'shell', '--clouds-yaml', self.sim_clouds,
                 '--', base.openstack_executable()]
        result = self.run_user(shell + list(DETACH) + ['web-data-1'])
        self.assertEqual(0, result.returncode, result.stderr)
        sim_deletes, own_deletes = self.deletes()
        self.assertEqual(1, len(sim_deletes))
        self.assertEqual([], self.mine.requests)
        result = self.run_user(shell + ['--os-cloud', 'mine'] + list(DETACH) +
                               ['web-data-2'])
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertEqual([], self.mine.requests)
