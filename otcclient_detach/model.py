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

    @property
    def label(self):
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


def os_type(text):
    """"Linux" or "Windows" in any case as OTC spells it; else as given.

    None when nothing was said.
    """
    if not text:
        return None
    return {LINUX.lower(): LINUX, WINDOWS.lower(): WINDOWS}.get(
        str(text).strip().lower(), text)


def system_disk(facts):
    """(is it the system disk?, how that is known, on weaker facts?).

    root_device_name and the attachment's device decide where the cloud
    says root_device_name; else the system disk found another documented
    way (the native API's bootIndex "0"); else, failing safe, any disk
    that may be the system disk (bootable, image metadata, a ``...da``
    device) counts as one.  An attachment without a device is no proof of
    a data disk.
    """
    server = facts.server
    attachment = facts.volume.attachment_to(server.id)
    if attachment is None:
        return False, 'not attached', False
    device = attachment.device
    if server.root_device_name:
        return (device == server.root_device_name,
                'root_device_name %s' % server.root_device_name, False)
    found = server.system_disk
    if found is not None and found.volume_id:
        return facts.volume.id == found.volume_id, found.source, True
    why = found.source if found else 'the cloud did not report ' \
        'root_device_name'
    volume = facts.volume
    signs = [text for present, text in (
        (volume.bootable, 'it is bootable'),
        (bool(volume.image_metadata), 'it carries image metadata'),
        (not device, 'the cloud names no device for it'),
        (bool(device and MAYBE_ROOT_DEVICE.match(device)),
         'it sits at %s' % device)) if present]
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
