"""What the user reads: the rules in --help, refusals and reminders."""

import textwrap

from cliff import _argparse

from otcclient_detach import rules

WIDTH = 79


class HelpFormatter(_argparse.SmartHelpFormatter):
    """Keeps the paragraphs and indented lines of the description."""

    def _fill_text(self, text, width, indent):
        out = []
        for para in text.split('\n\n'):
            if para.startswith(' '):
                out.append(para)
            else:
                out.append(textwrap.fill(' '.join(para.split()), width,
                                         initial_indent=indent,
                                         subsequent_indent=indent))
        return '\n\n'.join(out)


def help_text(description):
    lines = [description.rstrip(), '',
             'Rules, in the order they are checked (every failing rule is '
             'reported, each with its way out):', '']
    for rule in rules.RULES:
        note = {True: '', False: ' Not bypassed by --force.',
                None: ' A reminder only: it never blocks.'}[rule.forceable]
        lines.extend(textwrap.wrap(
            '- %s: %s%s Source: %s.' % (rule.id, rule.summary, note,
                                        rule.doc),
            WIDTH - 2, initial_indent='  ', subsequent_indent='    ',
            break_on_hyphens=False))
    lines += ['',
              'Rules system-disk, os-supported, windows-scsi and '
              'guest-prepare apply to a running (ACTIVE) ECS only: from a '
              'stopped (SHUTOFF) ECS any disk can be detached.',
              '',
              'Exit status: 0 detached (or, with --dry-run, would be); 1 '
              'refused or failed; 2 usage error.']
    return '\n'.join(lines)


def _write(stream, text, indent=''):
    for line in textwrap.wrap(text, WIDTH, initial_indent=indent,
                              subsequent_indent=indent + '    ',
                              break_on_hyphens=False):
        stream.write(line + '\n')


def refusals(stream, gathered, findings):
    """Every failed rule of every volume, with its reason and way out."""
    for fact, volume_findings in zip(gathered, findings):
        refused = rules.refusals(volume_findings)
        if not refused:
            continue
        stream.write('Refused to detach volume %s from server %s:\n' % (
            fact.volume.label, fact.server.label))
        for f in refused:
            _write(stream, '[%s] %s.' % (f.rule, f.message), '  ')
            if f.advice:
                _write(stream, 'Way out: %s.' % f.advice, '      ')
    forceable = all(rules.RULES_BY_ID[f.rule].forceable
                    for fs in findings for f in rules.refusals(fs))
    closing = 'Nothing was detached.'
    if forceable:
        closing += (' --force sends the detach anyway; the cloud has the '
                    'last word.')
    _write(stream, closing)


def warnings(stream, gathered, findings):
    """Forced refusals and reminders; they do not block the detach."""
    for fact, volume_findings in zip(gathered, findings):
        for f in rules.warnings(volume_findings):
            if f.verdict == rules.FORCED:
                _write(stream, 'Warning (--force) [%s] %s.' % (
                    f.rule, f.message))
            else:
                _write(stream, 'Reminder [%s] %s: %s.' % (
                    f.rule, fact.volume.label, f.message))


def report_rows(gathered, findings):
    """The --dry-run report: a row per volume and rule."""
    rows = []
    for fact, volume_findings in zip(gathered, findings):
        for f in volume_findings:
            detail = f.message
            if f.advice and f.verdict in (rules.REFUSE, rules.FORCED):
                detail += '. Way out: %s' % f.advice
            rows.append((fact.volume.label, f.rule, f.verdict, detail))
    return rows
