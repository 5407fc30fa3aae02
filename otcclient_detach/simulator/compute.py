"""ECS: the nova API (``/v2``, ``/v2.1``) and native ECS v1 (``/v1``).

:class:`ComputeAPI` is a mixin of
:class:`~otcclient_detach.simulator.app.SimApp`; it uses
``self.state``, and ``request.microversion`` as the dispatcher
negotiated it.
"""

from otcclient_detach.simulator import paging
from otcclient_detach.simulator import state as state_mod
from otcclient_detach.simulator import views
from otcclient_detach.simulator.http_util import base_url
from otcclient_detach.simulator.http_util import HTTPError
from otcclient_detach.simulator.http_util import json_body
from otcclient_detach.simulator.http_util import json_response

TAGS_SINCE = (2, 26)
MAX_TAGS = 50  # nova's limit per server


class ComputeAPI:
    """The endpoints of the ECS host."""

    # -- version discovery ------------------------------------------------

    def on_ecs_versions(self, request):
        return json_response({
            'versions': views.compute_versions(base_url(request),
                                               listed=True)})

    def on_compute_version(self, request, api):
        versions = views.compute_versions(base_url(request))
        wanted = 'v2.0' if api == 'v2' else 'v2.1'
        return json_response({'version': [
            v for v in versions if v['id'] == wanted][0]})

    def on_ecs_v1_version(self, request):
        return json_response({
            'version': views.ecs_v1_version(base_url(request))})

    # -- servers, attachments and flavors ---------------------------------

    def _servers(self, request):
        """One page of the filtered list, and its ``servers_links``."""
        args = request.args
        servers = self.state.list_servers()
        if args.get('name'):
            servers = [s for s in servers
                       if state_mod.matches_name(args['name'], s.name)]
        if args.get('status'):
            servers = [s for s in servers
                       if s.status == args['status'].upper()]
        servers = paging.after_marker(request, servers, HTTPError(
            400, 'marker [%s] not found' % args.get('marker')))
        return paging.page(request, servers, 'servers',
                           self.state.page_size['servers'])

    def on_servers(self, request, api):
        base = base_url(request)
        servers, links = self._servers(request)
        return json_response(dict({'servers': [
            views.server_summary(self.state, base, api, s)
            for s in servers]}, **links))

    def on_servers_detail(self, request, api):
        base = base_url(request)
        servers, links = self._servers(request)
        return json_response(dict({'servers': [
            views.server_detail(self.state, base, api, s,
                                request.microversion)
            for s in servers]}, **links))

    def on_server(self, request, api, sid):
        srv = self.state.get_server(sid)
        return json_response({'server': views.server_detail(
            self.state, base_url(request), api, srv,
            request.microversion)})

    def on_server_action(self, request, api, sid):
        body = json_body(request)
        self.state.get_server(sid)
        if 'os-stop' in body:
            self.state.power(sid, 'stop')
        elif 'os-start' in body:
            self.state.power(sid, 'start')
        elif 'lock' in body or 'unlock' in body:
            # Nova's lock/unlock, so that the advice "openstack server
            # unlock" can be followed against the simulator.
            self.state.patch_server(sid, locked='lock' in body)
        else:
            raise HTTPError(400, 'There is no such action: %s'
                            % (', '.join(body) or '(none)'))
        return json_response(None, 202)

    def on_attachments(self, request, api, sid):
        srv = self.state.get_server(sid)
        if request.method == 'POST':
            spec = json_body(request).get('volumeAttachment')
            if not isinstance(spec, dict) or not spec.get('volumeId'):
                raise HTTPError(400, "Invalid input for field/attribute "
                                "volumeAttachment.")
            vol = self.state.get_volume(spec['volumeId'])
            att = self.state.attach(sid, vol.id, spec.get('device'))
            return json_response({'volumeAttachment':
                                  views.volume_attachment(srv, vol, att)})
        return json_response({'volumeAttachments': [
            views.volume_attachment(srv, vol, att)
            for vol, att in self.state.server_volumes(sid)]})

    def on_attachment(self, request, api, sid, vid):
        if request.method == 'DELETE':
            self.state.detach(sid, vid)
            return json_response(None, 202)
        srv = self.state.get_server(sid)
        for vol, att in self.state.server_volumes(sid):
            if vol.id == vid:
                return json_response({'volumeAttachment':
                                      views.volume_attachment(
                                          srv, vol, att)})
        raise HTTPError(404, 'Instance %s is not attached to volume %s'
                        % (sid, vid))

    # -- server tags (nova 2.26+) -----------------------------------------

    def _tags(self, request, sid):
        """The server's tag list (mutable; we are in a transaction)."""
        if request.microversion is None or \
                request.microversion < TAGS_SINCE:
            # nova's version-gated routes are 404 below their version
            raise HTTPError(404, 'The resource could not be found.')
        return self.state.get_server(sid).tags

    @staticmethod
    def _check_tag(tag):
        if not isinstance(tag, str) or not 1 <= len(tag) <= 60 or \
                '/' in tag or ',' in tag:
            raise HTTPError(400, "Invalid input for field/attribute tag. "
                            "Value: %s." % tag)

    def on_tags(self, request, api, sid):
        tags = self._tags(request, sid)
        if request.method == 'DELETE':
            del tags[:]
            return json_response(None, 204)
        if request.method == 'PUT':
            wanted = json_body(request).get('tags')
            if not isinstance(wanted, list):
                raise HTTPError(400, "Invalid input for field/attribute "
                                "tags.")
            for tag in wanted:
                self._check_tag(tag)
            if len(set(wanted)) > MAX_TAGS:
                raise HTTPError(400, 'The number of tags exceeded the '
                                'per-server limit %d' % MAX_TAGS)
            tags[:] = sorted(set(wanted), key=wanted.index)
        return json_response({'tags': list(tags)})

    def on_tag(self, request, api, sid, tag):
        tags = self._tags(request, sid)
        if request.method == 'PUT':
            self._check_tag(tag)
            if tag in tags:
                return json_response(None, 204)
            if len(tags) >= MAX_TAGS:
                raise HTTPError(400, 'The number of tags exceeded the '
                                'per-server limit %d' % MAX_TAGS)
            tags.append(tag)
            return json_response(None, 201, {
                'Location': request.base_url})
        if tag not in tags:
            raise HTTPError(404, 'Server %s has no tag %s' % (sid, tag))
        if request.method == 'DELETE':
            tags.remove(tag)
        return json_response(None, 204)

    def on_flavors(self, request, api):
        base = base_url(request)
        return json_response({'flavors': [
            {'id': f, 'name': f, 'links': views.flavor(
                self.state, base, api, f)['links']}
            for f in self.state.flavors]})

    def on_flavors_detail(self, request, api):
        base = base_url(request)
        return json_response({'flavors': [
            views.flavor(self.state, base, api, f, request.microversion)
            for f in self.state.flavors]})

    def on_flavor(self, request, api, fid):
        if fid not in self.state.flavors:
            raise HTTPError(404, 'Flavor %s could not be found.' % fid)
        return json_response({'flavor': views.flavor(
            self.state, base_url(request), api, fid, request.microversion)})

    # -- native ECS -------------------------------------------------------

    def on_native_servers(self, request):
        base = base_url(request)
        page, _ = self._servers(request)
        servers = [views.native_listed_server(self.state, base, s)
                   for s in page]
        return json_response({'count': len(servers), 'servers': servers})

    def on_native_server(self, request, sid):
        srv = self.state.get_server(sid)
        return json_response({'server': views.native_server(
            self.state, base_url(request), srv)})

    # OTC's native ECS tags ("Querying ECS Tags", "Batch Adding/Deleting
    # ECS Tags") are the nova tags "key=value" (or "key") of the server.

    def on_native_tags(self, request, sid):
        tags = self.state.get_server(sid).tags
        return json_response({'tags': [
            dict(zip(('key', 'value'), (t.split('=', 1) + [''])[:2]))
            for t in tags]})

    def on_native_tags_action(self, request, sid):
        body = json_body(request)
        action, pairs = body.get('action'), body.get('tags')
        if action not in ('create', 'delete') or not isinstance(
                pairs, list) or not all(
                isinstance(p, dict) and p.get('key') for p in pairs):
            raise HTTPError(400, 'Invalid tags action or tags.',
                            ecs_code='Ecs.0005')
        wanted = ['%s=%s' % (p['key'], p['value']) if p.get('value')
                  else p['key'] for p in pairs]
        tags = self.state.get_server(sid).tags
        for tag in wanted:
            self._check_tag(tag)
            if action == 'create' and tag not in tags:
                tags.append(tag)
            elif action == 'delete' and tag in tags:
                tags.remove(tag)
        return json_response(None, 204)

    def on_native_detach(self, request, sid, vid):
        flag = request.args.get('delete_flag', '0')
        if flag not in ('0', '1'):
            raise HTTPError(400, 'Invalid parameter: delete_flag must be 0 '
                            'or 1.', ecs_code='Ecs.0005')
        job_id = self.state.detach(sid, vid, native=True, force=flag == '1')
        return json_response({'job_id': job_id})

    def on_native_job(self, request, job_id):
        return json_response(views.native_job(self.state.job(job_id)))
