"""Tests for otcclient_detach.render: what the user reads."""

import io

import testtools
from tests.unit import test_rules
from tests.unit.test_rules import make_facts

from otcclient_detach import render
from otcclient_detach import rules


def squash(text):
    """``text`` without any whitespace, so that wrapping does not matter."""
    return ''.join(text.split())


def judge(facts_list, force=False):
    return [rules.evaluate(facts, force=force) for facts in facts_list]


def run(function, facts_list, force=False):
    findings = judge(facts_list, force=force)
    stream = io.StringIO()
    function(stream, facts_list, findings)
    return stream.getvalue(), findings


class TestHelpText(testtools.TestCase):

    def setUp(self):
        super(TestHelpText, self).setUp()
        self.text = render.epilog()

    def test_description_is_one_paragraph(self):
        text = render.description('Detach volumes.\n\n    Checked first.\n')
        self.assertEqual('Detach volumes. Checked first.', text)

    def test_every_rule_with_its_source(self):
        text = squash(self.text)
        for rule in rules.RULES:
            self.assertIn(squash(rule.id), text, rule.id)
            self.assertIn(squash(rule.summary), text, rule.id)
            self.assertIn(squash(rule.doc), text, rule.id)
        # One source per rule.
        self.assertEqual(len(rules.RULES), self.text.count('Source:'))

    def test_rules_in_order(self):
        positions = [self.text.index('- %s:' % rule.id)
                     for rule in rules.RULES]
        self.assertEqual(sorted(positions), positions)

    def test_not_forceable_rules_say_so(self):
        self.assertEqual(
            len([r for r in rules.RULES if r.forceable is False]),
            self.text.count('Not bypassed by --force.'))
        self.assertEqual(
            len([r for r in rules.RULES if r.forceable is None]),
            self.text.count('A reminder only: it never blocks.'))

    def test_running_only_rules_come_from_the_table(self):
        running = [r.id for r in rules.RULES if r.running_only]
        self.assertEqual(
            ['system-disk', 'os-supported', 'windows-scsi', 'guest-prepare'],
            running)
        self.assertIn(squash('Rules system-disk, os-supported, windows-scsi '
                             'and guest-prepare apply to a running'),
                      squash(self.text))

    def test_force_help_lists_the_forceable_rules_of_the_table(self):
        self.assertEqual(
            'server-status, task-state, locked, encryption-key, '
            'system-disk, os-supported and windows-scsi',
            render.forceable_rules())
        self.assertEqual([r.id for r in rules.RULES if r.forceable],
                         list(rules.FORCEABLE))

    def test_says_why_attached_stops_the_others(self):
        self.assertIn(squash(rules.NOT_JUDGED), squash(self.text))

    def test_lines_fit(self):
        for line in self.text.splitlines():
            self.assertLessEqual(len(line), render.WIDTH, repr(line))


class TestCount(testtools.TestCase):

    def test_singular_and_plural(self):
        self.assertEqual('1 volume', render.count(1, 'volume'))
        self.assertEqual('0 volumes', render.count(0, 'volume'))
        self.assertEqual('3 ECS jobs', render.count(3, 'ECS job'))


# (name, facts of each volume, whether --force would help)
# Changed on purpose: --force does not help a system disk that
# root_device_name names (the cloud refuses a root device itself); it
# still helps one that only may be the system disk.
REFUSAL_CASES = [
    ('system disk', [make_facts(device='/dev/vda')], False),
    ('may be the system disk',
     [make_facts(root_device_name=None, device='/dev/vda')], True),
    ('many rules',
     [make_facts(task_state='powering-off', locked=True, device='/dev/vda',
                 os_version=test_rules.UNLISTED_WINDOWS,
                 volume_metadata=test_rules.SCSI)], False),
    ('many forceable rules',
     [make_facts(task_state='powering-off', locked=True,
                 os_version=test_rules.UNLISTED_WINDOWS,
                 volume_metadata=test_rules.SCSI)], True),
    ('disk detaching', [make_facts(volume_status='detaching')], False),
    ('error state', [make_facts(status='ERROR')], True),
    ('not attached', [make_facts(attached_to=[], volume_status='available')],
     False),
    ('attached elsewhere',
     [make_facts(attached_to=[test_rules.OTHER_SERVER_ID])], False),
    ('two volumes, one not attached',
     [make_facts(device='/dev/vda'),
      make_facts(attached_to=[], volume_status='available')], False),
    ('two volumes, both forceable',
     [make_facts(root_device_name=None, device='/dev/vda'),
      make_facts(locked=True)], True),
]


