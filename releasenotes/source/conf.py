project = 'otcclient-detach Release Notes'
extensions = ['reno.sphinxext']
master_doc = 'index'
exclude_patterns = []
html_theme = 'alabaster'
