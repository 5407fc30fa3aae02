"""Tests for otcclient_detach.rules: OTC's rules as pure functions.

The expectations come from the seed ("Detaching a Disk from an ECS",
Constraints) and OTC's ECS user guide ("Detaching an EVS Disk from a
Running ECS"): from a stopped ECS any disk goes; from a
running one only data disks, only on a listed OS, never a SCSI disk of a
Windows ECS; never while a task runs or the ECS is locked.
"""

import testtools
from tests.unit import test_oslists

from otcclient_detach import model
from otcclient_detach import rules

SERVER_ID = 'srv-0001'
SERVER_NAME = 'web-1'
OTHER_SERVER_ID = 'srv-0002'
THIRD_SERVER_ID = 'srv-0003'
VOLUME_ID = 'vol-0001'
VOLUME_NAME = 'data-1'

LINUX_OS = 'CentOS 7.6 64bit'
WINDOWS_OS = 'Windows Server 2016 Standard 64bit'
UNLISTED_LINUX = 'Slackware 14.2 64bit'
UNLISTED_WINDOWS = 'Windows Server 2003 64bit'

ALL_IDS = ['attached', 'disk-status', 'server-status', 'task-state',
           'locked', 'encryption-key', 'snapshot-limit', 'system-disk',
           'os-supported', 'windows-scsi', 'guest-prepare']
FORCEABLE_IDS = ['server-status', 'task-state', 'locked', 'encryption-key',
                 'system-disk', 'os-supported', 'windows-scsi']
#: Refusals --force never turns into warnings.
UNFORCEABLE_IDS = {'attached', 'disk-status', 'snapshot-limit'}
#: The rules that apply to a running ECS only.
RUNNING_ONLY_IDS = ['system-disk', 'os-supported', 'windows-scsi',
                    'guest-prepare']

_DEFAULT = object()


def make_facts(status='ACTIVE', task_state=None, locked=False,
               root_device_name='/dev/vda', device='/dev/vdb',
               attached_to=_DEFAULT, volume_status='in-use',
               os_version=LINUX_OS, os_type=_DEFAULT, os=_DEFAULT,
               server_metadata=None, volume_metadata=None, key=None,
               system_disk=None, bootable=False, image_metadata=None,
               snapshots=None):
    """Facts for detaching one volume; a healthy running Linux ECS.

    ``attached_to`` lists the servers that hold the volume (default: the
    server only); ``os`` replaces the OsInfo built from ``os_version``
    and ``os_type`` (default: Linux or Windows from ``os_version``).
    """
    if attached_to is _DEFAULT:
        attached_to = [SERVER_ID]
    if os_type is _DEFAULT:
        os_type = None
        if os_version:
            os_type = (model.WINDOWS if os_version.startswith('Windows')
                       else model.LINUX)
    if os is _DEFAULT:
        os = model.OsInfo(os_version, os_type, 'test image')
    server = model.Server(
        id=SERVER_ID, name=SERVER_NAME, status=status,
        task_state=task_state, locked=locked,
        root_device_name=root_device_name,
        metadata=dict(server_metadata or {}))
    volume = model.Volume(
        id=VOLUME_ID, name=VOLUME_NAME, status=volume_status,
        attachments=[
            model.Attachment(
                server_id=sid,
                device=device if sid == SERVER_ID else '/dev/vdc')
            for sid in attached_to],
        metadata=dict(volume_metadata or {}), bootable=bootable,
        image_metadata=dict(image_metadata or {}))
    server.system_disk = system_disk
    return model.Facts(server, volume, os, key=key, snapshots=snapshots)


def by_rule(findings):
    return {f.rule: f for f in findings}


def describe(facts, force=False):
    s, v = facts.server, facts.volume
    return ('status=%s task_state=%r locked=%r root=%r attachments=%r '
            'volume_meta=%r server_meta=%r os=%r force=%r' % (
                s.status, s.task_state, s.locked, s.root_device_name,
                [(a.server_id, a.device) for a in v.attachments],
                v.metadata, s.metadata, facts.os, force))


class RulesTestCase(testtools.TestCase):

    def evaluate(self, facts, force=False):
        findings = rules.evaluate(facts, force=force)
        where = describe(facts, force)
        for f in findings:
            self.assertIn(f.rule, ALL_IDS, where)
            self.assertEqual(VOLUME_ID, f.volume_id, where)
            self.assertIn(f.verdict, (rules.PASS, rules.REFUSE,
                                      rules.FORCED, rules.REMIND,
                                      rules.SKIP), where)
            self.assertTrue(f.message, 'empty message: %r, %s' % (f, where))
            if f.verdict in (rules.REFUSE, rules.FORCED):
                # Every refusal has a way out.
                self.assertTrue(f.advice, 'no advice: %r, %s' % (f, where))
                self.assertNotIn('{', f.advice, where)
        return findings

    def assertVerdict(self, expected, facts, rule_id, force=False,
                      fragments=(), advice_fragments=()):
        """Check one rule's finding; return it."""
        where = describe(facts, force)
        found = by_rule(self.evaluate(facts, force=force))
        self.assertIn(rule_id, found, where)
        finding = found[rule_id]
        self.assertEqual(expected, finding.verdict,
                         '%s: %r, %s' % (rule_id, finding, where))
        for fragment in fragments:
            self.assertIn(fragment, finding.message,
                          '%s: %r, %s' % (rule_id, finding, where))
        for fragment in advice_fragments:
            self.assertIn(fragment, finding.advice or '',
                          '%s: %r, %s' % (rule_id, finding, where))
        return finding


