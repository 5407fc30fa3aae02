"""Packaging and the newcomer's first commands.

* The README's two commands work in the order given: the main-job command
  makes a virtualenv inside the clone, and the pep8 env (run here exactly
  as tox.ini states it) must not lint it, nor any other virtualenv.
* The simulator is the ``simulator`` extra: the plugin needs no Werkzeug,
  and ``otc-detach-sim`` without it says in one line how to get it.
* LICENSE, the SPDX license expression, pbr's generated files, and the
  checks of tools/check_dist.py (``tox -e package``) on archives.
"""

import configparser
import hashlib
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap

import fixtures
import testtools

from otcclient_detach import simulator_launcher

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

#: SHA-256 of https://www.apache.org/licenses/LICENSE-2.0.txt
APACHE_2_SHA256 = ('cfc7749b96f63bd31c3c42b5c471bf75'
                   '6814053e847c10f3eb003417bc523d30')

#: Breaks pycodestyle and pyflakes whichever plugins are on.
BADLY_STYLED = 'import os,sys\nx=1 ;y =2\n'


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding='utf-8') as f:
        return f.read()


def tox_ini():
    config = configparser.ConfigParser(interpolation=None)
    config.read(os.path.join(ROOT, 'tox.ini'))
    return config


def tox_commands(section):
    """The command lines of a tox.ini section, posargs at their default."""
    lines = tox_ini()[section]['commands'].strip().splitlines()
    expanded = []
    for line in lines:
        line = re.sub(r'\{posargs:([^}]*)\}', r'\1', line)
        expanded.append(shlex.split(line.replace('{posargs}', '')))
    return expanded


def setup_cfg():
    config = configparser.ConfigParser(interpolation=None)
    config.read(os.path.join(ROOT, 'setup.cfg'))
    return config


def requirement_names(text):
    names = []
    for line in text.splitlines():
        line = line.split('#')[0].strip()
        if line:
            names.append(re.split(r'[<>=!~;\[ ]', line)[0].lower())
    return names


def make_virtualenv_like(path):
    """What ``python3 -m venv`` leaves that a linter could walk into."""
    site = os.path.join(path, 'lib', 'python3.11', 'site-packages', 'pkg')
    os.makedirs(site)
    with open(os.path.join(path, 'pyvenv.cfg'), 'w') as f:
        f.write('home = /usr/bin\n')
    with open(os.path.join(site, 'badly_styled.py'), 'w') as f:
        f.write(BADLY_STYLED)


def project_skeleton(dest, paths):
    """A clone's shape: its lint config and the paths a command names.

    Each path holds one clean module: what is linted there does not
    matter, only which directories the command walks into.
    """
    os.makedirs(dest)
    shutil.copy(os.path.join(ROOT, 'tox.ini'), dest)
    for path in paths:
        target = os.path.join(dest, path)
        if not path.endswith('.py'):
            os.makedirs(target, exist_ok=True)
            target = os.path.join(target, 'clean.py')
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, 'w') as f:
            f.write('"""Clean."""\n')


