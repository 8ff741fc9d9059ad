"""A real OAuth 2.0 / OpenID Connect provider for tests, built on authlib's server side, served on 127.0.0.1.

One server speaks both styles the app knows:
- OpenID Connect (Google-like): discovery, /oauth2/authorize, /oauth2/token issuing RS256 ID tokens,
  /oauth2/jwks, /oauth2/userinfo;
- GitHub-like: /login/oauth/authorize, /login/oauth/access_token, /api/user, /api/user/emails.

Authorization requires PKCE with S256, and the token endpoint checks the code_verifier. The consent
screen is an HTML form; a test "is" a provider user by posting it with `login=<key>` and
`decision=allow|deny|<error code>`.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import uvicorn
from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey
from litestar import Litestar, Request, Response, get, post, route
from litestar.enums import HttpMethod

from tests.support.server import free_port, wait_until

AnyRequest = Request[Any, Any, Any]
KID = "test-key-1"
# The clients the shared server knows, with callbacks on the test app's base URL.
GOOGLE = ("google-client", "google-secret")
GITHUB = ("github-client", "github-secret")
TEST_APP_URL = "http://testserver.local"


@dataclass
class ProviderUser:
    """Someone who can sign in at the provider."""

    sub: str
    login: str
    name: str
    email: str | None
    email_verified: bool = True
    avatar: str | None = None
    github_id: int = 0
    # GitHub-style address list; by default just `email` as the primary one.
    emails: list[dict[str, Any]] | None = None

    def github_emails(self) -> list[dict[str, Any]]:
        if self.emails is not None:
            return self.emails
        if not self.email:
            return []
        return [{"email": self.email, "primary": True, "verified": self.email_verified, "visibility": None}]


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scope: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: ProviderUser
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class FormRequest(OAuth2Request):  # type: ignore[misc]
    """An authlib request from values already read off a Litestar request."""

    def __init__(self, method: str, uri: str, headers: Any, args: dict[str, str], form: dict[str, str]):
        super().__init__(method, uri, headers=headers)
        self._args = args
        self._form = form
        self.payload = BasicOAuth2Payload({**args, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class StrictPKCE(CodeChallenge):  # type: ignore[misc]
    """PKCE required for every client, and only S256 (what the app must send)."""

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise_invalid("PKCE with code_challenge_method=S256 is required.", redirect_uri)
        super().validate_code_challenge(grant, redirect_uri)


def raise_invalid(description: str, redirect_uri: str) -> None:
    from authlib.oauth2.rfc6749.errors import InvalidRequestError

    raise InvalidRequestError(description, redirect_uri=redirect_uri)


class OAuthProvider:
    """The provider's state (clients, users, codes, tokens) and switches tests flip to make it misbehave."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.key = self._new_key(KID)
        self.clients: dict[str, Client] = {}
        self.users: dict[str, ProviderUser] = {}
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, tuple[ProviderUser, str]] = {}
        self.nonces: set[str] = set()
        # Switches: answer every request with this status (provider down), or skew the ID token.
        self.fail_status: int | None = None
        self.id_token_overrides: dict[str, Any] = {}
        self.jwks_requests = 0
        self.lock = threading.Lock()
        self.server = self._authorization_server()
        self._uvicorn: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- registry -------------------------------------------------------------------------------

    def add_client(self, client_id: str, client_secret: str, redirect_uris: list[str], scope: str) -> None:
        self.clients[client_id] = Client(client_id, client_secret, redirect_uris, scope)

    def add_user(self, key: str, **fields: Any) -> ProviderUser:
        defaults = {"sub": f"sub-{key}", "login": key, "name": key.title(), "email": None}
        user = ProviderUser(**{**defaults, "github_id": 1000 + len(self.users), **fields})
        self.users[key] = user
        return user

    @staticmethod
    def _new_key(kid: str) -> RSAKey:
        return RSAKey.generate_key(2048, {"kid": kid, "use": "sig", "alg": "RS256"})

    def rotate_key(self, kid: str) -> None:
        """Sign with a new key from now on; the JWKS endpoint serves only the new one."""
        self.key = self._new_key(kid)

    def reset(self) -> None:
        with self.lock:
            self.users.clear()
            self.codes.clear()
            self.tokens.clear()
            self.nonces.clear()
            self.fail_status = None
            self.id_token_overrides = {}
            self.jwks_requests = 0

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    # --- authlib server -------------------------------------------------------------------------

    def _authorization_server(self) -> AuthorizationServer:
        provider = self

        class Server(AuthorizationServer):  # type: ignore[misc]
            def query_client(self, client_id: str) -> Client | None:
                return provider.clients.get(client_id)

            def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
                provider.tokens[token["access_token"]] = (request.user, token.get("scope", ""))

            def create_oauth2_request(self, request: FormRequest) -> FormRequest:
                return request

            def handle_response(
                self, status: int, body: Any, headers: list[tuple[str, str]]
            ) -> Response[Any]:
                return Response(body, status_code=status, headers=dict(headers))

            def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
                return None

        class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
                data = request.payload.data
                if data.get("nonce"):
                    provider.nonces.add(data["nonce"])
                provider.codes[code] = Code(
                    code=code,
                    client_id=request.client.client_id,
                    redirect_uri=data.get("redirect_uri", ""),
                    scope=request.scope,
                    user=request.user,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                item = provider.codes.get(code)
                return item if item and item.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> ProviderUser:
                return authorization_code.user

        class IDTokens(OpenIDCode):  # type: ignore[misc]
            def resolve_client_private_key(self, client: Client) -> RSAKey:
                return provider.key

            def get_client_algorithm(self, client: Client) -> str:
                return "RS256"

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": str(provider.key.kid)}

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": provider.base_url, "aud": [client.client_id]}

            def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
                # A nonce a code was already issued for may not come back (replay).
                return nonce in provider.nonces

            def generate_user_info(self, user: ProviderUser, scope: str) -> UserInfo:
                return UserInfo({**provider.userinfo(user, scope), **provider.id_token_overrides})

        server = Server()
        server.register_token_generator(
            "default", BearerTokenGenerator(lambda **_: secrets.token_urlsafe(32), None, 3600)
        )
        server.register_grant(CodeGrant, [StrictPKCE(required=True), IDTokens(require_nonce=True)])
        return server

    def userinfo(self, user: ProviderUser, scope: str) -> dict[str, Any]:
        info: dict[str, Any] = {"sub": user.sub}
        if "profile" in scope.split():
            info.update(name=user.name, preferred_username=user.login)
            if user.avatar:
                info["picture"] = user.avatar
        if "email" in scope.split() and user.email:
            info.update(email=user.email, email_verified=user.email_verified)
        return info

    # --- serving --------------------------------------------------------------------------------

    def start(self) -> OAuthProvider:
        app = build_app(self)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._uvicorn.run, name="oauth-provider", daemon=True)
        self._thread.start()
        server = self._uvicorn
        wait_until(lambda: server.started, 15, "the OAuth provider started")
        return self

    def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


