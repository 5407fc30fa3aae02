"""The end of a run, read off the record: the closing lines, the exit
status and the result rows of ``-f json|yaml|csv|value|table``.

All three are queries over the same record, made once the run has ended
(whatever ended it), so none can tell something that is no longer true.
"""

import shlex

from otcclient_detach import model
from otcclient_detach import record
from otcclient_detach import render
from otcclient_detach import rules
from otcclient_detach import tell

Kind, State = record.Kind, record.State

EXIT_OK = 0
EXIT_FAILED = 1

RESULT_COLUMNS = ('Volume ID', 'Volume', 'Server ID', 'Outcome',
                  'Refused by', 'Snapshot ID', 'Job ID', 'Seconds')

#: The outcome column, by the DETACH entry's state.
OUTCOMES = {
    State.CONFIRMED: 'detached',
    State.ACCEPTED: 'accepted',
    State.REFUSED: 'refused',
    State.NOT_SENT: 'not sent',
    State.SENT: 'unknown',
    State.UNKNOWN: 'unknown',
}


def interrupted(run_record):
    return isinstance(run_record.ended_by, KeyboardInterrupt)


def detach_done(entry, plan):
    """Whether a DETACH got as far as the plan wanted."""
    if entry.why == 'left meanwhile':
        return True  # --if-attached: not attached is what was asked for
    wanted = (State.CONFIRMED,) if plan.options.waits else \
        (State.ACCEPTED, State.CONFIRMED)
    return entry.state in wanted


def failed_volumes(plan, run_record):
    """The planned volumes whose detach did not get where it should."""
    failed = []
    for volume in plan.volumes:
        entry = run_record.detach_of(volume.id)
        if entry is None or not detach_done(entry, plan):
            failed.append(volume)
    return failed


#: Ctrl-C; SIGTERM and SIGHUP carry their own (128 + number).
EXIT_INTERRUPTED = 130


def exit_status(plan, run_record):
    if interrupted(run_record):
        return getattr(run_record.ended_by, 'exit_status', EXIT_INTERRUPTED)
    if run_record.ended_by is not None:
        return EXIT_FAILED
    if failed_volumes(plan, run_record):
        return EXIT_FAILED
    power = run_record.of(Kind.STOP) + run_record.of(Kind.START)
    if any(e.state != State.CONFIRMED for e in power):
        return EXIT_FAILED
    return EXIT_OK


def lines(plan, run_record, argv_retry):
    """The closing lines, in order (each one message)."""
    said = []
    if interrupted(run_record):
        said.append(interrupted_text(plan, run_record))
    elif run_record.ended_by is not None:
        said.append('The command ended unexpectedly (%s: %s); what it did '
                    'is said above.' % (type(run_record.ended_by).__name__,
                                        run_record.ended_by))
    said += _unconfirmed(plan, run_record)
    said += _server_lines(plan, run_record)
    failed = failed_volumes(plan, run_record)
    if failed and not interrupted(run_record):
        said.append('%d of %s failed to detach.' % (
            len(failed), render.count(len(plan.volumes), 'volume')))
        retry = _retry(plan, run_record, failed, argv_retry)
        if retry:
            said.append(retry)
    return said


def _unconfirmed(plan, run_record):
    """Without a wait: the detach has only begun, and may be undone."""
    if plan.options.waits or interrupted(run_record):
        return []
    accepted = [e.target.label for e in run_record.of(Kind.DETACH)
                if e.state == State.ACCEPTED]
    if not accepted:
        return []
    return ['Detach of %s %s accepted; the cloud may still roll it back: '
            'follow it with %s, or use --wait.' % (
                'volume' if len(accepted) == 1 else 'volumes',
                ', '.join(accepted), tell.check_command(plan.server))]


