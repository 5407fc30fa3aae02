"""The ``otc-detach-sim`` command: serve, shell, run a command, or demo."""

import argparse
import ipaddress
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading

from otcclient_detach.simulator.app import ADMIN_TOKEN_HEADER
from otcclient_detach.simulator import clientenv
from otcclient_detach.simulator.clientenv import clean_env
from otcclient_detach.simulator.clientenv import CLOUD
from otcclient_detach.simulator.clientenv import control_env
from otcclient_detach.simulator import clouds_lock
from otcclient_detach.simulator.clouds_lock import CloudsYamlLock
from otcclient_detach.simulator import demo
from otcclient_detach.simulator import ratelimit
from otcclient_detach.simulator import server as server_mod

SERVE_DESCRIPTION = """\
Serve the simulated cloud on 127.0.0.1 until Ctrl-C or SIGTERM.

It writes a clouds.yaml with the cloud "%(cloud)s" (mode 0600, removed
again when it stops; one serve per file: a second one with the same
--clouds-yaml leaves it alone and exits 1).  Use the simulator with:
  otc-detach-sim shell            a shell that sees the simulator only
                                  (no OS_* variables of yours; exit it to
                                  get your own clouds back)
  otc-detach-sim shell -- CMD     one command, the same way
  --print-cloud                   prints an entry to paste into your own
                                  clouds.yaml: then "openstack --os-cloud
                                  %(cloud)s ..." reaches the simulator and
                                  --os-cloud with your clouds reaches them
  --print-env                     prints lines for this shell: every OS_*
                                  variable unset, OS_CLIENT_CONFIG_FILE and
                                  OS_CLOUD set; your own clouds.yaml is then
                                  hidden (--os-cloud with your clouds fails
                                  and sends nothing) until you unset them
No OS_AUTH_URL, OS_PASSWORD, ... is ever printed: the openstack CLI lets
such variables override the cloud that --os-cloud names, so they would
send commands meant for your cloud to the simulator (or the other way
round).  serve warns when its own environment has such variables.

The /_sim control API answers only to requests that carry the admin
token it prints, in the header %(header)s."""
DEFAULT_CLOUDS_YAML = os.path.join('~', '.config', 'otc-detach-sim',
                                   'clouds.yaml')


def _simulator(args):
    sim = server_mod.Simulator(scenario=args.scenario, port=args.port,
                               host=args.host, tls=args.tls or None,
                               compute_version=args.compute_version)
    for spec in args.rate_limit:
        sim.app.rate_limits.add(**spec)
    return sim


def _rate_limit(text):
    """argparse type of --rate-limit: ratelimit.parse_spec's rule."""
    try:
        return ratelimit.parse_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc))


