"""The documentation keeps up with the rules and the README's commands."""

import os
import re

import testtools

from otcclient_detach import rules

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding='utf-8') as f:
        return f.read()


class TestRulesPage(testtools.TestCase):
    def test_every_rule_is_documented_with_its_source(self):
        page = read('doc', 'source', 'rules.rst')
        documented = re.findall(r'^   \* - ``([a-z-]+)``$', page, re.M)
        self.assertEqual([r.id for r in rules.RULES], documented)

    def test_readme_table_names_every_rule(self):
        readme = read('README.rst')
        for rule in rules.RULES:
            self.assertIn('``%s``' % rule.id, readme)


class TestReadmeCommands(testtools.TestCase):
    def test_ci_runs_the_readme_test_command(self):
        readme = read('README.rst')
        ci = read('.ci', 'run')
        self.assertIn('python3 -m pip install tox && python3 -m tox', readme)
        self.assertIn('python3 -m tox', ci)
        self.assertIn('python3 -m pip install tox && python3 -m tox', ci)

    def test_main_job_runs_the_demo(self):
        self.assertIn('otc-detach-sim demo', read('README.rst'))


class TestReadmeIsValidRst(testtools.TestCase):
    def test_readme_renders_without_errors(self):
        import docutils.core
        import docutils.utils
        try:
            docutils.core.publish_string(
                read('README.rst'), writer_name='null',
                settings_overrides={'report_level': 2, 'halt_level': 2})
        except docutils.utils.SystemMessage as e:
            self.fail('README.rst: %s' % e)
