"""Every rule of ``detach-otc``, refused and allowed, by the request log.

A refusal exits 1, names its rule id and the way out on stderr and sends
no DELETE; an allowed detach sends exactly one DELETE, to the seed's URI
``/v2.1/{project_id}/servers/{server_id}/os-volume_attachments/
{volume_id}`` on the ECS host (``/v2/...`` when the catalog names the legacy
endpoint).
"""

import json
import os

from tests.functional import base

from otcclient_detach.simulator import server as sim_server

#: Server statuses other than ACTIVE and SHUTOFF that OTC refuses.
REFUSED_STATUSES = ('ERROR', 'BUILD', 'REBOOT', 'RESIZE', 'VERIFY_RESIZE',
                    'MIGRATING', 'SHELVED', 'SHELVED_OFFLOADED')


class RulesMixin(object):

    def assertRefusedWithWayOut(self, result, *rule_ids):
        self.assertRefused(result, *rule_ids)
        self.assertIn('Way out', result.stderr, result)

    def volume_gets(self):
        """Paths (with query) of every GET on the block storage API."""
        return ['%s?%s' % (r['path'], r['query']) if r['query']
                else r['path']
                for r in self.requests('GET', service='volume')
                if '/volumes' in r['path']]

    def assertOnlyVolumeLookedUp(self, name):
        """No request for the OS: only the named volume was read."""
        self.assertEqual([], self.requests(service='image'),
                         self.sim.requests)
        vid = self.volume_id(name)
        for path in self.volume_gets():
            self.assertTrue(
                path.endswith('/volumes/%s' % vid) or
                path.endswith('/volumes/detail?name=%s' % name),
                'unexpected volume request %s (only %s was named)' % (
                    path, name))


