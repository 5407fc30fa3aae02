"""The documentation keeps up with the rules and the README's commands."""

import importlib.util
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


class TestModuleMap(testtools.TestCase):
    """contributing.rst's map of the product is true to the code."""

    def mapped_modules(self):
        page = read('doc', 'source', 'contributing.rst')
        section = page[page.index('Architecture map'):
                       page.index('The simulator\n---')]
        # The Module column of the table: a row's second cell.
        return re.findall(r'^(?:[a-z]+|\\)\s+``([a-z_]+)\.py``', section,
                          re.M)

    def test_map_names_exactly_the_modules_present(self):
        package = os.path.join(ROOT, 'otcclient_detach')
        present = sorted(name[:-3] for name in os.listdir(package)
                         if name.endswith('.py') and name != '__init__.py')
        mapped = self.mapped_modules()
        self.assertEqual(len(set(mapped)), len(mapped), mapped)
        self.assertEqual(present, sorted(mapped))


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


DOC_PAGES = ['README.rst'] + [
    os.path.join('doc', 'source', name)
    for name in sorted(os.listdir(os.path.join(ROOT, 'doc', 'source')))
    if name.endswith('.rst')]


class TestDocPages(testtools.TestCase):
    def test_no_issue_numbers(self):
        pattern = re.compile(r'#\d+|\bissues? (?:#|no\.? ?)?\d', re.I)
        found = ['%s: %s' % (page, line.strip())
                 for page in DOC_PAGES
                 for line in read(page).splitlines()
                 if pattern.search(line)]
        self.assertEqual([], found)

    def test_try_it_page_is_in_the_index(self):
        index = read('doc', 'source', 'index.rst')
        toctree = index[index.index('.. toctree::'):].split()
        self.assertIn('try-it', toctree)

    def test_try_it_page_has_the_readme_commands(self):
        readme = read('README.rst')
        page = read('doc', 'source', 'try-it.rst')
        commands = re.findall(r'^    (python3 -m \S.*)$', readme, re.M)
        self.assertEqual(2, len(commands), commands)
        for command in commands:
            self.assertIn(command, page)
        for usage in ('otc-detach-sim demo', 'otc-detach-sim shell',
                      '--print-cloud', '--print-env', '--os-cloud mine'):
            self.assertIn(usage, page)


def load_doc_extension(name):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(ROOT, 'doc', 'source', '_ext', name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestCliPageOrder(testtools.TestCase):
    def test_own_options_before_output_format_options(self):
        from otcclient_detach.command import DetachVolume
        parser = DetachVolume(None, None).get_parser('detach-otc')
        groups = {group.title: group._group_actions
                  for group in parser._action_groups}
        own = [a for a in groups['options'] if a.dest != 'help']
        formatters = groups['output formatters']
        self.assertTrue(own)
        self.assertTrue(formatters)
        load_doc_extension('cliff_help_order').order_by_group(parser)
        self.assertLess(max(parser._actions.index(a) for a in own),
                        min(parser._actions.index(a) for a in formatters))
        self.assertEqual(len(set(map(id, parser._actions))),
                         len(parser._actions))

    def test_cli_page_uses_the_extension(self):
        conf = read('doc', 'source', 'conf.py')
        self.assertIn("'cliff_help_order'", conf)
        self.assertNotIn("'cliff.sphinxext'", conf)
        self.assertIn('.. autoprogram-cliff::', read('doc', 'source',
                                                     'cli.rst'))
