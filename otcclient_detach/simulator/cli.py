"""The ``otc-detach-sim`` command: serve, run a command, or demo."""

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
from otcclient_detach.simulator import demo
from otcclient_detach.simulator import ratelimit
from otcclient_detach.simulator import server as server_mod

SERVE_DESCRIPTION = """\
Serve the simulated cloud on 127.0.0.1 until Ctrl-C or SIGTERM.

It writes a clouds.yaml with the cloud "%s" (mode 0600, removed
again when it stops) and prints how to use it.  Exporting
OS_CLIENT_CONFIG_FILE hides your own clouds.yaml: openstacksdk reads
only the first one it finds.  To use the simulator next to your own
clouds, either
  --print-env    print OS_* variables to export: the simulator becomes
                 the cloud "envvars" (openstack --os-cloud envvars ...)
                 and your own clouds stay as they are; or
  --print-cloud  print a clouds.yaml entry to paste into your own
                 clouds.yaml.

The /_sim control API answers only to requests that carry the admin
token it prints, in the header %s."""
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


def _print_env(sim, args):
    env = sim.env_vars(volume_api_version=args.volume_api_version)
    print('# an env-var cloud, next to the clouds of your own clouds.yaml;'
          ' use it with --os-cloud envvars')
    for key in sorted(env):
        print('export %s=%s' % (key, shlex.quote(env[key])))


def _print_cloud(sim, args):
    import yaml
    conf = sim.clouds_config(CLOUD, volume_api_version=args
                             .volume_api_version)['clouds']
    print('# paste under "clouds:" in your own clouds.yaml, then use '
          '--os-cloud %s' % CLOUD)
    text = yaml.safe_dump(conf, default_flow_style=False)
    print(''.join('  ' + line for line in text.splitlines(True)), end='')


def cmd_serve(args):
    if args.host is None:
        args.host = '127.0.0.1'
    elif not is_loopback(args.host) and not args.allow_remote:
        print('otc-detach-sim serve: --host %s would let other machines '
              'reach the simulator; add --allow-remote if you mean it'
              % args.host, file=sys.stderr)
        return 2
    sim = _simulator(args)
    done = threading.Event()

    def _stop(signum, frame):
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    path = os.path.expanduser(args.clouds_yaml)
    sim.start()
    written = False
    try:
        if not is_loopback(args.host):
            print('otc-detach-sim serve: WARNING: serving on %s: anyone who '
                  'can reach this port can use the simulated cloud and its '
                  'credentials' % args.host, file=sys.stderr)
        sim.write_clouds_yaml(path, cloud=CLOUD,
                              volume_api_version=args.volume_api_version)
        written = True
        print('otc-detach-sim serving %s (project %s, region %s); '
              'catalog:' % (sim.auth_url, sim.project_id, sim.state.region))
        for stype, url in sorted(sim.endpoints.items()):
            print('  %-13s %s' % (stype, url))
        print('clouds.yaml written to %s; use it with:' % path)
        print('  export OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=%s' % (path, CLOUD))
        print('  (this hides your own clouds.yaml; to keep it, see '
              '--print-env and --print-cloud)')
        if args.print_env:
            _print_env(sim, args)
        if args.print_cloud:
            _print_cloud(sim, args)
        # Last line: a script reading the output may stop at it.
        print('control API: %s/_sim/state with header "%s: %s"  '
              '(Ctrl-C to stop)' % (sim.base_url, ADMIN_TOKEN_HEADER,
                                    sim.admin_token))
        sys.stdout.flush()
        while not done.wait(0.5):
            pass
    finally:
        sim.stop()
        removed = written and server_mod.remove_clouds_yaml(path)
    print('otc-detach-sim stopped%s' % (
        '; %s removed' % path if removed else ''))
    return 0


