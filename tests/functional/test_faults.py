"""Cloud faults, injected into the simulator.

Reads (GET) are retried by keystoneauth with backoff and Retry-After, so
the command still succeeds; a write (DELETE, os-stop, os-start) is sent
once, and after a failure the state is read again and the user is told
what actually happened.  Identity and version-discovery requests are
the SDK's; what a fault there does is tested too.  Tokens that expire
during a long --wait are renewed without the user noticing, and a cloud
that cannot be reached gets a clear message naming the URL.

The simulator answers an injected fault *instead of* carrying the
request out.  A fault that hits after the cloud did the work (the answer
is lost) is made by carrying the detach or stop out through the
simulator's Python API while the faulty request waits in its latency.
"""

import os
import socket
import threading
import time

import yaml
from tests.functional import base

from otcclient_detach.simulator import ids
from otcclient_detach.simulator import scenario as sim_scenario

WEB = ids.sim_id('server', 'web-linux')
ATTACHMENTS = 'os-volume_attachments'


def demo_scenario(**timings):
    """The built-in scenario with other ``timings``."""
    with open(sim_scenario.DEFAULT_SCENARIO, encoding='utf-8') as fh:
        raw = yaml.safe_load(fh)
    raw['timings'].update(timings)
    return raw


def closed_port():
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def when(condition, action, timeout=60):
    """Run ``action`` in a thread as soon as ``condition()`` is true."""
    def watch():
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        action()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def flat(text):
    return ' '.join(text.split())


class FaultTestCase(base.SimulatorTestCase):

    def statuses(self, method, path_contains):
        return [r['status'] for r in self.requests(method, path_contains)]

    def gaps(self, method, path_contains):
        times = [r['timestamp'] for r in self.requests(method,
                                                       path_contains)]
        return [b - a for a, b in zip(times, times[1:])]

    def while_held(self, rule, action):
        """Run ``action`` while the request that hit ``rule`` waits."""
        return when(lambda: rule.hits > 0, action)

    def yaml_with(self, name, **extra):
        return self.write_clouds_yaml(name, extra=extra)


