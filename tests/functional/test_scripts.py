"""For scripts: a result a program can read, idempotent runs, every data
disk at once, labels that tell volumes apart.

The real ``openstack`` CLI against the simulator; data on stdout, words
on stderr, as OSC does.
"""

import json

from tests.functional import base
from tests.functional import test_hardening
from tests.functional import test_operations

from otcclient_detach import closing


class ResultTest(test_operations.OperationsTestCase):
    """-f json|yaml|csv|value|table on a real run: one row per volume."""

    def test_json_of_a_waited_batch(self):
        result = self.detach('--wait', '-f', 'json', 'web-linux',
                             'web-data-1', 'web-data-2', 'web-data-3')
        self.assertEqual(0, result.returncode, result)
        rows = json.loads(result.stdout)
        self.assertEqual(list(closing.RESULT_COLUMNS), list(rows[0]))
        self.assertEqual(
            [(self.volume_id(n), n, self.server_id('web-linux'), 'detached')
             for n in ('web-data-1', 'web-data-2', 'web-data-3')],
            [(r['Volume ID'], r['Volume'], r['Server ID'], r['Outcome'])
             for r in rows])
        for row in rows:
            self.assertGreater(row['Seconds'], 0)
            self.assertEqual('', row['Refused by'])
        # The words stay on stderr.
        self.assertIn('is detached', result.stderr)
        self.assertNotIn('detached from', result.stdout)

    def test_refused_rows_name_the_rules(self):
        result = self.detach('-f', 'json', 'win-app', 'win-scsi', 'win-vbd')
        self.assertEqual(1, result.returncode, result)
        rows = {r['Volume']: r for r in json.loads(result.stdout)}
        self.assertEqual('refused', rows['win-scsi']['Outcome'])
        self.assertEqual('windows-scsi', rows['win-scsi']['Refused by'])
        self.assertEqual('not sent', rows['win-vbd']['Outcome'])
        self.assertEqual([], self.deletes())

    def test_native_job_and_snapshot_ids(self):
        result = self.detach('--api', 'native', '--snapshot', '-f', 'json',
                             'web-linux', 'web-data-1')
        self.assertEqual(0, result.returncode, result)
        row = json.loads(result.stdout)[0]
        self.assertEqual('detached', row['Outcome'])
        self.assertTrue(row['Job ID'], row)
        self.assertTrue(row['Snapshot ID'], row)
        self.assertEqual('available',
                         self.sim.snapshot(row['Snapshot ID'])['status'])

    def test_columns_pick(self):
        result = self.detach('-f', 'value', '-c', 'Volume', '-c', 'Outcome',
                             'web-linux', 'web-data-1')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual('web-data-1 accepted\n', result.stdout)

    def test_no_format_prints_no_data(self):
        result = self.detach('web-linux', 'web-data-1')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual('', result.stdout)


class IfAttachedTest(base.SimulatorTestCase):
    """--if-attached: not attached here is success; a typo is not."""

    def test_not_attached_counts_as_success(self):
        for volume in ('spare-disk', 'win-vbd'):  # never; elsewhere
            result = self.detach('--if-attached', '-f', 'value', '-c',
                                 'Outcome', 'web-linux', volume)
            self.assertEqual(0, result.returncode, result)
            self.assertEqual('not attached\n', result.stdout)
            self.assertIn('nothing to do (--if-attached)',
                          ' '.join(result.stderr.split()))
        self.assertEqual([], self.deletes())

    def test_a_rerun_after_a_detach_is_a_no_op(self):
        first = self.detach('--wait', '--if-attached', 'web-linux',
                            'web-data-1')
        self.assertEqual(0, first.returncode, first)
        again = self.detach('--wait', '--if-attached', 'web-linux',
                            'web-data-1', 'web-data-2')
        self.assertEqual(0, again.returncode, again)
        self.assertEqual(2, len(self.deletes()), again)
        self.assertIn('web-data-1 is not attached to server web-linux',
                      ' '.join(again.stderr.split()))

    def test_a_typo_is_still_an_error(self):
        for argv in (('web-linux', 'no-such-disk'),
                     ('no-such-server', 'web-data-1')):
            result = self.detach('--if-attached', *argv)
            self.assertEqual(1, result.returncode, result)
            self.assertIn('No ', result.stderr)
        self.assertEqual([], self.deletes())

    def test_without_it_not_attached_is_refused_in_two_lines(self):
        result = self.detach('web-linux', 'spare-disk')
        self.assertRefused(result, 'attached')
        self.assertEqual(['[attached] Refused, nothing was detached',
                          'Way out'],
                         [line.strip().split(':')[0] for line in
                          result.stderr.splitlines()
                          if not line.startswith('    ')])


