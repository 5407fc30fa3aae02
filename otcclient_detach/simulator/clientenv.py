"""The environment of a client of the simulator (``run``, demo, tests).

Shared by cli.py and demo.py, so that neither imports the other's
helpers (cli imports demo, never the other way round).
"""

import os

#: The cloud name of the clouds.yaml the simulator writes.
CLOUD = 'otc-sim'
#: Variables ``otc-detach-sim run`` adds, so the command it runs can use
#: the ``/_sim/`` control API: the ECS root URL and the admin token.
URL_VAR = 'OTC_SIM_URL'
ADMIN_TOKEN_VAR = 'OTC_SIM_ADMIN_TOKEN'


def overriding_variables(env):
    """The OS_* variables in ``env`` that could redirect a client.

    The ``openstack`` CLI makes every ``OS_*`` variable (``OS_AUTH_URL``,
    ``OS_PASSWORD``, ``OS_REGION_NAME``, ...) the default of its
    ``--os-*`` option, and options override what ``--os-cloud`` names
    in clouds.yaml: with them set, any cloud is partly another one.
    OS_*_API_VERSION choices only pick an API version; they are kept.
    """
    return sorted(key for key in env if key.startswith('OS_') and
                  not key.endswith('_API_VERSION'))


def clean_env(clouds_yaml, base=None):
    """Environment for a client of the simulator.

    Every OS_* variable that could point the client at another cloud or
    other credentials is dropped; OS_*_API_VERSION choices are kept, as
    they are what a test wants to vary.
    """
    env = dict(os.environ if base is None else base)
    for key in overriding_variables(env):
        del env[key]
    env['OS_CLIENT_CONFIG_FILE'] = clouds_yaml
    # A user's secure.yaml must not add credentials to ours.
    env['OS_CLIENT_SECURE_FILE'] = os.path.join(
        os.path.dirname(clouds_yaml), 'secure.yaml')
    env['OS_CLOUD'] = CLOUD
    return env


def control_env(sim):
    """The variables that let a client use ``sim``'s control API."""
    return {URL_VAR: sim.base_url, ADMIN_TOKEN_VAR: sim.admin_token}
