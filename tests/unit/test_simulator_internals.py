"""The simulator's internal contracts: routes name their handlers, one
lock taken by every request, typed records, imports pointing one way."""

import ast
import json
import os
import threading

import fixtures
import requests
import testtools

from otcclient_detach.simulator import app
from otcclient_detach.simulator import records
from otcclient_detach.simulator import Simulator

SIM_DIR = os.path.dirname(app.__file__)


class TestRoutes(testtools.TestCase):

    def test_every_rule_names_a_handler_of_the_app(self):
        rules = [r for s in app.SERVICES for r in s.rules] + \
            app.CONTROL_RULES
        self.assertGreater(len(rules), 30)
        for rule in rules:
            route = rule.endpoint
            self.assertIsInstance(route, app.Route, rule.rule)
            self.assertIn(route.auth, ('token', 'public', 'admin'))
            # the handler is the app's method of that name: what a grep
            # for the name finds in app.py is what runs
            self.assertIs(route.handler,
                          getattr(app.SimApp, route.handler.__name__),
                          rule.rule)
            self.assertTrue(route.handler.__name__.startswith('on_'))

    def test_control_routes_only_in_the_control_table(self):
        for service in app.SERVICES:
            for rule in service.rules:
                self.assertNotEqual('admin', rule.endpoint.auth, rule.rule)
                self.assertFalse(rule.rule.startswith('/_sim/'))
        for rule in app.CONTROL_RULES:
            self.assertEqual('admin', rule.endpoint.auth)


class TestLocking(testtools.TestCase):

    def setUp(self):
        super(TestLocking, self).setUp()
        self.sim = Simulator()
        self.sim.start()
        self.addCleanup(self.sim.stop)

    def _probe(self, name):
        """Make State.<name> record if another thread can take the lock.

        Its own lock-taking wrapper is left out, so only the caller's
        transaction can hold the lock.
        """
        original = getattr(self.sim.state, name).__wrapped__
        seen = []

        def try_lock():
            got = self.sim.state.lock.acquire(blocking=False)
            if got:
                self.sim.state.lock.release()
            seen.append(got)

        def probe(*args, **kwargs):
            thread = threading.Thread(target=try_lock)
            thread.start()
            thread.join(30)
            return original(self.sim.state, *args, **kwargs)
        self.useFixture(fixtures.MonkeyPatch(
            'otcclient_detach.simulator.state.State.%s' % name,
            lambda state, *a, **k: probe(*a, **k)))
        return seen

    def test_control_handlers_run_in_a_transaction(self):
        seen = self._probe('dump')
        resp = requests.get(self.sim.base_url + '/_sim/state',
                            headers=self.sim.control_headers, timeout=30)
        self.assertEqual(200, resp.status_code)
        self.assertEqual([False], seen)

    def test_api_handlers_run_in_a_transaction(self):
        seen = self._probe('issue_token')
        user = self.sim.state.users[0]
        body = {'auth': {'identity': {'methods': ['password'], 'password': {
            'user': {'name': user.name, 'password': user.password,
                     'domain': {'name': user.domain['name']}}}}}}
        resp = requests.post(self.sim.auth_url + '/auth/tokens', json=body,
                             timeout=30)
        self.assertEqual(201, resp.status_code, resp.text)
        self.assertEqual([False], seen)

    def test_handlers_and_views_do_not_lock(self):
        # the lock is taken in State.transaction() only
        for name in sorted(os.listdir(SIM_DIR)):
            if not name.endswith('.py') or name == 'state.py':
                continue
            with open(os.path.join(SIM_DIR, name)) as fh:
                source = fh.read()
            self.assertNotIn('state.lock', source, name)
            self.assertNotIn('.lock.acquire', source, name)


class TestRecords(testtools.TestCase):

    def setUp(self):
        super(TestRecords, self).setUp()
        self.sim = Simulator()
        self.state = self.sim.state

    def test_state_holds_records(self):
        self.assertTrue(self.state.servers)
        for srv in self.state.servers.values():
            self.assertIsInstance(srv, records.Server)
        for vol in self.state.volumes.values():
            self.assertIsInstance(vol, records.Volume)
            for att in vol.attachments:
                self.assertIsInstance(att, records.Attachment)
        self.assertIsInstance(self.state.project, records.Project)
        self.assertIsInstance(self.state.users[0], records.User)
        self.assertIsInstance(self.state.images[0], records.Image)

    def test_detach_creates_a_pending_detach_and_a_job(self):
        vol = self.state.find_volume('web-data-1')
        srv = self.state.find_server('web-linux')
        job_id = self.state.detach(srv.id, vol.id, native=True)
        self.assertIsInstance(vol.detaches[0], records.PendingDetach)
        self.assertIsInstance(self.state.jobs[job_id], records.Job)
        self.assertEqual('detaching', self.state.volume_status(vol))

    def test_read_by_key_like_a_dict(self):
        user = self.state.users[0]
        self.assertEqual(user.id, user['id'])
        self.assertEqual(user.name, user.get('name'))
        self.assertIsNone(user.get('no_such_field'))
        self.assertRaises(KeyError, lambda: user['no_such_field'])

    def test_plain_dicts_out(self):
        # the Python API and /_sim/state give plain JSON-able data
        vol = self.sim.volume('web-data-1')
        self.assertIsInstance(vol['attachments'][0], dict)
        self.assertNotIn('detaches', vol)
        srv = self.sim.server('web-linux')
        self.assertNotIn('pending', srv)
        dump = self.state.dump()
        self.assertEqual(dump, json.loads(json.dumps(dump)))
        # and copies: changing them changes nothing
        vol['attachments'].clear()
        self.assertTrue(self.sim.volume('web-data-1')['attachments'])


class TestImports(testtools.TestCase):

    def _imports(self, name):
        with open(os.path.join(SIM_DIR, name)) as fh:
            tree = ast.parse(fh.read())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update('%s.%s' % (node.module, a.name)
                             for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        return found

    def test_nothing_imports_the_cli(self):
        # cli imports demo; demo (and everything else) not cli
        for name in sorted(os.listdir(SIM_DIR)):
            if name.endswith('.py') and name != 'cli.py':
                self.assertNotIn('otcclient_detach.simulator.cli',
                                 self._imports(name), name)
        self.assertIn('otcclient_detach.simulator.demo',
                      self._imports('cli.py'))