class TestRuleTable(testtools.TestCase):

    def test_ids_are_stable(self):
        self.assertEqual(ALL_IDS, [rule.id for rule in rules.RULES])

    def test_ids_are_unique(self):
        ids = [rule.id for rule in rules.RULES]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(sorted(ids), sorted(rules.RULES_BY_ID))

    def test_every_rule_is_documented(self):
        for rule in rules.RULES:
            self.assertTrue(rule.doc and rule.doc.strip(), rule.id)
            self.assertTrue(rule.summary and rule.summary.strip(), rule.id)

    def test_verdict_spellings(self):
        self.assertEqual(
            ('pass', 'refuse', 'forced', 'remind', 'n/a'),
            (rules.PASS, rules.REFUSE, rules.FORCED, rules.REMIND,
             rules.SKIP))

    def test_forceable(self):
        self.assertEqual(
            FORCEABLE_IDS,
            [rule.id for rule in rules.RULES if rule.forceable])


# (name, servers holding the volume, volume status, verdict, fragments the
# message must contain).
ATTACHED_CASES = [
    ('attached', [SERVER_ID], 'in-use', rules.PASS, ['/dev/vdb']),
    ('attached with another', [OTHER_SERVER_ID, SERVER_ID], 'in-use',
     rules.PASS, ['/dev/vdb']),
    ('attached elsewhere', [OTHER_SERVER_ID], 'in-use', rules.REFUSE,
     [SERVER_NAME, OTHER_SERVER_ID, VOLUME_NAME]),
    ('attached to two others', [OTHER_SERVER_ID, THIRD_SERVER_ID], 'in-use',
     rules.REFUSE, [SERVER_NAME, OTHER_SERVER_ID, THIRD_SERVER_ID]),
    ('not attached', [], 'available', rules.REFUSE,
     [SERVER_NAME, VOLUME_NAME, 'available']),
]


class TestAttached(RulesTestCase):

    def test_attached(self):
        for name, holders, status, verdict, fragments in ATTACHED_CASES:
            for force in (False, True):
                facts = make_facts(attached_to=holders, volume_status=status)
                finding = self.assertVerdict(
                    verdict, facts, 'attached', force=force,
                    fragments=fragments)
                if verdict == rules.REFUSE:
                    self.assertIn(SERVER_NAME, finding.advice, name)

    def test_not_attached_stops_evaluation(self):
        for name, holders, status, verdict, _f in ATTACHED_CASES:
            if verdict != rules.REFUSE:
                continue
            for force in (False, True):
                # Every other rule would refuse too: none may be judged.
                facts = make_facts(
                    attached_to=holders, volume_status=status,
                    status='ERROR', task_state='deleting', locked=True)
                findings = self.evaluate(facts, force=force)
                self.assertEqual(
                    [('attached', rules.REFUSE)],
                    [(f.rule, f.verdict) for f in findings],
                    '%s, force=%s' % (name, force))

    def test_attached_runs_every_rule_in_order(self):
        findings = self.evaluate(make_facts())
        self.assertEqual(ALL_IDS, [f.rule for f in findings])


SERVER_STATUSES = [
    'ACTIVE', 'SHUTOFF', 'BUILD', 'REBOOT', 'HARD_REBOOT', 'REBUILD',
    'MIGRATING', 'RESIZE', 'VERIFY_RESIZE', 'REVERT_RESIZE', 'ERROR',
    'SHELVED', 'SHELVED_OFFLOADED', 'DELETED', 'UNKNOWN', 'PAUSED',
    'SUSPENDED',
]
PASSING_STATUSES = ('ACTIVE', 'SHUTOFF')


class TestServerStatus(RulesTestCase):

    def test_status(self):
        for status in SERVER_STATUSES:
            expected = (rules.PASS if status in PASSING_STATUSES
                        else rules.REFUSE)
            self.assertVerdict(expected, make_facts(status=status),
                               'server-status', fragments=[status])

    def test_refusal_names_server(self):
        for status in SERVER_STATUSES:
            if status in PASSING_STATUSES:
                continue
            self.assertVerdict(rules.REFUSE, make_facts(status=status),
                               'server-status', fragments=[SERVER_NAME])

    def test_running_only_rules_skip_unless_active(self):
        # The OS conditions hold for a running ECS only.
        for status in SERVER_STATUSES:
            if status == 'ACTIVE':
                continue
            facts = make_facts(status=status, device='/dev/vda',
                               os_version=UNLISTED_WINDOWS,
                               volume_metadata={'hw:passthrough': 'true'})
            for rule_id in RUNNING_ONLY_IDS:
                self.assertVerdict(rules.SKIP, facts, rule_id)


BUSY_TASK_STATES = ['powering-off', 'powering-on', 'rebooting',
                    'reboot_pending', 'resize_prep', 'deleting',
                    'image_snapshot']
IDLE_TASK_STATES = [None, '']


