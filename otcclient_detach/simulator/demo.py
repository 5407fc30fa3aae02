"""A narrated tour: the real ``openstack`` CLI against a fresh simulator.

Each step runs ``openstack server volume detach-otc SERVER VOLUME``,
shows what it printed, and checks the exit status and the requests the
simulator received against what the command documents.
"""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from otcclient_detach.simulator import clientenv
from otcclient_detach.simulator import server as server_mod
from otcclient_detach.simulator import state as state_mod


class Step:
    def __init__(self, title, why, server, volume, exit_code, detaches):
        self.title = title
        self.why = why
        self.server = server
        self.volume = volume
        self.exit_code = exit_code
        self.detaches = detaches


STEPS = (
    Step('The system disk of a running ECS is refused',
         'OTC detaches a system disk only from a stopped ECS.',
         'web-linux', 'web-linux-sys', 1, False),
    Step('A SCSI disk of a running Windows ECS is refused',
         'SCSI EVS disks cannot be detached from a running Windows ECS.',
         'win-app', 'win-scsi', 1, False),
    Step('A data disk of a running Linux ECS is detached',
         'CentOS 7.6 is on the list of OSs that support online detach.',
         'web-linux', 'web-data-1', 0, True),
    Step('The system disk of a stopped ECS is detached',
         'Any disk may leave a SHUTOFF ECS.',
         'db-stopped', 'db-stopped-sys', 0, True),
)


def find_openstack():
    """The ``openstack`` next to this Python, else the one on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), 'openstack')
    if os.path.isfile(here) and os.access(here, os.X_OK):
        return here
    return shutil.which('openstack')


def _indent(text, prefix='    | '):
    lines = text.rstrip('\n').splitlines() or ['(nothing)']
    return '\n'.join(prefix + line for line in lines)


def _describe(sim, step):
    srv = sim.server(step.server)
    vol = sim.volume(step.volume)
    device = [v['device'] for v in srv['volumes'] if v['id'] == vol['id']]
    return ('%s is %s (root device %s); %s is %s at %s' % (
        srv['name'], srv['status'], srv['root_device_name'], vol['name'],
        vol['status'], device[0] if device else 'no device'))


def run_step(sim, step, openstack, env, out):
    """Run one step; return True when it behaved as documented."""
    srv = sim.server(step.server)
    vol = sim.volume(step.volume)
    command = [openstack, 'server', 'volume', 'detach-otc', step.server,
               step.volume]
    print('    %s' % _describe(sim, step), file=out)
    print('    why: %s' % step.why, file=out)
    shown = ['openstack'] + command[1:]
    print('    $ %s' % ' '.join(shlex.quote(c) for c in shown), file=out)
    sim.clear_requests()
    try:
        proc = subprocess.run(command, env=env, capture_output=True,
                              text=True, timeout=300)
    except subprocess.TimeoutExpired:
        print('    the command did not finish within 300 s', file=out)
        return False
    print('    stdout:\n%s' % _indent(proc.stdout), file=out)
    print('    stderr:\n%s' % _indent(proc.stderr), file=out)
    deletes = [r for r in sim.requests if r['method'] == 'DELETE']
    expected_path = '/%s/%s/servers/%s/os-volume_attachments/%s' % (
        sim.state.compute_version, sim.project_id, srv['id'], vol['id'])
    problems = []
    if proc.returncode != step.exit_code:
        problems.append('exit status %d, expected %d'
                        % (proc.returncode, step.exit_code))
    if step.detaches:
        wanted = 'exit %d, exactly one DELETE %s, then volume available' % (
            step.exit_code, expected_path)
        if [r['path'] for r in deletes] != [expected_path]:
            problems.append('DELETE requests: %s' % (
                [r['method'] + ' ' + r['path'] for r in deletes] or 'none'))
        elif not _wait_available(sim, vol['id']):
            problems.append('volume is %s, not available, after the detach '
                            'time' % sim.volume(vol['id'])['status'])
    else:
        wanted = 'exit %d and no DELETE request' % step.exit_code
        if deletes:
            problems.append('DELETE requests were sent: %s' % [
                r['method'] + ' ' + r['path'] for r in deletes])
    print('    expected: %s' % wanted, file=out)
    print('    got: exit %d, %d DELETE request(s), volume now %s' % (
        proc.returncode, len(deletes), sim.volume(vol['id'])['status']),
        file=out)
    for problem in problems:
        print('    problem: %s' % problem, file=out)
    print('    %s' % ('FAIL' if problems else 'PASS'), file=out)
    return not problems


def _wait_available(sim, volume_id):
    deadline = time.monotonic() + sim.state.timings['detach_seconds'] + 5
    while time.monotonic() < deadline:
        if sim.volume(volume_id)['status'] == 'available':
            return True
        time.sleep(0.1)
    return sim.volume(volume_id)['status'] == 'available'


def run(scenario=None, port=0, compute_version=None, out=None,
        openstack=None):
    """Give the tour; return 0 if every step behaved as documented."""
    out = out or sys.stdout
    openstack = openstack or find_openstack()
    if not openstack:
        print('otc-detach-sim demo: the openstack CLI was not found next to'
              ' %s nor on PATH' % sys.executable, file=sys.stderr)
        return 2
    passed = 0
    with server_mod.Simulator(scenario, port=port,
                              compute_version=compute_version) as sim, \
            tempfile.TemporaryDirectory(prefix='otc-sim-demo-') as tmp:
        clouds = sim.write_clouds_yaml(os.path.join(tmp, 'clouds.yaml'))
        env = clientenv.clean_env(clouds)
        print('otc-detach-sim demo: simulated OTC (IAM at %s), project %s'
              % (sim.auth_url, sim.state.project.name), file=out)
        print('using %s with OS_CLOUD=%s' % (openstack, clientenv.CLOUD),
              file=out)
        for number, step in enumerate(STEPS, 1):
            print('\nStep %d: %s' % (number, step.title), file=out)
            try:
                ok = run_step(sim, step, openstack, env, out)
            except state_mod.SimError as exc:
                print('    FAIL: the scenario does not fit: %s'
                      % exc.message, file=out)
                ok = False
            passed += ok
            out.flush()
    print('\n%d of %d steps behaved as documented.' % (passed, len(STEPS)),
          file=out)
    return 0 if passed == len(STEPS) else 1
