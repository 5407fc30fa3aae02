"""Secrets and TLS.

With ``--debug`` the CLI prints every request; no password, token or
application-credential secret may appear in its output, on success or on
failure.  TLS settings come from ``clouds.yaml`` / ``OS_*`` through the
CLI's own session: a simulator serving HTTPS with a self-signed
certificate is refused without ``cacert`` and used with it, with
``insecure`` or with ``OS_CACERT``; one that asks for a client
certificate is used only with ``cert`` and ``key``.
"""

import os
import ssl
import threading
import time

import yaml
from tests.functional import base

from otcclient_detach.simulator import server as sim_server
from otcclient_detach.simulator import tls


def flat(text):
    return ' '.join(text.split())


class SecretsTestCase(base.SimulatorTestCase):

    def setUp(self):
        super(SecretsTestCase, self).setUp()
        # Every token the cloud hands out, revoked ones included.
        self.tokens = []
        issue = self.sim.state.issue_token

        def recording(*args, **kwargs):
            token, record = issue(*args, **kwargs)
            self.tokens.append(token)
            return token, record

        self.sim.state.issue_token = recording
        self.user = self.sim.state.users[0]

    def secrets(self):
        found = {'password': self.user['password']}
        for cred in self.user['app_credentials']:
            found['secret of %s' % cred['name']] = cred['secret']
        for n, token in enumerate(self.tokens):
            found['token %d' % n] = token
            # A cut-off token is a leak too.
            found['token %d (part)' % n] = token[6:26]
        return found

    def assertNoSecrets(self, result, allowed_lines=()):
        text = result.stdout + result.stderr
        for what, secret in self.secrets().items():
            lines = [line for line in text.splitlines()
                     if secret in line and
                     not line.startswith(allowed_lines)]
            self.assertEqual([], lines, '%s leaked' % what)

    def without_password(self, name):
        """A clouds.yaml like ours, without the password."""
        with open(self.clouds_yaml) as fh:
            conf = yaml.safe_load(fh)
        del conf['clouds']['otc-sim']['auth']['password']
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as fh:
            yaml.safe_dump(conf, fh)
        return path


class TestDebugOutput(SecretsTestCase):
    # What a user sees: --debug on the real stderr of a real process.
    subprocess = True

    def test_password_auth(self):
        # A failed read, a failed DELETE and a token revoked mid-wait:
        # the error and re-authentication paths print too.
        self.sim.add_fault('GET', r'/servers/detail$', status=503)
        self.sim.add_fault('DELETE', '/' + self.volume_id('web-data-2'),
                           status=500)
        watcher = threading.Thread(target=self.revoke_after_a_delete,
                                   daemon=True)
        watcher.start()
        result = self.detach('--debug', '--wait', 'web-linux',
                             'web-data-1', 'web-data-2')
        watcher.join(5)
        self.assertEqual(1, result.returncode, result)
        self.assertIn('REQ: curl', result.stderr)
        self.assertIn('X-Auth-Token: {SHA256}', result.stderr)
        self.assertIn(401, [r['status'] for r in self.sim.requests])
        self.assertEqual(2, len(self.tokens))
        self.assertNoSecrets(result)

    def revoke_after_a_delete(self):
        deadline = time.monotonic() + 60
        while not self.deletes() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.sim.revoke_tokens()

    def test_token_renewed_while_waiting(self):
        self.sim.set_token_ttl(2)
        result = self.detach('--debug', '--wait', 'web-linux', 'web-data-1')
        self.assertEqual(0, result.returncode, result)
        self.assertGreater(len(self.tokens), 2)
        self.assertNoSecrets(result)

    def test_application_credential(self):
        clouds = self.write_clouds_yaml(
            'appcred.yaml', auth_type='v3applicationcredential')
        result = self.detach('--debug', 'web-linux', 'web-data-1',
                             env=self.env(clouds))
        self.assertEqual(0, result.returncode, result)
        self.assertIn('Auth plugin v3applicationcredential selected',
                      result.stderr)
        self.assertNoSecrets(result)

    def test_application_credential_from_environment(self):
        cred = self.user['app_credentials'][0]
        with open(self.clouds_yaml) as fh:
            conf = yaml.safe_load(fh)
        entry = conf['clouds']['otc-sim']
        entry['auth_type'] = 'v3applicationcredential'
        entry['auth'] = {'auth_url': self.sim.auth_url,
                         'application_credential_id': cred['id']}
        path = os.path.join(self.tmp, 'appcred-env.yaml')
        with open(path, 'w') as fh:
            yaml.safe_dump(conf, fh)
        result = self.detach(
            '--debug', 'web-linux', 'web-data-1', env=self.env(
                path, OS_APPLICATION_CREDENTIAL_SECRET=cred['secret']))
        self.assertEqual(0, result.returncode, result)
        self.assertNoSecrets(result)

    def test_password_from_environment(self):
        result = self.detach(
            '--debug', 'web-linux', 'web-data-1',
            env=self.env(self.without_password('env.yaml'),
                         OS_PASSWORD=self.user['password']))
        self.assertEqual(0, result.returncode, result)
        self.assertNoSecrets(result)

    def test_password_option_with_equals_sign(self):
        result = self.detach_with_global(
            '--os-password=%s' % self.user['password'])
        self.assertEqual(0, result.returncode, result)
        self.assertNoSecrets(result)

    def test_password_option_known_upstream_leak(self):
        # osc_lib logs its whole command line first ("START with
        # options: ..."), before any plugin is loaded, and
        # oslo_utils.strutils.mask_password masks "--os-password=X" but
        # not "--os-password X".  Nothing else may show it.
        result = self.detach_with_global('--os-password',
                                         self.user['password'])
        self.assertEqual(0, result.returncode, result)
        self.assertIn('START with options: --debug --os-password %s' %
                      self.user['password'], result.stderr)
        self.assertNoSecrets(result, allowed_lines=('START with options:',))

    def test_wrong_password_is_not_shown(self):
        clouds = self.write_clouds_yaml(
            'wrong.yaml', extra={'auth': {'password': 'Wr0ng-Secret-42'}})
        result = self.detach('--debug', 'web-linux', 'web-data-1',
                             env=self.env(clouds))
        self.assertEqual(1, result.returncode, result)
        self.assertNotIn('Wr0ng-Secret-42', result.stdout + result.stderr)
        self.assertNoSecrets(result)

    def detach_with_global(self, *options):
        return self.openstack(
            '--debug', *(options + ('server', 'volume', 'detach-otc',
                                    'web-linux', 'web-data-1')),
            env=self.env(self.without_password('no-password.yaml')))


