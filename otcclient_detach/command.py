"""``openstack server volume detach-otc``: detach EVS disks by OTC's rules.

The CLI imports this module on every ``openstack`` run, so it imports
only what python-openstackclient has loaded already; the rest is imported
inside :meth:`DetachVolume.take_action`.
"""

from osc_lib.command import command
from osc_lib import exceptions

EXIT_REFUSED = 1


class DetachVolume(command.Lister):
    """Detach volumes from a server, only when OTC's rules allow it.

    Before the detach is sent, the server, the volumes and (for a running
    ECS) its OS are checked against Open Telekom Cloud's rules for
    detaching EVS disks; a detach that OTC would reject or that could lose
    data is refused, with the reason and the way out.
    """

    def get_description(self):
        from otcclient_detach import render
        return render.help_text(super(DetachVolume, self).get_description())

    def get_parser(self, prog_name):
        from otcclient_detach import render
        parser = super(DetachVolume, self).get_parser(prog_name)
        parser.formatter_class = render.HelpFormatter
        parser.add_argument(
            'server', metavar='<server>',
            help='Server (ECS) to detach the volumes from (name or ID)')
        parser.add_argument(
            'volumes', metavar='<volume>', nargs='+',
            help='Volume (EVS disk) to detach (name or ID); repeat to '
                 'detach several')
        parser.add_argument(
            '--force', action='store_true',
            help='Turn the refusals of the rules server-status, task-state, '
                 'locked, system-disk, os-supported and windows-scsi into '
                 'warnings and send the detach anyway (the cloud has the '
                 'last word). Never bypasses rule attached.')
        return parser

    def produce_output(self, parsed_args, column_names, data):
        # Like OSC's other remove commands, a detach prints nothing.
        if column_names:
            return super(DetachVolume, self).produce_output(
                parsed_args, column_names, data)
        return 0

    def run(self, parsed_args):
        super(DetachVolume, self).run(parsed_args)
        return self._status

    def take_action(self, parsed_args):
        from otcclient_detach import detach
        from otcclient_detach import facts
        from otcclient_detach import render
        from otcclient_detach import rules

        self._status = 0
        stderr = self.app.stderr
        conn = self.app.client_manager.sdk_connection
        gathered = facts.Gatherer(conn).gather(parsed_args.server,
                                               parsed_args.volumes)
        findings = [rules.evaluate(f, force=parsed_args.force)
                    for f in gathered]
        refused = [f for f in findings if rules.refusals(f)]
        if refused:
            render.refusals(stderr, gathered, findings)
            self._status = EXIT_REFUSED
            return (), ()
        render.warnings(stderr, gathered, findings)

        server = gathered[0].server
        for fact in gathered:
            try:
                detach.detach_nova(conn.compute, server.id, fact.volume.id)
            except detach.NotAttached as e:
                raise exceptions.CommandError(
                    'Volume %s is not attached to server %s (any more): %s'
                    % (fact.volume.label, server.label, e))
            except Exception as e:
                raise exceptions.CommandError(
                    'The cloud refused to detach volume %s from server %s: '
                    '%s' % (fact.volume.label, server.label, e))
        return (), ()
