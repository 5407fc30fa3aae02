#!/usr/bin/env python3
"""Benchmark ``detach-otc`` against stock ``openstack server remove volume``.

Both run as the real ``openstack`` CLI against the embedded OTC simulator
(started in this process, a fresh one for every command run, so each run
starts from the demo scenario).  For every case and command it prints
the HTTP requests the simulator logged (auth and version discovery apart
from API calls) and the wall time over N runs, then what importing the
plugin's command module costs every ``openstack`` invocation.

Usage: ``tox -e bench`` (``python tools/bench.py [--runs N] [--latencies
0,50,100] [--cases]``); ``tox -e bench -- --smoke`` is the quick run CI
makes (it must complete; no number is checked).
"""

import argparse
import concurrent.futures
import functools
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

# The round-trip count the functional tests assert, reused here.
from tests.functional.base import round_trips  # noqa: E402

from otcclient_detach.simulator import cli as sim_cli  # noqa: E402
from otcclient_detach.simulator import ids  # noqa: E402
from otcclient_detach.simulator import scenario as sim_scenario  # noqa: E402
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

    def __init__(self, tmpdir, volume_api, latency=0.0, scenario=None):
        self.sim = sim_server.Simulator(scenario=scenario)
        self.tmpdir = tmpdir
        self.volume_api = volume_api
        self.latency = latency
        self.exits = []

    def __enter__(self):
        self.sim.start()
        if self.latency:
            # Every request, every service, for the whole run.
            self.sim.add_fault('*', '.*', latency=self.latency, count=None)
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


def latency_table(runs, latencies, tmpdir):
    """Plugin vs stock on one data disk of a running ECS, by names.

    Two times per run: the wall time of the process, and the time spent
    talking to the cloud (first request sent to last answer, from the
    simulator's log), which leaves out Python start-up and plugin loading.
    """
    rows = []
    for latency in latencies:
        got = {'ours': ([], [], [], []), 'stock': ([], [], [], [])}
        for _ in range(runs):  # interleaved: ours, stock, ours, ...
            for which, runner in (('ours', ours('web-linux', 'web-data-1')),
                                  ('stock', stock('web-linux',
                                                  'web-data-1'))):
                with Run(tmpdir, '3', latency) as r:
                    start = time.perf_counter()
                    runner(r)
                    elapsed = time.perf_counter() - start
                    requests = r.sim.requests
                if r.exits != [0]:
                    raise SystemExit('%s failed at latency %s: exit %s' % (
                        which, latency, r.exits))
                got[which][0].append(elapsed)
                got[which][1].append(
                    max(q['finished'] for q in requests) -
                    min(q['started'] for q in requests))
                got[which][2].append(len(requests))
                got[which][3].append(round_trips(requests))
        wall = [statistics.median(got[w][0]) for w in ('ours', 'stock')]
        cloud = [statistics.median(got[w][1]) for w in ('ours', 'stock')]
        rows.append(('%d ms' % (latency * 1000),
                     '%.2f / %.2f' % tuple(wall), '%.2f' % (wall[0] / wall[1]),
                     '%.2f / %.2f' % tuple(cloud),
                     '%.2f' % (cloud[0] / cloud[1]),
                     '%s / %s' % (span(got['ours'][2]),
                                  span(got['stock'][2])),
                     '%s / %s' % (span(got['ours'][3]),
                                  span(got['stock'][3]))))
        sys.stderr.write('latency %d ms done\n' % (latency * 1000))
    return rows


BATCH = ['web-batch-%d' % n for n in range(1, 7)]


#: How long the cloud takes over a detach in the --wait measurements.
DETACH_SECONDS = 2.0


def batch_scenario(detach_seconds=DETACH_SECONDS):
    """The demo plus six data disks on web-linux; a detach takes 2 s."""
    import yaml
    with open(sim_scenario.DEFAULT_SCENARIO, encoding='utf-8') as fh:
        raw = yaml.safe_load(fh)
    raw['timings']['detach_seconds'] = detach_seconds
    raw['volumes'] += [
        {'name': name, 'size': 10,
         'attachments': [{'server': 'web-linux', 'device': '/dev/vd%s' % d}]}
        for name, d in zip(BATCH, 'hijklm')]
    return raw


