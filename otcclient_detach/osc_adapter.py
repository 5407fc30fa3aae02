"""Everything the command needs from python-openstackclient's machinery.

The one module that knows how OSC (osc-lib, cliff) runs a command; the
rest of the product sees a connection and an auth URL.  What it relies on
is checked by ``tests/unit/test_osc_adapter.py``, which fails with the
reason when an upgrade changes it:

* cliff calls the public hook ``App.prepare_to_run_command(cmd)`` *before*
  it parses the command's arguments, and osc-lib's implementation of that
  hook authenticates only when ``cmd.auth_required`` is true.  The command
  therefore declares ``auth_required = False`` (so a usage error sends no
  request) and :func:`connect` runs the hook again, with
  ``auth_required`` true, once the options have been checked;
* ``ClientManager.sdk_connection`` is the CLI's openstacksdk connection
  (TLS, retries, region of ``clouds.yaml`` / ``OS_*``), and
  ``ClientManager.get_configuration()`` the cloud's settings.
"""

import logging
import threading
import time

from otcclient_detach import cloud
from otcclient_detach import errors

LOG = logging.getLogger(__name__)

#: Tries of authentication after a transient failure, per kind.
AUTH_RETRIES = {'connect': 3, 'status': 4}
FIRST_DELAY = 0.5


class NoAnswer(Exception):
    """Authentication did not end before the command's deadline."""

    def __init__(self, seconds):
        super(NoAnswer, self).__init__(seconds)
        self.seconds = seconds


def connect(command, sleep=time.sleep):
    """Authenticate and return the CLI's openstacksdk connection.

    Identity requests are outside keystoneauth's retries, so a transient
    failure (5xx, 429, lost connection) is tried again like a read, each
    try and each pause within the deadline that holds the whole gathering
    (cloud.deadline): a Retry-After the command will not wait ends it at
    once, a negative or broken one is ignored.
    """
    app = command.app
    manager = app.client_manager
    prepare = getattr(app, 'prepare_to_run_command', None)
    if prepare is None or command.auth_required:
        # A test's fake application, or authenticated by the app already.
        return manager.sdk_connection
    command.auth_required = True
    left = dict(AUTH_RETRIES)
    delay = dict.fromkeys(AUTH_RETRIES, FIRST_DELAY)
    while True:
        try:
            _within(prepare, command)
            bound_requests(getattr(manager, 'session', None))
            return manager.sdk_connection
        except NoAnswer:
            raise
        except Exception as e:
            # The cloud's own delay, uncapped: one the command will not
            # wait ends it at once, in the cloud's words.
            kind, wanted = errors.transient_auth_failure(
                e, cap=float('inf'))
            if kind is None or left[kind] <= 0:
                raise
            pause = wanted if wanted is not None else delay[kind]
            remaining = cloud.seconds_left()
            if (wanted is not None and wanted > cloud.MAX_RETRY_AFTER) or \
                    (remaining is not None and pause >= remaining):
                raise
            left[kind] -= 1
            LOG.info('Authentication failed (%s); trying again',
                     errors.what_happened(e, 'the token request'))
            sleep(pause)
            delay[kind] *= 2


def _within(call, *args):
    """``call(*args)``, given up on at the deadline (NoAnswer).

    The identity request runs in a daemon thread while this one waits
    for it no longer than the time left: keystoneauth's session has no
    timeout of its own unless clouds.yaml sets ``api_timeout``.
    """
    remaining = cloud.seconds_left()
    if remaining is None:
        return call(*args)
    outcome = []

    def work():
        try:
            outcome.append((call(*args), None))
        except BaseException as e:  # raised in the caller's thread
            outcome.append((None, e))

    thread = threading.Thread(target=work, name='authenticate', daemon=True)
    thread.start()
    thread.join(max(remaining, 0.1))
    if not outcome:
        raise NoAnswer(cloud.deadline_seconds())
    result, error = outcome[0]
    if error is not None:
        raise error
    return result


def bound_requests(session):
    """Give the CLI's session the default request timeout if it has none.

    ``api_timeout`` in clouds.yaml becomes the keystoneauth session's
    ``timeout``; without it every request could wait for ever.  The
    SDK's own requests (version discovery) go through this session too.
    """
    if session is not None and getattr(session, 'timeout', 0) is None:
        session.timeout = cloud.DEFAULT_REQUEST_TIMEOUT


def auth_url(app):
    """The auth URL the CLI uses (clouds.yaml / OS_AUTH_URL), or None."""
    manager = getattr(app, 'client_manager', None)
    try:
        config = manager.get_configuration()
    except Exception:
        # Not configured yet, or a test's fake application.
        return None
    auth = config.get('auth') if isinstance(config, dict) else None
    url = auth.get('auth_url') if isinstance(auth, dict) else None
    return url if isinstance(url, str) else None
