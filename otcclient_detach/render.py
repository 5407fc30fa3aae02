"""What the user reads: --help, refusals, warnings and failure messages.

Every message is wrapped to :data:`WIDTH` columns, the continuation lines
indented, so that a long reason reads like a refusal does.
"""

import functools
import textwrap

from otcclient_detach import rules

WIDTH = 79

#: The command's synopsis: our options first, the output formatters of
#: --dry-run's report (added by cliff's Lister) summed up at the end.
USAGE = ('%(prog)s [-h] [--dry-run] [--force] [--wait]\n'
         '         [--stop-server [--start-server]] [--timeout <seconds>] '
         '[--snapshot]\n'
         '         [--api {nova,native}] [--force-detach] [--if-attached]\n'
         '         [--os-list <file>] [<output options>]\n'
         '         <server> (<volume> [<volume> ...] | --all-data-disks)')

EXIT_STATUS = ('Exit status: 0 detached (or, with --dry-run, would be; '
               'without --wait: accepted by the cloud); 1 refused or '
               'failed; 2 usage error; 130 interrupted (Ctrl-C), 129 and '
               '143 after SIGHUP and SIGTERM (what was sent is told).')


def escape(text):
    """``text`` with control characters shown escaped (ESC as \\x1b).

    Names and messages from the cloud are data: every line the command
    prints goes through here, so none can move the cursor, ring the bell
    or rewrite the terminal.
    """
    text = str(text)
    if text.isprintable():
        return text  # the usual case, and the help text on every run
    return ''.join(c if c.isprintable() else repr(c)[1:-1]
                   for c in text)


def escape_log_record(record):
    """A logging filter: the decision log (-v) is printed too, escaped.

    Attached to each product module's logger, so that names from the
    cloud in a log line cannot drive the terminal either.
    """
    record.msg = escape(record.getMessage())
    record.args = None
    return True


#: What the options add to the rules (system disk, Ecs.0105, force-detach,
#: --snapshot), for --help.
BEYOND_THE_TABLE = (
    'Where the cloud does not report root_device_name, a line on stderr '
    'says that the system-disk check rests on weaker facts. With '
    '--start-server, detaching the system disk of a running ECS is refused '
    'before anything is sent: an ECS without its system disk cannot start '
    '(Ecs.0105). --force-detach warns that the guest may lose data, and '
    'needs --force for a SCSI disk of a running Windows ECS. --snapshot '
    'makes an EVS snapshot of each volume first; if one fails, nothing is '
    'detached.')


def wrap(text, indent='', width=WIDTH):
    """``text`` as lines of at most ``width``, continuations indented."""
    return textwrap.wrap(escape(text), width, initial_indent=indent,
                         subsequent_indent=indent + '    ',
                         break_on_hyphens=False, break_long_words=False)


def fill(text, indent=''):
    return '\n'.join(wrap(text, indent))


def _paragraph(text):
    return textwrap.fill(' '.join(text.split()), WIDTH,
                         break_on_hyphens=False)


def description(docstring):
    """The first screen of --help: what the command does, in short."""
    return _paragraph(docstring)


@functools.lru_cache(maxsize=None)
def epilog():
    """The rules, each with its source, then the exit statuses.

    Built once: cliff asks for it on every run, --help or not.
    """
    lines = [_paragraph(
        'Rules, in the order they are checked (every failing rule is '
        'reported, each with its way out; when rule attached fails, %s):'
        % rules.NOT_JUDGED), '']
    for rule in rules.RULES:
        note = {True: '', False: ' Not bypassed by --force.',
                None: ' A reminder only: it never blocks.'}[rule.forceable]
        lines.extend(wrap('- %s: %s%s Source: %s.' % (
            rule.id, rule.summary, note, rule.doc), '  ', WIDTH - 2))
    lines += ['', _paragraph(
        'Rules %s apply to a running (ACTIVE) ECS only: from a stopped '
        '(SHUTOFF) ECS any disk can be detached.' % _listing(
            rules.RUNNING_ONLY))]
    lines += ['', _paragraph(BEYOND_THE_TABLE)]
    lines += ['', _paragraph(EXIT_STATUS)]
    return '\n'.join(lines)


