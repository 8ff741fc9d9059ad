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

import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Request, grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey
from litestar import Response

from tests.support.oauth_provider_models import (
    Client,
    Code,
    FormRequest,
    ProviderUser,
    StrictPKCE,
)
from tests.support.server import free_port, wait_until

KID = "test-key-1"
# The clients the shared server knows, with callbacks on the test app's base URL.
GOOGLE = ("google-client", "google-secret")
GITHUB = ("github-client", "github-secret")
TEST_APP_URL = "http://testserver.local"


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
        from tests.support.oauth_provider_http import build_app

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
