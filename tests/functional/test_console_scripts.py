"""The installed console scripts, end to end, as real processes.

``otc-detach-sim run -- openstack ...`` starts a simulator, writes a
clouds.yaml, runs the real ``openstack`` console script against it and
hands its exit status back: what the README's examples do.
"""

import os
import subprocess
import sys

import testtools
from tests.functional import base


def sim_executable():
    return os.path.join(os.path.dirname(sys.executable), 'otc-detach-sim')


class TestSimulatorRun(testtools.TestCase):

    def run_sim(self, *argv):
        return subprocess.run(
            [sim_executable(), 'run', '--', base.openstack_executable()] +
            list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, universal_newlines=True,
            timeout=base.CLI_TIMEOUT)

    def test_detach_exit_0(self):
        proc = self.run_sim('server', 'volume', 'detach-otc', 'web-linux',
                            'web-data-1')
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn('[guest-prepare]', proc.stderr)
        self.assertNotIn('Traceback', proc.stderr)

    def test_refusal_exit_1_passes_through(self):
        proc = self.run_sim('server', 'volume', 'detach-otc', 'web-linux',
                            'web-linux-sys')
        self.assertEqual(1, proc.returncode, proc.stderr)
        self.assertIn('[system-disk]', proc.stderr)
        self.assertNotIn('Traceback', proc.stderr)
