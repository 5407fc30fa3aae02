"""Tests for ``openstack server volume detach-otc`` (command.DetachVolume).

The command runs in python-openstackclient's fake app over a FakeCloud:
each test states the situation (a running Linux ECS ``web-1`` with its
system disk ``web-1-sys`` on /dev/vda and data disks ``data-1`` and
``data-2``), runs the command and checks the exit status, the output and
the exact requests sent.
"""

import io
import json

import fixtures
from openstackclient.tests.unit import utils
from osc_lib import exceptions
from tests.unit import fakes

from otcclient_detach import command
from otcclient_detach import errors
from otcclient_detach import wait

REAL_POLLER = wait.Poller

ParserException = utils.ParserException


class DetachTestCase(utils.TestCommand):

    volume_api = 'v2'

    def setUp(self):
        super(DetachTestCase, self).setUp()
        self.cloud = fakes.FakeCloud(volume_api=self.volume_api)
        self.app.client_manager.sdk_connection = self.cloud.connection
        self.app.stderr = io.StringIO()
        self.cmd = command.DetachVolume(self.app, None)
        self.clock = fakes.FakeClock()
        self.useFixture(fixtures.MockPatch(
            'otcclient_detach.wait.Poller', self._poller))
        self.useFixture(fixtures.MockPatch(
            'otcclient_detach.detach.native_endpoint',
            return_value=self.cloud.ecs))
        self.useFixture(fixtures.MockPatch(
            'otcclient_detach.reads.evs_native_endpoint',
            return_value=self.cloud.evs))
        self.server = self.cloud.linux_server('web-1')
        self.sid = self.server['id']
        self.system = self.cloud.system_volume(self.server)
        self.data1 = self.cloud.add_volume('data-1', self.server, '/dev/vdb')
        self.data2 = self.cloud.add_volume('data-2', self.server, '/dev/vdc')

    def _poller(self, timeout, **kwargs):
        # No real sleeping: every wait of the command runs on a fake clock.
        return REAL_POLLER(timeout, clock=self.clock.clock,
                           sleep=self.clock.sleep)

    def run_command(self, *argv):
        parsed = self.check_parser(self.cmd, list(argv), [])
        return self.cmd.run(parsed)

    @property
    def stderr(self):
        # Whitespace squashed: the messages are wrapped.
        return ' '.join(self.app.stderr.getvalue().split())

    @property
    def stdout(self):
        return self.app.stdout.make_string()

    def attachment_url(self, volume):
        return '/servers/%s/os-volume_attachments/%s' % (self.sid,
                                                         volume['id'])

    def assertDeleted(self, *volumes):
        self.assertEqual(
            sorted(('compute', self.attachment_url(v)) for v in volumes),
            sorted(self.cloud.deletes()))

    def assertNothingDeleted(self):
        self.assertEqual([], self.cloud.deletes())


