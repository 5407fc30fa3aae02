"""Gather what the rules need from the cloud, with few requests.

Compared with ``openstack server remove volume`` (which tries a name as
an ID first and then lists), a name that is not a UUID is listed at once,
and the OS is asked for only when a rule needs it (a running ECS): with
one read of EVS's disk list for the server, which names the system disk
(at root_device_name) and its OS at once, beside the KMS reads of
encrypted disks.
"""

import copy
import functools
import logging
import re
import uuid

from osc_lib import exceptions

from otcclient_detach import cloud
from otcclient_detach import side_by_side
from otcclient_detach import errors
from otcclient_detach import model
from otcclient_detach import render

LOG = logging.getLogger(__name__)
LOG.addFilter(render.escape_log_record)

#: OTC's compute API goes up to 2.60; 2.3 brings root_device_name and
#: task_state, 2.9 brings ``locked``.
MAX_COMPUTE_MICROVERSION = '2.60'
#: Servers looked up by name for the message of a refused "attached".
MAX_NAMED_SERVERS = 3


#: Longest name or ID repeated in a message; longer ones are cut.
SHOWN_LENGTH = 64
#: Pages of a list followed at most (nova and cinder give 1000 a page).
MAX_PAGES = 100
#: OTC's EVS disk list (EVS API reference, "Querying Details About All
#: Disks"), filtered by ``server_id``: every disk of one server with its
#: device and volume_image_metadata, 1000 a page.
EVS_DISK_LIST = 'GET /v2/{project_id}/cloudvolumes/detail'
#: Pages of the EVS disk list followed at most (an ECS has at most a few
#: dozen disks: more pages mean an answer not to rely on).
MAX_DISK_LIST_PAGES = 3


def shown(text):
    """``text`` for a message: control characters escaped, cut if long."""
    text = render.escape(text)
    if len(text) > SHOWN_LENGTH:
        text = '%s... (%d characters)' % (text[:SHOWN_LENGTH - 3], len(text))
    return text


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


def _server_from(body):
    body = _checked(body, 'server')
    return model.Server(
        id=body['id'],
        name=body.get('name'),
        status=(body.get('status') or 'UNKNOWN').upper(),
        task_state=body.get('OS-EXT-STS:task_state') or None,
        locked=body.get('locked'),
        root_device_name=body.get('OS-EXT-SRV-ATTR:root_device_name'),
        metadata=body.get('metadata') or {},
        volumes_attached=(
            body.get('os-extended-volumes:volumes_attached') or []),
    )


def _volume_from(body):
    body = _checked(body, 'volume')
    attachments = [
        model.Attachment(server_id=a.get('server_id'),
                         device=a.get('device'))
        for a in body.get('attachments') or [] if isinstance(a, dict)]
    return model.Volume(
        id=body['id'],
        name=body.get('name'),
        status=body.get('status') or 'unknown',
        attachments=attachments,
        metadata=body.get('metadata') or {},
        image_metadata=body.get('volume_image_metadata') or {},
        bootable=str(body.get('bootable', '')).lower() == 'true',
    )


def evs_native_endpoint(block_storage):
    """EVS's native ``/v2/{project_id}`` API, beside the block storage one.

    OTC serves it on the EVS host next to cinder's ``/v2`` and ``/v3``;
    the catalog may list only volumev3.
    """
    return cloud.sibling(block_storage, 'v2')