class TestReads(FaultTestCase):
    """Transient faults on reads are retried; the command succeeds."""

    def test_5xx_on_every_kind_of_read(self):
        self.sim.add_fault('GET', r'/servers/detail$', status=500)
        self.sim.add_fault('GET', r'/volumes/detail$', status=502)
        self.sim.add_fault('GET', r'/cloudvolumes/detail$', status=503)
        self.sim.add_fault('GET', ATTACHMENTS + '$', status=504)
        result = self.detach('--wait', 'web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertEqual([500, 200], self.statuses('GET', 'servers/detail'))
        self.assertEqual([502, 200], self.statuses('GET', '/volumes/detail'))
        # EVS's disk list, retried: the system disk needs no other read;
        # the wait reads the same list, once a look.
        self.assertEqual([503, 200], self.statuses(
            'GET', 'cloudvolumes/detail')[:2])
        self.assertEqual([], self.statuses(
            'GET', self.volume_id('web-linux-sys')))
        self.assertIn('Volume web-data-1 is detached', result.stderr)

    def test_429_waits_as_long_as_retry_after_says(self):
        self.sim.add_fault('GET', r'/volumes/detail$', status=429,
                           retry_after=2)
        result = self.detach('web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertEqual([429, 200], self.statuses('GET', '/volumes/detail'))
        self.assertGreaterEqual(self.gaps('GET', '/volumes/detail')[0], 1.9)
        self.assertIn('Retriable status code 429. Retrying in 2.0s',
                      result.stderr)

    def test_backoff_doubles(self):
        self.sim.add_fault('GET', r'/servers/detail$', status=503, count=3)
        result = self.detach('web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertEqual([503, 503, 503, 200],
                         self.statuses('GET', 'servers/detail'))
        gaps = self.gaps('GET', 'servers/detail')
        for gap, delay in zip(gaps, (0.5, 1.0, 2.0)):
            self.assertGreaterEqual(gap, delay * 0.9, gaps)
            self.assertLess(gap, delay + 1.0, gaps)

    def test_clouds_yaml_cannot_turn_read_retries_off(self):
        clouds = self.yaml_with('no-retries.yaml', status_code_retries=0,
                                connect_retries=0)
        self.sim.add_fault('GET', r'/servers/detail$', status=503, count=2)
        self.sim.add_fault('GET', r'/volumes/detail$', drop=True)
        result = self.detach('web-linux', 'web-data-1',
                             env=self.env(clouds))
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')

    def test_lasting_5xx_gives_up_after_four_retries(self):
        self.sim.add_fault('GET', r'/volumes/detail$', status=503,
                           count=None)
        result = self.detach('web-linux', 'web-data-1')
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual([503] * 5, self.statuses('GET', '/volumes/detail'))
        self.assertEqual([], self.deletes())
        self.assertEqual(
            'Injected fault 503 for GET /v2/%s/volumes/detail (HTTP '
            '503). Nothing was detached.' % self.sim.project_id,
            base.last_message(result.stderr))

    def test_dropped_connections_on_a_read(self):
        self.sim.add_fault('GET', r'/servers/detail$', drop=True, count=2)
        result = self.detach('web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertEqual([None, None, 200],
                         self.statuses('GET', 'servers/detail'))

    def test_lasting_drops_name_the_url(self):
        self.sim.add_fault('GET', r'/servers/detail$', drop=True,
                           count=None)
        result = self.detach('web-linux', 'web-data-1')
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual(4, len(self.requests('GET', 'servers/detail')))
        self.assertEqual(
            'Cannot reach the cloud at %s/v2.1/%s/servers/detail: the '
            'cloud closed the connection without answering (retried). '
            'Nothing was detached.' % (self.sim.url('compute'),
                                       self.sim.project_id),
            base.last_message(result.stderr))

    def test_read_timeout_is_retried(self):
        clouds = self.yaml_with('timeout.yaml', api_timeout=1)
        self.sim.add_fault('GET', r'/servers/detail$', latency=3)
        result = self.detach('web-linux', 'web-data-1',
                             env=self.env(clouds))
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertIn('servers/detail timed out. Retrying', result.stderr)

    def test_job_polls_are_retried(self):
        self.sim.add_fault('GET', r'/jobs/', status=503, count=2)
        result = self.detach('--api', 'native', 'web-linux', 'web-data-1')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.deletes()))
        self.assertEqual([503, 503], self.statuses('GET', '/jobs/')[:2])
        self.assertIn('Volume web-data-1 is detached', result.stderr)