class TestTaskState(RulesTestCase):

    def test_task_state(self):
        for status in PASSING_STATUSES:
            for task_state in IDLE_TASK_STATES:
                self.assertVerdict(
                    rules.PASS,
                    make_facts(status=status, task_state=task_state),
                    'task-state')
            for task_state in BUSY_TASK_STATES:
                self.assertVerdict(
                    rules.REFUSE,
                    make_facts(status=status, task_state=task_state),
                    'task-state', fragments=[task_state, SERVER_NAME])


# (locked, verdict)
LOCKED_CASES = [(True, rules.REFUSE), (False, rules.PASS),
                (None, rules.SKIP)]


class TestLocked(RulesTestCase):

    def test_locked(self):
        for status in PASSING_STATUSES:
            for locked, verdict in LOCKED_CASES:
                finding = self.assertVerdict(
                    verdict, make_facts(status=status, locked=locked),
                    'locked')
                if verdict == rules.REFUSE:
                    self.assertIn(SERVER_NAME, finding.message)
                    self.assertIn('unlock', finding.advice)


# (root_device_name, device) pairs of every kind.
DEVICES = [
    ('/dev/vda', '/dev/vda'), ('/dev/vda', '/dev/vdb'),
    ('/dev/sda', '/dev/sda'), ('/dev/sda', '/dev/sdb'),
    ('/dev/xvda', '/dev/xvda'), (None, '/dev/sda'), (None, '/dev/vda'),
    (None, '/dev/vdb'),
]


class TestStoppedServer(RulesTestCase):
    """From a stopped ECS any disk can be detached, whatever the OS."""

    def test_any_disk(self):
        for root, device in DEVICES:
            for os_version in (LINUX_OS, WINDOWS_OS, UNLISTED_LINUX, None):
                facts = make_facts(
                    status='SHUTOFF', root_device_name=root, device=device,
                    os_version=os_version, os=None,
                    volume_metadata={'hw:passthrough': 'true'},
                    server_metadata={'os_type': 'Windows'})
                where = describe(facts)
                findings = by_rule(self.evaluate(facts))
                self.assertEqual([], rules.refusals(findings.values()),
                                 where)
                self.assertEqual([], rules.warnings(findings.values()),
                                 where)
                for rule_id in RUNNING_ONLY_IDS:
                    self.assertEqual(rules.SKIP, findings[rule_id].verdict,
                                     '%s: %s' % (rule_id, where))
                for rule_id in ('attached', 'server-status', 'task-state',
                                'locked'):
                    self.assertEqual(rules.PASS, findings[rule_id].verdict,
                                     '%s: %s' % (rule_id, where))

    def test_no_os_needed(self):
        for root, device in DEVICES:
            facts = make_facts(status='SHUTOFF', root_device_name=root,
                               device=device, os=None)
            self.assertFalse(model.needs_os(facts.server, facts.volume),
                             describe(facts))


class TestNeedsOs(testtools.TestCase):

    def test_needs_os(self):
        cases = [
            ('ACTIVE', [SERVER_ID], True),
            ('ACTIVE', [OTHER_SERVER_ID], False),
            ('ACTIVE', [], False),
            ('SHUTOFF', [SERVER_ID], False),
            ('ERROR', [SERVER_ID], False),
        ]
        for status, holders, expected in cases:
            facts = make_facts(status=status, attached_to=holders, os=None)
            self.assertEqual(
                expected, model.needs_os(facts.server, facts.volume),
                describe(facts))


# (root_device_name, device, is the system disk): compare with
# root_device_name when the cloud names it, else /dev/sda and /dev/vda.
SYSTEM_DISK_CASES = [
    ('/dev/vda', '/dev/vda', True),
    ('/dev/vda', '/dev/vdb', False),
    ('/dev/vda', '/dev/sda', False),
    ('/dev/sda', '/dev/sda', True),
    ('/dev/sda', '/dev/sdb', False),
    ('/dev/sda', '/dev/vda', False),
    ('/dev/xvda', '/dev/xvda', True),
    ('/dev/xvda', '/dev/xvdb', False),
    ('/dev/xvda', '/dev/vda', False),
    (None, '/dev/sda', True),
    (None, '/dev/vda', True),
    (None, '/dev/vdb', False),
    (None, '/dev/sdb', False),
    ('', '/dev/vda', True),
    ('', '/dev/vdb', False),
]


class TestSystemDisk(RulesTestCase):

    def test_system_disk(self):
        for root, device, is_root in SYSTEM_DISK_CASES:
            facts = make_facts(root_device_name=root, device=device)
            if is_root:
                self.assertVerdict(
                    rules.REFUSE, facts, 'system-disk',
                    fragments=[device, SERVER_NAME, VOLUME_NAME],
                    advice_fragments=['stop the ECS first', SERVER_NAME])
            else:
                self.assertVerdict(rules.PASS, facts, 'system-disk',
                                   fragments=[device])


def _seed_real_spellings():
    return [real for _f, _v, _row, real in test_oslists.SEED_TABLE1]


