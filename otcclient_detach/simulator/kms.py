"""KMS (Key Management Service): ``describe-key`` with key states.

Follows OTC's KMS API reference, "Querying the Information About a
CMK" (key-management-service: api-ref/source/apis/
key_management_service/cmk_management/querying_the_information_about_a_cmk.rst)
and its error-code appendix: ``POST /v1.0/{project_id}/kms/describe-key``
with ``{"key_id": ...}`` answers ``{"key_info": {...}}`` whose
``key_state`` is "1" (waiting to be activated), "2" (enabled), "3"
(disabled), "4" (scheduled for deletion) or "5" (waiting for import).
Errors are ``{"error": {"error_code": "KMS.XXXX", "error_msg": ...}}``.
:class:`KmsAPI` is a mixin of :class:`~otcclient_detach.simulator.app.SimApp`.
"""

import re

from otcclient_detach.simulator.http_util import HTTPError
from otcclient_detach.simulator.http_util import json_body
from otcclient_detach.simulator.http_util import json_response

# A CMK ID is a 36-character UUID; anything else is KMS.0205.
_KEY_ID_RE = re.compile(r'^[0-9a-fA-F-]{36}$')
_CREATED = '1705305600000'  # 2024-01-15T08:00:00Z, in ms like KMS


def key_info(state, key):
    return {
        'key_id': key.id,
        'domain_id': state.users[0].domain['id'],
        'key_alias': key.alias,
        'realm': state.region,
        'key_description': key.description,
        'creation_date': _CREATED,
        'scheduled_deletion_date': (
            '1706515200000' if key.state == '4' else ''),
        'key_state': key.state,
        'default_key_flag': '0',
        'key_type': '1',
        'expiration_time': '',
        'origin': 'external' if key.state == '5' else 'kms',
    }


class KmsAPI:
    """The ``/kms`` endpoint."""

    def on_kms_describe_key(self, request, api='v1.0'):
        body = json_body(request)
        key_id = body.get('key_id')
        if not isinstance(key_id, str) or not _KEY_ID_RE.match(key_id):
            raise HTTPError(400, 'Invalid key_id.', ecs_code='KMS.0205')
        key = self.state.find_key(key_id)
        if key is None or key.id != key_id:
            raise HTTPError(404, 'The key does not exist.',
                            ecs_code='KMS.0207')
        return json_response({'key_info': key_info(self.state, key)})
