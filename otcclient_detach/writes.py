"""Sending one write and finding out what became of it.

A write is sent once (cloud.request never retries one).  When it fails,
the state is read again, and the answer and that second look together
say what happened (doc/source/hardening.rst): an error answer or a lost
connection may hide a detach the cloud accepted, and a refusal may come
from another client that got there first.  Only flow control (429, or
``Common.0024`` in a 2xx) says for sure that the cloud did not act: such
a write is sent again later (run.py), after the facts were checked
again.  The outcome is values for the record; render.py words them.
"""

import dataclasses
import time
from typing import Optional

from otcclient_detach import cloud
from otcclient_detach import detach
from otcclient_detach import errors
from otcclient_detach import record

#: (what the cloud said, what a second look shows) -> (state, accepted?)
#: The cloud said 'not attached' (404), 'no answer' (5xx, timeout, lost
#: connection), 'in flight' (no answer, and the request may still be
#: carried out) or 'refused'.  The second look shows the volume 'gone'
#: from the server, 'detaching', still 'attached', or 'unknown'.
AFTER_FAILED_DETACH = {
    ('not attached', 'gone'): record.State.REFUSED,
    ('not attached', 'detaching'): record.State.REFUSED,
    ('not attached', 'attached'): record.State.REFUSED,
    ('not attached', 'unknown'): record.State.REFUSED,
    ('no answer', 'gone'): record.State.ACCEPTED,
    ('no answer', 'detaching'): record.State.ACCEPTED,
    ('no answer', 'attached'): record.State.REFUSED,
    ('no answer', 'unknown'): record.State.UNKNOWN,
    ('in flight', 'attached'): record.State.UNKNOWN,
    ('refused', 'gone'): record.State.REFUSED,
    ('refused', 'detaching'): record.State.REFUSED,
    ('refused', 'attached'): record.State.REFUSED,
    ('refused', 'unknown'): record.State.REFUSED,
}


#: Seconds the second look after a failed write may take, retries
#: included: a cloud that stopped answering does not hold the command.
SECOND_LOOK_SECONDS = 20.0


@dataclasses.dataclass
class Sent(object):
    """What became of one DETACH."""

    state: record.State
    #: The cloud's flow control turned it away: send it again later.
    again: bool = False
    job_id: Optional[str] = None
    said: object = None
    #: For the wording: 'said' kind, what the second look 'shows', the
    #: status read then, what reading failed with, how the server changed.
    detail: dict = dataclasses.field(default_factory=dict)


def flow_limited(error):
    """Whether the cloud turned the write away for its flow control."""
    return isinstance(error, errors.CloudError) and \
        not isinstance(error, errors.BrokenAnswer) and (
            error.status == 429 or getattr(error, 'in_success', False))


def said_kind(error):
    if isinstance(error, detach.NotAttached):
        return 'not attached'
    if errors.is_ambiguous(error):
        return 'in flight' if errors.may_still_happen(error) \
            else 'no answer'
    return 'refused'


def send_detach(reads, native, server, volume, force_detach=False):
    """Send one DETACH; a :class:`Sent`.

    ``native`` is the ECS v1 adapter of OTC's native API, or None for
    nova's.
    """
    try:
        if native is not None:
            job_id = detach.detach_native(native, server.id, volume.id,
                                          force=force_detach)
        else:
            detach.detach_nova(reads.compute, server.id, volume.id)
            job_id = None
    except (detach.NotAttached,) + errors.FAILURES as e:
        if flow_limited(e):
            return Sent(record.State.REFUSED, again=True, said=e,
                        detail={'said': 'flow control'})
        return after_failed_detach(reads, server, volume, e)
    return Sent(record.State.ACCEPTED, job_id=job_id)


def after_failed_detach(reads, server, volume, error):
    """Judge a failed DETACH by the state read again."""
    kind = said_kind(error)
    detail = {'said': kind}
    try:
        with cloud.deadline(time.monotonic() + SECOND_LOOK_SECONDS):
            listed = {a.get('volumeId')
                      for a in reads.attachments(server.id)}
            now = reads.volume_by_id(volume.id)
    except Exception as e:
        shows = 'unknown'
        detail['reread'] = e
    else:
        detail['status'] = now.status
        shows = ('gone' if volume.id not in listed else
                 'detaching' if now.status == 'detaching' else 'attached')
    detail['shows'] = shows
    if (kind, shows) not in AFTER_FAILED_DETACH:
        kind = detail['said'] = 'no answer'
    if (kind, shows) == ('refused', 'attached'):
        detail['server_now'] = server_now(reads, server)
    return Sent(AFTER_FAILED_DETACH[(kind, shows)], said=error,
                detail=detail)


def server_now(reads, server):
    """The server read again (model.Server), or the error that gave."""
    try:
        with cloud.deadline(time.monotonic() + SECOND_LOOK_SECONDS):
            return reads.server_by_id(server.id)
    except Exception as e:
        return e


def send_power(reads, request, server):
    """Send os-stop or os-start once; None, or the error it failed with."""
    send = {'os-stop': detach.stop_server,
            'os-start': detach.start_server}[request]
    try:
        send(reads.compute, server.id)
    except errors.FAILURES as e:
        return e
    return None
