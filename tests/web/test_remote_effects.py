"""What a remote function asks of its answer (cookies, redirect, flash, notice), for each kind of caller."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from litestar import Litestar
from litestar.datastructures import Cookie
from litestar.testing import TestClient

from domain.errors import RateLimited
from tests.web.remote_support import BASE_URL, Note, csrf, make_app
from web.remote import Context, Registry, form, params

HTMX = {"HX-Request": "true"}
JSON = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}

Client = TestClient[Litestar]


class Login(msgspec.Struct):
    title: str = ""
    password: str = ""


def effects_registry() -> Registry:
    registry = Registry()

    @form(
        registry=registry, public=True, partial="partials/note.html", page="pages/note.html", result_as="note"
    )
    async def log_in(ctx: Context, data: Login) -> Note:
        if data.password == "slow":
            raise RateLimited("Slow down", retry_after=7)
        if data.password != "right":
            ctx.show(note=Note(title=f"refused {data.title}"))
            raise RateLimited("Wrong password", retry_after=1)
        ctx.set_cookie(Cookie(key="who", value=data.title, path="/", httponly=True))
        ctx.delete_cookie("old")
        ctx.redirect_to("/home", flash=f"Welcome {data.title}")
        return Note(title=data.title)

    @form(
        registry=registry,
        public=True,
        partial="partials/note.html",
        page="pages/note.html",
        result_as="note",
        redirect="/notes",
    )
    async def save(ctx: Context, data: Login) -> Note:
        ctx.notice(f"Saved {data.title}")
        if data.password == "back":
            ctx.back_to("/notes/mine")
        return Note(title=data.title)

    return registry


@pytest.fixture
def client(tmp_path: Path, redis_url: str) -> Iterator[Client]:
    app = make_app(effects_registry(), tmp_path, redis_url)
    with TestClient(app=app, base_url=BASE_URL) as test_client:
        yield test_client


def post(client: Client, name: str, data: dict[str, str], headers: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf(client)
    return client.post(
        f"/_remote/{name}", data={**data, "_csrf_token": token}, headers=headers, follow_redirects=False
    )


def set_cookies(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def test_effects_browser_gets_a_303_with_cookies_and_flash(client: Client) -> None:
    response = post(client, "log_in", {"title": "ada", "password": "right"}, BROWSER)
    assert response.status_code == 303 and response.headers["location"] == "/home"
    cookies = set_cookies(response)
    assert cookies["who"].startswith("who=ada") and "HttpOnly" in cookies["who"]
    assert "Max-Age=0" in cookies["old"]
    assert "flash" in cookies


def test_effects_htmx_gets_a_client_redirect_with_cookies(client: Client) -> None:
    response = post(client, "log_in", {"title": "ada", "password": "right"}, HTMX)
    assert response.status_code == 200 and response.headers["hx-redirect"] == "/home"
    assert "location" not in response.headers
    assert set_cookies(response)["who"].startswith("who=ada")


def test_effects_json_gets_the_result_and_the_cookies(client: Client) -> None:
    response = post(client, "log_in", {"title": "ada", "password": "right"}, JSON)
    assert response.status_code == 200 and response.json()["title"] == "ada"
    assert "hx-redirect" not in response.headers and "location" not in response.headers
    assert set_cookies(response)["who"].startswith("who=ada")


def test_refusal_renders_inside_the_form_with_its_status_and_retry_after(client: Client) -> None:
    partial = post(client, "log_in", {"title": "ada", "password": "wrong"}, HTMX)
    assert partial.status_code == 429 and partial.headers["retry-after"] == "1"
    assert partial.text.startswith('<div id="note">') and "refused ada" in partial.text
    page = post(client, "log_in", {"title": "ada", "password": "slow"}, BROWSER)
    assert (
        page.status_code == 429 and page.headers["retry-after"] == "7" and "<h1>Note page</h1>" in page.text
    )
    as_json = post(client, "log_in", {"title": "ada", "password": "slow"}, JSON)
    assert as_json.status_code == 429 and as_json.json()["error"] == "Slow down"
    assert "who" not in set_cookies(as_json)


def test_notice_is_shown_in_the_partial_and_flashed_after_a_plain_post(client: Client) -> None:
    partial = post(client, "save", {"title": "n1"}, HTMX)
    assert partial.status_code == 200 and "n1" in partial.text and "flash" not in set_cookies(partial)
    page = post(client, "save", {"title": "n2"}, BROWSER)
    assert page.status_code == 303 and page.headers["location"] == "/notes"
    assert "flash" in set_cookies(page)
    shown = client.get("/page/flashes")
    assert "Saved n2" in shown.text


def test_back_to_sends_a_plain_post_there_whatever_its_next_and_htmx_gets_the_partial(
    client: Client,
) -> None:
    fields = {"title": "n3", "password": "back", "next": "/elsewhere"}
    page = post(client, "save", fields, BROWSER)
    assert page.status_code == 303 and page.headers["location"] == "/notes/mine"
    assert "flash" in set_cookies(page)
    partial = post(client, "save", fields, HTMX)
    assert partial.status_code == 200 and "n3" in partial.text and "hx-redirect" not in partial.headers


def test_rerendered_form_never_echoes_passwords_or_tokens() -> None:
    sent = {"title": ["t"], "password": ["p"], "new_password": ["n"], "token": ["k"], "_csrf_token": ["c"]}
    assert params.echo(sent) == {"title": "t"}
