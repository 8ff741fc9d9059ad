"""HTTP-edge protections: forwarded headers from trusted proxies, CSRF by origin, headers, safe redirects."""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.enums import ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from settings import Settings
from web.headers import first_headers, headers_changed

log = logging.getLogger("remote_stack.security")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
HSTS = "max-age=63072000; includeSubDomains"
ADMIN_PREFIX = "/admin"
# Probes, scrapers and the benchmark baseline: they change nothing, hold no session and set no cookie.
PROBE_PATHS = ("^/healthz$", "^/readyz$", "^/metrics$", "^/ping$")

# htmx loads from /static and sets no inline script or style (base.html turns its indicator styles
# off), so the app's own pages need nothing beyond 'self'. No 'unsafe-eval': htmx's allowEval is off.
APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)
# piccolo-admin (a Vue app) injects <style> elements and may frame its own pages.
ADMIN_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'self'; object-src 'none'; "
    "frame-ancestors 'self'"
)
COMMON_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

# Characters that make browsers treat a "path" as another host (`/\evil.com`) or smuggle a header.
_UNSAFE_IN_NEXT = frozenset("\\\r\n\t\x00")


def safe_next(url: str | None, default: str = "/", *, origins: Iterable[str] = ()) -> str:
    """`url` when it is a same-origin path (`/account?tab=1`), else `default`.

    Refuses anything a browser could resolve to another origin: `//evil.com`, `https://evil.com`,
    `/\\evil.com`, `javascript:...`, relative paths and control characters. An absolute URL whose
    origin is one of `origins` (this site's, e.g. a Referer) becomes its path and query.
    """
    if not url or len(url) > 2000 or not url.isprintable() or not _UNSAFE_IN_NEXT.isdisjoint(url):
        return default
    try:
        parts = urlsplit(url)
    except ValueError:
        return default
    if (parts.scheme or parts.netloc) and origins:
        if origin_of(url) not in {origin_of(o) for o in origins}:
            return default
        url = urlunsplit(("", "", parts.path, parts.query, ""))
        parts = urlsplit(url)
    if not url.startswith("/") or url.startswith("//"):
        return default
    if parts.scheme or parts.netloc:
        return default
    return url


@functools.lru_cache(maxsize=1024)
def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of `url`, lower-cased and without a default port; None if it has none.

    Remembered: every page's forms ask it of the same few origins (this site's, its Referers).
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Longer X-Forwarded-For chains than any real proxy path are a client's doing: keep the peer address.
MAX_FORWARDED_BYTES = 2048
MAX_FORWARDED_HOPS = 32


def _networks(entries: Iterable[str]) -> tuple[tuple[Network, ...], bool]:
    networks: list[Network] = []
    trust_all = False
    for entry in entries:
        if entry == "*":
            trust_all = True
            continue
        networks.append(ipaddress.ip_network(entry, strict=False))
    return tuple(networks), trust_all


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class EdgePolicy:
    """What the security middleware believes and allows, derived once from Settings."""

    production: bool
    allowed_origins: frozenset[str]
    proxies: tuple[Network, ...] = ()
    # `*`: any peer is a proxy (its own address unknown); X-Forwarded-For entries still count as
    # proxies only when they are in `proxies`.
    trust_all_proxies: bool = False
    # TRUSTED_PROXY_HOPS: exactly this many proxies in front; the client is that entry from the right.
    proxy_hops: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> EdgePolicy:
        origins = {origin_of(url) for url in (settings.base_url, *settings.trusted_origins)}
        proxies, trust_all = _networks(settings.trusted_proxies)
        return cls(
            production=settings.is_production,
            allowed_origins=frozenset(o for o in origins if o),
            proxies=proxies,
            trust_all_proxies=trust_all,
            proxy_hops=settings.trusted_proxy_hops,
        )

    def is_trusted_proxy(self, host: str | None) -> bool:
        """Whether the peer `host` is one of our proxies (so its forwarded headers are believed)."""
        if host is None:
            return False
        if self.trust_all_proxies or (self.proxy_hops and not self.proxies):
            return True
        address = _address(host) if self.proxies else None
        return address is not None and self._listed(address)

    def _listed(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in self.proxies)

    def forwarded_client(self, chain: list[str]) -> str | None:
        """The client address in a trusted peer's X-Forwarded-For `chain`, or None to keep the peer.

        The standard walk: each proxy appends the address it saw, so entries are believable only
        from the right up to the first address that is not one of our proxies; that address is the
        client and anything left of it was written by the client. With a hop count the client is
        the entry that many places from the right. An unparseable entry on the way means the chain
        cannot be trusted.
        """
        if self.proxy_hops:
            if len(chain) < self.proxy_hops:
                return None
            address = _address(chain[-self.proxy_hops])
            return str(address) if address is not None else None
        address = None
        for hop in reversed(chain):
            address = _address(hop)
            if address is None:
                return None
            if not self._listed(address):
                break
        # When every entry is one of our proxies, the leftmost is where the request came from.
        return str(address) if address is not None else None


