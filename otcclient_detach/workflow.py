"""One run of ``detach-otc``: facts, rules, plan, run, and the telling.

The command (command.py) checks the options and hands the run to
:func:`run`: the facts are gathered (facts.py) under one deadline, every
rule judges them (rules.py) into one plan (plan.py), and then the run
either reports the plan (``--dry-run``), refuses it (with every reason
and its way out) or carries it out (run.py) into a record
(record.py), from which the closing lines, the exit status and the
``-f`` rows are all read (closing.py).  A failure to reach or ask the
cloud before anything was sent becomes one message here.
"""

import dataclasses
import logging
import time
import typing

from osc_lib import exceptions

from otcclient_detach import closing
from otcclient_detach import cloud
from otcclient_detach import errors
from otcclient_detach import facts
from otcclient_detach import model
from otcclient_detach import osc_adapter
from otcclient_detach import plan as plans
from otcclient_detach import process
from otcclient_detach import reads
from otcclient_detach import record
from otcclient_detach import render
from otcclient_detach import run as runs
from otcclient_detach import tell

EXIT_REFUSED = 1
REPORT_COLUMNS = ('Volume', 'Rule', 'Verdict', 'Detail')
#: Seconds within which authentication and every read before the first
#: write must end: a cloud that never answers ends the command after
#: this long (doc/source/hardening.rst), whatever api_timeout says.
GATHER_SECONDS = 45.0


@dataclasses.dataclass
class Outcome(object):
    """The exit status, and the rows of the report or result."""

    status: int
    columns: tuple = ()
    rows: typing.Any = ()


def options_of(args):
    return plans.Options(
        api=args.api, wait=args.wait, timeout=args.timeout,
        force=args.force, force_detach=args.force_detach,
        stop_server=args.stop_server, start_server=args.start_server,
        snapshot=args.snapshot, if_attached=args.if_attached)


def run(connect, args, stderr, log, auth_url=lambda: None,
        clock=time.monotonic):
    """Detach ``args.volumes`` from ``args.server``; an :class:`Outcome`.

    ``connect`` gives the CLI's openstacksdk connection (it
    authenticates); ``log`` is the command's logger (``-v``);
    ``auth_url`` gives the auth URL for a failure message.
    """
    escape_logs(log)
    options = options_of(args)
    try:
        with cloud.deadline(clock() + GATHER_SECONDS, clock):
            gatherer = facts.Gatherer(connect(), os_catalog=args.os_catalog)
            gathered = _gather(gatherer, args, options)
    except (reads.NotFound, reads.Ambiguous, reads.EmptyRef) as e:
        raise exceptions.CommandError(render.fill(render.lookup_failed(e)))
    except osc_adapter.NoAnswer as e:
        raise exceptions.CommandError(render.fill(
            render.no_answer(e.seconds, auth_url())))
    except exceptions.CommandError as e:
        raise exceptions.CommandError(render.fill(str(e)))
    except Exception as e:
        message = errors.failure_message(e, auth_url(), sent=False)
        if message is None:
            raise
        raise exceptions.CommandError(render.fill(message))
    checked_at = clock()
    plan = plans.make(gathered, options)
    _log_findings(plan, log)
    return _act(gatherer, plan, args, stderr, checked_at)


def escape_logs(log):
    """Names from the cloud in the decision log (-v) are escaped too."""
    names = [log] + [logging.getLogger(name) for name in list(
        logging.Logger.manager.loggerDict) if name.startswith(
            'otcclient_detach')]
    for logger in names:
        if render.escape_log_record not in logger.filters:
            logger.addFilter(render.escape_log_record)


def _gather(gatherer, args, options):
    if args.all_data_disks:
        gathered = gatherer.gather_all_data_disks(
            args.server, stop_first=options.stop_server,
            snapshots=options.snapshot)
        if not gathered:
            raise exceptions.CommandError(
                'Server %s has no data disk to detach (only its system '
                'disk, which --all-data-disks never detaches).' % args.server)
    else:
        gathered = gatherer.gather(args.server, args.volumes,
                                   stop_first=options.stop_server,
                                   snapshots=options.snapshot)
    if options.force_detach:
        system = [f.volume.label for f in gathered
                  if model.is_system_disk(f)]
        if system:
            raise exceptions.CommandError(
                '--force-detach is for data disks only; %s is the system '
                'disk of server %s' % (', '.join(system),
                                       gathered[0].server.label))
    return gathered


def _log_findings(plan, log):
    for fact, findings in zip(plan.facts, plan.findings):
        for f in findings:
            log.info('Volume %s: rule %s: %s (%s)', fact.volume.label,
                     f.rule, f.verdict, f.message)
    for number, step in enumerate(plan.steps, 1):
        log.info('Plan step %d: %s%s', number, step.kind,
                 ' of volume %s' % step.volume.label if step.volume else '')


def _act(gatherer, plan, args, stderr, checked_at):
    out = process.Output(stderr)
    render.weaker_facts(out, plan.facts)
    result = closing.RESULT_COLUMNS if args.result else ()
    if not args.dry_run:
        render.not_attached(out, plan)
    if args.dry_run:
        return Outcome(EXIT_REFUSED if plan.refused else 0, REPORT_COLUMNS,
                       render.report_rows(plan))
    if plan.refused:
        render.refusals(out, plan.facts, plan.findings)
        return Outcome(EXIT_REFUSED, result,
                       closing.result_rows(plan, None) if result else ())
    systems = plans.start_refusal(plan)
    if systems:
        out.write(render.fill(render.start_refused(plan, systems)) + '\n')
        return Outcome(EXIT_REFUSED, result,
                       closing.result_rows(plan, None) if result else ())
    status, run_record = carry_out(gatherer, plan, out, checked_at,
                                   retry_options(args))
    return Outcome(status, result,
                   closing.result_rows(plan, run_record) if result else ())


def carry_out(gatherer, plan, out, checked_at, retry=None,
              clock=time.monotonic, sleep=time.sleep):
    """Run an allowed plan, telling it on ``out``; (exit status, record)."""
    if plan.options.stop_server and plan.server and \
            plan.server.status != model.ACTIVE:
        out.write(render.fill('Server %s is %s already; not stopping it.' % (
            plan.server.label, plan.server.status)) + '\n')
    render.warnings(out, plan.facts, plan.findings)
    run_record = record.Record(clock=clock, listener=tell.Teller(out, plan))
    runs.Runner(gatherer, plan, run_record, progress=render.Progress(out),
                checked_at=checked_at, clock=clock, sleep=sleep).run()
    for line in closing.lines(plan, run_record, retry):
        out.write(render.fill(line) + '\n')
    return closing.exit_status(plan, run_record), run_record


def retry_options(args):
    """The options to repeat in a retry command (not the volumes)."""
    words = []
    for flag in ('wait', 'force', 'stop_server', 'start_server',
                 'snapshot', 'force_detach'):
        if getattr(args, flag):
            words.append('--' + flag.replace('_', '-'))
    if args.api != plans.NOVA:
        words += ['--api', args.api]
    return words
