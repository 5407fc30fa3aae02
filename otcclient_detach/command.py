"""``openstack server volume detach-otc``: detach EVS disks by OTC's rules.

The CLI imports this module on every ``openstack`` run, so it imports
only what python-openstackclient has loaded already; the rest is imported
inside the methods that need it.
"""

from osc_lib.command import command

DEFAULT_TIMEOUT = 300


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
    conflicts = [
        (args.all_data_disks and args.volumes,
         '--all-data-disks detaches every data disk of the server: name no '
         'volume with it, or drop --all-data-disks'),
        (not args.all_data_disks and not args.volumes,
         'name at least one <volume>, or give --all-data-disks'),
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
    ]
    for found, text in conflicts:
        if found:
            return text
    return None


def add_selection(parser):
    """What to detach: the server and its volumes."""
    parser.add_argument(
        'server', metavar='<server>',
        help='Server (ECS) to detach the volumes from (name or ID)')
    parser.add_argument(
        'volumes', metavar='<volume>', nargs='*',
        help='Volume (EVS disk) to detach (name or ID); all or none')


def add_safety(parser):
    """How the rules are judged, and what they may be told."""
    from otcclient_detach import render
    parser.add_argument(
        '--dry-run', action='store_true',
        help='Check every rule and print the report (a row per volume '
             'and rule; exit 1 if refused); change nothing')
    parser.add_argument(
        '--force', action='store_true',
        help='Turn the refusals of rules %s into warnings (the cloud '
             'has the last word)' % render.forceable_rules())


def add_actions(parser):
    """What the run does around the detach."""
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
        help='How long each wait may take, and how long a detach the '
             'cloud\'s flow control turned away is sent again (default '
             '%d; polling every 1 s, backing off to 5 s). A detach not '
             'confirmed by then is reported as accepted, not confirmed; '
             'the command exits 1.' % DEFAULT_TIMEOUT)
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
             'is available; if one fails, nothing is detached. A disk '
             'holds at most 7 snapshots, and deleting a disk deletes its '
             'snapshots too: for a copy that outlives the disk, use a CBR '
             'backup. With --dry-run: list the snapshots it would make.')


def add_batch(parser):
    """Which volumes, for scripts: every data disk, or only attached."""
    parser.add_argument(
        '--all-data-disks', action='store_true',
        help='Instead of naming volumes: every data disk of the server, '
             'never its system disk (any disk that may be the system '
             'disk is left out); judged and carried out as one batch')
    parser.add_argument(
        '--if-attached', action='store_true',
        help='A volume that is not attached to this server (never was, '
             'detached already, or attached elsewhere) is reported as '
             'such and counts as success: exit 0, nothing sent. A '
             'server or volume that does not exist is still an error')


def add_seldom(parser):
    """Options for the rare case: a forced detach, a user OS list."""
    parser.add_argument(
        '--force-detach', action='store_true',
        help='With --api native: send delete_flag=1, OTC\'s forced '
             'detach (data disks only).')
    parser.add_argument(
        '--os-list', metavar='<file>',
        help='A file of OSs you have checked yourself, added to OTC\'s '
             'lists for rule os-supported (format: doc/source/'
             'os-list.rst); default: $OTC_DETACH_OS_LIST, else '
             '$XDG_CONFIG_HOME/otcclient-detach/os-list.tsv if present')


class DetachVolume(command.Lister):
    """Detach volumes from a server, only when OTC's rules allow it.

    A detach that OTC would reject or that could lose data is refused,
    with the reason and the way out (rules below).
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
        add_selection(parser)
        add_safety(parser)
        add_actions(parser)
        add_batch(parser)
        add_seldom(parser)
        # No -f/-c given: a real run prints no result rows (data stays
        # for scripts that ask for it); --dry-run prints its report.
        parser.set_defaults(formatter=None)
        self._parser = parser
        return parser

    def produce_output(self, parsed_args, column_names, data):
        if not column_names:
            return 0
        try:
            result = super(DetachVolume, self).produce_output(
                parsed_args, column_names, data)
            getattr(self.app.stdout, 'flush', lambda: None)()
        except BrokenPipeError:
            # The reader went away (| head): end quietly.
            from otcclient_detach import process
            process.silence(self.app.stdout)
            return 0
        return result

    def run(self, parsed_args):
        from otcclient_detach import process
        self._status = 0
        # -f/-c given: a real run prints its result rows too.
        parsed_args.result = parsed_args.formatter is not None or \
            bool(parsed_args.columns)
        if parsed_args.formatter is None:
            parsed_args.formatter = 'table'
        previous = process.take_signals()
        process.spare_collections()
        try:
            super(DetachVolume, self).run(parsed_args)
        except KeyboardInterrupt as e:
            # Before anything was sent (the run tells its own).
            from otcclient_detach import render
            process.Output(self.app.stderr).write(render.fill(
                'Interrupted: nothing was detached.') + '\n')
            return process.exit_status(e)
        finally:
            process.restore_signals(previous)
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
        parsed_args.os_catalog = self._os_catalog(parsed_args)

    def _os_catalog(self, parsed_args):
        """OTC's OS lists with the operator's own (a usage error if bad)."""
        import os

        from otcclient_detach import oslists
        from otcclient_detach import user_oslist
        try:
            return oslists.catalog(user_file=parsed_args.os_list,
                                   environ=os.environ)
        except user_oslist.OsListError as e:
            self._parser.error(str(e))