class TestParser(DetachTestCase):

    def parse(self, *argv):
        return self.check_parser(self.cmd, list(argv), [])

    def usage_error(self, *argv):
        """What the command says about a usage error, which exits 2.

        argparse rejects a bad value while parsing; options that make no
        sense together are rejected when the command runs, before it
        sends anything.
        """
        try:
            parsed = self.parse(*argv)
        except ParserException as e:
            return str(e)
        stderr = io.StringIO()
        with fixtures.MonkeyPatch('sys.stderr', stderr):
            e = self.assertRaises(SystemExit, self.cmd.run, parsed)
        self.assertEqual(2, e.code)
        return ' '.join(stderr.getvalue().split())

    def assertUsageError(self, text, *argv):
        self.assertIn(text, self.usage_error(*argv))

    def test_server_and_volume(self):
        self.check_parser(self.cmd, ['web-1', 'data-1'], [
            ('server', 'web-1'), ('volumes', ['data-1']), ('force', False),
            ('dry_run', False), ('wait', False), ('timeout', None),
            ('stop_server', False), ('start_server', False),
            ('api', 'nova'), ('force_detach', False)])

    def test_several_volumes(self):
        self.check_parser(self.cmd, ['web-1', 'data-1', 'data-2', 'data-3'],
                          [('volumes', ['data-1', 'data-2', 'data-3'])])

    def test_volume_needed(self):
        # The parser takes a lone server (--all-data-disks may stand for
        # the volumes); the run refuses it before sending anything.
        self.assertUsageError('name at least one <volume>, or give '
                              '--all-data-disks', 'web-1')
        self.assertRaises(ParserException, self.parse)
        self.assertEqual([], self.cloud.sent())

    def test_flags(self):
        self.check_parser(self.cmd, ['--force', 'web-1', 'data-1'],
                          [('force', True)])
        self.check_parser(self.cmd, ['--dry-run', 'web-1', 'data-1'],
                          [('dry_run', True)])
        self.check_parser(self.cmd, ['--wait', 'web-1', 'data-1'],
                          [('wait', True), ('timeout', None)])

    def test_timeout(self):
        self.check_parser(self.cmd,
                          ['--wait', '--timeout', '60', 'web-1', 'data-1'],
                          [('timeout', 60)])

    def test_timeout_must_be_a_positive_whole_number(self):
        for value in ('0', '-5', 'abc', '1.5', ''):
            self.assertUsageError(
                'is not a positive whole number of seconds',
                '--wait', '--timeout', value, 'web-1', 'data-1')

    def test_timeout_with_commands_that_wait(self):
        self.check_parser(
            self.cmd, ['--stop-server', '--timeout', '9', 'web-1', 'd'],
            [('timeout', 9)])
        self.check_parser(
            self.cmd, ['--api', 'native', '--timeout', '9', 'web-1', 'd'],
            [('timeout', 9)])

    def test_timeout_without_wait(self):
        # Changed on purpose: --timeout also bounds how long a detach the
        # cloud's flow control turned away is sent again, so it needs no
        # --wait any more.
        self.check_parser(self.cmd, ['--timeout', '60', 'web-1', 'data-1'],
                          [('timeout', 60), ('wait', False)])
        self.assertEqual(0, self.run_command('--timeout', '60', 'web-1',
                                             'data-1'))
        self.assertDeleted(self.data1)

    def test_dry_run_with_stop_server(self):
        self.assertUsageError('--dry-run changes nothing, so it stops no '
                              'server; drop --stop-server',
                              '--dry-run', '--stop-server', 'web-1', 'd')

    def test_dry_run_with_wait(self):
        self.assertUsageError('--dry-run changes nothing, so there is '
                              'nothing to wait for; drop --wait',
                              '--dry-run', '--wait', 'web-1', 'd')

    def test_start_server_needs_stop_server(self):
        self.assertUsageError('add --stop-server, or drop --start-server',
                              '--start-server', 'web-1', 'd')
        self.check_parser(
            self.cmd, ['--stop-server', '--start-server', 'web-1', 'd'],
            [('stop_server', True), ('start_server', True)])

    def test_force_detach_needs_native_api(self):
        self.assertUsageError('add --api native, or drop --force-detach',
                              '--force-detach', 'web-1', 'd')
        self.assertUsageError('add --api native, or drop --force-detach',
                              '--api', 'nova', '--force-detach', 'web-1',
                              'd')
        self.check_parser(
            self.cmd, ['--api', 'native', '--force-detach', 'web-1', 'd'],
            [('api', 'native'), ('force_detach', True)])

    def test_api_choices(self):
        for api in ('nova', 'native'):
            self.check_parser(self.cmd, ['--api', api, 'web-1', 'd'],
                              [('api', api)])
        self.assertUsageError('invalid choice', '--api', 'ecs', 'web-1', 'd')

    def test_usage_error_sends_nothing(self):
        self.assertIn('drop --wait', self.usage_error(
            '--dry-run', '--wait', 'web-1', 'data-1'))
        self.assertEqual([], self.cloud.sent())

    def test_default_timeout_when_waiting(self):
        parsed = self.parse('--wait', 'web-1', 'data-1')
        self.cmd.run(parsed)
        self.assertEqual(command.DEFAULT_TIMEOUT, parsed.timeout)


