"""Flow control: requests per second, answered as OTC answers them.

OTC's API gateway limits how fast a tenant may call an API and publishes
two answers for it (ECS API reference, appendix "Error Codes"): HTTP 429
``Common.1503`` ("Api flow control Error because %s.") and HTTP 202
``Common.0024`` ("Flow limit exceeded."), the latter with a 2xx status.
Either way the request is not carried out.  OTC publishes no numbers and
no ``Retry-After``; a rule may add one.

Each rule is a token bucket on the simulator's clock (``State.clock``),
so a fake clock makes it exact: ``burst`` requests at once, then
``rate`` per second.  The first rule matching a request decides.
"""

import json

from werkzeug.wrappers import Response

from otcclient_detach.simulator import matching

RATE_LIMIT_KEYS = ('rate', 'burst', 'service', 'method', 'path', 'answer',
                   'retry_after')
ANSWERS = (429, 202)
_FLOW_CONTROL_MESSAGE = ('Api flow control Error because more than %g '
                         'requests per second were sent.')


def refusal_body(answer, rate):
    """OTC's error document for a request over the limit."""
    if answer == 202:
        return {'error': {'code': 'Common.0024',
                          'message': 'Flow limit exceeded.'}}
    return {'error': {'code': 'Common.1503',
                      'message': _FLOW_CONTROL_MESSAGE % rate}}


class RateLimit(matching.RequestMatcher):
    """One token bucket and the requests it applies to.

    ``rate`` is requests per second (> 0); ``burst`` the bucket's size
    (default: ``rate``, at least 1); ``service`` a name of app.SERVICES
    (None: any), ``method`` an HTTP method ('*': any), ``path`` a regex
    searched in the path; ``answer`` 429 or 202.
    """

    def __init__(self, rate, burst=None, service=None, method='*',
                 path='.*', answer=429, retry_after=None, now=0.0):
        if isinstance(rate, bool):
            raise ValueError('rate must be a number > 0')
        self.rate = float(rate)
        if not self.rate > 0:
            raise ValueError('rate must be a number > 0')
        self.burst = float(max(1.0, self.rate) if burst is None else burst)
        if self.burst < 1:
            raise ValueError('burst must be >= 1')
        self.answer = int(answer)
        if self.answer not in ANSWERS:
            raise ValueError('answer must be 429 or 202')
        self.set_match(method, path, service)
        self.retry_after = retry_after
        self.tokens = self.burst
        self.updated = now
        self.allowed = self.refused = 0

    def take(self, now):
        """Spend a token if there is one; whether the request may pass."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.allowed += 1
            return True
        self.refused += 1
        return False

    def response(self):
        """The answer to a request over the limit."""
        headers = {}
        if self.retry_after is not None:
            headers['Retry-After'] = str(self.retry_after)
        return Response(json.dumps(refusal_body(self.answer, self.rate)),
                        status=self.answer, headers=headers,
                        content_type='application/json')

    def to_dict(self):
        return {'rate': self.rate, 'burst': self.burst,
                'service': self.service, 'method': self.method,
                'path': self.path, 'answer': self.answer,
                'retry_after': self.retry_after,
                'tokens': round(self.tokens, 6), 'allowed': self.allowed,
                'refused': self.refused}


class RateLimits(matching.RuleList):
    """Ordered rules on one clock; thread-safe."""

    def __init__(self, specs=(), clock=None):
        super().__init__()
        self._clock = clock
        for spec in specs:
            self.add(**spec)

    def _now(self):
        return self._clock() if self._clock else 0.0

    def add(self, **spec):
        unknown = set(spec) - set(RATE_LIMIT_KEYS)
        if unknown:
            raise ValueError('unknown rate limit key(s): %s'
                             % ', '.join(sorted(unknown)))
        if 'rate' not in spec:
            raise ValueError('a rate limit needs "rate" (per second)')
        return self._install(RateLimit(now=self._now(), **spec))

    def check(self, method, path, service):
        """The rule that refuses this request, or None to let it pass."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path, service):
                    return None if rule.take(self._now()) else rule
        return None


def parse_spec(text):
    """A rule from ``rate=10,service=compute,method=DELETE,answer=202``.

    A bare number is the rate of a limit on every request.
    """
    spec = {}
    for part in text.split(','):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition('=')
        if not sep:
            key, value = 'rate', key
        key = key.strip()
        if key not in RATE_LIMIT_KEYS:
            raise ValueError('unknown rate limit key %r; allowed: %s'
                             % (key, ', '.join(RATE_LIMIT_KEYS)))
        value = value.strip()
        if key in ('rate', 'burst', 'retry_after'):
            value = float(value)
        elif key == 'answer':
            value = int(value)
        spec[key] = value
    if 'rate' not in spec:
        raise ValueError('a rate limit needs a rate (per second)')
    RateLimit(**spec)  # checked now, with its own messages
    return spec
