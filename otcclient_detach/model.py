"""The facts that the rules judge: plain data, no I/O."""

import dataclasses
import re
from typing import List, Optional

ACTIVE = 'ACTIVE'
SHUTOFF = 'SHUTOFF'
LINUX = 'Linux'
WINDOWS = 'Windows'
#: A device that may be a system disk when nothing better is known:
#: /dev/sda, /dev/vda, /dev/xvda, /dev/hda (OTC's ECS docs: Xen ECSs show
#: /dev/sda, yet a client must not assume it never sees the others).
MAYBE_ROOT_DEVICE = re.compile(r'^/dev/(s|v|xv|h)da$')
#: KMS key_state "2": the only state in which an encrypted disk can be
#: attached again (KMS API reference, "Querying the Information About a
#: CMK").
KEY_ENABLED = '2'
KEY_STATES = {'1': 'waiting to be activated', '2': 'enabled',
              '3': 'disabled', '4': 'scheduled for deletion',
              '5': 'waiting for import'}


@dataclasses.dataclass(frozen=True)
class Reading:
    """One source's word on a fact: what it says, and where it was read.

    ``confirmed`` is False for what a user can edit at will (the server's
    metadata, an image name): such a hint never outranks a confirmed
    reading.
    """

    value: object
    source: str
    confirmed: bool = True


@dataclasses.dataclass
class Attachment:
    server_id: str
    device: Optional[str] = None
    #: Filled only where a message needs it (another server's name).
    server_name: Optional[str] = None

    @property
    def server_label(self):
        if self.server_name:
            return '%s (%s)' % (self.server_name, self.server_id)
        return self.server_id


@dataclasses.dataclass
class Server:
    id: str
    name: str
    status: str
    task_state: Optional[str] = None
    #: None where the cloud did not say (compute microversion < 2.9).
    locked: Optional[bool] = None
    #: None where the cloud did not say (compute microversion < 2.3).
    root_device_name: Optional[str] = None
    metadata: dict = dataclasses.field(default_factory=dict)
    #: ``os-extended-volumes:volumes_attached`` as the cloud sent it.
    volumes_attached: List[dict] = dataclasses.field(default_factory=list)
    #: How the system disk was found, when root_device_name is missing.
    system_disk: Optional['SystemDisk'] = None
    #: Volume ID -> the devices other sources name for it on this server
    #: (nova's attachment list, EVS's disk list): :class:`Reading` s.
    devices: dict = dataclasses.field(default_factory=dict)
    #: Why the server is a bare metal server (BMS), or None for an ECS.
    bms: Optional[str] = None

    @property
    def label(self):
        return self.name or self.id


@dataclasses.dataclass
class Volume:
    id: str
    name: Optional[str]
    status: str
    attachments: List[Attachment] = dataclasses.field(default_factory=list)
    metadata: dict = dataclasses.field(default_factory=dict)
    image_metadata: dict = dataclasses.field(default_factory=dict)
    bootable: bool = False
    #: The SCSI disk's WWN, where EVS lists one.
    wwn: Optional[str] = None
    #: Set where the name alone would not tell this volume from another.
    shared_name: bool = False

    @property
    def label(self):
        if self.name and self.shared_name:
            return '%s (%s)' % (self.name, self.id)
        return self.name or self.id

    @property
    def encrypted(self):
        return str(self.metadata.get('__system__encrypted', '')) == '1'

    @property
    def key_id(self):
        """The KMS key (CMK) of an encrypted disk, else None."""
        return self.metadata.get('__system__cmkid') if self.encrypted \
            else None

    def attachment_to(self, server_id):
        for attachment in self.attachments:
            if attachment.server_id == server_id:
                return attachment
        return None

    @property
    def is_scsi(self):
        # OTC marks SCSI disks so; without the key a disk is VBD.
        value = self.metadata.get('hw:passthrough', '')
        return str(value).strip().lower() == 'true'


@dataclasses.dataclass
class OsInfo:
    #: The OS as the cloud spells it, e.g. "CentOS 7.6 64bit"; None if
    #: nothing said.
    version: Optional[str]
    #: "Linux", "Windows" or None.
    os_type: Optional[str]
    #: Where ``version`` was read, for the user.
    source: str
    #: False when only the server's ``image_name`` metadata names it: a
    #: name anybody can choose, confirmed by no __os_version.
    confirmed: bool = True


@dataclasses.dataclass
class SystemDisk:
    """The system disk when root_device_name is missing."""

    #: The volume ID; None when it could not be determined.
    volume_id: Optional[str]
    #: How it was found, or why not, for the user.
    source: str


@dataclasses.dataclass
class KeyInfo:
    """What KMS said about the key of an encrypted disk."""

    key_id: str
    #: KMS ``key_state`` ("2" enabled, ...); None if KMS was not asked.
    state: Optional[str] = None
    alias: Optional[str] = None
    #: Why KMS could not tell (no endpoint, 403, an error); else None.
    problem: Optional[str] = None
    #: KMS does not know the key.
    unknown: bool = False

    @property
    def label(self):
        return '%s (%s)' % (self.alias, self.key_id) if self.alias \
            else self.key_id

    @property
    def state_name(self):
        return KEY_STATES.get(self.state, 'in state %s' % self.state)


