"""Helpers for the two-factor tests: enrol from the account page with codes from pyotp, walk every route."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pyotp
from httpx import Response
from litestar.routes import HTTPRoute

from domain.auth.clock import utc_now
from tests.web.auth_support import (
    Client,
    auth_of,
    fast_hashing,
    post_form,
    session_cookie,
    sign_in,
    signed_in_user,
)
from web.remote import REGISTRY
from web.remote.openapi import RemoteRouteHandler

EMAIL = "ada@example.com"
JSON = {"Accept": "application/json"}
MANUAL_KEY = re.compile(r"data-manual-key>([A-Z2-7 ]+)<")
BACKUP_CODES = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")
PATH_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


class AheadClock:
    """Real time moved on by hand: each sign-in's code falls in a later 30-second step than the last."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utc_now() + self.offset

    def next_step(self) -> None:
        self.offset += timedelta(seconds=30)


class Enrolled:
    def __init__(self, client: Client, app: pyotp.TOTP, backup_codes: list[str], clock: AheadClock) -> None:
        self.client = client
        self.app = app
        self.backup_codes = backup_codes
        self.clock = clock

    def code(self) -> str:
        """A code of a step no sign-in has used yet."""
        self.clock.next_step()
        return self.app.at(self.clock())


def set_cookies(response: Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def enrolled_and_signed_out(client: Client) -> Enrolled:
    """Sign up, turn two-factor on from the account page (plain form posts), sign out."""
    fast_hashing(client)
    clock = AheadClock()
    auth_of(client).clock = clock
    signed_in_user(client, EMAIL)
    page = client.get("/account")
    assert page.status_code == 200 and 'data-two-factor="off"' in page.text
    enrol = post_form(client, "/account/two-factor/enrol", {}, follow_redirects=False)
    assert enrol.status_code == 200, enrol.text
    # The QR code is the server's inline SVG, not escaped text; the key is shown for typing by hand.
    assert "<svg" in enrol.text and "&lt;svg" not in enrol.text
    match = MANUAL_KEY.search(enrol.text)
    assert match, enrol.text
    app = pyotp.TOTP(match.group(1).replace(" ", ""))
    confirm = post_form(
        client, "/account/two-factor/confirm", {"code": app.at(clock())}, follow_redirects=False
    )
    assert confirm.status_code == 200, confirm.text
    codes = BACKUP_CODES.findall(confirm.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    page = client.get("/account")
    assert 'data-two-factor="on"' in page.text and "10 backup codes left" in page.text
    assert not BACKUP_CODES.findall(page.text)  # shown once, only in the confirmation's answer
    assert post_form(client, "/auth/sign-out", {}).status_code == 200
    assert not session_cookie(client)
    return Enrolled(client, app, codes, clock)


def password_step(client: Client, **headers: str) -> Response:
    """The password form posted without following redirects; asserts it set no session cookie."""
    response = sign_in(client, EMAIL, headers=headers, follow_redirects=False)
    assert not any(c.startswith(("session=", "__Host-session=")) for c in set_cookies(response))
    assert not session_cookie(client)
    return response


def example_path(route: HTTPRoute) -> str:
    """The route's path with a well-formed value (1) for each path parameter."""
    return PATH_PARAM.sub("1", route.path)


def signed_in_only(app_routes: list[object]) -> list[tuple[str, str]]:
    """(method, path) of every route only a signed-in user may use: guarded pages, non-public functions."""
    declared = {rf.name: rf for rf in REGISTRY}
    found: list[tuple[str, str]] = []
    for route in app_routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if isinstance(handler, RemoteRouteHandler):
                rf = declared[str(handler.name)]
                if rf.public:
                    continue
            elif not handler.resolve_guards():
                continue
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                found.append((str(method), example_path(route)))
    return found


def nothing_signed_in_answers(client: Client) -> None:
    """Every signed-in page and function (walked from the app's routes) answers "not signed in"."""
    routes = signed_in_only(list(client.app.routes))
    assert ("GET", "/account") in routes and ("POST", "/account/two-factor/disable") in routes
    assert ("POST", "/account/password") in routes and ("GET", "/admin-tools/actors") in routes
    csrf = {**JSON, "x-csrftoken": client.cookies["csrftoken"]}
    answered = {}
    for method, path in routes:
        response = client.request(method, path, headers=csrf, json={} if method != "GET" else None)
        answered[(method, path)] = (response.status_code, response.text[:200])
    # The admin panel is a mounted app, not a route of the table: asked for by hand.
    admin = client.get("/admin/", headers=csrf)
    answered[("GET", "/admin/")] = (admin.status_code, admin.text[:200])
    refused = {key: a for key, a in answered.items() if a[0] == 401 and '"sign_in"' in a[1]}
    assert refused == answered
    # A browser's plain navigation to a signed-in page is sent to sign in, too.
    page = client.get("/account", follow_redirects=False)
    assert page.status_code in {302, 303} and page.headers["location"].startswith("/auth/sign-in")
    assert not session_cookie(client)
