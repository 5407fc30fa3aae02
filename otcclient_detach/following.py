"""Following accepted detaches until they have ended.

Native jobs are followed first (their SUCCESS is confirmed with the
server's disks afterwards: another cloud of OTC's lineage was seen to
report it early); then every accepted volume is followed with one read
a look for the whole batch (wait.BatchLook).  Each outcome goes into the
volume's record entry.
"""

import functools

from otcclient_detach import detach
from otcclient_detach import errors
from otcclient_detach import plan as plans
from otcclient_detach import record
from otcclient_detach import wait

State = record.State

#: wait's outcome -> (state, why) of the DETACH entry.
OUTCOMES = {
    wait.DETACHED: (State.CONFIRMED, None),
    wait.ROLLED_BACK: (State.REFUSED, 'rolled back'),
    wait.FAILED: (State.REFUSED, 'error status'),
    wait.TIMED_OUT: (State.ACCEPTED, 'not confirmed'),
}


def follow(runner, accepted):
    """Wait for each accepted DETACH entry; update the record."""
    native = runner.options.api == plans.NATIVE
    if native:
        accepted = _jobs(runner, accepted)
    if not accepted:
        return
    by_id = {e.target.id: e for e in accepted}
    look = wait.BatchLook(runner.reads, runner.server)
    try:
        # After native jobs the last look was a second ago already: their
        # SUCCESS is confirmed at once.
        outcomes = wait.wait_detached(look, runner.server, list(by_id),
                                      runner.poller(immediate=native),
                                      runner.progress)
    except errors.FAILURES as e:
        for entry in accepted:
            runner.record.update(entry, State.ACCEPTED, why='not followed',
                                 said=e)
        return
    for vid, (outcome, status) in outcomes.items():
        state, why = OUTCOMES[outcome]
        runner.record.update(by_id[vid], state, why=why, said=status)


def _jobs(runner, accepted):
    """Wait on each native job; return the entries whose job succeeded."""
    # A detach whose answer was lost has no job: the disks tell.
    succeeded = [e for e in accepted if not e.job_id]
    with_jobs = [e for e in accepted if e.job_id]
    outcomes = wait.wait_jobs(
        functools.partial(detach.job_status, runner.native()),
        [e.job_id for e in with_jobs], runner.poller(), runner.progress)
    for entry in with_jobs:
        status, found = outcomes[entry.job_id]
        if status == 'SUCCESS':
            succeeded.append(entry)
        elif status == 'FAIL':
            runner.record.update(entry, State.REFUSED, why='job failed',
                                 said=found)
        elif status == wait.FAILED:
            runner.record.update(entry, State.ACCEPTED, why='not followed',
                                 said=found)
        else:
            runner.record.update(entry, State.ACCEPTED, why='job timed out')
    return succeeded
