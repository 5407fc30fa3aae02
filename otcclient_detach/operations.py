"""Carrying out a detach that the rules allowed: stop, detach, wait, start.

Every step is told on stderr (stdout stays for data); every volume's
outcome is collected so that one failure does not hide the others.
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
        self.failures = {}
        self.sent = False
        self._time = {}
        if clock:
            self._time['clock'] = clock
        if sleep:
            self._time['sleep'] = sleep

    def say(self, text):
        self.stderr.write(text + '\n')
        self.stderr.flush()

    def poller(self):
        return wait.Poller(self.options.timeout, **self._time)

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
            return EXIT_FAILED
        return EXIT_OK

    def _stop(self, was_running):
        if not was_running:
            self.say('Server %s is %s already; not stopping it.' % (
                self.server.label, self.server.status))
            return True
        self.say('Stopping server %s (os-stop) ...' % self.server.label)
        try:
            detach.stop_server(self.compute, self.server.id)
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
        except cloud.CloudError as e:
            self.say('The cloud refused to stop server %s: %s; nothing was '
                     'detached.' % (self.server.label, e))
            return False
        self.say('Server %s is stopped (SHUTOFF).' % self.server.label)
        return True

    def _start(self):
        self.say('Starting server %s again (os-start) ...' % self.server.label)
        try:
            detach.start_server(self.compute, self.server.id)
            wait.wait_server_status(self.gatherer, self.server.id,
                                    model.ACTIVE, self.poller(),
                                    self.progress)
        except wait.Timeout:
            self.say('Server %s did not become ACTIVE within %d s; check it '
                     "with 'openstack server show %s'." % (
                         self.server.label, self.options.timeout,
                         self.server.label))
            self.failures.setdefault('start', 'server did not start')
            return
        except wait.WentWrong:
            self.say('Server %s went to status ERROR while starting; check '
                     "it with 'openstack server show %s'." % (
                         self.server.label, self.server.label))
            self.failures.setdefault('start', 'server went to ERROR')
            return
        except cloud.CloudError as e:
            self.say('The cloud refused to start server %s again: %s' % (
                self.server.label, e))
            self.failures.setdefault('start', str(e))
            return
        self.say('Server %s is running (ACTIVE) again.' % self.server.label)

    def _send_one(self, volume):
        if self.options.api == detach.NATIVE:
            return detach.detach_native(self._native(), self.server.id,
                                        volume.id,
                                        force=self.options.force_detach)
        detach.detach_nova(self.compute, self.server.id, volume.id)
        return None

    def _native(self):
        if not hasattr(self, '_ecs'):
            self._ecs = detach.native_endpoint(self.compute)
        return self._ecs

    def _send(self):
        """Send every DELETE at once (bounded); return accepted volumes."""
        if self.options.api == detach.NATIVE:
            self._native()  # resolve once, before the threads
        accepted = {}
        workers = min(MAX_PARALLEL, len(self.volumes))
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            futures = {pool.submit(self._send_one, v): v
                       for v in self.volumes}
            self.sent = True
            for future in concurrent.futures.as_completed(futures):
                volume = futures[future]
                try:
                    accepted[volume.id] = (volume, future.result())
                except detach.NotAttached as e:
                    self._fail(volume, 'the cloud says it is not attached '
                               '(any more): %s' % e)
                except Exception as e:
                    self._fail(volume, 'the cloud refused: %s' % e)
        return [accepted[v.id] for v in self.volumes if v.id in accepted]

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
            outcomes = wait.wait_detached(self.gatherer, self.server,
                                          list(by_id), self.poller(),
                                          self.progress)
        except cloud.CloudError as e:
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
        succeeded = []
        for volume, job_id in accepted:
            self.say('Volume %s: ECS job %s started.' % (volume.label,
                                                         job_id))
        # The jobs run side by side in the cloud: one deadline for all.
        poller = self.poller()
        for volume, job_id in accepted:
            try:
                status, body = wait.wait_job(self._native(), job_id,
                                             poller, self.progress)
            except wait.Timeout:
                self._fail(volume, 'job %s did not end within %d s; the '
                           'detach may still complete: check it with %s' % (
                               job_id, self.options.timeout,
                               self.check_command(volume)))
                continue
            if status == 'SUCCESS':
                succeeded.append(volume)
            else:
                reason = body.get('fail_reason') or 'no reason given'
                code = body.get('error_code')
                hint = cloud.HINTS.get(code)
                self._fail(volume, 'job %s failed: %s%s%s' % (
                    job_id, reason, ' (%s)' % code if code else '',
                    '. Hint: %s' % hint if hint else ''))
        return succeeded
