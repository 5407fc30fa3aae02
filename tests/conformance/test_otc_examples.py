"""The simulator's answers against OTC's own example responses.

For every API of otc_apis.yaml, the simulator (the demo scenario, on
127.0.0.1) is asked what OTC's API reference shows in its example
response; :func:`tests.conformance.shape.differences` compares the two
(fields, nesting, JSON types, both ways).  The examples are in
otc_examples/, extracted by tools/otc_examples.py with the repository,
path and commit of their page.  Only deviations.py may allow a
difference, each with its OTC page.
"""

import json
import os

import requests
import testtools
from tests.conformance import deviations
from tests.conformance import shape
from tests.conformance import test_conformance
import yaml

from otcclient_detach.simulator import ids
from otcclient_detach.simulator import server as sim_server

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, 'otc_examples')
with open(os.path.join(HERE, 'otc_apis.yaml')) as _fh:
    APIS = yaml.safe_load(_fh)


def example(name):
    with open(os.path.join(EXAMPLES, name + '.json')) as fh:
        return json.load(fh)


def allowed(name):
    """(kind, path) of each deviation allowed for API ``name``."""
    return {(d['kind'], d['path'])
            for d in deviations.of_judge('otc-example') if d['api'] == name}


def _fill(value, names):
    """``value`` with the ``{placeholders}`` of strings filled in."""
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


class TestOTCExamples(testtools.TestCase):
    """One test per API: the simulator answers as OTC's example shows."""

    def setUp(self):
        super(TestOTCExamples, self).setUp()
        self.sim = sim_server.Simulator(
            scenario=test_conformance.fast_demo())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.http = requests.Session()
        self.addCleanup(self.http.close)
        self.token = self.post_token().headers['X-Subject-Token']

    def password_auth(self):
        user = self.sim.state.users[0]
        project = self.sim.state.project
        return {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': user.name, 'password': user.password,
                'domain': {'name': user.domain['name']}}}},
            'scope': {'project': {'id': project.id}}}}

    def post_token(self):
        resp = self.http.post(self.sim.auth_url + '/auth/tokens',
                              json=self.password_auth())
        self.assertEqual(201, resp.status_code, resp.text)
        return resp

    def call(self, request, names):
        """The simulator's answer (JSON) to one request of otc_apis.yaml."""
        body = request.get('body')
        if body == 'password':
            return self.post_token().json()
        headers = {'X-Auth-Token': self.token}
        if request.get('microversion'):
            headers['X-OpenStack-Nova-API-Version'] = request[
                'microversion']
        resp = self.http.request(
            request['method'], self.sim.url(request['service']) +
            _fill(request['path'], names), headers=headers,
            json=_fill(body, names) if body is not None else None)
        # version documents answer 300 (Multiple Choices), like OTC's
        self.assertLess(resp.status_code, 400, resp.text)
        return resp.json()

    def names(self):
        """What the requests' ``{placeholders}`` stand for."""
        state = self.sim.state
        names = {'project_id': state.project.id,
                 'server_id': ids.sim_id('server', 'web-linux'),
                 'volume_id': ids.sim_id('volume', 'web-data-1'),
                 'spare_id': ids.sim_id('volume', 'spare-disk'),
                 'image_id': state.images[0].id,
                 'key_id': [k.id for k in state.keys.values()
                            if k.state == '2'][0]}
        compute = self.sim.url('compute') + '/v1/' + state.project.id
        job = self.http.delete(
            '%s/cloudservers/%s/detachvolume/%s' % (
                compute, ids.sim_id('server', 'win-app'),
                ids.sim_id('volume', 'win-vbd')),
            headers={'X-Auth-Token': self.token})
        names['job_id'] = job.json()['job_id']
        snap = self.http.post(
            self.sim.url('volume') + '/v2/%s/snapshots' % state.project.id,
            json={'snapshot': {'volume_id': names['spare_id'],
                               'name': 'snap-0', 'description': ''}},
            headers={'X-Auth-Token': self.token})
        names['snapshot_id'] = snap.json()['snapshot']['id']
        return names

    def check(self, name):
        api, doc = APIS[name], example(name)
        answer = self.call(api['request'], self.names())
        found = shape.differences(doc['example'], doc['fields'], answer,
                                  api.get('maps', ()))
        wanted = allowed(name)
        unexpected = sorted({'%s %s %s' % d for d in found
                             if (d.kind, d.path) not in wanted})
        stale = wanted - {(d.kind, d.path) for d in found}
        self.assertEqual([], unexpected, 'simulator vs OTC page %s'
                         % doc['source']['page'])
        self.assertEqual(set(), stale, 'deviations.py allows differences '
                         'that no longer occur')


def _add_tests(cls):
    for name in sorted(APIS):
        def test(self, name=name):
            self.check(name)
        test.__name__ = 'test_%s' % name
        test.__doc__ = 'The simulator answers %s as OTC documents it' % name
        setattr(cls, test.__name__, test)


_add_tests(TestOTCExamples)


class TestExampleData(testtools.TestCase):
    """Every API has its example, with the page it came from."""

    def test_each_api_has_its_example(self):
        for name, api in APIS.items():
            source = example(name)['source']
            self.assertEqual(api['doc']['path'], source['path'])
            self.assertEqual(40, len(source['commit']))
            self.assertTrue(source['repository'].startswith(
                'opentelekomcloud-docs/'))

    def test_deviations_name_their_page(self):
        for dev in deviations.DEVIATIONS:
            self.assertIn('docs.otc.t-systems.com', dev['page'])
            if dev['judge'] == 'otc-example':
                self.assertIn(dev['api'], APIS)
