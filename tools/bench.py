#!/usr/bin/env python3
"""Benchmark ``detach-otc`` against stock ``openstack server remove volume``.

Both run as the real ``openstack`` CLI against the embedded OTC simulator
(started in this process, a fresh one for every command run, so each run
starts from the demo scenario).  For every case and command it prints
the HTTP requests the simulator logged (auth and version discovery apart
from API calls) and the wall time over N runs, then what importing the
plugin's command module costs every ``openstack`` invocation.

Usage: ``python tools/bench.py [--runs N]`` (``tox -e bench``).
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from otcclient_detach.simulator import cli as sim_cli  # noqa: E402
from otcclient_detach.simulator import ids  # noqa: E402
from otcclient_detach.simulator import server as sim_server  # noqa: E402

CLI_TIMEOUT = 120
POLL_SECONDS = 1.0
# A version document: the root or /vN[.M]/ of a service's port.
DISCOVERY = re.compile(r'^(/v[0-9.]+)?/?$')

IMPORT_PROBE = '''
import json
import sys
import time

t0 = time.perf_counter()
import openstackclient.shell  # noqa
t1 = time.perf_counter()
if %(cli_loaded)r:
    # What the CLI has loaded by the time it imports plugin modules.
    import osc_lib.command.command  # noqa
    import osc_lib.exceptions  # noqa
before = set(sys.modules)
t2 = time.perf_counter()
import otcclient_detach.command  # noqa
t3 = time.perf_counter()
print(json.dumps({'shell_ms': (t1 - t0) * 1000, 'ms': (t3 - t2) * 1000,
                  'new': sorted(set(sys.modules) - before)}))
'''


def openstack_executable():
    here = os.path.join(os.path.dirname(sys.executable), 'openstack')
    return here if os.path.exists(here) else shutil.which('openstack')


# -- one command run against a fresh simulator -------------------------------

class Run(object):
    """A fresh simulator, a clouds.yaml and the CLI pointed at it."""

    def __init__(self, tmpdir, volume_api):
        self.sim = sim_server.Simulator()
        self.tmpdir = tmpdir
        self.volume_api = volume_api
        self.exits = []

    def __enter__(self):
        self.sim.start()
        clouds_yaml = self.sim.write_clouds_yaml(
            os.path.join(self.tmpdir, 'clouds-%d.yaml' % self.sim.port),
            volume_api_version=self.volume_api)
        env = sim_cli.clean_env(clouds_yaml)
        for key in list(env):
            if key.startswith('OS_') and key.endswith('_API_VERSION'):
                del env[key]
        env['OS_VOLUME_API_VERSION'] = self.volume_api
        self.env = env
        return self

    def __exit__(self, *exc):
        self.sim.stop()

    def openstack(self, *argv):
        proc = subprocess.run(
            [openstack_executable()] + list(argv), env=self.env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, universal_newlines=True,
            timeout=CLI_TIMEOUT)
        self.exits.append(proc.returncode)
        return proc


def ours(*argv):
    def run(r):
        r.openstack('server', 'volume', 'detach-otc', *argv)
    return run


def stock(server, *volumes, **kwargs):
    """``server remove volume`` per volume; optionally poll until gone."""
    poll = kwargs.get('poll', False)

    def run(r):
        for volume in volumes:
            r.openstack('server', 'remove', 'volume', server, volume)
        if not poll:
            return
        for volume in volumes:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                proc = r.openstack('volume', 'show', volume, '-f', 'value',
                                   '-c', 'status')
                if proc.stdout.strip() in ('available', 'error', ''):
                    break
                time.sleep(POLL_SECONDS)
    return run


def by_id(kind, name):
    return ids.sim_id(kind, name)


def cases():
    """(case, [(command label, volume API, runner, expected exit)])."""
    data3 = ('web-data-1', 'web-data-2', 'web-data-3')
    return [
        ('data disk, running ECS, by names', [
            ('detach-otc', '2', ours('web-linux', 'web-data-1'), 0),
            ('detach-otc', '3', ours('web-linux', 'web-data-1'), 0),
            ('server remove volume', '3',
             stock('web-linux', 'web-data-1'), 0),
            ('server remove volume', '2',
             stock('web-linux', 'web-data-1'), 1),
        ]),
        ('data disk, running ECS, by IDs', [
            ('detach-otc', '2', ours(by_id('server', 'web-linux'),
                                     by_id('volume', 'web-data-1')), 0),
            ('detach-otc', '3', ours(by_id('server', 'web-linux'),
                                     by_id('volume', 'web-data-1')), 0),
            ('server remove volume', '3',
             stock(by_id('server', 'web-linux'),
                   by_id('volume', 'web-data-1')), 0),
        ]),
        ('data disk, stopped ECS, by names', [
            ('detach-otc', '2', ours('db-stopped', 'db-data'), 0),
            ('detach-otc', '3', ours('db-stopped', 'db-data'), 0),
            ('server remove volume', '3', stock('db-stopped', 'db-data'), 0),
        ]),
        ('3 data disks, until detached', [
            ('detach-otc --wait', '2',
             ours('--wait', 'web-linux', *data3), 0),
            ('detach-otc --wait', '3',
             ours('--wait', 'web-linux', *data3), 0),
            ('3 x remove + volume show polls', '3',
             stock('web-linux', *data3, poll=True), 0),
        ]),
    ]


def classify(requests):
    auth = sum(1 for r in requests if r['service'] == 'identity')
    discovery = sum(1 for r in requests if r['service'] != 'identity' and
                    DISCOVERY.match(r['path']))
    deletes = sum(1 for r in requests if r['method'] == 'DELETE')
    return {'total': len(requests), 'auth': auth, 'discovery': discovery,
            'api': len(requests) - auth - discovery, 'deletes': deletes}


def measure(runs, tmpdir):
    """Run every command ``runs`` times, interleaved; collect numbers."""
    table = cases()
    results = {}
    for n in range(runs):
        for case, variants in table:
            for label, volume_api, runner, expected in variants:
                with Run(tmpdir, volume_api) as r:
                    start = time.perf_counter()
                    runner(r)
                    elapsed = time.perf_counter() - start
                    requests = r.sim.requests
                entry = results.setdefault((case, label, volume_api), {
                    'times': [], 'counts': [], 'exits': set(),
                    'expected': expected, 'calls': 0})
                entry['times'].append(elapsed)
                entry['counts'].append(classify(requests))
                entry['exits'].add(max(r.exits) if r.exits else None)
                entry['calls'] = len(r.exits)
        sys.stderr.write('run %d of %d done\n' % (n + 1, runs))
        sys.stderr.flush()
    return table, results


# -- import cost -------------------------------------------------------------

def import_cost(runs, cli_loaded):
    times, shell, new = [], [], None
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, '-c', IMPORT_PROBE % {'cli_loaded': cli_loaded}],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, timeout=CLI_TIMEOUT, check=True).stdout
        data = json.loads(out.strip().splitlines()[-1])
        times.append(data['ms'])
        shell.append(data['shell_ms'])
        new = data['new']
    return statistics.median(times), statistics.median(shell), new


# -- output ------------------------------------------------------------------

def versions():
    from importlib import metadata
    out = []
    for dist in ('python-openstackclient', 'openstacksdk', 'osc-lib',
                 'keystoneauth1', 'cliff', 'otcclient-detach'):
        try:
            out.append('%s %s' % (dist, metadata.version(dist)))
        except metadata.PackageNotFoundError:
            out.append('%s (not installed)' % dist)
    return out


def span(values, fmt='%d'):
    low, high = min(values), max(values)
    if low == high:
        return fmt % low
    return (fmt + '-' + fmt) % (low, high)


def print_table(table, results):
    head = ('Case', 'Command', 'Vol API', 'CLI calls', 'Exit', 'HTTP total',
            'auth+disc', 'API', 'DELETE', 'median s', 'min s')
    rows = []
    for case, variants in table:
        shown = case
        for label, volume_api, _, _ in variants:
            e = results[case, label, volume_api]
            counts = e['counts']
            exits = ','.join(str(x) for x in sorted(e['exits']))
            if e['exits'] != {e['expected']}:
                exits += ' (!)'
            rows.append((
                shown, label, volume_api, str(e['calls']), exits,
                span([c['total'] for c in counts]),
                '%s+%s' % (span([c['auth'] for c in counts]),
                           span([c['discovery'] for c in counts])),
                span([c['api'] for c in counts]),
                span([c['deletes'] for c in counts]),
                '%.2f' % statistics.median(e['times']),
                '%.2f' % min(e['times'])))
            shown = ''
    widths = [max(len(str(r[i])) for r in rows + [head])
              for i in range(len(head))]
    line = '  '.join('%-*s' % (w, h) for w, h in zip(widths, head))
    print(line.rstrip())
    print('  '.join('-' * w for w in widths))
    for row in rows:
        print('  '.join('%-*s' % (w, c)
                        for w, c in zip(widths, row)).rstrip())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=5,
                        help='runs per command (default 5)')
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error('--runs must be at least 1')
    if not openstack_executable():
        sys.stderr.write('no openstack CLI found\n')
        return 2

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix='otc-bench-') as tmpdir:
        table, results = measure(args.runs, tmpdir)
    ms_bare, shell_ms, new_bare = import_cost(args.runs, False)
    ms_cli, _, new_cli = import_cost(args.runs, True)
    total = time.perf_counter() - started

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    print('detach-otc vs stock "openstack server remove volume", on the '
          'embedded OTC simulator')
    print('Machine: %s, nproc %s, Python %s (%s)' % (
        platform.machine(), cpus, platform.python_version(),
        platform.python_implementation()))
    print('Versions: %s' % ', '.join(versions()))
    how = (
        'How: every command run is the real %s in a subprocess against a '
        'fresh in-process simulator (demo scenario, plain HTTP on '
        '127.0.0.1, detach takes 1.0 s); %d run(s) per command, '
        'interleaved. Wall time spans process start to exit of all its CLI '
        'calls (Python start-up and plugin loading included). HTTP counts '
        'come from the simulator\'s request log: auth = IAM, disc = '
        'version documents of ECS, EVS and IMS, API = the rest; a '
        'range means runs differed. Stock is run with volume API 3 (with 2 '
        'it fails before any request to compute).' % (
            openstack_executable(), args.runs))
    print(textwrap.fill(how, 79))
    print()
    print_table(table, results)
    print()
    print('Import cost of otcclient_detach.command (median of %d '
          'subprocesses; openstackclient.shell itself: %.0f ms):' % (
              args.runs, shell_ms))
    print('  after openstackclient.shell only:             %.2f ms, new '
          'modules: %s' % (ms_bare, ', '.join(new_bare)))
    print('  after the modules the CLI has loaded by then: %.2f ms, new '
          'modules: %s' % (ms_cli, ', '.join(new_cli)))
    print()
    print('Benchmark took %.0f s.' % total)
    return 0


if __name__ == '__main__':
    sys.exit(main())
