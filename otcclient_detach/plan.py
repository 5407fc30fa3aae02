"""One plan from the facts and the rules: the ordered steps of a run.

As terraform's plan is what its apply carries out, the :class:`Plan`
made here is what ``--dry-run`` shows and what run.py executes; nothing
is decided twice.  Each write names the rules it rests on, so that
run.py can judge exactly those again when time has passed since the
facts were read (:data:`FRESH_FOR`).
"""

import dataclasses
from typing import Optional

from otcclient_detach import model
from otcclient_detach import rules

#: Seconds for which facts count as fresh.  A write sent later than this
#: after the facts were read (after a snapshot, a stop, a wait, a slow
#: batch) is preceded by a second look: the facts that can change are
#: read again and its rules judged again.  An immediate detach (its
#: DELETE leaves well within this) costs no extra request.
FRESH_FOR = 5.0

SNAPSHOT = 'snapshot'
STOP = 'stop'
DETACH = 'detach'
WAIT = 'wait'
START = 'start'

NOVA = 'nova'
NATIVE = 'native'


@dataclasses.dataclass(frozen=True)
class Options(object):
    """What the user asked for, as the plan and the run need it."""

    api: str = NOVA
    wait: bool = False
    timeout: int = 300
    force: bool = False
    force_detach: bool = False
    stop_server: bool = False
    start_server: bool = False
    snapshot: bool = False
    if_attached: bool = False

    @property
    def waits(self):
        """Whether the run follows each detach until it has ended."""
        return self.wait or self.stop_server or self.api == NATIVE


@dataclasses.dataclass(frozen=True)
class Step(object):
    kind: str
    #: The volume a SNAPSHOT or DETACH acts on; None for the server.
    volume: Optional[model.Volume] = None
    #: The rules this write rests on (judged again before a late write).
    rests_on: tuple = ()


@dataclasses.dataclass
class Plan(object):
    options: Options
    server: model.Server
    #: One model.Facts and one list of rules.Finding per volume.
    facts: list
    findings: list
    steps: tuple = ()
    #: Volumes left out with --if-attached (not attached to the server).
    skipped: tuple = ()

    @property
    def refused(self):
        return any(rules.refusals(f) for f in self.findings)

    @property
    def volumes(self):
        return [step.volume for step in self.steps if step.kind == DETACH]

    def has(self, kind):
        return any(step.kind == kind for step in self.steps)


def judge(gathered, options, stop_first=None):
    """Every rule's findings for each volume (``--force-detach`` too).

    ``stop_first`` (default: --stop-server) judges a running ECS as the
    stopped one --stop-server will make of it.
    """
    if stop_first is None:
        stop_first = options.stop_server
    findings = [rules.evaluate(f, force=options.force, stop_first=stop_first)
                for f in gathered]
    if options.force_detach:
        for fact, volume_findings in zip(gathered, findings):
            verdict, message, advice = rules.check_force_detach(
                fact, force=options.force, stop_first=stop_first)
            if verdict != rules.SKIP:
                volume_findings.append(rules.Finding(
                    'force-detach', verdict, message, advice,
                    fact.volume.id))
    return findings


def make(gathered, options):
    """The plan for detaching the gathered volumes with ``options``.

    With --if-attached, a volume that is not attached to the server is
    left out (reported, not refused); the rest make the steps:
    snapshots, os-stop, the detaches, the wait, os-start.
    """
    skipped = ()
    server = gathered[0].server if gathered else None
    if options.if_attached:
        skipped = tuple(f.volume for f in gathered
                        if f.volume.attachment_to(f.server.id) is None)
        gathered = [f for f in gathered if f.volume not in skipped]
    findings = judge(gathered, options)
    plan = Plan(options, server, gathered, findings, skipped=skipped)
    if gathered and not plan.refused:
        plan.steps = steps_for(plan)
    return plan


def steps_for(plan):
    """The ordered steps of an allowed plan."""
    options, server = plan.options, plan.server
    gathered, findings = plan.facts, plan.findings
    running = server.status == model.ACTIVE
    steps = []
    if options.snapshot:
        steps += [Step(SNAPSHOT, f.volume) for f in gathered]
    if options.stop_server and running:
        steps.append(Step(STOP))
    for fact, volume_findings in zip(gathered, findings):
        steps.append(Step(DETACH, fact.volume, tuple(
            f.rule for f in volume_findings
            if f.verdict in (rules.PASS, rules.FORCED))))
    if options.waits:
        steps.append(Step(WAIT))
    if options.start_server and options.stop_server and running:
        steps.append(Step(START))
    return tuple(steps)


def start_refusal(plan):
    """The system disks that make --start-server impossible, else ().

    An ECS without its system disk cannot be started (the cloud answers
    os-start with "no system disk found"): detaching the system disk with
    --start-server is refused before anything is sent.
    """
    if not plan.has(START):
        return ()
    return tuple(f.volume for f in plan.facts if model.is_system_disk(f))


def rejudge(fresh, options, will_stop=False):
    """The findings that refuse a detach now, by volume ID.

    ``fresh`` are the facts read again.  The server is judged as it is
    now, unless the plan still has an os-stop to send before the write
    (``will_stop``): then as the stopped one it will make.  Every rule
    is judged again, not only those the write rested on: a rule that
    did not apply then (a stopped ECS has no OS rules) may apply now.
    """
    stop_first = will_stop
    refused = {}
    for fact, findings in zip(fresh, judge(fresh, options, stop_first)):
        if rules.refusals(findings):
            refused[fact.volume.id] = rules.refusals(findings)
    return refused