class TestOsSupported(RulesTestCase):

    def test_every_seed_row_passes(self):
        for os_version in _seed_real_spellings():
            self.assertVerdict(rules.PASS, make_facts(os_version=os_version),
                               'os-supported', fragments=[os_version])

    def test_unlisted_os_refused(self):
        for os_version in (UNLISTED_LINUX, UNLISTED_WINDOWS,
                           'CentOS 7.3 32bit', 'Ubuntu 24.04 server 64bit',
                           'CoreOS 1068.10.0'):
            self.assertVerdict(
                rules.REFUSE, make_facts(os_version=os_version),
                'os-supported', fragments=[os_version, SERVER_NAME],
                advice_fragments=['stop the ECS first'])

    def test_unknown_os_refused(self):
        cases = [
            None,
            model.OsInfo(None, None, 'the metadata of server web-1'),
            model.OsInfo('', model.LINUX, 'image img-1'),
            model.OsInfo('   ', None, 'image img-1'),
        ]
        for os_info in cases:
            self.assertVerdict(
                rules.REFUSE, make_facts(os=os_info), 'os-supported',
                fragments=[SERVER_NAME],
                advice_fragments=['stop the ECS first'])

    def test_message_names_the_source(self):
        facts = make_facts(os=model.OsInfo(UNLISTED_LINUX, model.LINUX,
                                           'image img-42'))
        self.assertVerdict(rules.REFUSE, facts, 'os-supported',
                           fragments=['image img-42'])


SCSI = {'hw:passthrough': 'true'}
WINDOWS_OS_INFO = model.OsInfo(WINDOWS_OS, model.WINDOWS, 'test image')

# (name, OsInfo, server metadata, volume metadata, windows-scsi verdict)
WINDOWS_SCSI_CASES = [
    ('Windows, SCSI', WINDOWS_OS_INFO, {}, SCSI, rules.REFUSE),
    ('Windows, SCSI True', WINDOWS_OS_INFO, {}, {'hw:passthrough': 'True'},
     rules.REFUSE),
    ('Windows, SCSI TRUE', WINDOWS_OS_INFO, {}, {'hw:passthrough': 'TRUE'},
     rules.REFUSE),
    ('Windows, VBD', WINDOWS_OS_INFO, {}, {}, rules.PASS),
    ('Windows, VBD false', WINDOWS_OS_INFO, {},
     {'hw:passthrough': 'false'}, rules.PASS),
    ('Windows, VBD False', WINDOWS_OS_INFO, {},
     {'hw:passthrough': 'False'}, rules.PASS),
    ('Windows from os_type only',
     model.OsInfo('Slackware-like 1.0', model.WINDOWS, 'x'), {}, SCSI,
     rules.REFUSE),
    ('Windows from server metadata', model.OsInfo(None, None, 'x'),
     {'os_type': 'Windows'}, SCSI, rules.REFUSE),
    ('Windows from server metadata, no OsInfo', None,
     {'os_type': 'Windows'}, SCSI, rules.REFUSE),
    ('Windows from the OS string',
     model.OsInfo('Windows Server 2012 R2 Standard 64bit', None, 'x'), {},
     SCSI, rules.REFUSE),
    ('Windows from the OS string, VBD',
     model.OsInfo('Windows Server 2012 R2 Standard 64bit', None, 'x'), {},
     {}, rules.PASS),
    ('Linux, SCSI', model.OsInfo(LINUX_OS, model.LINUX, 'x'), {}, SCSI,
     rules.SKIP),
    ('Linux from metadata, SCSI', model.OsInfo(None, None, 'x'),
     {'os_type': 'Linux'}, SCSI, rules.SKIP),
    ('Linux from the OS string, SCSI', model.OsInfo(LINUX_OS, None, 'x'),
     {}, SCSI, rules.SKIP),
    ('Linux, VBD', model.OsInfo(LINUX_OS, model.LINUX, 'x'), {}, {},
     rules.SKIP),
]


class TestWindowsScsi(RulesTestCase):

    def test_windows_scsi(self):
        for name, os_info, server_meta, volume_meta, verdict in (
                WINDOWS_SCSI_CASES):
            facts = make_facts(os=os_info, server_metadata=server_meta,
                               volume_metadata=volume_meta)
            finding = self.assertVerdict(verdict, facts, 'windows-scsi')
            if verdict == rules.REFUSE:
                self.assertIn(VOLUME_NAME, finding.message, name)
                self.assertIn('SCSI', finding.message, name)
                self.assertIn('stop the ECS first', finding.advice, name)

    def test_os_type_of(self):
        cases = [
            (WINDOWS_OS_INFO, {}, model.WINDOWS),
            (model.OsInfo(None, None, 'x'), {'os_type': 'Windows'},
             model.WINDOWS),
            (None, {'os_type': 'Windows'}, model.WINDOWS),
            (model.OsInfo(WINDOWS_OS, None, 'x'), {}, model.WINDOWS),
            (model.OsInfo('  windows 10 64bit', None, 'x'), {},
             model.WINDOWS),
            (model.OsInfo(LINUX_OS, None, 'x'), {}, model.LINUX),
            (model.OsInfo(LINUX_OS, model.LINUX, 'x'), {}, model.LINUX),
            (None, {}, None),
            (model.OsInfo(None, None, 'x'), {}, None),
        ]
        for os_info, meta, expected in cases:
            facts = make_facts(os=os_info, server_metadata=meta)
            self.assertEqual(expected, rules.os_type_of(facts),
                             describe(facts))


