"""The disk's name inside the guest, as OTC tells to find it.

The device the cloud names (``/dev/vdb``) need not be the one the guest
uses.  OTC's FAQ "How Do I Obtain My Disk Device Name in the ECS OS Using
the Device Identifier Provided on the Console?" names a disk of a KVM ECS
by its serial (VBD: the first 20 characters of the volume ID) or by its
WWN (SCSI; EVS lists ``wwn`` for SCSI disks created after WWNs came, see
the EVS FAQ "Why Do Some of My EVS Disks Not Have WWN Information?").
Pure functions: :func:`guest_disk` gathers the fields, :func:`words`
says them.
"""

import dataclasses
import re
from typing import Optional, Tuple

from otcclient_detach import model

_ECS_FAQ = 'elastic-cloud-server: umn/source/faqs/disk_partition_' \
           'attachment_and_expansion/'
#: Where the names and the commands come from.
DEVICE_NAME_SOURCE = _ECS_FAQ + 'how_do_i_obtain_my_disk_device_name_in_' \
    'the_ecs_os_using_the_device_identifier_provided_on_the_console.rst'
#: Where the fstab advice comes from.
FSTAB_SOURCES = (
    _ECS_FAQ + 'why_does_a_linux_ecs_with_a_scsi_disk_attached_fail_to_'
    'be_restarted.rst',
    _ECS_FAQ + 'why_does_the_disk_drive_letter_change_after_the_ecs_is_'
    'restarted.rst',
)
#: "A serial number is the first 20 digits of a disk UUID."
SERIAL_LENGTH = 20
VIRTIO = 'virtio'
SCSI = 'scsi'
XEN = 'xen'

FSTAB_ADVICE = (
    'if /etc/fstab names disks by drive letter (/dev/vdb1, /dev/sdb), '
    "change them to UUID=... ('blkid') or /dev/disk/by-id/ names before "
    'the ECS restarts: after a detach the letters can shift, and a Linux '
    'ECS with SCSI disks can fail to restart')

# Only these reach a path or a command the user may paste into a shell.
_VOLUME_ID = re.compile(r'[0-9A-Za-z-]{%d,64}' % SERIAL_LENGTH)
_WWN = re.compile(r'[0-9a-f]{16,64}')


@dataclasses.dataclass(frozen=True)
class GuestDisk:
    """How the guest sees one disk: fields for the lead to render."""

    volume_id: str
    #: The device as the cloud names it (``/dev/vdb``), or None.
    cloud_device: Optional[str]
    #: :data:`VIRTIO` (VBD) or :data:`SCSI`.
    bus: str
    #: "Linux", "Windows" or None.
    os_type: Optional[str]
    #: VBD: the disk's serial, the first 20 characters of the volume ID.
    serial: Optional[str] = None
    #: SCSI: the WWN EVS lists, lower case without "0x"; None if unknown.
    wwn: Optional[str] = None
    #: Linux: the stable names below /dev/disk/by-id/.
    linux_names: Tuple[str, ...] = ()
    #: Windows, SCSI: the decimal the disk's serial number ends with.
    windows_serial_suffix: Optional[str] = None
    #: Commands inside the guest that show which disk it is.
    commands: Tuple[str, ...] = ()
    #: Why no name could be given, or None.
    unknown_because: Optional[str] = None
    #: Whether OTC's fstab advice applies (a Linux guest, or unknown).
    fstab_advice: bool = False
    #: The OTC pages all this rests on.
    sources: Tuple[str, ...] = ()


def normal_wwn(wwn):
    """The WWN as hex digits in lower case, or None if it is no WWN.

    EVS's example answer has a blank before it (" 6888603...").
    """
    if not isinstance(wwn, str):
        return None
    text = wwn.strip().lower()
    if text.startswith('0x'):
        text = text[2:]
    return text if _WWN.fullmatch(text) else None


def windows_scsi_suffix(wwn):
    """The decimal a SCSI disk's Windows serial number ends with.

    OTC: take the 21st to 17th hex digits counted from the end of the
    WWN and convert them to decimal ("...3252f..." gives 206127).
    """
    if wwn is None or len(wwn) < 21:
        return None
    return str(int(wwn[-21:-16], 16))


def guest_disk(volume_id, is_scsi, os_type=None, device=None, wwn=None,
               hypervisor=None):
    """A :class:`GuestDisk` for one disk.

    ``os_type`` is "Linux", "Windows" or None (unknown: Linux names are
    given, with the Windows serial); ``hypervisor`` "kvm", "xen" or None
    (unknown: OTC's KVM names are given).
    """
    os_type = model.os_type(os_type)
    base = dict(volume_id=volume_id, cloud_device=device,
                bus=SCSI if is_scsi else VIRTIO, os_type=os_type,
                fstab_advice=os_type != model.WINDOWS)
    if str(hypervisor or '').lower() == XEN:
        return GuestDisk(unknown_because='OTC documents the names inside '
                         'the guest for KVM ECSs only',
                         sources=_sources(base), **base)
    if is_scsi:
        return _scsi(normal_wwn(wwn), base)
    return _virtio(volume_id, base)


