"""IAM, OTC's Keystone v3: version discovery, tokens, users and scope.

:class:`IdentityAPI` is a mixin of
:class:`~otcclient_detach.simulator.app.SimApp`; it uses only
``self.state``.
"""

from otcclient_detach.simulator import views
from otcclient_detach.simulator.http_util import base_url
from otcclient_detach.simulator.http_util import HTTPError
from otcclient_detach.simulator.http_util import json_body
from otcclient_detach.simulator.http_util import json_response

AUTH_REQUIRED = 'The request you have made requires authentication.'


class IdentityAPI:
    """The IAM endpoints, and token checks for all the others."""

    def _authenticate(self, request):
        """The record of the request's valid X-Auth-Token, or a 401."""
        rec = self.state.check_token(request.headers.get('X-Auth-Token'))
        if rec is None:
            raise HTTPError(401, AUTH_REQUIRED)
        return rec

    def on_iam_versions(self, request):
        return json_response({'versions': {'values': [
            views.identity_version(base_url(request))]}}, 300)

    def on_iam_version(self, request):
        return json_response({
            'version': views.identity_version(base_url(request))})

    def on_tokens(self, request):
        if request.method == 'POST':
            return self._issue_token(request)
        self._authenticate(request)
        subject = self.state.check_token(request.headers.get(
            'X-Subject-Token'))
        if subject is None:
            raise HTTPError(404, 'Could not find token: %s' % (
                request.headers.get('X-Subject-Token', '')[:8] + '...'))
        if request.method == 'DELETE':
            self.state.revoke_token(request.headers['X-Subject-Token'])
            return json_response(None, 204)
        return json_response(
            views.token(self.state, self.catalog_entries(request), subject,
                        request.headers['X-Subject-Token']),
            headers={'X-Subject-Token': request.headers['X-Subject-Token']})

    def _issue_token(self, request):
        body = json_body(request)
        try:
            identity = body['auth']['identity']
            methods = list(identity['methods'])
        except (KeyError, TypeError):
            raise HTTPError(400, 'Expecting to find identity in auth. The '
                            'server could not comply with the request '
                            'since it is either malformed or otherwise '
                            'incorrect.')
        user = app_cred = None
        if 'password' in methods:
            user = self._password_user(identity.get('password') or {})
        elif 'application_credential' in methods:
            user, app_cred = self._app_cred_user(
                identity.get('application_credential') or {})
        elif 'token' in methods:
            rec = self.state.check_token(
                (identity.get('token') or {}).get('id'))
            if rec:
                user, app_cred = rec.user, rec.app_cred
        if user is None:
            raise HTTPError(401, AUTH_REQUIRED)
        scope = body['auth'].get('scope')
        if scope is not None and not app_cred:
            self._check_scope(scope)
        token_id, rec = self.state.issue_token(user, methods, app_cred)
        return json_response(views.token(self.state,
                                         self.catalog_entries(request),
                                         rec, token_id), 201,
                             {'X-Subject-Token': token_id})

    def _find_user(self, spec):
        for user in self.state.users:
            if spec.get('id'):
                if spec['id'] == user.id:
                    return user
                continue
            domain = spec.get('domain') or {}
            same_domain = user.domain['name'] == domain.get('name') or \
                user.domain['id'] == domain.get('id')
            if spec.get('name') == user.name and same_domain:
                return user
        return None

    def _password_user(self, password):
        spec = password.get('user') or {}
        user = self._find_user(spec)
        if user is None or spec.get('password') != user.password:
            return None
        return user

    def _app_cred_user(self, spec):
        for user in self.state.users:
            if spec.get('user') and self._find_user(spec['user']) is not user:
                continue
            for cred in user.app_credentials:
                wanted = spec.get('id') == cred.id or \
                    spec.get('name') == cred.name
                if wanted and spec.get('secret') == cred.secret:
                    return user, cred
        return None, None

    def _check_scope(self, scope):
        project = scope.get('project') if isinstance(scope, dict) else None
        mine = self.state.project
        if not isinstance(project, dict):
            raise HTTPError(401, AUTH_REQUIRED)
        if project.get('id'):
            ok = project['id'] == mine.id
        else:
            domain = project.get('domain') or {}
            ok = project.get('name') == mine.name and (
                domain.get('name') == mine.domain['name'] or
                domain.get('id') == mine.domain['id'])
        if not ok:
            raise HTTPError(401, AUTH_REQUIRED)