def is_loopback(host):
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1)."""
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host.strip('[]')).is_loopback
    except ValueError:
        return False


# Drops every OS_* variable of the shell it is pasted into, in sh, bash
# and zsh alike (an "unset" without names does nothing).
UNSET_OS_VARIABLES = ("unset $(env | sed -n "
                      "'s/^\\(OS_[A-Za-z0-9_]*\\)=.*/\\1/p')")


def _print_env(path):
    print('# for this shell: the simulator only.  Your own clouds.yaml is '
          'hidden until you unset OS_CLIENT_CONFIG_FILE and OS_CLOUD')
    print(UNSET_OS_VARIABLES)
    print('export OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=%s'
          % (shlex.quote(path), CLOUD))


def _print_cloud(sim, args):
    import yaml
    conf = sim.clouds_config(CLOUD, volume_api_version=args
                             .volume_api_version)['clouds']
    print('# paste under "clouds:" in your own clouds.yaml, then use '
          '--os-cloud %s' % CLOUD)
    text = yaml.safe_dump(conf, default_flow_style=False)
    print(''.join('  ' + line for line in text.splitlines(True)), end='')


def _warn_overriding_variables():
    found = clientenv.overriding_variables(os.environ)
    if found:
        print('otc-detach-sim serve: WARNING: %s set here: the openstack '
              'CLI lets OS_* variables override the cloud that --os-cloud '
              'names, the simulator\'s included; use "otc-detach-sim '
              'shell", or unset them' % ', '.join(found), file=sys.stderr)


def _print_usage(sim, args, path):
    print('otc-detach-sim serving %s (project %s, region %s); '
          'catalog:' % (sim.auth_url, sim.project_id, sim.state.region))
    for stype, url in sorted(sim.endpoints.items()):
        print('  %-13s %s' % (stype, url))
    shell = 'otc-detach-sim shell%s' % (
        '' if path == os.path.expanduser(DEFAULT_CLOUDS_YAML)
        else ' --clouds-yaml %s' % shlex.quote(path))
    print('clouds.yaml with the cloud "%s" written to %s; use it with:'
          % (CLOUD, path))
    print('  %s              (a shell for the simulator only)' % shell)
    print('  %s -- openstack server list    (one command)' % shell)
    print('  next to your own clouds: --print-cloud')
    if args.print_env:
        _print_env(path)
    if args.print_cloud:
        _print_cloud(sim, args)
    # Last line: a script reading the output may stop at it.
    print('control API: %s/_sim/state with header "%s: %s"  '
          '(Ctrl-C to stop)' % (sim.base_url, ADMIN_TOKEN_HEADER,
                                sim.admin_token))
    sys.stdout.flush()


def _check_host(args):
    """Error text for a --host that needs --allow-remote, else None."""
    if args.host is None:
        args.host = '127.0.0.1'
    elif not is_loopback(args.host) and not args.allow_remote:
        return ('otc-detach-sim serve: --host %s would let other machines '
                'reach the simulator; add --allow-remote if you mean it'
                % args.host)
    return None


def cmd_serve(args):
    refusal = _check_host(args)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    path = os.path.abspath(os.path.expanduser(args.clouds_yaml))
    with CloudsYamlLock(path):
        return _serve(args, path)


def _serve(args, path):
    sim = _simulator(args)
    done = threading.Event()

    def _stop(signum, frame):
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    sim.start()
    written = False
    try:
        if not is_loopback(args.host):
            print('otc-detach-sim serve: WARNING: serving on %s: anyone who '
                  'can reach this port can use the simulated cloud and its '
                  'credentials' % args.host, file=sys.stderr)
        _warn_overriding_variables()
        sim.write_clouds_yaml(path, cloud=CLOUD,
                              volume_api_version=args.volume_api_version)
        written = True
        _print_usage(sim, args, path)
        while not done.wait(0.5):
            pass
    finally:
        sim.stop()
        removed = written and server_mod.remove_clouds_yaml(path)
    print('otc-detach-sim stopped%s' % (
        '; %s removed' % path if removed else ''))
    return 0


def _call(command, env, action):
    """Run ``command`` with ``env``; its exit status, 127 or 130."""
    try:
        return subprocess.call(command, env=env)
    except OSError as exc:
        print('otc-detach-sim %s: cannot run %s: %s'
              % (action, command[0], exc), file=sys.stderr)
        return 127
    except KeyboardInterrupt:
        return 130


def _command(args):
    """The command after "--" (a list, maybe empty)."""
    command = list(args.command)
    if command and command[0] == '--':
        command = command[1:]
    return command


def cmd_shell(args):
    path = os.path.abspath(os.path.expanduser(args.clouds_yaml))
    if not (server_mod.written_by_us(path) and clouds_lock.held(path)):
        print('otc-detach-sim shell: no otc-detach-sim serve is running '
              'with %s; start one first (with the same --clouds-yaml)'
              % path, file=sys.stderr)
        return 1
    command = _command(args)
    if not command:
        command = [os.environ.get('SHELL') or '/bin/sh']
        print('otc-detach-sim shell: %s with OS_CLOUD=%s from %s, no '
              'other OS_* variables; exit it to get your own clouds back'
              % (command[0], CLOUD, path), file=sys.stderr)
    return _call(command, clean_env(path), 'shell')


def cmd_run(args):
    command = _command(args)
    if not command:
        print('otc-detach-sim run: no command given', file=sys.stderr)
        return 2
    with _simulator(args) as sim, \
            tempfile.TemporaryDirectory(prefix='otc-sim-') as tmp:
        path = sim.write_clouds_yaml(
            os.path.join(tmp, 'clouds.yaml'), cloud=CLOUD,
            volume_api_version=args.volume_api_version)
        env = clean_env(path)
        # so that COMMAND can reach the /_sim control API
        env.update(control_env(sim))
        return _call(command, env, 'run')


def cmd_demo(args):
    return demo.run(scenario=args.scenario, port=args.port,
                    compute_version=args.compute_version)


def _add_common(p):
    p.add_argument('--scenario', metavar='FILE',
                   help='scenario file (YAML or JSON); default: the '
                        'built-in demo scenario')
    p.add_argument('--port', type=int, default=0,
                   help='TCP port (default: a free one)')
    p.add_argument('--compute-version', choices=('v2.1', 'v2'),
                   help='compute endpoint in the catalog (default: the'
                        " scenario's compute_version)")


def _add_clouds_yaml(p, text):
    p.add_argument('--clouds-yaml', metavar='PATH',
                   default=DEFAULT_CLOUDS_YAML,
                   help='%s (default: %s)' % (text, DEFAULT_CLOUDS_YAML))


def _add_command(p):
    p.add_argument('command', nargs=argparse.REMAINDER,
                   help='the command, after "--"')


def _add_serve(sub):
    serve = sub.add_parser(
        'serve', help='serve until Ctrl-C or SIGTERM',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=SERVE_DESCRIPTION % {'cloud': CLOUD,
                                         'header': ADMIN_TOKEN_HEADER})
    _add_common(serve)
    _add_rate_limits(serve)
    serve.add_argument('--host', default=None,
                       help='address to bind (default 127.0.0.1); an '
                            'address other machines can reach needs '
                            '--allow-remote')
    serve.add_argument('--allow-remote', action='store_true',
                       help='allow a --host that is not loopback (warns: '
                            'anyone reaching it can use the cloud)')
    serve.add_argument('--print-env', action='store_true',
                       help='also print lines that make this shell use the '
                            'simulator only (OS_* variables unset, '
                            'OS_CLIENT_CONFIG_FILE and OS_CLOUD set)')
    serve.add_argument('--print-cloud', action='store_true',
                       help='also print a clouds.yaml entry to paste into '
                            'your own clouds.yaml, next to your clouds')
    _add_clouds_yaml(serve, 'where to write the clouds.yaml with the cloud '
                     '"%s" (mode 0600; a file otc-detach-sim did not write,'
                     ' or one another serve is using, is left alone)'
                     % CLOUD)
    serve.add_argument('--tls', action='store_true',
                       help='serve HTTPS with a self-signed certificate')
    serve.add_argument('--volume-api-version', default='2',
                       help='volume_api_version in clouds.yaml (default 2,'
                            ' as OTC advises)')
    serve.set_defaults(func=cmd_serve)


def _add_rate_limits(parser):
    parser.add_argument('--rate-limit', metavar='SPEC', action='append',
                        type=_rate_limit, default=[],
                        help='flow control, e.g. rate=10,service=compute,'
                             'method=DELETE,answer=202 (requests per '
                             'second; answer 429 or 202); repeatable')


def _add_shell(sub):
    shell = sub.add_parser(
        'shell', help='a shell (or COMMAND) for a running serve',
        description='Run COMMAND, or else your $SHELL, against the '
        'simulator that "otc-detach-sim serve" is serving: with '
        'OS_CLIENT_CONFIG_FILE set to its clouds.yaml, OS_CLOUD=%s and '
        'no other OS_* variable (but OS_*_API_VERSION), so that nothing '
        'in it reaches your own clouds.  Exit status: COMMAND\'s, 1 when '
        'no serve is running with that clouds.yaml.' % CLOUD)
    _add_clouds_yaml(shell, 'the clouds.yaml of the running serve')
    _add_command(shell)
    shell.set_defaults(func=cmd_shell)


def build_parser():
    parser = argparse.ArgumentParser(
        prog='otc-detach-sim',
        description='Embedded Open Telekom Cloud simulator for '
                    '"openstack server volume detach-otc".')
    sub = parser.add_subparsers(dest='action', metavar='ACTION')
    sub.required = True
    _add_serve(sub)
    _add_shell(sub)
    run = sub.add_parser(
        'run', help='run COMMAND against a fresh simulator',
        description='Run COMMAND against a fresh simulator, with '
        'OS_CLIENT_CONFIG_FILE and OS_CLOUD=%s set (other OS_* variables '
        'removed), and %s and %s for the /_sim control API.'
        % (CLOUD, clientenv.URL_VAR, clientenv.ADMIN_TOKEN_VAR))
    _add_common(run)
    _add_rate_limits(run)
    run.add_argument('--volume-api-version', default='2')
    _add_command(run)
    run.set_defaults(func=cmd_run, host='127.0.0.1', tls=False)
    demo = sub.add_parser('demo', help='narrated tour with the openstack CLI')
    _add_common(demo)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    from otcclient_detach.simulator.scenario import ScenarioError
    try:
        return args.func(args)
    except ScenarioError as exc:
        print('otc-detach-sim: %s' % exc, file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the port is taken
        print('otc-detach-sim: %s' % exc, file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
