"""The command module costs every ``openstack`` call nothing to import.

At start-up the CLI imports every module of every ``openstack.*``
entry-point group, for every command a user runs (python-openstackclient's
``openstackclient/shell.py``, ``_load_plugins`` and ``_load_commands``),
so the module named by the entry point may import only what
python-openstackclient has loaded already.
"""

import json
import subprocess
import sys

from osc_lib.test import fakes as osc_fakes
import testtools

from otcclient_detach import command
from otcclient_detach import rules

PROBE = '''
import json
import sys

import openstackclient.shell  # noqa
import osc_lib.command.command  # noqa
import osc_lib.exceptions  # noqa

before = set(sys.modules)
import otcclient_detach.command  # noqa
print(json.dumps(sorted(set(sys.modules) - before)))
'''


class TestImportCost(testtools.TestCase):

    def test_only_the_command_module_is_new(self):
        out = subprocess.run(
            [sys.executable, '-c', PROBE], capture_output=True, text=True,
            timeout=120, check=True).stdout
        new = json.loads(out.strip().splitlines()[-1])
        self.assertEqual(['otcclient_detach', 'otcclient_detach.command'],
                         new)

    def test_entry_point_names_the_command(self):
        from importlib import metadata
        eps = metadata.entry_points()
        group = (eps.select(group='openstack.compute.v2')
                 if hasattr(eps, 'select')
                 else eps.get('openstack.compute.v2', []))
        found = {ep.name: ep.value for ep in group}
        self.assertEqual('otcclient_detach.command:DetachVolume',
                         found.get('server_volume_detach-otc'))


class TestHelp(testtools.TestCase):

    def setUp(self):
        super(TestHelp, self).setUp()
        app = osc_fakes.FakeApp(osc_fakes.FakeStdout(), osc_fakes.FakeLog())
        self.cmd = command.DetachVolume(app, None)

    def test_parser(self):
        parser = self.cmd.get_parser('openstack server volume detach-otc')
        args = parser.parse_args(['web-1', 'data-1', 'data-2'])
        self.assertEqual('web-1', args.server)
        self.assertEqual(['data-1', 'data-2'], args.volumes)

    def test_help_names_every_rule(self):
        text = self.cmd.get_parser('x').format_help()
        self.assertTrue(rules.RULES)
        for rule in rules.RULES:
            self.assertIn('- %s: ' % rule.id, text)

    def test_help_gives_the_exit_statuses(self):
        text = ' '.join(self.cmd.get_parser('x').format_help().split())
        self.assertIn('Exit status: 0 detached', text)
        self.assertIn('2 usage error', text)