class TestDetachDataDisk(DetachTestCase):

    def test_by_names(self):
        status = self.run_command('web-1', 'data-1')
        self.assertEqual(0, status)
        self.assertDeleted(self.data1)
        self.assertEqual('', self.stdout)
        self.assertIn('Reminder [guest-prepare] data-1', self.stderr)
        self.assertIn("'umount' the disk (/dev/vdb", self.stderr)
        self.assertFalse(self.cloud.is_attached(self.sid, self.data1['id']))

    def test_requests_by_names(self):
        self.run_command('web-1', 'data-1')
        self.assertEqual(
            [('compute', 'GET', '/servers/detail', {'name': r'^web\-1$'}),
             ('block-storage', 'GET', '/volumes/detail', {'name': 'data-1'}),
             # OTC's volumes_attached has no device: EVS's disk list
             # of the server names the system disk and its OS at once.
             ('evs', 'GET', '/cloudvolumes/detail',
              {'server_id': self.sid}),
             ('compute', 'DELETE', self.attachment_url(self.data1), None)],
            self.cloud.sent())
        self.assertEqual('2.60', self.cloud.log[0].microversion)
        self.assertEqual([], self.cloud.unrouted())

    def test_requests_by_ids(self):
        self.run_command(self.sid, self.data1['id'])
        self.assertEqual(
            [('compute', 'GET', '/servers/%s' % self.sid, None),
             ('block-storage', 'GET', '/volumes/%s' % self.data1['id'],
              None),
             # OTC's volumes_attached has no device: EVS's disk list
             # of the server names the system disk and its OS at once.
             ('evs', 'GET', '/cloudvolumes/detail',
              {'server_id': self.sid}),
             ('compute', 'DELETE', self.attachment_url(self.data1), None)],
            self.cloud.sent())

    def test_two_volumes(self):
        status = self.run_command('web-1', 'data-1', 'data-2')
        self.assertEqual(0, status)
        self.assertDeleted(self.data1, self.data2)
        # The OS is read once for both.
        self.assertEqual(1, self.cloud.sent().count(
            ('evs', 'GET', '/cloudvolumes/detail', {'server_id': self.sid})))

    def test_same_volume_twice_is_detached_once(self):
        status = self.run_command('web-1', 'data-1', self.data1['id'])
        self.assertEqual(0, status)
        self.assertDeleted(self.data1)

    def test_wait(self):
        status = self.run_command('--wait', 'web-1', 'data-1')
        self.assertEqual(0, status)
        self.assertIn('Volume data-1 is detached from server web-1.',
                      self.stderr)
        # The wait's looks read EVS's disk list of the server.
        self.assertEqual(
            ('evs', 'GET', '/cloudvolumes/detail', {'server_id': self.sid}),
            self.cloud.sent()[-1])
        self.assertEqual([1.0], self.clock.sleeps)

    def test_wait_timeout(self):
        volume = self.cloud.volumes[self.data1['id']]

        def accepted_but_stuck(call, *groups):
            # The cloud takes the detach on and never ends it.
            volume['status'] = 'detaching'
            return 202, ''

        self.cloud.compute.route('DELETE', self.attachment_url(self.data1),
                                 answer=accepted_but_stuck)
        status = self.run_command('--wait', '--timeout', '12', 'web-1',
                                  'data-1')
        self.assertEqual(1, status)
        # Changed on purpose: the words say what is known.
        self.assertIn('the detach was accepted, but not confirmed within '
                      '12 s', self.stderr)
        self.assertNotIn('Failed to detach', self.stderr)
        self.assertAlmostEqual(12, sum(self.clock.sleeps))

    def test_wait_rollback(self):
        self.cloud.compute.route('DELETE', self.attachment_url(self.data1),
                                 status=202, body='')
        status = self.run_command('--wait', 'web-1', 'data-1')
        self.assertEqual(1, status)
        self.assertIn('rolled the detach back', self.stderr)
        self.assertIn('umount', self.stderr)

    def test_windows_vbd_disk(self):
        self.cloud.volumes[self.system['id']]['volume_image_metadata'] = {
            '__os_version': fakes.WINDOWS_OS, '__os_type': 'Windows'}
        status = self.run_command('web-1', 'data-1')
        self.assertEqual(0, status)
        self.assertDeleted(self.data1)
        self.assertIn('OTC Tools must be installed', self.stderr)


