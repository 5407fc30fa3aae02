"""Carrying a plan out, step by step, into the record.

The :class:`Runner` executes the plan's steps in order: snapshots,
os-stop, the detaches, the wait, os-start.  Every write is entered in
the record before it is sent and updated as its answer comes in.  Before
a write sent later than :data:`plan.FRESH_FOR` seconds after the facts
were read, the facts that can change are read again and every rule is
judged again: a write whose rules no longer hold is not sent.  Whatever
ends the run (an answer, an exception, Ctrl-C), :meth:`Runner.run` ends
with the closing step, which starts an ECS this run stopped when the
plan says so, and leaves the rest to what the record says.
"""

import functools
import logging
import time

from otcclient_detach import cloud
from otcclient_detach import detach
from otcclient_detach import errors
from otcclient_detach import following
from otcclient_detach import model
from otcclient_detach import plan as plans
from otcclient_detach import power
from otcclient_detach import record
from otcclient_detach import side_by_side
from otcclient_detach import snapshotting
from otcclient_detach import wait
from otcclient_detach import writes

Kind, State = record.Kind, record.State
LOG = logging.getLogger(__name__)

#: DELETEs in flight at once: enough for "three disks as fast as one",
#: few enough not to trip OTC's flow control; fewer are sent in a round
#: after the cloud pushed back.
MAX_PARALLEL = 4
#: Seconds the second look before a late write may take, retries
#: included; then the write is not sent.
RECHECK_SECONDS = 30.0
#: The pause after flow control when the cloud names none, and the most
#: a cloud's Retry-After may ask of a write (doc/source/hardening.rst).
FLOW_DELAY = 1.0
MAX_FLOW_DELAY = 10.0


