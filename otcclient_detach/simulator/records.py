"""The simulated cloud's things, typed: one dataclass each.

scenario.py validates a scenario document into plain data and builds
these records from it (``scenario.build``, ``from_scenario``); State
changes them; views.py builds OTC's JSON from them.  Field names are
the scenario's keys.

Records read like the dicts they replaced (``user['id']``), so code and
tests that only read them need not know the difference; writes go
through attributes.
"""

import copy
import dataclasses
import typing


@dataclasses.dataclass
class Record:
    """Base: read access by key, and a deep-copied plain ``to_dict()``."""

    def __getitem__(self, name):
        if name not in self.field_names():
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name, default=None):
        return getattr(self, name) if name in self.field_names() \
            else default

    @classmethod
    def field_names(cls):
        return [f.name for f in dataclasses.fields(cls)]

    def to_dict(self, exclude=()):
        """A deep, JSON-able copy (nested records become dicts too)."""
        out = dataclasses.asdict(self)
        for name in exclude:
            del out[name]
        return out

    #: list fields whose items are records too: field name -> class
    nested: typing.ClassVar[dict] = {}

    @classmethod
    def from_scenario(cls, data, **extra):
        """A record from one validated scenario entry (copied)."""
        data = copy.deepcopy(data)
        for name, item_cls in cls.nested.items():
            data[name] = [item_cls(**item) for item in data[name]]
        return cls(**data, **extra)


# -- IAM -------------------------------------------------------------------

@dataclasses.dataclass
class AppCredential(Record):
    name: str
    id: str
    secret: str


@dataclasses.dataclass
class User(Record):
    name: str
    id: str
    password: str
    domain: dict  # {'name': ..., 'id': ...}
    app_credentials: typing.List[AppCredential]
    nested = {'app_credentials': AppCredential}


@dataclasses.dataclass
class Project(Record):
    name: str
    id: str
    domain: dict  # {'name': ..., 'id': ...}


@dataclasses.dataclass
class Token(Record):
    user: User
    methods: list
    app_cred: typing.Optional[AppCredential]
    issued: float
    expires: float
    audit_id: str


# -- IMS and KMS -----------------------------------------------------------

@dataclasses.dataclass
class Image(Record):
    name: str
    id: str
    properties: dict  # IMS's __os_version etc., strings
    min_disk: int
    size: int
    status: str
    disk_format: str
    visibility: str


@dataclasses.dataclass
class Key(Record):
    """A KMS customer master key; ``state`` is KMS's "1".."5"."""
    alias: str
    id: str
    state: str
    description: str


# -- ECS -------------------------------------------------------------------

@dataclasses.dataclass
class PowerOp(Record):
    """A pending power transition: ``kind`` start/stop/clear at ``due``."""
    kind: str
    due: float


@dataclasses.dataclass
class Server(Record):
    name: str
    id: str
    status: str
    task_state: typing.Optional[str]
    keep_task_state: bool
    locked: bool
    root_device_name: typing.Optional[str]
    metadata: dict
    image_id: typing.Optional[str]
    flavor: str
    availability_zone: str
    created: str
    key_name: typing.Optional[str]
    description: typing.Optional[str]
    hypervisor: str
    show_root_device_name: bool
    kind: str = 'ecs'  # 'ecs' or 'bms' (bare metal)
    tags: list = dataclasses.field(default_factory=list)
    # run-time fields, not in a scenario
    vm_state: str = ''
    power_state: int = 0
    updated: str = ''
    pending: typing.Optional[PowerOp] = None


@dataclasses.dataclass
class Job(Record):
    """A native ECS job (``GET /v1/{project_id}/jobs/{job_id}``)."""
    job_id: str
    job_type: str
    status: str
    begin_time: str
    end_time: str
    entities: dict
    error_code: typing.Optional[str]
    fail_reason: typing.Optional[str]
    created: float  # clock time, for the INIT phase; not shown


# -- EVS -------------------------------------------------------------------

@dataclasses.dataclass
class Attachment(Record):
    server_id: str
    device: str
    id: str
    attached_at: str
    boot_index: typing.Optional[str] = None  # as OTC reports it, if set


@dataclasses.dataclass
class PendingDetach(Record):
    """A detach under way: done (or rolled back) at ``due``."""
    server_id: str
    job_id: typing.Optional[str]
    force: bool
    due: float


@dataclasses.dataclass
class Volume(Record):
    name: str
    id: str
    size: int
    bootable: bool
    multiattach: bool
    metadata: dict
    snapshot_fails: bool
    volume_image_metadata: dict
    guest_refuses: bool
    status: typing.Optional[str]  # forced status; None: derived
    volume_type: str
    availability_zone: str
    description: str
    created_at: str
    attachments: typing.List[Attachment]
    detaches: typing.List[PendingDetach] = dataclasses.field(
        default_factory=list)
    nested = {'attachments': Attachment}


@dataclasses.dataclass
class Snapshot(Record):
    id: str
    volume_id: str
    name: typing.Optional[str]
    description: typing.Optional[str]
    size: int
    status: str
    created_at: str
    updated_at: typing.Optional[str]
    metadata: dict
    fails: bool  # ends in "error" instead of "available"
    due: float  # when "creating" ends
