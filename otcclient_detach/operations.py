"""Carrying out a detach that the rules allowed: stop, detach, wait, start.

Every step is told on stderr (stdout stays for data); every volume's
outcome is collected so that one failure does not hide the others.

A write (DELETE, os-stop, os-start) is sent once.  When it fails, the
state is read again and the user is told what actually happened
(doc/source/hardening.rst): an error answer or a lost connection may
hide a detach the cloud accepted, and a refusal may come from another
client that got there first.  Success is reported only when the cloud
accepted the DELETE (2xx) or the state read afterwards proves that the
volume is detaching or gone.
"""

import dataclasses
import functools
import logging
import threading
import typing

from otcclient_detach import detach
from otcclient_detach import errors
from otcclient_detach import model
from otcclient_detach import render
from otcclient_detach import side_by_side
from otcclient_detach import snapshot
from otcclient_detach import wait

LOG = logging.getLogger(__name__)
LOG.addFilter(render.escape_log_record)

#: DELETEs in flight at once: enough for "three disks as fast as one",
#: few enough not to trip OTC's flow control.
MAX_PARALLEL = 4

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class Sent(object):
    """What became of one volume's detach request."""

    def __init__(self, volume, accepted, job_id=None, note=None,
                 reason=None):
        self.volume = volume
        self.accepted = accepted
        #: The native API's job; None for nova (or when the answer was
        #: lost and the re-read showed the detach under way).
        self.job_id = job_id
        #: Said when the detach counts as accepted despite an error.
        self.note = note
        #: Why it failed.
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class PowerStep:
    """os-stop or os-start, and how each of its outcomes is told."""

    send: typing.Callable
    request: str
    target: str
    task: str
    announce: str
    reached: str
    participle: str
    gerund: str
    #: 'Server X did not ... within N s'.
    missed: str
    #: What the user must know when the step fails ('' when nothing).
    consequence: str
    #: 'stop server X' / 'start server X again'.
    again: str = ''


STOP = PowerStep(detach.stop_server, 'os-stop', model.SHUTOFF,
                 'powering-off', 'Stopping server %s (os-stop) ...',
                 'Server %s is stopped (SHUTOFF).', 'stopped', 'stopping',
                 'stop', 'nothing was detached')
START = PowerStep(detach.start_server, 'os-start', model.ACTIVE,
                  'powering-on', 'Starting server %s again (os-start) ...',
                  'Server %s is running (ACTIVE) again.', 'started',
                  'starting', 'become ACTIVE', '', ' again')

#: Why a volume the cloud rolled back is still attached.
ROLLED_BACK = ('the cloud rolled the detach back: the volume is in-use and '
               'still attached, so the guest did not release the disk. '
               'Likely causes: it is still mounted (Linux: umount it), I/O '
               'is running on it, or OTC Tools are missing or stopped '
               '(Windows)')

