"""`/dev/mail` shows a message's HTML part in a sandboxed frame, served with a policy of its own."""

from __future__ import annotations

import re

import pytest

from tests.web.auth_support import Client, fast_hashing, sign_up


@pytest.fixture(autouse=True)
def _fast(client: Client) -> None:
    fast_hashing(client)


def selected_page(client: Client) -> tuple[str, str]:
    """Sign a user named with markup up and open the mail they got; returns (page html, mail name)."""
    sign_up(client, "ada@example.com", name="<b>Ada</b>")
    listing = client.get("/dev/mail").text
    name = re.search(r'href="/dev/mail\?name=([^"]+)"', listing)
    assert name
    return client.get(f"/dev/mail?name={name.group(1)}").text, name.group(1)


def test_dev_mail_frames_the_html_part_in_a_sandbox_without_scripts(client: Client) -> None:
    page, name = selected_page(client)
    frame = re.search(r"<iframe [^>]*>", page)
    assert frame and f'src="/dev/mail/html?name={name}"' in frame.group(0)
    assert 'sandbox="allow-top-navigation-by-user-activation"' in frame.group(0)
    assert "allow-scripts" not in frame.group(0) and "title=" in frame.group(0)


def test_dev_mail_html_part_has_the_button_its_own_policy_and_escaped_names(client: Client) -> None:
    _, name = selected_page(client)
    response = client.get(f"/dev/mail/html?name={name}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'self'" in csp
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    html = response.text
    assert '<head><base target="_top">' in html
    button = re.search(r'<a href="(http[^"]+/auth/verify\?token=[^"]+)" style="display:inline-block', html)
    assert button, html
    assert "Hi &lt;b&gt;Ada&lt;/b&gt;," in html and "<b>Ada</b>" not in html


def test_dev_mail_html_refuses_unknown_and_unsafe_names(client: Client) -> None:
    sign_up(client, "ada@example.com")
    assert client.get("/dev/mail/html?name=../app.sqlite3").status_code == 404
    assert client.get("/dev/mail/html?name=20990101T000000000000-0001.eml").status_code == 404
    assert client.get("/dev/mail/html").status_code == 422  # the name is required
