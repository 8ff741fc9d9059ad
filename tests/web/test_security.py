"""The HTTP edge on throwaway apps: safe redirects, origins, forwarded headers, security headers, hosts."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar, Request, get, post
from litestar.testing import TestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from settings import Settings
from tests.conftest import TEST_SECRET
from web import security
from web.errors import exception_handlers
from web.security import EdgePolicy, cross_origin_reason, origin_of, safe_next

BASE = "https://app.example"


@pytest.mark.parametrize(
    "url",
    [
        "//evil.com",
        "//evil.com/path",
        "https://evil.com",
        "http://app.example/x",
        "/\\evil.com",
        "\\\\evil.com",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,hi",
        "evil.com",
        "account",
        "/acc\r\nSet-Cookie: x=1",
        "/tab\tbed",
        "",
        None,
        "/" + "a" * 2001,
    ],
)
def test_safe_next_refuses_anything_leaving_the_site(url: str | None) -> None:
    assert safe_next(url) == "/"
    assert safe_next(url, default="/home") == "/home"


@pytest.mark.parametrize("url", ["/", "/account", "/things/abc?tab=1#top", "/a/b/../c", "/ünïcode"])
def test_safe_next_keeps_same_origin_paths(url: str) -> None:
    assert safe_next(url) == url


def test_origin_of_normalizes_case_and_default_ports() -> None:
    assert origin_of("HTTPS://App.Example:443/path?q") == "https://app.example"
    assert origin_of("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert origin_of("http://[::1]:80") == "http://[::1]"
    assert origin_of("ftp://x") is None
    assert origin_of("not a url") is None
    assert origin_of("http://x:99999") is None


def _policy(production: bool = True, **overrides: Any) -> EdgePolicy:
    settings = Settings(
        app_env="production" if production else "development",
        base_url=BASE,
        auth_secret=TEST_SECRET,
        **overrides,
    )
    return EdgePolicy.from_settings(settings)


def _scope(headers: dict[str, str], host: str = "app.example", scheme: str = "https") -> Scope:
    raw = [(b"host", host.encode())] + [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "method": "POST", "scheme": scheme, "headers": raw, "path": "/"}  # type: ignore[return-value]


def test_cross_origin_reason_trusts_base_url_and_trusted_origins_only() -> None:
    policy = _policy(trusted_origins=("https://partner.example",))
    assert cross_origin_reason(_scope({"origin": BASE}), policy) is None
    assert cross_origin_reason(_scope({"origin": "https://partner.example"}), policy) is None
    assert cross_origin_reason(_scope({"origin": "https://evil.example"}), policy) is not None
    # Another port or scheme is another origin.
    assert cross_origin_reason(_scope({"origin": "http://app.example"}), policy) is not None
    assert cross_origin_reason(_scope({"origin": "https://app.example:8443"}), policy) is not None


def test_cross_origin_reason_falls_back_to_referer_and_refuses_null() -> None:
    policy = _policy()
    assert cross_origin_reason(_scope({"referer": f"{BASE}/account"}), policy) is None
    assert cross_origin_reason(_scope({"referer": "https://evil.example/x"}), policy) is not None
    assert cross_origin_reason(_scope({"origin": "null"}), policy) is not None
    # Origin wins over Referer when both are present.
    both = {"origin": "https://evil.example", "referer": f"{BASE}/"}
    assert cross_origin_reason(_scope(both), policy) is not None


def test_cross_origin_reason_refuses_sec_fetch_site_cross_site_even_from_a_trusted_origin() -> None:
    policy = _policy()
    assert cross_origin_reason(_scope({"sec-fetch-site": "cross-site", "origin": BASE}), policy) is not None
    assert cross_origin_reason(_scope({"sec-fetch-site": "same-origin", "origin": BASE}), policy) is None
    assert cross_origin_reason(_scope({"sec-fetch-site": "none"}), policy) is None


def test_cross_origin_reason_lets_requests_without_browser_headers_through() -> None:
    # curl and server-to-server calls: the CSRF token check still applies to them.
    assert cross_origin_reason(_scope({}), _policy()) is None


def test_own_origin_is_trusted_in_development_only() -> None:
    headers = {"origin": "http://127.0.0.1:5173"}
    scope = _scope(headers, host="127.0.0.1:5173", scheme="http")
    assert cross_origin_reason(scope, _policy(production=False)) is None
    assert cross_origin_reason(scope, _policy(production=True)) is not None


# --- forwarded headers, on a throwaway app behind a pretend peer address ------------------------


def _peer(address: str) -> Any:
    """Middleware standing in for the network: the connection comes from `address`."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def call(scope: Scope, receive: Receive, send: Send) -> None:
            scope["client"] = (address, 40000)  # type: ignore[typeddict-unknown-key]
            await app(scope, receive, send)

        return call

    return wrap


