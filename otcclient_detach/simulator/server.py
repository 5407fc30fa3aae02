"""Run the simulator in background threads, one local port per service.

OTC serves each service from a host of its own; the simulator serves
each service of ``app.SERVICES`` from a port of its own on the bound
address (``port`` is the identity port, the others are free ports).
"""

import os
import shutil
import tempfile
import threading

from werkzeug.serving import make_server
from werkzeug.serving import WSGIRequestHandler

from otcclient_detach.simulator import app as app_mod
from otcclient_detach.simulator import faults as faults_mod
from otcclient_detach.simulator import state as state_mod
from otcclient_detach.simulator import tls as tls_mod


class _Handler(WSGIRequestHandler):
    # An idle client must not keep stop() waiting for its thread.
    timeout = 10

    def connection_dropped(self, error, environ=None):
        # Also reached by the "drop" fault: close without answering,
        # instead of waiting for a next request on a keep-alive socket.
        self.close_connection = True

    def log(self, type, message, *args):
        # The simulator keeps its own request log; stay quiet.
        pass


class Simulator:
    """An OTC cloud on ``http(s)://host:<port per service>``.

    ``port`` is the identity (IAM) port, where ``auth_url`` points and
    ``base_url`` is; 0 picks a free one.  Every other service gets a
    free port: see :attr:`ports` and :meth:`url`.

    ``scenario`` is None (the built-in demo), a path to a YAML/JSON file
    or a dict.  ``tls`` is None (plain HTTP), True (a fresh self-signed
    certificate) or a ``(cert_path, key_path)`` pair.  ``clock`` replaces
    ``time.time`` for the state's transitions (tests use a fake one).
    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, scenario=None, port=0, host='127.0.0.1',
                 compute_version=None, tls=None, clock=None,
                 admin_token=None):
        self.state = state_mod.State(scenario, clock=clock,
                                     compute_version=compute_version)
        self.faults = faults_mod.Faults(self.state.scenario['faults'])
        self.log = faults_mod.RequestLog(self.state.clock)
        self._stopping = threading.Event()
        self.app = app_mod.SimApp(self.state, self.faults, self.log,
                                  self._stopping, admin_token=admin_token)
        self.host = host
        self._wanted_port = port
        self._tls = tls
        self._tmpdir = None
        self.cert_path = self.key_path = None
        self._servers = {}
        self._ports = {}
        self._threads = []

    # -- life cycle -------------------------------------------------------

    def start(self):
        if self._servers:
            raise RuntimeError('simulator already running')
        ssl_context = self._ssl_context()
        self._stopping.clear()
        try:
            for service in app_mod.SERVICE_NAMES:
                port = self._wanted_port if service == 'identity' else 0
                server = make_server(
                    self.host, port, self.app.service_app(service),
                    threaded=True, request_handler=_Handler,
                    ssl_context=ssl_context)
                # Track handler threads so server_close() joins them:
                # stop() leaves no thread behind.
                server.daemon_threads = False
                server.block_on_close = True
                self._servers[service] = server
        except BaseException:
            for server in self._servers.values():
                server.server_close()
            self._servers = {}
            raise
        self._ports = {name: server.server_port
                       for name, server in self._servers.items()}
        self.app.ports = dict(self._ports)
        for name, server in self._servers.items():
            thread = threading.Thread(
                target=server.serve_forever, kwargs={'poll_interval': 0.05},
                name='otc-detach-sim-%s:%d' % (name, server.server_port),
                daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        servers, self._servers = self._servers, {}
        if not servers:
            return
        self._stopping.set()  # ends injected latency sleeps
        # Side by side: each shutdown waits for its server's next poll.
        stoppers = [threading.Thread(target=server.shutdown)
                    for server in servers.values()]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        for thread in self._threads:
            thread.join(5)
        self._threads = []
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _ssl_context(self):
        if not self._tls:
            return None
        if self._tls is True:
            if self.cert_path is None:
                self._tmpdir = tempfile.mkdtemp(prefix='otc-sim-tls-')
                self.cert_path, self.key_path = \
                    tls_mod.generate_self_signed(self._tmpdir)
        else:
            self.cert_path, self.key_path = self._tls
        return (self.cert_path, self.key_path)

    # -- addresses --------------------------------------------------------

    @property
    def ports(self):
        """Service name -> bound port (kept after stop(), for messages)."""
        if not self._ports:
            raise RuntimeError('simulator was never started')
        return dict(self._ports)

    @property
    def port(self):
        """The identity port, where ``auth_url`` points."""
        return self.ports['identity']

    @property
    def running(self):
        return bool(self._servers)

    def url(self, service):
        """Root URL of one service, e.g. ``url('compute')``."""
        scheme = 'https' if self._tls else 'http'
        return '%s://%s:%d' % (scheme, self.host, self.ports[service])

    @property
    def base_url(self):
        """The identity root; the ``/_sim/`` control API is here too."""
        return self.url('identity')

    @property
    def endpoints(self):
        """Catalog type -> URL, as the token's catalog lists them."""
        return {stype: url for stype, _name, url in
                app_mod.catalog_entries(self.state, self.url)}

    @property
    def auth_url(self):
        return self.endpoints['identity']

    @property
    def project_id(self):
        return self.state.project.id

    @property
    def admin_token(self):
        """The token the ``/_sim`` control API asks for."""
        return self.app.admin_token

    @property
    def control_headers(self):
        """Headers for a request to the control API over HTTP."""
        return {app_mod.ADMIN_TOKEN_HEADER: self.app.admin_token}

    @property
    def cacert(self):
        """Certificate to trust when serving TLS, else None."""
        return self.cert_path

    # -- request log and faults -------------------------------------------

    @property
    def requests(self):
        """Copy of the request log (control API calls excluded)."""
        return self.log.entries()

    def clear_requests(self):
        self.log.clear()

    def add_fault(self, method, path_regex, status=None, count=1,
                  retry_after=None, latency=None, drop=False, service=None,
                  body=faults_mod.NO_BODY, content_type='application/json',
                  carry_out=False):
        """Inject a fault; see :class:`faults.FaultRule`."""
        return self.faults.add(method, path_regex, status, count,
                               retry_after, latency, drop, service, body,
                               content_type, carry_out)

    def clear_faults(self):
        self.faults.clear()

    def set_token_ttl(self, seconds):
        """Tokens issued from now on expire after ``seconds``."""
        self.state.set_token_ttl(seconds)

    def revoke_tokens(self):
        self.state.revoke_tokens()

    # -- state ------------------------------------------------------------

    def patch_volume(self, name_or_id, **fields):
        return self.volume(self.state.patch_volume(name_or_id,
                                                   **fields).id)

    def patch_server(self, name_or_id, **fields):
        return self.server(self.state.patch_server(name_or_id,
                                                   **fields).id)

    def volume(self, name_or_id):
        """Snapshot of a volume with its current (derived) status."""
        with self.state.transaction():
            vol = self.state.find_volume(name_or_id)
            out = vol.to_dict(exclude=('detaches',))
            out['status'] = self.state.volume_status(vol)
            return out

    def server(self, name_or_id):
        """Snapshot of a server, with ``volumes`` as attached."""
        with self.state.transaction():
            srv = self.state.find_server(name_or_id)
            out = srv.to_dict(exclude=('pending',))
            out['volumes'] = [
                {'id': v.id, 'name': v.name, 'device': a.device}
                for v, a in self.state.server_volumes(srv.id)]
            return out

    def job(self, job_id):
        return self.state.job(job_id)

    def patch_key(self, alias_or_id, **fields):
        """Change a KMS key, e.g. ``state='disabled'`` (or "3")."""
        return self.state.patch_key(alias_or_id, **fields).to_dict()

    def snapshot(self, snapshot_id):
        with self.state.transaction():
            return self.state.get_snapshot(snapshot_id).to_dict()

    # -- client configuration ---------------------------------------------

    def clouds_config(self, cloud='otc-sim', volume_api_version='2',
                      cacert=None, insecure=None, extra=None,
                      auth_type='password'):
        """The clouds.yaml content as a dict (see write_clouds_yaml)."""
        user = self.state.users[0]
        project = self.state.project
        if auth_type == 'password':
            auth = {'auth_url': self.auth_url, 'username': user.name,
                    'password': user.password,
                    'project_name': project.name,
                    'user_domain_name': user.domain['name'],
                    'project_domain_name': project.domain['name']}
        elif auth_type == 'v3applicationcredential':
            if not user.app_credentials:
                raise ValueError('the scenario user has no app_credentials')
            cred = user.app_credentials[0]
            auth = {'auth_url': self.auth_url,
                    'application_credential_id': cred.id,
                    'application_credential_secret': cred.secret}
        else:
            raise ValueError('auth_type must be password or '
                             'v3applicationcredential')
        conf = {'auth_type': auth_type, 'auth': auth,
                'region_name': self.state.region, 'interface': 'public',
                'identity_api_version': 3,
                'volume_api_version': str(volume_api_version)}
        if cacert is None:
            cacert = self.cacert
        if cacert:
            conf['cacert'] = cacert
        if insecure is not None:
            conf['verify'] = not insecure
        _merge(conf, extra or {})
        return {'clouds': {cloud: conf}}

    def write_clouds_yaml(self, path, cloud='otc-sim',
                          volume_api_version='2', cacert=None,
                          insecure=None, extra=None, auth_type='password'):
        """Write a clouds.yaml for this simulator; return its path.

        The file is mode 0600 and starts with ``CLOUDS_YAML_MARKER``; a
        file at ``path`` without that first line (or a symlink) is never
        overwritten: ``ForeignFileError``.

        ``cacert`` None means the simulator's own certificate when
        serving TLS; pass False to leave it out.  ``extra`` is merged
        into the cloud's entry.
        """
        import yaml
        path = os.fspath(path)
        if os.path.lexists(path) and not written_by_us(path):
            raise ForeignFileError(
                'refusing to overwrite %s: otc-detach-sim did not write '
                'that file (its first line is not "%s"); choose another '
                'path' % (path, CLOUDS_YAML_MARKER))
        conf = self.clouds_config(cloud, volume_api_version, cacert,
                                  insecure, extra, auth_type)
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        # It holds a password: readable by the owner only, also when the
        # file existed (O_CREAT keeps an old mode); never via a symlink.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC |
                     getattr(os, 'O_NOFOLLOW', 0), 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, 'w', encoding='utf-8') as fh:
            fh.write(CLOUDS_YAML_MARKER + '\n')
            yaml.safe_dump(conf, fh, default_flow_style=False)
        return path

    def env_vars(self, volume_api_version='2', cacert=None):
        """``OS_*`` variables for an env-var cloud.

        openstacksdk names that cloud ``envvars`` and keeps the clouds
        of the user's own clouds.yaml next to it.
        """
        conf = self.clouds_config('envvars', volume_api_version,
                                  cacert)['clouds']['envvars']
        env = {'OS_' + key.upper(): str(value)
               for key, value in conf.pop('auth').items()}
        env.update({'OS_' + key.upper(): str(value)
                    for key, value in conf.items()})
        return env


class ForeignFileError(OSError):
    """A clouds.yaml path holds a file the simulator did not write."""


# First line of every clouds.yaml the simulator writes: it overwrites or
# removes only files that start with it.
CLOUDS_YAML_MARKER = ('# Written by otc-detach-sim for its simulated cloud;'
                      ' rewritten or removed by it.')


def written_by_us(path):
    """Whether ``path`` is a regular file that starts with the marker."""
    if os.path.islink(path) or not os.path.isfile(path):
        return False
    try:
        with open(path, encoding='utf-8', errors='replace') as fh:
            return fh.readline().rstrip('\n') == CLOUDS_YAML_MARKER
    except OSError:
        return False


def remove_clouds_yaml(path):
    """Remove a clouds.yaml the simulator wrote; True if removed."""
    if not written_by_us(path):
        return False
    try:
        os.remove(path)
    except FileNotFoundError:
        return False
    return True


def _merge(target, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
