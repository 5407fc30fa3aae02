"""The real ``openstack`` CLI against the embedded OTC simulator.

Every test gets a fresh simulator on its own free port on 127.0.0.1 and a
clouds.yaml of its own, so tests run in parallel and share no state.  The
environment handed to the CLI holds no OS_* setting of the developer's.

:meth:`SimulatorTestCase.openstack` runs the CLI in this process, the way
osc-placement's functional tests do: python-openstackclient's own
``OpenStackShell().run(argv)`` with stdin, stdout and stderr replaced,
``os.environ`` set for the call, and the exit status the console script
would give (``SystemExit`` codes, a traceback and 1 for an escaping
exception).  It saves the ~1.4 s of starting Python and loading every OSC
plugin per call.  ``subprocess=True`` runs the real ``openstack`` console
script instead: for what only a process shows (signals, the exit status of
the real script, a terminal, ``--debug`` on the real stderr).
"""

import io
import logging
import os
import re
import shutil
import subprocess
import sys
import traceback
import warnings

import fixtures
from openstackclient.common import clientmanager as osc_clientmanager
from openstackclient import shell as osc_shell
from osc_lib import clientmanager as osc_lib_clientmanager
import testtools

from otcclient_detach import plan as plans
from otcclient_detach.simulator import cli as sim_cli
from otcclient_detach.simulator import ids
from otcclient_detach.simulator import server as sim_server

CLI_TIMEOUT = 120
#: Room for a loaded machine between the last read and the write's start.
STALE_SLACK = 2.0
#: Reads that bring a detach's facts: the server's, and the volume's.
SERVER_READS = re.compile(r'/servers/(detail|[0-9a-f-]{36})$')
VOLUME_READS = re.compile(r'/(volumes/detail|volumes/[0-9a-f-]{36}|'
                          r'cloudvolumes/detail|os-volume_attachments)$')


def stale_writes(requests, bound=plans.FRESH_FOR + STALE_SLACK):
    """Detach writes sent on facts older than ``bound`` seconds.

    For each DELETE of a detach (nova's or the native one), the last
    read of its server and of its volumes that answered before the
    DELETE left; a write is stale when either is older than the bound.
    Writes the cloud turned away (flow control) and writes of stock
    commands are judged alike: none may go out on old facts.
    """
    stale = []
    for write in requests:
        if write['method'] != 'DELETE' or not (
                'os-volume_attachments/' in write['path'] or
                '/detachvolume/' in write['path']):
            continue
        before = [r for r in requests if r['method'] == 'GET' and
                  r['finished'] <= write['started']]
        for kind in (SERVER_READS, VOLUME_READS):
            reads = [r['finished'] for r in before if kind.search(r['path'])]
            if not reads or write['started'] - max(reads) > bound:
                stale.append(write)
                break
    return stale


def openstack_executable():
    """The ``openstack`` next to this Python (the tox env), else PATH."""
    here = os.path.join(os.path.dirname(sys.executable), 'openstack')
    return here if os.path.exists(here) else shutil.which('openstack')


class Result(object):
    """What one CLI run gave: exit status, stdout and stderr (text)."""

    def __init__(self, argv, returncode, stdout, stderr, how='in-process'):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.how = how

    def __repr__(self):
        return ('openstack %s (%s) -> exit %s\n--- stdout\n%s--- stderr\n%s'
                % (' '.join(self.argv), self.how, self.returncode,
                   self.stdout, self.stderr))


class Environment(fixtures.Fixture):
    """``os.environ`` is exactly ``env`` while the fixture is set up."""

    def __init__(self, env):
        super(Environment, self).__init__()
        self.env = env

    def _setUp(self):
        for key in sorted(set(os.environ) | set(self.env)):
            if os.environ.get(key) != self.env.get(key):
                self.useFixture(
                    fixtures.EnvironmentVariable(key, self.env.get(key)))


class LoggingState(fixtures.Fixture):
    """Give back the logging and warnings set-up a CLI run changes.

    osc-lib's LogConfigurator
    adds a handler on the root logger (bound to the stderr of that run),
    sets the root and some library loggers' levels and the warnings
    filters, once per run and never undone, as a process ends anyway.
    Without this, every later run would also log into the stderr of every
    earlier one and at their levels.
    """

    def _setUp(self):
        root = logging.getLogger()
        self.addCleanup(setattr, root, 'handlers', list(root.handlers))
        self.addCleanup(root.setLevel, root.level)
        levels = self._levels()
        self.addCleanup(self._restore_levels, levels)
        catcher = warnings.catch_warnings()
        catcher.__enter__()
        self.addCleanup(catcher.__exit__, None, None, None)

    @staticmethod
    def _levels():
        return {name: logger.level for name, logger
                in list(logging.Logger.manager.loggerDict.items())
                if isinstance(logger, logging.Logger)}

    def _restore_levels(self, levels):
        # Each setLevel() empties the cache of every logger (thousands
        # here): the levels are put back as they are, then one setLevel()
        # empties the caches once.
        root = logging.getLogger()
        for name, level in self._levels().items():
            if level != levels.get(name, logging.NOTSET):
                logging.getLogger(name).level = levels.get(name,
                                                           logging.NOTSET)
        root.setLevel(root.level)


