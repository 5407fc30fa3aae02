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
#: Not blocking, but the user must know: e.g. the data-loss path.
WARN = 'warn'
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
    """Linux, Windows or None, from the best source there is.

    OTC spells ``os_type`` / ``__os_type`` in any case: compared
    case-insensitively.
    """
    if facts.os and facts.os.os_type:
        return model.os_type(facts.os.os_type)
    hint = model.os_type(facts.server.metadata.get('os_type'))
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
    device = facts.volume.attachment_to(server.id).device or 'no device'
    system, how, _ = model.system_disk(facts)
    if not system:
        return PASS, '%s is a data disk (%s)' % (device, how), None
    advice = STOP_ADVICE.format(server=server.label)
    if not server.root_device_name and not (
            server.system_disk and server.system_disk.volume_id):
        return (REFUSE,
                '%s (%s) is treated as the system disk of the running ECS '
                '%s: %s' % (facts.volume.label, device, server.label, how),
                advice + '; or --force when you know it is a data disk')
    return (REFUSE,
            '%s is the system disk (%s, %s) of the running ECS %s' % (
                facts.volume.label, device, how, server.label),
            advice)


def weaker_facts(facts):
    """One line when the system disk rests on weaker facts, else None."""
    if facts.server.status != model.ACTIVE or \
            facts.volume.attachment_to(facts.server.id) is None:
        return None
    system, how, weak = model.system_disk(facts)
    if not weak:
        return None
    return ('Note: server %s did not report root_device_name; the system '
            'disk check of %s rests on weaker facts: %s' % (
                facts.server.label, facts.volume.label, how))


KEY_ADVICE = {
    '3': 'enable the key first (KMS console, or the KMS API enable-key), '
         'then detach',
    '4': "cancel the key's scheduled deletion first (KMS console: Cancel "
         "Deletion), then enable it if needed, then detach",
    '1': 'activate the key first (KMS console), then detach',
    '5': 'import the key material first (KMS console), then detach',
}
KEY_FORCE = ('; --force detaches anyway, and the disk can be attached '
             'again only once the key is enabled')


def check_encryption_key(facts):
    volume, key = facts.volume, facts.key
    if not volume.encrypted:
        return PASS, 'not encrypted', None
    if key is None or key.problem:
        why = key.problem if key else 'the key was not looked up'
        return (REFUSE,
                '%s is encrypted with key %s, and KMS could not be asked '
                'whether the key is enabled (%s); if it is not, the disk '
                'cannot be attached again once detached' % (
                    volume.label, key.label if key else volume.key_id, why),
                '--force, when you know the key is enabled')
    if key.unknown:
        return (REFUSE,
                '%s is encrypted with key %s, which KMS does not know '
                '(deleted?): the disk could not be attached again once '
                'detached' % (volume.label, key.label),
                'check the key with KMS (it must exist and be enabled)' +
                KEY_FORCE)
    if key.state == model.KEY_ENABLED:
        return PASS, 'encrypted with key %s, which is enabled' % \
            key.label, None
    return (REFUSE,
            '%s is encrypted with key %s, which is %s: the disk cannot be '
            'attached again once detached while the key is not enabled' % (
                volume.label, key.label, key.state_name),
            KEY_ADVICE.get(key.state, 'enable the key first, then detach') +
            KEY_FORCE)


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
    if not found.confirmed:
        return (REFUSE,
                "the OS of the running ECS %s is unknown: only %s names it "
                "('%s', a name anybody can choose), and neither "
                "__os_version of its system disk nor of its image confirms "
                "it" % (server.label, found.source, found.version),
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
                'inside Windows, stop all I/O on the disk (%s) and take it '
                'offline first (Disk Management, or PowerShell '
                "'Set-Disk -Number <n> -IsOffline $true'): OTC pulls a disk "
                'that is still online; OTC Tools must be installed and '
                'enabled on the ECS' % device,
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
    Rule('encryption-key', 'An encrypted disk is detached only while '
         'KMS says its key is enabled (else it could not be attached '
         'again); refused too when KMS cannot be asked.',
         'EVS user guide, "Managing Encrypted EVS Disks"; KMS API '
         'reference, "Querying the Information About a CMK"', True, False,
         check_encryption_key),
    Rule('system-disk', 'A running ECS keeps its system disk (the device '
         'named by root_device_name, else the native API\'s bootIndex '
         '"0"; if neither answers, any bootable, image-carrying or ...da '
         'disk counts as the system disk).',
         SEED_DOC + ' 1; ' + RUNNING_DOC + '; ECS API reference, '
         '"Querying Details About an ECS" (native)', True, True,
         check_system_disk),
    Rule('os-supported', "A running ECS runs an OS on OTC's lists, "
         "confirmed by __os_version (the server's image_name alone is not "
         "enough).",
         SEED_DOC + ' 5 and Table 1; IMS "External Image File Formats and '
         'Supported OSs"', True, True, check_os_supported),
    Rule('windows-scsi', 'A running Windows ECS keeps its SCSI disks.',
         SEED_DOC + ', Table 1 (Windows)', True, True,
         check_windows_scsi),
    Rule('guest-prepare', 'Reminder: unmount it (Linux), or stop I/O and '
         'take it offline (Windows) first.',
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


FORCE_DETACH_LOSS = ('--force-detach (delete_flag=1) pulls {volume} from the '
                     'running ECS {server} without the guest releasing it: '
                     'the guest may lose data still in flight')


def check_force_detach(facts, force=False, stop_first=False):
    """--force-detach of a disk: (verdict, message, advice).

    On a running ECS it is the data-loss path: a warning (REMIND); for a
    SCSI disk of a running Windows ECS a refusal that --force turns into
    a warning (FORCED).  SKIP on a stopped ECS.
    """
    server, volume = facts.server, facts.volume
    if server.status != model.ACTIVE or stop_first:
        return SKIP, 'the ECS is not running', None
    message = FORCE_DETACH_LOSS.format(volume=volume.label,
                                       server=server.label)
    if volume.is_scsi and os_type_of(facts) == model.WINDOWS:
        verdict = FORCED if force else REFUSE
        return (verdict, message + '; %s is a SCSI disk of a Windows ECS' %
                volume.label,
                STOP_ADVICE.format(server=server.label) +
                '; or add --force')
    return WARN, message, None


def is_forceable(rule_id):
    """Whether --force turns this refusal into a warning."""
    if rule_id == 'force-detach':
        return True
    return RULES_BY_ID[rule_id].forceable


def refusals(findings):
    return [f for f in findings if f.verdict == REFUSE]


def warnings(findings):
    return [f for f in findings if f.verdict in (FORCED, WARN, REMIND)]
