"""The ``otc-detach-sim`` console script: the simulator, if it is installed.

The simulator is the ``simulator`` extra (Werkzeug, PyYAML); the plugin
alone does without them.  This module lives outside the simulator package
so that, without the extra, the script says in one line how to get it
instead of failing with a traceback on the first import.
"""

import sys

#: What the simulator imports that the plugin does not need.
SIMULATOR_MODULES = ('werkzeug', 'yaml')

INSTALL_HINT = ("otc-detach-sim: the simulator is not installed (no module "
                "named '%s'); install the extra: pip install "
                "'otcclient-detach[simulator]' (from a clone: pip install "
                "'.[simulator]')")


def missing_module():
    """The first module of the extra that cannot be imported, or None."""
    for name in SIMULATOR_MODULES:
        try:
            __import__(name)
        except ImportError:
            return name
    return None


def main(argv=None):
    missing = missing_module()
    if missing:
        print(INSTALL_HINT % missing, file=sys.stderr)
        return 1
    from otcclient_detach.simulator import cli
    return cli.main(argv)


if __name__ == '__main__':
    sys.exit(main())