class TestDetachDataDiskVolumeV3(TestDetachDataDisk):
    """The same with block storage v3: the code sends relative URLs only.

    OTC users set OS_VOLUME_API_VERSION=2; stock OSC then fails for want
    of v3.  Every test of TestDetachDataDisk runs again on a v3 endpoint
    and must send exactly the same requests.
    """

    volume_api = 'v3'

    def test_endpoint_is_v3(self):
        self.assertIn('/v3/', self.cloud.block_storage.get_endpoint())
        self.assertEqual(0, self.run_command('web-1', 'data-1'))


class TestSystemDisk(DetachTestCase):

    def test_running_server_refused(self):
        status = self.run_command('web-1', 'web-1-sys')
        self.assertEqual(1, status)
        self.assertNothingDeleted()
        self.assertIn('Refused to detach volume web-1-sys from server web-1',
                      self.stderr)
        self.assertIn('[system-disk]', self.stderr)
        self.assertIn('Way out: stop the ECS first', self.stderr)
        self.assertIn('Nothing was detached.', self.stderr)
        self.assertEqual('', self.stdout)

    def test_running_server_by_names_reads_no_second_volume(self):
        self.run_command('web-1', 'web-1-sys')
        # Changed on purpose: every path reads the system disk's sources
        # alike, so the one EVS disk list is read here too; no GET of the
        # system disk beside it.
        self.assertEqual(
            [('compute', 'GET', '/servers/detail', {'name': r'^web\-1$'}),
             ('block-storage', 'GET', '/volumes/detail',
              {'name': 'web-1-sys'}),
             ('evs', 'GET', '/cloudvolumes/detail',
              {'server_id': self.sid})],
            self.cloud.sent())

    def test_force(self):
        # Changed on purpose: a system disk root_device_name names stays
        # refused with --force (the cloud refuses a root device itself).
        status = self.run_command('--force', 'web-1', 'web-1-sys')
        self.assertEqual(1, status)
        self.assertNothingDeleted()
        self.assertIn('[system-disk]', self.stderr)
        self.assertNotIn('Warning (--force) [system-disk]', self.stderr)

    def test_stopped_server(self):
        self.server['status'] = 'SHUTOFF'
        status = self.run_command('web-1', 'web-1-sys')
        self.assertEqual(0, status)
        self.assertDeleted(self.system)
        self.assertEqual(
            [('compute', 'GET', '/servers/detail', {'name': r'^web\-1$'}),
             ('block-storage', 'GET', '/volumes/detail',
              {'name': 'web-1-sys'}),
             ('compute', 'DELETE', self.attachment_url(self.system), None)],
            self.cloud.sent())
        self.assertNotIn('Reminder', self.stderr)

    def test_stopped_server_data_disk_needs_no_os(self):
        self.server['status'] = 'SHUTOFF'
        self.assertEqual(0, self.run_command('web-1', 'data-1'))
        self.assertNotIn(('block-storage', 'GET',
                          '/volumes/%s' % self.system['id'], None),
                         self.cloud.sent())
        self.assertEqual([], self.cloud.image.calls)

    def test_sda_without_root_device_name(self):
        server = self.cloud.add_server('old', root_device_name=None)
        self.cloud.add_volume('old-sys', server, '/dev/sda',
                              os_version=fakes.LINUX_OS)
        status = self.run_command('old', 'old-sys')
        self.assertEqual(1, status)
        self.assertIn('[system-disk]', self.stderr)

    def test_stop_server(self):
        status = self.run_command('--stop-server', 'web-1', 'web-1-sys')
        self.assertEqual(0, status)
        compute = [(c.method, c.url, c.json) for c in self.cloud.log
                   if c.service == 'compute' and c.method != 'GET']
        self.assertEqual(
            [('POST', '/servers/%s/action' % self.sid, {'os-stop': None}),
             ('DELETE', self.attachment_url(self.system), None)],
            compute)
        self.assertIn('Volume web-1-sys is detached', self.stderr)
        # --stop-server judges the stopped ECS: no OS is read.
        self.assertNotIn('Reminder', self.stderr)
        self.assertEqual('SHUTOFF', self.server['status'])

    def test_start_server_without_system_disk_is_refused(self):
        # Ecs.0105: an ECS without its system disk cannot start.
        status = self.run_command('--stop-server', '--start-server', 'web-1',
                                  'web-1-sys')
        self.assertEqual(1, status)
        self.assertEqual([], [c for c in self.cloud.log
                              if c.method != 'GET'])
        self.assertIn('Ecs.0105', self.stderr)
        self.assertIn('--stop-server alone', self.stderr)

    def test_force_detach_is_for_data_disks_only(self):
        self.server['status'] = 'SHUTOFF'
        e = self.assertRaises(
            exceptions.CommandError, self.run_command, '--api', 'native',
            '--force-detach', 'web-1', 'web-1-sys')
        self.assertIn('--force-detach is for data disks only', str(e))
        self.assertIn('web-1-sys', str(e))
        self.assertNothingDeleted()

    def test_one_of_two_refused_detaches_none(self):
        status = self.run_command('web-1', 'data-1', 'web-1-sys')
        self.assertEqual(1, status)
        self.assertNothingDeleted()
        self.assertIn('web-1-sys', self.stderr)


