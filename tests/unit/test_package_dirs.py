"""Every directory of the package that ships files is a package.

setuptools warns ("Package would be ignored") about a directory below a
listed package that holds files but no ``__init__.py``: Python can
import it as a namespace package, yet it is not in ``packages``.  With an
``__init__.py`` in each, pbr lists them and the build is quiet.
"""

import os

import testtools

import otcclient_detach

PACKAGE_DIR = os.path.dirname(os.path.abspath(otcclient_detach.__file__))


class TestPackageDirectories(testtools.TestCase):
    def test_every_directory_with_files_has_an_init(self):
        lacking = []
        for dirpath, dirnames, filenames in os.walk(PACKAGE_DIR):
            dirnames[:] = [d for d in dirnames if d != '__pycache__']
            if filenames and '__init__.py' not in filenames:
                lacking.append(os.path.relpath(dirpath, PACKAGE_DIR))
        self.assertEqual([], lacking)

    def test_the_data_directories_are_walked(self):
        walked = {os.path.relpath(dirpath, PACKAGE_DIR)
                  for dirpath, _, _ in os.walk(PACKAGE_DIR)}
        self.assertIn('data', walked)
        self.assertIn(os.path.join('simulator', 'scenarios'), walked)
