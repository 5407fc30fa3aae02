"""What fault rules and rate limits share.

Both pick requests the same way (HTTP method, service, a regular
expression searched in the path) and are kept as an ordered,
thread-safe list in which the first matching rule decides.
"""

import re
import threading


class RequestMatcher:
    """Which requests a rule applies to; a base of faults and limits.

    ``method`` an HTTP method ('*': any), ``path`` a regex searched in
    the path on the service's port, ``service`` a name of app.SERVICES
    (None: any).
    """

    def set_match(self, method='*', path='.*', service=None):
        self.method = (method or '*').upper()
        self.path = path or '.*'
        try:
            self.regex = re.compile(self.path)
        except re.error as exc:
            raise ValueError('path %r is not a valid regex: %s'
                             % (path, exc))
        self.service = service or None

    def matches(self, method, path, service=None):
        if self.method not in ('*', method.upper()):
            return False
        if self.service is not None and self.service != service:
            return False
        return self.regex.search(path) is not None


class RuleList:
    """Ordered rules under one lock; subclasses add and use them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules = []

    def _install(self, rule):
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self):
        with self._lock:
            self._rules = []

    def rules(self):
        """Every rule as a dict (``to_dict()``), in order."""
        with self._lock:
            return [r.to_dict() for r in self._rules]