class AllDataDisksTest(test_operations.OperationsTestCase):
    """--all-data-disks: every data disk, never the system disk."""

    def test_every_data_disk_of_a_running_ecs(self):
        result = self.detach('--all-data-disks', '--dry-run', '-f', 'json',
                             'win-app')
        self.assertEqual(1, result.returncode, result)  # win-scsi refuses
        volumes = {r['Volume'] for r in json.loads(result.stdout)}
        self.assertEqual({'win-scsi', 'win-vbd'}, volumes)

    def test_stopped_ecs_waited_batch(self):
        result = self.detach('--all-data-disks', '--wait', '-f', 'json',
                             'db-stopped')
        self.assertEqual(0, result.returncode, result)
        rows = json.loads(result.stdout)
        self.assertEqual([('db-data', 'detached')],
                         [(r['Volume'], r['Outcome']) for r in rows])
        self.assertEqual('in-use', self.sim.volume('db-stopped-sys')['status'])
        self.assertEqual([self.nova_detach_path('db-stopped', 'db-data')],
                         [r['path'] for r in self.deletes()])

    def test_with_stop_server_and_start_server(self):
        result = self.detach('--all-data-disks', '--stop-server',
                             '--start-server', 'legacy-os')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual([self.nova_detach_path('legacy-os', 'legacy-data')],
                         [r['path'] for r in self.deletes()])
        self.assertEqual('ACTIVE', self.sim.server('legacy-os')['status'])

    def test_shared_names_are_labelled_with_their_ids(self):
        result = self.detach('--all-data-disks', '--dry-run', '-f', 'value',
                             '-c', 'Volume', 'web-linux')
        dups = {line for line in result.stdout.splitlines()
                if line.startswith('dup-disk')}
        self.assertEqual({'dup-disk (%s)' % self.volume_id('dup-disk'),
                          'dup-disk (%s)' % self.volume_id('dup-disk', 2)},
                         dups, result)


class OnlySystemDiskTest(base.SimulatorTestCase):

    scenario = test_hardening.scenario(
        servers=[dict(test_hardening.stopped('lonely'), status='ACTIVE',
                      image='Standard_CentOS_7.6_latest')],
        volumes=[{'name': 'lonely-sys', 'image': 'Standard_CentOS_7.6_latest',
                  'attachments': [{'server': 'lonely',
                                   'device': '/dev/vda'}]}])

    def test_a_server_with_only_its_system_disk(self):
        result = self.detach('--all-data-disks', 'lonely')
        self.assertEqual(1, result.returncode, result)
        self.assertIn('no data disk to detach', result.stderr)
        self.assertEqual([], self.deletes())


def many_disks(count):
    """A stopped ECS with ``count`` data disks (names d01, d02, ...)."""
    letters = 'bcdefghijklmnopqrstuvwxyz'
    devices = ['/dev/vd%s' % a for a in letters] + [
        '/dev/vd%s%s' % (a, b) for a in letters for b in letters]
    return test_hardening.scenario(
        servers=[test_hardening.stopped('many')],
        volumes=[test_hardening.data_disk('d%02d' % n, 'many',
                                          devices[n - 1])
                 for n in range(1, count + 1)],
        detach_seconds=1.0)


class FlowControlBatchTest(base.SimulatorTestCase):
    """A batch under OTC's flow control ends with every disk detached."""

    COUNT = 30
    scenario = many_disks(COUNT)

    def batch(self, answer):
        self.sim.app.rate_limits.add(rate=10, service='compute',
                                     method='DELETE', answer=answer)
        names = ['d%02d' % n for n in range(1, self.COUNT + 1)]
        return self.detach('--wait', '-f', 'value', '-c', 'Outcome', 'many',
                           *names)

    def check(self, result):
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(['detached'] * self.COUNT,
                         result.stdout.splitlines(), result)
        accepted = [r for r in self.deletes() if not r.get('rate_limited')]
        self.assertEqual(self.COUNT, len(accepted), result)
        # Paced after the first push back: far fewer turned away than a
        # resend of everything every round would be.
        turned_away = [r for r in self.deletes() if r.get('rate_limited')]
        self.assertLess(len(turned_away), 2 * self.COUNT, result)
        self.assertNotIn('failed', result.stderr)

    def test_429(self):
        self.check(self.batch(429))

    def test_common_0024_in_a_202(self):
        self.check(self.batch(202))

    def test_the_wait_reads_once_a_look(self):
        result = self.batch(429)
        self.check(result)
        looks = [r for r in self.requests('GET')
                 if r['started'] > self.deletes()[-1]['finished']]
        self.assertEqual(
            {'/v2/%s/cloudvolumes/detail' % self.sim.project_id},
            {r['path'] for r in looks}, looks)
