"""Error paths of ``detach-otc`` with the real CLI.

Lookups that fail, a cloud that refuses or has lost the attachment,
usage errors (exit 2, no traceback, nothing sent) and the ``--dry-run``
report in every output format.
"""

import csv
import io
import json
import threading
import time
import uuid

import yaml
from tests.functional import base

from otcclient_detach import rules

#: Every rule, in table order: a row each per volume in the report.
RULE_IDS = tuple(rule.id for rule in rules.RULES)
REPORT_COLUMNS = ['Volume', 'Rule', 'Verdict', 'Detail']


class TestLookups(base.SimulatorTestCase):

    def assertFailedBeforeDetach(self, result, *phrases):
        self.assertEqual(1, result.returncode, result)
        for phrase in phrases:
            self.assertIn(phrase, result.stderr, result)
        self.assertEqual([], self.deletes(), result)
        self.assertNoTraceback(result)

    def test_unknown_server(self):
        result = self.detach('x', 'web-data-1', subprocess=True)
        self.assertFailedBeforeDetach(
            result, "No server with a name or ID of 'x' exists.")
        # The volume is looked up side by side with the server;
        # nothing more is read once the server is known to be missing.
        self.assertEqual([], self.requests('GET', 'os-volume_attachments'))
        self.assertEqual([], self.requests(service='image'))

    def test_unknown_server_id(self):
        missing = str(uuid.uuid4())
        result = self.detach(missing, 'web-data-1')
        self.assertFailedBeforeDetach(
            result, "No server with a name or ID of '%s' exists." % missing)

    def test_unknown_volume(self):
        result = self.detach('web-linux', 'x')
        self.assertFailedBeforeDetach(
            result, "No volume with a name or ID of 'x' exists.")

    def test_unknown_volume_among_known_ones(self):
        result = self.detach('web-linux', 'web-data-1', 'x')
        self.assertFailedBeforeDetach(
            result, "No volume with a name or ID of 'x' exists.")
        self.assertEqual('in-use', self.sim.volume('web-data-1')['status'])

    def test_ambiguous_volume_name_lists_both_ids(self):
        result = self.detach('web-linux', 'dup-disk')
        self.assertFailedBeforeDetach(
            result, 'dup-disk', self.volume_id('dup-disk'),
            self.volume_id('dup-disk', 2))

    def test_ambiguous_volume_by_id_detached(self):
        vid = self.volume_id('dup-disk', 2)
        result = self.detach('web-linux', vid)
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(
            ['/v2.1/%s/servers/%s/os-volume_attachments/%s' % (
                self.sim.project_id, self.server_id('web-linux'), vid)],
            [r['path'] for r in self.deletes()])


