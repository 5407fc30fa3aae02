"""side_by_side.run: ordered results, first failure, real overlap."""

import threading

import testtools

from otcclient_detach import side_by_side


class TestRun(testtools.TestCase):

    def test_results_in_the_order_given(self):
        release = threading.Event()

        def slow():
            release.wait(5)
            return 'slow'

        def fast():
            release.set()
            return 'fast'

        self.assertEqual(['slow', 'fast'], side_by_side.run([slow, fast]))

    def test_calls_overlap(self):
        # Each call waits for the others: only side by side can all end
        # (one after another, the first would raise BrokenBarrierError).
        barrier = threading.Barrier(3, timeout=5)
        self.assertEqual([0, 1, 2], sorted(side_by_side.run(
            [barrier.wait, barrier.wait, barrier.wait])))

    def test_first_failure_in_given_order_is_raised_after_all_ended(self):
        ended = []
        release = threading.Event()

        def fails_late():
            release.wait(5)
            ended.append('late')
            raise KeyError('first')

        def fails_early():
            release.set()
            ended.append('early')
            raise ValueError('second')

        def succeeds():
            ended.append('ok')
            return 1

        error = self.assertRaises(
            KeyError, side_by_side.run,
            [fails_late, fails_early, succeeds])
        self.assertEqual("'first'", str(error))
        self.assertEqual({'late', 'early', 'ok'}, set(ended))

    def test_single_and_no_calls_run_here(self):
        self.assertEqual([threading.get_ident()], side_by_side.run(
            [threading.get_ident]))
        self.assertEqual([], side_by_side.run([]))


class TestDeadlineReachesTheThreads(testtools.TestCase):
    """A wait's deadline (cloud.deadline) holds in every side-by-side read."""

    def test_each_read_sees_the_callers_deadline(self):
        from otcclient_detach import cloud

        def left():
            return cloud._deadline.get()

        with cloud.deadline(42.0, lambda: 0.0):
            seen = side_by_side.run([left, left, left])
        # (when, clock, seconds it was set for): the caller's, each time.
        self.assertEqual([(42.0, seen[0][1], 42)] * 3, seen)
        self.assertIsNone(cloud._deadline.get())

    def test_a_hanging_read_does_not_hold_the_process(self):
        # Daemon threads: the interpreter does not wait for them at exit,
        # so a Ctrl-C during a hanging read ends the command at once.
        def daemon():
            return threading.current_thread().daemon

        self.assertEqual([True, True],
                         side_by_side.run([daemon, daemon]))