def batch_wait(runs, latency, tmpdir, detach_seconds=DETACH_SECONDS):
    """Median seconds of --wait on 1 and on 6 disks of one running ECS."""
    scenario = batch_scenario(detach_seconds)
    times = {1: [], 6: []}
    for _ in range(runs):
        for count in (1, 6):
            with Run(tmpdir, '3', latency, scenario) as r:
                start = time.perf_counter()
                ours('--wait', 'web-linux', *BATCH[:count])(r)
                times[count].append(time.perf_counter() - start)
            if r.exits != [0]:
                raise SystemExit('--wait on %d disks failed: exit %s' % (
                    count, r.exits))
    return statistics.median(times[1]), statistics.median(times[6])


def wait_lag(detach_seconds, latency, tmpdir):
    """Seconds from the cloud finishing a detach to --wait returning.

    The simulator finishes a detach ``detach_seconds`` after it carried
    out the DELETE; the command's end is when its process has exited.
    """
    scenario = batch_scenario()
    scenario['timings']['detach_seconds'] = detach_seconds
    with Run(tmpdir, '3', latency, scenario) as r:
        ours('--wait', 'web-linux', BATCH[0])(r)
        ended = time.monotonic()
        requests = r.sim.requests
    if r.exits != [0]:
        raise SystemExit('--wait failed: exit %s' % r.exits)
    delete = [q for q in requests if q['method'] == 'DELETE'][0]
    # A look at the server is one read of EVS's disk list of it.
    looks = sorted(q['started'] for q in requests
                   if q['started'] > delete['finished'] and
                   q['method'] == 'GET' and
                   q['path'].endswith('/cloudvolumes/detail'))
    closest = min((b - a for a, b in zip(looks, looks[1:])), default=None)
    return ended - delete['finished'] - detach_seconds, len(looks), closest


#: OTC's flow control in the batch measurement: DELETEs per second.
FLOW_RATE = 10


def flow_scenario(count):
    """A stopped ECS ``many`` with ``count`` data disks d01, d02, ..."""
    letters = 'bcdefghijklmnopqrstuvwxyz'
    devices = ['/dev/vd%s' % a for a in letters] + [
        '/dev/vd%s%s' % (a, b) for a in letters for b in letters]
    import yaml
    with open(sim_scenario.DEFAULT_SCENARIO, encoding='utf-8') as fh:
        raw = yaml.safe_load(fh)
    raw['servers'].append({'name': 'many', 'status': 'SHUTOFF',
                           'root_device_name': '/dev/vda',
                           'image': 'Standard_Debian_10_latest'})
    raw['volumes'] += [{'name': 'd%02d' % n, 'attachments': [
        {'server': 'many', 'device': devices[n - 1]}]}
        for n in range(1, count + 1)]
    return raw


def flow_batch(count, rate, tmpdir, parallel=8):
    """A batch of ``count`` disks against ``rate`` DELETEs per second.

    The plugin in one call; stock as a user would script it, one
    ``server remove volume`` per disk, ``parallel`` at a time (xargs -P).
    Returns, for each: (wall s, disks detached, DELETEs turned away).
    """
    names = ['d%02d' % n for n in range(1, count + 1)]
    results = []
    for kind in ('ours', 'stock'):
        with Run(tmpdir, '3', 0.0, flow_scenario(count)) as r:
            r.sim.app.rate_limits.add(rate=rate, service='compute',
                                      method='DELETE', answer=429)
            start = time.perf_counter()
            if kind == 'ours':
                ours('many', *names)(r)
            else:
                with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
                    list(pool.map(lambda n: r.openstack(
                        'server', 'remove', 'volume', 'many', n), names))
            took = time.perf_counter() - start
            deletes = [q for q in r.sim.requests if q['method'] == 'DELETE']
            turned = sum(1 for q in deletes if q.get('rate_limited'))
            results.append((took, len(deletes) - turned, turned))
    return results


def print_rows(head, rows):
    widths = [max(len(str(r[i])) for r in rows + [head])
              for i in range(len(head))]
    print('  '.join('%-*s' % (w, h) for w, h in zip(widths, head)).rstrip())
    print('  '.join('-' * w for w in widths))
    for row in rows:
        print('  '.join('%-*s' % (w, c)
                        for w, c in zip(widths, row)).rstrip())


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