@pytest.fixture(scope="session")
def oauth_server() -> Iterator[OAuthProvider]:
    """One provider on 127.0.0.1 for the run, with a Google-style and a GitHub-style client."""
    server = OAuthProvider()
    server.add_client(*GOOGLE, [f"{TEST_APP_URL}/auth/oauth/google/callback"], "openid email profile")
    server.add_client(*GITHUB, [f"{TEST_APP_URL}/auth/oauth/github/callback"], "read:user user:email")
    server.start()
    yield server
    server.stop()


# --- HTTP --------------------------------------------------------------------------------------


async def _authlib_request(request: AnyRequest) -> FormRequest:
    form: dict[str, str] = {}
    if request.method == "POST":
        data = await request.form()
        form = {k: v for k, v in data.items() if isinstance(v, str)}
    return FormRequest(
        request.method,
        str(request.url),
        request.headers,  # case-insensitive, as authlib expects ("Authorization")
        dict(request.query_params),
        form,
    )


def _bearer(provider: OAuthProvider, request: AnyRequest) -> tuple[ProviderUser, str] | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() not in {"bearer", "token"}:
        return None
    return provider.tokens.get(token.strip())


def _unauthorized() -> Response[Any]:
    return Response({"message": "Bad credentials"}, status_code=401)


