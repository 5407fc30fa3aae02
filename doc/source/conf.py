# Sphinx configuration for otcclient-detach.

project = 'otcclient-detach'
copyright = '2026, otcclient-detach developers'
extensions = [
    'cliff.sphinxext',
]
# Show the command as python-openstackclient users type it.
autoprogram_cliff_application = 'openstack'
master_doc = 'index'
source_suffix = {'.rst': 'restructuredtext'}
exclude_patterns = ['build']
html_theme = 'alabaster'
pygments_style = 'sphinx'
