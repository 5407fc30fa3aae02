"""Fault injection rules and the request log."""

import json
import threading
import time

from otcclient_detach.simulator import matching
from otcclient_detach.simulator.state import isotime

FAULT_KEYS = ('method', 'path', 'status', 'count', 'retry_after', 'latency',
              'drop', 'service', 'body', 'content_type', 'carry_out',
              'preset')
# No ``body`` given (None is a body: JSON ``null``).
NO_BODY = object()
# OTC's flow control: HTTP 202 with an error document (ECS error codes).
FLOW_LIMIT_BODY = {'error': {'code': 'Common.0024',
                             'message': 'Flow limit exceeded.'}}


def _otc_error(code, message):
    # ECS's and EVS's error document ("error": code and message)
    return {'error': {'code': code, 'message': message}}


def _kms_error(code, message):
    # KMS's own shape (its error-code appendix)
    return {'error': {'error_code': code, 'error_msg': message}}


#: Named answers, each with the HTTP status and message OTC documents
#: for its code: ECS API reference appendix "Error Codes"
#: (``appendix/error_codes.rst``), EVS's (``appendix/error_codes.rst``)
#: and KMS's (``appendix/error_code.rst``).  name -> (status, body,
#: default service).
PRESETS = {
    'Ecs.1002': (400, _otc_error(
        'Ecs.1002', 'A system exception occurred. Try again later or '
        'contact customer service.'), None),
    'Ecs.0003': (403, _otc_error(
        'Ecs.0003', 'You do not have permission to perform this operation.'
        ' Contact customer service to obtain permission.'), None),
    'Pdp.0001': (403, _otc_error(
        'Pdp.0001', 'Policy does not allow ecs:cloudServers:detachVolume to '
        'be performed.'), None),
    'Ecs.0603': (501, _otc_error(
        'Ecs.0603', 'The commands are being executed. Try again later.'),
        None),
    'EVS.2021': (500, _otc_error('EVS.2021', 'volume is error_detaching!'),
                 None),
    'EVS.2068': (400, _otc_error(
        'EVS.2068', 'operation failed because of volume be locked'), None),
    'KMS.0205': (400, _kms_error('KMS.0205', 'Invalid key ID.'), 'kms'),
    'KMS.0207': (404, _kms_error('KMS.0207', 'The key does not exist.'),
                 'kms'),
    'Common.0024': (202, FLOW_LIMIT_BODY, None),
    'Common.1503': (429, _otc_error(
        'Common.1503', 'Api flow control Error because too many requests '
        'were sent.'), None),
}


def apply_preset(spec):
    """``spec`` with its ``preset`` replaced by status, body, service.

    What the spec gives itself wins; an unknown name is a ValueError.
    """
    spec = dict(spec)
    name = spec.pop('preset', None)
    if name is None:
        return spec
    if name not in PRESETS:
        raise ValueError('unknown preset %r; known: %s'
                         % (name, ', '.join(sorted(PRESETS))))
    status, body, service = PRESETS[name]
    spec.setdefault('status', status)
    spec.setdefault('body', body)
    if service is not None:
        spec.setdefault('service', service)
    return spec


class FaultRule(matching.RequestMatcher):
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
    (e.g. ``/v2.1/{project_id}/servers/detail``).  A ``preset`` (a
    name of :data:`PRESETS`) stands for an OTC error code's status and
    body; :func:`apply_preset` turns it into them.
    """

    def __init__(self, method='*', path='.*', status=None, count=1,
                 retry_after=None, latency=None, drop=False, service=None,
                 body=NO_BODY, content_type='application/json',
                 carry_out=False):
        self.set_match(method, path, service)
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
        self.hits = 0

    def to_dict(self):
        return {'method': self.method, 'path': self.path,
                'status': self.status, 'count': self.count,
                'retry_after': self.retry_after, 'latency': self.latency,
                'drop': self.drop, 'service': self.service,
                'body': self.body, 'content_type': self.content_type,
                'carry_out': self.carry_out, 'hits': self.hits}


class Faults(matching.RuleList):
    """Ordered rules; the first live rule matching a request is used."""

    def __init__(self, specs=()):
        super().__init__()
        for spec in specs:  # e.g. a scenario's ``faults``
            self.add(**spec)

    def add(self, method='*', path='.*', status=None, count=1,
            retry_after=None, latency=None, drop=False, service=None,
            body=NO_BODY, content_type='application/json',
            carry_out=False, preset=None):
        """Install a rule (FaultRule's arguments, or a ``preset``)."""
        spec = {'status': status, 'body': body, 'service': service}
        if preset is not None:
            # only what the caller gave wins over the preset
            spec = apply_preset(dict(
                {k: v for k, v in spec.items()
                 if v is not None and v is not NO_BODY}, preset=preset))
        rule = FaultRule(method, path, spec.get('status'), count,
                         retry_after, latency, drop, spec.get('service'),
                         spec.get('body', NO_BODY), content_type, carry_out)
        return self._install(rule)

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

    Each entry names its ``service``, says whether flow control
    refused it (``rate_limited``: answered, not carried out) and
    carries ``started`` and ``finished``: ``time.monotonic()`` seconds
    when the request arrived
    and when its answer was ready, so round trips that overlapped can be
    told from sequential ones.
    """

    def __init__(self, clock=None):
        self._lock = threading.Lock()
        self._entries = []
        self._clock = clock or time.time

    def add(self, method, path, query, status, dropped=False, service=None,
            started=None, rate_limited=False):
        now = self._clock()
        finished = time.monotonic()
        entry = {'method': method, 'path': path, 'query': query,
                 'status': status, 'time': isotime(now, True),
                 'timestamp': now, 'dropped': dropped,
                 'rate_limited': rate_limited, 'service': service,
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
