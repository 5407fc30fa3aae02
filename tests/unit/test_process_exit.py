"""The command spares the process its last garbage collection at exit.

A hook registered before the command's runs after it (atexit is last in,
first out), so it sees what the interpreter's final collection will see.
"""

import subprocess
import sys

import testtools

PROBE = '''
import atexit
import gc
import sys

atexit.register(lambda: print(gc.get_freeze_count()))
from otcclient_detach import command
for _ in range(%d):
    command.skip_exit_collection()
print(len(command._EXIT_HOOK))
'''


def frozen_at_exit(calls):
    out = subprocess.run(
        [sys.executable, '-c', PROBE % calls], capture_output=True,
        text=True, timeout=120, check=True).stdout.split()
    return int(out[0]), int(out[1])


class TestExitCollection(testtools.TestCase):

    def test_objects_are_out_of_the_last_collection(self):
        hooks, frozen = frozen_at_exit(1)
        self.assertEqual(1, hooks)
        # Everything osc-lib and the interpreter loaded, at the least.
        self.assertGreater(frozen, 10000)

    def test_without_the_command_nothing_is_frozen(self):
        self.assertEqual((0, 0), frozen_at_exit(0))

    def test_registered_once_per_process(self):
        self.assertEqual(1, frozen_at_exit(3)[0])
