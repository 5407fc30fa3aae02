"""The ``otc-detach-sim`` command: serve, run a command, or demo."""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading

CLOUD = 'otc-sim'
DEFAULT_CLOUDS_YAML = os.path.join('~', '.config', 'otc-detach-sim',
                                   'clouds.yaml')


def clean_env(clouds_yaml, base=None):
    """Environment for a client of the simulator.

    Every OS_* variable that could point the client at another cloud or
    other credentials is dropped; OS_*_API_VERSION choices are kept, as
    they are what a test wants to vary.
    """
    env = dict(os.environ if base is None else base)
    for key in list(env):
        if key.startswith('OS_') and not key.endswith('_API_VERSION'):
            del env[key]
    env['OS_CLIENT_CONFIG_FILE'] = clouds_yaml
    # A user's secure.yaml must not add credentials to ours.
    env['OS_CLIENT_SECURE_FILE'] = os.path.join(
        os.path.dirname(clouds_yaml), 'secure.yaml')
    env['OS_CLOUD'] = CLOUD
    return env


def _simulator(args):
    from otcclient_detach.simulator import server
    return server.Simulator(scenario=args.scenario, port=args.port,
                            host=args.host, tls=args.tls or None,
                            compute_version=args.compute_version)


def cmd_serve(args):
    sim = _simulator(args)
    done = threading.Event()

    def _stop(signum, frame):
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    sim.start()
    try:
        path = os.path.expanduser(args.clouds_yaml)
        sim.write_clouds_yaml(path, cloud=CLOUD,
                              volume_api_version=args.volume_api_version)
        print('otc-detach-sim serving %s (project %s, region %s); '
              'catalog:' % (sim.auth_url, sim.project_id, sim.state.region))
        for stype, url in sorted(sim.endpoints.items()):
            print('  %-13s %s' % (stype, url))
        print('clouds.yaml written to %s; use it with:' % path)
        print('  export OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=%s' % (path, CLOUD))
        print('control API: %s/_sim/state  (Ctrl-C to stop)' % sim.base_url)
        sys.stdout.flush()
        while not done.wait(0.5):
            pass
    finally:
        sim.stop()
    print('otc-detach-sim stopped')
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
            return subprocess.call(command, env=clean_env(path))
        except OSError as exc:
            print('otc-detach-sim run: cannot run %s: %s'
                  % (command[0], exc), file=sys.stderr)
            return 127
        except KeyboardInterrupt:
            return 130


def cmd_demo(args):
    from otcclient_detach.simulator import demo
    return demo.run(scenario=args.scenario, port=args.port,
                    compute_version=args.compute_version)


def build_parser():
    parser = argparse.ArgumentParser(
        prog='otc-detach-sim',
        description='Embedded Open Telekom Cloud simulator for '
                    '"openstack server volume detach-otc".')
    sub = parser.add_subparsers(dest='action', metavar='ACTION')
    sub.required = True

    def common(p):
        p.add_argument('--scenario', metavar='FILE',
                       help='scenario file (YAML or JSON); default: the '
                            'built-in demo scenario')
        p.add_argument('--port', type=int, default=0,
                       help='TCP port (default: a free one)')
        p.add_argument('--compute-version', choices=('v2.1', 'v2'),
                       help='compute endpoint in the catalog (default: the'
                            " scenario's compute_version)")

    serve = sub.add_parser('serve', help='serve until Ctrl-C or SIGTERM')
    common(serve)
    serve.add_argument('--host', default='127.0.0.1')
    serve.add_argument('--clouds-yaml', metavar='PATH',
                       default=DEFAULT_CLOUDS_YAML,
                       help='where to write the clouds.yaml with the cloud '
                            '"%s" (default: %s)' % (CLOUD,
                                                    DEFAULT_CLOUDS_YAML))
    serve.add_argument('--tls', action='store_true',
                       help='serve HTTPS with a self-signed certificate')
    serve.add_argument('--volume-api-version', default='2',
                       help='volume_api_version in clouds.yaml (default 2,'
                            ' as OTC advises)')
    serve.set_defaults(func=cmd_serve)

    run = sub.add_parser('run', help='run COMMAND against a fresh simulator')
    common(run)
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