def _consent_page(request: AnyRequest, provider: OAuthProvider) -> str:
    query = urlencode(dict(request.query_params))
    users = "".join(
        f'<option value="{html.escape(key)}">{html.escape(u.name)}</option>'
        for key, u in provider.users.items()
    )
    return (
        "<!doctype html><title>Authorize</title>"
        f'<form method="post" action="{html.escape(request.url.path)}?{html.escape(query)}">'
        f'<select name="login">{users}</select>'
        '<button name="decision" value="allow">Allow</button>'
        '<button name="decision" value="deny">Deny</button></form>'
    )


def build_app(provider: OAuthProvider) -> Litestar:
    @route(
        ["/oauth2/authorize", "/login/oauth/authorize"],
        http_method=[HttpMethod.GET, HttpMethod.POST],
        status_code=200,
    )
    async def authorize(request: AnyRequest) -> Response[Any]:
        if provider.fail_status:
            return Response("down", status_code=provider.fail_status, media_type="text/plain")
        oauth_request = await _authlib_request(request)
        end_user = provider.users.get(oauth_request.form.get("login", ""))
        try:
            grant = provider.server.get_consent_grant(oauth_request, end_user=end_user)
        except OAuth2Error as error:
            if error.redirect_uri:
                return provider.server.handle_error_response(oauth_request, error)  # type: ignore[no-any-return]
            return Response(f"{error.error}: {error.description}", status_code=400, media_type="text/plain")
        if request.method == "GET":
            return Response(_consent_page(request, provider), media_type="text/html")
        decision = oauth_request.form.get("decision", "deny")
        if decision == "allow" and end_user is not None:
            return provider.server.create_authorization_response(  # type: ignore[no-any-return]
                oauth_request, grant_user=end_user, grant=grant
            )
        if decision == "deny":
            return provider.server.create_authorization_response(  # type: ignore[no-any-return]
                oauth_request, grant_user=None, grant=grant
            )
        # Any other decision is an error code the provider reports back (server_error, ...).
        redirect_uri = grant.validate_authorization_request()
        params = [("error", decision), ("state", oauth_request.payload.state or "")]
        return Response(None, status_code=302, headers={"Location": add_params_to_uri(redirect_uri, params)})

    @post(["/oauth2/token", "/login/oauth/access_token"], status_code=200)
    async def token(request: AnyRequest) -> Response[Any]:
        if provider.fail_status:
            return Response("down", status_code=provider.fail_status, media_type="text/plain")
        return provider.server.create_token_response(await _authlib_request(request))  # type: ignore[no-any-return]

    @get("/.well-known/openid-configuration")
    async def discovery() -> Response[Any]:
        if provider.fail_status:
            return Response("down", status_code=provider.fail_status, media_type="text/plain")
        base = provider.base_url
        return Response(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/oauth2/authorize",
                "token_endpoint": f"{base}/oauth2/token",
                "userinfo_endpoint": f"{base}/oauth2/userinfo",
                "jwks_uri": f"{base}/oauth2/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    @get("/oauth2/jwks")
    async def jwks() -> dict[str, Any]:
        provider.jwks_requests += 1
        return {"keys": [provider.key.as_dict(private=False)]}

    @get("/oauth2/userinfo")
    async def userinfo(request: AnyRequest) -> Response[Any]:
        found = _bearer(provider, request)
        if found is None:
            return _unauthorized()
        user, scope = found
        return Response(provider.userinfo(user, scope))

    @get("/api/user")
    async def github_user(request: AnyRequest) -> Response[Any]:
        if provider.fail_status:
            return Response("down", status_code=provider.fail_status, media_type="text/plain")
        found = _bearer(provider, request)
        if found is None:
            return _unauthorized()
        user, _ = found
        return Response(
            {
                "id": user.github_id,
                "login": user.login,
                "name": user.name,
                "email": None,
                "avatar_url": user.avatar,
            }
        )

    @get("/api/user/emails")
    async def github_emails(request: AnyRequest) -> Response[Any]:
        found = _bearer(provider, request)
        if found is None:
            return _unauthorized()
        user, scope = found
        if "user:email" not in scope.split():
            return Response({"message": "Not Found"}, status_code=404)
        return Response(user.github_emails())

    return Litestar(
        route_handlers=[authorize, token, discovery, jwks, userinfo, github_user, github_emails], debug=False
    )
