"""OTC's rules for detaching a disk, as pure functions of the facts.

Every rule returns one :class:`Finding` per volume, so that a report can
show what was checked and every refusal is known at once.  Nothing here
talks to the cloud.
"""

import collections
import dataclasses

from otcclient_detach import guest
from otcclient_detach import model
from otcclient_detach import oslists
from otcclient_detach import user_oslist

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

#: ``forceable``: None where the rule's own setting holds; False where
#: --force could not help this one refusal (the cloud would refuse too).
Finding = collections.namedtuple(
    'Finding', 'rule verdict message advice volume_id forceable',
    defaults=(None,))

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


def os_type_readings(facts):
    """Every source's word on the OS type (model.Reading), hints last.

    The OS read from the system disk or its image gives its
    ``__os_type`` and, from ``__os_version``, a type of its own; the
    server's ``os_type`` metadata is a hint anybody can edit.
    """
    readings = []
    found = facts.os
    if found is not None:
        if found.os_type:
            readings.append(model.Reading(model.os_type(found.os_type),
                                          '__os_type of ' + found.source,
                                          found.confirmed))
        if found.version and found.version.strip():
            windows = found.version.strip().lower().startswith('windows')
            readings.append(model.Reading(
                model.WINDOWS if windows else model.LINUX,
                "__os_version '%s' of %s" % (found.version, found.source),
                found.confirmed))
    hint = model.os_type(facts.server.metadata.get('os_type'))
    if hint:
        readings.append(model.Reading(hint, "the server's os_type metadata",
                                      False))
    return readings


def os_type_of(facts):
    """Linux, Windows or None, judged from every source there is.

    Confirmed sources outrank the user-editable hint; where they
    disagree, Windows (the stricter rules) is taken.  OTC spells
    ``os_type`` / ``__os_type`` in any case: compared case-insensitively.
    """
    readings = os_type_readings(facts)
    pool = [r for r in readings if r.confirmed] or readings
    values = [r.value for r in pool]
    for choice in (model.WINDOWS, model.LINUX):
        if choice in values:
            return choice
    return values[0] if values else None


def os_type_disagreement(facts):
    """'a says Linux, b says Windows' where the sources differ, else None.

    Only the sources the judgement used (confirmed ones when there are).
    """
    readings = os_type_readings(facts)
    pool = [r for r in readings if r.confirmed] or readings
    if len({r.value for r in pool}) < 2:
        return None
    return ', '.join('%s says %s' % (r.source, r.value) for r in pool)


def _judged(rule, facts):
    """(verdict, message, advice, forceable) of one rule.

    A check may name a refusal --force cannot help (a fourth value).
    """
    found = rule.check(facts)
    if len(found) == 4:
        return found
    return found + (rule.forceable,)


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
    system, how, weak = model.system_disk(facts)
    if not system:
        return PASS, '%s is a data disk (%s)' % (device, how), None
    advice = STOP_ADVICE.format(server=server.label)
    if weak:
        return (REFUSE,
                '%s (%s) is treated as the system disk of the running %s '
                '%s: %s' % (facts.volume.label, device, kind(server),
                            server.label, how),
                advice + '; or --force when you know it is a data disk')
    # The cloud itself refuses to detach a root device from a running
    # server ("Can't detach root device volume"): --force cannot help.
    return (REFUSE,
            '%s is the system disk (%s, %s) of the running %s %s' % (
                facts.volume.label, device, how, kind(server), server.label),
            advice, False)


def kind(server):
    """'ECS', or 'BMS' for a bare metal server."""
    return 'BMS' if server.bms else 'ECS'


#: EVS's disk status table: only an In-use disk lists "detach" among its
#: possible operations; what to do about each other status of an
#: attached disk.
DISK_STATUS_ADVICE = {
    'detaching': "a detach of it is under way already: wait for it "
                 "('openstack volume show {volume}')",
    'attaching': "wait until it is attached ('openstack volume show "
                 "{volume}'), then try again",
    'extending': 'wait until its expansion has finished, then try again',
    'uploading': 'wait until its upload to an image has finished, then '
                 'try again',
    'downloading': 'wait until it has been created from its image, then '
                   'try again',
    'backing-up': 'wait until its backup has finished, then try again',
    'restoring-backup': 'wait until its restore from a backup has '
                        'finished, then try again',
    'retyping': 'wait until its type change has finished, then try again',
}
DISK_STATUS_ERROR_ADVICE = ("the disk is in an error state that allows no "
                            "detach: contact customer service (OTC support) "
                            "with the disk's ID")