class TestRefusals(DetachTestCase):

    def test_not_attached(self):
        self.cloud.add_volume('loose')
        for argv in (('web-1', 'loose'), ('--force', 'web-1', 'loose')):
            self.app.stderr = io.StringIO()
            self.assertEqual(1, self.run_command(*argv))
            # Changed on purpose: a refusal and its way out, no word on
            # the other rules.
            self.assertIn('[attached] Refused, nothing was detached: '
                          'volume loose is not attached to server web-1',
                          self.stderr)
            self.assertIn('Way out: ', self.stderr)
            self.assertNotIn('--force sends the detach anyway', self.stderr)
            self.assertNotIn('other rules are not checked', self.stderr)
        self.assertNothingDeleted()

    def test_attached_to_another_server(self):
        other = self.cloud.add_server('web-2')
        self.cloud.add_volume('theirs', other, '/dev/vdb')
        self.assertEqual(1, self.run_command('web-1', 'theirs'))
        self.assertIn(other['id'], self.stderr)
        self.assertNothingDeleted()

    def test_windows_scsi(self):
        self.cloud.volumes[self.system['id']]['volume_image_metadata'] = {
            '__os_version': fakes.WINDOWS_OS, '__os_type': 'Windows'}
        self.server['metadata']['os_type'] = 'Windows'
        self.cloud.volumes[self.data1['id']]['metadata'] = {
            'hw:passthrough': 'true'}
        status = self.run_command('web-1', 'data-1')
        self.assertEqual(1, status)
        self.assertIn('[windows-scsi]', self.stderr)
        self.assertNothingDeleted()

    def test_unlisted_os(self):
        self.cloud.volumes[self.system['id']]['volume_image_metadata'] = {
            '__os_version': fakes.UNLISTED_OS}
        self.assertEqual(1, self.run_command('web-1', 'data-1'))
        self.assertIn('[os-supported]', self.stderr)
        self.assertNothingDeleted()

    def test_task_in_progress(self):
        self.server['OS-EXT-STS:task_state'] = 'rebooting'
        self.assertEqual(1, self.run_command('web-1', 'data-1'))
        self.assertIn('[task-state]', self.stderr)
        self.assertNothingDeleted()


class TestLookups(DetachTestCase):

    def test_ambiguous_server(self):
        twin = self.cloud.add_server('web-1')
        e = self.assertRaises(exceptions.CommandError, self.run_command,
                              'web-1', 'data-1')
        self.assertIn(self.sid, str(e))
        self.assertIn(twin['id'], str(e))
        self.assertNothingDeleted()

    def test_unknown_server(self):
        e = self.assertRaises(exceptions.CommandError, self.run_command,
                              'x', 'data-1')
        self.assertEqual("No server with a name or ID of 'x' exists.",
                         str(e))

    def test_unknown_volume(self):
        e = self.assertRaises(exceptions.CommandError, self.run_command,
                              'web-1', 'x')
        self.assertEqual("No volume with a name or ID of 'x' exists.",
                         str(e))
        self.assertNothingDeleted()

    def test_name_prefix_is_not_a_match(self):
        self.cloud.add_server('web-10')
        self.assertEqual(0, self.run_command('web-1', 'data-1'))
        self.assertDeleted(self.data1)


