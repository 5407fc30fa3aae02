"""``openstack complete`` covers ``server volume detach-otc`` and its options.

cliff's ``complete`` command writes, for every command, its words and
its options as bash variables (``cmds_server_volume_detach_otc``: the
``-`` of ``detach-otc`` becomes ``_``, and its completion function looks
names up the same way).  The script is made in this process through
python-openstackclient's shell, then run by bash with a stand-in for
bash-completion's ``_get_comp_words_by_ref`` to see what a user gets on
TAB.
"""

import os
import re
import shutil
import subprocess

import fixtures
import testtools
from tests.functional import base

from otcclient_detach.command import DetachVolume

# $1 the script, then the words typed; the stand-in sets what
# bash-completion's helper would set for them.
BASH_TAB = '''
source "$1"
shift
typed=("$@")
_get_comp_words_by_ref() {
  words=("${typed[@]}")
  cur="${typed[${#typed[@]}-1]}"
}
_openstack
printf '%s\\n' "${COMPREPLY[@]}"
'''


class TestCompletion(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        # no clouds.yaml of the developer's: completion needs no cloud
        env['OS_CLIENT_CONFIG_FILE'] = os.path.join(self.tmp, 'none.yaml')
        returncode, out, err = base.run_in_process(['complete'], env)
        self.assertEqual(0, returncode, err)
        self.script = out
        self.words = dict(re.findall(r"^  cmds_(\w+)='([^']*)'$", out,
                                     re.M))

    def test_command_and_all_its_options(self):
        self.assertIn('detach-otc', self.words['server_volume'].split())
        parser = DetachVolume(None, None).get_parser('detach-otc')
        options = {opt for action in parser._get_optional_actions()
                   for opt in action.option_strings}
        self.assertIn('--dry-run', options)
        self.assertEqual(options,
                         set(self.words['server_volume_detach_otc'].split()))

    def tab(self, *typed):
        """What bash offers after ``openstack TYPED<TAB>``."""
        path = os.path.join(self.tmp, 'openstack.bash')
        with open(path, 'w') as fh:
            fh.write(self.script)
        proc = subprocess.run(
            [shutil.which('bash'), '-c', BASH_TAB, 'bash', path,
             'openstack'] + list(typed), capture_output=True, text=True,
            timeout=60)
        self.assertEqual('', proc.stderr)
        return sorted(proc.stdout.split())

    def test_bash_completes_the_command_and_its_options(self):
        self.assertEqual(['detach-otc'], self.tab('server', 'volume', 'det'))
        self.assertEqual(['--dry-run'], self.tab(
            'server', 'volume', 'detach-otc', '--dr'))
        self.assertEqual(['--force', '--force-detach'], self.tab(
            'server', 'volume', 'detach-otc', '--force'))
        self.assertIn('--stop-server', self.tab(
            'server', 'volume', 'detach-otc', '--'))
