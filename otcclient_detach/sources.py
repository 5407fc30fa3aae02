"""Every source's word on the system disk, and the OS it carries.

With root_device_name, EVS's disk list of the server (one read that also
carries the system disk's OS), else nova's attachment list, each giving
the device of every disk (model.Reading); without it, the native API's
bootIndex.  The OS comes from the system disk's volume_image_metadata,
else its image, else the server's metadata (a hint, unconfirmed).
model.system_disk judges these readings; nothing is decided here.
"""

import logging

from otcclient_detach import errors
from otcclient_detach import model
from otcclient_detach import reads

LOG = logging.getLogger(__name__)


class SystemDisk(object):
    """Reads the system disk's sources of one server into its facts."""

    def __init__(self, reads_):
        self.reads = reads_

    def read(self, server, facts, want_os):
        self.facts = facts
        return self._read(server, facts, want_os)

    def _read(self, server, facts, want_os):
        """Record every source's word on the system disk; the OS if asked.

        With root_device_name: EVS's disk list of the server (one read
        that also carries the system disk's OS), else nova's attachment
        list.  Without it: the native API's bootIndex.
        """
        system = None
        if server.root_device_name:
            system = self._devices_from_disk_list(server)
            if system is None:
                system = self._devices_from_attachment_list(server, facts)
        else:
            server.system_disk = self._boot_index(server)
            if server.system_disk.volume_id:
                system = self._volume(server.system_disk.volume_id, facts)
        if want_os:
            return self._os_info(server, system)
        return None

    def _volume(self, volume_id, facts):
        for fact in facts:
            if fact.volume.id == volume_id:
                return fact.volume
        return self.reads.volume_by_id(volume_id)

    def _devices_from_disk_list(self, server):
        """EVS's disk list: each disk's device; the disk at the root.

        None (the caller asks nova's attachment list) when the list is
        refused, broken, or names no or several disks at
        root_device_name: never a guess.
        """
        request = '%s?server_id=%s' % (reads.EVS_DISK_LIST, server.id)
        try:
            disks = self.reads.disks_of(server)
        except errors.FAILURES as e:
            LOG.info("Server %s: EVS's disk list gave no system disk (%s); "
                     "asking nova's attachment list instead", server.label,
                     errors.what_happened(e, request))
            return None
        roots = []
        for disk in disks:
            self._wwn(disk)
            for a in disk.attachments:
                if a.server_id != server.id:
                    continue
                server.devices.setdefault(disk.id, []).append(model.Reading(
                    a.device, "EVS's disk list (%s)" % reads.EVS_DISK_LIST))
                if a.device == server.root_device_name:
                    roots.append(disk)
        if len(roots) != 1:
            LOG.info("Server %s: EVS's disk list (%s) shows %d disks at "
                     "root_device_name %s; asking nova's attachment list "
                     "too", server.label, request, len(roots),
                     server.root_device_name)
            return None
        LOG.info("Server %s: system disk %s (%s) at %s (from EVS's disk "
                 "list for server %s (%s))", server.label, roots[0].label,
                 roots[0].id, server.root_device_name, server.id,
                 reads.EVS_DISK_LIST)
        return roots[0]

    def _wwn(self, disk):
        """The SCSI disk's WWN, which EVS's list carries, onto its facts."""
        for fact in self.facts:
            if fact.volume.id == disk.id and not fact.volume.wwn:
                fact.volume.wwn = disk.wwn

    def _devices_from_attachment_list(self, server, facts):
        """nova's attachment list: each disk's device; the disk at root."""
        system_id = None
        for entry in self.reads.attachments(server.id):
            vid, device = entry.get('volumeId'), entry.get('device')
            server.devices.setdefault(vid, []).append(model.Reading(
                device if isinstance(device, str) else None,
                "nova's attachment list (GET /servers/%s/"
                "os-volume_attachments)" % server.id))
            if device == server.root_device_name:
                system_id = vid
                LOG.info("Server %s: system disk %s at %s (from nova's "
                         "attachment list, GET /servers/%s/"
                         "os-volume_attachments)", server.label, vid,
                         server.root_device_name, server.id)
        return self._volume(system_id, facts) if system_id else None

    def _boot_index(self, server):
        """The system disk by OTC's native API (no root_device_name)."""
        request = 'GET /v1/{project_id}/cloudservers/%s' % server.id
        try:
            boot = self.reads.boot_volumes(server.id)
        except errors.FAILURES as e:
            found = model.SystemDisk(None, 'the cloud did not report '
                                     'root_device_name, and %s' %
                                     errors.what_happened(e, request))
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

    def _os_info(self, server, system):
        """The OS of the ECS: system disk, else its image, else metadata."""
        meta = system.image_metadata if system else {}
        if meta.get('__os_version'):
            return model.OsInfo(
                meta['__os_version'], model.os_type(meta.get('__os_type')),
                'the volume_image_metadata of system disk %s' % system.label)
        image_id = server.metadata.get('metering.image_id') or \
            meta.get('image_id')
        image = self.reads.image(image_id) if image_id else None
        if image and image.get('__os_version'):
            name = image.get('name')
            return model.OsInfo(
                image['__os_version'], model.os_type(image.get('__os_type')),
                'image %s (%s)' % (name, image_id) if name
                else 'image %s' % image_id)
        # A name anybody can choose: not enough to allow a detach.
        return model.OsInfo(
            server.metadata.get('image_name') or None,
            model.os_type(server.metadata.get('os_type')),
            'the metadata (image_name) of server %s' % server.label,
            confirmed=False)
