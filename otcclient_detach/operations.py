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

import concurrent.futures

from otcclient_detach import cloud
from otcclient_detach import detach
from otcclient_detach import model
from otcclient_detach import wait

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


def describe_server(server):
    """'ACTIVE', 'ACTIVE, task powering-off', 'SHUTOFF, locked'."""
    text = server.status
    if server.task_state:
        text += ', task %s' % server.task_state
    if server.locked:
        text += ', locked'
    return text


class Options(object):
    def __init__(self, api=detach.NOVA, wait=False, timeout=300,
                 force_detach=False, stop_server=False, start_server=False):
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
        self.sent = False
        #: os-stop sent by this command; os-start sent by it.
        self.stopped = False
        self.started = False
        self._time = {}
        if clock:
            self._time['clock'] = clock
        if sleep:
            self._time['sleep'] = sleep

    def say(self, text):
        self.stderr.write(text + '\n')
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
        except KeyboardInterrupt:
            self.progress.done()
            if self.sent:
                self.say('Interrupted: stopped waiting. The detach goes on '
                         'in the cloud; check it with %s.' %
                         self.check_command())
            else:
                self.say('Interrupted: nothing was detached.')
            if self.options.start_server and self.stopped and \
                    not self.started:
                self.say("Server %s was stopped by this command and stays "
                         "stopped (SHUTOFF or on its way): it was not started "
                         "again; start it with 'openstack server start %s'." %
                         (self.server.label, self.server.label))
            return EXIT_INTERRUPTED

    def _run(self):
        was_running = self.server.status == model.ACTIVE
        if self.options.stop_server:
            if not self._stop(was_running):
                return EXIT_FAILED
        accepted = self._send()
        if self.options.wait and accepted:
            self._wait(accepted)
        if self.options.start_server and was_running:
            self._start()
        if self.failures:
            self.say('%d of %d volumes failed to detach.' % (
                len(self.failures), len(self.volumes)))
        return EXIT_FAILED if self.failures or self.start_failed else EXIT_OK

    def _stop(self, was_running):
        if not was_running:
            self.say('Server %s is %s already; not stopping it.' % (
                self.server.label, self.server.status))
            return True
        self.say('Stopping server %s (os-stop) ...' % self.server.label)
        self.stopped = True
        try:
            detach.stop_server(self.compute, self.server.id)
        except cloud.FAILURES as e:
            if not self._power_went_on(e, 'stop', model.SHUTOFF,
                                       'powering-off'):
                return False
        try:
            wait.wait_server_status(self.gatherer, self.server.id,
                                    model.SHUTOFF, self.poller(),
                                    self.progress)
        except wait.Timeout:
            self.say('Server %s did not stop within %d s; nothing was '
                     'detached.' % (self.server.label, self.options.timeout))
            return False
        except wait.WentWrong:
            self.say('Server %s went to status ERROR while stopping; nothing '
                     "was detached. Check it with 'openstack server show "
                     "%s'." % (self.server.label, self.server.label))
            return False
        except cloud.FAILURES as e:
            self.say('Following server %s while it stops failed: %s; '
                     'nothing was detached. Check it with \'openstack server '
                     'show %s\'.' % (self.server.label, e, self.server.label))
            return False
        self.say('Server %s is stopped (SHUTOFF).' % self.server.label)
        return True

    def _start(self):
        self.say('Starting server %s again (os-start) ...' % self.server.label)
        self.started = True
        try:
            detach.start_server(self.compute, self.server.id)
        except cloud.FAILURES as e:
            if not self._power_went_on(e, 'start', model.ACTIVE,
                                       'powering-on'):
                self.start_failed = True
                return
        try:
            wait.wait_server_status(self.gatherer, self.server.id,
                                    model.ACTIVE, self.poller(),
                                    self.progress)
        except wait.Timeout:
            self.say('Server %s did not become ACTIVE within %d s; check it '
                     "with 'openstack server show %s'." % (
                         self.server.label, self.options.timeout,
                         self.server.label))
            self.start_failed = True
            return
        except wait.WentWrong:
            self.say('Server %s went to status ERROR while starting; check '
                     "it with 'openstack server show %s'." % (
                         self.server.label, self.server.label))
            self.start_failed = True
            return
        except cloud.FAILURES as e:
            self.say('Following server %s while it starts failed: %s; check '
                     "it with 'openstack server show %s'." % (
                         self.server.label, e, self.server.label))
            self.start_failed = True
            return
        self.say('Server %s is running (ACTIVE) again.' % self.server.label)

    def _power_went_on(self, error, action, target, task):
        """After a failed os-stop/os-start: is the server getting there?

        Reads the server again.  True when it is at ``target`` or on its
        way (``task``), whoever did it; otherwise the user is told what
        happened and False is returned.
        """
        label = self.server.label
        happened = cloud.what_happened(error, 'os-%s' % action)
        after = '; nothing was detached' if action == 'stop' else ''
        try:
            now = self.gatherer.server_by_id(self.server.id)
        except Exception as e:
            self.say('Server %s: %s, and reading the server again failed too '
                     "(%s)%s. Check it with 'openstack server show %s'." % (
                         label, happened, cloud.what_happened(e), after,
                         label))
            return False
        if now.status == target or now.task_state == task:
            self.say('Server %s: %s, but the server is %s now: going on.' % (
                label, happened, describe_server(now)))
            return True
        if cloud.may_still_happen(error):
            self.say('Server %s: %s; the server is still %s for now, but the '
                     'cloud may still carry the os-%s out%s. Check it with '
                     "'openstack server show %s'." % (
                         label, happened, describe_server(now), action,
                         after, label))
        elif cloud.is_ambiguous(error):
            self.say('Server %s: %s, and the server is still %s: it was not '
                     '%s%s. Run the command again.' % (
                         label, happened, describe_server(now),
                         'stopped' if action == 'stop' else 'started',
                         after))
        elif action == 'stop':
            self.say('The cloud refused to stop server %s: %s; nothing was '
                     'detached.' % (label, error))
        else:
            self.say('The cloud refused to start server %s again: %s' % (
                label, error))
        return False

    def _send_one(self, volume):
        """Send one DELETE; on failure, find out what became of it."""
        try:
            if self.options.api == detach.NATIVE:
                job_id = detach.detach_native(
                    self._native(), self.server.id, volume.id,
                    force=self.options.force_detach)
            else:
                detach.detach_nova(self.compute, self.server.id, volume.id)
                job_id = None
        except (detach.NotAttached,) + cloud.FAILURES as e:
            return self._after_failed_detach(volume, e)
        return Sent(volume, True, job_id)

    def _reread(self, volume):
        """(volume now, still in the server's attachment list?)."""
        listed = {a.get('volumeId')
                  for a in self.gatherer.attachments(self.server.id)}
        return self.gatherer.volume_by_id(volume.id), volume.id in listed

    def _after_failed_detach(self, volume, error):
        """Judge a failed DELETE by the state read again; return a Sent."""
        label = volume.label
        check = self.check_command(volume)
        not_found = isinstance(error, detach.NotAttached)
        if not_found:
            said = 'the cloud says it is not attached (any more): %s' % error
        elif cloud.is_ambiguous(error):
            said = cloud.what_happened(error, 'the DELETE')
        else:
            said = 'the cloud refused: %s' % error
        try:
            now, attached = self._reread(volume)
        except Exception as e:
            if cloud.is_ambiguous(error):
                return Sent(volume, False, reason=(
                    '%s, and reading the volume again failed too (%s): the '
                    'detach may or may not have been accepted; check it '
                    'with %s' % (said, cloud.what_happened(e), check)))
            return Sent(volume, False, reason='%s (reading the volume '
                        'again failed too: %s)' % (
                            said, cloud.what_happened(e)))
        detaching = now.status == 'detaching'
        if not_found:
            if not attached:
                return Sent(volume, False, reason=(
                    '%s. Someone else detached it meanwhile (its status is '
                    '%s now)' % (said, now.status)))
            if detaching:
                return Sent(volume, False, reason=(
                    '%s. It is still listed, with status detaching: a '
                    'detach of this volume is already in progress (another '
                    'client?)' % said))
            return Sent(volume, False, reason=(
                '%s. Yet it is still listed as attached (status %s): '
                'nothing was detached; check it with %s' % (
                    said, now.status, check)))
        if cloud.is_ambiguous(error):
            if detaching or not attached:
                where = ('is detaching' if attached
                         else 'has left the server (status %s)' % now.status)
                return Sent(volume, True, note=(
                    'Volume %s: %s, but the detach was accepted: the volume '
                    '%s.' % (label, said, where)))
            if cloud.may_still_happen(error):
                return Sent(volume, False, reason=(
                    '%s; the volume is still attached (status %s) for now, '
                    'but the cloud may still carry the DELETE out: check it '
                    'with %s before running the command again' % (
                        said, now.status, check)))
            return Sent(volume, False, reason=(
                '%s, and the volume is still attached (status %s): nothing '
                'was detached. Run the command again' % (said, now.status)))
        # A definite refusal: say whether someone else got there first.
        if not attached:
            race = ('it is not attached any more: someone else detached it '
                    'meanwhile (its status is %s now)' % now.status)
        elif detaching:
            race = ('a detach of this volume is already in progress '
                    '(another client?)')
        else:
            race = self._server_changed()
        return Sent(volume, False, reason='%s%s' % (
            said, '. Meanwhile %s' % race if race else ''))

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
        results = {}
        workers = min(MAX_PARALLEL, len(self.volumes))
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            self.sent = True
            futures = {pool.submit(self._send_one, v): v
                       for v in self.volumes}
            for future in concurrent.futures.as_completed(futures):
                volume = futures[future]
                try:
                    results[volume.id] = future.result()
                except Exception as e:  # a bug; still tell the user
                    results[volume.id] = Sent(volume, False, reason=(
                        'unexpected error: %s; check it with %s' % (
                            e, self.check_command(volume))))
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
        except cloud.FAILURES as e:
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
                self._fail(volume, self._rollback_reason(volume))
            elif outcome == wait.FAILED:
                self._fail(volume, 'the volume went to status %s; check '
                           'it with %s' % (status, self.check_command(
                               volume)))
            else:
                self._fail(volume, 'timed out after %d s waiting for it to '
                           'leave the server; the detach may still '
                           'complete: check it with %s' % (
                               self.options.timeout,
                               self.check_command(volume)))

    def _rollback_reason(self, volume):
        return ('the cloud rolled the detach back: the volume is in-use and '
                'still attached, so the guest did not release the disk. '
                'Likely causes: it is still mounted (Linux: umount it), I/O '
                'is running on it, or OTC Tools are missing or stopped '
                '(Windows)')

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
        outcomes = wait.wait_jobs(self._native(),
                                  [job_id for _, job_id in accepted],
                                  self.poller(), self.progress)
        for volume, job_id in accepted:
            status, found = outcomes[job_id]
            if status == 'SUCCESS':
                succeeded.append(volume)
            elif status == 'FAIL':
                code = found.get('error_code')
                hint = cloud.HINTS.get(code)
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
