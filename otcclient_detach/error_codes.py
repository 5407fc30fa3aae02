"""The error codes OTC documents for the calls the command makes.

Each code has what it means, the way out, whether trying again later can
help, and the page it rests on (a path in the ``opentelekomcloud-docs``
repository named).  Codes the command met without any page documenting
them say so in ``observed``.  Pure data; no I/O.
"""

import dataclasses
from typing import Optional

ECS_ERRORS = ('elastic-cloud-server: api-ref/source/appendix/'
              'error_codes.rst')
ECS_PERMISSIONS = (
    'elastic-cloud-server: api-ref/source/permissions_and_supported_'
    'actions/disk_management.rst; umn/source/service_overview/'
    'permissions.rst')
EVS_ERRORS = ('elastic-volume-service: api-ref/source/appendix/'
              'error_codes.rst')
KMS_ERRORS = ('key-management-service: api-ref/source/appendix/'
              'error_code.rst')

#: Who may detach: the IAM actions of both detach calls, and the
#: system-defined policy and role that grant them (ECS_PERMISSIONS).
DETACH_PERMISSION = (
    "IAM must allow 'ecs:serverVolumeAttachments:delete' (nova's "
    "detach, with 'evs:volumes:detach') or 'ecs:cloudServers:"
    "detachVolume' (the native detach): the ECS FullAccess policy or the "
    'Server Administrator role grant them')


@dataclasses.dataclass(frozen=True)
class ErrorCode:
    """One documented (or observed) error code and what to do about it."""

    code: str
    #: The HTTP status the page gives with the code; None if none does.
    status: Optional[int]
    #: What it means, in a few words.
    meaning: str
    #: What the user can do about it.
    way_out: str
    #: Whether the same request may succeed later without the user
    #: changing anything.
    retry_later: bool
    #: The page it rests on.
    source: str
    #: What was seen that no page documents; None when all is documented.
    observed: Optional[str] = None

    @property
    def hint(self):
        """The meaning and the way out, as one line."""
        return '%s; %s' % (self.meaning, self.way_out)


_TABLE = (
    # ECS API reference, "Error Codes".
    ErrorCode('Ecs.0003', 403, 'you have no permission for this, or the '
              'account is frozen or its balance insufficient',
              'check that the account is not frozen or in arrears; ' +
              DETACH_PERMISSION, False,
              ECS_ERRORS + '; ' + ECS_PERMISSIONS),
    ErrorCode('Ecs.0073', 400, 'the system disk is being backed up',
              'try again when the backup has finished', True, ECS_ERRORS),
    ErrorCode('Ecs.0100', 400, 'the ECS status does not allow this',
              'stop the ECS or wait until it is ACTIVE or SHUTOFF', True,
              ECS_ERRORS),
    ErrorCode('Ecs.0101', 400, 'the system disk is currently unresponsive',
              'try again later or contact customer service', True,
              ECS_ERRORS),
    ErrorCode('Ecs.0102', 400, 'the data disk is currently unresponsive',
              'try again later or contact customer service', True,
              ECS_ERRORS),
    ErrorCode('Ecs.0105', 400, 'no system disk found',
              'attach the system disk to the ECS and try again', False,
              ECS_ERRORS, observed="that 'os-start' answers it for an ECS "
              'without a system disk (the table names no call)'),
    ErrorCode('Ecs.0111', 400, 'the disk is not in the ECS attachment list',
              "see 'openstack server volume list'", False, ECS_ERRORS),
    ErrorCode('Ecs.0114', 404, 'the ECS does not exist',
              "check the server's name or ID ('openstack server list')",
              False, ECS_ERRORS),
    ErrorCode('Ecs.0603', 501, 'other commands are being executed',
              'try again in a minute', True, ECS_ERRORS),
    ErrorCode('Ecs.0605', 400, 'the ECS is locked',
              "unlock it ('openstack server unlock')", False, ECS_ERRORS),
    ErrorCode('Ecs.0614', 404, 'the ECS does not exist',
              "check the server's name or ID ('openstack server list')",
              False, ECS_ERRORS),
    ErrorCode('Ecs.1002', 400, 'the cloud timed out, as it does while a '
              'disk or NIC is being attached or detached, the VPC switched '
              'or the OS changed or reinstalled on the ECS',
              'wait until that has finished and try again; if it times '
              'out again, contact technical support', True, ECS_ERRORS),
    ErrorCode('Pdp.0001', 403, 'an IAM policy does not allow this',
              DETACH_PERMISSION + '; the message names the action', False,
              ECS_ERRORS + '; ' + ECS_PERMISSIONS),
    ErrorCode('Common.0024', 202, 'flow control: too many requests',
              'try again later', True, ECS_ERRORS),
    ErrorCode('Common.1503', 429, 'flow control: too many requests',
              'try again later', True, ECS_ERRORS),
    # EVS API reference, "Error Codes".
    ErrorCode('EVS.2021', 500, 'the disk is in error_detaching: an earlier '
              'detach failed', 'try again later or contact customer '
              'service', True, EVS_ERRORS),
    ErrorCode('EVS.2068', 400, 'the disk is locked: EVS refuses every '
              'operation on it', 'unlock the disk, then try again', False,
              EVS_ERRORS),
    # KMS API reference, "Error Code".
    ErrorCode('KMS.0205', 400, "KMS calls the disk's key ID "
              '(__system__cmkid) invalid',
              'check the key ID in the disk metadata with KMS; without an '
              'enabled key the disk cannot be attached again', False,
              KMS_ERRORS),
    ErrorCode('KMS.0207', 404, "the disk's key does not exist in KMS",
              'check the key with KMS (it must exist and be enabled); '
              'without it the disk cannot be attached again', False,
              KMS_ERRORS),
    # Nova's custom_errno: no OTC page lists it.
    ErrorCode('0101046', 409, 'the ECS is busy with a task (starting, '
              'stopping, rebooting)', 'wait until it has finished', True,
              'no OTC page', observed="nova's custom_errno in the 409 to "
              'a detach while a power task runs'),
)

#: Every code, by its name.
CODES = {entry.code: entry for entry in _TABLE}


def lookup(*codes):
    """The :class:`ErrorCode` of the first known code in ``codes``."""
    for code in codes:
        if code is not None and str(code) in CODES:
            return CODES[str(code)]
    return None
