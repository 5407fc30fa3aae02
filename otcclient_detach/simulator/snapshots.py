"""EVS snapshots through the cinder API (``…/snapshots``).

Follows OTC's EVS API reference (``api-ref/source/apis/snapshots``,
"Creating an EVS Snapshot", "Querying EVS Snapshot Details") and
cinder's v2/v3 snapshot API: an ``in-use`` volume needs ``force``; a
new snapshot is ``creating`` for ``timings.snapshot_seconds``, then
``available`` (``error`` when the volume has ``snapshot_fails``).
:class:`SnapshotAPI` is a mixin of
:class:`~otcclient_detach.simulator.app.SimApp`.
"""

from otcclient_detach.simulator import paging
from otcclient_detach.simulator import views
from otcclient_detach.simulator.http_util import HTTPError
from otcclient_detach.simulator.http_util import json_body
from otcclient_detach.simulator.http_util import json_response

_TRUE = ('1', 't', 'true', 'on', 'y', 'yes')
_FALSE = ('0', 'f', 'false', 'off', 'n', 'no')


def parse_force(value):
    """Cinder's strict boolean for ``force``; a 400 otherwise."""
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in _TRUE:
        return True
    if str(value).strip().lower() in _FALSE:
        return False
    raise HTTPError(400, "Invalid value '%s' for force." % (value,))


def snapshot_view(state, snap, detail=True):
    out = {'id': snap.id, 'volume_id': snap.volume_id,
           'status': snap.status, 'size': snap.size,
           'created_at': views.cinder_time(snap.created_at),
           # OTC's example of a new snapshot shows it set
           'updated_at': views.cinder_time(snap.updated_at or
                                           snap.created_at),
           'name': snap.name, 'description': snap.description,
           'metadata': dict(snap.metadata)}
    if detail:
        out.update({
            'os-extended-snapshot-attributes:project_id':
                state.project.id,
            'os-extended-snapshot-attributes:progress':
                '100%' if snap.status == 'available' else '0%'})
    return out


class SnapshotAPI:
    """The ``/snapshots`` endpoints of EVS v2 and v3."""

    def on_snapshots(self, request, api):
        if request.method == 'POST':
            spec = json_body(request).get('snapshot')
            if not isinstance(spec, dict) or not spec.get('volume_id'):
                raise HTTPError(400, "Invalid input for field/attribute "
                                "snapshot: 'volume_id' is a required "
                                "property.")
            snap = self.state.create_snapshot(
                spec['volume_id'], spec.get('name'), spec.get('description'),
                parse_force(spec.get('force', False)))
            return json_response({'snapshot': snapshot_view(
                self.state, snap)}, 202)
        return self._snapshot_list(request, detail=False)

    def on_snapshots_detail(self, request, api):
        return self._snapshot_list(request, detail=True)

    def _snapshot_list(self, request, detail):
        snaps = self.state.list_snapshots()
        for key in ('volume_id', 'status', 'name'):
            if request.args.get(key):
                snaps = [s for s in snaps
                         if s[key] == request.args[key]]
        # cinder pages by marker and answers 404 for an unknown one
        snaps = paging.after_marker(request, snaps, HTTPError(
            404, 'Marker %s could not be found.'
            % request.args.get('marker')))
        snaps, links = paging.page(request, snaps, 'snapshots',
                                   self.state.page_size['volumes'])
        # OTC's examples show snapshots_links, null on the last page
        return json_response(dict({'snapshots': [
            snapshot_view(self.state, s, detail) for s in snaps],
            'snapshots_links': None}, **links))

    def on_snapshot(self, request, api, snap_id):
        return json_response({'snapshot': snapshot_view(
            self.state, self.state.get_snapshot(snap_id))})