class TestRefusals(testtools.TestCase):

    def test_every_refusal_with_its_way_out(self):
        for name, facts_list, _forceable in REFUSAL_CASES:
            out, findings = run(render.refusals, facts_list)
            text = squash(out)
            count = not_attached = 0
            for facts, volume_findings in zip(facts_list, findings):
                refused = rules.refusals(volume_findings)
                self.assertTrue(refused, name)
                for f in refused:
                    count += 1
                    self.assertIn(squash('Way out: %s' % f.advice), text,
                                  name)
                if [f.rule for f in refused] == ['attached']:
                    # Changed on purpose: one refusal, two messages.
                    not_attached += 1
                    self.assertIn(squash(
                        '[attached] Refused, nothing was detached: %s' %
                        refused[0].message), text, name)
                    continue
                self.assertIn(
                    'Refused to detach volume %s from server %s:' % (
                        facts.volume.label, facts.server.label),
                    out, name)
                for f in refused:
                    self.assertIn(squash('[%s] %s' % (f.rule, f.message)),
                                  text, name)
            rule_lines = [line for line in out.splitlines()
                          if line.startswith('  [')]
            self.assertEqual(count - not_attached, len(rule_lines),
                             '%s: %s' % (name, out))
            self.assertEqual(not_attached, len(
                [line for line in out.splitlines() if line.startswith(
                    '[attached] Refused, nothing was detached: ')]), name)
            self.assertEqual(count, out.count('Way out:'),
                             '%s: %s' % (name, out))
            self.assertNotIn('other rules are not checked', out, name)

    def test_ends_with_nothing_detached(self):
        for name, facts_list, forceable in REFUSAL_CASES:
            out, _findings = run(render.refusals, facts_list)
            self.assertTrue(out.endswith('\n'), name)
            lines = out.splitlines()
            if all(line.startswith(('[attached] Refused, nothing was '
                                    'detached: ', ' '))
                   for line in lines):
                # Changed on purpose: not attached alone says it in its
                # first line, two lines in all.
                self.assertFalse(forceable, name)
                continue
            closing = [i for i, line in enumerate(lines)
                       if line.startswith('Nothing was detached.')]
            self.assertEqual(1, len(closing), '%s: %r' % (name, out))
            # The closing sentence comes after every refusal and its way out.
            self.assertFalse(
                [line for line in lines[closing[0]:]
                 if line.startswith('  [')], '%s: %r' % (name, out))
            self.assertEqual(forceable, '--force' in out,
                             '%s: %r' % (name, out))

    def test_volumes_without_refusal_are_left_out(self):
        facts_list = [make_facts(device='/dev/vdb'),
                      make_facts(device='/dev/vda')]
        facts_list[0].volume.name = 'fine-disk'
        out, _findings = run(render.refusals, facts_list)
        self.assertNotIn('fine-disk', out)
        self.assertEqual(1, out.count('Refused to detach'), out)

    def test_lines_fit(self):
        for name, facts_list, _forceable in REFUSAL_CASES:
            out, _findings = run(render.refusals, facts_list)
            for line in out.splitlines():
                self.assertLessEqual(len(line), render.WIDTH,
                                     '%s: %r' % (name, line))


class TestWarnings(testtools.TestCase):

    def test_forced_and_reminders(self):
        # A disk that only may be the system disk: --force passes it.
        facts_list = [make_facts(root_device_name=None, device='/dev/vda',
                                 locked=True)]
        out, findings = run(render.warnings, facts_list, force=True)
        text = squash(out)
        forced = [f for f in findings[0] if f.verdict == rules.FORCED]
        self.assertEqual(['locked', 'system-disk'],
                         [f.rule for f in forced])
        for f in forced:
            self.assertIn(
                squash('Warning (--force) [%s] %s' % (f.rule, f.message)),
                text, out)
        self.assertEqual(2, out.count('Warning (--force)'), out)
        self.assertIn(squash('Reminder [guest-prepare] %s:' %
                             test_rules.VOLUME_NAME), text, out)
        self.assertEqual(1, out.count('Reminder'), out)

    def test_reminder_only(self):
        for os_version, word in ((test_rules.LINUX_OS, 'umount'),
                                 (test_rules.WINDOWS_OS, 'OTC Tools')):
            out, _findings = run(render.warnings,
                                 [make_facts(os_version=os_version)])
            self.assertNotIn('Warning', out, os_version)
            self.assertEqual(1, out.count('Reminder'), out)
            self.assertIn(word, out, os_version)
            self.assertIn('/dev/vdb', out, os_version)

    def test_stopped_server_has_nothing_to_say(self):
        for force in (False, True):
            out, _findings = run(
                render.warnings, [make_facts(status='SHUTOFF',
                                             device='/dev/vda', os=None)],
                force=force)
            self.assertEqual('', out)

    def test_one_reminder_per_volume(self):
        first = make_facts(device='/dev/vdb')
        second = make_facts(device='/dev/vdc')
        second.volume.name = 'data-2'
        out, _findings = run(render.warnings, [first, second])
        self.assertIn('Reminder [guest-prepare] data-1:', out)
        self.assertIn('Reminder [guest-prepare] data-2:', out)
        self.assertEqual(2, out.count('Reminder'), out)