class TestReadmeCommandsInOrder(testtools.TestCase):

    def test_main_job_command_makes_demo_venv_with_the_extra(self):
        command = ("python3 -m venv .demo-venv && .demo-venv/bin/pip install "
                   "'.[simulator]' && .demo-venv/bin/otc-detach-sim demo")
        self.assertTrue(command in read('README.rst'),
                        'README lacks: %s' % command)

    def test_pep8_env_does_not_lint_a_virtualenv_in_the_clone(self):
        [command] = tox_commands('testenv:pep8')
        self.assertEqual('flake8', command[0])
        tmp = self.useFixture(fixtures.TempDir()).path
        clone = os.path.join(tmp, 'clone')
        project_skeleton(clone, command[1:])
        make_virtualenv_like(os.path.join(clone, '.demo-venv'))
        make_virtualenv_like(os.path.join(clone, 'somevenv'))
        # The control: the same text in a project path is reported, so
        # the command does lint the project and the text is bad.
        with open(os.path.join(clone, 'tools', 'zz_lint_probe.py'),
                  'w') as f:
            f.write(BADLY_STYLED)

        proc = subprocess.run(
            [sys.executable, '-m'] + command, cwd=clone,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True, timeout=600)

        self.assertIn('zz_lint_probe.py', proc.stdout)
        self.assertNotEqual(0, proc.returncode, proc.stdout)
        walked = [line for line in proc.stdout.splitlines()
                  if 'badly_styled.py' in line]
        self.assertEqual([], walked)

    def test_test_and_docs_envs_stay_in_the_project_paths(self):
        # stestr and sphinx start from these directories only; a
        # virtualenv at the top of the clone is outside all of them.
        stestr = configparser.ConfigParser()
        stestr.read(os.path.join(ROOT, '.stestr.conf'))
        paths = [stestr['DEFAULT']['test_path']]
        for section in ('testenv', 'testenv:functional', 'testenv:docs',
                        'testenv:releasenotes'):
            for command in tox_commands(section):
                if '--test-path' in command:
                    paths.append(command[command.index('--test-path') + 1])
                if command[0] == 'sphinx-build':
                    paths.append(command[-2])
        self.assertEqual(['./tests/unit', './tests/functional',
                          'doc/source', 'releasenotes/source'], paths)


