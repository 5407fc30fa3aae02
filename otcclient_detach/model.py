"""The facts that the rules judge: plain data, no I/O."""

import dataclasses
from typing import List, Optional

ACTIVE = 'ACTIVE'
SHUTOFF = 'SHUTOFF'
LINUX = 'Linux'
WINDOWS = 'Windows'
#: The system disk's device when the cloud does not say root_device_name.
ROOT_DEVICES = ('/dev/sda', '/dev/vda')


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

    @property
    def label(self):
        return self.name or self.id

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


@dataclasses.dataclass
class Facts:
    server: Server
    volume: Volume
    #: Gathered only when :func:`needs_os` says so.
    os: Optional[OsInfo] = None


def root_devices(server):
    """The device names that mean "system disk" on this server."""
    root = server.root_device_name
    return (root,) if root else ROOT_DEVICES


def is_system_disk(facts):
    """Whether the volume is attached as the server's system disk."""
    attachment = facts.volume.attachment_to(facts.server.id)
    return (attachment is not None and
            attachment.device in root_devices(facts.server))


def needs_os(server, volume, stop_first=False):
    """Whether the OS of the ECS is needed to judge this detach.

    Only a running ECS has OS conditions; asking the cloud for the OS of a
    stopped one (or of one that --stop-server will stop) would be a wasted
    request.
    """
    return (server.status == ACTIVE and not stop_first and
            volume.attachment_to(server.id) is not None)
