"""What a run tells: each write as its outcome becomes known, the closing
lines, and the result rows (``-f json``), all read off the record.

Nothing here decides anything: the record says what happened, and these
functions put it in words.  Every name from the cloud goes through
render.escape (render.fill wraps and escapes).
"""

from otcclient_detach import errors
from otcclient_detach import record
from otcclient_detach import render

Kind, State = record.Kind, record.State

#: Why a volume the cloud rolled back is still attached.
ROLLED_BACK = ('the cloud rolled the detach back: the volume is in-use and '
               'still attached, so the guest did not release the disk. '
               'Likely causes: it is still mounted (Linux: umount it), I/O '
               'is running on it, or OTC Tools are missing or stopped '
               '(Windows)')

#: A failed DELETE, by (what the cloud said, what a second look shows).
AFTER_FAILED_DETACH = {
    ('not attached', 'gone'):
        '{said}. Someone else detached it meanwhile (its status is '
        '{status} now)',
    ('not attached', 'detaching'):
        '{said}. It is still listed, with status detaching: a detach of '
        'this volume is already in progress (another client?)',
    ('not attached', 'attached'):
        '{said}. Yet it is still listed as attached (status {status}): '
        'nothing was detached; check it with {check}',
    ('not attached', 'unknown'):
        '{said} (reading the volume again failed too: {reread})',
    ('no answer', 'gone'):
        'Volume {label}: {said}, but the detach was accepted: the volume '
        'has left the server (status {status}).',
    ('no answer', 'detaching'):
        'Volume {label}: {said}, but the detach was accepted: the volume '
        'is detaching.',
    ('no answer', 'attached'):
        '{said}, and the volume is still attached (status {status}): '
        'nothing was detached',
    ('no answer', 'unknown'):
        '{said}, and reading the volume again failed too ({reread}): the '
        'detach may or may not have been accepted; check it with {check}',
    ('in flight', 'attached'):
        '{said}; the volume is still attached (status {status}) for now, '
        'but the cloud may still carry the DELETE out: check it with '
        '{check} before running the command again',
    ('refused', 'gone'):
        '{said}. Meanwhile it is not attached any more: someone else '
        'detached it meanwhile (its status is {status} now)',
    ('refused', 'detaching'):
        '{said}. Meanwhile a detach of this volume is already in progress '
        '(another client?)',
    ('refused', 'attached'): '{said}{server_changed}',
    ('refused', 'unknown'):
        '{said} (reading the volume again failed too: {reread})',
}

#: kind -> the words of os-stop / os-start.
POWER = {
    Kind.STOP: dict(announce='Stopping server %s (os-stop) ...',
                    reached='Server %s is stopped (SHUTOFF).',
                    participle='stopped', gerund='stopping', missed='stop',
                    consequence='nothing was detached', verb='stop',
                    again=''),
    Kind.START: dict(announce='Starting server %s again (os-start) ...',
                     reached='Server %s is running (ACTIVE) again.',
                     participle='started', gerund='starting',
                     missed='become ACTIVE', consequence='', verb='start',
                     again=' again'),
}


def describe_server(server):
    """'ACTIVE', 'ACTIVE, task powering-off', 'SHUTOFF, locked'."""
    text = server.status
    if server.task_state:
        text += ', task %s' % server.task_state
    if server.locked:
        text += ', locked'
    return text


def check_command(server, volume=None):
    if volume is not None:
        return "'openstack server volume list %s' or 'openstack volume " \
               "show %s'" % (server.label, volume.id if volume.shared_name
                             else volume.label)
    return "'openstack server volume list %s'" % server.label