def allowed_hosts(settings: Settings) -> AllowedHostsConfig | None:
    """Production only: the Host header must be BASE_URL's host or one of TRUSTED_HOSTS (400 otherwise).

    Litestar compares case-sensitively: these names are lower-case and EdgeSecurityMiddleware lower-cases
    the Host header before the check runs.
    """
    if not settings.is_production:
        return None
    base = urlsplit(settings.base_url)
    # Litestar compares the whole Host header, port included: BASE_URL's own `host:port` counts too
    # (a TRUSTED_HOSTS entry may name a port the same way).
    hosts = [base.hostname or "", base.netloc.lower() if base.port else "", *settings.trusted_hosts]
    return AllowedHostsConfig(
        allowed_hosts=[h for h in dict.fromkeys(hosts) if h],
        www_redirect=False,
        # Probes and scrapers address the container by IP; these paths change nothing.
        exclude=list(PROBE_PATHS),
    )


def _header_values(scope: Scope, name: bytes) -> list[str] | None:
    """Every comma-separated value of header `name`, across repeated headers, in order.

    None when they add up to more than MAX_FORWARDED_BYTES or MAX_FORWARDED_HOPS entries.
    """
    values: list[str] = []
    size = 0
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            size += len(value)
            if size > MAX_FORWARDED_BYTES:
                return None
            values.extend(v.strip() for v in value.decode("latin-1").split(","))
    values = [v for v in values if v]
    return values if len(values) <= MAX_FORWARDED_HOPS else None


def _first_header(scope: Scope, name: bytes) -> str | None:
    value = first_headers(scope).get(name)
    return value.decode("latin-1").strip() if value is not None else None


def _sane_host(value: str) -> bool:
    return 0 < len(value) <= 255 and all(c.isalnum() or c in ".-:[]" for c in value)


def apply_forwarded(scope: Scope, policy: EdgePolicy) -> None:
    """Believe X-Forwarded-For/-Proto/-Host when the peer is a trusted proxy; rewrite the scope."""
    raw = cast(dict[str, Any], scope)
    client = raw.get("client")
    if not policy.is_trusted_proxy(client[0] if client else None):
        return
    chain = _header_values(scope, b"x-forwarded-for")
    real = policy.forwarded_client(chain) if chain else None
    if real is not None:
        raw["client"] = (real, 0)
    protos = _header_values(scope, b"x-forwarded-proto")
    if protos and protos[-1].lower() in ("http", "https"):
        secure = protos[-1].lower() == "https"
        if raw["type"] == "websocket":
            raw["scheme"] = "wss" if secure else "ws"
        else:
            raw["scheme"] = "https" if secure else "http"
    hosts = _header_values(scope, b"x-forwarded-host")
    if hosts and _sane_host(hosts[-1]):
        headers = [(k, v) for k, v in raw.get("headers", ()) if k.lower() != b"host"]
        headers.append((b"host", hosts[-1].encode("latin-1")))
        raw["headers"] = headers
        headers_changed(scope)


def lower_host(scope: Scope) -> None:
    """Lower-case the Host header in place (host names are case-insensitive; Litestar's check is not)."""
    headers = scope.get("headers", ())
    for index, (key, value) in enumerate(headers):
        if key.lower() == b"host":
            if value != value.lower():
                raw = list(headers)
                raw[index] = (key, value.lower())
                cast(dict[str, Any], scope)["headers"] = raw
                headers_changed(scope)
            return


def cross_origin_reason(scope: Scope, policy: EdgePolicy) -> str | None:
    """Why this unsafe request looks cross-site (a short reason for logs), or None when it may proceed."""
    return origin_refusal(
        policy,
        site=_first_header(scope, b"sec-fetch-site"),
        origin=_first_header(scope, b"origin"),
        referer=_first_header(scope, b"referer"),
        scheme=scope.get("scheme", "http"),
        host=_first_header(scope, b"host"),
    )