@dataclasses.dataclass
class Facts:
    server: Server
    volume: Volume
    #: Gathered only when :func:`needs_os` says so.
    os: Optional[OsInfo] = None
    #: Gathered for an encrypted disk only.
    key: Optional[KeyInfo] = None
    #: How many snapshots the disk has; gathered with --snapshot only.
    snapshots: Optional[int] = None
    #: The OS lists this run judges by (oslists.OsCatalog); None: the
    #: built-in ones.
    catalog: object = None


def os_type(text):
    """"Linux" or "Windows" in any case as OTC spells it; else as given.

    None when nothing was said.
    """
    if not text:
        return None
    return {LINUX.lower(): LINUX, WINDOWS.lower(): WINDOWS}.get(
        str(text).strip().lower(), text)


#: Devices that name the same disk in different guests: Xen ECSs show
#: /dev/sda in the API while the guest has /dev/xvda (ECS user guide).
_SAME_DISK = {'/dev/xvda': '/dev/sda', '/dev/hda': '/dev/sda'}


def _device(text):
    """A device name as ``/dev/...``, or None when none was given."""
    text = str(text or '').strip()
    if not text:
        return None
    return text if text.startswith('/dev/') else '/dev/' + text


def device_readings(facts):
    """Every source's device for the volume on this server.

    The volume's own attachment (block storage API) first, then what
    nova's attachment list and EVS's disk list said, when they were read.
    """
    server, volume = facts.server, facts.volume
    attachment = volume.attachment_to(server.id)
    readings = []
    if attachment is not None:
        readings.append(Reading(attachment.device, "the volume's attachment "
                                '(block storage API)'))
    readings.extend(server.devices.get(volume.id, ()))
    return readings


def _says_root(device, root):
    """True/False: the device is/is not the root device; None: no proof."""
    device, root = _device(device), _device(root)
    if device is None:
        return None  # a missing device proves nothing
    if device == root:
        return True
    if _SAME_DISK.get(device, device) == _SAME_DISK.get(root, root):
        return None  # the Xen spelling of the same device: no proof
    return False


def _verdicts(facts):
    """(source, says system?) of every source that could tell."""
    server = facts.server
    verdicts = []
    if server.root_device_name:
        for reading in device_readings(facts):
            says = _says_root(reading.value, server.root_device_name)
            verdicts.append(('%s: %s' % (reading.source, reading.value or
                                         'no device'), says))
    found = server.system_disk
    if found is not None and found.volume_id:
        verdicts.append((found.source, facts.volume.id == found.volume_id))
    return verdicts


def system_disk(facts):
    """(is it the system disk?, how that is known, on weaker facts?).

    Every source is read the same way on every path: a disk that any
    source names as the system disk is the system disk (the others are
    named as disagreeing); a disk is a data disk only when a source says
    so and none says otherwise.  Where no source can tell (no
    root_device_name and no bootIndex, or no device anywhere), any disk
    that may be the system disk (bootable, image metadata, a ``...da``
    device) counts as one.
    """
    server, volume = facts.server, facts.volume
    attachment = volume.attachment_to(server.id)
    if attachment is None:
        return False, 'not attached', False
    verdicts = _verdicts(facts)
    root = 'root_device_name %s' % server.root_device_name \
        if server.root_device_name else None
    system = [source for source, says in verdicts if says is True]
    data = [source for source, says in verdicts if says is False]
    if system:
        how = ', '.join(([root] if root else []) + system)
        if data:
            how += '; the sources disagree (%s says otherwise), and the ' \
                   'system disk side is taken' % ', '.join(data)
        return True, how, root is None
    if data:
        return False, ', '.join(([root] if root else []) + data), root is None
    return _by_signs(facts, verdicts)


def _by_signs(facts, verdicts):
    """Failing safe: what may be the system disk counts as one."""
    server, volume = facts.server, facts.volume
    found = server.system_disk
    if server.root_device_name:
        why = 'no source names a device for it at root_device_name %s' % \
            server.root_device_name
    else:
        why = found.source if found else 'the cloud did not report ' \
            'root_device_name'
    devices = [_device(r.value) for r in device_readings(facts)]
    devices = [d for d in devices if d]
    signs = [text for present, text in (
        (volume.bootable, 'it is bootable'),
        (bool(volume.image_metadata), 'it carries image metadata'),
        (not devices, 'the cloud names no device for it'),
        (any(MAYBE_ROOT_DEVICE.match(d) for d in devices),
         'it sits at %s' % ', '.join(sorted(set(devices)))))
        if present]
    if signs:
        return (True, 'the system disk could not be determined (%s), and '
                'it may be the system disk: %s' % (why, ', '.join(signs)),
                True)
    return (False, 'the system disk could not be determined (%s); this '
            'disk is neither bootable nor at a ...da device' % why, True)


def is_system_disk(facts):
    """Whether the volume is (or, failing safe, may be) the system disk."""
    return system_disk(facts)[0]


def needs_os(server, volume, stop_first=False):
    """Whether the OS of the ECS is needed to judge this detach.

    Only a running ECS has OS conditions; asking the cloud for the OS of a
    stopped one (or of one that --stop-server will stop) would be a wasted
    request.
    """
    return (server.status == ACTIVE and not stop_first and
            volume.attachment_to(server.id) is not None)
