"""Polling: until volumes leave a server, a server reaches a status, or an
ECS job ends.

A DELETE only starts a detach.  It is finished when the volume has left
the server's attachment list (nova's API reference and tempest wait so);
the volume status alone cannot tell for a multiattach volume, which stays
``in-use`` while another server holds it.  It failed when the guest did not
let go: the cloud then rolls the volume back to ``in-use`` with the
attachment kept.
"""

import functools
import time

from otcclient_detach import cloud
from otcclient_detach import errors
from otcclient_detach import side_by_side

FIRST_INTERVAL = 1.0
MAX_INTERVAL = 5.0
BACKOFF = 1.5
#: How long looks stay a second apart while the cloud is at work: a
#: detach usually takes a few seconds (2-10 s on the simulator's timings);
#: one still detaching after that is slow or stuck, and the looks back
#: off.
STEADY_FOR = 12.0
#: Looks that may see a volume still ``in-use`` and attached before the
#: cloud has marked it ``detaching``; on the third such look in a row it
#: counts as rolled back (doc/source/operations.rst: "three looks").  A
#: cloud that marks the volume late is given that long.
IN_USE_GRACE_POLLS = 3

DETACHED = 'detached'
ROLLED_BACK = 'rolled back'
FAILED = 'failed'
TIMED_OUT = 'timed out'


class Timeout(Exception):
    pass


class WentWrong(Exception):
    """The server went to ERROR while we waited for another status."""

    def __init__(self, server):
        self.server = server
        super(WentWrong, self).__init__(server.status)


class Poller(object):
    """When to look again: every second at first, backing off to 5 s.

    The schedule follows the cloud: while the caller sees work under way
    (a volume ``detaching``) it calls :meth:`steady` and the next look
    comes a second later again, so the end of a detach is seen within
    about a second; the looks back off while nothing is happening, and
    after :data:`STEADY_FOR` seconds of work that has not ended.
    Looks never start less than a second apart (a slow look is not
    followed by a pause on top): rather than a last hurried look just
    before the deadline, the wait ends a little early.  ``immediate``
    takes a first look at once (e.g. to see a volume ``detaching`` right
    after the DELETE), then goes on as usual.
    """

    def __init__(self, timeout, clock=time.monotonic, sleep=time.sleep,
                 immediate=False):
        self.clock = clock
        self.sleep = sleep
        self.immediate = immediate
        self.started = clock()
        self.deadline = self.started + timeout
        self.interval = FIRST_INTERVAL

    def steady(self):
        """The cloud is at work: look again in a second, not later."""
        if self.elapsed < STEADY_FOR:
            self.interval = FIRST_INTERVAL

    @property
    def elapsed(self):
        return self.clock() - self.started

    def __iter__(self):
        # Intervals run from the start of one look to the start of the
        # next, so the time a look takes (round trips) is not added to
        # every interval.
        last = self.clock()
        if self.immediate:
            yield
        self.interval = FIRST_INTERVAL
        while True:
            now = self.clock()
            remaining = self.deadline - now
            if remaining < FIRST_INTERVAL:
                return
            interval = self.interval
            pause = min(last + interval - now, remaining)
            if pause > 0:
                self.sleep(pause)
            last = self.clock()
            # Backed off unless the look about to be taken calls steady().
            self.interval = min(interval * BACKOFF, MAX_INTERVAL)
            yield


def _bounded(poller):
    """The poller's looks, each under its deadline (cloud.deadline).

    No request of a look waits, nor retries, beyond the deadline: a
    hanging cloud or a long Retry-After cannot stretch --timeout.
    """
    for look in poller:
        with cloud.deadline(poller.deadline, poller.clock):
            yield look


def not_served(error):
    """Whether EVS's disk list is not to be had here (use nova's list).

    Not found, refused, not implemented, or an answer of another shape;
    a cloud that is briefly unwell is asked again instead.
    """
    if isinstance(error, errors.BrokenAnswer):
        return True
    return isinstance(error, errors.CloudError) and \
        error.status in (400, 403, 404, 405, 501)