def _listing(ids):
    """'a, b and c'."""
    ids = list(ids)
    if len(ids) == 1:
        return ids[0]
    return '%s and %s' % (', '.join(ids[:-1]), ids[-1])


def forceable_rules():
    """'server-status, ... and windows-scsi', for --force's help."""
    return _listing(rules.FORCEABLE)


def count(number, noun):
    """'1 volume', '2 volumes'."""
    return '%d %s%s' % (number, noun, '' if number == 1 else 's')


def _write(stream, text, indent=''):
    stream.write(''.join(line + '\n' for line in wrap(text, indent)))


def refusals(stream, gathered, findings):
    """Every failed rule of every volume, with its reason and way out.

    A volume refused only because it is not attached to the server takes
    two lines: the refusal, which says nothing was detached, and the way
    out (the other rules were not judged; --help says why).
    """
    refused = [(fact, rules.refusals(found))
               for fact, found in zip(gathered, findings)
               if rules.refusals(found)]
    alone = all(_not_attached_only(found) for _, found in refused)
    for fact, found in refused:
        if _not_attached_only(found):
            _write(stream, '[attached] Refused, nothing was detached: %s.'
                   % found[0].message)
            _write(stream, 'Way out: %s.' % found[0].advice, '  ')
            continue
        _write(stream, 'Refused to detach volume %s from server %s:' % (
            fact.volume.label, fact.server.label))
        for f in found:
            _write(stream, '[%s] %s.' % (f.rule, f.message), '  ')
            if f.advice:
                _write(stream, 'Way out: %s.' % f.advice, '      ')
    if alone:
        return
    forceable = all(rules.is_forceable(f) for _, fs in refused for f in fs)
    closing = 'Nothing was detached.'
    if forceable:
        closing += (' --force sends the detach anyway; the cloud has the '
                    'last word.')
    _write(stream, closing)


def _not_attached_only(found):
    return [f.rule for f in found] == ['attached']


def warnings(stream, gathered, findings):
    """Forced refusals and reminders; they do not block the detach."""
    for fact, volume_findings in zip(gathered, findings):
        for f in rules.warnings(volume_findings):
            if f.verdict == rules.FORCED:
                _write(stream, 'Warning (--force) [%s] %s.' % (
                    f.rule, f.message))
            elif f.verdict == rules.WARN:
                _write(stream, 'Warning [%s] %s.' % (f.rule, f.message))
            else:
                _write(stream, 'Reminder [%s] %s: %s.' % (
                    f.rule, fact.volume.label, f.message))


#: Longest name or ID repeated in a message; longer ones are cut.
SHOWN_LENGTH = 64


def shown(text):
    """``text`` for a message: control characters escaped, cut if long."""
    text = escape(text)
    if len(text) > SHOWN_LENGTH:
        text = '%s... (%d characters)' % (text[:SHOWN_LENGTH - 3], len(text))
    return text


def lookup_failed(error):
    """A name or ID that names no or several servers or volumes."""
    from otcclient_detach import reads
    if isinstance(error, reads.EmptyRef):
        return '%s name or ID must not be empty.' % error.kind.capitalize()
    if isinstance(error, reads.Ambiguous):
        return ("More than one %s exists with the name '%s': %s. Use the ID "
                "instead." % (error.kind, shown(error.ref),
                              ', '.join(error.ids)))
    return "No %s with a name or ID of '%s' exists." % (
        error.kind, shown(error.ref))


def no_answer(seconds, auth_url):
    """Authentication did not end within the command's deadline."""
    where = ' at %s (auth_url)' % auth_url if auth_url else ''
    return ('The cloud%s did not answer the token request within %s s. '
            'Nothing was detached. Check auth_url in clouds.yaml (or '
            'OS_AUTH_URL) and the network (proxy, firewall)' % (
                where, seconds))


def start_refused(plan, systems):
    """--start-server with a system disk among the volumes."""
    return ('Refused to detach %s from server %s with --start-server: %s '
            'the system disk, and an ECS without its system disk cannot be '
            'started (OTC error Ecs.0105, "no system disk found"). Nothing '
            'was stopped or detached. Way out: use --stop-server alone; '
            'the ECS stays stopped until a system disk is attached '
            'again.' % (', '.join(v.label for v in systems),
                        plan.server.label,
                        'it is' if len(systems) == 1 else 'one of them is'))