#: A failed DELETE, judged by (what the cloud said, what a re-read shows):
#: (accepted after all?, what to tell).  The cloud said: 'not attached'
#: (404), 'no answer' (5xx, 429, timeout, lost connection), 'in flight'
#: (no answer, and the request may still be carried out) or 'refused'.
#: The re-read shows the volume 'gone' from the server, 'detaching',
#: still 'attached', or 'unknown' (the re-read failed).  A missing
#: 'in flight' entry is the same as 'no answer'.
AFTER_FAILED_DETACH = {
    ('not attached', 'gone'): (
        False, '{said}. Someone else detached it meanwhile (its status is '
               '{status} now)'),
    ('not attached', 'detaching'): (
        False, '{said}. It is still listed, with status detaching: a '
               'detach of this volume is already in progress (another '
               'client?)'),
    ('not attached', 'attached'): (
        False, '{said}. Yet it is still listed as attached (status '
               '{status}): nothing was detached; check it with {check}'),
    ('not attached', 'unknown'): (
        False, '{said} (reading the volume again failed too: {reread})'),
    ('no answer', 'gone'): (
        True, 'Volume {label}: {said}, but the detach was accepted: the '
              'volume has left the server (status {status}).'),
    ('no answer', 'detaching'): (
        True, 'Volume {label}: {said}, but the detach was accepted: the '
              'volume is detaching.'),
    ('no answer', 'attached'): (
        False, '{said}, and the volume is still attached (status '
               '{status}): nothing was detached. Run the command again'),
    ('no answer', 'unknown'): (
        False, '{said}, and reading the volume again failed too ({reread}): '
               'the detach may or may not have been accepted; check it '
               'with {check}'),
    ('in flight', 'attached'): (
        False, '{said}; the volume is still attached (status {status}) for '
               'now, but the cloud may still carry the DELETE out: check it '
               'with {check} before running the command again'),
    ('flow control', 'attached'): (
        False, '{said}; the volume is still attached (status {status}): '
               'nothing was detached. Run the command again in a minute'),
    ('refused', 'gone'): (
        False, '{said}. Meanwhile it is not attached any more: someone else '
               'detached it meanwhile (its status is {status} now)'),
    ('refused', 'detaching'): (
        False, '{said}. Meanwhile a detach of this volume is already in '
               'progress (another client?)'),
    ('refused', 'attached'): (False, '{said}{server_changed}'),
    ('refused', 'unknown'): (
        False, '{said} (reading the volume again failed too: {reread})'),
}


def describe_server(server):
    """'ACTIVE', 'ACTIVE, task powering-off', 'SHUTOFF, locked'."""
    text = server.status
    if server.task_state:
        text += ', task %s' % server.task_state
    if server.locked:
        text += ', locked'
    return text


def start_refusal(gathered, start_server):
    """Why --start-server cannot work here (a text), or None.

    An ECS without its system disk cannot be started (OTC error
    Ecs.0105, "no system disk found"): detaching the system disk with
    --start-server is refused before anything is sent.
    """
    # --start-server starts only an ECS that was running.
    if not start_server or gathered[0].server.status != model.ACTIVE:
        return None
    system = [f.volume.label for f in gathered if model.is_system_disk(f)]
    if not system:
        return None
    server = gathered[0].server.label
    return ('Refused to detach %s from server %s with --start-server: %s '
            'the system disk, and an ECS without its system disk cannot be '
            'started (OTC error Ecs.0105, "no system disk found"). Nothing '
            'was stopped or detached. Way out: use --stop-server alone; '
            'the ECS stays stopped until a system disk is attached '
            'again.' % (', '.join(system), server,
                        'it is' if len(system) == 1 else 'one of them is'))


class Options(object):
    def __init__(self, api=detach.NOVA, wait=False, timeout=300,
                 force_detach=False, stop_server=False, start_server=False,
                 snapshot=False):
        self.snapshot = snapshot
        self.api = api
        self.wait = wait or stop_server or api == detach.NATIVE
        self.timeout = timeout
        self.force_detach = force_detach
        self.stop_server = stop_server
        self.start_server = start_server