class TestServerCertificate(base.SimulatorTestCase):
    """A self-signed certificate: trusted only when the CLI is told so."""

    tls = True

    def test_refused_without_cacert(self):
        clouds = self.write_clouds_yaml('no-cacert.yaml', cacert=False)
        result = self.detach('web-linux', 'web-data-1', env=self.env(clouds))
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual(
            "Cannot connect securely to the cloud at %s (auth_url): TLS "
            "certificate verify failed: self-signed certificate. Trust the "
            "cloud's certificate with 'cacert' in clouds.yaml (or "
            "--os-cacert, OS_CACERT), or turn verification off with "
            "'insecure: true' (--insecure; not recommended). Nothing was "
            "detached." % self.sim.auth_url,
            base.last_message(result.stderr))
        # The handshake failed: not one request reached the cloud.
        self.assertEqual([], self.sim.requests)
        self.assertEqual('in-use', self.sim.volume('web-data-1')['status'])

    def test_works_with_cacert(self):
        self.assertTrue(self.sim.base_url.startswith('https://'))
        result = self.detach('--wait', 'web-linux', 'web-data-1')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')
        self.assertEqual('available',
                         self.sim.volume('web-data-1')['status'])

    def test_works_with_insecure(self):
        clouds = self.write_clouds_yaml('insecure.yaml', cacert=False,
                                        insecure=True)
        result = self.detach('web-linux', 'web-data-1', env=self.env(clouds))
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')

    def test_works_with_os_cacert(self):
        clouds = self.write_clouds_yaml('no-cacert.yaml', cacert=False)
        result = self.detach('web-linux', 'web-data-1',
                             env=self.env(clouds, OS_CACERT=self.sim.cacert))
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')

    def test_native_api_uses_the_same_session(self):
        # The ECS v1 endpoint is reached over the same TLS settings.
        result = self.detach('--api', 'native', 'web-linux', 'web-data-1')
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.requests('DELETE', 'detachvolume')))


class MutualTLSSimulator(sim_server.Simulator):
    """The simulator, asking every client for a certificate it trusts."""

    client_ca = None

    def _ssl_context(self):
        cert, key = super(MutualTLSSimulator, self)._ssl_context()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(self.client_ca)
        return context


class TestClientCertificate(base.SimulatorTestCase):

    def setUp(self):
        super(TestClientCertificate, self).setUp()
        self.cert, self.key = tls.generate_self_signed(
            self.tmp, hosts=('otc-user',), client=True)
        self.sim.stop()
        self.sim = MutualTLSSimulator(tls=True)
        self.sim.client_ca = self.cert
        self.sim.start()
        self.addCleanup(self.sim.stop)

    def test_refused_without_client_certificate(self):
        clouds = self.write_clouds_yaml('no-cert.yaml')
        result = self.detach('web-linux', 'web-data-1', env=self.env(clouds))
        self.assertEqual(1, result.returncode, result)
        self.assertNoTraceback(result)
        last = base.last_message(result.stderr)
        self.assertTrue(last.startswith(
            'Cannot connect securely to the cloud at %s (auth_url): TLS '
            'handshake failed' % self.sim.auth_url), last)
        self.assertIn("'cert' and 'key' (a client certificate, if the cloud "
                      "asks for one; --os-cert, --os-key)", last)
        self.assertEqual([], self.sim.requests)

    def test_works_with_client_certificate(self):
        clouds = self.write_clouds_yaml(
            'cert.yaml', extra={'cert': self.cert, 'key': self.key})
        result = self.detach('web-linux', 'web-data-1', env=self.env(clouds))
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')


class TestVerboseOutput(SecretsTestCase):
    """``-v`` (the decision log) prints no secret either."""

    def test_password_auth_with_failures(self):
        self.sim.add_fault('GET', r'/servers/detail$', status=503)
        self.sim.add_fault('DELETE', '/' + self.volume_id('web-data-2'),
                           status=500)
        result = self.detach('-v', '--wait', 'web-linux', 'web-data-1',
                             'web-data-2')
        self.assertEqual(1, result.returncode, result)
        self.assertIn('rule attached: pass', result.stderr)
        self.assertNoSecrets(result)

    def test_application_credential(self):
        clouds = self.write_clouds_yaml(
            'appcred.yaml', auth_type='v3applicationcredential')
        result = self.detach('-v', 'web-linux', 'web-data-1',
                             env=self.env(clouds))
        self.assertEqual(0, result.returncode, result)
        self.assertIn('Sending DELETE', result.stderr)
        self.assertNoSecrets(result)
