"""The cloud's read API: servers, volumes, disk lists, images, jobs.

Every read goes through cloud.request (retries, deadline, error
mapping) and comes back as model objects; names and IDs are resolved the
way OSC's ``find_*`` do, cheaper (a name that is not a UUID is listed at
once).  No judgement and no wording here: facts.py decides what the
answers mean, render.py says it.
"""

import re
import uuid

from otcclient_detach import cloud
from otcclient_detach import detach
from otcclient_detach import errors
from otcclient_detach import model

#: OTC's compute API goes up to 2.60; 2.3 brings root_device_name
#: (OTC's nova API reference ties 2.3 to root_device_name only), 2.9
#: brings ``locked``.
MAX_COMPUTE_MICROVERSION = '2.60'
#: Pages of a list followed at most (nova and cinder give 1000 a page).
MAX_PAGES = 100
#: OTC's EVS disk list (EVS API reference, "Querying Details About All
#: Disks"), filtered by ``server_id``: every disk of one server with its
#: device and volume_image_metadata, 1000 a page.
EVS_DISK_LIST = 'GET /v2/{project_id}/cloudvolumes/detail'
#: Pages of the EVS disk list followed at most (an ECS has at most a few
#: dozen disks: more pages mean an answer not to rely on).
MAX_DISK_LIST_PAGES = 3


class NotFound(Exception):
    """No server or volume has this name or ID."""

    def __init__(self, kind, ref):
        super(NotFound, self).__init__(kind, ref)
        self.kind, self.ref = kind, ref


class Ambiguous(Exception):
    """More than one server or volume has this name."""

    def __init__(self, kind, ref, ids):
        super(Ambiguous, self).__init__(kind, ref, ids)
        self.kind, self.ref, self.ids = kind, ref, sorted(ids)


class EmptyRef(Exception):
    """An empty name or ID was given."""

    def __init__(self, kind):
        super(EmptyRef, self).__init__(kind)
        self.kind = kind


def looks_like_id(value):
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def _checked(body, what):
    """``body`` if it is an object with an ID; BrokenAnswer otherwise."""
    if not isinstance(body, dict) or not isinstance(body.get('id'), str):
        raise errors.BrokenAnswer(
            200, 'The cloud listed a %s without an ID' % what)
    return body


def _text(value):
    """A text field as text; None for anything else (a number, a list)."""
    return value if isinstance(value, str) else None


def _object(value):
    return value if isinstance(value, dict) else {}


def _server_from(body):
    body = _checked(body, 'server')
    flavor = _object(body.get('flavor'))
    return model.Server(
        id=body['id'],
        name=_text(body.get('name')),
        status=(_text(body.get('status')) or 'UNKNOWN').upper(),
        task_state=_text(body.get('OS-EXT-STS:task_state')) or None,
        locked=body.get('locked') if isinstance(body.get('locked'), bool)
        else None,
        root_device_name=_text(body.get('OS-EXT-SRV-ATTR:root_device_name')),
        metadata=_object(body.get('metadata')),
        volumes_attached=[v for v in body.get(
            'os-extended-volumes:volumes_attached') or []
            if isinstance(v, dict)] if isinstance(body.get(
                'os-extended-volumes:volumes_attached'), list) else [],
        bms=bms_marker(body, flavor),
    )


def bms_marker(body, flavor):
    """Why a nova server document is a bare metal server, or None.

    BMS API reference, "Querying Details About a BMS": the metadata
    ``metering.resourcetype`` is ``__type_baremetal``; and its flavors
    are named ``physical.*``, which nova reports as
    ``flavor.original_name`` from microversion 2.47, as its ID before.
    """
    metadata = _object(body.get('metadata'))
    if metadata.get('metering.resourcetype') == '__type_baremetal':
        return 'metadata metering.resourcetype __type_baremetal'
    for key in ('original_name', 'id'):
        name = _text(flavor.get(key))
        if name and name.lower().startswith('physical.'):
            return 'flavor %s' % name
    return None


def _volume_from(body):
    body = _checked(body, 'volume')
    listed = body.get('attachments')
    if listed is not None and not isinstance(listed, list):
        raise errors.BrokenAnswer(200, 'The cloud listed volume %s with '
                                  'attachments that are no list' %
                                  body['id'])
    attachments = [
        model.Attachment(server_id=_text(a.get('server_id')),
                         device=_text(a.get('device')))
        for a in listed or [] if isinstance(a, dict)]
    shown = body.get('volume_image_metadata')
    if shown is not None and not isinstance(shown, dict):
        # The system disk's OS is read here: an answer of another shape
        # is broken, not a disk without an image.
        raise errors.BrokenAnswer(200, 'The cloud listed volume %s with a '
                                  'volume_image_metadata that is no object'
                                  % body['id'])
    status = body.get('status')
    if status is not None and not isinstance(status, str):
        raise errors.BrokenAnswer(200, 'The cloud listed volume %s with a '
                                  'status that is no text' % body['id'])
    return model.Volume(
        id=body['id'],
        name=_text(body.get('name')),
        status=status or 'unknown',
        attachments=attachments,
        metadata=_object(body.get('metadata')),
        image_metadata=_object(body.get('volume_image_metadata')),
        bootable=str(body.get('bootable', '')).lower() == 'true',
        wwn=_text(body.get('wwn')),
    )