class TestGuestPrepare(RulesTestCase):

    def test_linux_reminder(self):
        for device in ('/dev/vdb', '/dev/sdc'):
            facts = make_facts(device=device)
            self.assertVerdict(rules.REMIND, facts, 'guest-prepare',
                               fragments=['umount', device])

    def test_windows_reminder(self):
        for device in ('/dev/vdb', '/dev/sdc'):
            facts = make_facts(device=device, os_version=WINDOWS_OS)
            finding = self.assertVerdict(
                rules.REMIND, facts, 'guest-prepare',
                fragments=['OTC Tools', device])
            self.assertNotIn('umount', finding.message)

    def test_never_refused(self):
        for facts in all_scenarios():
            for force in (False, True):
                found = by_rule(self.evaluate(facts, force=force))
                if 'guest-prepare' in found:
                    self.assertIn(found['guest-prepare'].verdict,
                                  (rules.REMIND, rules.SKIP),
                                  describe(facts, force))


# (name, facts keywords, the rules that refuse without --force)
FORCE_CASES = [
    ('clean', {}, []),
    ('clean Windows VBD', {'os_version': WINDOWS_OS}, []),
    ('stopped, system disk', {'status': 'SHUTOFF', 'device': '/dev/vda'},
     []),
    ('error', {'status': 'ERROR'}, ['server-status']),
    ('shelved', {'status': 'SHELVED_OFFLOADED'}, ['server-status']),
    ('busy', {'task_state': 'powering-off'}, ['task-state']),
    ('locked', {'locked': True}, ['locked']),
    ('system disk', {'device': '/dev/vda'}, ['system-disk']),
    ('unlisted OS', {'os_version': UNLISTED_LINUX}, ['os-supported']),
    ('unknown OS', {'os': None}, ['os-supported']),
    ('Windows SCSI', {'os_version': WINDOWS_OS, 'volume_metadata': SCSI},
     ['windows-scsi']),
    ('running, all Linux refusals',
     {'task_state': 'powering-off', 'locked': True, 'device': '/dev/vda',
      'os_version': UNLISTED_LINUX},
     ['task-state', 'locked', 'system-disk', 'os-supported']),
    ('running, all Windows refusals',
     {'task_state': 'rebooting', 'locked': True, 'device': '/dev/vda',
      'os_version': UNLISTED_WINDOWS, 'volume_metadata': SCSI},
     ['task-state', 'locked', 'system-disk', 'os-supported',
      'windows-scsi']),
    ('stopping, locked, error',
     {'status': 'ERROR', 'task_state': 'powering-off', 'locked': True,
      'device': '/dev/vda', 'os_version': UNLISTED_WINDOWS,
      'volume_metadata': SCSI},
     ['server-status', 'task-state', 'locked']),
]


KEY_ID = '0d0466b0-e727-4d9c-b35d-f84bb474a37f'
ENCRYPTED = {'__system__encrypted': '1', '__system__cmkid': KEY_ID}
# (KeyInfo, verdict, fragments of the message)
KEY_CASES = [
    (model.KeyInfo(KEY_ID, state='2', alias='k'), rules.PASS, ['enabled']),
    (model.KeyInfo(KEY_ID, state='3', alias='k'), rules.REFUSE,
     ['disabled', 'k (%s)' % KEY_ID]),
    (model.KeyInfo(KEY_ID, state='4'), rules.REFUSE,
     ['scheduled for deletion']),
    (model.KeyInfo(KEY_ID, state='1'), rules.REFUSE,
     ['waiting to be activated']),
    (model.KeyInfo(KEY_ID, state='5'), rules.REFUSE, ['waiting for import']),
    (model.KeyInfo(KEY_ID, unknown=True), rules.REFUSE, ['does not know']),
    (model.KeyInfo(KEY_ID, problem='no kms endpoint'), rules.REFUSE,
     ['could not be asked', 'no kms endpoint']),
    (None, rules.REFUSE, ['could not be asked']),
]


class TestEncryptionKey(RulesTestCase):

    def test_not_encrypted_passes_without_kms(self):
        self.assertVerdict(rules.PASS, make_facts(), 'encryption-key',
                           fragments=['not encrypted'])
        self.assertVerdict(rules.PASS, make_facts(volume_metadata={
            '__system__encrypted': '0', '__system__cmkid': KEY_ID}),
            'encryption-key')

    def test_key_states(self):
        for status in ('ACTIVE', 'SHUTOFF'):
            for key, verdict, fragments in KEY_CASES:
                finding = self.assertVerdict(
                    verdict, make_facts(status=status,
                                        volume_metadata=ENCRYPTED, key=key),
                    'encryption-key', fragments=fragments)
                if verdict == rules.REFUSE:
                    self.assertTrue(finding.advice)

    def test_ways_out(self):
        advice = {
            '3': 'enable the key', '4': 'cancel the key', '1': 'activate',
            '5': 'import the key material'}
        for state, words in advice.items():
            self.assertVerdict(
                rules.REFUSE, make_facts(
                    volume_metadata=ENCRYPTED,
                    key=model.KeyInfo(KEY_ID, state=state)),
                'encryption-key', advice_fragments=[words])
        self.assertVerdict(
            rules.REFUSE, make_facts(
                volume_metadata=ENCRYPTED,
                key=model.KeyInfo(KEY_ID, problem='HTTP 403')),
            'encryption-key', advice_fragments=['--force'])

    def test_force(self):
        self.assertVerdict(
            rules.FORCED, make_facts(
                volume_metadata=ENCRYPTED,
                key=model.KeyInfo(KEY_ID, state='3')),
            'encryption-key', force=True)


