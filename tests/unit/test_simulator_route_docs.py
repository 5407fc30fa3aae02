"""simulator.rst's route tables cover what the simulator serves.

Each path cell of the tables is read as a pattern: an optional
``GET|POST`` method list, a ``{iam}``/``{ecs}``/``{evs}``/``{ims}``/``{kms}``
service root (none for the control API on every port), ``{a|b}`` one
of the words, ``{name}`` one path segment, ``[...]`` optional, ``|``
inside ``[...]`` one of the parts.  Every werkzeug rule of app.py's
tables, with a sample value for each of its variables, must match a
row of its service, with its methods; and every row must match a rule.
"""

import inspect
import os
import re

import testtools

from otcclient_detach.simulator import app
from otcclient_detach.simulator import compute

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SERVICE_ROOTS = {'iam': 'identity', 'ecs': 'compute', 'evs': 'volume',
                 'ims': 'image', 'kms': 'kms'}
CONTROL = 'control'
# werkzeug adds these to the methods of a rule by itself
IMPLIED_METHODS = {'HEAD', 'OPTIONS'}
CELL = re.compile(r'^(?:([A-Z]+(?:\|[A-Z]+)*) )?(?:\{(%s)\})?(/\S*)$'
                  % '|'.join(SERVICE_ROOTS))


def pattern_regex(path):
    """The regular expression of a path pattern of the doc's tables."""
    out = []
    for token in re.findall(r'\{[^}]*\}|\[|\]|\||[^{}\[\]|]+', path):
        if token.startswith('{') and '|' in token:
            words = token[1:-1].split('|')
            out.append('(?:%s)' % '|'.join(map(re.escape, words)))
        elif token.startswith('{'):
            out.append('[^/]+')
        elif token == '[':
            out.append('(?:')
        elif token == ']':
            out.append(')?')
        elif token == '|':
            out.append('|')
        else:
            out.append(re.escape(token))
    return re.compile(''.join(out) + r'\Z')


class Row(object):

    def __init__(self, cell):
        match = CELL.match(cell)
        if not match:
            raise ValueError('not a route pattern: %r' % cell)
        methods, root, path = match.groups()
        self.cell = cell
        self.methods = set(methods.split('|')) if methods else None
        self.service = SERVICE_ROOTS[root] if root else CONTROL
        self.regex = pattern_regex(path)

    def matches(self, service, path, method):
        return (service == self.service and self.regex.match(path) and
                (self.methods is None or method in self.methods))


def doc_rows():
    """The route rows of simulator.rst: every ``...`` cell in column 1."""
    with open(os.path.join(ROOT, 'doc', 'source', 'simulator.rst'),
              encoding='utf-8') as fh:
        text = fh.read()
    rows = []
    for line in text.splitlines():
        first = re.match(r'^((?:``[^`]+``(?:, )?)+)(?:\s{2,}|$)', line)
        if not first:
            continue
        for cell in re.findall(r'``([^`]+)``', first.group(1)):
            if cell.startswith('/') or CELL.match(cell) and (
                    '{' in cell.split('/')[0] or ' ' in cell):
                rows.append(cell)
    return [Row(cell) for cell in rows if '...' not in cell]


def sample_paths(rule):
    """Concrete paths for a werkzeug rule: each ``any()`` choice."""
    paths = ['']
    for part in re.split(r'(<[^>]+>)', rule.rule):
        if part.startswith('<any('):
            words = re.findall(r'[\w.]+', part[len('<any('):part.index(')')])
            paths = [p + w for p in paths for w in words]
        elif part.startswith('<'):
            paths = [p + 'x1' for p in paths]
        else:
            paths = [p + part for p in paths]
    return paths


def app_routes():
    """(service, path, method, rule) for every route the app serves."""
    routes = []
    for service in app.SERVICES:
        for rule in service.rules:
            routes.append((service.name, rule))
    routes.extend((CONTROL, rule) for rule in app.CONTROL_RULES)
    return [(name, path, method, rule.rule)
            for name, rule in routes for path in sample_paths(rule)
            for method in sorted(set(rule.methods) - IMPLIED_METHODS)]


class TestRouteTables(testtools.TestCase):

    def test_patterns_read_as_meant(self):
        row = Row('GET|POST {ecs}/{v2.1|v2}/{project_id}/flavors'
                  '[/detail|/{id}]')
        self.assertEqual('compute', row.service)
        self.assertTrue(row.matches('compute', '/v2/p/flavors', 'GET'))
        self.assertTrue(row.matches('compute', '/v2.1/p/flavors/detail',
                                    'POST'))
        self.assertFalse(row.matches('compute', '/v3/p/flavors', 'GET'))
        self.assertFalse(row.matches('compute', '/v2/p/flavors/a/b', 'GET'))
        self.assertFalse(row.matches('compute', '/v2/p/flavors', 'DELETE'))
        self.assertFalse(row.matches('volume', '/v2/p/flavors', 'GET'))

    def test_every_route_is_documented(self):
        rows = doc_rows()
        self.assertGreater(len(rows), 30)
        missing = ['%s %s %s (%s)' % (service, method, path, rule)
                   for service, path, method, rule in app_routes()
                   if not any(row.matches(service, path, method)
                              for row in rows)]
        self.assertEqual([], missing)

    def test_every_documented_route_is_served(self):
        routes = app_routes()
        stale = [row.cell for row in doc_rows()
                 if not any(row.matches(service, path, method)
                            for service, path, method, _ in routes)]
        self.assertEqual([], stale)

    def test_server_actions_are_documented(self):
        # compute.py tells the actions apart in an if-chain, by the key
        # of the request body: those keys are the actions it serves.
        source = inspect.getsource(compute.ComputeAPI.on_server_action)
        served = set(re.findall(r"'([a-z-]+)' in body", source))
        self.assertEqual({'os-stop', 'os-start', 'lock', 'unlock'}, served)
        with open(os.path.join(ROOT, 'doc', 'source', 'simulator.rst'),
                  encoding='utf-8') as fh:
            text = fh.read()
        row = re.search(r'^``POST \{ecs\}\S*/action``\s+(.*(?:\n {20,}.*)*)',
                        text, re.M)
        self.assertIsNotNone(row)
        self.assertEqual(served, set(re.findall(r'``([a-z-]+)``',
                                                row.group(1))))