def evs_native_endpoint(block_storage):
    """EVS's native ``/v2/{project_id}`` API, beside the block storage one.

    OTC serves it on the EVS host next to cinder's ``/v2`` and ``/v3``;
    the catalog may list only volumev3.
    """
    return cloud.sibling(block_storage, 'v2')


def read_microversion(compute):
    """The microversion from the v2.1 version document, read directly.

    The SDK's version discovery is one request without retries; when
    it failed (a 503, a dropped connection), the answer would be "no
    microversions", and with them root_device_name and locked would
    be missing.  This reads the document again, with the retries of
    every read; None if that fails too or there is no v2.1.
    """
    endpoint = compute.get_endpoint() or ''
    found = re.match(r'(.*/v2\.1)(/|$)', endpoint)
    if not found:
        return None
    try:
        # One connection retry: a compute endpoint that cannot be
        # reached shows in the next read, with all its retries.
        body = cloud.get_json(compute, found.group(1) + '/',
                              connect_retries=1)
        version = body['version']
        server_max = version['version']
        server_min = version.get('min_version') or '2.1'
    except (errors.FAILURES + (ValueError, KeyError, TypeError)):
        return None

    def number(text):
        return tuple(int(p) for p in str(text).split('.'))

    try:
        if number(server_max) < number(server_min) or \
                number(MAX_COMPUTE_MICROVERSION) < number(server_min):
            return None
        return min(server_max, MAX_COMPUTE_MICROVERSION, key=number)
    except ValueError:
        return None


