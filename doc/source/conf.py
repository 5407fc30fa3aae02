# Sphinx configuration for otcclient-detach.

import os
import sys

# cliff_help_order: cliff's autoprogram-cliff, options in --help's order.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
    __file__)), '_ext'))

project = 'otcclient-detach'
copyright = '2026, otcclient-detach developers'
extensions = [
    'cliff_help_order',
]
# Show the command as python-openstackclient users type it.
autoprogram_cliff_application = 'openstack'
master_doc = 'index'
source_suffix = {'.rst': 'restructuredtext'}
exclude_patterns = ['build']
html_theme = 'alabaster'
pygments_style = 'sphinx'
