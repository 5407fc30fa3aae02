"""The decision log: with ``-v`` the command says what it found and where,
each rule's verdict and each write it sends, one line each."""

from tests.functional import base

from otcclient_detach import rules


class TestDecisionLog(base.SimulatorTestCase):

    def test_a_detach_explained(self):
        result = self.detach('-v', '--wait', 'web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        log = result.stderr
        self.assertIn('Server web-linux (%s): status ACTIVE' %
                      self.server_id('web-linux'), log)
        self.assertIn('Volume web-data-1 (%s): status in-use, attached to '
                      '%s as /dev/vdb' % (self.volume_id('web-data-1'),
                                          self.server_id('web-linux')), log)
        self.assertRegex(log, r"OS '[^']+' \(type \w+\) from the "
                              r"volume_image_metadata of system disk ")
        for rule in ('attached', 'server-status', 'task-state', 'locked',
                     'encryption-key', 'system-disk', 'os-supported'):
            self.assertIn('Volume web-data-1: rule %s: pass (' % rule, log)
        self.assertIn('Volume web-data-1: rule windows-scsi: n/a (not a '
                      'Windows ECS (VBD disk))', log)
        self.assertIn('Volume web-data-1: rule guest-prepare: remind (', log)
        self.assertIn('Sending DELETE /servers/%s/os-volume_attachments/%s '
                      '(once; a write is never retried on its own' % (
                          self.server_id('web-linux'),
                          self.volume_id('web-data-1')), log)
        self.assertIn('Volume web-data-1: the cloud accepted the detach',
                      log)
        # One line each: every fact and verdict is found on its own line.
        lines = [line for line in log.splitlines()
                 if ': rule ' in line]
        self.assertEqual(len(rules.RULES), len(lines), log)
        self.assertIn('Plan step 1: detach of volume web-data-1', log)
        self.assertIn('Plan step 2: wait', log)

    def test_a_refusal_explained(self):
        result = self.detach('-v', 'web-linux', 'web-linux-sys')
        self.assertRefused(result, 'system-disk')
        self.assertIn('Volume web-linux-sys: rule system-disk: refuse (',
                      result.stderr)
        self.assertNotIn('Sending', result.stderr)

    def test_stop_server_explained(self):
        result = self.detach('-v', '--stop-server', 'web-linux',
                             'web-data-1')
        self.assertEqual(0, result.returncode, result)
        self.assertIn("Sending POST /servers/%s/action {'os-stop': None}" %
                      self.server_id('web-linux'), result.stderr)

    def test_quiet_without_v(self):
        result = self.detach('--wait', 'web-linux', 'web-data-1')
        self.assertEqual(0, result.returncode, result)
        for text in ('rule attached', 'Sending DELETE', 'OS '):
            self.assertNotIn(text, result.stderr)