class TestDryRun(DetachTestCase):

    def report(self, *argv):
        status = self.run_command('-f', 'json', '--dry-run', *argv)
        return status, json.loads(self.stdout)

    def test_allowed(self):
        status, rows = self.report('web-1', 'data-1')
        self.assertEqual(0, status)
        self.assertNothingDeleted()
        # The rule rows, then the plan's (changed on purpose).
        self.assertEqual(
            ['attached', 'disk-status', 'server-status', 'task-state',
             'locked', 'encryption-key', 'snapshot-limit', 'system-disk',
             'os-supported', 'windows-scsi', 'guest-prepare', 'plan'],
            [r['Rule'] for r in rows])
        plan = rows[-1]
        self.assertEqual('step-1', plan['Verdict'])
        self.assertTrue(plan['Detail'].startswith('detach: '),
                        plan['Detail'])
        for row in rows:
            self.assertEqual(['Volume', 'Rule', 'Verdict', 'Detail'],
                             list(row))
            self.assertEqual('data-1', row['Volume'])
        self.assertNotIn('refuse', [r['Verdict'] for r in rows])

    def test_refused(self):
        status, rows = self.report('web-1', 'web-1-sys')
        self.assertEqual(1, status)
        self.assertNothingDeleted()
        system = [r for r in rows if r['Rule'] == 'system-disk'][0]
        self.assertEqual('refuse', system['Verdict'])
        self.assertIn('Way out', system['Detail'])

    def test_forced(self):
        self.server['status'] = 'SHUTOFF'
        self.server['locked'] = True
        status, rows = self.report('--force', 'web-1', 'web-1-sys')
        self.assertEqual(0, status)
        self.assertNothingDeleted()
        locked = [r for r in rows if r['Rule'] == 'locked'][0]
        self.assertEqual('forced', locked['Verdict'])

    def test_known_system_disk_is_not_forced(self):
        # Changed on purpose: --force does not pass a system disk that
        # root_device_name names on a running ECS.
        status, rows = self.report('--force', 'web-1', 'web-1-sys')
        self.assertEqual(1, status)
        system = [r for r in rows if r['Rule'] == 'system-disk'][0]
        self.assertEqual('refuse', system['Verdict'])

    def test_columns_and_rows(self):
        parsed = self.check_parser(self.cmd,
                                   ['--dry-run', 'web-1', 'data-1', 'data-2'],
                                   [])
        parsed.result = False  # run() sets it: no -f/-c given
        columns, rows = self.cmd.take_action(parsed)
        self.assertEqual(('Volume', 'Rule', 'Verdict', 'Detail'), columns)
        # 11 rule rows a volume, then a plan row a volume.
        self.assertEqual(24, len(rows))
        self.assertEqual(['data-1'] * 11 + ['data-2'] * 11 +
                         ['data-1', 'data-2'], [r[0] for r in rows])
        self.assertEqual(['plan', 'plan'], [r[1] for r in rows[-2:]])

    def test_force_detach_of_system_disk_is_not_approved(self):
        # The real run refuses --force-detach for a system disk, so the
        # dry run must not report that the detach would go ahead.
        self.server['status'] = 'SHUTOFF'
        try:
            status = self.run_command('--dry-run', '--api', 'native',
                                      '--force-detach', 'web-1',
                                      'web-1-sys')
        except exceptions.CommandError:
            status = 1
        self.assertEqual(1, status)
        self.assertNothingDeleted()

    def test_not_attached_stops_at_the_first_rule(self):
        self.cloud.add_volume('loose')
        status, rows = self.report('web-1', 'loose')
        self.assertEqual(1, status)
        self.assertEqual([('attached', 'refuse')],
                         [(r['Rule'], r['Verdict']) for r in rows])