class Reads(object):
    """Reads servers, volumes and images over the CLI's SDK connection."""

    def __init__(self, connection):
        self.connection = connection
        self._microversion = None

    # The SDK builds a proxy (and may discover its versions, a request)
    # on first access: ask for each only when it is used.
    @property
    def compute(self):
        return self.connection.compute

    @property
    def block_storage(self):
        return self.connection.block_storage

    @property
    def image_api(self):
        return self.connection.image

    @property
    def known_microversion(self):
        """The microversion if discovered already, else None."""
        return self._microversion

    def with_microversion(self, microversion):
        """A copy of these reads that asks with ``microversion``."""
        other = Reads(self.connection)
        other._microversion = microversion
        return other

    @property
    def microversion(self):
        """The highest compute microversion both sides know, up to 2.60."""
        if self._microversion is None:
            from openstack import utils
            self._microversion = utils.maximum_supported_microversion(
                self.compute, MAX_COMPUTE_MICROVERSION) or \
                read_microversion(self.compute) or ''
        return self._microversion or None

    def _find(self, kind, name_or_id, by_id, by_name):
        """Resolve a name or ID the way OSC's ``find_*`` do, cheaper."""
        if not name_or_id or not name_or_id.strip():
            raise EmptyRef(kind)
        if looks_like_id(name_or_id):
            try:
                # The cloud's IDs are lower case; an ID typed in upper
                # case names the same resource.
                return by_id(name_or_id.lower())
            except errors.CloudError as e:
                if e.status not in (400, 404):
                    raise
        matches = [m for m in by_name(name_or_id) if m.name == name_or_id]
        if not matches:
            raise NotFound(kind, name_or_id)
        if len(matches) > 1:
            raise Ambiguous(kind, name_or_id, [m.id for m in matches])
        return matches[0]

    def _listing(self, adapter, url, collection, params, **kwargs):
        """Every item of a paged list, following ``<collection>_links``."""
        items, seen = [], set()
        for _ in range(MAX_PAGES):
            body = cloud.get_json(adapter, url, params=params, **kwargs)
            page = body.get(collection)
            if not isinstance(page, list):
                raise errors.BrokenAnswer(200, (
                    'The answer to GET %s has no list of %s' % (
                        url, collection)))
            items.extend(page)
            links = body.get(collection + '_links') or []
            nexts = [link.get('href') for link in links
                     if isinstance(link, dict) and link.get('rel') == 'next']
            if not nexts or not nexts[0] or nexts[0] in seen or not page:
                return items
            # The next link repeats the query, with the marker.
            url, params = nexts[0], None
            seen.add(url)
        raise errors.BrokenAnswer(200, (
            'The list of %s goes on beyond %d pages' % (collection,
                                                        MAX_PAGES)))

    def server(self, name_or_id):
        def by_name(name):
            # Nova's name filter is a regular expression: ask for exactly
            # this name (escaped, anchored); _find still compares.
            servers = self._listing(
                self.compute, '/servers/detail', 'servers',
                {'name': '^%s$' % re.escape(name)},
                microversion=self.microversion)
            return [_server_from(s) for s in servers]

        return self._find('server', name_or_id, self.server_by_id, by_name)

    def server_by_id(self, server_id):
        url = '/servers/%s' % server_id
        return _server_from(cloud.field(cloud.get_json(
            self.compute, url, microversion=self.microversion), 'server',
            'GET %s' % url))

    def volume(self, name_or_id):
        def by_id(volume_id):
            return self.volume_by_id(volume_id)

        def by_name(name):
            volumes = self._listing(self.block_storage, '/volumes/detail',
                                    'volumes', {'name': name})
            return [_volume_from(v) for v in volumes]

        return self._find('volume', name_or_id, by_id, by_name)

    def volume_by_id(self, volume_id):
        url = '/volumes/%s' % volume_id
        return _volume_from(cloud.field(cloud.get_json(
            self.block_storage, url), 'volume', 'GET %s' % url))

    def attachments(self, server_id):
        """The server's attachments as nova lists them (device, volumeId)."""
        url = '/servers/%s/os-volume_attachments' % server_id
        listed = cloud.get_json(self.compute, url).get('volumeAttachments')
        if not isinstance(listed, list) or not all(
                isinstance(a, dict) for a in listed):
            raise errors.BrokenAnswer(200, (
                'The answer to GET %s has no list of volumeAttachments'
                % url))
        return listed

    def disks_of(self, server):
        """Every disk EVS lists as attached to ``server`` (model.Volume).

        Follows ``marker`` while ``count`` (or a ``next`` link) says
        there is more; BrokenAnswer when that does not end.
        """
        evs = evs_native_endpoint(self.block_storage)
        disks, params = [], {'server_id': server.id}
        for _ in range(MAX_DISK_LIST_PAGES):
            body = cloud.get_json(evs, '/cloudvolumes/detail', params=params)
            page = body.get('volumes')
            if not isinstance(page, list):
                raise errors.BrokenAnswer(200, 'The answer to %s has no '
                                          'list of volumes' % EVS_DISK_LIST)
            disks.extend(_volume_from(v) for v in page)
            count = body.get('count')
            if isinstance(count, int) and not isinstance(count, bool):
                more = len(disks) < count
            else:
                links = body.get('volumes_links') or []
                more = any(isinstance(link, dict) and
                           link.get('rel') == 'next' for link in links)
            if not more:
                return disks
            if not page:
                break
            params = {'server_id': server.id, 'marker': disks[-1].id}
        raise errors.BrokenAnswer(200, 'The list %s did not end' %
                                  EVS_DISK_LIST)

    def boot_volumes(self, server_id):
        """The IDs OTC's native ECS API marks with ``bootIndex`` "0".

        ECS API reference, "Querying Details About an ECS" (native):
        ``os-extended-volumes:volumes_attached[].bootIndex``.
        """
        body = cloud.get_json(detach.native_endpoint(self.compute),
                              '/cloudservers/%s' % server_id)
        entries = cloud.field(body, 'server', 'GET /v1/{project_id}/'
                              'cloudservers/%s' % server_id).get(
            'os-extended-volumes:volumes_attached')
        if not isinstance(entries, list):
            raise errors.BrokenAnswer(200, 'The native ECS API gave no list '
                                      'of volumes_attached')
        return [e.get('id') for e in entries
                if isinstance(e, dict) and str(e.get('bootIndex')) == '0']

    def image(self, image_id):
        """The image's properties (IMS), or None when it is gone (404)."""
        try:
            return cloud.get_json(self.image_api, '/images/%s' % image_id)
        except errors.CloudError as e:
            if e.status != 404:
                raise
        return None

    def snapshot_count(self, volume_id):
        """How many snapshots the disk has (EVS allows seven manual ones).

        Every page of the list filtered by ``volume_id``; a snapshot of
        another disk (a cloud that ignores the filter) is not counted.
        """
        listed = self._listing(self.block_storage, '/snapshots', 'snapshots',
                               {'volume_id': volume_id})
        return len([s for s in listed if isinstance(s, dict) and
                    s.get('volume_id', volume_id) == volume_id])

    def kms_endpoint(self):
        """Find KMS once (in one thread, before the reads share it)."""
        from otcclient_detach import encryption
        if not hasattr(self, '_kms'):
            try:
                self._kms = encryption.kms_adapter(self.compute)
            except encryption.NoEndpoint as e:
                self._kms = e
        return self._kms

    def key_info(self, volume):
        """What KMS says of an encrypted volume's key (model.KeyInfo).

        At most one KMS request per encrypted disk, none for others.
        """
        from otcclient_detach import encryption
        if not volume.key_id:
            return model.KeyInfo('(none)', problem='the disk is encrypted '
                                 'but names no key (__system__cmkid)')
        kms = self.kms_endpoint()
        if isinstance(kms, encryption.NoEndpoint):
            return model.KeyInfo(volume.key_id, problem=str(kms))
        return encryption.describe_key(kms, volume.key_id)
