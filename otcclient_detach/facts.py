"""The facts the rules judge, gathered once and with their sources.

One :class:`Gatherer` reads what every path needs (``--dry-run``,
``--stop-server``, ``--api native``, ``--snapshot``): the server and each
volume side by side, then, for a running ECS, every source that names
the system disk (EVS's disk list of the server, else nova's attachment
list; the native API's bootIndex where the cloud hides
root_device_name), beside the KMS reads of encrypted disks; the OS only
when a rule needs it.  :meth:`Gatherer.refresh` reads the facts that can
change again, by ID, before a late write (run.py).
"""

import functools
import logging
import re

from otcclient_detach import errors
from otcclient_detach import model
from otcclient_detach import reads
from otcclient_detach import side_by_side
from otcclient_detach import sources

LOG = logging.getLogger(__name__)

#: Servers looked up by name for the message of a refused "attached".
MAX_NAMED_SERVERS = 3


class Gatherer(object):
    """Builds :class:`model.Facts` from the cloud's answers."""

    def __init__(self, connection, os_catalog=None):
        self.reads = reads.Reads(connection)
        self.os_catalog = os_catalog

    def gather(self, server_ref, volume_refs, stop_first=False,
               snapshots=False):
        """Facts for detaching each of ``volume_refs`` from one server.

        ``snapshots``: count each disk's snapshots too (--snapshot).
        """
        server, volumes = self._lookups(
            server_ref, list(dict.fromkeys(volume_refs)))
        return self._facts(server, volumes, stop_first, snapshots)

    def gather_all_data_disks(self, server_ref, stop_first=False,
                              snapshots=False):
        """Facts for every disk of the server that is no system disk.

        The disks come from the server's own attachment list; the system
        disk is found by the same sources as everywhere else, and left
        out when any of them names it (or may be it).
        """
        server = self.reads.server(server_ref)
        ids = [a.get('volumeId') for a in self.reads.attachments(server.id)]
        volumes = side_by_side.run(
            functools.partial(self.reads.volume_by_id, vid) for vid in ids)
        # The system disk's sources are read whatever the server's
        # status: it is left out, so it must be known on every path.
        gathered = self._facts(server, volumes, stop_first, snapshots,
                               every_source=True)
        return [f for f in gathered if not model.is_system_disk(f)]

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
        api = self.reads
        api.compute  # the SDK builds a proxy on first use: not in threads
        guess = None
        if api.known_microversion is None and re.search(
                r'/v2\.1(/|$)', api.compute.get_endpoint() or ''):
            guess = api.with_microversion(reads.MAX_COMPUTE_MICROVERSION)

        def volumes():
            # One thread builds the proxy (it may read the version
            # document) before the lookups share it.
            api.block_storage
            return side_by_side.run(
                functools.partial(api.volume, ref) for ref in volume_refs)

        if guess is None:
            return side_by_side.run(
                [functools.partial(api.server, server_ref), volumes])

        def captured(call, *args):
            try:
                return call(*args), None
            except Exception as e:  # raised below, the server's first
                return None, e

        _, server, found = side_by_side.run(
            [lambda: api.microversion,
             functools.partial(captured, guess.server, server_ref),
             functools.partial(captured, volumes)])
        if api.microversion != reads.MAX_COMPUTE_MICROVERSION:
            server = (api.server(server_ref), None)
        for _, error in (server, found):
            if error is not None:
                raise error
        return server[0], found[0]

    def refresh(self, gathered, stop_first=False):
        """The same facts read again by ID (a late write's second look)."""
        server = gathered[0].server
        found = side_by_side.run(
            [functools.partial(self.reads.server_by_id, server.id)] +
            [functools.partial(self.reads.volume_by_id, f.volume.id)
             for f in gathered])
        for volume, fact in zip(found[1:], gathered):
            volume.shared_name = fact.volume.shared_name
        return self._facts(found[0], found[1:], stop_first, log=False)

    def _facts(self, server, volumes, stop_first, snapshots=False,
               log=True, every_source=False):
        if log:
            _log_server(server, self.reads.microversion)
        facts, seen = [], set()
        names = [v.name for v in volumes if v.name]
        for volume in volumes:
            if volume.id in seen:
                continue
            seen.add(volume.id)
            volume.shared_name = volume.shared_name or \
                names.count(volume.name) > 1
            if log:
                _log_volume(volume)
            if volume.attachment_to(server.id) is None:
                self._name_other_servers(volume)
            facts.append(model.Facts(server, volume,
                                     catalog=self.os_catalog))
        self._read_side_by_side(server, facts, stop_first, snapshots,
                                every_source)
        return facts

    def _name_other_servers(self, volume):
        """Name the servers a volume is attached to instead (refusal only)."""
        for attachment in volume.attachments[:MAX_NAMED_SERVERS]:
            try:
                other = self.reads.server_by_id(attachment.server_id)
            except errors.FAILURES:
                continue  # the ID alone will do
            attachment.server_name = other.name

    def _read_side_by_side(self, server, facts, stop_first, snapshots,
                           every_source=False):
        """Keys (KMS), the system disk's sources and the OS, side by side.

        At most one KMS read per encrypted disk; the system disk's
        sources for a running ECS whatever the options (every path reads
        them the same way); the OS only when a rule needs it.  A failed
        read is raised after all have ended, the keys' first.
        """
        encrypted = [f for f in facts if f.volume.encrypted]
        wanting_os = [f for f in facts
                      if model.needs_os(server, f.volume, stop_first)]
        if any(f.volume.key_id for f in encrypted):
            self.reads.kms_endpoint()  # before the threads share it
        calls = [functools.partial(self._key_info, f.volume)
                 for f in encrypted]
        counted = facts if snapshots else []
        calls += [functools.partial(self.reads.snapshot_count, f.volume.id)
                  for f in counted]
        if server.status == model.ACTIVE or every_source:
            calls.append(functools.partial(
                sources.SystemDisk(self.reads).read, server, facts,
                bool(wanting_os)))
        found = side_by_side.run(calls)
        for fact, key in zip(encrypted, found):
            fact.key = key
        for fact, number in zip(counted, found[len(encrypted):]):
            fact.snapshots = number
        if wanting_os:
            os_found = found[-1]
            LOG.info("OS '%s' (type %s) from %s", os_found.version,
                     os_found.os_type, os_found.source)
            for fact in wanting_os:
                fact.os = os_found

    def _key_info(self, volume):
        found = self.reads.key_info(volume)
        LOG.info('Volume %s: encrypted with key %s: state %s%s',
                 volume.label, found.label, found.state,
                 ' (%s)' % found.problem if found.problem else '')
        return found


def _log_server(server, microversion):
    LOG.info('Server %s (%s): status %s, task_state %s, locked %s, '
             'root_device_name %s%s (from the compute API, microversion %s)',
             server.label, server.id, server.status, server.task_state,
             server.locked, server.root_device_name,
             ', bare metal (%s)' % server.bms if server.bms else '',
             microversion)


def _log_volume(volume):
    LOG.info('Volume %s (%s): status %s, attached to %s, %s disk (from the '
             'block storage API)', volume.label, volume.id, volume.status,
             ', '.join('%s as %s' % (a.server_id, a.device)
                       for a in volume.attachments) or 'nothing',
             'SCSI' if volume.is_scsi else 'VBD')
