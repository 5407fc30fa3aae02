"""The simulated cloud: servers, volumes, images, jobs and tokens.

Time-based transitions (detaching -> available, powering-off ->
SHUTOFF, ...) are applied lazily, when the state is next used: no timer
threads exist, so a fake clock makes tests deterministic.

Locking: one re-entrant lock, ``State.lock``, and one place that takes
it, :meth:`State.transaction` (take the lock, then settle whatever
became due).  Every public method of :class:`State` runs in one
(``@_locked``); the dispatcher of app.py runs each handler in one, so a
response is built from one consistent moment; :class:`Simulator`'s
readers do the same.  Handlers and views never take the lock
themselves.
"""

import contextlib
import functools
import datetime
import re
import secrets
import threading
import time
import uuid

from otcclient_detach.simulator import records
from otcclient_detach.simulator import scenario as scenario_mod

# Server fields that patch_server() may change.
SERVER_PATCHABLE = ('name', 'status', 'task_state', 'keep_task_state',
                    'locked', 'root_device_name', 'metadata',
                    'show_root_device_name')
# Server statuses in which volumes may be attached or detached.
DETACHABLE = ('ACTIVE', 'SHUTOFF', 'SHELVED', 'SHELVED_OFFLOADED')
VOLUME_PATCHABLE = ('name', 'status', 'guest_refuses', 'multiattach',
                    'bootable', 'size', 'metadata', 'volume_image_metadata',
                    'description', 'snapshot_fails')
KEY_PATCHABLE = ('state', 'description')
# "You can manually create a maximum of seven snapshots for a disk"
# (EVS user guide, "Creating an EVS Snapshot").
MAX_MANUAL_SNAPSHOTS = 7
# OTC's error text for os-start without a system disk (ECS error codes).
NO_SYSTEM_DISK = ('No system disk found. Attach the system disk to the ECS '
                  'and try again.')


class SimError(Exception):
    """A refusal, carried to the HTTP layer.

    ``kind`` is the nova fault name (badRequest, itemNotFound,
    conflictingRequest, ...); ``ecs_code`` the native ECS error code.
    """

    def __init__(self, status, kind, message, ecs_code=None,
                 custom_errno=None):
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.ecs_code = ecs_code
        self.custom_errno = custom_errno


class NotFound(SimError):
    def __init__(self, message, ecs_code=None):
        super().__init__(404, 'itemNotFound', message, ecs_code)


class Ambiguous(SimError):
    def __init__(self, message):
        super().__init__(409, 'conflictingRequest', message)