def check_disk_status(facts):
    volume = facts.volume
    if volume.status == 'in-use':
        return PASS, 'disk status is in-use', None
    if volume.status.startswith('error'):
        advice = DISK_STATUS_ERROR_ADVICE
    else:
        advice = DISK_STATUS_ADVICE.get(
            volume.status, 'wait until it is in-use again ({status} now), '
            'then try again').format(volume=volume.label,
                                     status=volume.status)
    return (REFUSE,
            'disk %s is %s; EVS detaches a disk only while it is in-use' % (
                volume.label, volume.status),
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
    if server.bms:
        return (SKIP, 'a bare metal server (%s) has no OS list: OTC detaches '
                'data disks from a running BMS whatever its OS' % server.bms,
                None)
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
    catalog = catalog or facts.catalog or oslists.catalog()
    listed = catalog.match(found.version)
    if listed is None:
        return (REFUSE,
                "the OS '%s' of the running ECS %s (from %s) is not on "
                "OTC's list of OSs that support detaching a disk from a "
                "running ECS%s" % (found.version, server.label, found.source,
                                   _user_list_named(catalog)),
                advice + '; or, ' + user_oslist.vouch_advice(
                    getattr(catalog, 'user_list', None)))
    return (PASS, "OS '%s' (from %s) is listed as '%s' in %s" % (
        found.version, found.source, listed.spelling, listed.source), None)


#: EVS: "You can manually create a maximum of seven snapshots for a disk."
MAX_SNAPSHOTS = 7


def check_snapshot_limit(facts):
    """--snapshot: the disk has room for one more manual snapshot."""
    if facts.snapshots is None:
        return SKIP, 'no snapshot is made (no --snapshot)', None
    if facts.snapshots < MAX_SNAPSHOTS:
        return PASS, 'disk %s has %d of at most %d snapshots' % (
            facts.volume.label, facts.snapshots, MAX_SNAPSHOTS), None
    return (REFUSE,
            'disk %s has %d snapshots already, and EVS allows at most %d '
            'manual snapshots per disk: --snapshot cannot make another' % (
                facts.volume.label, facts.snapshots, MAX_SNAPSHOTS),
            "delete a snapshot it no longer needs ('openstack volume "
            "snapshot list --volume %s'), or back the disk up with CBR "
            "instead and drop --snapshot (CBR backups outlive the disk; "
            "deleting a disk deletes its snapshots)" % facts.volume.id)


def _user_list_named(catalog):
    user_list = getattr(catalog, 'user_list', None)
    return ' nor on the user OS list %s' % user_list.path if user_list \
        else ''


def check_windows_scsi(facts):
    if facts.server.bms:
        return (SKIP, 'a bare metal server: all its disks are SCSI, and OTC '
                'detaches data disks from a running BMS', None)
    os_type = os_type_of(facts)
    disk = 'SCSI' if facts.volume.is_scsi else 'VBD'
    disagree = os_type_disagreement(facts)
    said = ' (the sources disagree: %s; Windows is assumed)' % disagree \
        if disagree else ''
    if os_type != model.WINDOWS:
        return SKIP, 'not a Windows ECS (%s disk)' % disk, None
    if not facts.volume.is_scsi:
        return PASS, 'VBD disk on Windows', None
    return (REFUSE,
            '%s is a SCSI disk (metadata hw:passthrough=true); SCSI disks '
            'cannot be detached from a running Windows ECS%s' % (
                facts.volume.label, said),
            STOP_ADVICE.format(server=facts.server.label))


def check_guest(facts):
    device = facts.volume.attachment_to(facts.server.id).device
    os_type = os_type_of(facts)
    # The name the guest knows the disk by (the cloud's may differ).
    inside = guest.words(guest.guest_disk(
        facts.volume.id, facts.volume.is_scsi, os_type=os_type,
        wwn=facts.volume.wwn))
    if os_type == model.WINDOWS:
        return (REMIND,
                'inside Windows, stop all I/O on the disk (%s) and take it '
                'offline first (Disk Management, or PowerShell '
                "'Set-Disk -Number <n> -IsOffline $true'): OTC pulls a disk "
                'that is still online; OTC Tools must be installed and '
                'enabled on the ECS. %s' % (device, inside[0].upper() +
                                            inside[1:]),
                None)
    return (REMIND,
            "inside the guest, 'umount' the disk (%s as the cloud names "
            "it) and stop all I/O on it first; %s" % (device, inside),
            None)


RULES = (
    Rule('attached', 'The volume is attached to that server.',
         'ECS API reference, "Detaching a Disk from an ECS", URI; '
         'error Ecs.0111', False, False, check_attached),
    Rule('disk-status', 'The disk is in-use (not detaching, extending, '
         'uploading, restoring, or in an error state).',
         'EVS user guide, appendix "EVS Disk Status" (only In-use allows a '
         'detach); errors EVS.2021 (error_detaching), EVS.2068', False,
         False, check_disk_status),
    Rule('server-status', 'The ECS is running (ACTIVE) or stopped '
         '(SHUTOFF).', 'EVS user guide, "Detaching an EVS Disk" ("You can '
         'detach a data disk when the server status is Stopped or '
         'Running"); ' + SEED_DOC + '; error Ecs.0100', True, False,
         check_status),
    Rule('task-state', 'No task (starting, stopping, rebooting, ...) is '
         'in progress on the ECS.', RUNNING_DOC + ' ("Do not detach an EVS '
         'disk from an ECS that is being started, stopped, or restarted"); '
         'the cloud\'s custom_errno 0101046 is an observation, not '
         'documented', True,
         False, check_task_state),
    Rule('locked', 'The ECS is not locked.',
         'ECS user guide, "Locking an ECS" (a locked ECS allows no disk '
         'management); ECS API reference, error codes: Ecs.0605', True,
         False,
         check_locked),
    Rule('encryption-key', 'An encrypted disk is detached only while '
         'KMS says its key is enabled (else it could not be attached '
         'again); refused too when KMS cannot be asked.',
         'EVS user guide, "Managing Encrypted EVS Disks"; KMS API '
         'reference, "Querying the Information About a CMK"', True, False,
         check_encryption_key),
    Rule('snapshot-limit', 'With --snapshot, the disk has room for one '
         'more manual snapshot (EVS allows seven per disk).',
         'EVS user guide, "Creating a Snapshot" ("You can manually create '
         'a maximum of seven snapshots for a disk")', False, False,
         check_snapshot_limit),
    Rule('system-disk', 'A running ECS or BMS keeps its system disk. A '
         'disk is the system disk when any source says so: '
         'root_device_name against the device in the volume\'s attachment, '
         'nova\'s attachment list or EVS\'s disk list, else the native '
         'API\'s bootIndex "0"; where none can tell, any bootable, '
         'image-carrying or ...da disk counts as the system disk. --force '
         'helps only in that last case: the cloud refuses a known root '
         'device itself.',
         SEED_DOC + ' 1; ' + RUNNING_DOC + '; ECS API reference, '
         '"Querying Details About an ECS" (native); BMS API reference, '
         '"Detaching an EVS Disk from a BMS" (the system disk only from a '
         'stopped BMS)', True, True, check_system_disk),
    Rule('os-supported', "A running ECS runs an OS on OTC's lists (or on "
         "the operator's own list, --os-list), confirmed by __os_version "
         "(the server's image_name alone is not enough). A BMS has no OS "
         "list.",
         SEED_DOC + ' 5 and Table 1; IMS "External Image File Formats and '
         'Supported OSs"; BMS API reference, "Detaching an EVS Disk from a '
         'BMS"', True, True, check_os_supported),
    Rule('windows-scsi', 'A running Windows ECS keeps its SCSI disks '
         '(Windows when any confirmed source says so). Not for a BMS, '
         'whose disks are all SCSI.',
         SEED_DOC + ', Table 1 (Windows); BMS API reference, "Detaching an '
         'EVS Disk from a BMS"', True, True, check_windows_scsi),
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
            verdict, message, advice, forceable = (
                SKIP, 'the ECS is not running', None, rule.forceable)
        else:
            verdict, message, advice, forceable = _judged(rule, facts)
        if verdict == REFUSE and force and forceable:
            verdict = FORCED
        findings.append(Finding(rule.id, verdict, message, advice,
                                facts.volume.id, forceable))
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
    a warning (FORCED).  SKIP on a stopped ECS.  That refusal is this
    project's own policy: OTC documents delete_flag without it (a SCSI
    disk may not leave a running Windows ECS at all, and a forced pull of
    one is the riskiest case there is).
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


def is_forceable(finding):
    """Whether --force turns this refusal into a warning."""
    if finding.forceable is not None:
        return finding.forceable
    if finding.rule == 'force-detach':
        return True
    return RULES_BY_ID[finding.rule].forceable


def refusals(findings):
    return [f for f in findings if f.verdict == REFUSE]


def warnings(findings):
    return [f for f in findings if f.verdict in (FORCED, WARN, REMIND)]