def _server_lines(plan, run_record):
    server = plan.server
    if server is None:
        return []
    label, said = server.label, []
    stop, start = run_record.last(Kind.STOP), run_record.last(Kind.START)
    if stop is not None and stop.why == 'timed out':
        said.append("Server %s was running before: should it stop after "
                    "all, start it again with 'openstack server start %s'."
                    "%s" % (label, label, ' --start-server did not start '
                            'it: nothing was detached, so the command ended '
                            'here.' if plan.options.start_server else ''))
    elif start is not None and start.state == State.NOT_SENT:
        said.append("Server %s was stopped by this command and stays "
                    "stopped (SHUTOFF or on its way): it was not started "
                    "again; start it with 'openstack server start %s'." % (
                        label, label))
    elif start is not None and start.state in (State.SENT, State.ACCEPTED,
                                               State.UNKNOWN) \
            and interrupted(run_record):
        said.append("os-start was sent to server %s; check it with "
                    "'openstack server show %s'." % (label, label))
    done = [f for f in plan.facts
            if run_record.detach_of(f.volume.id) is not None and
            detach_done(run_record.detach_of(f.volume.id), plan)]
    systems = [f.volume for f in done if model.is_system_disk(f)]
    if systems and run_record.stopped_by_us():
        said.append("Server %s stays stopped until a system disk is "
                    "attached again: the cloud cannot start an ECS without "
                    "one. Attach one with 'openstack server add volume %s "
                    "<volume> --device %s', then 'openstack server start "
                    "%s'." % (label, label, server.root_device_name or
                              '/dev/vda', label))
    return said


def _retry(plan, run_record, failed, argv_retry):
    """The exact command that retries just the failed volumes, or None.

    Only where running it again can help: a volume the rules refused
    when checked again, or one the cloud turned away, or that timed out.
    """
    if argv_retry is None:
        return None
    retriable = [v for v in failed
                 if (run_record.detach_of(v.id) is None or
                     run_record.detach_of(v.id).state in (
                         State.NOT_SENT, State.REFUSED)) and
                 (run_record.detach_of(v.id) is None or
                  run_record.detach_of(v.id).why != 'rules')]
    if not retriable:
        return None
    words = ['openstack', 'server', 'volume', 'detach-otc', '--if-attached']
    words += argv_retry + [plan.server.id] + [v.id for v in retriable]
    return 'To retry just %s: %s' % (
        'that one' if len(retriable) == 1 else 'those',
        ' '.join(shlex.quote(w) for w in words))


def interrupted_text(plan, run_record):
    """What Ctrl-C (or SIGTERM, SIGHUP) leaves behind, by the record."""
    groups = {}
    for volume in plan.volumes:
        entry = run_record.detach_of(volume.id)
        state = entry.state if entry else State.NOT_SENT
        groups.setdefault(state, []).append(volume.label)
    gone = groups.get(State.CONFIRMED, [])
    going = groups.get(State.ACCEPTED, []) + groups.get(State.SENT, []) + \
        groups.get(State.UNKNOWN, [])
    refused = groups.get(State.REFUSED, [])
    unsent = groups.get(State.NOT_SENT, [])
    if not gone and not going:
        text = 'Interrupted: nothing was detached.'
        if refused:
            text += ' Refused by the cloud: %s.' % ', '.join(refused)
        return text
    text = 'Interrupted: stopped waiting.'
    if gone:
        text += ' Detached: %s.' % ', '.join(gone)
    if going:
        text += ' The detach goes on in the cloud for %s %s (sent); check ' \
                'it with %s.' % ('volume' if len(going) == 1 else 'volumes',
                                 ', '.join(going),
                                 tell.check_command(plan.server))
    if refused:
        text += ' Refused by the cloud: %s.' % ', '.join(refused)
    if unsent:
        text += ' Not sent (still attached): %s.' % ', '.join(unsent)
    return text


def result_rows(plan, run_record):
    """One row per volume: the ``-f`` result of a real run."""
    rows = []
    server_id = plan.server.id if plan.server else None
    for volume in plan.skipped:
        rows.append((volume.id, volume.name, server_id, 'not attached', '',
                     '', '', 0.0))
    for fact, findings in zip(plan.facts, plan.findings):
        volume = fact.volume
        entry = run_record.detach_of(volume.id) if run_record else None
        snap = _snapshot_of(run_record, volume)
        if entry is None:
            refused = [f.rule for f in rules.refusals(findings)]
            outcome = 'refused' if refused else 'not sent'
            seconds = 0.0
        else:
            refused = [f.rule for f in entry.refused_by
                       if entry.why != 'left meanwhile']
            outcome = 'not attached' if entry.why == 'left meanwhile' \
                else OUTCOMES[entry.state]
            seconds = run_record.seconds(entry)
        rows.append((volume.id, volume.name, server_id, outcome,
                     ' '.join(refused),
                     snap.snapshot_id if snap and snap.snapshot_id else '',
                     entry.job_id if entry and entry.job_id else '',
                     seconds))
    return [tuple(render.escape(c) if isinstance(c, str) else c
                  for c in row) for row in rows]


def _snapshot_of(run_record, volume):
    if run_record is None:
        return None
    for entry in run_record.of(Kind.SNAPSHOT):
        if entry.target.id == volume.id:
            return entry
    return None
