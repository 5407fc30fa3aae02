"""``otc-detach-sim serve``: safe to run, and usable next to real clouds.

Each test runs the real command in a subprocess on 127.0.0.1, reads what
it prints, stops it with SIGINT or SIGTERM and checks the clouds.yaml it
wrote.  Clients run in subprocesses too, with a clean ``OS_*`` env.
"""

import os
import signal
import stat
import subprocess
import sys
import textwrap

import fixtures
import requests
import testtools
import yaml

from otcclient_detach.simulator import cli
from otcclient_detach.simulator import ids
from otcclient_detach.simulator import server
from otcclient_detach.simulator import Simulator

SERVE = [sys.executable, '-c', 'from otcclient_detach.simulator.cli '
         'import main; raise SystemExit(main())', 'serve']
# Lists the clouds a client sees, then finds web-linux in one of them.
CLIENT = textwrap.dedent('''
    import sys
    import openstack
    import openstack.config
    print(sorted(openstack.config.OpenStackConfig().get_cloud_names()))
    conn = openstack.connect(cloud=sys.argv[1])
    print(conn.compute.find_server('web-linux', ignore_missing=False).id)
''')
OWN_CLOUDS = {'clouds': {'mine': {
    'auth': {'auth_url': 'http://127.0.0.1:9/v3', 'username': 'me',
             'password': 'not-used', 'project_name': 'p'},
    'region_name': 'eu-nl'}}}


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(extra)
    return env


class ServeTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.clouds = os.path.join(self.tmp, 'sim', 'clouds.yaml')

    def serve(self, *args):
        """Start serve; return (process, lines up to the control line)."""
        proc = subprocess.Popen(
            SERVE + ['--clouds-yaml', self.clouds] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=clean_env())
        self.addCleanup(self._kill, proc)
        lines = []
        while True:
            line = proc.stdout.readline()
            if not line:
                self.fail('serve ended early: %s %s'
                          % (lines, proc.stderr.read()))
            lines.append(line.rstrip('\n'))
            if line.startswith('control API:'):
                return proc, lines

    def _kill(self, proc):
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    def stop(self, proc, signum=signal.SIGINT):
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=15)
        self.assertEqual(0, proc.returncode, err)
        self.assertNotIn('Traceback', err)
        return out

    def run_client(self, cloud, **env):
        return subprocess.run([sys.executable, '-c', CLIENT, cloud],
                              capture_output=True, text=True, timeout=60,
                              env=clean_env(**env))

    def assertServeRefused(self, reason):
        """A serve with self.clouds exits 1, printing only ``reason``."""
        result = subprocess.run(SERVE + ['--clouds-yaml', self.clouds],
                                capture_output=True, text=True, timeout=30,
                                env=clean_env())
        self.assertEqual(1, result.returncode)
        self.assertEqual('', result.stdout)
        self.assertEqual(1, len(result.stderr.splitlines()), result.stderr)
        self.assertIn(reason, result.stderr)

    def write_own_clouds(self):
        path = os.path.join(self.tmp, 'own', 'clouds.yaml')
        os.makedirs(os.path.dirname(path))
        with open(path, 'w') as fh:
            yaml.safe_dump(OWN_CLOUDS, fh)
        return path