class Teller(object):
    """The record's listener: tells each write as its outcome is known."""

    def __init__(self, out, plan):
        self.out = out
        self.plan = plan

    def say(self, text):
        self.out.write(render.fill(text) + '\n')

    def __call__(self, entry):
        tell = {Kind.SNAPSHOT: self.snapshot, Kind.STOP: self.power,
                Kind.START: self.power, Kind.DETACH: self.detach}
        tell[entry.kind](entry)

    # -- snapshots -----------------------------------------------------------

    def snapshot(self, entry):
        volume, name = entry.target, entry.snapshot_name
        if entry.state == State.SENT:
            self.say('Volume %s: creating snapshot %s ...' % (
                volume.label, name))
        elif entry.state == State.CONFIRMED:
            self.say('Volume %s: snapshot %s is available.' % (volume.label,
                                                               name))
        elif entry.why == 'refused':
            self.say('Volume %s: the snapshot failed: %s. Nothing was '
                     'detached.' % (volume.label, entry.said))
        elif entry.state == State.REFUSED:
            what = {'timed out': 'was not available within %d s' %
                    self.plan.options.timeout,
                    'not followed': 'could not be followed: %s' %
                    entry.said}.get(entry.why, 'went to status %s' %
                                    entry.said)
            self.say('Volume %s: snapshot %s %s. Nothing was detached; '
                     "check it with 'openstack volume snapshot show %s'." %
                     (volume.label, name, what, name))

    # -- os-stop and os-start ------------------------------------------------

    def power(self, entry):
        words, label = POWER[entry.kind], entry.target.label
        if entry.state == State.SENT:
            self.say(words['announce'] % label)
            return
        if entry.state == State.NOT_SENT:
            return  # told by the closing lines
        said = entry.said
        happened = errors.what_happened(said, 'os-' + words['verb']) \
            if said is not None else None
        now = entry.detail.get('now')
        if entry.detail.get('went_on') and happened:
            self.say('Server %s: %s, but the server is %s now: going on.' % (
                label, happened, describe_server(now)))
        if entry.state == State.CONFIRMED:
            self.say(words['reached'] % label)
            return
        self._power_failed(entry, words, label, happened, now)

    def _power_failed(self, entry, words, label, happened, now):
        consequence = '; ' + words['consequence'] \
            if words['consequence'] else ''
        timeout = self.plan.options.timeout
        if entry.why == 'timed out':
            state = describe_server(now) if not isinstance(
                now, Exception) and now is not None else \
                'unknown: reading it again failed (%s)' % \
                errors.what_happened(now)
            what = 'Server %s did not %s within %d s%s. The server is %s ' \
                   'now.' % (label, words['missed'], timeout, consequence,
                             state)
        elif entry.why == 'error status':
            what = 'Server %s went to status ERROR while %s%s.' % (
                label, words['gerund'], consequence)
        elif entry.why == 'not followed':
            what = 'Following server %s while %s failed: %s%s.' % (
                label, words['gerund'], entry.said, consequence)
        elif entry.why == 'reread failed':
            what = 'Server %s: %s, and reading the server again failed too ' \
                   '(%s)%s.' % (label, happened, errors.what_happened(
                       entry.detail.get('reread')), consequence)
        elif entry.why == 'in flight':
            what = 'Server %s: %s; the server is still %s for now, but the ' \
                   'cloud may still carry the os-%s out%s.' % (
                       label, happened, describe_server(now),
                       words['verb'], consequence)
        elif entry.why == 'no answer':
            advice = "; start it with 'openstack server start %s'" % label \
                if entry.kind == Kind.START else ''
            self.say('Server %s: %s, and the server is still %s: it was not '
                     '%s%s%s.' % (label, happened, describe_server(now),
                                  words['participle'], consequence, advice))
            return
        else:
            self.say('The cloud refused to %s server %s%s: %s%s.' % (
                words['verb'], label, words['again'], entry.said,
                consequence))
            return
        self.say("%s Check it with 'openstack server show %s'." % (
            what, label))

    # -- detaches ------------------------------------------------------------

    def detach(self, entry):
        volume = entry.target
        if entry.state == State.SENT:
            return
        if entry.state == State.ACCEPTED and entry.why == 'after failure':
            self.say(self.failed_detach_text(entry))
        elif entry.state == State.ACCEPTED and entry.job_id and \
                entry.why is None:
            self.say('Volume %s: ECS job %s started.' % (volume.label,
                                                         entry.job_id))
        elif entry.state == State.CONFIRMED:
            self.say('Volume %s is detached from server %s.' % (
                volume.label, self.plan.server.label))
        elif entry.state == State.ACCEPTED and entry.why in (
                'not confirmed', 'job timed out', 'not followed'):
            self.say(self.unconfirmed_text(entry))
        elif entry.state != State.ACCEPTED:
            reason = self.failure_reason(entry)
            if reason:
                self.say('Failed to detach volume %s from server %s: %s%s' % (
                    volume.label, self.plan.server.label, reason,
                    '' if reason.endswith('.') else '.'))

    def unconfirmed_text(self, entry):
        volume, timeout = entry.target, self.plan.options.timeout
        check = check_command(self.plan.server, volume)
        if entry.why == 'not followed':
            return ('Volume %s: the detach was accepted, but following it '
                    'failed: %s; it was not confirmed: check it with %s.' % (
                        volume.label, entry.said, check))
        what = 'job %s did not end' % entry.job_id \
            if entry.why == 'job timed out' else 'it had not left the server'
        return ('Volume %s: the detach was accepted, but not confirmed '
                'within %d s (%s); check it with %s.' % (
                    volume.label, timeout, what, check))

    def failed_detach_text(self, entry):
        volume, detail = entry.target, entry.detail
        server = self.plan.server
        said = detail.get('said')
        if said == 'not attached':
            words = 'the cloud says it is not attached (any more): %s' % (
                getattr(entry.said, 'args', [''])[0] or entry.said)
        elif said in ('no answer', 'in flight'):
            words = errors.what_happened(entry.said, 'the DELETE')
            if getattr(entry.said, 'code', None):
                # A code OTC documents: its meaning and way out too.
                words += ' (%s)' % entry.said
        else:
            words = 'the cloud refused: %s' % entry.said
        now = detail.get('server_now')
        changed = ''
        if now is not None and not isinstance(now, Exception) and \
                describe_server(now) != describe_server(server):
            changed = ('. Meanwhile server %s changed: it was %s when '
                       'checked and is %s now (someone else stopped, '
                       'started or changed it)' % (
                           server.label, describe_server(server),
                           describe_server(now)))
        template = AFTER_FAILED_DETACH[(said, detail.get('shows'))]
        return template.format(
            said=words, label=volume.label, status=detail.get('status'),
            check=check_command(server, volume), server_changed=changed,
            reread=errors.what_happened(detail['reread'])
            if detail.get('reread') is not None else None)

    def failure_reason(self, entry):
        volume, server = entry.target, self.plan.server
        check = check_command(server, volume)
        why = entry.why
        if why == 'interrupted':
            return None  # the closing lines tell
        if why == 'left meanwhile':
            self.say('Volume %s is not attached to server %s any more: '
                     'nothing to do (--if-attached).' % (volume.label,
                                                         server.label))
            return None
        if why == 'rules':
            return ('not sent: checked again just before the DELETE, %s' %
                    '; '.join('[%s] %s' % (f.rule, f.message)
                              for f in entry.refused_by))
        if why == 'recheck failed':
            return ('not sent: reading the facts again before the DELETE '
                    'failed: %s' % entry.said)
        if why == 'flow control':
            return ('the cloud turned the DELETE away (flow control: %s) '
                    'until --timeout; nothing was detached' % entry.said)
        if why == 'rolled back':
            return ROLLED_BACK
        if why == 'error status':
            return 'the volume went to status %s; check it with %s' % (
                entry.said, check)
        if why == 'job failed':
            found = entry.said or {}
            code = found.get('error_code')
            hint = errors.HINTS.get(code)
            return 'job %s failed: %s%s%s' % (
                entry.job_id, found.get('fail_reason') or 'no reason given',
                ' (%s)' % code if code else '',
                '. Hint: %s' % hint if hint else '')
        if why == 'bug':
            return 'unexpected error: %s; check it with %s' % (entry.said,
                                                               check)
        return self.failed_detach_text(entry)
