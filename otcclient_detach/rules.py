"""OTC's rules for detaching a disk, as pure functions of the facts.

Every rule returns one :class:`Finding` per volume, so that a report can
show what was checked and every refusal is known at once.  Nothing here
talks to the cloud.
"""

import collections
import dataclasses

from otcclient_detach import model
from otcclient_detach import oslists

# Verdicts.
PASS = 'pass'
REFUSE = 'refuse'
#: A refusal that --force turned into a warning.
FORCED = 'forced'
#: Not blocking: something only the user can do inside the guest.
REMIND = 'remind'
#: The rule does not apply (e.g. OS checks on a stopped ECS).
SKIP = 'n/a'

Finding = collections.namedtuple(
    'Finding', 'rule verdict message advice volume_id')

#: ``forceable``: True if --force turns a refusal into a warning, False if
#: nothing bypasses it, None for a reminder that never refuses.
#: ``running_only``: the rule judges a running (ACTIVE) ECS only; from a
#: stopped one it does not apply.
Rule = collections.namedtuple(
    'Rule', 'id summary doc forceable running_only check')

SEED_DOC = ('ECS API reference, "Detaching a Disk from an ECS", '
            'Constraints')
RUNNING_DOC = ('ECS user guide, "Detaching an EVS Disk from a Running '
               'ECS"')

STATUS_ADVICE = {
    'ERROR': "repair the ECS first (e.g. 'openstack server reboot --hard "
             "{server}'), or stop it, then try again",
    'BUILD': "wait until the ECS has been built, then try again",
    'REBOOT': "wait until the reboot has finished, then try again",
    'HARD_REBOOT': "wait until the reboot has finished, then try again",
    'REBUILD': "wait until the rebuild has finished, then try again",
    'MIGRATING': "wait until the migration has finished, then try again",
    'RESIZE': "wait until the resize has finished, then try again",
    'VERIFY_RESIZE': "confirm or revert the resize first "
                     "('openstack server resize confirm {server}')",
    'REVERT_RESIZE': "wait until the resize has been reverted",
    'SHELVED': "unshelve the ECS first ('openstack server unshelve "
               "{server}'), or stop it",
    'SHELVED_OFFLOADED': "unshelve the ECS first ('openstack server "
                         "unshelve {server}')",
    'PAUSED': "unpause the ECS first ('openstack server unpause {server}')",
    'SUSPENDED': "resume the ECS first ('openstack server resume "
                 "{server}')",
}
STOP_ADVICE = ("stop the ECS first ('openstack server stop {server}', or "
               "--stop-server); from a stopped ECS any disk can be "
               "detached")


def os_type_of(facts):
    """Linux, Windows or None, from the best source there is."""
    if facts.os and facts.os.os_type:
        return facts.os.os_type
    hint = facts.server.metadata.get('os_type')
    if hint:
        return hint
    if facts.os and facts.os.version:
        if facts.os.version.strip().lower().startswith('windows'):
            return model.WINDOWS
        return model.LINUX
    return None


def _finding(rule, verdict, message, advice, facts):
    return Finding(rule, verdict, message, advice, facts.volume.id)


def check_attached(facts):
    server, volume = facts.server, facts.volume
    if volume.attachment_to(server.id):
        return PASS, 'attached to %s as %s' % (
            server.label, volume.attachment_to(server.id).device), None
    others = volume.attachments
    advice = ("check the server's disks with 'openstack server volume list "
              "%s'" % server.label)
    if others:
        where = 'it is attached to server %s' % ', '.join(
            a.server_label for a in others)
        advice += ("; to detach it from where it is: 'openstack server "
                   "volume detach-otc %s %s'" % (
                       others[0].server_name or others[0].server_id,
                       volume.label))
    else:
        where = 'its status is %s' % volume.status
    return (REFUSE,
            'volume %s is not attached to server %s (%s)' % (
                volume.label, server.label, where),
            advice)


def check_status(facts):
    server = facts.server
    if server.status in (model.ACTIVE, model.SHUTOFF):
        return PASS, 'server status is %s' % server.status, None
    advice = STATUS_ADVICE.get(
        server.status,
        'bring the ECS to ACTIVE or SHUTOFF first')
    return (REFUSE,
            'server %s is %s; OTC detaches disks only from a running '
            '(ACTIVE) or stopped (SHUTOFF) ECS' % (
                server.label, server.status),
            advice.format(server=server.label))


def check_task_state(facts):
    server = facts.server
    if not server.task_state:
        return PASS, 'no task in progress', None
    return (REFUSE,
            'server %s is busy (task_state %s); OTC refuses to detach from '
            'an ECS that is being started, stopped or restarted' % (
                server.label, server.task_state),
            "wait until the task has finished ('openstack server show %s "
            "-c OS-EXT-STS:task_state' shows none), then try again" %
            server.label)


def check_locked(facts):
    server = facts.server
    if server.locked is None:
        return SKIP, 'the cloud did not report a lock state', None
    if not server.locked:
        return PASS, 'server is not locked', None
    return (REFUSE, 'server %s is locked' % server.label,
            "unlock it first ('openstack server unlock %s')" % server.label)


def check_system_disk(facts):
    server = facts.server
    device = facts.volume.attachment_to(server.id).device
    if server.root_device_name:
        how = 'root_device_name %s' % server.root_device_name
    else:
        how = 'the cloud did not report root_device_name'
    if not model.is_system_disk(facts):
        return PASS, '%s is a data disk (%s)' % (device, how), None
    return (REFUSE,
            '%s is the system disk (%s, %s) of the running ECS %s' % (
                facts.volume.label, device, how, server.label),
            STOP_ADVICE.format(server=server.label))


