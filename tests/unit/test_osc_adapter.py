"""Contract: what otcclient_detach.osc_adapter relies on in OSC and cliff.

Each test names the assumption it checks; when an upgrade of cliff,
osc-lib or python-openstackclient breaks one, the failure says which and
why it matters, and osc_adapter.py (the only module that relies on it) is
the place to adapt.
"""

import inspect

from cliff import app as cliff_app
from cliff import command as cliff_command
from openstackclient import shell as osc_shell
from osc_lib import clientmanager
from osc_lib import shell as osc_lib_shell
import testtools

from otcclient_detach import command
from otcclient_detach import osc_adapter


class FakeManager(object):
    def __init__(self, config=None, fail=None):
        self.config = config
        self.fail = fail
        self.sdk_connection = object()

    def get_configuration(self):
        if self.fail:
            raise self.fail
        return self.config


class FakeApp(object):
    def __init__(self, manager, failures=()):
        self.client_manager = manager
        self.failures = list(failures)
        self.prepared = []

    def prepare_to_run_command(self, cmd):
        self.prepared.append(cmd.auth_required)
        if self.failures:
            raise self.failures.pop(0)


class FakeCommand(object):
    auth_required = False

    def __init__(self, app):
        self.app = app


class TestContract(testtools.TestCase):

    def test_cliff_prepares_before_it_parses(self):
        source = inspect.getsource(cliff_app.App.run_subcommand)
        prepare = source.find('self.prepare_to_run_command(cmd)')
        parse = source.find('.parse_args(')
        self.assertNotEqual(-1, prepare, 'cliff no longer calls '
                            'App.prepare_to_run_command(cmd) in '
                            'run_subcommand: osc_adapter.connect must find '
                            'another way to authenticate')
        self.assertLess(prepare, parse,
                        'cliff now parses before prepare_to_run_command: '
                        'DetachVolume.auth_required = False and '
                        'osc_adapter.connect are no longer needed; '
                        'authenticate the usual way')

    def test_osc_prepare_authenticates_only_when_required(self):
        source = inspect.getsource(
            osc_lib_shell.OpenStackShell.prepare_to_run_command)
        self.assertIn("getattr(cmd, 'auth_required'", source,
                      "osc-lib's prepare_to_run_command no longer reads "
                      "cmd.auth_required: osc_adapter.connect sets it to "
                      "True and calls the hook again to authenticate")
        self.assertTrue(issubclass(osc_shell.OpenStackShell,
                                   osc_lib_shell.OpenStackShell),
                        "python-openstackclient's shell no longer builds on "
                        "osc-lib's, whose prepare_to_run_command "
                        "osc_adapter relies on")

    def test_prepare_is_a_public_hook(self):
        self.assertIn('cmd', inspect.signature(
            cliff_app.App.prepare_to_run_command).parameters,
            'cliff changed the signature of prepare_to_run_command(cmd)')

    def test_client_manager_public_members(self):
        for name in ('get_configuration', 'setup_auth', 'auth_ref'):
            self.assertTrue(hasattr(clientmanager.ClientManager, name),
                            'osc-lib ClientManager lost %s' % name)
        self.assertIn('self.sdk_connection =', inspect.getsource(
            clientmanager.ClientManager.setup_auth),
            "osc-lib's ClientManager.setup_auth no longer sets "
            "sdk_connection, the connection osc_adapter.connect returns")

    def test_commands_read_epilog_and_description(self):
        source = inspect.getsource(cliff_command.Command.get_parser)
        for name in ('get_description()', 'get_epilog()'):
            self.assertIn(name, source, 'cliff no longer builds the help '
                          'from Command.%s: the rules would vanish from '
                          '--help' % name)

    def test_the_command_defers_authentication(self):
        self.assertFalse(command.DetachVolume.auth_required)


class TestConnect(testtools.TestCase):

    def test_authenticates_once_with_auth_required(self):
        app = FakeApp(FakeManager())
        cmd = FakeCommand(app)
        self.assertIs(app.client_manager.sdk_connection,
                      osc_adapter.connect(cmd))
        self.assertEqual([True], app.prepared)

    def test_transient_failures_are_tried_again(self):
        from keystoneauth1 import exceptions as ks_exceptions
        app = FakeApp(FakeManager(), failures=[
            ks_exceptions.ConnectFailure('lost')])
        sleeps = []
        osc_adapter.connect(FakeCommand(app), sleep=sleeps.append)
        self.assertEqual([True, True], app.prepared)
        self.assertEqual([osc_adapter.FIRST_DELAY], sleeps)

    def test_a_401_is_not_tried_again(self):
        from keystoneauth1 import exceptions as ks_exceptions
        app = FakeApp(FakeManager(), failures=[
            ks_exceptions.Unauthorized('no')])
        self.assertRaises(ks_exceptions.Unauthorized, osc_adapter.connect,
                          FakeCommand(app), sleep=lambda s: None)
        self.assertEqual([True], app.prepared)


class TestAuthUrl(testtools.TestCase):

    def test_from_the_configuration(self):
        app = FakeApp(FakeManager({'auth': {'auth_url': 'https://k/v3'}}))
        self.assertEqual('https://k/v3', osc_adapter.auth_url(app))

    def test_none_when_unknown(self):
        self.assertIsNone(osc_adapter.auth_url(FakeApp(FakeManager({}))))
        self.assertIsNone(osc_adapter.auth_url(
            FakeApp(FakeManager(fail=AttributeError('no cloud')))))
        self.assertIsNone(osc_adapter.auth_url(object()))
