"""The counter demo's pages: the home page's live counter, /counter/{id}, its stream, its sign-in prompt."""

from __future__ import annotations

import re

from tests.web.auth_support import HTMX, csrf_token, fast_hashing, signed_in_user
from tests.web.test_pages import BROWSER, Client


def test_home_shows_the_live_counter_demo(client: Client) -> None:
    response = client.get("/", headers=BROWSER)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["vary"]
    html = response.text
    assert 'hx-ext="sse" sse-connect="/counter/default/events?since=0"' in html
    assert '<div sse-swap="counter" hx-swap="none" hidden></div>' in html
    assert '<div id="counter_value" data-version="0">' in html
    assert 'href="/counter/default"' in html


def test_signed_out_visitor_sees_a_sign_in_prompt_instead_of_the_button(client: Client) -> None:
    html = client.get("/counter/demo", headers=BROWSER).text
    assert "data-sign-in-prompt" in html and 'href="/auth/sign-in?next=/counter/demo"' in html
    assert 'hx-post="/counter/demo"' not in html
    partial = client.get("/counter/demo", headers=HTMX).text
    assert partial.lstrip().startswith('<section id="counter"') and "data-sign-in-prompt" in partial


def test_signed_in_user_sees_the_button_and_their_name_with_sign_out(client: Client) -> None:
    fast_hashing(client)
    signed_in_user(client, "grace@example.com", name="Grace")
    html = client.get("/", headers=BROWSER).text
    assert 'hx-post="/counter/default"' in html and "data-sign-in-prompt" not in html
    assert ">Grace</span>" in html and 'href="/account"' in html
    assert re.search(r'<form method="post" action="/auth/sign-out"[^>]*>', html)
    assert "Create an account" not in html


def test_counter_page_streams_its_own_counter_from_its_version(client: Client) -> None:
    fast_hashing(client)
    signed_in_user(client, "linus@example.com")
    token = csrf_token(client)
    for _ in range(2):
        client.post("/counter/page-demo", headers={**HTMX, "x-csrftoken": token})
    html = client.get("/counter/page-demo", headers=BROWSER).text
    assert "<html" in html and "<title>Counter page-demo" in html
    assert 'sse-connect="/counter/page-demo/events?since=2"' in html
    assert "data-count>2</p>" in html


def test_increment_without_javascript_when_signed_out_shows_the_reason_on_sign_in(client: Client) -> None:
    token = csrf_token(client)
    response = client.post("/counter/default", data={"_csrf_token": token, "next": "/"})
    assert response.status_code == 200 and response.url.path == "/auth/sign-in"
    assert "Please sign in to increment the counter" in response.text


def test_counter_page_and_partial_are_html_for_a_real_browser_accept_header(client: Client) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
    page = client.get("/counter/demo", headers={"Accept": accept})
    assert page.headers["content-type"].startswith("text/html") and "<html" in page.text
    partial = client.get("/counter/demo", headers={**HTMX, "Accept": "*/*"})
    assert partial.headers["content-type"].startswith("text/html")


def test_invalid_counter_id_page_has_no_stream(client: Client) -> None:
    response = client.get("/counter/" + "x" * 65, headers=BROWSER)
    assert response.status_code == 422
    assert "sse-connect" not in response.text


def test_events_refuse_an_invalid_counter_id(client: Client) -> None:
    assert client.get("/counter/bad%20id/events").status_code == 422