def origin_refusal(
    policy: EdgePolicy,
    *,
    site: str | None,
    origin: str | None,
    referer: str | None,
    scheme: str,
    host: str | None,
) -> str | None:
    """`cross_origin_reason` from the request's headers (stripped, latin-1 decoded).

    Browsers send `Sec-Fetch-Site` and `Origin` on every cross-site form post and fetch, cookies or
    not, so this refuses login CSRF too. A request without either (curl, server-to-server) passes
    here and still needs its CSRF token.
    """
    if site is not None and site.lower() == "cross-site":
        return "sec-fetch-site=cross-site"
    source = "origin"
    if origin is None:
        origin = referer
        source = "referer"
        if origin is None:
            return None
    if origin in policy.allowed_origins:  # already in normal form: what every same-site post sends
        return None
    if origin.lower() == "null":
        return f"{source}=null"
    normalized = origin_of(origin)
    if normalized is None:
        return f"{source} unparseable"
    if normalized in policy.allowed_origins:
        return None
    # Development servers run on any port: their own origin is fine there. Production trusts only
    # BASE_URL and TRUSTED_ORIGINS, whatever Host a request claims.
    if not policy.production and host and normalized == origin_of(f"{scheme}://{host}"):
        return None
    return f"{source}={normalized} not allowed"


def refuse_cross_origin(scope: Scope, reason: str) -> PermissionDeniedException:
    """Log the refusal of an unsafe cross-site request; the 403 to raise for it."""
    client = scope.get("client")
    log.warning(
        "csrf.origin_refused method=%s path=%s client=%s reason=%s",
        scope.get("method"),
        scope.get("path"),
        client[0] if client else "-",
        reason.replace(" ", "_"),
    )
    # "CSRF" in the detail makes web/errors.py explain it as a cross-site form.
    return PermissionDeniedException(f"CSRF origin check failed: {reason}")


class EdgeSecurityMiddleware:
    """Proxies and the origin check alone, for apps without web/edge.py (tests compose it so)."""

    def __init__(self, app: ASGIApp, policy: EdgePolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            apply_forwarded(scope, self.policy)
            if self.policy.production:
                lower_host(scope)
        if scope["type"] == ScopeType.HTTP and scope.get("method", "GET") in UNSAFE_METHODS:
            reason = cross_origin_reason(scope, self.policy)
            if reason is not None:
                raise refuse_cross_origin(scope, reason)
        await self.app(scope, receive, send)


def middleware(settings: Settings) -> DefineMiddleware:
    """`EdgeSecurityMiddleware` for a throwaway app's `middleware=[...]` (app.py uses web/edge.py)."""
    return DefineMiddleware(EdgeSecurityMiddleware, policy=EdgePolicy.from_settings(settings))


def security_headers(path: str, production: bool) -> dict[str, str]:
    """The headers every response to `path` carries (CSP report-only in development)."""
    headers = dict(COMMON_HEADERS)
    is_admin = is_admin_path(path)
    csp = ADMIN_CSP if is_admin else APP_CSP
    headers["x-frame-options"] = "SAMEORIGIN" if is_admin else "DENY"
    if production:
        headers["content-security-policy"] = csp
        headers["strict-transport-security"] = HSTS
    else:
        # Development shows violations in the browser console without breaking a page mid-edit.
        headers["content-security-policy-report-only"] = csp
    return headers


def is_admin_path(path: str) -> bool:
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


@functools.cache
def encoded_headers(is_admin: bool, production: bool) -> tuple[tuple[bytes, bytes], ...]:
    """`security_headers` as raw ASGI header pairs, for the app's pages (or the admin's)."""
    path = ADMIN_PREFIX + "/" if is_admin else "/"
    return tuple((k.encode(), v.encode()) for k, v in security_headers(path, production).items())


async def before_send(message: Message, scope: Scope) -> None:
    """`before_send` hook: security headers on every HTTP response (errors and 404s too)."""
    if message["type"] == "http.response.start":
        add_security_headers(message, scope)


def _is_production(scope: Scope) -> bool:
    settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
    return isinstance(settings, Settings) and settings.is_production


def scope_security_headers(scope: Scope) -> dict[str, str]:
    """The security headers of a response to this request."""
    return security_headers(scope.get("path", "/"), _is_production(scope))


def add_security_headers(message: HTTPResponseStartEvent, scope: Scope) -> None:
    """The security headers a response start lacks, added to it (the `before_send` hook's work)."""
    production = _is_production(scope)
    is_admin = is_admin_path(scope.get("path", "/"))
    # Runs on every response: one pass over the raw headers, then append what is missing (a
    # handler or mount that set its own policy keeps it).
    raw = list(message.get("headers") or ())
    present = {name.lower() for name, _ in raw}
    raw.extend(pair for pair in encoded_headers(is_admin, production) if pair[0] not in present)
    message["headers"] = raw
