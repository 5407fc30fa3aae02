"""EVS snapshots before a detach (``--snapshot``).

OTC advises backing a disk up before detaching it (EVS user guide,
"Detaching an EVS Disk"; EVS API reference, "Creating an EVS Snapshot":
``POST /v2/{project_id}/snapshots``, ``force`` true for an attached disk).
Each snapshot is created once (a write is never retried), then followed
until it is ``available`` (snapshotting.py, with ``wait.wait_ended``).
"""

import datetime

from otcclient_detach import cloud

PREFIX = 'detach-otc-'


class Failed(Exception):
    """A snapshot could not be made; nothing may be detached."""


def snapshot_name(volume, now=None):
    """``detach-otc-<volume>-<UTC timestamp>``."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return '%s%s-%s' % (PREFIX, volume.label, now.strftime('%Y%m%dT%H%M%SZ'))


def create(block_storage, volume, name):
    """Send the one POST; return the new snapshot's ID."""
    body = {'snapshot': {
        'volume_id': volume.id, 'name': name,
        'description': 'made by openstack server volume detach-otc before '
                       'detaching the volume',
        # EVS API reference, "Creating an EVS Snapshot", force: without
        # it a disk in the "attaching" state cannot be snapshotted (OTC's
        # words); cinder, which EVS runs on, asks it for an in-use disk
        # too.  Set for every attached disk.
        'force': volume.status == 'in-use' or bool(volume.attachments)}}
    resp = cloud.request(block_storage, 'POST', '/snapshots', json=body)
    try:
        return resp.json()['snapshot']['id']
    except (ValueError, KeyError, TypeError):
        raise Failed('the cloud accepted the snapshot but sent no ID')


def status(block_storage, snapshot_id):
    """The snapshot's status and body (for :func:`wait.wait_ended`)."""
    body = cloud.get_json(block_storage, '/snapshots/%s' % snapshot_id)
    found = body.get('snapshot')
    status = found.get('status') if isinstance(found, dict) else None
    # A status of another type is an answer to look at again, not a crash.
    return status if isinstance(status, str) and status else 'unknown', body


def ended(status):
    """Whether a snapshot with this status will change no more."""
    return status == 'available' or status.startswith('error')
