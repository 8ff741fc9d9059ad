"""CSRF tokens bound to the session: a signed-in browser's token is derived from its session token.

Litestar's CSRF middleware checks that the form/header token equals the `csrftoken` cookie. On its
own that lets a cookie planted from elsewhere (a sibling subdomain, a pre-sign-in page) keep
working after sign-in. Here the session middleware makes a signed-in browser's cookie the one
derived from its session, re-issues it on page loads, and refuses unsafe requests carrying any
other, so a token never outlives or crosses sessions.

`SessionBoundCSRFMiddleware` is Litestar's middleware with one shortcut: for a signed-in request
the session middleware has already computed the one token that may be submitted, so the check is
one comparison with it, instead of Litestar building a Request, parsing cookies again and
checking two HMACs. Signed-out requests take Litestar's own path, where a non-ASCII token is a
mismatch (Litestar's own comparison would raise on it).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Any, cast
from urllib.parse import quote

from litestar.config.csrf import CSRFConfig
from litestar.connection import Request
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, CSRFMiddleware, generate_csrf_hash
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from web.private_apis import should_bypass_middleware

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


# Where the session middleware leaves a signed-in request's token for SessionBoundCSRFMiddleware.
EXPECTED_KEY = "csrf_expected"
_FORM_TYPES = frozenset({RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART})


def csrf_config_of(scope: Scope) -> CSRFConfig | None:
    config = getattr(scope.get("app"), "csrf_config", None)
    return config if isinstance(config, CSRFConfig) else None


def bound_token(config: CSRFConfig, auth_secret: str, session_token: str) -> str:
    """The CSRF token of the session whose cookie token is `session_token` (in Litestar's format)."""
    return _bound_token(config.secret, auth_secret, session_token)


@functools.lru_cache(maxsize=4096)
def _bound_token(csrf_secret: str, auth_secret: str, session_token: str) -> str:
    # Every signed-in request asks for its session's token: three hashes, remembered per session.
    key = hashlib.sha256(f"csrf-binding:{auth_secret}".encode()).digest()
    secret = hmac.new(key, session_token.encode(), hashlib.sha256).hexdigest()[:CSRF_SECRET_LENGTH]
    return secret + generate_csrf_hash(token=secret, secret=csrf_secret)


def matches(candidate: str | None, expected: str) -> bool:
    return candidate is not None and hmac.compare_digest(
        candidate[:CSRF_SECRET_LENGTH].encode(), expected[:CSRF_SECRET_LENGTH].encode()
    )


def refuse_foreign_token(scope: Scope, current: str | None, expected: str) -> None:
    """Unsafe requests of a signed-in browser must carry the session's own CSRF cookie."""
    if scope.get("method", "GET") not in SAFE_METHODS and not matches(current, expected):
        raise PermissionDeniedException("CSRF token verification failed: token not issued for this session")


def install_for_safe_request(scope: Scope, config: CSRFConfig, expected: str) -> Cookie:
    """Make the CSRF middleware see `expected` as the cookie (pages render it); return the cookie to set."""
    raw = cast(dict[str, Any], scope)
    name = config.cookie_name.encode()
    headers: list[tuple[bytes, bytes]] = []
    pieces: list[bytes] = []
    for key, value in raw.get("headers", []):
        if key == b"cookie":
            pieces.extend(
                part.strip()
                for part in value.split(b";")
                if part.strip() and part.strip().split(b"=", 1)[0] != name
            )
        else:
            headers.append((key, value))
    pieces.append(name + b"=" + quote(expected).encode())
    headers.append((b"cookie", b"; ".join(pieces)))
    raw["headers"] = headers
    return Cookie(
        key=config.cookie_name,
        value=expected,
        path=config.cookie_path,
        secure=config.cookie_secure,
        httponly=config.cookie_httponly,
        samesite=config.cookie_samesite,
        domain=config.cookie_domain,
    )


class SessionBoundCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF middleware; a signed-in request is checked against its session's token only.

    Goes after the session middleware (which sets `scope[EXPECTED_KEY]` for signed-in requests,
    after refusing an unsafe one whose cookie is not that token), in place of `Litestar(csrf_config=)`.
    """

    def __init__(self, app: ASGIApp, config: CSRFConfig) -> None:
        super().__init__(app, config)
        self._header = config.header_name.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        expected = scope.get(EXPECTED_KEY) if scope["type"] == ScopeType.HTTP else None
        if not isinstance(expected, str) or should_bypass_middleware(
            scope=scope,
            scopes=self.scopes,
            exclude_opt_key=self.config.exclude_from_csrf_key,
            exclude_path_pattern=self.exclude,
        ):
            await super().__call__(scope, receive, send)
            return
        if scope.get("method", "GET") not in self.config.safe_methods:
            submitted = self._header_token(scope)
            if submitted is None:
                request: Request[Any, Any, Any] = Request(scope=scope, receive=receive)
                if request.content_type[0] in _FORM_TYPES:
                    value = (await request.form()).get("_csrf_token")
                    submitted = value if isinstance(value, str) else None
            if submitted is None or not hmac.compare_digest(submitted.encode(), expected.encode()):
                raise PermissionDeniedException("CSRF token verification failed")
        ScopeState.from_scope(scope).csrf_token = expected
        await self.app(scope, receive, send)

    def _csrf_tokens_match(self, request_csrf_token: str, cookie_csrf_token: str) -> bool:
        # Litestar compares the tokens as str with hmac.compare_digest, which raises TypeError on
        # non-ASCII text; a valid token is hex, so any other text is simply a mismatch.
        if not (request_csrf_token.isascii() and cookie_csrf_token.isascii()):
            return False
        return super()._csrf_tokens_match(request_csrf_token, cookie_csrf_token)

    def _header_token(self, scope: Scope) -> str | None:
        for key, value in scope["headers"]:
            if key == self._header:
                return value.decode("latin-1")
        return None