class Runner(object):
    def __init__(self, gatherer, plan, record_, progress=None,
                 checked_at=None, clock=time.monotonic, sleep=time.sleep):
        self.gatherer = gatherer
        self.reads = gatherer.reads
        self.plan = plan
        self.options = plan.options
        self.server = plan.server
        self.record = record_
        self.progress = progress
        self.clock = clock
        self.sleep = sleep
        #: When the facts the next write rests on were read.
        self.checked_at = clock() if checked_at is None else checked_at
        self._native = None

    def poller(self, immediate=False):
        return wait.Poller(self.options.timeout, immediate=immediate,
                           clock=self.clock, sleep=self.sleep)

    # -- the run -----------------------------------------------------------

    def run(self):
        """Carry the plan out; whatever ends it is kept in the record."""
        try:
            self._steps()
        except BaseException as e:  # Ctrl-C, SIGTERM, a bug: all recorded
            if isinstance(e, KeyboardInterrupt):
                self.record.cancel()
            self.record.ended_by = e
            if self.progress:
                self.progress.done()
        finally:
            self._closing()
        return self.record

    def _steps(self):
        steps = [s.kind for s in self.plan.steps]
        if plans.SNAPSHOT in steps and not self._snapshots():
            return
        if plans.STOP in steps and not self._stop():
            return
        accepted = self._detaches(self.plan.volumes)
        if plans.WAIT in steps and accepted:
            self._wait(accepted)
        if plans.START in steps:
            self._power(Kind.START)

    def _closing(self):
        """Start the ECS again if the plan says so and it has not been.

        After Ctrl-C or a signal no further write is sent: the record
        then has an unsent os-start, and render says how to start it.
        """
        if not self.plan.has(plans.START) or self.record.of(Kind.START):
            return
        if not self.record.stopped_by_us():
            return
        if self.record.cancelled.is_set():
            self.record.update(self.record.add(Kind.START, self.server),
                               State.NOT_SENT, why='interrupted')
            return
        stop = self.record.last(Kind.STOP)
        if stop.state != State.CONFIRMED and stop.why == 'timed out':
            self.record.update(self.record.add(Kind.START, self.server),
                               State.NOT_SENT, why='stop failed')
            return
        try:
            self._power(Kind.START)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                self.record.cancel()
            self.record.ended_by = self.record.ended_by or e

    # -- a second look before a late write ---------------------------------

    def _stale(self):
        return self.clock() - self.checked_at > plans.FRESH_FOR

    def _recheck(self, volumes, will_stop=False):
        """{volume ID: refusing findings} after reading the facts again.

        ``will_stop``: an os-stop of the plan is still to come before the
        write, so the server is judged as the stopped one it will make.
        Raises what reading failed with: then nothing is sent.
        """
        facts = [f for f in self.plan.facts
                 if f.volume.id in {v.id for v in volumes}]
        with cloud.deadline(time.monotonic() + RECHECK_SECONDS):
            fresh = self.gatherer.refresh(facts, stop_first=will_stop)
        self.checked_at = self.clock()
        self.server = fresh[0].server if fresh else self.server
        return plans.rejudge(fresh, self.options, will_stop)

    # -- snapshots -----------------------------------------------------------

    def _snapshots(self):
        """One EVS snapshot per volume, each available; else False."""
        return snapshotting.take(self)

    # -- os-stop and os-start ------------------------------------------------

    def _stop(self):
        """os-stop after a second look if needed; True to go on.

        The second look judges the detaches as they will be made: after
        the stop (the server judged stopped).  A server stopped meanwhile
        needs no os-stop, but its other rules (a lock, a task, the disk's
        status) still hold the writes back.
        """
        if self._stale():
            refused = self._recheck(self.plan.volumes, will_stop=True)
            if refused:
                self._not_sent(self.plan.volumes, refused)
                return False
            if self.server.status == model.SHUTOFF:
                return True  # stopped meanwhile: nothing to stop
        return self._power(Kind.STOP)

    def _power(self, kind):
        """Send os-stop / os-start once, then wait for the server."""
        return power.Power(self, kind).run()

    # -- the detaches --------------------------------------------------------

    def _not_sent(self, volumes, refused):
        for volume in volumes:
            entry = self.record.detach_of(volume.id) or \
                self.record.add(Kind.DETACH, volume)
            found = tuple(refused.get(volume.id, ()))
            # --if-attached: a volume that left the server meanwhile is
            # what the user asked for.
            why = 'left meanwhile' if self.options.if_attached and \
                [f.rule for f in found] == ['attached'] else 'rules'
            self.record.update(entry, State.NOT_SENT, why=why,
                               refused_by=found)

    def _detaches(self, volumes):
        """Send every DETACH; return the accepted entries.

        A write the cloud's flow control turned away is sent again after
        a pause, within --timeout, with its facts checked again first
        when they are no longer fresh.  Once the cloud pushed back, the
        writes go out paced: a round at most as large as the cloud took
        in the last one (growing while it takes them all), a pause
        between rounds.
        """
        entries = {v.id: self.record.add(Kind.DETACH, v) for v in volumes}
        pacing = _Pacing(len(volumes), self.clock() + self.options.timeout,
                         self.clock)
        pending = list(volumes)
        while pending:
            round_, pending = pending[:pacing.budget], \
                pending[pacing.budget:]
            round_ = self._still_allowed(round_)
            sent = side_by_side.run(
                [functools.partial(self._send, entries[v.id], v)
                 for v in round_], limit=MAX_PARALLEL)
            again = [v for v, s in zip(round_, sent) if s]
            pending = again + pending
            if not pending:
                break
            pause = pacing.after(len(round_), len(again), self._flow_pause(
                entries[again[0].id] if again else None))
            if pause is None:  # --timeout reached: tell what is left
                for volume in pending:
                    entry = entries[volume.id]
                    self.record.update(entry, entry.state,
                                       why='flow control')
                break
            self.sleep(pause)
        return [e for e in entries.values()
                if e.state in (State.ACCEPTED, State.CONFIRMED)]

    def _still_allowed(self, volumes):
        """The volumes whose rules still hold (a second look if stale)."""
        if not self._stale():
            return volumes
        try:
            refused = self._recheck(volumes)
        except errors.FAILURES as e:
            for volume in volumes:
                self.record.update(self.record.detach_of(volume.id),
                                   State.NOT_SENT, why='recheck failed',
                                   said=e)
            return []
        self._not_sent([v for v in volumes if v.id in refused], refused)
        return [v for v in volumes if v.id not in refused]

    def _flow_pause(self, entry):
        """The pause the cloud asked for (Retry-After, capped), or None."""
        wanted = getattr(entry.said, 'wait_hint', None) if entry else None
        if wanted is None:
            return None
        return min(max(wanted, 0.0), MAX_FLOW_DELAY)

    def native(self):
        if self._native is None:
            self._native = detach.native_endpoint(self.reads.compute)
        return self._native

    def _send(self, entry, volume):
        """Send one DETACH into ``entry``; True when it must go again."""
        if not self.record.sending(entry):
            self.record.listener(entry)
            return False
        native = self.native() if self.options.api == plans.NATIVE \
            else None
        try:
            sent = writes.send_detach(self.reads, native, self.server,
                                      volume, self.options.force_detach)
        except Exception as e:  # a bug; still recorded and told
            self.record.update(entry, State.UNKNOWN, why='bug', said=e)
            return False
        entry.detail.update(sent.detail)
        if sent.again:
            self.record.update(entry, State.REFUSED, why='flow control',
                               said=sent.said, tell=False)
            return True
        why = 'after failure' if sent.said is not None else None
        if sent.state == State.ACCEPTED and why is None:
            LOG.info('Volume %s: the cloud accepted the detach%s',
                     volume.label, ' (job %s)' % sent.job_id
                     if sent.job_id else '')
        self.record.update(entry, sent.state, why=why, said=sent.said,
                           job_id=sent.job_id)
        return False

    # -- waiting -------------------------------------------------------------

    def _wait(self, accepted):
        following.follow(self, accepted)


class _Pacing(object):
    """How many writes the next round sends, and the pause before it."""

    def __init__(self, total, deadline, clock):
        self.clock = clock
        self.budget = total
        self.deadline = deadline
        self.delay = FLOW_DELAY
        self.paced = False

    def after(self, sent, turned_away, asked):
        """The pause before the next round, or None past the deadline.

        ``asked`` is the pause the cloud asked for, if any.
        """
        taken = sent - turned_away
        if turned_away:
            self.paced = True
            self.budget = max(1, taken)
            self.delay = FLOW_DELAY if taken else min(self.delay * 2,
                                                      MAX_FLOW_DELAY)
        elif self.paced:
            self.budget += max(1, self.budget // 2)
        else:
            return 0.0
        pause = self.delay if asked is None else asked
        return pause if self.clock() + pause <= self.deadline else None
