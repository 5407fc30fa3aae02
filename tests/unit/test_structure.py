"""The house the plugin lives in: rooms by job, imports pointing one way.

doc/source/contributing.rst draws the map.  Each module of the plugin
(``otcclient_detach/*.py``; the simulator is a package of its own) lives
in one room; a module imports only from its own room or rooms listed
before it, function-level imports included, and no two modules import
each other, however indirectly.  No class is over 250 lines, no function
over 60.
"""

import ast
import os

import testtools

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'otcclient_detach')

#: Rooms, lowest first.  A module may import from its own room and the
#: rooms before it.
ROOMS = (
    ('data', ('model', 'record', 'process', 'errors', 'error_codes',
              'side_by_side')),
    ('cloud', ('cloud', 'detach', 'snapshot', 'encryption', 'reads',
               'wait')),
    ('facts', ('sources', 'facts')),
    ('rules', ('oslists', 'user_oslist', 'guest', 'rules')),
    ('plan', ('plan',)),
    ('run', ('writes', 'power', 'following', 'snapshotting', 'run')),
    ('render', ('render', 'tell', 'closing')),
    ('command', ('workflow', 'osc_adapter', 'command',
                 'simulator_launcher')),
)
ROOM_OF = {module: number for number, (_, modules) in enumerate(ROOMS)
           for module in modules}
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 60


def modules():
    return sorted(name[:-3] for name in os.listdir(PACKAGE)
                  if name.endswith('.py') and name != '__init__.py')


def tree(module):
    with open(os.path.join(PACKAGE, module + '.py'), encoding='utf-8') as f:
        return ast.parse(f.read())


def imported(module):
    """The plugin modules ``module`` imports, anywhere in its body."""
    found = set()
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == 'otcclient_detach':
                found.update(alias.name for alias in node.names)
            elif node.module.startswith('otcclient_detach.'):
                found.add(node.module.split('.')[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith('otcclient_detach.'):
                    found.add(alias.name.split('.')[1])
    return found - {'simulator'}


class TestRooms(testtools.TestCase):

    def test_every_module_has_a_room(self):
        self.assertEqual(sorted(ROOM_OF), modules())

    def test_imports_point_one_way(self):
        upward = ['%s (%s) imports %s (%s)' % (
            module, ROOMS[ROOM_OF[module]][0], target,
            ROOMS[ROOM_OF[target]][0])
            for module in modules() for target in sorted(imported(module))
            if ROOM_OF[target] > ROOM_OF[module]]
        self.assertEqual([], upward)

    def test_no_import_cycle(self):
        graph = {module: imported(module) for module in modules()}
        cycles = []

        def visit(module, path):
            for target in sorted(graph[module]):
                if target in path:
                    cycles.append(path[path.index(target):] + [target])
                elif target not in done:
                    visit(target, path + [target])
            done.add(module)

        done = set()
        for module in modules():
            visit(module, [module])
        self.assertEqual([], cycles)

    def test_the_check_sees_an_upward_import(self):
        # The test above could not fail if imported() saw nothing.
        self.assertIn('model', imported('rules'))
        self.assertIn('render', imported('workflow'))
        # A function-level import counts too (render.lookup_failed).
        self.assertIn('reads', imported('render'))


class TestSizes(testtools.TestCase):

    def test_classes_and_functions_stay_small(self):
        large = []
        for module in modules():
            for node in ast.walk(tree(module)):
                lines = getattr(node, 'end_lineno', 0) - getattr(
                    node, 'lineno', 0) + 1
                if isinstance(node, ast.ClassDef) and \
                        lines > MAX_CLASS_LINES:
                    large.append('class %s.%s: %d lines' % (
                        module, node.name, lines))
                if isinstance(node, (ast.FunctionDef,
                                     ast.AsyncFunctionDef)) and \
                        lines > MAX_FUNCTION_LINES:
                    large.append('function %s.%s: %d lines' % (
                        module, node.name, lines))
        self.assertEqual([], large)