def isotime(ts, millis=False):
    """Format a POSIX timestamp the way the OpenStack APIs do."""
    dt = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    if millis:
        return dt.strftime('%Y-%m-%dT%H:%M:%S.') + \
            '%03dZ' % (dt.microsecond // 1000)
    return dt.strftime('%Y-%m-%dT%H:%M:%SZ')


def _patch_items(kind, fields, allowed):
    """Yield ``fields``' items; a key not in ``allowed`` is a ValueError.

    Checked as each key is reached, so the keys before it are applied.
    """
    for key, value in fields.items():
        if key not in allowed:
            raise ValueError('cannot patch %s field %r; allowed: %s'
                             % (kind, key, ', '.join(allowed)))
        yield key, value


def _locked(method):
    """Run a :class:`State` method inside :meth:`State.transaction`."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self.transaction():
            return method(self, *args, **kwargs)
    return locked


class State:
    """All mutable cloud state, guarded by ``self.lock``."""

    def __init__(self, scenario=None, clock=None, compute_version=None):
        self.scenario = scenario_mod.load(scenario)
        if compute_version is not None:
            if compute_version not in ('v2.1', 'v2'):
                raise ValueError("compute_version must be 'v2.1' or 'v2'")
            self.scenario['compute_version'] = compute_version
        self.clock = clock or time.time
        self.lock = threading.RLock()
        sc = self.scenario
        self.region = sc['region']
        self.compute_version = sc['compute_version']
        self.timings = dict(sc['timings'])
        built = scenario_mod.build(sc)
        self.users = built.users
        self.project = built.project
        self.flavors = list(sc['flavors'])
        self.images = built.images
        self.servers = {srv.id: srv for srv in built.servers}
        self.volumes = {vol.id: vol for vol in built.volumes}
        self.keys = {key.id: key for key in built.keys}
        self.jobs = {}
        self.tokens = {}
        self.snapshots = {snap.id: snap for snap in built.snapshots}
        self.page_size = dict(sc['page_size'])
        self.kms_in_catalog = sc['kms']['in_catalog']
        now = self.clock()
        for snap in self.snapshots.values():
            snap.due = now + self.timings['snapshot_seconds']
        for srv in self.servers.values():
            if srv.task_state:
                srv.pending = self._power_op(srv.task_state, now)

    @contextlib.contextmanager
    def transaction(self):
        """Hold the lock, with every transition due by now settled.

        The only place the lock is taken (see the module docstring).
        """
        with self.lock:
            self._advance()
            yield self

    # -- lookup -------------------------------------------------------------

    def _find(self, table, ref, what):
        if ref in table:
            return table[ref]
        found = [o for o in table.values() if o.name == ref]
        if not found:
            raise NotFound('%s %s could not be found.' % (what, ref))
        if len(found) > 1:
            raise Ambiguous('More than one %s exists with the name %r.'
                            % (what.lower(), ref))
        return found[0]

    @staticmethod
    def _get(table, item_id, what, ecs_code=None):
        """``table[item_id]``, or the 404 for a ``what`` (by exact ID)."""
        if item_id not in table:
            raise NotFound('%s %s could not be found.' % (what, item_id),
                           ecs_code)
        return table[item_id]

    @_locked
    def find_server(self, ref):
        return self._find(self.servers, ref, 'Instance')

    @_locked
    def find_volume(self, ref):
        return self._find(self.volumes, ref, 'Volume')

    @_locked
    def get_server(self, server_id):
        """Server by exact id (404 otherwise), as nova looks it up."""
        return self._get(self.servers, server_id, 'Instance', 'Ecs.0114')

    @_locked
    def get_volume(self, volume_id):
        return self._get(self.volumes, volume_id, 'Volume')

    @_locked
    def list_servers(self):
        return list(self.servers.values())

    @_locked
    def list_volumes(self):
        return list(self.volumes.values())

    @_locked
    def image(self, image_id):
        for image in self.images:
            if image.id == image_id:
                return image
        raise NotFound('No image found with ID %s' % image_id)

    @_locked
    def volume_status(self, vol):
        """Cinder status, derived unless a patch forced one."""
        if vol.status:
            return vol.status
        if vol.detaches:
            return 'detaching'
        return 'in-use' if vol.attachments else 'available'

    @_locked
    def server_volumes(self, server_id):
        """(volume, attachment) pairs of a server, sorted by device."""
        pairs = [(v, a) for v in self.volumes.values()
                 for a in v.attachments if a.server_id == server_id]
        return sorted(pairs, key=lambda p: p[1]['device'])

    # -- time ---------------------------------------------------------------

    def _power_op(self, task_state, now):
        if task_state == 'powering-on':
            return records.PowerOp('start',
                                   now + self.timings['start_seconds'])
        if task_state == 'powering-off':
            return records.PowerOp('stop', now + self.timings['stop_seconds'])
        return records.PowerOp('clear', now + self.timings['stop_seconds'])

    def _advance(self):
        now = self.clock()
        for srv in self.servers.values():
            op = srv.pending
            if op and op.due <= now and not srv.keep_task_state:
                if op.kind == 'stop':
                    self._set_status(srv, 'SHUTOFF')
                elif op.kind == 'start':
                    self._set_status(srv, 'ACTIVE')
                srv.task_state = None
                srv.pending = None
                srv.updated = isotime(op.due)
        for vol in self.volumes.values():
            for det in [d for d in vol.detaches if d.due <= now]:
                vol.detaches.remove(det)
                self._finish_detach(vol, det)
        for snap in self.snapshots.values():
            if snap.status == 'creating' and snap.due <= now:
                snap.status = 'error' if snap.fails else 'available'
                snap.updated_at = isotime(snap.due)

    def _finish_detach(self, vol, det):
        job = self.jobs.get(det.job_id)
        if vol.guest_refuses and not det.force:
            # The guest kept the disk: OTC rolls back to in-use.
            if job:
                job.status, job.error_code = 'FAIL', 'Ecs.0102'
                job.fail_reason = ('Detaching the disk timed out: the guest '
                                   'OS did not release volume %s.' % vol.id)
                job.end_time = isotime(det.due, True)
            return
        vol.attachments = [a for a in vol.attachments
                           if a.server_id != det.server_id]
        if job:
            job.status, job.end_time = 'SUCCESS', isotime(det.due, True)

    def _set_status(self, srv, status):
        srv.status = status
        srv.vm_state, srv.power_state = \
            scenario_mod.SERVER_STATES[status]

    # -- detach -------------------------------------------------------------

    @_locked
    def detach(self, server_id, volume_id, native=False, force=False):
        """Start detaching; return the native job id (or None).

        Refusals raise SimError carrying both the nova fault and the
        native ECS code, in the order nova checks them.
        """
        srv = self.get_server(server_id)
        if volume_id not in self.volumes:
            raise NotFound('Volume %s could not be found.' % volume_id,
                           'Ecs.0111')
        vol = self.volumes[volume_id]
        att = [a for a in vol.attachments
               if a.server_id == server_id]
        if not att:
            raise NotFound('Instance %s is not attached to volume %s'
                           % (server_id, volume_id), 'Ecs.0111')
        is_root = att[0]['device'] == srv.root_device_name
        if is_root and native and force:
            raise SimError(400, 'badRequest', 'delete_flag=1 cannot be '
                           'used for the system disk.', 'Ecs.0100')
        if is_root and srv.status == 'ACTIVE':
            raise SimError(400, 'badRequest',
                           "Can't detach root device volume", 'Ecs.0100')
        self._check_actionable(srv, 'detach_volume')
        self._check_detachable_disk(vol, server_id)
        now = self.clock()
        job_id = None
        if native:
            job_id = self._new_job('detachVolume', now, {
                'server_id': server_id, 'volume_id': volume_id})
        vol.detaches.append(records.PendingDetach(
            server_id=server_id, job_id=job_id, force=force,
            due=now + self.timings['detach_seconds']))
        return job_id

    def _check_detachable_disk(self, vol, server_id):
        """Refuse a disk that is not in-use (EVS user guide, Disk Status).

        error_detaching is EVS.2021 in EVS's error codes.
        """
        if any(d.server_id == server_id for d in vol.detaches):
            status = 'detaching'
        else:
            status = vol.status or 'in-use'  # a forced status, if any
        if status == 'error_detaching':
            raise SimError(500, 'computeFault', 'volume is error_detaching!',
                           'EVS.2021')
        if status != 'in-use':
            raise SimError(400, 'badRequest', 'Invalid volume: Volume '
                           'status must be in-use to detach, it is %s.'
                           % status, 'Ecs.0100')

    def _check_actionable(self, srv, action, statuses=None):
        """Nova's check_instance_lock, then check_instance_state."""
        if srv.locked:
            raise SimError(409, 'conflictingRequest', 'Instance %s is locked'
                           % srv.id, 'Ecs.0605')
        if srv.status not in (statuses or DETACHABLE):
            raise SimError(409, 'conflictingRequest', "Cannot '%s' instance "
                           "%s while it is in vm_state %s" % (
                               action, srv.id, srv.vm_state),
                           'Ecs.0100')
        if srv.task_state:
            raise SimError(409, 'conflictingRequest', "Cannot '%s' instance "
                           "%s while it is in task_state %s" % (
                               action, srv.id, srv.task_state),
                           'Ecs.0100', custom_errno='0101046')

    @_locked
    def attach(self, server_id, volume_id, device=None):
        """Attach at once (attaching is not what this simulator is for)."""
        srv = self.get_server(server_id)
        vol = self.get_volume(volume_id)
        self._check_actionable(srv, 'attach_volume')
        status = self.volume_status(vol)
        if any(a.server_id == server_id for a in vol.attachments):
            raise SimError(400, 'badRequest', 'Invalid volume: volume %s '
                           'is already attached to %s'
                           % (volume_id, server_id))
        if status != 'available' and not (
                vol.multiattach and status == 'in-use'):
            raise SimError(400, 'badRequest', 'Invalid volume: volume %s '
                           'status must be available, but current status'
                           ' is: %s' % (volume_id, status))
        used = {a.device for _, a in self.server_volumes(server_id)}
        if device in used:
            raise SimError(400, 'badRequest', 'The supplied device path '
                           '(%s) is in use.' % device)
        if not device:
            prefix = (srv.root_device_name or '/dev/vda')[:-1]
            device = next(prefix + c for c in 'bcdefghijklmnopqrstuvwxyz'
                          if prefix + c not in used)
        att = records.Attachment(server_id=server_id, device=device,
                                 id=str(uuid.uuid4()),
                                 attached_at=isotime(self.clock()))
        vol.attachments.append(att)
        return att

    # -- power --------------------------------------------------------------

    @_locked
    def power(self, server_id, action):
        """Handle os-stop / os-start; nova's rules, 409 otherwise."""
        srv = self.get_server(server_id)
        now = self.clock()
        if action == 'stop':
            self._check_actionable(srv, 'stop', ('ACTIVE', 'ERROR'))
            srv.task_state = 'powering-off'
        else:
            self._check_actionable(srv, 'start', ('SHUTOFF',))
            if not self.has_system_disk(srv):
                raise SimError(400, 'badRequest', NO_SYSTEM_DISK,
                               'Ecs.0105')
            srv.task_state = 'powering-on'
        srv.pending = self._power_op(srv.task_state, now)
        srv.updated = isotime(now)

    @_locked
    def has_system_disk(self, srv):
        """Whether a volume is attached at the server's root device."""
        root = srv.root_device_name
        return root is not None and any(
            a.device == root for _, a in self.server_volumes(srv.id))

    # -- snapshots (EVS, cinder API) -----------------------------------------

    @_locked
    def create_snapshot(self, volume_id, name=None, description=None,
                        force=False):
        """Cinder's create: available volumes, in-use ones with force."""
        vol = self.get_volume(volume_id)
        status = self.volume_status(vol)
        if status not in ('available', 'in-use') or (
                status == 'in-use' and not force):
            raise SimError(400, 'badRequest', 'Invalid volume: Volume '
                           '%s status must be available, but current '
                           'status is: %s.' % (vol.id, status))
        taken = sum(1 for s in self.snapshots.values()
                    if s.volume_id == vol.id)
        if taken >= MAX_MANUAL_SNAPSHOTS:
            # OTC documents the limit, not its error: cinder's answer.
            raise SimError(413, 'overLimit', 'Maximum number of snapshots '
                           'allowed (%d) exceeded' % MAX_MANUAL_SNAPSHOTS)
        now = self.clock()
        snap = records.Snapshot(
            id=str(uuid.uuid4()), volume_id=vol.id, name=name,
            description=description, size=vol.size, status='creating',
            created_at=isotime(now), updated_at=None, metadata={},
            fails=vol.snapshot_fails,
            due=now + self.timings['snapshot_seconds'])
        self.snapshots[snap.id] = snap
        return snap

    @_locked
    def get_snapshot(self, snapshot_id):
        return self._get(self.snapshots, snapshot_id, 'Snapshot')

    @_locked
    def list_snapshots(self):
        return list(self.snapshots.values())

    # -- KMS ------------------------------------------------------------------

    @_locked
    def find_key(self, ref):
        """A KMS key by ID or alias; None when KMS does not know it."""
        if ref in self.keys:
            return self.keys[ref]
        found = [k for k in self.keys.values() if k.alias == ref]
        return found[0] if found else None

    @_locked
    def patch_key(self, ref, **fields):
        key = self.find_key(ref)
        if key is None:
            raise NotFound('Key %s could not be found.' % ref)
        for name, value in _patch_items('key', fields, KEY_PATCHABLE):
            if name == 'state':
                try:
                    value = scenario_mod.key_state(value, 'state')
                except scenario_mod.ScenarioError as exc:
                    raise ValueError(str(exc))
            setattr(key, name, value)
        return key

    # -- jobs ---------------------------------------------------------------

    def _new_job(self, job_type, now, entities):
        # OTC job IDs are 32 hex digits starting with ff8080.
        job_id = 'ff808082' + secrets.token_hex(12)
        self.jobs[job_id] = records.Job(
            job_id=job_id, job_type=job_type, status='RUNNING',
            begin_time=isotime(now, True), end_time='', entities=entities,
            error_code=None, fail_reason=None, created=now)
        return job_id

    @_locked
    def job(self, job_id):
        record = self._get(self.jobs, job_id, 'Job', 'Ecs.0200')
        job = record.to_dict(exclude=('created',))
        created = record.created
        # A just-created job reads INIT, like OTC's job queue.
        init = self.timings['detach_seconds'] * 0.1
        if job['status'] == 'RUNNING' and self.clock() < created + init:
            job['status'] = 'INIT'
        return job

    # -- tokens -------------------------------------------------------------

    @_locked
    def issue_token(self, user, methods, app_cred=None):
        now = self.clock()
        token = 'MIIsim' + secrets.token_urlsafe(48)
        self.tokens[token] = records.Token(
            user=user, methods=methods, app_cred=app_cred, issued=now,
            expires=now + self.timings['token_seconds'],
            audit_id=secrets.token_urlsafe(16)[:22])
        return token, self.tokens[token]

    @_locked
    def check_token(self, token):
        """Return the token record, or None if unknown or expired."""
        rec = self.tokens.get(token or '')
        if rec is None or rec.expires <= self.clock():
            return None
        return rec

    @_locked
    def set_token_ttl(self, seconds):
        self.timings['token_seconds'] = float(seconds)

    @_locked
    def revoke_token(self, token):
        self.tokens.pop(token, None)

    @_locked
    def revoke_tokens(self):
        self.tokens.clear()

    # -- patching -----------------------------------------------------------

    @_locked
    def patch_server(self, ref, **fields):
        srv = self.find_server(ref)
        for key, value in _patch_items('server', fields,
                                       SERVER_PATCHABLE):
            if key == 'status':
                if value not in scenario_mod.SERVER_STATES:
                    raise ValueError('unknown server status %r' % value)
                self._set_status(srv, value)
                srv.pending = None
            elif key == 'task_state':
                srv.task_state = value or None
                srv.pending = (self._power_op(value, self.clock())
                               if value else None)
            elif key == 'metadata':
                srv.metadata = dict(value or {})
            else:
                setattr(srv, key, value)
        srv.updated = isotime(self.clock())
        return srv

    @_locked
    def patch_volume(self, ref, **fields):
        vol = self.find_volume(ref)
        for key, value in _patch_items('volume', fields,
                                       VOLUME_PATCHABLE):
            if key == 'status':
                if value is not None and \
                        value not in scenario_mod.VOLUME_STATUSES:
                    raise ValueError('unknown volume status %r' % value)
                vol.status = value
            elif key in ('metadata', 'volume_image_metadata'):
                setattr(vol, key, dict(value or {}))
            else:
                setattr(vol, key, value)
        return vol

    # -- dump ---------------------------------------------------------------

    @_locked
    def dump(self):
        """A JSON-able snapshot (for GET /_sim/state and debugging)."""
        servers = []
        for srv in self.servers.values():
            item = srv.to_dict(exclude=('pending',))
            item['volumes'] = [
                {'id': v.id, 'name': v.name, 'device': a.device}
                for v, a in self.server_volumes(srv.id)]
            servers.append(item)
        volumes = []
        for vol in self.volumes.values():
            item = vol.to_dict(exclude=('detaches',))
            item['status'] = self.volume_status(vol)
            item['detaching_from'] = [d.server_id
                                      for d in vol.detaches]
            volumes.append(item)
        jobs = [self.job(j) for j in self.jobs]
        return {'snapshots': [snap.to_dict(exclude=('due',))
                              for snap in self.snapshots.values()],
                'kms': {'in_catalog': self.kms_in_catalog,
                        'keys': [k.to_dict() for k in self.keys.values()]},
                'page_size': dict(self.page_size),
                'project': self.project.to_dict(), 'region': self.region,
                'compute_version': self.compute_version,
                'timings': dict(self.timings), 'servers': servers,
                'volumes': volumes,
                'images': [i.to_dict() for i in self.images],
                'jobs': jobs}


def matches_name(pattern, name):
    """Nova's name filter is a regular expression search."""
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return pattern in name