class TestCloudAnswers(DetachTestCase):

    def test_conflicting_request(self):
        message = ("Cannot 'detach_volume' instance %s while it is in "
                   "task_state powering-off" % self.sid)
        self.cloud.compute.route(
            'DELETE', self.attachment_url(self.data1), status=409,
            body=fakes.nova_error(409, message, kind='conflictingRequest',
                                  errno='0101046'))
        status = self.run_command('web-1', 'data-1')
        self.assertEqual(1, status)
        self.assertIn(message, self.stderr)
        self.assertIn('HTTP 409, 0101046', self.stderr)
        self.assertIn(errors.HINTS['0101046'], self.stderr)
        self.assertIn('1 of 1 volume failed to detach.', self.stderr)

    def test_not_found(self):
        self.cloud.compute.route(
            'DELETE', self.attachment_url(self.data1), status=404,
            body=fakes.nova_error(404, 'volume_id not found'))
        status = self.run_command('web-1', 'data-1')
        self.assertEqual(1, status)
        self.assertIn('not attached (any more)', self.stderr)

    def test_one_of_two_fails(self):
        self.cloud.compute.route(
            'DELETE', self.attachment_url(self.data2), status=400,
            body=fakes.otc_error('Ecs.0102', 'Data disk unresponsive.'))
        status = self.run_command('web-1', 'data-1', 'data-2')
        self.assertEqual(1, status)
        self.assertEqual(2, len(self.cloud.deletes()))
        self.assertIn('Failed to detach volume data-2 from server web-1',
                      self.stderr)
        self.assertNotIn('volume data-1 from', self.stderr)
        self.assertIn('1 of 2 volumes failed to detach.', self.stderr)
        self.assertFalse(self.cloud.is_attached(self.sid, self.data1['id']))


class TestNativeApi(DetachTestCase):

    def test_native_detach(self):
        status = self.run_command('--api', 'native', 'web-1', 'data-1')
        self.assertEqual(0, status)
        self.assertEqual(
            [('ecs', '/cloudservers/%s/detachvolume/%s' % (
                self.sid, self.data1['id']))], self.cloud.deletes())
        self.assertIn('Volume data-1 is detached', self.stderr)

    def test_native_force_detach(self):
        status = self.run_command('--api', 'native', '--force-detach',
                                  'web-1', 'data-1')
        self.assertEqual(0, status)
        self.assertEqual({'delete_flag': '1'}, self.cloud.ecs.calls[0].params)

    def test_native_job_fails(self):
        self.cloud.job_statuses = ('FAIL',)
        status = self.run_command('--api', 'native', 'web-1', 'data-1')
        self.assertEqual(1, status)
        self.assertIn('disk busy', self.stderr)
        self.assertIn('Ecs.0102', self.stderr)


class TestHelpFirstScreen(DetachTestCase):
    """``--help`` at 80 columns: the first 25 lines say what matters."""

    def setUp(self):
        super(TestHelpFirstScreen, self).setUp()
        self.useFixture(fixtures.EnvironmentVariable('COLUMNS', '80'))
        self.help = self.cmd.get_parser(
            'openstack server volume detach-otc').format_help()
        self.first = self.help.splitlines()[:25]

    def test_synopsis_description_and_most_used_options(self):
        text = '\n'.join(self.first)
        self.assertTrue(self.first[0].startswith(
            'usage: openstack server volume detach-otc'), self.first[0])
        self.assertIn("Detach volumes from a server, only when OTC's rules "
                      "allow it.", text)
        for option in ('--dry-run', '--force', '--wait', '--stop-server'):
            self.assertIn('\n  %s ' % option, text, option)

    def test_synopsis_names_our_options_before_the_formatters(self):
        usage = self.help[:self.help.index('\n\n')]
        self.assertNotIn('-f {', usage)
        self.assertNotIn('--sort-column', usage)
        # Every option of ours (the 'options:' section) is in the synopsis.
        section = self.help.split('\noptions:\n', 1)[1].split('\n\n')[0]
        ours = [line.split()[0].rstrip(',') for line in section.splitlines()
                if line.startswith('  -')]
        self.assertEqual(13, len(ours), ours)
        for option in ours:
            self.assertTrue('[%s' % option in usage or
                            '| %s' % option in usage, option)
        self.assertIn('<output options>', usage)
        self.assertTrue(usage.rstrip().endswith(
            '<server> (<volume> [<volume> ...] | --all-data-disks)'), usage)

    def test_rules_come_after_the_options(self):
        self.assertGreater(self.help.index('- attached:'),
                           self.help.index('--force-detach  '))

    def test_lines_fit(self):
        for line in self.help.splitlines():
            self.assertLessEqual(len(line), 80, line)
