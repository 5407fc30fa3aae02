"""EVS volumes (``/v2``, ``/v3`` on the EVS host) and IMS images (``/v2``).

:class:`StorageAPI` is a mixin of
:class:`~otcclient_detach.simulator.app.SimApp`; it uses only
``self.state``.
"""

from otcclient_detach.simulator import paging
from otcclient_detach.simulator import views
from otcclient_detach.simulator.http_util import base_url
from otcclient_detach.simulator.http_util import HTTPError
from otcclient_detach.simulator.http_util import json_response


class StorageAPI:
    """The endpoints of the EVS and IMS hosts."""

    # -- block storage (EVS) ----------------------------------------------

    def on_evs_versions(self, request):
        return json_response({
            'versions': views.volume_versions(base_url(request))}, 300)

    def on_evs_version(self, request, api):
        # cinder (and EVS's "Querying API Version Details") answer a
        # list with the one version
        versions = views.volume_versions(base_url(request))
        return json_response({'versions': [
            v for v in versions if v['id'] == api + '.0']})

    def _volumes(self, request):
        """One page of the filtered list, and its ``volumes_links``."""
        args = request.args
        volumes = self.state.list_volumes()
        if args.get('name'):
            volumes = [v for v in volumes if v.name == args['name']]
        if args.get('status'):
            volumes = [v for v in volumes
                       if self.state.volume_status(v) == args['status']]
        volumes = paging.after_marker(request, volumes, HTTPError(
            404, 'Marker %s could not be found.' % args.get('marker')))
        return paging.page(request, volumes, 'volumes',
                           self.state.page_size['volumes'])

    def on_volumes(self, request, api):
        base = base_url(request)
        volumes, links = self._volumes(request)
        return json_response(dict({'volumes': [
            views.volume_summary(self.state, base, api, v)
            for v in volumes]}, **links))

    def on_volumes_detail(self, request, api):
        base = base_url(request)
        volumes, links = self._volumes(request)
        return json_response(dict({'volumes': [
            views.volume_detail(self.state, base, api, v,
                                request.microversion)
            for v in volumes]}, **links))

    def on_cloudvolumes_detail(self, request):
        """EVS's native disk list (``/v2`` only).

        EVS API reference, "Querying Details About All Disks": filters,
        ``count`` of all that match, then ``marker``, ``offset`` and
        ``limit`` (1 to 1000); ``volumes_links`` when more are left.
        """
        args = request.args
        volumes = self.state.list_volumes()
        if args.get('server_id'):
            volumes = [v for v in volumes
                       if any(a.server_id == args['server_id']
                              for a in v.attachments)]
        for key in ('name', 'id'):
            if args.get(key):
                volumes = [v for v in volumes
                           if getattr(v, key) == args[key]]
        if args.get('status'):
            volumes = [v for v in volumes
                       if self.state.volume_status(v) == args['status']]
        count = len(volumes)
        volumes = paging.after_marker(request, volumes, HTTPError(
            400, 'Marker %s could not be found.' % args.get('marker')))
        volumes = volumes[paging.offset_of(request):]
        # OTC documents this list's limit (1000), unlike cinder's
        # configurable one: the scenario's page_size does not apply.
        limit = paging.limit_of(request, paging.EVS_MAX_LIMIT, minimum=1)
        base = base_url(request)
        body = {'volumes': [views.cloud_volume(self.state, base, v)
                            for v in volumes[:limit]],
                'count': count}
        if len(volumes) > limit:
            body.update(paging.next_link(request, volumes[limit - 1].id,
                                         'volumes', drop=('offset',)))
        return json_response(body)

    def on_volume(self, request, api, vid):
        vol = self.state.get_volume(vid)
        return json_response({'volume': views.volume_detail(
            self.state, base_url(request), api, vol,
            request.microversion)})

    # -- images (IMS) -----------------------------------------------------

    def on_ims_versions(self, request):
        return json_response({
            'versions': views.image_versions(base_url(request))}, 300)

    def on_images(self, request):
        images = list(self.state.images)
        name, wanted = request.args.get('name'), request.args.get('id')
        if name:
            images = [i for i in images if i.name == name]
        if wanted:
            # glance's "in:" operator, used by "openstack server list"
            wanted = wanted[3:].split(',') if wanted.startswith('in:') \
                else [wanted]
            images = [i for i in images if i.id in wanted]
        return json_response({'images': [views.image(self.state, i)
                                         for i in images],
                              'first': '/v2/images',
                              'schema': '/v2/schemas/images'})

    def on_image(self, request, iid):
        return json_response(views.image(self.state, self.state.image(iid)))

    def on_image_schema(self, request, name):
        return json_response(views.image_schema(name))