class TestFailedDelete(FaultTestCase):
    """A failed DELETE is never sent again; the state tells the outcome."""

    def check_not_retried(self, result, volume='web-data-1'):
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual(1, len(self.deletes()), result)
        # ...and the state was read again after it.
        log = self.sim.requests
        after = log[log.index(self.deletes()[0]) + 1:]
        self.assertEqual(
            [('GET', ATTACHMENTS), ('GET', self.volume_id(volume))],
            [(r['method'], r['path'].rsplit('/', 1)[-1])
             for r in after[:2]], result)
        self.assertIn('1 of 1 volume failed to detach.', result.stderr)

    def check_status(self, status):
        self.sim.add_fault('DELETE', ATTACHMENTS, status=status,
                           retry_after=1 if status == 429 else None)
        result = self.detach('web-linux', 'web-data-1')
        self.check_not_retried(result)
        self.assertIn(
            'Failed to detach volume web-data-1 from server web-linux: the '
            'cloud answered %d to the DELETE, and the volume is still '
            'attached (status in-use): nothing was detached.' % status,
            flat(result.stderr))
        # The last line is the exact command that retries just that one.
        self.assertIn(
            'To retry just that one: openstack server volume detach-otc '
            '--if-attached %s %s' % (WEB, self.volume_id('web-data-1')),
            flat(result.stderr))
        self.assertEqual('in-use', self.sim.volume('web-data-1')['status'])

    def test_dropped(self):
        self.sim.add_fault('DELETE', ATTACHMENTS, drop=True)
        result = self.detach('web-linux', 'web-data-1')
        self.check_not_retried(result)
        self.assertIn(
            'the DELETE got no answer (the cloud closed the connection '
            'without answering); the volume is still attached (status '
            'in-use) for now, but the cloud may still carry the DELETE out: '
            "check it with 'openstack server volume list web-linux' or "
            "'openstack volume show web-data-1' before running the command "
            'again', flat(result.stderr))

    def test_timed_out_delete_may_still_be_carried_out(self):
        # Why a lost answer is never called "nothing was detached": the
        # cloud carries this DELETE out after the client gave up on it.
        clouds = self.yaml_with('timeout.yaml', api_timeout=1)
        self.sim.add_fault('DELETE', ATTACHMENTS, latency=3)
        result = self.detach('web-linux', 'web-data-1',
                             env=self.env(clouds))
        self.assertEqual(1, result.returncode, result)
        self.assertIn('the DELETE got no answer (no answer within 1 s); the '
                      'volume is still attached (status in-use) for now, but '
                      'the cloud may still carry the DELETE out',
                      flat(result.stderr))
        self.assertNotIn('nothing was detached', result.stderr)
        deadline = time.monotonic() + 10
        while self.sim.volume('web-data-1')['status'] == 'in-use' and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertIn(self.sim.volume('web-data-1')['status'],
                      ('detaching', 'available'))
        self.assertEqual(1, len(self.deletes()))

    def test_error_answer_but_accepted(self):
        rule = self.sim.add_fault('DELETE', ATTACHMENTS, status=503,
                                  latency=0.5)
        self.while_held(rule, lambda: self.sim.state.detach(
            WEB, self.volume_id('web-data-1')))
        result = self.detach('web-linux', 'web-data-1')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.deletes()))
        self.assertIn('Volume web-data-1: the cloud answered 503 to the '
                      'DELETE, but the detach was accepted: the volume is '
                      'detaching.', flat(result.stderr))

    def test_lost_answer_but_accepted_then_waited_for(self):
        rule = self.sim.add_fault('DELETE', ATTACHMENTS, drop=True,
                                  latency=0.5)
        self.while_held(rule, lambda: self.sim.state.detach(
            WEB, self.volume_id('web-data-1')))
        result = self.detach('--wait', 'web-linux', 'web-data-1')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.deletes()))
        self.assertIn('Volume web-data-1: the DELETE got no answer (the cloud '
                      'closed the connection without answering), but the '
                      'detach was accepted: the volume is detaching.',
                      flat(result.stderr))
        self.assertIn('Volume web-data-1 is detached from server web-linux.',
                      result.stderr)
        self.assertEqual('available', self.sim.volume('web-data-1')['status'])

    def test_native_error_answer_but_accepted(self):
        # No job ID came back: the attachment list is followed instead.
        rule = self.sim.add_fault('DELETE', 'detachvolume', status=500,
                                  latency=0.5)
        self.while_held(rule, lambda: self.sim.state.detach(
            WEB, self.volume_id('web-data-1'), native=True))
        result = self.detach('--api', 'native', 'web-linux', 'web-data-1')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.deletes()))
        self.assertEqual([], self.requests('GET', '/jobs/'))
        self.assertIn('Volume web-data-1 is detached', result.stderr)

    def test_native_error_answer(self):
        self.sim.add_fault('DELETE', 'detachvolume', status=503)
        result = self.detach('--api', 'native', 'web-linux', 'web-data-1')
        self.check_not_retried(result)
        self.assertIn('the cloud answered 503 to the DELETE, and the volume '
                      'is still attached (status in-use): nothing was '
                      'detached.', flat(result.stderr))


def _status_test(status):
    def test(self):
        self.check_status(status)
    test.__doc__ = 'DELETE answered %d: not retried, state read again' % (
        status)
    return test


for _status in (500, 502, 503, 504):
    setattr(TestFailedDelete, 'test_answered_%d' % _status,
            _status_test(_status))
del _status


