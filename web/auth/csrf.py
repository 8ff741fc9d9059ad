"""CSRF tokens bound to the session: a signed-in browser's token is derived from its session token.

Litestar's CSRF middleware checks that the form/header token equals the `csrftoken` cookie. On its
own that lets a cookie planted from elsewhere (a sibling subdomain, a pre-sign-in page) keep
working after sign-in. Here the session middleware makes a signed-in browser's cookie the one
derived from its session, re-issues it on page loads, and refuses unsafe requests carrying any
other, so a token never outlives or crosses sessions.

`CSRFCheck` is Litestar's CSRF middleware's check (same cookie, header, form field and token
format), run by the edge middleware (web/edge.py) inside its one pass, with one shortcut: for a
signed-in request the session's token is the one that may be submitted, so the check is one
comparison with it instead of parsing cookies again and checking two HMACs. A non-ASCII token
is a mismatch (Litestar's own comparison would raise on it).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from typing import Any, cast
from urllib.parse import quote

from litestar.config.csrf import CSRFConfig
from litestar.connection import Request
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash, generate_csrf_token
from litestar.types import Receive, Scope
from litestar.utils.scope.state import ScopeState

from web.auth.cookies import request_cookies
from web.headers import headers_changed
from web.private_apis import should_bypass_middleware

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


_FORM_TYPES = frozenset({RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART})


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
    headers_changed(scope)
    return csrf_cookie(config, expected)


def tokens_match(submitted: str, cookie: str, secret: str) -> bool:
    """Litestar's double-submit check: both tokens carry a valid HMAC of the same secret part.

    Litestar compares the tokens as str with hmac.compare_digest, which raises TypeError on
    non-ASCII text; a valid token is hex, so any other text is simply a mismatch.
    """
    if not (submitted.isascii() and cookie.isascii()):
        return False
    mine, theirs = _decoded(submitted, secret), _decoded(cookie, secret)
    return mine is not None and theirs is not None and hmac.compare_digest(mine, theirs)


def _decoded(token: str, secret: str) -> str | None:
    if len(token) < CSRF_SECRET_LENGTH + 1:
        return None
    part = token[:CSRF_SECRET_LENGTH]
    signed = hmac.compare_digest(token[CSRF_SECRET_LENGTH:], generate_csrf_hash(token=part, secret=secret))
    return part if signed else None


def csrf_cookie(config: CSRFConfig, token: str) -> Cookie:
    """The `csrftoken` cookie carrying `token`, as Litestar's middleware sets it."""
    return Cookie(
        key=config.cookie_name,
        value=token,
        path=config.cookie_path,
        secure=config.cookie_secure,
        httponly=config.cookie_httponly,
        samesite=config.cookie_samesite,
        domain=config.cookie_domain,
    )


class CSRFCheck:
    """Litestar's CSRF middleware semantics as a call the edge middleware makes (web/edge.py).

    Safe requests get a token (the cookie's, or a new one set as the cookie); unsafe ones must
    submit (`X-CSRFToken` header, else the form field `_csrf_token`) the token of their cookie.
    A signed-in request is checked against its session's token only (`expected`).
    """

    def __init__(self, config: CSRFConfig) -> None:
        self.config = config
        self.header = config.header_name.lower().encode("latin-1")
        self.exclude = re.compile("|".join(config.exclude)) if config.exclude else None
        # The cookie's attributes never change: encode them once, around a placeholder token.
        marker = "0" * CSRF_SECRET_LENGTH
        before, _, after = csrf_cookie(config, marker).to_header(header="").partition(marker)
        self._cookie_around = (before.encode("latin-1"), after.encode("latin-1"))

    def set_cookie(self, token: str) -> bytes:
        """The encoded Set-Cookie value of `csrf_cookie(config, token)`, as Litestar's Cookie writes it."""
        if not token.isalnum() or not token.isascii():  # a value the cookie would quote
            return csrf_cookie(self.config, token).to_header(header="").encode("latin-1")
        before, after = self._cookie_around
        return before + token.encode("latin-1") + after

    def skips(self, scope: Scope) -> bool:
        """Whether the route or path is excluded (`exclude_from_csrf` opt, CSRFConfig.exclude)."""
        return should_bypass_middleware(
            scope=scope,
            scopes={ScopeType.HTTP},
            exclude_opt_key=self.config.exclude_from_csrf_key,
            exclude_path_pattern=self.exclude,
        )

    async def __call__(
        self, scope: Scope, receive: Receive, header: str | None, expected: str | None
    ) -> bytes | None:
        """Check the request (PermissionDeniedException when it fails); the Set-Cookie value to send, if any.

        `header` is the submitted header token (read in the caller's one pass over the headers).
        """
        config = self.config
        state = ScopeState.from_scope(scope)
        cookie = expected
        if expected is None:
            cookie = request_cookies(scope).get(config.cookie_name)
        if scope.get("method", "GET") in config.safe_methods:
            state.csrf_token = token = cookie or generate_csrf_token(secret=config.secret)
            return self.set_cookie(token) if cookie is None else None
        submitted = header or await _form_token(scope, receive)
        if submitted is not None and cookie is not None:
            if expected is not None:
                accepted = hmac.compare_digest(submitted.encode(), expected.encode())
            else:
                accepted = tokens_match(submitted, cookie, config.secret)
            if accepted:
                state.csrf_token = expected or submitted
                return None
        raise PermissionDeniedException("CSRF token verification failed")


async def _form_token(scope: Scope, receive: Receive) -> str | None:
    request: Request[Any, Any, Any] = Request(scope=scope, receive=receive)
    if request.content_type[0] not in _FORM_TYPES:
        return None
    value = (await request.form()).get("_csrf_token")
    return value if isinstance(value, str) else None