def check_os_supported(facts, catalog=None):
    server, found = facts.server, facts.os
    advice = STOP_ADVICE.format(server=server.label)
    if found is None or not found.version:
        source = found.source if found else 'nowhere'
        return (REFUSE,
                'the OS of the running ECS %s is unknown (looked in %s); '
                'OTC detaches online only for the OSs it lists' % (
                    server.label, source),
                advice)
    listed = (catalog or oslists.catalog()).match(found.version)
    if listed is None:
        return (REFUSE,
                "the OS '%s' of the running ECS %s (from %s) is not on "
                "OTC's list of OSs that support detaching a disk from a "
                "running ECS" % (found.version, server.label, found.source),
                advice)
    return (PASS, "OS '%s' (from %s) is listed as '%s' in %s" % (
        found.version, found.source, listed.spelling, listed.source), None)


def check_windows_scsi(facts):
    os_type = os_type_of(facts)
    kind = 'SCSI' if facts.volume.is_scsi else 'VBD'
    if os_type != model.WINDOWS:
        return SKIP, 'not a Windows ECS (%s disk)' % kind, None
    if not facts.volume.is_scsi:
        return PASS, 'VBD disk on Windows', None
    return (REFUSE,
            '%s is a SCSI disk (metadata hw:passthrough=true); SCSI disks '
            'cannot be detached from a running Windows ECS' %
            facts.volume.label,
            STOP_ADVICE.format(server=facts.server.label))


def check_guest(facts):
    device = facts.volume.attachment_to(facts.server.id).device
    if os_type_of(facts) == model.WINDOWS:
        return (REMIND,
                'stop all I/O on the disk (%s) inside Windows; OTC Tools '
                'must be installed and enabled on the ECS' % device,
                None)
    return (REMIND,
            "inside the guest, 'umount' the disk (%s as the cloud names "
            "it) and stop all I/O on it first" % device,
            None)


RULES = (
    Rule('attached', 'The volume is attached to that server.',
         'ECS API reference, "Detaching a Disk from an ECS", URI; '
         'error Ecs.0111', False, False, check_attached),
    Rule('server-status', 'The ECS is running (ACTIVE) or stopped '
         '(SHUTOFF).', SEED_DOC + '; error Ecs.0100', True, False,
         check_status),
    Rule('task-state', 'No task (starting, stopping, rebooting, ...) is '
         'in progress on the ECS.', RUNNING_DOC + '; error 0101046', True,
         False, check_task_state),
    Rule('locked', 'The ECS is not locked.',
         'ECS API reference, error codes: Ecs.0605', True, False,
         check_locked),
    Rule('system-disk', 'A running ECS keeps its system disk (the device '
         'named by root_device_name, else /dev/sda or /dev/vda).',
         SEED_DOC + ' 1; ' + RUNNING_DOC, True, True, check_system_disk),
    Rule('os-supported', "A running ECS runs an OS on OTC's lists.",
         SEED_DOC + ' 5 and Table 1; IMS "External Image File Formats and '
         'Supported OSs"', True, True, check_os_supported),
    Rule('windows-scsi', 'A running Windows ECS keeps its SCSI disks.',
         SEED_DOC + ', Table 1 (Windows)', True, True,
         check_windows_scsi),
    Rule('guest-prepare', 'Reminder: unmount (Linux) or stop I/O '
         '(Windows; OTC Tools installed) before detaching.',
         SEED_DOC + ' 2-4', None, True, check_guest),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}
#: Rules that --force turns into warnings, and rules that judge a running
#: ECS only, in table order (for --help and the refusals).
FORCEABLE = tuple(rule.id for rule in RULES if rule.forceable)
RUNNING_ONLY = tuple(rule.id for rule in RULES if rule.running_only)
#: Why the other rules are not judged when rule ``attached`` refuses.
NOT_JUDGED = ('the other rules are not checked: they judge a detach from '
              'this server, which cannot happen while the volume is not '
              'attached to it')


def evaluate(facts, force=False, stop_first=False):
    """Judge one detach: a :class:`Finding` for every rule.

    Rule ``attached`` is a precondition of the others and cannot be
    forced: when it fails, the others are not judged, since each of them
    judges the disk's attachment to this server (its device, the ECS it
    belongs to) or a detach that cannot happen; :data:`NOT_JUDGED` says
    so.  A
    ``running_only`` rule does not apply to a stopped ECS.  ``stop_first``
    judges a running ECS as the stopped one that --stop-server will make
    of it.
    """
    if stop_first and facts.server.status == model.ACTIVE:
        facts = dataclasses.replace(facts, server=dataclasses.replace(
            facts.server, status=model.SHUTOFF))
    running = facts.server.status == model.ACTIVE
    findings = []
    for rule in RULES:
        if rule.running_only and not running:
            verdict, message, advice = SKIP, 'the ECS is not running', None
        else:
            verdict, message, advice = rule.check(facts)
        if verdict == REFUSE and force and rule.forceable:
            verdict = FORCED
        findings.append(_finding(rule.id, verdict, message, advice, facts))
        if rule.id == 'attached' and verdict == REFUSE:
            break  # NOT_JUDGED
    return findings


def refusals(findings):
    return [f for f in findings if f.verdict == REFUSE]


def warnings(findings):
    return [f for f in findings if f.verdict in (FORCED, REMIND)]