class Gatherer(object):
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
    def image(self):
        return self.connection.image

    @property
    def microversion(self):
        """The highest compute microversion both sides know, up to 2.60."""
        if self._microversion is None:
            from openstack import utils
            self._microversion = utils.maximum_supported_microversion(
                self.compute, MAX_COMPUTE_MICROVERSION) or \
                self._read_microversion() or ''
        return self._microversion or None

    def _read_microversion(self):
        """The microversion from the v2.1 version document, read directly.

        The SDK's version discovery is one request without retries; when
        it failed (a 503, a dropped connection), the answer would be "no
        microversions", and with them root_device_name and locked would
        be missing.  This reads the document again, with the retries of
        every read; None if that fails too or there is no v2.1.
        """
        endpoint = self.compute.get_endpoint() or ''
        found = re.match(r'(.*/v2\.1)(/|$)', endpoint)
        if not found:
            return None
        try:
            # One connection retry: a compute endpoint that cannot be
            # reached shows in the next read, with all its retries.
            body = cloud.get_json(self.compute, found.group(1) + '/',
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

    def _find(self, kind, name_or_id, by_id, by_name):
        """Resolve a name or ID the way OSC's ``find_*`` do, cheaper."""
        if not name_or_id or not name_or_id.strip():
            raise exceptions.CommandError('%s name or ID must not be empty.'
                                          % kind.capitalize())
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
            raise exceptions.CommandError(
                "No %s with a name or ID of '%s' exists." % (
                    kind, shown(name_or_id)))
        if len(matches) > 1:
            raise exceptions.CommandError(
                "More than one %s exists with the name '%s': %s. Use the ID "
                "instead." % (kind, shown(name_or_id),
                              ', '.join(sorted(m.id for m in matches))))
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
            try:
                disks.extend(_volume_from(v) for v in page)
            except (TypeError, AttributeError):  # e.g. attachments: 1
                raise errors.BrokenAnswer(200, 'The answer to %s lists a '
                                          'disk of another shape' %
                                          EVS_DISK_LIST)
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

    def _listed_system_disk(self, server):
        """The system disk from EVS's disk list of ``server``, else None.

        The one disk attached to ``server`` at its root_device_name.  None
        (and the caller asks nova's attachment list, as without the list)
        when the list is refused, broken, or names no or several such
        disks: never a guess.
        """
        request = '%s?server_id=%s' % (EVS_DISK_LIST, server.id)
        try:
            disks = self.disks_of(server)
            roots = [d for d in disks
                     if any(a.server_id == server.id and
                            a.device == server.root_device_name
                            for a in d.attachments)]
            if not all(isinstance(d.image_metadata, dict) for d in roots):
                raise errors.BrokenAnswer(200, 'The answer to %s has a '
                                          'volume_image_metadata that is no '
                                          'object' % request)
        except errors.FAILURES as e:
            LOG.info("Server %s: EVS's disk list gave no system disk (%s); "
                     "asking nova's attachment list instead", server.label,
                     errors.what_happened(e, request))
            return None
        if len(roots) != 1:
            LOG.info("Server %s: EVS's disk list (%s) shows %d disks at "
                     "root_device_name %s; asking nova's attachment list "
                     "instead", server.label, request, len(roots),
                     server.root_device_name)
            return None
        LOG.info("Server %s: system disk %s (%s) at %s (from EVS's disk "
                 "list for server %s (%s))", server.label, roots[0].label,
                 roots[0].id, server.root_device_name, server.id,
                 EVS_DISK_LIST)
        return roots[0]

    def _system_volume_id(self, server):
        """The system disk's volume ID by documented facts, else None.

        root_device_name and nova's attachment list (OTC's
        volumes_attached has no device); else what
        :meth:`find_system_disk` found.
        """
        if server.root_device_name:
            for entry in self.attachments(server.id):
                if entry.get('device') == server.root_device_name:
                    LOG.info("Server %s: system disk %s at %s (from nova's "
                             "attachment list, GET /servers/%s/"
                             "os-volume_attachments)", server.label,
                             entry.get('volumeId'), server.root_device_name,
                             server.id)
                    return entry.get('volumeId')
            return None
        if server.system_disk is None:
            server.system_disk = self.find_system_disk(server)
        return server.system_disk.volume_id

    def find_system_disk(self, server):
        """The system disk from OTC's native API (no root_device_name).

        The one ``volumes_attached`` entry with ``bootIndex`` "0" (ECS API
        reference, "Querying Details About an ECS", native).

        A :class:`model.SystemDisk` whose ``volume_id`` is None (and
        ``source`` says why) when that fails or is ambiguous.
        """
        from otcclient_detach import detach
        request = 'GET /v1/{project_id}/cloudservers/%s' % server.id
        try:
            body = cloud.get_json(detach.native_endpoint(self.compute),
                                  '/cloudservers/%s' % server.id)
            entries = body['server'].get(
                'os-extended-volumes:volumes_attached') or []
            boot = [e.get('id') for e in entries
                    if str(e.get('bootIndex')) == '0']
        except errors.FAILURES as e:
            found = model.SystemDisk(None, 'the cloud did not report '
                                     'root_device_name, and %s' %
                                     errors.what_happened(e, request))
        except (ValueError, KeyError, TypeError, AttributeError):
            found = model.SystemDisk(None, 'the cloud did not report '
                                     'root_device_name, and %s gave no '
                                     'volumes_attached' % request)
        else:
            if len(boot) == 1:
                found = model.SystemDisk(boot[0], 'bootIndex "0" in OTC\'s '
                                         'native ECS API')
            else:
                found = model.SystemDisk(None, 'the cloud did not report '
                                         'root_device_name, and the native '
                                         'ECS API marks %d disks with '
                                         'bootIndex "0"' % len(boot))
        LOG.info('Server %s: system disk %s (%s)', server.label,
                 found.volume_id or 'not determined', found.source)
        return found

    def _kms_endpoint(self):
        """Find KMS once (in one thread, before the reads share it)."""
        from otcclient_detach import encryption
        if not hasattr(self, '_kms'):
            try:
                self._kms = encryption.kms_adapter(self.compute)
            except encryption.NoEndpoint as e:
                self._kms = e

    def key_info(self, volume):
        """What KMS says of an encrypted volume's key; None if none.

        At most one KMS request per encrypted disk, none for others.
        """
        from otcclient_detach import encryption
        if not volume.encrypted:
            return None
        if not volume.key_id:
            return model.KeyInfo('(none)', problem='the disk is encrypted '
                                 'but names no key (__system__cmkid)')
        self._kms_endpoint()
        if isinstance(self._kms, encryption.NoEndpoint):
            found = model.KeyInfo(volume.key_id, problem=str(self._kms))
        else:
            found = encryption.describe_key(self._kms, volume.key_id)
        LOG.info('Volume %s: encrypted with key %s: state %s%s',
                 volume.label, found.label, found.state,
                 ' (%s)' % found.problem if found.problem else '')
        return found

    def os_info(self, server, volume):
        """The OS of the ECS: system disk, else its image, else metadata."""
        if server.root_device_name or server.system_disk:
            is_system = model.is_system_disk(model.Facts(server, volume))
        else:
            is_system = False  # not known yet: look it up
        system = None
        if is_system:
            system = volume
        elif server.root_device_name:
            # One read names the system disk and its OS at once.
            system = self._listed_system_disk(server)
        if system is None and not is_system:
            system_id = self._system_volume_id(server)
            if system_id == volume.id:
                system = volume
            elif system_id:
                system = self.volume_by_id(system_id)
        meta = system.image_metadata if system else {}
        if meta.get('__os_version'):
            return model.OsInfo(
                meta['__os_version'], model.os_type(meta.get('__os_type')),
                'the volume_image_metadata of system disk %s' % system.label)
        image_id = server.metadata.get('metering.image_id') or \
            meta.get('image_id')
        if image_id:
            try:
                image = cloud.get_json(self.image, '/images/%s' % image_id)
            except errors.CloudError as e:
                if e.status != 404:
                    raise
            else:
                if image.get('__os_version'):
                    name = image.get('name')
                    return model.OsInfo(
                        image['__os_version'],
                        model.os_type(image.get('__os_type')),
                        'image %s (%s)' % (name, image_id) if name
                        else 'image %s' % image_id)
        # A name anybody can choose: not enough to allow a detach.
        return model.OsInfo(
            server.metadata.get('image_name') or None,
            model.os_type(server.metadata.get('os_type')),
            'the metadata (image_name) of server %s' % server.label,
            confirmed=False)

    def _name_other_servers(self, volume):
        """Name the servers a volume is attached to instead (refusal only).

        Only on the way to refusing rule ``attached``, so the extra reads
        cost nothing on a detach that goes ahead.
        """
        for attachment in volume.attachments[:MAX_NAMED_SERVERS]:
            try:
                other = self.server_by_id(attachment.server_id)
            except errors.FAILURES:
                continue  # the ID alone will do
            attachment.server_name = other.name

    def _lookups(self, server_ref, volume_refs):
        """The server and each volume, looked up side by side.

        The compute microversion is discovered at the same time, and the
        server is looked up with the highest one this client knows (OTC
        speaks it): when discovery agrees, that lookup stands and the
        round trip is saved; otherwise (an older cloud, the legacy /v2
        endpoint, discovery failed) the server is looked up again with
        what discovery found, as before.  A failed server lookup is
        reported before a failed volume lookup, whichever ended first.
        """
        self.compute  # the SDK builds a proxy on first use: not in threads
        guess = None
        if self._microversion is None and re.search(
                r'/v2\.1(/|$)', self.compute.get_endpoint() or ''):
            guess = copy.copy(self)
            guess._microversion = MAX_COMPUTE_MICROVERSION

        def volumes():
            # One thread builds the proxy (it may read the version
            # document) before the lookups share it.
            self.block_storage
            return side_by_side.run(
                functools.partial(self.volume, ref) for ref in volume_refs)

        if guess is None:
            return side_by_side.run(
                [functools.partial(self.server, server_ref), volumes])

        def captured(call, *args):
            try:
                return call(*args), None
            except Exception as e:  # raised below, the server's first
                return None, e

        _, server, found = side_by_side.run(
            [lambda: self.microversion,
             functools.partial(captured, guess.server, server_ref),
             functools.partial(captured, volumes)])
        if self.microversion != MAX_COMPUTE_MICROVERSION:
            server = (self.server(server_ref), None)
        for _, error in (server, found):
            if error is not None:
                raise error
        return server[0], found[0]

    def gather(self, server_ref, volume_refs, stop_first=False):
        """Facts for detaching each of ``volume_refs`` from one server."""
        # The same argument twice is looked up once.
        server, volumes = self._lookups(server_ref,
                                        list(dict.fromkeys(volume_refs)))
        LOG.info('Server %s (%s): status %s, task_state %s, locked %s, '
                 'root_device_name %s (from the compute API, microversion '
                 '%s)', server.label, server.id, server.status,
                 server.task_state, server.locked, server.root_device_name,
                 self.microversion)
        # Without root_device_name: OTC's native ECS API (bootIndex).
        if not server.root_device_name and server.status == model.ACTIVE \
                and not stop_first:
            server.system_disk = self.find_system_disk(server)
        facts = []
        seen = set()
        for volume in volumes:
            if volume.id in seen:
                continue
            seen.add(volume.id)
            LOG.info('Volume %s (%s): status %s, attached to %s, %s disk '
                     '(from the block storage API)', volume.label, volume.id,
                     volume.status, ', '.join(
                         '%s as %s' % (a.server_id, a.device)
                         for a in volume.attachments) or 'nothing',
                     'SCSI' if volume.is_scsi else 'VBD')
            if volume.attachment_to(server.id) is None:
                self._name_other_servers(volume)
            facts.append(model.Facts(server, volume))
        self._read_keys_and_os(server, facts, stop_first)
        return facts

    def _read_keys_and_os(self, server, facts, stop_first):
        """Each encrypted disk's key (KMS) and the OS, side by side.

        At most one KMS read per encrypted disk, none for others; the OS
        read once, and only when a rule needs it.  A failed read is
        raised after all have ended, the keys' (in order) first.
        """
        encrypted = [f for f in facts if f.volume.encrypted]
        wanting_os = [f for f in facts
                      if model.needs_os(server, f.volume, stop_first)]
        if any(f.volume.key_id for f in encrypted):
            self._kms_endpoint()  # before the threads share it
        calls = [functools.partial(self.key_info, f.volume)
                 for f in encrypted]
        if wanting_os:
            calls.append(functools.partial(self.os_info, server,
                                           wanting_os[0].volume))
        found = side_by_side.run(calls)
        for fact, key in zip(encrypted, found):
            fact.key = key
        if wanting_os:
            os_found = found[-1]
            LOG.info("OS '%s' (type %s) from %s", os_found.version,
                     os_found.os_type, os_found.source)
            for fact in wanting_os:
                fact.os = os_found
