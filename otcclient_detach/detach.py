"""The detach calls themselves: nova-compatible and OTC's native ECS API."""

from otcclient_detach import cloud
from otcclient_detach import errors

NOVA = 'nova'
NATIVE = 'native'


class NotAttached(Exception):
    """The cloud says the volume is not (any more) attached."""


def detach_nova(compute, server_id, volume_id):
    """One DELETE on the nova-compatible API (the seed's URI).

    The compute endpoint from the catalog already ends in
    ``/v2.1/{project_id}`` (or ``/v2/{project_id}``), so the request goes
    to ``DELETE /v2[.1]/{project_id}/servers/{server_id}/
    os-volume_attachments/{volume_id}`` exactly.
    """
    url = '/servers/%s/os-volume_attachments/%s' % (server_id, volume_id)
    try:
        cloud.request(compute, 'DELETE', url)
    except errors.CloudError as e:
        if e.status == 404:
            raise NotAttached(e.message)
        raise


def native_endpoint(compute):
    """OTC's ECS v1 endpoint: the catalog's ``ecs``, else compute's sibling.

    ECS serves ``/v1/{project_id}`` next to ``/v2.1/{project_id}``, so
    swapping the version segment of the compute endpoint finds it where
    the catalog has no ``ecs`` entry.
    """
    return cloud.sibling(compute, 'v1', 'ecs')


def detach_native(ecs, server_id, volume_id, force=False):
    """``DELETE /v1/{project_id}/cloudservers/{id}/detachvolume/{volume}``.

    Returns the job ID to wait on.  ``force`` sends ``delete_flag=1``
    (OTC: force-detach a data disk).
    """
    url = '/cloudservers/%s/detachvolume/%s' % (server_id, volume_id)
    params = {'delete_flag': '1'} if force else None
    try:
        resp = cloud.request(ecs, 'DELETE', url, params=params)
    except errors.CloudError as e:
        if e.status == 404 or e.code == 'Ecs.0111':
            raise NotAttached(e.message)
        raise
    try:
        return resp.json()['job_id']
    except (ValueError, KeyError, TypeError):
        # Judged like a lost answer: the attachment list tells.
        raise errors.BrokenAnswer(resp.status_code,
                                  'the cloud answered %s to the DELETE '
                                  'without a job_id' % resp.status_code)


def job_status(ecs, job_id):
    """The job's ``status`` (INIT, RUNNING, SUCCESS, FAIL) and its body."""
    body = cloud.get_json(ecs, '/jobs/%s' % job_id)
    status = body.get('status')
    return (status if isinstance(status, str) else '').upper(), body


def stop_server(compute, server_id):
    cloud.request(compute, 'POST', '/servers/%s/action' % server_id,
                  json={'os-stop': None})


def start_server(compute, server_id):
    cloud.request(compute, 'POST', '/servers/%s/action' % server_id,
                  json={'os-start': None})