class TestSystemDiskFailSafe(RulesTestCase):
    """Without root_device_name (the fail-safe system disk)."""

    def test_found_by_boot_index(self):
        found = model.SystemDisk(VOLUME_ID, 'bootIndex "0"')
        self.assertVerdict(rules.REFUSE, make_facts(
            root_device_name=None, device='/dev/vdz', system_disk=found),
            'system-disk', fragments=['bootIndex'])
        other = model.SystemDisk('vol-other', 'bootIndex "0"')
        self.assertVerdict(rules.PASS, make_facts(
            root_device_name=None, device='/dev/vda', system_disk=other),
            'system-disk')

    def test_unknown_refuses_what_may_be_the_system_disk(self):
        unknown = model.SystemDisk(None, 'the native API failed')
        for kwargs in ({'device': '/dev/xvda'}, {'device': '/dev/hda'},
                       {'device': '/dev/vdb', 'bootable': True},
                       {'device': '/dev/vdb',
                        'image_metadata': {'image_id': 'x'}},
                       {'device': None}):
            facts = make_facts(root_device_name=None, system_disk=unknown,
                               **kwargs)
            self.assertVerdict(
                rules.REFUSE, facts, 'system-disk',
                fragments=['could not be determined', 'native API failed'],
                advice_fragments=['--stop-server', '--force'])
            self.assertIn('weaker facts', rules.weaker_facts(facts))

    def test_unknown_passes_a_plain_data_disk_and_says_so(self):
        facts = make_facts(root_device_name=None, device='/dev/vdb',
                           system_disk=model.SystemDisk(None, 'why'))
        self.assertVerdict(rules.PASS, facts, 'system-disk')
        self.assertIn('weaker facts', rules.weaker_facts(facts))
        self.assertIsNone(rules.weaker_facts(make_facts()))


class TestOsFacts(RulesTestCase):

    def test_image_name_alone_is_not_enough(self):
        os_info = model.OsInfo(LINUX_OS, None, 'the metadata (image_name)',
                               confirmed=False)
        self.assertVerdict(rules.REFUSE, make_facts(os=os_info),
                           'os-supported', fragments=[LINUX_OS, 'anybody'])

    def test_os_type_any_case(self):
        for spelling in ('windows', 'WINDOWS', 'Windows'):
            facts = make_facts(os=model.OsInfo(WINDOWS_OS, spelling, 'x'),
                               volume_metadata=SCSI)
            self.assertVerdict(rules.REFUSE, facts, 'windows-scsi')
            facts = make_facts(os=None, status='SHUTOFF',
                               server_metadata={'os_type': spelling})
            self.assertEqual(model.WINDOWS, rules.os_type_of(facts))

    def test_confirmed_sources_outrank_the_metadata_hint(self):
        # __os_version says Windows, no __os_type; the user-editable
        # metadata says Linux: Windows, and the SCSI disk stays.
        found = model.OsInfo(WINDOWS_OS, None, 'system disk')
        facts = make_facts(os=found, server_metadata={'os_type': 'Linux'},
                           volume_metadata=SCSI)
        self.assertEqual(model.WINDOWS, rules.os_type_of(facts))
        self.assertVerdict(rules.REFUSE, facts, 'windows-scsi')
        self.assertIsNone(rules.os_type_disagreement(facts))

    def test_confirmed_sources_that_disagree_mean_windows(self):
        found = model.OsInfo(WINDOWS_OS, 'Linux', 'system disk')
        facts = make_facts(os=found, volume_metadata=SCSI)
        self.assertEqual(model.WINDOWS, rules.os_type_of(facts))
        self.assertVerdict(rules.REFUSE, facts, 'windows-scsi')
        said = rules.os_type_disagreement(facts)
        self.assertIn('says Linux', said)
        self.assertIn('says Windows', said)

    def test_unconfirmed_os_leaves_the_hint_its_say(self):
        found = model.OsInfo('my-image', None, 'image_name',
                             confirmed=False)
        facts = make_facts(os=found, server_metadata={'os_type': 'Windows'})
        self.assertEqual(model.WINDOWS, rules.os_type_of(facts))

    def test_windows_reminder_says_offline(self):
        facts = make_facts(os_version=WINDOWS_OS)
        self.assertVerdict(rules.REMIND, facts, 'guest-prepare',
                           fragments=['offline', 'Set-Disk'])


