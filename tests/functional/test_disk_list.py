"""EVS's disk list of the server: the system disk and its OS in one read.

On a running ECS the OS is read from the system disk, the disk at the
server's root_device_name.  ``GET /v2/{project_id}/cloudvolumes/detail?
server_id=...`` (EVS API reference, "Querying Details About All Disks")
names it and its volume_image_metadata at once.  Where that list is
refused, broken or names no single disk at root_device_name, the command
asks as before: nova's attachment list, then the system disk's GET.  The
verdicts stay the same either way.
"""

import json

from tests.functional import base

DISK_LIST = '/cloudvolumes/detail'
ATTACHMENTS = 'os-volume_attachments'


class DiskListTest(base.SimulatorTestCase):

    def disk_lists(self):
        return self.requests('GET', DISK_LIST, 'volume')

    def old_path(self, server='web-linux', system='web-linux-sys'):
        """GETs of nova's attachment list and of the system disk."""
        return (self.requests('GET', ATTACHMENTS, 'compute') +
                self.requests('GET', '/volumes/%s' % self.volume_id(system),
                              'volume'))

    def test_running_ecs_reads_the_list_once(self):
        result = self.detach('-v', 'web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        lists = self.disk_lists()
        self.assertEqual(1, len(lists), self.sim.requests)
        self.assertEqual('/v2/%s/cloudvolumes/detail' % self.sim.project_id,
                         lists[0]['path'])
        self.assertEqual('server_id=%s' % self.server_id('web-linux'),
                         lists[0]['query'])
        self.assertEqual([], self.old_path())
        self.assertIn("from EVS's disk list for server %s" %
                      self.server_id('web-linux'), result.stderr)
        self.assertIn("OS 'CentOS 7.6 64bit' (type Linux) from the "
                      "volume_image_metadata of system disk web-linux-sys",
                      result.stderr)

    def assertFellBack(self, result, dry_run=False):
        """Allowed as before, the system disk found by the old path."""
        if dry_run:
            self.assertEqual(0, result.returncode, result)
            self.assertEqual([], self.deletes())
            self.assertNoTraceback(result)
        else:
            self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertEqual(2, len(self.old_path()), self.sim.requests)
        self.assertIn("from nova's attachment list", result.stderr)
        self.assertIn("OS 'CentOS 7.6 64bit'", result.stderr)

    def test_refused_list_falls_back(self):
        for status in (404, 400, 403):
            self.sim.clear_requests()
            self.sim.add_fault('GET', DISK_LIST, status=status)
            result = self.detach('-v', '--dry-run', 'web-linux',
                                 'web-data-1')
            self.assertFellBack(result, dry_run=True)
            self.assertIn('the cloud answered %d to GET /v2/{project_id}/'
                          'cloudvolumes/detail' % status, result.stderr)

    def test_failing_list_falls_back_after_its_retries(self):
        # Retry-After 0: the five tries without seconds of backoff.
        self.sim.add_fault('GET', DISK_LIST, status=500, count=None,
                           retry_after=0)
        result = self.detach('-v', 'web-linux', 'web-data-1')
        self.assertFellBack(result)
        self.assertEqual(5, len(self.disk_lists()))

    def test_malformed_list_falls_back(self):
        for body in ('not json', json.dumps({'volumes': 'all'}),
                     json.dumps({'count': 1})):
            self.sim.clear_requests()
            self.sim.add_fault('GET', DISK_LIST, status=200, body=body)
            result = self.detach('-v', '--dry-run', 'web-linux',
                                 'web-data-1')
            self.assertFellBack(result, dry_run=True)

    def test_no_disk_at_root_device_name_falls_back(self):
        self.sim.add_fault('GET', DISK_LIST, status=200, body=json.dumps(
            {'volumes': [], 'count': 0}))
        result = self.detach('-v', 'web-linux', 'web-data-1')
        self.assertFellBack(result)
        self.assertIn('shows 0 disks at root_device_name /dev/vda',
                      result.stderr)

    def test_unlisted_os_from_the_list_refused(self):
        self.sim.patch_volume('web-linux-sys', volume_image_metadata={
            '__os_version': 'Slackware 14.2 64bit', '__os_type': 'Linux'})
        result = self.detach('-v', 'web-linux', 'web-data-1')
        self.assertRefused(result, 'os-supported')
        self.assertEqual(1, len(self.disk_lists()))
        self.assertEqual([], self.old_path())
        self.assertIn('Slackware 14.2 64bit', result.stderr)

    def test_list_without_os_goes_on_to_the_image(self):
        # legacy-os: the system disk has no volume_image_metadata; the
        # server's image (metering.image_id) names an unlisted OS.
        result = self.detach('legacy-os', 'legacy-data')
        self.assertRefused(result, 'os-supported')
        self.assertEqual(1, len(self.disk_lists()))
        self.assertEqual(1, len(self.requests('GET', '/images/', 'image')))
        self.assertEqual([], self.old_path('legacy-os', 'legacy-sys'))

    def test_stopped_ecs_reads_no_list(self):
        result = self.detach('db-stopped', 'db-data')
        self.assertDetachedOnce(result, 'db-stopped', 'db-data')
        self.assertEqual([], self.disk_lists())
        self.assertEqual([], self.old_path('db-stopped', 'db-stopped-sys'))

    def test_system_disk_is_read_from_every_source(self):
        # Every path reads the same sources: the list is read even when
        # the volume's own attachment already names the root device.
        result = self.detach('web-linux', 'web-linux-sys')
        self.assertRefused(result, 'system-disk')
        self.assertEqual(1, len(self.disk_lists()), result)
        self.assertIn("EVS's disk list", ' '.join(result.stderr.split()),
                      result)
