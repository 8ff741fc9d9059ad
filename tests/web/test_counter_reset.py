"""The counter's "reset at" alarm through the real app: set by a signed-in command, reset by the actor."""

from __future__ import annotations

import time

from actors.counter import CounterActor
from tests.support.server import wait_until
from tests.web.auth_support import HTMX, Client, csrf_token, fast_hashing, run, signed_in_user

JSON = {"Accept": "application/json"}


def test_a_scheduled_reset_sets_the_alarm_and_the_alarm_resets_the_counter(client: Client) -> None:
    fast_hashing(client)
    signed_in_user(client, "ada@example.com")
    counter = client.app.state.services.actor(CounterActor)
    run(client, counter.increment, "to-reset")
    run(client, counter.increment, "to-reset")
    before = time.time()
    response = client.post(
        "/counter/to-reset/reset-at",
        data={"seconds": "1"},
        headers={**HTMX, "x-csrftoken": csrf_token(client)},
    )
    assert response.status_code == 200 and '<section id="counter"' in response.text
    alarm = run(client, counter.get_alarm, "to-reset")
    assert alarm is not None and before + 1 <= alarm.at.timestamp() <= time.time() + 1
    assert run(client, counter.get, "to-reset").count == 2  # not before its time
    wait_until(lambda: run(client, counter.get, "to-reset").count == 0, 10, "the reset by alarm")
    assert run(client, counter.get_alarm, "to-reset") is None


def test_scheduling_a_reset_needs_sign_in_and_a_sane_delay(client: Client) -> None:
    headers = {**JSON, "x-csrftoken": csrf_token(client)}
    assert client.post("/counter/c/reset-at", data={"seconds": "5"}, headers=headers).status_code == 401
    fast_hashing(client)
    signed_in_user(client, "ada@example.com")
    headers = {**JSON, "x-csrftoken": csrf_token(client)}
    for bad in ("0", "-3", "99999999", "soon"):
        response = client.post("/counter/c/reset-at", data={"seconds": bad}, headers=headers)
        assert response.status_code == 422 and "seconds" in response.json()["errors"], bad
    counter = client.app.state.services.actor(CounterActor)
    assert run(client, counter.get_alarm, "c") is None


def test_the_reset_form_works_without_javascript(client: Client) -> None:
    fast_hashing(client)
    signed_in_user(client, "ada@example.com")
    page = client.get("/counter/plain", headers={"Accept": "text/html"})
    assert 'action="/counter/plain/reset-at"' in page.text and 'name="seconds"' in page.text
    response = client.post(
        "/counter/plain/reset-at",
        data={"seconds": "60", "_csrf_token": csrf_token(client), "next": "/counter/plain"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"].endswith("/counter/plain")
    counter = client.app.state.services.actor(CounterActor)
    assert run(client, counter.get_alarm, "plain") is not None