@get("/whoami", sync_to_thread=False)
def whoami(request: Request[Any, Any, Any]) -> dict[str, str]:
    client = request.client.host if request.client else ""
    return {"client": client, "scheme": request.url.scheme, "host": request.url.netloc}


@post("/submit", sync_to_thread=False, status_code=200)
def submit() -> str:
    return "done"


def edge_app(peer: str, production: bool = True, base_url: str = BASE, **overrides: Any) -> Litestar:
    settings = Settings(
        app_env="production" if production else "development",
        base_url=base_url,
        auth_secret=TEST_SECRET,
        **overrides,
    )
    app = Litestar(
        route_handlers=[whoami, submit],
        middleware=[_peer(peer), security.middleware(settings)],
        before_send=[security.before_send],
        allowed_hosts=security.allowed_hosts(settings),
        exception_handlers=exception_handlers(),
    )
    app.state.settings = settings
    return app


JSON = {"Accept": "application/json"}
FORWARDED = {"X-Forwarded-For": "203.0.113.7, 10.0.0.9", "X-Forwarded-Proto": "https"}


def test_forwarded_headers_are_believed_from_a_trusted_proxy() -> None:
    app = edge_app("10.0.0.2", trusted_proxies=("10.0.0.0/8",))
    with TestClient(app, base_url="http://app.example") as client:
        seen = client.get("/whoami", headers=FORWARDED).json()
    # 10.0.0.9 is another of our proxies; the first untrusted hop from the right is the client.
    assert seen == {"client": "203.0.113.7", "scheme": "https", "host": "app.example"}


def test_forwarded_headers_are_ignored_from_anyone_else() -> None:
    app = edge_app("198.51.100.1", trusted_proxies=("10.0.0.0/8",))
    with TestClient(app, base_url="http://app.example") as client:
        seen = client.get("/whoami", headers={**FORWARDED, "X-Forwarded-Host": "evil.example"}).json()
    assert seen == {"client": "198.51.100.1", "scheme": "http", "host": "app.example"}


def test_forwarded_for_cannot_be_spoofed_through_a_trusted_proxy() -> None:
    # The client sent its own X-Forwarded-For; our proxy appended the real peer address.
    app = edge_app("10.0.0.2", trusted_proxies=("10.0.0.2",))
    spoofed = {"X-Forwarded-For": "1.2.3.4, 198.51.100.23"}
    with TestClient(app, base_url="http://app.example") as client:
        assert client.get("/whoami", headers=spoofed).json()["client"] == "198.51.100.23"


def test_forwarded_host_is_checked_against_trusted_hosts() -> None:
    app = edge_app("10.0.0.2", trusted_proxies=("10.0.0.2",), trusted_hosts=("www.app.example",))
    with TestClient(app, base_url="http://internal.local:8000") as client:
        ok = client.get("/whoami", headers={"X-Forwarded-Host": "www.app.example"})
        bad = client.get("/whoami", headers={"X-Forwarded-Host": "evil.example"})
    assert ok.status_code == 200 and ok.json()["host"] == "www.app.example"
    assert bad.status_code == 400