class TestFailedPowerActions(FaultTestCase):
    """os-stop and os-start are not retried either."""

    def test_stop_fails(self):
        self.sim.add_fault('POST', r'/action$', status=503)
        result = self.detach('--stop-server', 'web-linux', 'web-linux-sys')
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual(1, len(self.requests('POST', '/action')))
        self.assertEqual([], self.deletes())
        self.assertIn('Server web-linux: the cloud answered 503 to os-stop, '
                      'and the server is still ACTIVE: it was not stopped; '
                      'nothing was detached.', flat(result.stderr))
        self.assertIn('To retry just that one: openstack server volume '
                      'detach-otc --if-attached --stop-server',
                      flat(result.stderr))
        self.assertEqual('ACTIVE', self.sim.server('web-linux')['status'])

    def test_stop_error_answer_but_stopping(self):
        rule = self.sim.add_fault('POST', r'/action$', status=502,
                                  latency=0.5)
        self.while_held(rule, lambda: self.sim.state.power(WEB, 'stop'))
        result = self.detach('--stop-server', 'web-linux', 'web-linux-sys')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.requests('POST', '/action')))
        self.assertIn('Server web-linux: the cloud answered 502 to os-stop, '
                      'but the server is ACTIVE, task powering-off now: '
                      'going on.', flat(result.stderr))
        self.assertEqual([self.nova_detach_path('web-linux',
                                                'web-linux-sys')],
                         [r['path'] for r in self.deletes()])

    def test_start_fails_after_the_detach(self):
        stopped = lambda: any(  # noqa: E731
            r['status'] == 202 for r in self.requests('POST', '/action'))
        when(stopped, lambda: self.sim.add_fault('POST', r'/action$',
                                                 status=503))
        result = self.detach('--stop-server', '--start-server', 'web-linux',
                             'web-data-1')
        self.assertEqual(1, result.returncode, result)
        self.assertEqual([202, 503], self.statuses('POST', '/action'))
        self.assertEqual(1, len(self.deletes()))
        self.assertIn('Volume web-data-1 is detached', result.stderr)
        self.assertIn('Server web-linux: the cloud answered 503 to os-start, '
                      'and the server is still SHUTOFF: it was not started; '
                      "start it with 'openstack server start web-linux'.",
                      flat(result.stderr))