def forget_clients():
    """Forget the API clients an earlier run built.  FRAGILE, see below.

    python-openstackclient hangs each plugin's client (``compute``,
    ``image``, ...) on the ClientManager *class* as an osc-lib
    ``ClientCache`` descriptor, which keeps the first client it built for
    the life of the process: in one process, a later run would talk to
    the first test's simulator.  Before each run the descriptors are
    replaced by fresh ones with the same factories.  If an OSC upgrade
    stores clients elsewhere, the tests that run a stock command twice in
    one process (e.g. test_rules' budget tests) fail with "Unable to
    establish connection".
    """
    with warnings.catch_warnings():
        # osc-lib deprecates ClientCache, yet OSC still uses it.
        warnings.simplefilter('ignore', DeprecationWarning)
        for cls in osc_clientmanager.ClientManager.__mro__:
            for name, value in list(vars(cls).items()):
                if isinstance(value, osc_lib_clientmanager.ClientCache):
                    setattr(cls, name,
                            osc_lib_clientmanager.ClientCache(value.factory))


def round_trips(requests):
    """Sequential round trips in a request log: a count, not a time.

    The longest chain of logged requests in which each was sent after
    the one before it was answered (``started``/``finished`` of the
    simulator's log).  Requests sent side by side count once.
    """
    ordered = sorted(requests, key=lambda r: r['finished'])
    chain = []
    for r in ordered:
        chain.append(1 + max([n for earlier, n in zip(ordered, chain)
                              if earlier['finished'] <= r['started']],
                             default=0))
    return max(chain, default=0)


def run_in_process(argv, env):
    """``openstack ARGV`` in this process; ``(returncode, out, err)``."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with fixtures.MonkeyPatch('sys.argv', ['openstack'] + list(argv)), \
            fixtures.MonkeyPatch('sys.stdin', io.StringIO()), \
            fixtures.MonkeyPatch('sys.stdout', stdout), \
            fixtures.MonkeyPatch('sys.stderr', stderr), \
            Environment(env), LoggingState():
        forget_clients()
        try:
            # The shell takes its streams from sys.* when it is built.
            shell = osc_shell.OpenStackShell()
            # cliff names the program after sys.argv[0] at import time:
            # here that of the test runner.
            shell.NAME = 'openstack'
            returncode = shell.run(list(argv))
        except SystemExit as exc:  # argparse, as the interpreter does it
            if exc.code is None or isinstance(exc.code, int):
                returncode = exc.code or 0
            else:
                stderr.write('%s\n' % exc.code)
                returncode = 1
        except Exception:  # what the interpreter prints for the script
            stderr.write(traceback.format_exc())
            returncode = 1
    return returncode, stdout.getvalue(), stderr.getvalue()


def last_message(stderr):
    """The last message on ``stderr``, its wrapped lines joined again.

    Messages are wrapped at 79 columns with continuation lines indented
    by four spaces (render.wrap).
    """
    lines = stderr.rstrip('\n').splitlines()
    start = len(lines) - 1
    while start > 0 and lines[start].startswith('    '):
        start -= 1
    return ' '.join(line.strip() for line in lines[start:])


class SimulatorTestCase(testtools.TestCase):
    #: A scenario file or dict; None is the built-in demo.
    scenario = None
    #: 'v2' serves compute at /v2/{project_id} in the catalog.
    compute_version = None
    volume_api_version = '2'
    tls = None
    #: True: every run of the class is a real ``openstack`` process.
    subprocess = False

    def setUp(self):
        super(SimulatorTestCase, self).setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.sim = sim_server.Simulator(
            scenario=self.scenario, compute_version=self.compute_version,
            tls=self.tls)
        self.sim.start()
        self.addCleanup(self.sim.stop)
        # Checked after every test: no detach went out on old facts.
        self.addCleanup(self.assertNoStaleWrites)
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
        """Run ``openstack ARGV``; return a :class:`Result`.

        ``env``: the whole environment (default :meth:`env`).
        ``subprocess=True`` (default: the class's ``subprocess``): the
        real console script in a child process.
        """
        env = kwargs.pop('env', None) or self.env()
        if kwargs.pop('subprocess', self.subprocess):
            proc = subprocess.run(
                [openstack_executable()] + list(argv), env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, universal_newlines=True,
                timeout=kwargs.pop('timeout', CLI_TIMEOUT), **kwargs)
            return Result(argv, proc.returncode, proc.stdout, proc.stderr,
                          how='subprocess')
        if kwargs:
            raise TypeError('in-process run: no %s' % ', '.join(kwargs))
        return Result(argv, *run_in_process(argv, env))

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

    def assertNoStaleWrites(self):
        """No DELETE of a detach left on facts older than FRESH_FOR."""
        self.assertEqual([], [r['path'] for r in stale_writes(
            self.sim.requests)])

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