def not_attached(stream, plan):
    """--if-attached: each volume left out, in one line."""
    for volume in plan.skipped:
        attached = [a.server_label for a in volume.attachments]
        _write(stream, 'Volume %s is not attached to server %s%s: nothing '
               'to do (--if-attached).' % (
                   volume.label, plan.server.label,
                   ' (it is attached to %s)' % ', '.join(attached)
                   if attached else ''))


def weaker_facts(stream, gathered):
    """One line per volume whose system-disk check rests on weaker facts."""
    for fact in gathered:
        line = rules.weaker_facts(fact)
        if line:
            _write(stream, line + '.')


def report_rows(plan):
    """The --dry-run report: a row per volume and rule, then the plan.

    With --snapshot, a row per volume names the snapshot it would make;
    the plan's steps follow, in order, each write with the rules it
    rests on.
    """
    from otcclient_detach import snapshot as snapshots
    rows = []
    for fact, volume_findings in zip(plan.facts, plan.findings):
        if plan.options.snapshot:
            rows.append((fact.volume.label, 'snapshot', 'would make',
                         'EVS snapshot %s, before anything else; if it '
                         'fails, nothing is detached' %
                         snapshots.snapshot_name(fact.volume)))
        for f in volume_findings:
            detail = f.message
            if f.advice and f.verdict in (rules.REFUSE, rules.FORCED):
                detail += '. Way out: %s' % f.advice
            rows.append((fact.volume.label, f.rule, f.verdict, detail))
    for volume in plan.skipped:
        rows.append((volume.label, 'attached', 'not attached',
                     '--if-attached: not attached to server %s; nothing to '
                     'do' % plan.server.label))
    for number, step in enumerate(plan.steps, 1):
        rows.append(_step_row(plan, number, step))
    return [tuple(escape(cell) for cell in row) for row in rows]


#: What each step of a plan does, for the --dry-run report.
STEP_WORDS = {
    'snapshot': 'would make an EVS snapshot of it',
    'stop': 'would stop the ECS (os-stop) and wait until it is SHUTOFF',
    'detach': 'would send the detach (%s), checked again first if the '
              'facts are older than %d s; rests on rules: %s',
    'wait': 'would wait until every detach has ended (--timeout %d s)',
    'start': 'would start the ECS again (os-start)',
}


def _step_row(plan, number, step):
    from otcclient_detach import plan as plans
    label = step.volume.label if step.volume else plan.server.label
    words = STEP_WORDS[step.kind]
    if step.kind == plans.DETACH:
        words = words % ('DELETE os-volume_attachments' if
                         plan.options.api == plans.NOVA else
                         "OTC's native detachvolume", plans.FRESH_FOR,
                         ', '.join(step.rests_on) or 'none')
    elif step.kind == plans.WAIT:
        words = words % plan.options.timeout
    return (label, 'plan', 'step-%d' % number, '%s: %s' % (step.kind, words))


class Progress(object):
    """One self-rewriting line on a terminal; nothing otherwise."""

    def __init__(self, stream):
        self.stream = stream
        self.enabled = bool(getattr(stream, 'isatty', lambda: False)())
        self.shown = False

    def show(self, text):
        if self.enabled:
            self.stream.write('\r%-78s' % escape(text)[:78])
            self.stream.flush()
            self.shown = True

    def volumes(self, pending, total, server, elapsed):
        self.show('Waiting for %d of %s to detach from %s (%ds)' % (
            pending, count(total, 'volume'), server.label, elapsed))

    def server(self, server, elapsed):
        self.show('Server %s: %s%s (%ds)' % (
            server.label, server.status,
            ' / ' + server.task_state if server.task_state else '',
            elapsed))

    def items(self, pending, total, noun, elapsed):
        self.show('Waiting for %d of %s (%ds)' % (
            pending, count(total, noun), elapsed))

    def done(self):
        if self.shown:
            self.stream.write('\n')
            self.shown = False