class Operation(object):
    def __init__(self, gatherer, server, volumes, options, stderr,
                 clock=None, sleep=None):
        self.gatherer = gatherer
        self.compute = gatherer.compute
        self.server = server
        self.volumes = volumes
        self.options = options
        self.stderr = stderr
        self.progress = wait.Progress(stderr)
        #: Volume ID -> why its detach failed.
        self.failures = {}
        #: --start-server could not start the server again.
        self.start_failed = False
        #: Volumes whose DELETE went on the wire (it may detach them).
        self.on_wire = []
        #: Set on Ctrl-C: no further DELETE leaves.
        self.cancelled = threading.Event()
        self._wire = threading.Lock()
        #: os-stop sent by this command; os-start sent by it.
        self.stopped = False
        self.started = False
        #: The power step that did not get there within --timeout.
        self.timed_out = None
        self._time = {}
        if clock:
            self._time['clock'] = clock
        if sleep:
            self._time['sleep'] = sleep

    @property
    def sent(self):
        """Whether a DELETE was sent (so something may detach)."""
        return bool(self.on_wire)

    def say(self, text):
        """Tell the user, wrapped like the refusals."""
        self.stderr.write(render.fill(text) + '\n')
        self.stderr.flush()

    def poller(self, immediate=False):
        return wait.Poller(self.options.timeout, immediate=immediate,
                           **self._time)

    def check_command(self, volume=None):
        if volume is not None:
            return "'openstack server volume list %s' or 'openstack volume " \
                   "show %s'" % (self.server.label, volume.label)
        return "'openstack server volume list %s'" % self.server.label

    # -- steps --------------------------------------------------------------

    def run(self):
        try:
            return self._run()
        except KeyboardInterrupt as e:
            with self._wire:
                self.cancelled.set()
            self.progress.done()
            self.say(self._interrupted())
            if self.options.start_server and self.stopped and \
                    not self.started:
                self.say("Server %s was stopped by this command and stays "
                         "stopped (SHUTOFF or on its way): it was not started "
                         "again; start it with 'openstack server start %s'." %
                         (self.server.label, self.server.label))
            return getattr(e, 'exit_status', EXIT_INTERRUPTED)

    def _interrupted(self):
        """What Ctrl-C (or SIGTERM, SIGHUP) leaves behind, in words."""
        if not self.sent:
            return 'Interrupted: nothing was detached.'
        sent = [v.label for v in self.volumes if v in self.on_wire]
        unsent = [v.label for v in self.volumes if v not in self.on_wire]
        text = 'Interrupted: stopped waiting. The detach goes on in the ' \
               'cloud for %s %s (sent); check it with %s.' % (
                   'volume' if len(sent) == 1 else 'volumes',
                   ', '.join(sent), self.check_command())
        if unsent:
            text += ' Not sent (still attached): %s.' % ', '.join(unsent)
        return text

    def _run(self):
        was_running = self.server.status == model.ACTIVE
        if self.options.snapshot and not self._snapshot():
            return EXIT_FAILED
        if self.options.stop_server:
            if not self._stop(was_running):
                return EXIT_FAILED
        accepted = self._send()
        if self.options.wait and accepted:
            self._wait(accepted)
        elif accepted:
            self._tell_accepted([volume for volume, _ in accepted])
        if self.options.start_server and was_running:
            self._start()
        if self.failures:
            self.say('%d of %s failed to detach.' % (
                len(self.failures), render.count(len(self.volumes),
                                                 'volume')))
        return EXIT_FAILED if self.failures or self.start_failed else EXIT_OK

    def _snapshot(self):
        """--snapshot: one EVS snapshot per volume, each available.

        Before anything else changes: a snapshot that fails leaves the
        server and its disks as they were.  True when every snapshot is
        available; otherwise the user has been told, and nothing is
        detached.
        """
        block_storage = self.gatherer.block_storage
        made = {}
        for volume in self.volumes:
            name = snapshot.snapshot_name(volume)
            self.say('Volume %s: creating snapshot %s ...' % (volume.label,
                                                              name))
            try:
                made[snapshot.create(block_storage, volume, name)] = \
                    (volume, name)
            except (snapshot.Failed,) + errors.FAILURES as e:
                self.say('Volume %s: the snapshot failed: %s. Nothing was '
                         'detached%s.' % (volume.label, e, self._made(made)))
                return False
        outcomes = wait.wait_ended(
            functools.partial(snapshot.status, block_storage), list(made),
            snapshot.ended, self.poller(), self.progress, 'snapshot')
        failed = False
        for sid, (outcome, detail) in outcomes.items():
            if outcome == 'available':
                continue
            failed = True
            volume, name = made[sid]
            if outcome == wait.TIMED_OUT:
                what = 'was not available within %d s' % self.options.timeout
            elif outcome == wait.FAILED:
                what = 'could not be followed: %s' % detail
            else:
                what = 'went to status %s' % outcome
            self.say('Volume %s: snapshot %s %s. Nothing was detached; '
                     "check it with 'openstack volume snapshot show %s'." % (
                         volume.label, name, what, name))
        if failed:
            return False
        for volume, name in made.values():
            self.say('Volume %s: snapshot %s is available.' % (volume.label,
                                                               name))
        return True

    @staticmethod
    def _made(made):
        if not made:
            return ''
        return ' (snapshots made so far: %s)' % ', '.join(
            name for _, name in made.values())

    def _stop(self, was_running):
        if not was_running:
            self.say('Server %s is %s already; not stopping it.' % (
                self.server.label, self.server.status))
            return True
        self.stopped = True
        if self._power(STOP):
            return True
        if self.timed_out is not STOP:
            return False
        label = self.server.label
        self.say("Server %s was running before: should it stop after all, "
                 "start it again with 'openstack server start %s'.%s" % (
                     label, label, ' --start-server did not start it: '
                     'nothing was detached, so the command ended here.'
                     if self.options.start_server else ''))
        return False

    def _state_now(self):
        """The server's status now, for a message ('ACTIVE, task ...')."""
        try:
            return describe_server(
                self.gatherer.server_by_id(self.server.id))
        except Exception as e:
            return 'unknown: reading it again failed (%s)' % (
                errors.what_happened(e))

    def _start(self):
        self.started = True
        if not self._power(START):
            self.start_failed = True

    def _power(self, step):
        """Send os-stop / os-start once, then wait for the server.

        True when it got there; otherwise the user has been told why.
        """
        label = self.server.label
        self.say(step.announce % label)
        try:
            step.send(self.compute, self.server.id)
        except errors.FAILURES as e:
            if not self._power_went_on(e, step):
                return False
        try:
            wait.wait_server_status(self.gatherer, self.server.id,
                                    step.target, self.poller(),
                                    self.progress)
        except wait.Timeout:
            self.timed_out = step
            return self._power_failed(
                step, 'Server %s did not %s within %d s' % (
                    label, step.missed, self.options.timeout),
                now=self._state_now())
        except wait.WentWrong:
            return self._power_failed(
                step, 'Server %s went to status ERROR while %s' % (
                    label, step.gerund))
        except errors.FAILURES as e:
            return self._power_failed(
                step, 'Following server %s while %s failed: %s' % (
                    label, step.gerund, e))
        self.say(step.reached % label)
        return True

    def _power_failed(self, step, what, now=None):
        """Tell what went wrong with os-stop / os-start; return False."""
        self.say("%s%s.%s Check it with 'openstack server show %s'." % (
            what, '; ' + step.consequence if step.consequence else '',
            ' The server is %s now.' % now if now else '',
            self.server.label))
        return False

    def _power_went_on(self, error, step):
        """After a failed os-stop/os-start: is the server getting there?

        Reads the server again.  True when it is at the step's target or
        on its way, whoever did it; otherwise the user is told what
        happened and False is returned.
        """
        label = self.server.label
        happened = errors.what_happened(error, step.request)
        try:
            now = self.gatherer.server_by_id(self.server.id)
        except Exception as e:
            return self._power_failed(
                step, 'Server %s: %s, and reading the server again failed '
                'too (%s)' % (label, happened, errors.what_happened(e)))
        if now.status == step.target or now.task_state == step.task:
            self.say('Server %s: %s, but the server is %s now: going on.' % (
                label, happened, describe_server(now)))
            return True
        if errors.may_still_happen(error):
            return self._power_failed(
                step, 'Server %s: %s; the server is still %s for now, but '
                'the cloud may still carry the %s out' % (
                    label, happened, describe_server(now), step.request))
        consequence = '; ' + step.consequence if step.consequence else ''
        if errors.is_ambiguous(error):
            self.say('Server %s: %s, and the server is still %s: it was not '
                     '%s%s. Run the command again.' % (
                         label, happened, describe_server(now),
                         step.participle, consequence))
        else:
            self.say('The cloud refused to %s server %s%s: %s%s.' % (
                step.request[3:], label, step.again, error, consequence))
        return False

    def _send_guarded(self, volume):
        try:
            return self._send_one(volume)
        except Exception as e:  # a bug; still tell the user
            return Sent(volume, False, reason=(
                'unexpected error: %s; check it with %s' % (
                    e, self.check_command(volume))))

    def _send_one(self, volume):
        """Send one DELETE; on failure, find out what became of it."""
        with self._wire:
            # Ctrl-C cancels under the same lock: a volume told "not
            # sent" is never sent afterwards.
            if self.cancelled.is_set():
                return Sent(volume, False, reason='not sent (interrupted)')
            self.on_wire.append(volume)
        try:
            if self.options.api == detach.NATIVE:
                job_id = detach.detach_native(
                    self._native(), self.server.id, volume.id,
                    force=self.options.force_detach)
            else:
                detach.detach_nova(self.compute, self.server.id, volume.id)
                job_id = None
        except (detach.NotAttached,) + errors.FAILURES as e:
            return self._after_failed_detach(volume, e)
        LOG.info('Volume %s: the cloud accepted the detach%s', volume.label,
                 ' (job %s)' % job_id if job_id else '')
        return Sent(volume, True, job_id)

    def _reread(self, volume):
        """(volume now, still in the server's attachment list?)."""
        listed = {a.get('volumeId')
                  for a in self.gatherer.attachments(self.server.id)}
        return self.gatherer.volume_by_id(volume.id), volume.id in listed

    def _after_failed_detach(self, volume, error):
        """Judge a failed DELETE by the state read again; return a Sent."""
        if isinstance(error, detach.NotAttached):
            said_kind = 'not attached'
            said = 'the cloud says it is not attached (any more): %s' % error
        elif errors.is_ambiguous(error):
            said_kind = ('in flight' if errors.may_still_happen(error)
                         else 'no answer')
            said = errors.what_happened(error, 'the DELETE')
        elif getattr(error, 'in_success', False):
            # A 2xx with an error body: the request was turned away.
            said_kind, said = 'flow control', 'the cloud answered %s' % error
        else:
            said_kind, said = 'refused', 'the cloud refused: %s' % error
        words = {'said': said, 'label': volume.label, 'status': None,
                 'check': self.check_command(volume), 'reread': None,
                 'server_changed': ''}
        try:
            now, attached = self._reread(volume)
        except Exception as e:
            shows = 'unknown'
            words['reread'] = errors.what_happened(e)
        else:
            words['status'] = now.status
            shows = ('gone' if not attached else
                     'detaching' if now.status == 'detaching' else
                     'attached')
        LOG.info('Volume %s: the DELETE failed (%s); read again, it is %s',
                 volume.label, said_kind, shows)
        if (said_kind, shows) not in AFTER_FAILED_DETACH:
            said_kind = 'refused' if said_kind == 'flow control' \
                else 'no answer'
        if (said_kind, shows) == ('refused', 'attached'):
            # Say whether someone else changed the server first.
            changed = self._server_changed()
            words['server_changed'] = '. Meanwhile %s' % changed \
                if changed else ''
        accepted, template = AFTER_FAILED_DETACH[(said_kind, shows)]
        text = template.format(**words)
        if accepted:
            return Sent(volume, True, note=text)
        return Sent(volume, False, reason=text)

    def _server_changed(self):
        """'server X changed meanwhile: ...' or None."""
        try:
            now = self.gatherer.server_by_id(self.server.id)
        except Exception:
            return None
        before, after = describe_server(self.server), describe_server(now)
        if before == after:
            return None
        return ('server %s changed: it was %s when checked and is %s now '
                '(someone else stopped, started or changed it)' % (
                    self.server.label, before, after))

    def _native(self):
        if not hasattr(self, '_ecs'):
            self._ecs = detach.native_endpoint(self.compute)
        return self._ecs

    def _send(self):
        """Send every DELETE at once (bounded); return accepted volumes.

        Each accepted volume comes with its native job ID (or None).
        """
        if self.options.api == detach.NATIVE:
            self._native()  # resolve once, before the threads
        # On Ctrl-C the caller (run) cancels what has not left yet; the
        # DELETEs on the wire cannot be called back.
        sent = side_by_side.run([functools.partial(self._send_guarded, v)
                                 for v in self.volumes], limit=MAX_PARALLEL)
        results = {result.volume.id: result for result in sent}
        accepted = []
        for volume in self.volumes:
            result = results[volume.id]
            if result.accepted:
                if result.note:
                    self.say(result.note)
                accepted.append((volume, result.job_id))
            else:
                self._fail(volume, result.reason)
        return accepted

    def _tell_accepted(self, volumes):
        """Without --wait: the detach has only begun, and may be undone."""
        self.say('Detach of %s %s accepted; the cloud may still roll it '
                 'back: follow it with %s, or use --wait.' % (
                     'volume' if len(volumes) == 1 else 'volumes',
                     ', '.join(v.label for v in volumes),
                     self.check_command()))

    def _fail(self, volume, reason):
        self.failures[volume.id] = reason
        self.say('Failed to detach volume %s from server %s: %s' % (
            volume.label, self.server.label, reason))

    def _wait(self, accepted):
        volumes = [volume for volume, _ in accepted]
        if self.options.api == detach.NATIVE:
            volumes = self._wait_jobs(accepted)
        by_id = {v.id: v for v in volumes}
        if not volumes:
            return
        try:
            # After native jobs the last look was a second ago already:
            # their SUCCESS is confirmed at once.  After a DELETE the
            # first look waits a second, as every poll does.
            native = self.options.api == detach.NATIVE
            outcomes = wait.wait_detached(self.gatherer, self.server,
                                          list(by_id),
                                          self.poller(immediate=native),
                                          self.progress)
        except errors.FAILURES as e:
            self.progress.done()
            for volume in volumes:
                self._fail(volume, 'the detach was accepted, but following '
                           'it failed: %s; it may still complete: check it '
                           'with %s' % (e, self.check_command(volume)))
            return
        for vid, (outcome, status) in outcomes.items():
            volume = by_id[vid]
            if outcome == wait.DETACHED:
                self.say('Volume %s is detached from server %s.' % (
                    volume.label, self.server.label))
            elif outcome == wait.ROLLED_BACK:
                self._fail(volume, ROLLED_BACK)
            elif outcome == wait.FAILED:
                self._fail(volume, 'the volume went to status %s; check '
                           'it with %s' % (status, self.check_command(
                               volume)))
            else:
                self._fail(volume, 'the detach was accepted, but it timed '
                           'out after %d s waiting for it to leave the '
                           'server; the detach may still complete: check '
                           'it with %s' % (
                               self.options.timeout,
                               self.check_command(volume)))

    def _wait_jobs(self, accepted):
        """Wait on each native job; return the volumes whose job succeeded.

        A job's SUCCESS is confirmed with the attachment list afterwards,
        as another cloud of OTC's lineage was seen to report it early.
        """
        # A detach whose answer was lost has no job to follow: the
        # attachment list tells.
        succeeded = [volume for volume, job_id in accepted if not job_id]
        accepted = [(volume, job_id) for volume, job_id in accepted
                    if job_id]
        for volume, job_id in accepted:
            self.say('Volume %s: ECS job %s started.' % (volume.label,
                                                         job_id))
        outcomes = wait.wait_jobs(functools.partial(detach.job_status,
                                                    self._native()),
                                  [job_id for _, job_id in accepted],
                                  self.poller(), self.progress)
        for volume, job_id in accepted:
            status, found = outcomes[job_id]
            if status == 'SUCCESS':
                succeeded.append(volume)
            elif status == 'FAIL':
                code = found.get('error_code')
                hint = errors.HINTS.get(code)
                self._fail(volume, 'job %s failed: %s%s%s' % (
                    job_id, found.get('fail_reason') or 'no reason given',
                    ' (%s)' % code if code else '',
                    '. Hint: %s' % hint if hint else ''))
            elif status == wait.FAILED:
                self._fail(volume, 'the detach was accepted (job %s), but '
                           'following it failed: %s; it may still complete: '
                           'check it with %s' % (
                               job_id, found, self.check_command(volume)))
            else:
                self._fail(volume, 'job %s did not end within %d s; the '
                           'detach may still complete: check it with %s' % (
                               job_id, self.options.timeout,
                               self.check_command(volume)))
        return succeeded
