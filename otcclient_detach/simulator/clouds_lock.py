"""One ``otc-detach-sim serve`` per clouds.yaml path.

A second ``serve`` with the same ``--clouds-yaml`` would rewrite the
file of the one already running (pointing its users at the new ports)
and remove it when it stops.  Each ``serve`` therefore holds an
exclusive ``flock`` on ``<path>.lock`` while it runs; the kernel drops
it when the process ends, however it ends, so a killed ``serve`` never
leaves a stale claim behind.  The empty lock file stays: removing it
would let a third ``serve`` lock a new file while a second still holds
the old one.
"""

import fcntl
import os


class InUseError(OSError):
    """Another running ``serve`` holds this clouds.yaml."""


def lock_path(clouds_yaml):
    return clouds_yaml + '.lock'


class CloudsYamlLock(object):
    """Hold ``<clouds_yaml>.lock`` while serving; ``InUseError`` if held."""

    def __init__(self, clouds_yaml):
        self.clouds_yaml = clouds_yaml
        self._fd = None

    def acquire(self):
        path = lock_path(self.clouds_yaml)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT |
                     getattr(os, 'O_NOFOLLOW', 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InUseError(
                'another otc-detach-sim serve is running with %s; it is '
                'left as it is: stop that one, or give this one another '
                '--clouds-yaml' % self.clouds_yaml)
        self._fd = fd
        return self

    def release(self):
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


def held(clouds_yaml):
    """Whether a running ``serve`` holds ``clouds_yaml`` right now."""
    try:
        fd = os.open(lock_path(clouds_yaml),
                     os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the lock it may just have taken
    return False
