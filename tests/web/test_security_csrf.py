"""CSRF by origin on the real app: {cross-site, same-origin, missing headers} x {with, without cookie}."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import TEST_BASE_URL
from tests.web.auth_support import (
    PASSWORD,
    Client,
    csrf_token,
    fast_hashing,
    session_cookie,
    signed_in_user,
    verified_user,
)

JSON = {"Accept": "application/json"}
SITES = {
    "cross-site": {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    "same-origin": {"Origin": TEST_BASE_URL, "Sec-Fetch-Site": "same-origin"},
    "missing": {},
}


@pytest.fixture(autouse=True)
def _fast(client: Client) -> None:
    fast_hashing(client)


# A signed-in command with a visible effect: the profile's name.
PROFILE = "/_remote/update_user_profile"


def _name(client: Client) -> str:
    name: str = client.get("/_remote/get_user_profile", headers=JSON).json()["name"]
    return name


@pytest.mark.parametrize(
    ("site", "cookie", "expected"),
    [
        ("cross-site", True, 403),
        ("same-origin", True, 200),
        ("missing", True, 200),
        ("cross-site", False, 403),
        ("same-origin", False, 403),
        ("missing", False, 403),
    ],
)
def test_csrf_matrix_for_a_command(
    client: Client, caplog: pytest.LogCaptureFixture, site: str, cookie: bool, expected: int
) -> None:
    """A signed-in browser's command; "without cookie" is the same request from a cookie-less client."""
    signed_in_user(client, "ada@example.com")
    token = csrf_token(client)
    before = _name(client)
    if not cookie:
        client.cookies.clear()
    with caplog.at_level(logging.WARNING, logger="remote_stack.security"):
        response = client.post(
            PROFILE, json={"name": "Matrix"}, headers={**JSON, **SITES[site], "x-csrftoken": token}
        )
    assert response.status_code == expected, response.text
    # Refused by the origin check itself (not only by the missing token) exactly when cross-site.
    assert ("csrf.origin_refused" in caplog.text) == (site == "cross-site")
    if cookie:
        client.get("/", headers={"Sec-Fetch-Site": "none"})
        assert _name(client) == ("Matrix" if expected == 200 else before)


@pytest.mark.parametrize(
    ("site", "signs_in"), [("cross-site", False), ("same-origin", True), ("missing", True)]
)
def test_sign_in_form_without_session_cookie(client: Client, site: str, signs_in: bool) -> None:
    """Login CSRF: a cross-site sign-in post is refused even from a browser holding no session."""
    verified_user(client, "ada@example.com")
    client.cookies.pop("session", None)
    token = csrf_token(client)
    response = client.post(
        "/auth/sign-in",
        data={"email": "ada@example.com", "password": PASSWORD, "_csrf_token": token},
        headers=SITES[site],
        follow_redirects=False,
    )
    assert (response.status_code == 403) is not signs_in
    assert bool(session_cookie(client)) is signs_in


def test_cross_site_sign_up_without_any_cookie_is_refused_by_origin(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="remote_stack.security"):
        response = client.post(
            "/auth/sign-up",
            data={"name": "Eve", "email": "eve@example.com", "password": PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
    assert response.status_code == 403
    assert "came from another site" in response.text
    assert "csrf.origin_refused" in caplog.text


def test_referer_from_another_site_is_refused_when_origin_is_missing(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    headers = {**JSON, "x-csrftoken": csrf_token(client), "Referer": "https://evil.example/page"}
    assert client.post(PROFILE, json={"name": "Eve"}, headers=headers).status_code == 403
    same = {**headers, "Referer": f"{TEST_BASE_URL}/account"}
    assert client.post(PROFILE, json={"name": "Ada"}, headers=same).status_code == 200


def test_refusal_answers_htmx_with_a_partial(client: Client) -> None:
    signed_in_user(client, "ada@example.com")
    headers = {"HX-Request": "true", "x-csrftoken": csrf_token(client), **SITES["cross-site"]}
    response = client.post(PROFILE, data={"name": "Eve"}, headers=headers)
    assert response.status_code == 403
    assert response.headers["hx-retarget"] == "#flashes"
    assert "<html" not in response.text


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "signed-in"])
@pytest.mark.parametrize("where", ["field", "header", "cookie"])
def test_csrf_token_with_a_non_ascii_character_is_refused_not_a_500(
    client: Client, where: str, signed_in: bool
) -> None:
    if signed_in:
        signed_in_user(client, "ada@example.com")
    token = csrf_token(client)
    odd = token[:10] + "é" + token[11:-1] + "é"  # in the secret part and in its HMAC
    # Raw bytes, as a client sends them (UTF-8): httpx only encodes ASCII text itself.
    headers = {k.lower().encode(): v.encode() for k, v in {**JSON, **SITES["same-origin"]}.items()}
    headers[b"x-csrftoken"] = token.encode()
    data = {"email": "ada@example.com", "password": PASSWORD}
    if where == "field":
        del headers[b"x-csrftoken"]
        data["_csrf_token"] = odd
    elif where == "header":
        headers[b"x-csrftoken"] = odd.encode()
    else:
        jar = {c.name: c.value or "" for c in client.cookies.jar if c.name != "csrftoken"}
        client.cookies.clear()
        pairs = [f"{name}={value}".encode() for name, value in jar.items()]
        headers[b"cookie"] = b"; ".join([*pairs, b"csrftoken=" + odd.encode()])
    for path in ("/auth/sign-in", PROFILE):
        response = client.post(path, data=data, headers=headers)
        assert response.status_code == 403, (path, response.text)
        assert "came from another site" in response.json()["error"]
