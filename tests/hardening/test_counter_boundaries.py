"""The counter demo's increment button at the boundary: a double submit applies once."""

from __future__ import annotations

import re

from tests.hardening.test_boundaries import SAME_ORIGIN
from tests.web.auth_support import Client, csrf_token, fast_hashing, signed_in_user


def test_double_submitted_increment_button_applies_once(client: Client) -> None:
    """The key the rendered button carries makes a double click (or an htmx retry) one increment."""
    fast_hashing(client)
    signed_in_user(client, "double@example.com")
    page = client.get("/counter/double", headers={"accept": "text/html"}).text
    key = re.search(r'name="_idempotency_key" value="([^"]+)"', page)
    assert key, "the increment button carries no idempotency key"
    token = csrf_token(client)
    form = {"_csrf_token": token, "_idempotency_key": key.group(1)}
    headers = {**SAME_ORIGIN, "hx-request": "true", "x-csrftoken": token}
    answers = [client.post("/counter/double", data=form, headers=headers) for _ in range(3)]
    assert all(a.status_code == 200 for a in answers)
    assert client.get("/counter/double", headers={"accept": "application/json"}).json()["count"] == 1
