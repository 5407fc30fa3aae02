"""The detach calls themselves."""

from otcclient_detach import cloud


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
    except cloud.CloudError as e:
        if e.status == 404:
            raise NotAttached(e.message)
        raise