def _sources(base):
    extra = FSTAB_SOURCES if base['fstab_advice'] else ()
    return (DEVICE_NAME_SOURCE,) + extra


def _on(base, os_type):
    """Whether the guest may run ``os_type`` (an unknown OS may be any)."""
    return base['os_type'] in (None, os_type) or (
        os_type == model.LINUX and base['os_type'] != model.WINDOWS)


def _virtio(volume_id, base):
    if not isinstance(volume_id, str) or \
            not _VOLUME_ID.fullmatch(volume_id):
        return GuestDisk(unknown_because='the volume ID %r is no UUID' % (
            volume_id,), sources=_sources(base), **base)
    serial = volume_id[:SERIAL_LENGTH]
    names, commands = (), ()
    if _on(base, model.LINUX):
        names = ('/dev/disk/by-id/virtio-' + serial,)
        commands += ('ls -l ' + names[0],)
    if _on(base, model.WINDOWS):
        commands += ('Get-Disk | Where-Object SerialNumber -eq "%s"' %
                     serial,)
    return GuestDisk(serial=serial, linux_names=names, commands=commands,
                     sources=_sources(base), **base)


def _scsi(wwn, base):
    if wwn is None:
        return GuestDisk(unknown_because='EVS lists no WWN for this SCSI '
                         'disk (disks created before WWNs came have none)',
                         sources=_sources(base), **base)
    names, commands, suffix = (), (), None
    if _on(base, model.LINUX):
        # OTC's FAQ greps for scsi-3<WWN>; its fstab FAQ shows udev's
        # wwn-0x<WWN> link beside it.
        names = ('/dev/disk/by-id/scsi-3' + wwn,
                 '/dev/disk/by-id/wwn-0x' + wwn)
        commands += ('ls -l /dev/disk/by-id/ | grep ' + wwn,)
    if _on(base, model.WINDOWS):
        suffix = windows_scsi_suffix(wwn)
        if suffix is not None:
            commands += ('Get-CimInstance Win32_DiskDrive | Select-Object '
                         'DeviceID, SerialNumber',)
    if not names and suffix is None:
        return GuestDisk(wwn=wwn, unknown_because='the WWN %s is too short '
                         'to derive the Windows serial number' % wwn,
                         sources=_sources(base), **base)
    return GuestDisk(wwn=wwn, linux_names=names, commands=commands,
                     windows_serial_suffix=suffix, sources=_sources(base),
                     **base)


def _windows_words(guest):
    if guest.serial:
        return 'the disk with serial number %s' % guest.serial
    if guest.windows_serial_suffix:
        return 'the disk whose serial number ends with %s, from its WWN' \
            % guest.windows_serial_suffix
    return None


def words(guest):
    """What the user reads about ``guest``: one or two sentences."""
    cloud_name = ' (%s as the cloud names it)' % guest.cloud_device \
        if guest.cloud_device else ''
    windows = _windows_words(guest) if guest.os_type != model.LINUX \
        else None
    if guest.unknown_because:
        text = 'inside the guest the disk%s may have another name: %s' % (
            cloud_name, guest.unknown_because)
    elif guest.linux_names:
        text = 'inside the guest the disk%s is %s' % (
            cloud_name, ' or '.join(guest.linux_names))
        if windows:
            text += ' (on Windows: %s)' % windows
    else:
        text = 'inside Windows the disk%s is %s' % (cloud_name, windows)
    if guest.commands:
        text += '; find it with %s' % ' or '.join(
            "'%s'" % command for command in guest.commands)
    if guest.fstab_advice:
        text += '. %s%s' % ('On Linux, ' if guest.os_type is None else '',
                            FSTAB_ADVICE[0].upper() + FSTAB_ADVICE[1:]
                            if guest.os_type else FSTAB_ADVICE)
    return text


def for_volume(volume, server_id, os_type=None, hypervisor=None):
    """:func:`guest_disk` for a :class:`model.Volume` on ``server_id``.

    The WWN is the volume's ``wwn`` where the facts carry it (EVS's disk
    list, ``GET /v2/{project_id}/cloudvolumes/detail``).
    """
    attachment = volume.attachment_to(server_id)
    return guest_disk(volume.id, volume.is_scsi, os_type=os_type,
                      device=attachment.device if attachment else None,
                      wwn=getattr(volume, 'wwn', None),
                      hypervisor=hypervisor)
