"""Pages served by the real app beside the feature modules' own: the live-stream status and the styles."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment
from jinja2.utils import LRUCache
from litestar import Litestar
from litestar.response import Template
from litestar.testing import TestClient

from tests.support.server import ROOT
from tests.web.auth_support import fast_hashing, post_form, signed_in_user
from web.auth.csrf import CSRFCheck, csrf_cookie

Client = TestClient[Litestar]
BROWSER = {"Accept": "text/html"}


def test_dev_live_reports_open_streams(client: Client) -> None:
    body = client.get("/dev/live").json()
    assert (body["open_streams"], body["listeners"]) == (0, 0)
    assert body["process_open_streams"] >= 0 and body["tasks"] > 0


def test_styles_are_served_compiled(client: Client) -> None:
    response = client.get("/static/app.css")
    assert response.status_code == 200
    # Utilities the templates use are in the build (make css regenerates it).
    for utility in (".text-5xl", ".bg-indigo-600", ".sr-only", ".md\\:grid-cols-5"):
        assert utility in response.text


def test_committed_styles_match_the_templates(tmp_path: Path) -> None:
    """web/static/app.css is what `make css` builds now (run it after changing classes)."""
    cli = ROOT / "node_modules" / ".bin" / "tailwindcss"
    if not cli.exists():
        pytest.skip("the Tailwind CLI is not installed (make css installs it; needs Node.js)")
    output = tmp_path / "app.css"
    subprocess.run(
        [str(cli), "-i", "web/styles/app.css", "-o", str(output), "--minify"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert output.read_text() == (ROOT / "web" / "static" / "app.css").read_text(), "run `make css`"


class CountingCache(LRUCache):
    """Jinja's template cache, counting how often a render asked it for a template."""

    lookups = 0

    def get(self, key: Any, default: Any = None) -> Any:
        self.lookups += 1
        return super().get(key, default)


@contextmanager
def counting_template_work(app: Litestar) -> Iterator[dict[str, int]]:
    """How often Litestar built a Template response and Jinja's own cache was asked for a template."""
    environment: Environment = app.template_engine.engine  # type: ignore[union-attr]
    cache = CountingCache(400)
    for key, value in environment.cache.items() if environment.cache is not None else ():
        cache[key] = value
    counts = {"template_responses": 0}
    to_asgi_response = Template.to_asgi_response

    def counted_response(self: Template, *args: Any, **kwargs: Any) -> Any:
        counts["template_responses"] += 1
        return to_asgi_response(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Template, "to_asgi_response", counted_response)
        patch.setattr(environment, "cache", cache)
        yield counts
    counts["jinja_cache_lookups"] = cache.lookups


def test_home_is_rendered_on_the_compiled_path_with_templates_looked_up_once(client: Client) -> None:
    client.get("/", headers=BROWSER)  # loads every template the page uses
    with counting_template_work(client.app) as counts:
        for _ in range(3):
            assert client.get("/", headers=BROWSER).status_code == 200
    assert counts == {"template_responses": 0, "jinja_cache_lookups": 0}


def steady(page: bytes) -> bytes:
    """The page without what differs on every render by design: a live section's "Updated" time (when
    its state was read) and a form's fresh idempotency key."""
    stripped = re.sub(rb'<time datetime="[^"]*">[^<]*</time>', b"<time></time>", page)
    return re.sub(rb'name="_idempotency_key" value="\w+"', b'name="_idempotency_key"', stripped)


def test_home_bytes_are_the_same_cold_and_warm_signed_out_and_in(client: Client) -> None:
    first = client.get("/", headers=BROWSER)
    # The new visitor's CSRF cookie, written as Litestar's Cookie writes it.
    token = client.cookies["csrftoken"]
    config = client.app.csrf_config
    assert config is not None
    expected_cookie = csrf_cookie(config, token).to_header(header="")
    assert first.headers.get_list("set-cookie") == [expected_cookie]
    assert f'hx-headers=\'{{"x-csrftoken": "{token}"}}\'' in first.text
    for _ in range(5):
        warm = client.get("/", headers=BROWSER)
        assert steady(warm.content) == steady(first.content)
        assert "set-cookie" not in warm.headers  # the cookie came back: nothing to set

    fast_hashing(client)
    signed_in_user(client, "pages@example.com", name="Pages Reader")
    signed_in = client.get("/", headers=BROWSER)
    assert ">Pages Reader</p>" in signed_in.text and "Create an account" not in signed_in.text
    for _ in range(5):
        assert steady(client.get("/", headers=BROWSER).content) == steady(signed_in.content)

    # A preference change shows on the next render: nothing user-specific is kept between renders.
    assert 'data-theme="dark"' not in signed_in.text
    post_form(
        client,
        "/_remote/update_preferences",
        {"theme": "dark", "language": "en", "timezone": "UTC"},
    )
    themed = client.get("/", headers=BROWSER).text
    assert re.search(r'<html lang="en" class="h-full" data-theme="dark">', themed)


@pytest.mark.parametrize("token", ["abc", "a;b", 'quo"te', "x" * 64])
def test_csrf_cookie_header_is_litestars_for_any_token(client: Client, token: str) -> None:
    config = client.app.csrf_config
    assert config is not None
    header = CSRFCheck(config).set_cookie(token).decode("latin-1")
    assert header == csrf_cookie(config, token).to_header(header="")
