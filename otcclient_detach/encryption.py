"""KMS: the state of the key (CMK) of an encrypted EVS disk.

An encrypted disk (``metadata.__system__encrypted`` "1") can be attached
again only while its key (``__system__cmkid``) is enabled (EVS user
guide, "Managing Encrypted EVS Disks"; KMS API reference, "Querying the
Information About a CMK": ``POST /v1.0/{project_id}/kms/describe-key``).
The endpoint is the catalog's ``kms`` entry, to which the project ID is
appended as otcextensions does.
"""

from otcclient_detach import cloud
from otcclient_detach import errors
from otcclient_detach import model

#: "The key does not exist." (KMS API reference, "Error Code").
KEY_NOT_FOUND = 'KMS.0207'


class NoEndpoint(Exception):
    """The catalog has no ``kms`` entry."""


def kms_adapter(compute):
    """A keystoneauth adapter for KMS over the CLI's session."""
    url = cloud.catalog_url(compute, 'kms')
    if not url:
        raise NoEndpoint('the service catalog has no kms endpoint')
    project_id = compute.get_project_id()
    if project_id and not url.endswith('/' + project_id):
        url += '/' + project_id
    return cloud.adapter_at(compute, url)


def describe_key(kms, key_id):
    """A :class:`model.KeyInfo` for ``key_id``; problems are in it."""
    try:
        # A POST that changes nothing: retried like a read.
        body = cloud.request(kms, 'POST', '/kms/describe-key',
                             json={'key_id': key_id}, read=True).json()
        info = body['key_info']
        return model.KeyInfo(key_id, state=str(info['key_state']),
                             alias=info.get('key_alias') or None)
    except errors.CloudError as e:
        # Only KMS's own code says the key is unknown: a bare 404 may be
        # a wrong endpoint, which says nothing about the key.
        if e.code == KEY_NOT_FOUND:
            return model.KeyInfo(key_id, unknown=True)
        hint = '. Hint: %s' % e.hint if e.hint else ''
        code = ' (%s)' % e.code if e.code else ''
        return model.KeyInfo(key_id, problem=errors.what_happened(
            e, 'the KMS request (describe-key)') + ': %s%s%s' % (
                e.message.rstrip('.'), code, hint))
    except errors.CONNECTION_ERRORS as e:
        return model.KeyInfo(key_id, problem=errors.what_happened(
            e, 'the KMS request (describe-key)'))
    except (ValueError, KeyError, TypeError):
        return model.KeyInfo(key_id, problem='KMS sent an answer without '
                             'key_info.key_state')