class TestIdentityAndDiscovery(FaultTestCase):
    """Faults on the requests the SDK and keystoneauth make themselves."""

    def test_token_request_failing_once(self):
        self.sim.add_fault('POST', r'/auth/tokens$', status=503)
        result = self.detach('web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertEqual([503, 201], self.statuses('POST', 'auth/tokens'))

    def test_token_request_dropped_once(self):
        self.sim.add_fault('POST', r'/auth/tokens$', drop=True)
        result = self.detach('web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertEqual([None, 201], self.statuses('POST', 'auth/tokens'))

    def test_token_request_failing_for_good(self):
        self.sim.add_fault('POST', r'/auth/tokens$', status=500, count=None)
        result = self.detach('web-linux', 'web-data-1')
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual(5, len(self.requests('POST', 'auth/tokens')))
        self.assertEqual([], self.deletes())
        self.assertTrue(result.stderr.rstrip().endswith(
            'Nothing was detached.'), result)

    def test_identity_discovery_failing_once(self):
        self.sim.add_fault('GET', r'^/v3$', status=503, service='identity')
        result = self.detach('web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')

    def test_compute_discovery_failing_once(self):
        # The SDK takes "no microversions"; the command reads the version
        # document itself, so locked and root_device_name are still read.
        self.sim.add_fault('GET', r'^/v2\.1$', status=503,
                           service='compute')
        self.sim.patch_server('web-linux', locked=True)
        result = self.detach('web-linux', 'web-data-1')
        self.assertEqual(1, result.returncode, result)
        self.assertIn('[locked] server web-linux is locked', result.stderr)
        self.assertEqual([200], [r['status'] for r in self.sim.requests
                                 if r['path'] == '/v2.1/'])
        self.assertEqual([], self.deletes())

    def test_volume_discovery_dropped_once(self):
        self.sim.add_fault('GET', r'^/$', drop=True, service='volume')
        result = self.detach('web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')

    def test_wrong_password(self):
        clouds = self.yaml_with('wrong.yaml', auth={'password': 'wrong'})
        result = self.detach('web-linux', 'web-data-1', env=self.env(clouds))
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual(1, len(self.requests('POST', 'auth/tokens')))
        self.assertEqual(
            'Authentication at %s failed: The request you have made '
            'requires authentication. (HTTP 401). Check the credentials in '
            'clouds.yaml (or OS_*). Nothing was detached.' % (
                self.sim.auth_url), ' '.join(result.stderr.split()))


class TestTokenExpiry(FaultTestCase):
    """A token that runs out during a long --wait is renewed silently."""

    scenario = demo_scenario(detach_seconds=5)

    def check_quiet_success(self, result):
        self.assertEqual(0, result.returncode, result)
        said = flat(result.stderr)
        self.assertTrue(said.startswith(
            "Reminder [guest-prepare] web-data-1: inside the guest, 'umount' "
            "the disk (/dev/vdb as the cloud names it) and stop all I/O on "
            "it first; inside the guest the disk is /dev/disk/by-id/virtio-"),
            said)
        self.assertTrue(said.endswith(
            'Volume web-data-1 is detached from server web-linux.'), said)
        self.assertEqual(2, len([line for line in result.stderr.splitlines()
                                 if not line.startswith('    ')]), result)
        self.assertEqual(1, len(self.deletes()))

    def test_short_lived_tokens(self):
        # keystoneauth renews a token that expires within 120 s before
        # using it, so a 2 s token is renewed before every request.
        self.sim.set_token_ttl(2)
        result = self.detach('--wait', 'web-linux', 'web-data-1')
        self.check_quiet_success(result)
        posts = self.requests('POST', 'auth/tokens')
        delete = self.deletes()[0]
        self.assertTrue(any(p['timestamp'] > delete['timestamp'] + 2
                            for p in posts), posts)
        self.assertEqual([], [r for r in self.sim.requests
                              if r['status'] == 401])

    def test_token_revoked_while_waiting(self):
        # The cloud refuses the token (401) mid-wait: keystoneauth
        # authenticates again and repeats the GET.
        when(lambda: self.deletes(), self.sim.revoke_tokens)
        result = self.detach('--wait', 'web-linux', 'web-data-1')
        self.check_quiet_success(result)
        log = [(r['method'], r['status']) for r in self.sim.requests]
        first = log.index(('GET', 401))
        self.assertEqual(('POST', 201), log[first + 1])
        self.assertEqual(2, log.count(('POST', 201)))
        self.assertGreater(self.sim.requests[first]['timestamp'],
                           self.deletes()[0]['timestamp'])


class TestUnreachable(FaultTestCase):

    def test_nothing_listens_at_the_auth_url(self):
        auth_url = 'http://127.0.0.1:%d/v3' % closed_port()
        clouds = self.yaml_with('dead.yaml', auth={'auth_url': auth_url})
        self.sim.stop()
        result = self.detach('web-linux', 'web-data-1', env=self.env(clouds))
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual(
            'Cannot reach the cloud at %s (auth_url): Connection refused. '
            'Check auth_url in clouds.yaml (or OS_AUTH_URL) and the network '
            '(proxy, firewall). Nothing was detached.' % auth_url,
            base.last_message(result.stderr))
        self.assertEqual('', result.stdout)

    def test_compute_endpoint_unreachable(self):
        url = 'http://127.0.0.1:%d/v2.1/%s' % (closed_port(),
                                               self.sim.project_id)
        clouds = self.yaml_with('dead-compute.yaml',
                                compute_endpoint_override=url)
        result = self.detach('web-linux', 'web-data-1', env=self.env(clouds))
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual(
            'Cannot reach the cloud at %s/servers/detail: Connection '
            'refused (retried). Nothing was detached.' % url,
            base.last_message(result.stderr))
        self.assertEqual([], self.deletes())

    def test_environment_auth_url(self):
        auth_url = 'http://127.0.0.1:%d/v3' % closed_port()
        conf = yaml.safe_load(open(self.clouds_yaml))
        del conf['clouds']['otc-sim']['auth']['auth_url']
        path = os.path.join(self.tmp, 'env-auth.yaml')
        with open(path, 'w') as fh:
            yaml.safe_dump(conf, fh)
        result = self.detach('web-linux', 'web-data-1',
                             env=self.env(path, OS_AUTH_URL=auth_url))
        self.assertEqual(1, result.returncode, result)
        self.assertIn('Cannot reach the cloud at %s (auth_url)' % auth_url,
                      result.stderr)