class BatchLook(object):
    """One read a look for a whole batch: EVS's disk list of the server.

    Every disk still on the server comes with its status and attachments
    in that one answer; a disk missing from it has left the server.
    Where EVS's list is not to be had (refused, not served, broken), the
    look falls back for good to nova's attachment list plus a GET of
    each volume still listed.
    """

    def __init__(self, reads, server):
        self.reads = reads
        self.server = server
        self.listed = True

    def __call__(self, volume_ids):
        """{volume ID: model.Volume still on the server, or None (left)}."""
        if self.listed:
            try:
                disks = {d.id: d for d in self.reads.disks_of(self.server)}
            except errors.FAILURES as e:
                if not not_served(e):
                    raise
                self.listed = False
            else:
                return {vid: disks.get(vid) for vid in volume_ids}
        listed = {a.get('volumeId')
                  for a in self.reads.attachments(self.server.id)}
        still = [vid for vid in volume_ids if vid in listed]
        volumes = side_by_side.run(
            functools.partial(self.reads.volume_by_id, vid) for vid in still)
        found = dict.fromkeys(volume_ids)
        found.update(zip(still, volumes))
        return found


def wait_detached(look, server, volume_ids, poller, progress=None):
    """Wait until each volume has left the server; return their outcomes.

    ``look(volume_ids)`` (a :class:`BatchLook`) gives each volume still
    on the server, None for one that left.  The outcome of each volume
    ID is DETACHED, ROLLED_BACK, FAILED (with the volume status) or
    TIMED_OUT.
    """
    pending = {vid: {'detaching': False, 'in_use': 0} for vid in volume_ids}
    outcomes = {}
    for _ in _bounded(poller):
        try:
            found = look(list(pending))
        except Exception as e:
            if not errors.worth_another_look(e):
                raise
            found = {}
        for vid, volume in found.items():
            if volume is None:  # no longer listed for the server
                outcomes[vid] = (DETACHED, None)
                continue
            verdict = _judge(volume, server, pending[vid])
            if verdict:
                outcomes[vid] = verdict
            elif volume.status == 'detaching':
                poller.steady()
        for vid in outcomes:
            pending.pop(vid, None)
        if not pending:
            break
        if progress:
            progress.volumes(len(pending), len(volume_ids), server,
                             poller.elapsed)
    if progress:
        progress.done()
    for vid in pending:
        outcomes[vid] = (TIMED_OUT, None)
    return outcomes


def _judge(volume, server, seen):
    """The outcome for a volume still in the attachment list, or None."""
    status = volume.status
    if status == 'detaching':
        seen['detaching'] = True
        return None
    if status.startswith('error'):
        return FAILED, status
    if status == 'in-use' and volume.attachment_to(server.id):
        seen['in_use'] += 1
        if seen['detaching'] or seen['in_use'] >= IN_USE_GRACE_POLLS:
            return ROLLED_BACK, status
    return None


def wait_server_status(reads, server_id, status, poller, progress=None):
    """Wait until the server has ``status`` and no task; return it."""
    for _ in _bounded(poller):
        try:
            server = reads.server_by_id(server_id)
        except Exception as e:
            if not errors.worth_another_look(e):
                raise
            continue
        if progress:
            progress.server(server, poller.elapsed)
        if server.status == status and not server.task_state:
            if progress:
                progress.done()
            return server
        if server.status == 'ERROR':
            if progress:
                progress.done()
            raise WentWrong(server)
    if progress:
        progress.done()
    raise Timeout(status)


def wait_jobs(job_status, job_ids, poller, progress=None):
    """Wait for ECS jobs that run side by side (see :func:`wait_ended`).

    ``job_status(job_id)`` asks the cloud for one job and returns its
    status and body; a job ends in ``SUCCESS`` or ``FAIL``.
    """
    return wait_ended(job_status, job_ids,
                      lambda status: status in ('SUCCESS', 'FAIL'),
                      poller, progress, 'ECS job')


def wait_ended(status_of, ids, ended, poller, progress=None, noun='item'):
    """Wait until each of ``ids`` has ended; return their outcomes.

    ``status_of(id)`` asks the cloud and returns ``(status, body)``;
    ``ended(status)`` says whether that status is final.  Each round asks
    for every one still going, under one deadline.  The outcome of each
    ID is ``(status, body)``, ``(TIMED_OUT, None)``, or ``(FAILED,
    error)`` when asking for it failed for good.
    """
    pending = list(ids)
    outcomes = {}
    for _ in _bounded(poller):
        for item in list(pending):
            try:
                status, body = status_of(item)
            except Exception as e:
                if not errors.worth_another_look(e):
                    outcomes[item] = (FAILED, e)
                    pending.remove(item)
                continue
            if ended(status):
                outcomes[item] = (status, body)
                pending.remove(item)
        if not pending:
            break
        if progress:
            progress.items(len(pending), len(ids), noun, poller.elapsed)
    if progress:
        progress.done()
    for item in pending:
        outcomes[item] = (TIMED_OUT, None)
    return outcomes