def test_production_refuses_unknown_host_headers() -> None:
    app = edge_app("127.0.0.1")
    with TestClient(app, base_url=BASE) as client:
        assert client.get("/whoami").status_code == 200
        assert client.get("/whoami", headers={"Host": "evil.example"}).status_code == 400


def test_probes_answer_whatever_the_host_header() -> None:
    from web.health import healthz

    settings = Settings(app_env="production", base_url=BASE, auth_secret=TEST_SECRET)
    app = Litestar(route_handlers=[healthz, whoami], allowed_hosts=security.allowed_hosts(settings))
    with TestClient(app, base_url="http://10.1.2.3.local:8000") as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/whoami").status_code == 400


def test_host_check_knows_base_url_port_and_treats_dots_literally() -> None:
    app = edge_app("127.0.0.1", base_url="https://app.example:8443", trusted_hosts=("*.tenant.example",))
    with TestClient(app, base_url="https://app.example:8443") as client:
        assert client.get("/whoami").status_code == 200
        assert client.get("/whoami", headers={"Host": "a.tenant.example"}).status_code == 200
        assert client.get("/whoami", headers={"Host": "appxexample:8443"}).status_code == 400
        assert client.get("/whoami", headers={"Host": "app.example:9999"}).status_code == 400


def test_host_check_ignores_case() -> None:
    app = edge_app("127.0.0.1", base_url="https://App.Example:8443", trusted_hosts=("www.app.example",))
    with TestClient(app, base_url="https://app.example:8443") as client:
        for host in ("APP.example:8443", "app.EXAMPLE", "WWW.App.Example"):
            assert client.get("/whoami", headers={"Host": host}).status_code == 200, host
        assert client.get("/whoami", headers={"Host": "APP.example:9999"}).status_code == 400


def test_development_accepts_any_host() -> None:
    app = edge_app("127.0.0.1", production=False)
    with TestClient(app, base_url="http://dev.local:8123") as client:
        assert client.get("/whoami").status_code == 200


def test_origin_check_behind_a_proxy_uses_the_forwarded_origin() -> None:
    # TLS ends at the proxy; the app sees http://internal but the browser's origin is BASE.
    app = edge_app("10.0.0.2", trusted_proxies=("10.0.0.2",), trusted_hosts=("internal.local",))
    headers = {"X-Forwarded-Proto": "https", "Origin": BASE, "Sec-Fetch-Site": "same-origin"}
    with TestClient(app, base_url="http://internal.local") as client:
        assert client.post("/submit", headers=headers).status_code == 200
        evil = client.post("/submit", headers={**headers, "Origin": "https://evil.example", **JSON})
    assert evil.status_code == 403


# --- security headers ----------------------------------------------------------------------------


def test_production_responses_carry_security_headers() -> None:
    app = edge_app("127.0.0.1")
    with TestClient(app, base_url=BASE) as client:
        for response in (client.get("/whoami"), client.get("/nowhere", headers=JSON)):
            headers = response.headers
            assert headers["strict-transport-security"].startswith("max-age=")
            csp = headers["content-security-policy"]
            assert "script-src 'self';" in csp and "style-src 'self';" in csp
            assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
            assert headers["x-frame-options"] == "DENY"


def test_admin_may_frame_itself() -> None:
    headers = security.security_headers("/admin/", production=True)
    assert "frame-ancestors 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "SAMEORIGIN"


def test_development_reports_csp_without_enforcing_or_hsts() -> None:
    app = edge_app("127.0.0.1", production=False)
    with TestClient(app, base_url="http://dev.local") as client:
        headers = client.get("/whoami").headers
    assert "content-security-policy" not in headers
    assert "script-src 'self'" in headers["content-security-policy-report-only"]
    assert "strict-transport-security" not in headers
    assert headers["x-content-type-options"] == "nosniff"


def test_base_template_has_no_inline_script_or_style() -> None:
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "web" / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text()
        assert "<style" not in text, path
        for line in text.splitlines():
            if "<script" in line:
                assert 'src="' in line, f"inline script in {path}: {line.strip()}"
    base = (templates / "base.html").read_text()
    assert '"includeIndicatorStyles": false' in base