class TestSimulatorExtra(testtools.TestCase):

    def blocked(self, *modules):
        """An environment in which these modules fail to import."""
        blocker = self.useFixture(fixtures.TempDir()).path
        for name in modules:
            os.makedirs(os.path.join(blocker, name))
            with open(os.path.join(blocker, name, '__init__.py'), 'w') as f:
                f.write('raise ImportError("%s blocked by the test")\n'
                        % name)
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            [blocker] + [p for p in [env.get('PYTHONPATH')] if p])
        return env

    def console_script(self, name):
        path = os.path.join(os.path.dirname(sys.executable), name)
        self.assertTrue(os.path.exists(path),
                        '%s is not installed next to %s'
                        % (name, sys.executable))
        return path

    def test_plugin_requirements_leave_the_simulator_out(self):
        plugin = requirement_names(read('requirements.txt'))
        self.assertIn('python-openstackclient', plugin)
        extra = requirement_names(setup_cfg()['extras']['simulator'])
        self.assertEqual(['werkzeug', 'pyyaml', 'cryptography'], extra)
        self.assertEqual([], sorted(set(plugin) & set(extra)))

    def test_tox_test_envs_install_the_extra(self):
        self.assertEqual('simulator', tox_ini()['testenv']['extras'].strip())

    def test_console_script_is_the_launcher(self):
        scripts = setup_cfg()['entry_points']['console_scripts']
        self.assertIn('otc-detach-sim = '
                      'otcclient_detach.simulator_launcher:main', scripts)

    def test_without_werkzeug_one_line_says_how_to_get_it(self):
        proc = subprocess.run(
            [self.console_script('otc-detach-sim'), 'demo'],
            env=self.blocked('werkzeug'), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
        self.assertEqual(1, proc.returncode, proc.stderr)
        self.assertEqual('', proc.stdout)
        self.assertEqual([simulator_launcher.INSTALL_HINT % 'werkzeug'],
                         proc.stderr.splitlines())
        self.assertIn("pip install 'otcclient-detach[simulator]'",
                      proc.stderr)

    def test_with_the_extra_the_simulator_runs(self):
        proc = subprocess.run(
            [self.console_script('otc-detach-sim'), '--help'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn('usage: otc-detach-sim', proc.stdout)

    def test_plugin_works_without_werkzeug(self):
        proc = subprocess.run(
            [self.console_script('openstack'), 'server', 'volume',
             'detach-otc', '--help'],
            env=self.blocked('werkzeug'), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn('detach-otc', proc.stdout)
        self.assertNotIn('werkzeug', proc.stderr.lower())


class TestLicenseAndVersion(testtools.TestCase):

    def test_license_is_the_apache_2_text(self):
        with open(os.path.join(ROOT, 'LICENSE'), 'rb') as f:
            self.assertEqual(APACHE_2_SHA256,
                             hashlib.sha256(f.read()).hexdigest())

    def test_spdx_expression_instead_of_the_classifier(self):
        metadata = setup_cfg()['metadata']
        self.assertEqual('Apache-2.0', metadata['license_expression'])
        self.assertEqual('LICENSE', metadata['license_files'].strip())
        self.assertNotIn('License ::', metadata['classifier'])
        self.assertNotIn('license', metadata)

    def test_version_and_changelog_come_from_git(self):
        self.assertNotIn('version', setup_cfg()['metadata'])
        ignored = read('.gitignore').splitlines()
        self.assertIn('AUTHORS', ignored)
        self.assertIn('ChangeLog', ignored)


def load_check_dist():
    spec = importlib.util.spec_from_file_location(
        'check_dist', os.path.join(ROOT, 'tools', 'check_dist.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


METADATA = textwrap.dedent('''\
    Metadata-Version: 2.4
    Name: otcclient-detach
    License-Expression: Apache-2.0
    Classifier: Environment :: OpenStack
    Provides-Extra: simulator
    Requires-Dist: cliff>=4.0.0
    Requires-Dist: Werkzeug>=2.3.0; extra == "simulator"
    ''')


class TestCheckDist(testtools.TestCase):
    """tools/check_dist.py's judgement, on member lists and metadata."""

    wanted = ['otcclient_detach/data/a.tsv',
              'otcclient_detach/simulator/scenarios/demo.yaml']

    def setUp(self):
        super(TestCheckDist, self).setUp()
        self.check = load_check_dist()

    def wheel(self, *leave_out):
        names = self.wanted + ['x-0.1.0.dist-info/METADATA',
                               'x-0.1.0.dist-info/licenses/LICENSE']
        return [n for n in names if n not in leave_out]

    def test_the_source_tree_has_the_files_to_ship(self):
        wanted = self.check.expected_files()
        self.assertIn('otcclient_detach/data/ims-supported-os.tsv', wanted)
        self.assertIn('otcclient_detach/simulator/scenarios/demo.yaml',
                      wanted)

    def test_complete_archives_pass(self):
        sdist = ['x-0.1.0/' + n for n in ['LICENSE', 'setup.cfg'] +
                 self.wanted]
        self.assertEqual([], self.check.sdist_problems(sdist, self.wanted))
        self.assertEqual([], self.check.wheel_problems(
            self.wheel(), METADATA, self.wanted))

    def test_sdist_without_license_or_data(self):
        sdist = ['x-0.1.0/' + self.wanted[1]]
        self.assertEqual(['sdist lacks LICENSE',
                          'sdist lacks otcclient_detach/data/a.tsv'],
                         self.check.sdist_problems(sdist, self.wanted))

    def test_wheel_without_scenario_or_license(self):
        problems = self.check.wheel_problems(
            self.wheel(self.wanted[1], 'x-0.1.0.dist-info/licenses/LICENSE'),
            METADATA, self.wanted)
        self.assertEqual(
            ['wheel lacks otcclient_detach/simulator/scenarios/demo.yaml',
             'wheel lacks LICENSE (*.dist-info/licenses/)'], problems)

    def test_wheel_metadata_mistakes(self):
        metadata = METADATA.replace(
            'License-Expression: Apache-2.0\n',
            'License: Apache-2.0\nClassifier: License :: OSI Approved :: '
            'Apache Software License\n').replace(
            '; extra == "simulator"', '')
        problems = self.check.wheel_problems(self.wheel(), metadata,
                                             self.wanted)
        self.assertEqual(3, len(problems), problems)
        self.assertIn('License-Expression', problems[0])
        self.assertIn('deprecated classifier', problems[1])
        self.assertIn("'Werkzeug>=2.3.0' outside the simulator extra",
                      problems[2])
