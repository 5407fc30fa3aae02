"""Tests for otcclient_detach.guest: the disk's name inside the guest.

The expectations are written by hand from OTC's ECS FAQ "How Do I Obtain
My Disk Device Name in the ECS OS Using the Device Identifier Provided on
the Console?": its serial 97c876c0-54b3-460a-b (the first 20 characters
of a volume ID) and its WWN example 688860300003252ffa16520d39517815,
whose Windows serial number ends with 206127.
"""

import testtools

from otcclient_detach import guest
from otcclient_detach import model

VOLUME_ID = '97c876c0-54b3-460a-b9d2-3c6e1a7f0b11'
SERIAL = '97c876c0-54b3-460a-b'
WWN = '688860300003252ffa16520d39517815'
BY_SERIAL = '/dev/disk/by-id/virtio-' + SERIAL
BY_SCSI = '/dev/disk/by-id/scsi-3' + WWN
BY_WWN = '/dev/disk/by-id/wwn-0x' + WWN

# (is_scsi, os_type, wwn, hypervisor,
#  expected: linux_names, serial, windows_serial_suffix, unknown?).
CASES = [
    (False, 'Linux', None, None, (BY_SERIAL,), SERIAL, None, False),
    (False, 'linux', None, 'kvm', (BY_SERIAL,), SERIAL, None, False),
    (False, None, None, None, (BY_SERIAL,), SERIAL, None, False),
    (False, 'Windows', None, None, (), SERIAL, None, False),
    (True, 'Linux', WWN, None, (BY_SCSI, BY_WWN), None, None, False),
    (True, 'Linux', ' ' + WWN, None, (BY_SCSI, BY_WWN), None, None, False),
    (True, 'Linux', '0x' + WWN.upper(), None, (BY_SCSI, BY_WWN), None,
     None, False),
    (True, None, WWN, None, (BY_SCSI, BY_WWN), None, '206127', False),
    (True, 'Windows', WWN, None, (), None, '206127', False),
    # No WWN listed, or something that is none: no name at all.
    (True, 'Linux', None, None, (), None, None, True),
    (True, 'Linux', '', None, (), None, None, True),
    (True, 'Linux', 'not-a-wwn; rm -rf /', None, (), None, None, True),
    (True, 'Windows', None, None, (), None, None, True),
    # Too short for OTC's Windows recipe.
    (True, 'Windows', '6888603000032520', None, (), None, None, True),
    # OTC documents the names for KVM ECSs only.
    (False, 'Linux', None, 'xen', (), None, None, True),
    (True, 'Linux', WWN, 'Xen', (), None, None, True),
]


class TestGuestDisk(testtools.TestCase):

    def test_cases(self):
        for case in CASES:
            is_scsi, os_type, wwn, hypervisor = case[:4]
            names, serial, suffix, unknown = case[4:]
            found = guest.guest_disk(VOLUME_ID, is_scsi, os_type=os_type,
                                     device='/dev/vdb', wwn=wwn,
                                     hypervisor=hypervisor)
            self.assertEqual(
                (names, serial, suffix, unknown),
                (found.linux_names, found.serial,
                 found.windows_serial_suffix,
                 found.unknown_because is not None), case)
            self.assertEqual('scsi' if is_scsi else 'virtio', found.bus)
            self.assertEqual(bool(found.commands), not unknown, case)
            self.assertIn(guest.DEVICE_NAME_SOURCE, found.sources)

    def test_fstab_advice_for_every_guest_but_windows(self):
        for os_type, advice in (('Linux', True), (None, True),
                                ('Windows', False)):
            for is_scsi in (False, True):
                found = guest.guest_disk(VOLUME_ID, is_scsi, os_type,
                                         wwn=WWN)
                self.assertEqual(advice, found.fstab_advice, os_type)
                self.assertEqual(
                    advice, set(guest.FSTAB_SOURCES) <= set(found.sources))
                self.assertEqual(advice, 'fstab' in guest.words(found))

    def test_windows_serial_suffix_of_the_faq(self):
        self.assertEqual('206127', guest.windows_scsi_suffix(WWN))
        self.assertIsNone(guest.windows_scsi_suffix(None))
        self.assertIsNone(guest.windows_scsi_suffix('68886030000'))

    def test_normal_wwn(self):
        for given, expected in ((WWN, WWN), (' %s\n' % WWN, WWN),
                                ('0X' + WWN.upper(), WWN), (None, None),
                                (42, None), ('', None), ('0x', None),
                                (WWN + 'g', None), ('6888 6030', None)):
            self.assertEqual(expected, guest.normal_wwn(given), repr(given))

    def test_a_volume_id_that_is_no_uuid_gives_no_name(self):
        for volume_id in ('short', "97c876c0-54b3-460a-b'; reboot", None):
            found = guest.guest_disk(volume_id, False, 'Linux')
            self.assertEqual((), found.linux_names)
            self.assertIsNone(found.serial)
            self.assertEqual((), found.commands)
            self.assertIn('no UUID', found.unknown_because)


# (is_scsi, os_type, wwn, words the sentence must have).
WORDS = [
    (False, 'Linux', None, ['/dev/vdb as the cloud names it', BY_SERIAL,
                            "'ls -l %s'" % BY_SERIAL, 'UUID=']),
    (False, 'Windows', None, ['inside Windows', 'serial number ' + SERIAL,
                              'Get-Disk | Where-Object SerialNumber -eq '
                              '"%s"' % SERIAL]),
    (False, None, None, [BY_SERIAL, 'on Windows: the disk with serial '
                         'number ' + SERIAL]),
    (True, 'Linux', WWN, [BY_SCSI + ' or ' + BY_WWN, 'grep ' + WWN,
                          'fail to restart']),
    (True, 'Windows', WWN, ['serial number ends with 206127',
                            'Win32_DiskDrive']),
    (True, 'Linux', None, ['may have another name', 'no WWN']),
]


class TestWords(testtools.TestCase):

    def test_words(self):
        for is_scsi, os_type, wwn, expected in WORDS:
            text = guest.words(guest.guest_disk(
                VOLUME_ID, is_scsi, os_type, device='/dev/vdb', wwn=wwn))
            for part in expected:
                self.assertIn(part, text, (is_scsi, os_type, wwn))

    def test_no_cloud_device(self):
        text = guest.words(guest.guest_disk(VOLUME_ID, False, 'Linux'))
        self.assertNotIn('as the cloud names it', text)
        self.assertIn(BY_SERIAL, text)


class TestForVolume(testtools.TestCase):

    def volume(self, **metadata):
        return model.Volume(VOLUME_ID, 'data', 'in-use', attachments=[
            model.Attachment('server-1', '/dev/sdb')], metadata=metadata)

    def test_reads_the_volume(self):
        volume = self.volume(**{'hw:passthrough': 'true'})
        volume.wwn = WWN
        found = guest.for_volume(volume, 'server-1', 'Linux')
        self.assertEqual(('scsi', '/dev/sdb', (BY_SCSI, BY_WWN)),
                         (found.bus, found.cloud_device, found.linux_names))

    def test_a_volume_without_wwn_or_attachment(self):
        found = guest.for_volume(self.volume(), 'server-2', 'Linux')
        self.assertEqual(('virtio', None, (BY_SERIAL,)),
                         (found.bus, found.cloud_device, found.linux_names))