class TestRules(RulesMixin, base.SimulatorTestCase):

    # -- system-disk ---------------------------------------------------------

    def test_system_disk_of_running_ecs_refused(self):
        result = self.detach('web-linux', 'web-linux-sys')
        self.assertRefusedWithWayOut(result, 'system-disk')
        self.assertIn('/dev/vda', result.stderr)
        self.assertEqual('in-use', self.sim.volume('web-linux-sys')['status'])

    def test_system_disk_forced_is_still_refused(self):
        # OTC (and the simulator) refuse the root device of a running ECS
        # themselves ("Can't detach root device volume"): --force could
        # only earn that 400, so it is not offered and does not bypass.
        result = self.detach('--force', 'web-linux', 'web-linux-sys')
        self.assertRefused(result, 'system-disk')
        self.assertNotIn('--force sends the detach anyway', result.stderr)
        self.assertIn('--stop-server', result.stderr, result)

    # -- windows-scsi / guest-prepare on Windows -----------------------------

    def test_scsi_disk_of_running_windows_refused(self):
        result = self.detach('win-app', 'win-scsi')
        self.assertRefusedWithWayOut(result, 'windows-scsi')
        self.assertIn('SCSI', result.stderr)

    def test_scsi_disk_of_running_windows_forced_detached(self):
        result = self.detach('--force', 'win-app', 'win-scsi')
        self.assertDetachedOnce(result, 'win-app', 'win-scsi')
        self.assertIn('Warning (--force)', result.stderr)
        self.assertIn('[windows-scsi]', result.stderr)

    def test_vbd_disk_of_running_windows_allowed_with_reminder(self):
        result = self.detach('win-app', 'win-vbd')
        self.assertDetachedOnce(result, 'win-app', 'win-vbd')
        self.assertIn('[guest-prepare]', result.stderr)
        self.assertIn('OTC Tools', result.stderr)
        self.assertNotIn('[windows-scsi]', result.stderr)

    # -- os-supported --------------------------------------------------------

    def test_unlisted_os_refused(self):
        result = self.detach('legacy-os', 'legacy-data')
        self.assertRefusedWithWayOut(result, 'os-supported')
        self.assertIn('Slackware 14.2 64bit', result.stderr)

    def test_unlisted_os_forced_detached(self):
        result = self.detach('--force', 'legacy-os', 'legacy-data')
        self.assertDetachedOnce(result, 'legacy-os', 'legacy-data')
        self.assertIn('Warning (--force)', result.stderr)
        self.assertIn('[os-supported]', result.stderr)

    def test_listed_os_data_disk_of_running_linux_allowed(self):
        result = self.detach('web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertIn('[guest-prepare]', result.stderr)
        self.assertIn('umount', result.stderr)
        self.assertNotIn('Way out', result.stderr)

    # -- task-state, locked, server-status -----------------------------------

    def test_busy_task_state_refused(self):
        result = self.detach('busy-stopping', 'busy-data')
        self.assertRefusedWithWayOut(result, 'task-state')
        self.assertIn('powering-off', result.stderr)

    def test_locked_server_refused(self):
        self.sim.patch_server('web-linux', locked=True)
        result = self.detach('web-linux', 'web-data-1')
        self.assertRefusedWithWayOut(result, 'locked')
        self.assertIn('unlock', result.stderr)

    def test_unlocked_again_allowed(self):
        self.sim.patch_server('web-linux', locked=True)
        self.sim.patch_server('web-linux', locked=False)
        result = self.detach('web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')

    def test_every_other_server_status_refused(self):
        problems = []
        for status in REFUSED_STATUSES:
            self.sim.patch_server('web-linux', status=status)
            self.assertEqual(status, self.sim.server('web-linux')['status'])
            self.sim.clear_requests()
            result = self.detach('web-linux', 'web-data-1')
            if result.returncode != 1:
                problems.append('%s: exit %s' % (status, result.returncode))
            if '[server-status]' not in result.stderr:
                problems.append('%s: rule server-status not named' % status)
            if status not in result.stderr:
                problems.append('%s: status not named' % status)
            if 'Way out' not in result.stderr:
                problems.append('%s: no way out' % status)
            if self.deletes():
                problems.append('%s: DELETE sent' % status)
            if 'Traceback' in result.stderr:
                problems.append('%s: traceback' % status)
            if problems:
                problems.append(repr(result))
        self.assertEqual([], problems, '\n'.join(problems))
        self.assertIn('in-use', self.sim.volume('web-data-1')['status'])

    # -- stopped server ------------------------------------------------------

    def test_stopped_server_system_disk_detached_without_os_lookup(self):
        result = self.detach('db-stopped', 'db-stopped-sys')
        self.assertDetachedOnce(result, 'db-stopped', 'db-stopped-sys')
        self.assertOnlyVolumeLookedUp('db-stopped-sys')
        self.assertNotIn('Reminder', result.stderr)

    def test_stopped_server_data_disk_detached_without_os_lookup(self):
        result = self.detach('db-stopped', 'db-data')
        self.assertDetachedOnce(result, 'db-stopped', 'db-data')
        self.assertOnlyVolumeLookedUp('db-data')
        self.assertEqual(
            [], [p for p in self.volume_gets()
                 if self.volume_id('db-stopped-sys') in p])

    # -- attached ------------------------------------------------------------

    def test_not_attached_refused(self):
        result = self.detach('web-linux', 'spare-disk')
        self.assertRefusedWithWayOut(result, 'attached')
        self.assertIn('available', result.stderr)

    def test_not_attached_refused_even_with_force(self):
        result = self.detach('--force', 'web-linux', 'spare-disk')
        self.assertRefusedWithWayOut(result, 'attached')
        self.assertNotIn('Warning (--force)', result.stderr)

    def test_attached_to_another_server_refused_naming_both(self):
        result = self.detach('web-linux', 'win-vbd')
        self.assertRefusedWithWayOut(result, 'attached')
        self.assertIn('web-linux', result.stderr)
        other = (self.server_id('win-app'), 'win-app')
        self.assertTrue(any(ref in result.stderr for ref in other),
                        'win-app (name or ID) not named: %r' % result)
        self.assertEqual('in-use', self.sim.volume('win-vbd')['status'])

    # -- multiattach ---------------------------------------------------------

    def test_multiattach_detached_from_one_stays_on_other(self):
        result = self.detach('--wait', 'cluster-a', 'shared-disk')
        self.assertDetachedOnce(result, 'cluster-a', 'shared-disk')
        volume = self.sim.volume('shared-disk')
        self.assertEqual('in-use', volume['status'])
        self.assertEqual([self.server_id('cluster-b')],
                         [a['server_id'] for a in volume['attachments']])
        self.assertEqual(['shared-disk'],
                         [v['name'] for v in
                          self.sim.server('cluster-b')['volumes']
                          if v['name'] == 'shared-disk'])
        self.assertNotIn('shared-disk', [
            v['name'] for v in self.sim.server('cluster-a')['volumes']])

    # -- references and API versions -----------------------------------------

    def test_by_ids(self):
        result = self.detach(self.server_id('web-linux'),
                             self.volume_id('web-data-2'))
        self.assertDetachedOnce(result, 'web-linux', 'web-data-2')
        # An ID is read directly, never listed by name.
        self.assertEqual([], [r for r in self.sim.requests
                              if 'name=' in (r['query'] or '')])

    def test_by_names(self):
        # Exit 0 from the real console script.
        result = self.detach('web-linux', 'web-data-2', subprocess=True)
        self.assertDetachedOnce(result, 'web-linux', 'web-data-2')

    def test_block_storage_v2(self):
        result = self.detach('web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertNotEqual([], self.requests('GET', '/v2/', 'volume'))
        self.assertEqual([], self.requests('GET', '/v3/', 'volume'))

    def test_block_storage_v3(self):
        result = self.detach('web-linux', 'web-data-1',
                             env=self.env(OS_VOLUME_API_VERSION='3'))
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertNotEqual([], self.requests('GET', '/v3/', 'volume'))
        # Only EVS's native disk list, which OTC serves under /v2 only.
        self.assertEqual(
            ['/v2/%s/cloudvolumes/detail' % self.sim.project_id],
            [r['path'] for r in self.requests('GET', '/v2/', 'volume')])

    # -- request budget ----------------------------------------------------

    def stock_request_count(self, server, volume):
        """Requests of stock ``server remove volume`` in a fresh cloud."""
        sim = sim_server.Simulator()
        sim.start()
        self.addCleanup(sim.stop)
        clouds_yaml = sim.write_clouds_yaml(
            os.path.join(self.tmp, 'stock-clouds.yaml'),
            volume_api_version='3')
        result = self.openstack(
            'server', 'remove', 'volume', server, volume,
            env=self.env(clouds_yaml=clouds_yaml, OS_VOLUME_API_VERSION='3'))
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len([r for r in sim.requests
                                 if r['method'] == 'DELETE']))
        return len(sim.requests)

    def assertBudget(self, server, volume, extra, **env):
        result = self.detach(server, volume, env=self.env(**env))
        self.assertDetachedOnce(result, server, volume)
        ours = len(self.sim.requests)
        stock = self.stock_request_count(server, volume)
        self.assertLessEqual(
            ours, stock + extra,
            'detach-otc %s %s sent %d requests, stock server remove volume '
            '%d (allowed: %d more)\n%s' % (
                server, volume, ours, stock, extra,
                '\n'.join('%s %s?%s' % (r['method'], r['path'], r['query'])
                          for r in self.sim.requests)))

    # Budgets relative to stock: never more requests than stock.
    # With block storage v2 the SDK reads the volume service's version
    # document first (stock runs with v3, which needs none), so one
    # request more than with v3.  A running ECS: one read (EVS's disk
    # list of the server) for its system disk and OS.
    def test_budget_running_ecs_by_names(self):
        self.assertBudget('web-linux', 'web-data-2', -1)

    def test_budget_running_ecs_by_names_volume_v3(self):
        self.assertBudget('web-linux', 'web-data-2', -2,
                          OS_VOLUME_API_VERSION='3')

    def test_budget_stopped_ecs_by_names(self):
        self.assertBudget('db-stopped', 'db-data', -2)


class TestRulesComputeV2(RulesMixin, base.SimulatorTestCase):
    """The catalog names the legacy /v2 endpoint: no microversions."""

    compute_version = 'v2'

    def test_cloud_reports_no_root_device_name(self):
        result = self.openstack('server', 'show', 'web-linux', '-f', 'json')
        self.assertEqual(0, result.returncode, result)
        shown = json.loads(result.stdout)
        self.assertEqual('web-linux', shown['name'])
        self.assertIsNone(shown.get('OS-EXT-SRV-ATTR:root_device_name'))
        self.assertNotEqual([], self.requests('GET', '/v2/', 'compute'))
        self.assertEqual([], self.requests('GET', '/v2.1/', 'compute'))

    def test_system_disk_refused_by_device_fallback_vda(self):
        result = self.detach('web-linux', 'web-linux-sys')
        self.assertRefusedWithWayOut(result, 'system-disk')
        self.assertIn('/dev/vda', result.stderr)
        self.assertEqual([], self.requests(None, '/v2.1', 'compute'))

    def test_system_disk_refused_by_device_fallback_sda(self):
        result = self.detach('win-app', 'win-app-sys')
        self.assertRefusedWithWayOut(result, 'system-disk')
        self.assertIn('/dev/sda', result.stderr)

    def test_data_disk_detached_on_v2_uri(self):
        result = self.detach('web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1',
                                version='v2')

    def test_stopped_system_disk_detached_on_v2_uri(self):
        result = self.detach('db-stopped', 'db-stopped-sys')
        self.assertDetachedOnce(result, 'db-stopped', 'db-stopped-sys',
                                version='v2')
        self.assertOnlyVolumeLookedUp('db-stopped-sys')

    def test_volume_v3_on_v2_uri(self):
        result = self.detach('web-linux', 'web-data-2',
                             env=self.env(OS_VOLUME_API_VERSION='3'))
        self.assertDetachedOnce(result, 'web-linux', 'web-data-2',
                                version='v2')
