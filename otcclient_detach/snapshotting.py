"""--snapshot: one EVS snapshot per volume, each available, first.

Each snapshot is a write of the record (created once, then followed
until it is available); if one fails, the run goes no further: nothing
has been stopped or detached yet.
"""

import functools

from otcclient_detach import errors
from otcclient_detach import record
from otcclient_detach import snapshot
from otcclient_detach import wait

Kind, State = record.Kind, record.State


def take(runner):
    """Snapshot every planned volume; True when each is available."""
    block_storage = runner.reads.block_storage
    made = {}
    for volume in runner.plan.volumes:
        name = snapshot.snapshot_name(volume)
        entry = runner.record.add(Kind.SNAPSHOT, volume)
        entry.snapshot_name = name
        if not runner.record.sending(entry):
            return False
        runner.record.listener(entry)
        try:
            entry.snapshot_id = snapshot.create(block_storage, volume,
                                                name)
        except (snapshot.Failed,) + errors.FAILURES as e:
            runner.record.update(entry, State.REFUSED, why='refused', said=e)
            return False
        runner.record.update(entry, State.ACCEPTED, tell=False)
        made[entry.snapshot_id] = entry
    outcomes = wait.wait_ended(
        functools.partial(snapshot.status, block_storage), list(made),
        snapshot.ended, runner.poller(), runner.progress, 'snapshot')
    for sid, (outcome, detail) in outcomes.items():
        if outcome == 'available':
            runner.record.update(made[sid], State.CONFIRMED, tell=False)
        else:
            runner.record.update(made[sid], State.REFUSED, why={
                wait.TIMED_OUT: 'timed out',
                wait.FAILED: 'not followed'}.get(outcome, 'status'),
                said=detail if outcome == wait.FAILED else outcome)
    for entry in made.values():
        runner.record.listener(entry)
    return all(e.state == State.CONFIRMED for e in made.values())