class TestCloudRefuses(base.SimulatorTestCase):

    def assertOneDeleteFailed(self, result, status, *phrases):
        self.assertEqual(1, result.returncode, result)
        self.assertEqual([self.nova_detach_path('web-linux', 'web-data-1')],
                         [r['path'] for r in self.deletes()], result)
        self.assertEqual([status], [r['status'] for r in self.deletes()])
        said = ' '.join(result.stderr.split())  # messages are wrapped
        for phrase in phrases:
            self.assertIn(phrase, said, result)
        self.assertNoTraceback(result)

    def test_injected_409_shows_message_and_code(self):
        self.sim.add_fault('DELETE', 'os-volume_attachments', status=409)
        result = self.detach('web-linux', 'web-data-1')
        self.assertOneDeleteFailed(result, 409, 'Injected fault 409', '409',
                                   'web-data-1')
        self.assertEqual('in-use', self.sim.volume('web-data-1')['status'])

    def test_server_locked_between_check_and_detach(self):
        # The volume lookup is held up; meanwhile someone locks the
        # server.  The checks passed, so the DELETE goes out and nova's
        # own refusal must reach the user.
        self.sim.add_fault('GET', r'/volumes/detail', latency=2.0)
        stop = threading.Event()

        def lock_when_server_read():
            while not stop.is_set():
                if self.requests('GET', '/servers/detail'):
                    self.sim.patch_server('web-linux', locked=True)
                    return
                time.sleep(0.01)

        locker = threading.Thread(target=lock_when_server_read)
        locker.start()
        self.addCleanup(locker.join)
        self.addCleanup(stop.set)
        result = self.detach('web-linux', 'web-data-1')
        self.assertTrue(self.sim.server('web-linux')['locked'])
        self.assertOneDeleteFailed(result, 409, 'is locked', '409')
        self.assertNotIn('[locked]', result.stderr)

    def test_forced_busy_server_shows_custom_errno_and_hint(self):
        result = self.detach('--force', 'busy-stopping', 'busy-data')
        self.assertEqual(1, result.returncode, result)
        self.assertEqual(
            [self.nova_detach_path('busy-stopping', 'busy-data')],
            [r['path'] for r in self.deletes()])
        self.assertEqual([409], [r['status'] for r in self.deletes()])
        self.assertIn('powering-off', result.stderr)
        self.assertIn('409', result.stderr)
        self.assertIn('0101046', result.stderr)
        self.assertNoTraceback(result)

    def test_delete_answered_404_says_not_attached(self):
        self.sim.add_fault('DELETE', 'os-volume_attachments', status=404)
        result = self.detach('web-linux', 'web-data-1')
        self.assertOneDeleteFailed(result, 404, 'not attached')

    def test_delete_answered_500_fails(self):
        self.sim.add_fault('DELETE', 'os-volume_attachments', status=500,
                           count=None)
        result = self.detach('web-linux', 'web-data-1')
        self.assertEqual(1, result.returncode, result)
        self.assertIn('500', result.stderr)
        self.assertNotEqual([], self.deletes())
        self.assertEqual({500}, {r['status'] for r in self.deletes()})
        self.assertNoTraceback(result)

    def test_one_of_two_refused_by_cloud_reports_count(self):
        path = 'os-volume_attachments/%s' % self.volume_id('web-data-2')
        self.sim.add_fault('DELETE', path, status=409)
        result = self.detach('web-linux', 'web-data-1', 'web-data-2')
        self.assertEqual(1, result.returncode, result)
        self.assertEqual(2, len(self.deletes()))
        self.assertIn('1 of 2', result.stderr)
        self.assertIn('web-data-2', result.stderr)
        self.assertNoTraceback(result)


class TestUsage(base.SimulatorTestCase):

    def test_help_names_every_rule(self):
        result = self.detach('--help')
        self.assertEqual(0, result.returncode, result)
        for rule_id in RULE_IDS:
            self.assertIn(rule_id, result.stdout)
        self.assertEqual([], self.deletes())
        self.assertNoTraceback(result)

    def assertUsageError(self, result, *phrases):
        self.assertEqual(2, result.returncode, result)
        self.assertIn('usage:', result.stderr)
        for phrase in phrases:
            self.assertIn(phrase, result.stderr, result)
        self.assertEqual([], self.deletes())
        # No lookup either: usage errors stop before any API request.
        self.assertEqual([], [r for r in self.sim.requests
                              if r['service'] != 'identity'])
        self.assertNoTraceback(result)

    def test_missing_volume(self):
        # The exit status of the real console script.
        self.assertUsageError(self.detach('web-linux', subprocess=True),
                              '<volume>')

    def test_missing_everything(self):
        self.assertUsageError(self.detach(subprocess=True), '<server>')

    def test_timeout_zero(self):
        self.assertUsageError(
            self.detach('--wait', '--timeout', '0', 'web-linux',
                        'web-data-1'), '--timeout')

    def test_timeout_not_a_number(self):
        self.assertUsageError(
            self.detach('--wait', '--timeout', 'soon', 'web-linux',
                        'web-data-1'), '--timeout')

    def test_force_detach_without_native_api(self):
        self.assertUsageError(
            self.detach('--force-detach', 'web-linux', 'web-data-1'),
            '--force-detach', '--api native')

    def test_unknown_api(self):
        self.assertUsageError(
            self.detach('--api', 'soap', 'web-linux', 'web-data-1'),
            '--api')

    def test_start_server_without_stop_server(self):
        self.assertUsageError(
            self.detach('--start-server', 'web-linux', 'web-data-1'),
            '--start-server')


