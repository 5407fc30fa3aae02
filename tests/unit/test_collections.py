"""The command keeps the garbage collector off what the CLI loaded.

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
from otcclient_detach import command  # what the CLI loads
from otcclient_detach import process
before = gc.get_freeze_count()
for _ in range(%d):
    process.spare_collections()
print(before, gc.get_freeze_count(), len(process._FROZEN))
# What the run adds after the first freeze.
garbage = [[] for _ in range(1000)]  # tracked by the collector
'''


def freeze_counts(calls):
    """(before, after the calls, registrations, at exit)."""
    out = subprocess.run(
        [sys.executable, '-c', PROBE % calls], capture_output=True,
        text=True, timeout=120, check=True).stdout.split()
    return tuple(int(n) for n in out)


class TestSpareCollections(testtools.TestCase):

    def test_what_was_loaded_is_frozen_at_once(self):
        before, after, hooks, _ = freeze_counts(1)
        self.assertEqual(0, before)
        # Everything osc-lib and the interpreter loaded, at the least.
        self.assertGreater(after, 10000)
        self.assertEqual(1, hooks)

    def test_what_the_run_added_is_frozen_at_exit(self):
        _, after, _, at_exit = freeze_counts(1)
        # The 1000 lists at the least (a few temporaries have gone).
        self.assertGreaterEqual(at_exit, after + 990)

    def test_without_the_command_nothing_is_frozen(self):
        self.assertEqual((0, 0, 0, 0), freeze_counts(0))

    def test_once_per_process(self):
        self.assertEqual(1, freeze_counts(3)[2])
