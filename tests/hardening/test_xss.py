"""XSS fuzz: payloads in every user-controlled field, through the real HTTP flows, never render as markup."""

from __future__ import annotations

import itertools
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from litestar import Litestar
from litestar.testing import TestClient
from markupsafe import escape

from domain.auth.core import AuthLimits, Limit
from tests.conftest import TEST_BASE_URL
from tests.hardening.xss import PAYLOADS, payloads, problems_in
from tests.web.auth_support import PASSWORD, auth_of, csrf_token, fast_hashing, last_link

Client = TestClient[Litestar]
FUZZ = settings(
    phases=[Phase.explicit, Phase.generate],
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# A same-origin browser: the page's own forms and htmx calls send these.
SAME_ORIGIN = {"origin": TEST_BASE_URL, "sec-fetch-site": "same-origin"}
CALLERS = {
    "browser": {"accept": "text/html"},
    "htmx": {"hx-request": "true", "accept": "text/html"},
}
# Pages and partials that show what a signed-in user stored (name, avatar, email).
SIGNED_IN_VIEWS = ("/", "/account", "/_remote/get_user_profile", "/dev/mail")
RFC5322_SPECIALS = set('<>()[],;:"\\@ ')
_serial = itertools.count()


def unique_email(local: str = "user") -> str:
    return f"{local}{next(_serial)}@example.com"


@pytest.fixture
def fuzz_client(client: Client) -> Client:
    """The app with cheap (still argon2id) hashing and limits out of the way of many sign-ups."""
    fast_hashing(client)
    plenty = Limit(1_000_000, 60)
    auth_of(client).limits = AuthLimits(
        sign_in=plenty, reset=plenty, sign_up=plenty, password_check=plenty, magic_link=plenty
    )
    return client


def assert_inert(response: httpx.Response, sent: str) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if "html" not in response.headers.get("content-type", ""):
        return
    problems = problems_in(response.text, sent)
    where = f"{response.request.method} {response.request.url} -> {response.status_code}"
    assert not problems, f"{where}: {problems}"


def post(client: Client, path: str, data: dict[str, str], caller: str = "browser") -> httpx.Response:
    """A form post the way the page sends it: the CSRF field and header, same-origin headers."""
    token = csrf_token(client)
    headers = {**SAME_ORIGIN, **CALLERS[caller], "x-csrftoken": token}
    return client.post(path, data={**data, "_csrf_token": token}, headers=headers, follow_redirects=True)


def views(client: Client, paths: tuple[str, ...], sent: str) -> None:
    for path in paths:
        for headers in CALLERS.values():
            assert_inert(client.get(path, headers=headers, follow_redirects=True), sent)


def sign_up_verified(client: Client, *, name: str, email: str, sent: str) -> None:
    for caller in CALLERS:
        # The first post creates the account; the second answers "taken" the same way.
        answer = post(client, "/auth/sign-up", {"name": name, "email": email, "password": PASSWORD}, caller)
        assert answer.status_code == 200, answer.text[:500]
        assert_inert(answer, sent)
    assert_inert(client.get(last_link(client, email.strip().lower())), sent)


def sign_in(client: Client, email: str, sent: str) -> None:
    client.cookies.clear()
    answer = post(client, "/auth/sign-in", {"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text[:500]
    # The redirect lands on a page with the "Welcome back, <name>" flash.
    assert_inert(answer, sent)
    assert client.cookies.get("session")


@FUZZ
@given(name=payloads())
def test_xss_sign_up_name_in_pages_partials_flashes_and_mail(fuzz_client: Client, name: str) -> None:
    email = unique_email()
    sign_up_verified(fuzz_client, name=name, email=email, sent=name)
    sign_in(fuzz_client, email, name)
    views(fuzz_client, SIGNED_IN_VIEWS, name)
    # Re-rendered with errors: the name echoed back into the form.
    for caller in CALLERS:
        answer = post(fuzz_client, "/auth/sign-up", {"name": name, "email": "bad", "password": "x"}, caller)
        assert_inert(answer, name)


@FUZZ
@given(name=payloads(), avatar=payloads(max_size=200, spaces=False))
def test_xss_profile_name_and_avatar_everywhere(fuzz_client: Client, name: str, avatar: str) -> None:
    if not fuzz_client.cookies.get("session"):
        # One user for all examples: each one overwrites the profile.
        email = unique_email()
        sign_up_verified(fuzz_client, name="Ada", email=email, sent=name)
        sign_in(fuzz_client, email, name)
    stored_avatar = "https://example.com/" + avatar
    for caller in CALLERS:
        # Valid values are stored and shown; an invalid avatar is echoed back with a field error.
        for sent_avatar in (stored_avatar, avatar):
            data = {"name": name, "avatar": sent_avatar}
            assert_inert(post(fuzz_client, "/account/profile", data, caller), name + sent_avatar)
            assert_inert(post(fuzz_client, "/account/profile", data, caller), sent_avatar)
            assert_inert(post(fuzz_client, "/_remote/update_user_profile", data, caller), sent_avatar)
            assert_inert(post(fuzz_client, "/_remote/update_user_profile", data, caller), name)
    post(fuzz_client, "/account/profile", {"name": name, "avatar": stored_avatar})
    for sent in (name, stored_avatar):
        views(fuzz_client, SIGNED_IN_VIEWS, sent)


@settings(FUZZ, max_examples=10)
@given(local=payloads(max_size=60, spaces=False))
def test_xss_email_in_auth_pages_and_account(fuzz_client: Client, local: str) -> None:
    fuzz_client.cookies.clear()
    email = f"{local}{next(_serial)}@example.com"
    for caller in CALLERS:
        for path, data in (
            ("/auth/sign-in", {"email": email, "password": "wrong password"}),
            ("/auth/sign-in", {"email": local, "password": ""}),
            ("/auth/forgot-password", {"email": local}),
            ("/auth/magic-link/send", {"email": local, "next": "/" + local}),
            ("/auth/magic-link/send", {"email": email, "next": "/" + local}),
            ("/auth/resend-verification", {"email": local}),
            ("/auth/sign-up", {"name": "Ada", "email": local, "password": PASSWORD}),
        ):
            assert_inert(post(fuzz_client, path, data, caller), data["email"])
    views(fuzz_client, (f"/auth/resend-verification?{urlencode({'email': local})}",), local)
    views(fuzz_client, (f"/auth/sign-in?{urlencode({'next': '/' + local})}",), local)
    # The email rule is loose (quotes, =, /, & pass; RFC 5322 specials such as <> do not), so
    # what passes is stored and shown back on every page.
    stored = "".join(c for c in local if c not in RFC5322_SPECIALS) + f"{next(_serial)}@example.com"
    sign_up_verified(fuzz_client, name="Ada", email=stored, sent=stored)
    sign_in(fuzz_client, stored, stored)
    views(fuzz_client, SIGNED_IN_VIEWS, stored)
    for caller in CALLERS:
        data = {"new_email": stored.replace("@", "x@"), "current_password": PASSWORD}
        assert_inert(post(fuzz_client, "/account/email", data, caller), data["new_email"])
        data = {"new_email": local, "current_password": "wrong"}
        assert_inert(post(fuzz_client, "/account/email", data, caller), local)


def test_email_with_rfc5322_specials_is_refused_at_sign_up(fuzz_client: Client) -> None:
    """In a To header `<script>x@example.com` is mail for "script": such an address must not be stored."""
    for email in ("<script>x@example.com", "a,b@example.com", 'x"y@example.com', "a@example.com>"):
        answer = post(fuzz_client, "/auth/sign-up", {"name": "Ada", "email": email, "password": PASSWORD})
        assert answer.status_code == 422, (email, answer.status_code)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_checker_flags_each_payload_raw_and_passes_it_escaped(payload: str) -> None:
    for place in ("<p>{}</p>", '<input value="{}">', "<input value='{}'>", '<div hx-get="/things/{}">'):
        assert not problems_in(place.format(escape(payload)), payload), place
        if "{{" in payload:
            assert problems_in(place.format(payload.replace("{{7*7}}", "49")), payload), place
        else:
            assert problems_in(place.format(payload), payload), place


@FUZZ
@given(slug=payloads(max_size=64))
def test_xss_path_parameter_in_pages_partials_and_errors(fuzz_client: Client, slug: str) -> None:
    """A path parameter (an organization's slug) echoed by its page, its partial, commands and errors."""
    if not fuzz_client.cookies.get("session"):
        email = unique_email()
        sign_up_verified(fuzz_client, name="Ada", email=email, sent=slug)
        sign_in(fuzz_client, email, slug)
    for path in (f"/orgs/{quote(slug, safe='')}", f"/orgs/{quote(slug, safe='/')}"):
        views(fuzz_client, (path,), slug)
        for caller in CALLERS:
            assert_inert(post(fuzz_client, f"{path}/switch", {}, caller), slug)
    # Unknown pages: the error page must not reflect the path as markup.
    views(fuzz_client, (f"/{quote(slug, safe='/')}",), slug)