class TestDryRun(base.SimulatorTestCase):

    def dry_run(self, fmt, *refs):
        result = self.detach('--dry-run', '-f', fmt, *refs)
        self.assertEqual([], self.deletes(), result)
        self.assertNoTraceback(result)
        return result

    def assertReport(self, rows, volumes):
        """A row per volume and rule, in rule order; then the plan."""
        expected = [(v, r) for v in volumes for r in RULE_IDS]
        self.assertEqual(expected, [(row[0], row[1]) for row in rows
                                    if row[1] != 'plan'])
        steps = [row[2] for row in rows if row[1] == 'plan']
        self.assertEqual(['step-%d' % n for n in range(1, len(steps) + 1)],
                         steps)

    def verdicts(self, rows):
        return {(row[0], row[1]): row[2] for row in rows}

    def check_refused(self, rows):
        self.assertReport(rows, ['web-linux-sys', 'web-data-1'])
        verdicts = self.verdicts(rows)
        self.assertEqual('refuse', verdicts['web-linux-sys', 'system-disk'])
        self.assertEqual('pass', verdicts['web-data-1', 'system-disk'])
        self.assertEqual(['refuse'], [v for v in verdicts.values()
                                      if v == 'refuse'])
        detail = [row[3] for row in rows
                  if row[:2] == ['web-linux-sys', 'system-disk']]
        self.assertIn('Way out', detail[0])

    def check_allowed(self, rows):
        self.assertReport(rows, ['web-data-1'])
        verdicts = self.verdicts(rows)
        self.assertNotIn('refuse', verdicts.values())
        self.assertEqual('remind', verdicts['web-data-1', 'guest-prepare'])

    REFUSED = ('web-linux', 'web-linux-sys', 'web-data-1')
    ALLOWED = ('web-linux', 'web-data-1')

    # json

    def json_rows(self, result):
        data = json.loads(result.stdout)
        for item in data:
            self.assertEqual(sorted(REPORT_COLUMNS), sorted(item))
        return [[item[c] for c in REPORT_COLUMNS] for item in data]

    def test_json_refused(self):
        result = self.dry_run('json', *self.REFUSED)
        self.assertEqual(1, result.returncode, result)
        self.check_refused(self.json_rows(result))

    def test_json_allowed(self):
        result = self.dry_run('json', *self.ALLOWED)
        self.assertEqual(0, result.returncode, result)
        self.check_allowed(self.json_rows(result))

    # yaml

    def yaml_rows(self, result):
        data = yaml.safe_load(result.stdout)
        for item in data:
            self.assertEqual(sorted(REPORT_COLUMNS), sorted(item))
        return [[item[c] for c in REPORT_COLUMNS] for item in data]

    def test_yaml_refused(self):
        result = self.dry_run('yaml', *self.REFUSED)
        self.assertEqual(1, result.returncode, result)
        self.check_refused(self.yaml_rows(result))

    def test_yaml_allowed(self):
        result = self.dry_run('yaml', *self.ALLOWED)
        self.assertEqual(0, result.returncode, result)
        self.check_allowed(self.yaml_rows(result))

    # csv

    def csv_rows(self, result):
        rows = list(csv.reader(io.StringIO(result.stdout)))
        self.assertEqual(REPORT_COLUMNS, rows[0])
        return rows[1:]

    def test_csv_refused(self):
        result = self.dry_run('csv', *self.REFUSED)
        self.assertEqual(1, result.returncode, result)
        self.check_refused(self.csv_rows(result))

    def test_csv_allowed(self):
        result = self.dry_run('csv', *self.ALLOWED)
        self.assertEqual(0, result.returncode, result)
        self.check_allowed(self.csv_rows(result))

    # value: space separated, Detail (with spaces) last

    def value_rows(self, result):
        return [line.split(' ', 3) for line in result.stdout.splitlines()
                if line.strip()]

    def test_value_refused(self):
        result = self.dry_run('value', *self.REFUSED)
        self.assertEqual(1, result.returncode, result)
        self.check_refused(self.value_rows(result))

    def test_value_allowed(self):
        result = self.dry_run('value', *self.ALLOWED)
        self.assertEqual(0, result.returncode, result)
        self.check_allowed(self.value_rows(result))

    def test_table_default_allowed(self):
        result = self.detach('--dry-run', *self.ALLOWED)
        self.assertEqual(0, result.returncode, result)
        self.assertEqual([], self.deletes())
        for column in REPORT_COLUMNS:
            self.assertIn(column, result.stdout)

    def test_dry_run_not_attached_exit_1(self):
        result = self.dry_run('json', 'web-linux', 'spare-disk')
        self.assertEqual(1, result.returncode, result)
        verdicts = self.verdicts(self.json_rows(result))
        self.assertEqual('refuse', verdicts['spare-disk', 'attached'])

    def test_dry_run_forced_exit_0(self):
        result = self.detach('--dry-run', '--force', '-f', 'json',
                             'win-app', 'win-scsi')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual([], self.deletes())
        verdicts = self.verdicts(self.json_rows(result))
        self.assertEqual('forced', verdicts['win-scsi', 'windows-scsi'])
