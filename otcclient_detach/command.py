"""``openstack server volume detach-otc``: detach EVS disks by OTC's rules.

The CLI imports this module on every ``openstack`` run, so it imports
only what python-openstackclient has loaded already; the rest is imported
inside the methods that need it.
"""

from osc_lib.command import command

EXIT_INTERRUPTED = 130
DEFAULT_TIMEOUT = 300
#: Signals that end the command like Ctrl-C does (exit 128 + number).
STOP_SIGNALS = ('SIGTERM', 'SIGHUP')


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP: handled like Ctrl-C, with its own exit status."""

    def __init__(self, signum):
        super(Interrupted, self).__init__(signum)
        self.exit_status = 128 + signum


def _interrupt(signum, frame):
    raise Interrupted(signum)


def handle_stop_signals():
    """Make SIGTERM and SIGHUP interrupt like Ctrl-C; return the old ones.

    Only the main thread may set handlers (an embedding program's worker
    thread keeps its own).
    """
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for name in STOP_SIGNALS:
        number = getattr(signal, name, None)
        if number is not None:
            previous[number] = signal.signal(number, _interrupt)
    return previous


def spare_collections():
    """Keep the garbage collector off what the CLI loaded, for good.

    By the time a command runs, python-openstackclient has loaded all of
    itself and its plugins: millions of objects that live until the
    process ends.  Each full collection walks them all (about 0.1 s on a
    2-core machine), a few times during a run and once more when the
    interpreter exits.  ``gc.freeze()`` moves them out of the collector's
    reach: now, once per process, and at exit for what the run added.
    Nothing the command needs happens in those collections: streams are
    flushed and log handlers closed by their own exit hooks, and the OS
    closes the sockets and takes the memory back.
    """
    if _FROZEN:
        return
    import atexit
    import gc
    gc.freeze()
    atexit.register(gc.freeze)
    _FROZEN.append(gc.freeze)


_FROZEN = []


def restore_signals(previous):
    import signal
    for number, handler in previous.items():
        signal.signal(number, handler)


def positive_int(text):
    import argparse
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(
            "'%s' is not a positive whole number of seconds" % text)
    return value


def conflict(args):
    """What is wrong with these options together, and what to do; or None.

    Options that make no sense together are a usage error (exit 2).
    """
    waits = args.wait or args.stop_server or args.api == 'native' or \
        args.snapshot
    formatted = getattr(args, 'formatter', 'table') not in (None, 'table') \
        or getattr(args, 'columns', None)
    conflicts = [
        (formatted and not args.dry_run,
         '-f/--format and -c/--column shape the report of --dry-run; '
         'without --dry-run the command prints no report: add --dry-run, '
         'or drop -f/-c'),
        (args.dry_run and args.stop_server,
         '--dry-run changes nothing, so it stops no server; drop '
         '--stop-server (the report judges a running ECS as the stopped '
         'one it would make of it only without --dry-run)'),
        (args.dry_run and args.wait,
         '--dry-run changes nothing, so there is nothing to wait for; drop '
         '--wait'),
        (args.start_server and not args.stop_server,
         '--start-server starts the ECS again after --stop-server stopped '
         'it; add --stop-server, or drop --start-server'),
        (args.force_detach and args.api != 'native',
         "--force-detach is a flag of OTC's native detach API "
         '(delete_flag=1); add --api native, or drop --force-detach'),
        (args.timeout is not None and not waits,
         '--timeout limits a wait, and nothing waits without --wait '
         '(--stop-server, --snapshot and --api native wait too); add '
         '--wait, or drop --timeout'),
    ]
    for found, text in conflicts:
        if found:
            return text
    return None


class DetachVolume(command.Lister):
    """Detach volumes from a server, only when OTC's rules allow it.

    The server, the volumes and (for a running ECS) its OS are checked
    first: a detach that OTC would reject or that could lose data is
    refused, with the reason and the way out (rules below).
    """

    #: cliff authenticates before it parses the options; authentication
    #: waits for take_action instead (osc_adapter.connect), after the
    #: options have been checked: a usage error sends no request.
    auth_required = False

    def get_description(self):
        from otcclient_detach import render
        return render.description(
            super(DetachVolume, self).get_description())

    def get_epilog(self):
        from otcclient_detach import render
        return render.epilog()

    def get_parser(self, prog_name):
        import argparse

        from otcclient_detach import render
        parser = super(DetachVolume, self).get_parser(prog_name)
        # The rules in the epilog are laid out already: keep them so.
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.usage = render.USAGE
        parser.add_argument(
            'server', metavar='<server>',
            help='Server (ECS) to detach the volumes from (name or ID)')
        parser.add_argument(
            'volumes', metavar='<volume>', nargs='+',
            help='Volume (EVS disk) to detach (name or ID); all or none')
        parser.add_argument(
            '--dry-run', action='store_true',
            help='Check every rule and print the report (a row per volume '
                 'and rule; exit 1 if refused); change nothing')
        parser.add_argument(
            '--force', action='store_true',
            help='Turn the refusals of rules %s into warnings (the cloud '
                 'has the last word)' % render.forceable_rules())
        parser.add_argument(
            '--wait', action='store_true',
            help='Wait until the volumes have left the server; fail at once '
                 'if the cloud rolls a detach back')
        parser.add_argument(
            '--stop-server', action='store_true',
            help='Stop the ECS first (os-stop), then detach and wait: any '
                 'disk can leave a stopped ECS')
        parser.add_argument(
            '--start-server', action='store_true',
            help='With --stop-server: start the ECS again afterwards if it '
                 'was running before.')
        parser.add_argument(
            '--timeout', metavar='<seconds>', type=positive_int,
            help='How long each wait may take (default %d; polling every '
                 '1 s, backing off to 5 s). On expiry the command exits 1; '
                 'the detach may still complete.' % DEFAULT_TIMEOUT)
        parser.add_argument(
            '--api', choices=('nova', 'native'), default='nova',
            help='nova (default): DELETE /v2.1/{project_id}/servers/'
                 '{server_id}/os-volume_attachments/{volume_id}. native: '
                 'OTC\'s DELETE /v1/{project_id}/cloudservers/{server_id}/'
                 'detachvolume/{volume_id}, waiting on its job.')
        parser.add_argument(
            '--snapshot', action='store_true',
            help='First make an EVS snapshot of each volume (named '
                 'detach-otc-<volume>-<UTC timestamp>) and wait until each '
                 'is available; if one fails, nothing is detached. With '
                 '--dry-run: list the snapshots it would make.')
        parser.add_argument(
            '--force-detach', action='store_true',
            help='With --api native: send delete_flag=1, OTC\'s forced '
                 'detach (data disks only).')
        self._parser = parser
        return parser

    def produce_output(self, parsed_args, column_names, data):
        # Like OSC's other remove commands, a detach prints nothing; only
        # --dry-run has a report.
        if not column_names:
            return 0
        try:
            result = super(DetachVolume, self).produce_output(
                parsed_args, column_names, data)
            getattr(self.app.stdout, 'flush', lambda: None)()
        except BrokenPipeError:
            # The reader went away (| head): end quietly.
            _silence(self.app.stdout)
            return 0
        return result

    def run(self, parsed_args):
        self._status = 0
        previous = handle_stop_signals()
        spare_collections()
        try:
            super(DetachVolume, self).run(parsed_args)
        except KeyboardInterrupt as e:
            # Before any DELETE (the operation tells its own).
            from otcclient_detach import render
            self.app.stderr.write(render.fill(
                'Interrupted: nothing was detached.') + '\n')
            return getattr(e, 'exit_status', EXIT_INTERRUPTED)
        finally:
            restore_signals(previous)
        return self._status

    def take_action(self, parsed_args):
        from otcclient_detach import osc_adapter
        from otcclient_detach import workflow
        self._check_options(parsed_args)
        outcome = workflow.run(lambda: osc_adapter.connect(self), parsed_args,
                               self.app.stderr, self.log,
                               lambda: osc_adapter.auth_url(self.app))
        self._status = outcome.status
        return outcome.columns, outcome.rows

    def _check_options(self, parsed_args):
        """A usage error exits 2 before anything is sent."""
        problem = conflict(parsed_args)
        if problem:
            self._parser.error(problem)
        if parsed_args.timeout is None:
            parsed_args.timeout = DEFAULT_TIMEOUT


def _silence(stream):
    """Point ``stream``'s file at /dev/null: its last flush cannot fail."""
    import os
    try:
        fileno = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fileno)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test's buffer): nothing to flush