class TestBareMetal(RulesTestCase):
    """A BMS has no OS list, and its disks are all SCSI."""

    def test_os_rules_skip(self):
        facts = make_facts(os_version=UNLISTED_WINDOWS, volume_metadata=SCSI)
        facts.server.bms = 'flavor physical.s4.large'
        self.assertVerdict(rules.SKIP, facts, 'os-supported')
        self.assertVerdict(rules.SKIP, facts, 'windows-scsi')
        self.assertEqual([], rules.refusals(self.evaluate(facts)))

    def test_system_disk_still_refused(self):
        facts = make_facts(device='/dev/vda')
        facts.server.bms = 'flavor physical.s4.large'
        self.assertVerdict(rules.REFUSE, facts, 'system-disk',
                           fragments=['BMS'])


class TestForceDetach(testtools.TestCase):

    def test_running_is_a_warning(self):
        verdict, message, _ = rules.check_force_detach(make_facts())
        self.assertEqual(rules.WARN, verdict)
        self.assertIn('may lose data', message)

    def test_scsi_of_running_windows_needs_force(self):
        facts = make_facts(os_version=WINDOWS_OS, volume_metadata=SCSI)
        verdict, _, advice = rules.check_force_detach(facts)
        self.assertEqual(rules.REFUSE, verdict)
        self.assertIn('--force', advice)
        self.assertEqual(rules.FORCED,
                         rules.check_force_detach(facts, force=True)[0])

    def test_stopped_is_not_judged(self):
        self.assertEqual(rules.SKIP, rules.check_force_detach(
            make_facts(status='SHUTOFF'))[0])


# (volume status, verdict, fragment of the advice)
DISK_STATUS_CASES = [
    ('in-use', rules.PASS, None),
    ('detaching', rules.REFUSE, 'under way already'),
    ('extending', rules.REFUSE, 'expansion'),
    ('attaching', rules.REFUSE, 'wait until it is attached'),
    ('error', rules.REFUSE, 'error state'),
    ('error_detaching', rules.REFUSE, 'error state'),
    ('some-new-state', rules.REFUSE, 'some-new-state now'),
]


class TestDiskStatus(RulesTestCase):
    """Only an in-use disk can be detached (EVS's status table)."""

    def test_status(self):
        for status, verdict, advice in DISK_STATUS_CASES:
            for server_status in ('ACTIVE', 'SHUTOFF'):
                finding = self.assertVerdict(
                    verdict, make_facts(status=server_status,
                                        volume_status=status),
                    'disk-status',
                    advice_fragments=[advice] if advice else ())
                if verdict == rules.REFUSE:
                    self.assertIn(status, finding.message)

    def test_not_forceable(self):
        finding = self.assertVerdict(
            rules.REFUSE, make_facts(volume_status='detaching'),
            'disk-status', force=True)
        self.assertFalse(rules.is_forceable(finding))

    def test_judged_with_stop_first(self):
        findings = by_rule(rules.evaluate(
            make_facts(volume_status='extending'), stop_first=True))
        self.assertEqual(rules.REFUSE, findings['disk-status'].verdict)


# (snapshots the disk has, verdict)
SNAPSHOT_CASES = [(0, rules.PASS), (6, rules.PASS), (7, rules.REFUSE),
                  (12, rules.REFUSE)]


class TestSnapshotLimit(RulesTestCase):
    """--snapshot needs room for one more of EVS's seven snapshots."""

    def test_skipped_without_snapshot(self):
        self.assertVerdict(rules.SKIP, make_facts(), 'snapshot-limit')

    def test_limit(self):
        for number, verdict in SNAPSHOT_CASES:
            finding = self.assertVerdict(verdict, make_facts(
                snapshots=number), 'snapshot-limit',
                fragments=[str(number)])
            if verdict == rules.REFUSE:
                self.assertIn(VOLUME_ID, finding.advice)

    def test_not_forceable(self):
        finding = self.assertVerdict(
            rules.REFUSE, make_facts(snapshots=7), 'snapshot-limit',
            force=True)
        self.assertFalse(rules.is_forceable(finding))


def all_scenarios():
    """Facts from every table of this module."""
    found = [make_facts(**kwargs) for _n, kwargs, _r in FORCE_CASES]
    found += [make_facts(attached_to=holders, volume_status=status)
              for _n, holders, status, _v, _f in ATTACHED_CASES]
    found += [make_facts(status=status) for status in SERVER_STATUSES]
    found += [make_facts(status=status, task_state=task_state)
              for status in PASSING_STATUSES
              for task_state in BUSY_TASK_STATES + IDLE_TASK_STATES]
    found += [make_facts(root_device_name=root, device=device)
              for root, device, _r in SYSTEM_DISK_CASES]
    found += [make_facts(os=os_info, server_metadata=server_meta,
                         volume_metadata=volume_meta)
              for _n, os_info, server_meta, volume_meta, _v
              in WINDOWS_SCSI_CASES]
    found += [make_facts(volume_metadata=ENCRYPTED, key=key)
              for key, _v, _f in KEY_CASES]
    found += [make_facts(volume_status=status)
              for status, _v, _a in DISK_STATUS_CASES]
    found += [make_facts(snapshots=number)
              for number, _v in SNAPSHOT_CASES]
    return found


