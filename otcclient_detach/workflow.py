"""One run of ``detach-otc``: gather the facts, judge them, then act.

The command (command.py) checks the options and hands the run to
:func:`run`: the facts are gathered (facts.py), every rule judges them
(rules.py), and then the run either reports (``--dry-run``), refuses
(with every reason and its way out) or carries the detach out
(operations.py).  A failure to reach or ask the cloud becomes one user
message here, in one place, worded by errors.failure_message.
"""

import dataclasses
import typing

from osc_lib import exceptions

from otcclient_detach import errors
from otcclient_detach import facts
from otcclient_detach import model
from otcclient_detach import operations
from otcclient_detach import render
from otcclient_detach import rules

EXIT_REFUSED = 1
REPORT_COLUMNS = ('Volume', 'Rule', 'Verdict', 'Detail')


@dataclasses.dataclass
class Outcome(object):
    """The exit status, and the ``--dry-run`` report if there is one."""

    status: int
    columns: tuple = ()
    rows: typing.Any = ()


def run(connect, args, stderr, log, auth_url=lambda: None):
    """Detach ``args.volumes`` from ``args.server``; an :class:`Outcome`.

    ``connect`` gives the CLI's openstacksdk connection (it
    authenticates); ``log`` is the command's logger (``-v``);
    ``auth_url`` gives the auth URL for a failure message (asked only
    then: the CLI reads its configuration when it authenticates).
    """
    # The decision log is printed too: names from the cloud escaped.
    log.addFilter(render.escape_log_record)
    started = []  # the Operation, once built: has a DELETE left?
    try:
        return _run(connect, args, stderr, log, started)
    except exceptions.CommandError as e:
        # Wrapped like a refusal, names from the cloud escaped.
        raise exceptions.CommandError(render.fill(str(e)))
    except Exception as e:
        message = errors.failure_message(
            e, auth_url(), sent=bool(started) and started[0].sent)
        if message is None:
            raise
        raise exceptions.CommandError(render.fill(message))


def judge(gathered, args, log):
    """Every rule's findings for each volume (``--force-detach`` too)."""
    findings = [rules.evaluate(f, force=args.force,
                               stop_first=args.stop_server)
                for f in gathered]
    for fact, volume_findings in zip(gathered, findings):
        for f in volume_findings:
            log.info('Volume %s: rule %s: %s (%s)', fact.volume.label,
                     f.rule, f.verdict, f.message)
    if not args.force_detach:
        return findings
    system = [f.volume.label for f in gathered if model.is_system_disk(f)]
    if system:
        raise exceptions.CommandError(
            '--force-detach is for data disks only; %s is the system disk '
            'of server %s' % (', '.join(system), gathered[0].server.label))
    # The data-loss path: a finding of its own per volume.
    for fact, volume_findings in zip(gathered, findings):
        verdict, message, advice = rules.check_force_detach(
            fact, force=args.force, stop_first=args.stop_server)
        if verdict != rules.SKIP:
            volume_findings.append(rules.Finding(
                'force-detach', verdict, message, advice, fact.volume.id))
    return findings


def _run(connect, args, stderr, log, started):
    gatherer = facts.Gatherer(connect())
    gathered = gatherer.gather(args.server, args.volumes,
                               stop_first=args.stop_server)
    findings = judge(gathered, args, log)
    render.weaker_facts(stderr, gathered)
    refused = any(rules.refusals(f) for f in findings)
    if args.dry_run:
        return Outcome(EXIT_REFUSED if refused else 0, REPORT_COLUMNS,
                       render.report_rows(gathered, findings,
                                          snapshot=args.snapshot))
    if refused:
        render.refusals(stderr, gathered, findings)
        return Outcome(EXIT_REFUSED)
    start_refused = operations.start_refusal(gathered, args.start_server)
    if start_refused:
        stderr.write(render.fill(start_refused) + '\n')
        return Outcome(EXIT_REFUSED)
    render.warnings(stderr, gathered, findings)
    options = operations.Options(
        api=args.api, wait=args.wait, timeout=args.timeout,
        force_detach=args.force_detach, stop_server=args.stop_server,
        start_server=args.start_server, snapshot=args.snapshot)
    operation = operations.Operation(
        gatherer, gathered[0].server, [f.volume for f in gathered],
        options, stderr)
    started.append(operation)
    return Outcome(operation.run())
