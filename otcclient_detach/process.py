"""The process's own concerns: signals, the garbage collector, pipes.

SIGTERM and SIGHUP end the command like Ctrl-C (exit 128 + number);
SIGPIPE is ignored while the command runs, so that a reader that went
away (``| head -n 1``) turns a write into an error :class:`Output`
swallows instead of killing the process between two steps; the garbage
collector is kept off what the CLI loaded.
"""

import atexit
import gc
import os
import signal
import threading

EXIT_INTERRUPTED = 130
#: Signals that end the command like Ctrl-C does (exit 128 + number).
STOP_SIGNALS = ('SIGTERM', 'SIGHUP')


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP: handled like Ctrl-C, with its own exit status."""

    def __init__(self, signum):
        super(Interrupted, self).__init__(signum)
        self.exit_status = 128 + signum


def exit_status(interrupt):
    """The exit status for a KeyboardInterrupt (or Interrupted)."""
    return getattr(interrupt, 'exit_status', EXIT_INTERRUPTED)


def _interrupt(signum, frame):
    raise Interrupted(signum)


def take_signals():
    """SIGTERM and SIGHUP interrupt like Ctrl-C; SIGPIPE is ignored.

    Returns what to give back to :func:`restore_signals`.  Only the main
    thread may set handlers (an embedding program's worker thread keeps
    its own).
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for name in STOP_SIGNALS:
        number = getattr(signal, name, None)
        if number is not None:
            previous[number] = signal.signal(number, _interrupt)
    number = getattr(signal, 'SIGPIPE', None)
    if number is not None:
        previous[number] = signal.signal(number, signal.SIG_IGN)
    return previous


def restore_signals(previous):
    for number, handler in previous.items():
        signal.signal(number, handler)


def spare_collections():
    """Keep the garbage collector off what the CLI loaded, for good.

    By the time a command runs, python-openstackclient has loaded all of
    itself and its plugins: millions of objects that live until the
    process ends.  Each full collection walks them all (about 0.1 s on a
    2-core machine), a few times during a run and once more when the
    interpreter exits.  ``gc.freeze()`` moves them out of the collector's
    reach: now, once per process, and at exit for what the run added.
    """
    if _FROZEN:
        return
    gc.freeze()
    atexit.register(gc.freeze)
    _FROZEN.append(gc.freeze)


_FROZEN = []


class Output(object):
    """One stream the command writes lines to, surviving its reader.

    A reader that went away (a closed pipe) or a stream closed under the
    command makes every later write a no-op: the run goes on and ends as
    the record says, whoever still listens.
    """

    def __init__(self, stream):
        self.stream = stream
        self.closed = False

    def write(self, text):
        if self.closed:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # EPIPE, or a closed file
            self.closed = True
            silence(self.stream)

    def isatty(self):
        try:
            return not self.closed and bool(self.stream.isatty())
        except (AttributeError, ValueError, OSError):
            return False

    def flush(self):
        self.write('')


def silence(stream):
    """Point ``stream``'s file at /dev/null: its last flush cannot fail."""
    try:
        fileno = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fileno)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test's buffer): nothing to flush