class TestServeSafety(ServeTestCase):

    def test_clouds_yaml_marked_0600_and_removed(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            proc, lines = self.serve()
            self.assertIn('serving http://127.0.0.1:', lines[0])
            mode = stat.S_IMODE(os.stat(self.clouds).st_mode)
            self.assertEqual(0o600, mode)
            with open(self.clouds) as fh:
                self.assertEqual(server.CLOUDS_YAML_MARKER + '\n',
                                 fh.readline())
                self.assertIn('otc-sim', yaml.safe_load(fh)['clouds'])
            out = self.stop(proc, signum)
            self.assertFalse(os.path.exists(self.clouds))
            self.assertIn('%s removed' % self.clouds, out)

    def test_rewrites_its_own_file_as_0600(self):
        os.makedirs(os.path.dirname(self.clouds))
        with open(self.clouds, 'w') as fh:
            fh.write(server.CLOUDS_YAML_MARKER + '\nclouds: {}\n')
        os.chmod(self.clouds, 0o644)
        proc, _ = self.serve()
        self.assertEqual(0o600, stat.S_IMODE(os.stat(self.clouds).st_mode))
        self.stop(proc)

    def test_never_overwrites_a_foreign_file(self):
        os.makedirs(os.path.dirname(self.clouds))
        mine = yaml.safe_dump(OWN_CLOUDS)
        with open(self.clouds, 'w') as fh:
            fh.write(mine)
        self.assertServeRefused('refusing to overwrite %s' % self.clouds)
        with open(self.clouds) as fh:
            self.assertEqual(mine, fh.read())

    def test_second_serve_leaves_the_running_ones_file(self):
        first, _ = self.serve()
        with open(self.clouds) as fh:
            written = fh.read()
        mtime = os.stat(self.clouds).st_mtime_ns
        self.assertServeRefused('another otc-detach-sim serve is running '
                                'with %s' % self.clouds)
        with open(self.clouds) as fh:
            self.assertEqual(written, fh.read())
        self.assertEqual(mtime, os.stat(self.clouds).st_mtime_ns)
        self.assertIsNone(first.poll())
        self.assertIn('%s removed' % self.clouds, self.stop(first))
        # Its claim ends with it: the next serve may use the file again.
        again, _ = self.serve()
        self.stop(again)

    def test_shell_needs_a_running_serve(self):
        shell = SERVE[:-1] + ['shell', '--clouds-yaml', self.clouds, '--',
                              'true']
        result = subprocess.run(shell, capture_output=True, text=True,
                                timeout=30, env=clean_env())
        self.assertEqual(1, result.returncode)
        self.assertIn('no otc-detach-sim serve is running', result.stderr)
        proc, _ = self.serve()
        result = subprocess.run(shell[:-1] + ['sh', '-c', 'echo $OS_CLOUD'],
                                capture_output=True, text=True, timeout=30,
                                env=clean_env(OS_PASSWORD='mine'))
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('otc-sim\n', result.stdout)
        self.stop(proc)

    def test_python_api_refuses_foreign_files_and_symlinks(self):
        sim = Simulator()
        foreign = os.path.join(self.tmp, 'foreign.yaml')
        with open(foreign, 'w') as fh:
            fh.write('clouds: {}\n')
        self.assertRaises(server.ForeignFileError, sim.write_clouds_yaml,
                          foreign)
        link = os.path.join(self.tmp, 'link.yaml')
        os.symlink(foreign, link)
        self.assertRaises(server.ForeignFileError, sim.write_clouds_yaml,
                          link)
        with open(foreign) as fh:
            self.assertEqual('clouds: {}\n', fh.read())
        self.assertFalse(server.remove_clouds_yaml(foreign))
        self.assertTrue(os.path.exists(foreign))

    def test_remote_host_needs_allow_remote(self):
        result = subprocess.run(
            SERVE + ['--clouds-yaml', self.clouds, '--host', '0.0.0.0'],
            capture_output=True, text=True, timeout=30, env=clean_env())
        self.assertEqual(2, result.returncode)
        self.assertIn('--host 0.0.0.0 would let other machines reach the '
                      'simulator; add --allow-remote', result.stderr)
        self.assertFalse(os.path.exists(self.clouds))
        for host in ('127.0.0.1', '127.0.0.2', '::1', 'localhost'):
            self.assertTrue(cli.is_loopback(host), host)
        for host in ('0.0.0.0', '::', '192.168.1.10', 'example.org'):
            self.assertFalse(cli.is_loopback(host), host)

    def test_control_api_needs_the_printed_token(self):
        proc, lines = self.serve()
        words = lines[-1].split()
        url = words[2]
        token = words[words.index('"X-Sim-Admin-Token:') + 1].rstrip('"')
        self.assertEqual(403, requests.get(url, timeout=5).status_code)
        self.assertEqual(403, requests.get(url, timeout=5, headers={
            'X-Sim-Admin-Token': 'guess'}).status_code)
        resp = requests.get(url, timeout=5,
                            headers={'X-Sim-Admin-Token': token})
        self.assertEqual(200, resp.status_code)
        self.assertIn('servers', resp.json())
        self.stop(proc)


class TestNextToOwnClouds(ServeTestCase):

    def test_help_says_how(self):
        result = subprocess.run(SERVE + ['--help'], capture_output=True,
                                text=True, timeout=30, env=clean_env())
        for phrase in ('--print-env', '--print-cloud', 'otc-detach-sim shell',
                       'override the cloud that --os-cloud', 'sends nothing',
                       'X-Sim-Admin-Token', '--allow-remote',
                       'one serve per file'):
            self.assertIn(phrase, result.stdout)

    def test_print_env_sets_the_simulator_only(self):
        proc, lines = self.serve('--print-env')
        start = next(i for i, line in enumerate(lines)
                     if line.startswith('# for this shell'))
        script = '\n'.join(lines[start + 1:-1]) + '\nenv\n'
        self.assertNotIn('OS_AUTH_URL', script)
        result = subprocess.run(
            ['sh', '-c', script], capture_output=True, text=True,
            timeout=30, env=clean_env(OS_AUTH_URL='http://127.0.0.1:9/v3',
                                      OS_PASSWORD='mine'))
        self.assertEqual(0, result.returncode, result.stderr)
        os_vars = sorted(line for line in result.stdout.splitlines()
                         if line.startswith('OS_'))
        self.assertEqual(['OS_CLIENT_CONFIG_FILE=%s' % self.clouds,
                          'OS_CLOUD=otc-sim'], os_vars)
        self.stop(proc)

    def test_warns_of_overriding_variables(self):
        proc = subprocess.Popen(
            SERVE + ['--clouds-yaml', self.clouds], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            env=clean_env(OS_AUTH_URL='http://127.0.0.1:9/v3',
                          OS_VOLUME_API_VERSION='3'))
        self.addCleanup(self._kill, proc)
        warning = proc.stderr.readline()
        self.assertIn('WARNING: OS_AUTH_URL set here', warning)
        self.assertNotIn('OS_VOLUME_API_VERSION', warning)
        self.stop(proc)

    def test_print_cloud_snippet_pastes_into_own_file(self):
        proc, lines = self.serve('--print-cloud')
        start = lines.index(next(line for line in lines
                                 if line.startswith('# paste under')))
        snippet = '\n'.join(lines[start + 1:-1])
        own = self.write_own_clouds()
        with open(own, 'a') as fh:
            fh.write(snippet + '\n')
        result = self.run_client('otc-sim', OS_CLIENT_CONFIG_FILE=own)
        self.assertEqual(0, result.returncode, result.stderr)
        names, server_id = result.stdout.splitlines()
        self.assertEqual("['mine', 'otc-sim']", names)
        self.assertEqual(ids.sim_id('server', 'web-linux'), server_id)
        self.stop(proc)
