"""The ``/_sim/`` control API: request log, faults, state and patches.

Not logged; it answers only to requests carrying the simulator's admin
token in the ``X-Sim-Admin-Token`` header (403 otherwise); errors are
``{"error": message}`` (see ``SimApp._control``).  :class:`ControlAPI`
is a mixin of :class:`~otcclient_detach.simulator.app.SimApp`; it uses
``self.state``, ``self.faults``, ``self.rate_limits`` and ``self.log``.
"""

import json

from otcclient_detach.simulator import faults as faults_mod
from otcclient_detach.simulator import views
from otcclient_detach.simulator.http_util import json_response


def control_body(request):
    """The request's JSON object; a ValueError (a 400) otherwise."""
    try:
        data = json.loads(request.get_data(as_text=True) or '{}')
    except ValueError:
        raise ValueError('the body must be JSON')
    if not isinstance(data, dict):
        raise ValueError('the body must be a JSON object')
    return data


class ControlAPI:
    """The ``/_sim/`` endpoints."""

    def on_sim_requests(self, request):
        if request.method == 'DELETE':
            self.log.clear()
            return json_response(None, 204)
        return json_response(self.log.entries())

    def on_sim_faults(self, request):
        if request.method == 'DELETE':
            self.faults.clear()
            return json_response(None, 204)
        if request.method == 'POST':
            spec = control_body(request)
            unknown = set(spec) - set(faults_mod.FAULT_KEYS)
            if unknown:
                raise ValueError('unknown fault key(s): %s'
                                 % ', '.join(sorted(unknown)))
            return json_response(self.faults.add(**spec).to_dict(), 201)
        return json_response(self.faults.rules())

    def on_sim_rate_limits(self, request):
        if request.method == 'DELETE':
            self.rate_limits.clear()
            return json_response(None, 204)
        if request.method == 'POST':
            rule = self.rate_limits.add(**control_body(request))
            return json_response(rule.to_dict(), 201)
        return json_response(self.rate_limits.rules())

    def on_sim_state(self, request):
        return json_response(self.state.dump())

    def on_sim_tokens(self, request):
        if request.method == 'DELETE':
            self.state.revoke_tokens()
            return json_response(None, 204)
        spec = control_body(request)
        if 'ttl' not in spec:
            raise ValueError('expected {"ttl": seconds}')
        self.state.set_token_ttl(float(spec['ttl']))
        return json_response({'ttl': self.state.timings['token_seconds']})

    def on_sim_volume(self, request, ref):
        if request.method == 'POST':
            self.state.patch_volume(ref, **control_body(request))
        vol = self.state.find_volume(ref)
        return json_response(views.volume_detail(
            self.state, self.service_url(request, 'volume'), 'v3', vol))

    def on_sim_key(self, request, ref):
        if request.method == 'POST':
            self.state.patch_key(ref, **control_body(request))
        key = self.state.find_key(ref)
        if key is None:
            raise ValueError('no KMS key %r' % ref)
        return json_response(key.to_dict())

    def on_sim_server(self, request, ref):
        if request.method == 'POST':
            self.state.patch_server(ref, **control_body(request))
        srv = self.state.find_server(ref)
        return json_response(views.server_detail(
            self.state, self.service_url(request, 'compute'), 'v2.1', srv,
            views.COMPUTE_MAX))