def cmd_run(args):
    command = list(args.command)
    if command and command[0] == '--':
        command = command[1:]
    if not command:
        print('otc-detach-sim run: no command given', file=sys.stderr)
        return 2
    with _simulator(args) as sim, \
            tempfile.TemporaryDirectory(prefix='otc-sim-') as tmp:
        path = sim.write_clouds_yaml(
            os.path.join(tmp, 'clouds.yaml'), cloud=CLOUD,
            volume_api_version=args.volume_api_version)
        try:
            env = clean_env(path)
            # so that COMMAND can reach the /_sim control API
            env.update(control_env(sim))
            return subprocess.call(command, env=env)
        except OSError as exc:
            print('otc-detach-sim run: cannot run %s: %s'
                  % (command[0], exc), file=sys.stderr)
            return 127
        except KeyboardInterrupt:
            return 130


def cmd_demo(args):
    return demo.run(scenario=args.scenario, port=args.port,
                    compute_version=args.compute_version)


def build_parser():
    parser = argparse.ArgumentParser(
        prog='otc-detach-sim',
        description='Embedded Open Telekom Cloud simulator for '
                    '"openstack server volume detach-otc".')
    sub = parser.add_subparsers(dest='action', metavar='ACTION')
    sub.required = True

    def rate_limits(p):
        p.add_argument('--rate-limit', metavar='SPEC', action='append',
                       type=_rate_limit, default=[],
                       help='flow control, e.g. rate=10,service=compute,'
                            'method=DELETE,answer=202 (requests per '
                            'second; answer 429 or 202); repeatable')

    def common(p):
        p.add_argument('--scenario', metavar='FILE',
                       help='scenario file (YAML or JSON); default: the '
                            'built-in demo scenario')
        p.add_argument('--port', type=int, default=0,
                       help='TCP port (default: a free one)')
        p.add_argument('--compute-version', choices=('v2.1', 'v2'),
                       help='compute endpoint in the catalog (default: the'
                            " scenario's compute_version)")

    serve = sub.add_parser(
        'serve', help='serve until Ctrl-C or SIGTERM',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=SERVE_DESCRIPTION % (CLOUD, ADMIN_TOKEN_HEADER))
    common(serve)
    rate_limits(serve)
    serve.add_argument('--host', default=None,
                       help='address to bind (default 127.0.0.1); an '
                            'address other machines can reach needs '
                            '--allow-remote')
    serve.add_argument('--allow-remote', action='store_true',
                       help='allow a --host that is not loopback (warns: '
                            'anyone reaching it can use the cloud)')
    serve.add_argument('--print-env', action='store_true',
                       help='also print "export OS_...=" lines for an '
                            'env-var cloud ("envvars") that works next to '
                            'your own clouds.yaml')
    serve.add_argument('--print-cloud', action='store_true',
                       help='also print a clouds.yaml entry to paste into '
                            'your own clouds.yaml')
    serve.add_argument('--clouds-yaml', metavar='PATH',
                       default=DEFAULT_CLOUDS_YAML,
                       help='where to write the clouds.yaml with the cloud '
                            '"%s" (mode 0600; a file otc-detach-sim did not '
                            'write is never overwritten; default: %s)'
                            % (CLOUD, DEFAULT_CLOUDS_YAML))
    serve.add_argument('--tls', action='store_true',
                       help='serve HTTPS with a self-signed certificate')
    serve.add_argument('--volume-api-version', default='2',
                       help='volume_api_version in clouds.yaml (default 2,'
                            ' as OTC advises)')
    serve.set_defaults(func=cmd_serve)

    run = sub.add_parser(
        'run', help='run COMMAND against a fresh simulator',
        description='Run COMMAND against a fresh simulator, with '
        'OS_CLIENT_CONFIG_FILE and OS_CLOUD=%s set (other OS_* variables '
        'removed), and %s and %s for the /_sim control API.'
        % (CLOUD, clientenv.URL_VAR, clientenv.ADMIN_TOKEN_VAR))
    common(run)
    rate_limits(run)
    run.add_argument('--volume-api-version', default='2')
    run.add_argument('command', nargs=argparse.REMAINDER,
                     help='the command, after "--"')
    run.set_defaults(func=cmd_run, host='127.0.0.1', tls=False)

    demo = sub.add_parser('demo', help='narrated tour with the openstack CLI')
    common(demo)
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
