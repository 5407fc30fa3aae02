"""The simulator's built-in scenarios (YAML, see scenario.py).

A package of its own, so that setuptools ships these files as the data
of a listed package instead of warning about an unlisted one.
"""
