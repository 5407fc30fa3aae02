"""os-stop and os-start: one write each, then the server followed.

When the write fails, the server is read again: a server that is at the
target status, or on its way there, goes on whoever sent it (the answer
may have been lost); otherwise the entry says what the cloud said and
what the server is now.
"""

from otcclient_detach import errors
from otcclient_detach import model
from otcclient_detach import record
from otcclient_detach import wait
from otcclient_detach import writes

Kind, State = record.Kind, record.State

#: kind -> (request, target status, task state on the way)
STEPS = {
    Kind.STOP: ('os-stop', model.SHUTOFF, 'powering-off'),
    Kind.START: ('os-start', model.ACTIVE, 'powering-on'),
}


class Power(object):
    """One os-stop or os-start of the runner's server."""

    def __init__(self, runner, kind):
        self.runner = runner
        self.record = runner.record
        self.kind = kind
        self.request, self.target, self.task = STEPS[kind]
        self.server = runner.server

    def run(self):
        """True when the server got there; the record says the rest."""
        entry = self.record.add(self.kind, self.server)
        if not self.record.sending(entry):
            self.record.listener(entry)
            return False
        self.record.listener(entry)  # announced: "Stopping server ..."
        error = writes.send_power(self.runner.reads, self.request,
                                  self.server)
        if error is not None and not self._went_on(entry, error):
            return False
        self.record.update(entry, State.ACCEPTED, tell=False)
        return self._follow(entry)

    def _went_on(self, entry, error):
        """After a failed write: is the server getting there anyway?"""
        entry.said = error
        now = writes.server_now(self.runner.reads, self.server)
        if isinstance(now, Exception):
            self.record.update(entry, State.UNKNOWN, why='reread failed',
                               reread=now)
            return False
        entry.detail['now'] = now
        if now.status == self.target or now.task_state == self.task:
            entry.detail['went_on'] = True  # told with the outcome
            return True
        if errors.may_still_happen(error):
            state, why = State.UNKNOWN, 'in flight'
        elif errors.is_ambiguous(error):
            state, why = State.REFUSED, 'no answer'
        else:
            state, why = State.REFUSED, 'refused'
        self.record.update(entry, state, why=why)
        return False

    def _follow(self, entry):
        runner = self.runner
        try:
            wait.wait_server_status(runner.reads, self.server.id,
                                    self.target, runner.poller(),
                                    runner.progress)
        except wait.Timeout:
            entry.detail['now'] = writes.server_now(runner.reads,
                                                    self.server)
            self.record.update(entry, State.ACCEPTED, why='timed out')
            return False
        except wait.WentWrong:
            self.record.update(entry, State.REFUSED, why='error status')
            return False
        except errors.FAILURES as e:
            self.record.update(entry, State.UNKNOWN, why='not followed',
                               said=e)
            return False
        self.record.update(entry, State.CONFIRMED)
        return True