def machine():
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    return 'Machine: %s, nproc %s, Python %s (%s)' % (
        platform.machine(), cpus, platform.python_version(),
        platform.python_implementation())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=5,
                        help='runs per command and latency (default 5)')
    parser.add_argument('--latencies', default='0,50,100',
                        help='milliseconds added to every request, comma '
                             'separated (default 0,50,100)')
    parser.add_argument('--smoke', action='store_true',
                        help='one quick run of everything, for CI: it must '
                             'complete; the numbers mean nothing')
    parser.add_argument('--cases', action='store_true',
                        help='also the request counts of more cases '
                             '(by IDs, stopped ECS, 3 disks with --wait)')
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error('--runs must be at least 1')
    try:
        latencies = [float(ms) / 1000 for ms in args.latencies.split(',')]
    except ValueError:
        parser.error('--latencies takes numbers, e.g. 0,50,100')
    if not openstack_executable():
        sys.stderr.write('no openstack CLI found\n')
        return 2
    runs, lags, detach_seconds = args.runs, (2, 4, 6, 8, 10), DETACH_SECONDS
    flow_count = 60
    if args.smoke:
        # Every measurement once, with the cloud's work cut short.
        runs, latencies, lags, detach_seconds = 1, [0.0], (0.5,), 0.5
        flow_count = 12

    started = time.perf_counter()
    batch_latency = latencies[-1]
    with tempfile.TemporaryDirectory(prefix='otc-bench-') as tmpdir:
        parts = [
            functools.partial(latency_table, runs, latencies, tmpdir),
            functools.partial(batch_wait, runs, batch_latency, tmpdir,
                              detach_seconds),
            lambda: [wait_lag(seconds, batch_latency, tmpdir)
                     for seconds in lags],
            functools.partial(import_cost, runs, True),
            functools.partial(flow_batch, flow_count, FLOW_RATE, tmpdir)]
        # One after another when measuring; a smoke run only has to work,
        # so its parts (each with its own simulators) run side by side.
        with concurrent.futures.ThreadPoolExecutor(
                len(parts) if args.smoke else 1) as pool:
            futures = [pool.submit(part) for part in parts]
        rows, (one, six), lag, (ms_cli, shell_ms, new_cli), flow = [
            future.result() for future in futures]
        if args.cases:
            table, results = measure(runs, tmpdir)
    total = time.perf_counter() - started

    print('detach-otc vs stock "openstack --os-volume-api-version 3 server '
          'remove volume", on the embedded OTC simulator')
    print(machine())
    print('Versions: %s' % ', '.join(versions()))
    print(textwrap.fill(
        'How: each run is the real %s in a subprocess against a fresh '
        'in-process simulator (demo scenario) that delays every request by '
        'the latency; data disk web-data-1 of the running ECS web-linux, '
        'by names; plugin and stock runs interleaved, median of %d. '
        'Requests and round trips come from the simulator\'s log (round '
        'trips: the longest chain of requests each sent after the previous '
        'one was answered).' % (openstack_executable(), runs), 79))
    print()
    print_rows(('latency', 'wall s', 'ratio', 'talking s', 'ratio',
                'requests', 'round trips'), rows)
    print('(each: plugin / stock; wall: the whole process; talking: first '
          'request sent to last answered)')
    print()
    print('--wait, detach taking %g s in the cloud, %d ms latency: 1 disk '
          '%.2f s, 6 disks %.2f s (ratio %.2f)' % (
              detach_seconds, batch_latency * 1000, one, six, six / one))
    print('Cloud done -> --wait returned (process exit), detach of %s s, '
          '%d ms latency: %s s (median %.2f s)' % (
              ', '.join('%g' % s for s in lags), batch_latency * 1000,
              ', '.join('%.2f' % g for g, _, _ in lag),
              statistics.median(g for g, _, _ in lag)))
    gaps = [gap for _, _, gap in lag if gap is not None]
    print('  looks at the server after the DELETE: %s; closest two %s s '
          'apart' % (', '.join(str(n) for _, n, _ in lag),
                     '%.2f' % min(gaps) if gaps else '-'))
    print('Import cost of otcclient_detach.command after what the CLI has '
          'loaded: %.2f ms (openstackclient.shell itself %.0f ms); new '
          'modules: %s' % (ms_cli, shell_ms, ', '.join(new_cli)))
    (ours_s, ours_ok, ours_away), (stock_s, stock_ok, stock_away) = flow
    print('Flow control, %d disks of a stopped ECS, the cloud taking %d '
          'DELETEs a second (429 beyond; the rate allows %.1f s): plugin in '
          'one call %.2f s, %d detached, %d DELETEs turned away and sent '
          'again; stock, one "server remove volume" per disk, 8 at a time '
          '(xargs -P 8) %.2f s, %d detached, %d turned away' % (
              flow_count, FLOW_RATE, flow_count / float(FLOW_RATE), ours_s,
              ours_ok, ours_away, stock_s, stock_ok, stock_away))
    if args.cases:
        print()
        print_table(table, results)
    print()
    print('Benchmark took %.0f s.' % total)
    return 0


if __name__ == '__main__':
    sys.exit(main())
