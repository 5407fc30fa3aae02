"""The record of every write: what was sent, and what became of it.

Each write (a snapshot, os-stop, a DELETE, a native job, os-start) gets
an :class:`Entry` before it is sent, and its state is updated as the
answers come in.  Every final line, the exit status and the ``-f json``
rows are queries over this record (render.py, workflow.py), so they
cannot go stale: nothing is told before the outcome it tells is known.
"""

import dataclasses
import enum
import threading
import time
from typing import Optional


class State(enum.Enum):
    """How far one write got."""

    #: Not sent: refused by a rule when checked again, interrupted, or
    #: an earlier step failed.
    NOT_SENT = 'not sent'
    #: On the wire; no answer yet.
    SENT = 'sent'
    #: The cloud accepted it (2xx, or a read proved it under way).
    ACCEPTED = 'accepted'
    #: What it asked for has happened (the volume left the server, the
    #: server stopped, the snapshot is available).
    CONFIRMED = 'confirmed'
    #: The cloud refused it, or it failed (rolled back, error status).
    REFUSED = 'refused'
    #: Sent, and nobody can tell whether it was carried out.
    UNKNOWN = 'unknown'


class Kind(enum.Enum):
    SNAPSHOT = 'snapshot'
    STOP = 'os-stop'
    DETACH = 'detach'
    START = 'os-start'


#: States after which a write may have changed the cloud.
MAY_HAVE_ACTED = (State.SENT, State.ACCEPTED, State.CONFIRMED,
                  State.UNKNOWN)


@dataclasses.dataclass
class Entry:
    """One write and everything known of it."""

    kind: Kind
    #: The volume (SNAPSHOT, DETACH) or server (STOP, START) it acts on.
    target: object
    state: State = State.NOT_SENT
    #: Why it ended where it did, as a value render.py words: e.g.
    #: 'rules', 'interrupted', 'rolled back', 'timed out', 'error status'.
    why: Optional[str] = None
    #: What the cloud said (an exception or a status), for the wording.
    said: object = None
    #: Rule ids that refused it when checked again before sending.
    refused_by: tuple = ()
    #: The native job or the snapshot this write made.
    job_id: Optional[str] = None
    snapshot_id: Optional[str] = None
    snapshot_name: Optional[str] = None
    #: More for the wording (the state read again, a status, ...).
    detail: dict = dataclasses.field(default_factory=dict)
    started: Optional[float] = None
    ended: Optional[float] = None

    @property
    def sent(self):
        return self.state in MAY_HAVE_ACTED or self.state == State.REFUSED


class Record(object):
    """Every write of one run, in the order they were planned."""

    def __init__(self, clock=time.monotonic, listener=None):
        self.clock = clock
        self.entries = []
        self.began = clock()
        #: Called with each entry whose state changed (render tells it).
        self.listener = listener or (lambda entry: None)
        self._lock = threading.Lock()
        #: Set on Ctrl-C: no further write is sent.
        self.cancelled = threading.Event()
        #: What ended the run early (an exception), if anything.
        self.ended_by = None

    def add(self, kind, target, **detail):
        entry = Entry(kind, target, detail=detail)
        with self._lock:
            self.entries.append(entry)
        return entry

    def sending(self, entry):
        """Mark ``entry`` as on the wire; False if cancelled (not sent).

        Ctrl-C cancels under the same lock: an entry told "not sent" is
        never sent afterwards.
        """
        with self._lock:
            if self.cancelled.is_set():
                entry.why = entry.why or 'interrupted'
                return False
            entry.state = State.SENT
            entry.started = self.clock()
        return True

    def cancel(self):
        with self._lock:
            self.cancelled.set()

    def update(self, entry, state, why=None, said=None, tell=True, **more):
        """Set what became of ``entry``; tell the listener."""
        with self._lock:
            entry.state = state
            if why is not None:
                entry.why = why
            if said is not None:
                entry.said = said
            for key, value in more.items():
                setattr(entry, key, value)
            entry.ended = self.clock()
        if tell:
            self.listener(entry)

    # -- queries -----------------------------------------------------------

    def of(self, kind):
        return [e for e in self.entries if e.kind == kind]

    def detach_of(self, volume_id):
        for entry in self.of(Kind.DETACH):
            if entry.target.id == volume_id:
                return entry
        return None

    def last(self, kind):
        found = self.of(kind)
        return found[-1] if found else None

    def stopped_by_us(self):
        """Whether this run's os-stop may have stopped the server."""
        entry = self.last(Kind.STOP)
        return entry is not None and entry.state in MAY_HAVE_ACTED

    def seconds(self, entry):
        end = entry.ended if entry.ended is not None else self.clock()
        return round(end - self.began, 1)