class TestForce(RulesTestCase):

    def test_refusals_are_all_reported(self):
        for name, kwargs, refused in FORCE_CASES:
            findings = self.evaluate(make_facts(**kwargs))
            self.assertEqual(
                refused, [f.rule for f in rules.refusals(findings)], name)
            self.assertEqual(ALL_IDS, [f.rule for f in findings], name)

    def test_force_turns_refusals_into_warnings(self):
        # Changed on purpose: a system disk that root_device_name names
        # stays refused with --force (the cloud refuses a root device
        # itself); every other refusal of these cases is forced.
        for name, kwargs, refused in FORCE_CASES:
            plain = self.evaluate(make_facts(**kwargs))
            forced = self.evaluate(make_facts(**kwargs), force=True)
            kept = [r for r in refused if r == 'system-disk']
            self.assertEqual(kept, [f.rule for f in rules.refusals(forced)],
                             name)
            self.assertEqual(
                [r for r in refused if r not in kept],
                [f.rule for f in forced if f.verdict == rules.FORCED], name)
            # Only the verdict changes.
            for before, after in zip(plain, forced):
                forceable = before.verdict == rules.REFUSE and \
                    rules.is_forceable(before)
                expected = rules.FORCED if forceable else before.verdict
                self.assertEqual(
                    before._replace(verdict=expected), after, name)

    def test_every_refusal_is_forceable_but_the_known_few(self):
        for facts in all_scenarios():
            findings = self.evaluate(facts, force=True)
            for f in findings:
                if f.verdict != rules.REFUSE:
                    continue
                self.assertFalse(rules.is_forceable(f), describe(facts))
                if f.rule == 'system-disk':
                    # Only a system disk that a strong source names.
                    is_system, _, weak = model.system_disk(facts)
                    self.assertTrue(is_system and not weak, describe(facts))
                else:
                    self.assertIn(f.rule, UNFORCEABLE_IDS, describe(facts))

    def test_five_refusals_at_once(self):
        facts = make_facts(task_state='powering-off', locked=True,
                           device='/dev/vda', os_version=UNLISTED_WINDOWS,
                           volume_metadata=SCSI)
        self.assertEqual(5, len(rules.refusals(self.evaluate(facts))))
        forced = self.evaluate(facts, force=True)
        self.assertEqual(
            4, len([f for f in forced if f.verdict == rules.FORCED]))
        self.assertEqual(['system-disk'],
                         [f.rule for f in rules.refusals(forced)])

    def test_warnings(self):
        # A disk that only may be the system disk (no root_device_name,
        # at /dev/vda): --force makes it a warning.
        findings = self.evaluate(make_facts(
            root_device_name=None, device='/dev/vda'), force=True)
        self.assertEqual(
            [('system-disk', rules.FORCED), ('guest-prepare', rules.REMIND)],
            [(f.rule, f.verdict) for f in rules.warnings(findings)])

    def test_known_system_disk_is_not_forceable(self):
        finding = by_rule(self.evaluate(make_facts(device='/dev/vda'),
                                        force=True))['system-disk']
        self.assertEqual(rules.REFUSE, finding.verdict)
        self.assertIs(False, finding.forceable)
        self.assertFalse(rules.is_forceable(finding))
        self.assertNotIn('--force', finding.advice)


class TestEveryRefusalHasAWayOut(RulesTestCase):

    def test_advice(self):
        seen = set()
        for facts in all_scenarios():
            for f in self.evaluate(facts):
                if f.verdict == rules.REFUSE:
                    seen.add(f.rule)
                    self.assertTrue(f.advice and f.advice.strip(),
                                    '%r, %s' % (f, describe(facts)))
        # The scenarios exercise every rule that can refuse.
        self.assertEqual(set(ALL_IDS) - {'guest-prepare'}, seen)


class TestStopFirst(RulesTestCase):
    """--stop-server: a running ECS is judged as the stopped one."""

    def test_running_judged_as_stopped(self):
        for root, device in DEVICES:
            facts = make_facts(root_device_name=root, device=device,
                               os_version=UNLISTED_WINDOWS,
                               volume_metadata=SCSI)
            where = describe(facts)
            findings = by_rule(rules.evaluate(facts, stop_first=True))
            self.assertEqual([], rules.refusals(findings.values()), where)
            for rule_id in RUNNING_ONLY_IDS:
                self.assertEqual(rules.SKIP, findings[rule_id].verdict,
                                 '%s: %s' % (rule_id, where))
            # The facts themselves are left as they were.
            self.assertEqual('ACTIVE', facts.server.status)

    def test_other_rules_still_hold(self):
        facts = make_facts(locked=True, task_state='rebooting')
        self.assertEqual(
            ['task-state', 'locked'],
            [f.rule for f in rules.refusals(
                rules.evaluate(facts, stop_first=True))])
        facts = make_facts(attached_to=[], volume_status='available')
        self.assertEqual(
            [('attached', rules.REFUSE)],
            [(f.rule, f.verdict)
             for f in rules.evaluate(facts, stop_first=True)])

    def test_no_os_needed(self):
        facts = make_facts()
        self.assertTrue(model.needs_os(facts.server, facts.volume))
        self.assertFalse(model.needs_os(facts.server, facts.volume,
                                        stop_first=True))

    def test_error_state_is_not_made_stopped(self):
        facts = make_facts(status='ERROR')
        self.assertEqual(
            ['server-status'],
            [f.rule for f in rules.refusals(
                rules.evaluate(facts, stop_first=True))])
