"""Fault injection rules and the request log."""

import json
import re
import threading
import time

from otcclient_detach.simulator.state import isotime

FAULT_KEYS = ('method', 'path', 'status', 'count', 'retry_after', 'latency',
              'drop', 'service', 'body', 'content_type', 'carry_out')
# No ``body`` given (None is a body: JSON ``null``).
NO_BODY = object()
# OTC's flow control: HTTP 202 with an error document (ECS error codes).
FLOW_LIMIT_BODY = {'error': {'code': 'Common.0024',
                             'message': 'Flow limit exceeded.'}}


class FaultRule:
    """One rule: which requests it hits and what it does to them.

    ``count`` is how many matching requests it still applies to;
    None means every one.  A rule may add ``latency`` (seconds) and then
    answer with ``status`` (e.g. 500, 503, 429 + ``retry_after``; the
    error document of the API hit) or ``drop`` the connection without
    any response.  With ``body`` it answers that body instead, with any
    ``status`` (default 200) and ``content_type`` (default JSON): a
    string is sent as it is (HTML, ``null``, ...), anything else as
    JSON.  With ``carry_out`` the request is carried out first and only
    its answer is replaced (or dropped).  ``service`` (a name of
    app.SERVICES, e.g. 'compute') limits it to that service's port;
    None means any.  ``path`` is matched against the path on that port
    (e.g. ``/v2.1/{project_id}/servers/detail``).
    """

    def __init__(self, method='*', path='.*', status=None, count=1,
                 retry_after=None, latency=None, drop=False, service=None,
                 body=NO_BODY, content_type='application/json',
                 carry_out=False):
        self.method = (method or '*').upper()
        self.path = path or '.*'
        try:
            self.regex = re.compile(self.path)
        except re.error as exc:
            raise ValueError('path %r is not a valid regex: %s'
                             % (path, exc))
        has_body = body is not NO_BODY
        if status is not None:
            status = int(status)
            low = 100 if has_body else 400
            if not low <= status <= 599:
                raise ValueError('status must be between %d and 599%s' % (
                    low, '' if has_body else ' (or give a body)'))
        if count is not None:
            count = int(count)
            if count < 1:
                raise ValueError('count must be >= 1 or null (always)')
        if latency is not None and float(latency) < 0:
            raise ValueError('latency must be >= 0')
        if status is None and not latency and not drop and not has_body:
            raise ValueError('a fault needs status, body, latency or drop')
        if carry_out and status is None and not drop and not has_body:
            raise ValueError('carry_out needs status, body or drop')
        if has_body and not isinstance(body, str):
            body = json.dumps(body)
        self.status = status
        self.body = body if has_body else None
        self.has_body = has_body
        self.content_type = str(content_type)
        self.carry_out = bool(carry_out)
        self.count = count
        self.retry_after = retry_after
        self.latency = float(latency) if latency else None
        self.drop = bool(drop)
        self.service = service or None
        self.hits = 0

    def matches(self, method, path, service=None):
        if self.method not in ('*', method.upper()):
            return False
        if self.service is not None and self.service != service:
            return False
        return self.regex.search(path) is not None

    def to_dict(self):
        return {'method': self.method, 'path': self.path,
                'status': self.status, 'count': self.count,
                'retry_after': self.retry_after, 'latency': self.latency,
                'drop': self.drop, 'service': self.service,
                'body': self.body, 'content_type': self.content_type,
                'carry_out': self.carry_out, 'hits': self.hits}


class Faults:
    """Ordered rules; the first live rule matching a request is used."""

    def __init__(self, specs=()):
        self._lock = threading.Lock()
        self._rules = []
        for spec in specs:  # e.g. a scenario's ``faults``
            self.add(**spec)

    def add(self, method='*', path='.*', status=None, count=1,
            retry_after=None, latency=None, drop=False, service=None,
            body=NO_BODY, content_type='application/json',
            carry_out=False):
        rule = FaultRule(method, path, status, count, retry_after, latency,
                         drop, service, body, content_type, carry_out)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self):
        with self._lock:
            self._rules = []

    def rules(self):
        with self._lock:
            return [r.to_dict() for r in self._rules]

    def take(self, method, path, service=None):
        """Consume one use of the first matching rule; None if none."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path, service):
                    rule.hits += 1
                    if rule.count is not None:
                        rule.count -= 1
                        if rule.count == 0:
                            self._rules.remove(rule)
                    return rule
        return None


class RequestLog:
    """Every request to the cloud APIs, in the order they were answered.

    Each entry names its ``service`` and carries ``started`` and
    ``finished``: ``time.monotonic()`` seconds when the request arrived
    and when its answer was ready, so round trips that overlapped can be
    told from sequential ones.
    """

    def __init__(self, clock=None):
        self._lock = threading.Lock()
        self._entries = []
        self._clock = clock or time.time

    def add(self, method, path, query, status, dropped=False, service=None,
            started=None):
        now = self._clock()
        finished = time.monotonic()
        entry = {'method': method, 'path': path, 'query': query,
                 'status': status, 'time': isotime(now, True),
                 'timestamp': now, 'dropped': dropped, 'service': service,
                 'started': finished if started is None else started,
                 'finished': finished}
        with self._lock:
            self._entries.append(entry)
        return entry

    def entries(self):
        with self._lock:
            return [dict(e) for e in self._entries]

    def clear(self):
        with self._lock:
            self._entries = []
