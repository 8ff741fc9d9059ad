"""An organization's counters over SSE: the live views keyed by path parameters, for members only."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import RunningApp, running_app
from tests.support.signin import csrf_of, signed_in
from tests.web.test_live_views import events

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with running_app(tmp_path_factory.mktemp("org-counters-live")) as app:
        yield app


@pytest.fixture(scope="module")
def ada(server: RunningApp) -> Iterator[httpx.Client]:
    client = signed_in(server.base_url, server.data_dir, "ada-orgs-live@example.com", name="Ada")
    yield client
    client.close()


def post(client: httpx.Client, path: str, fields: dict[str, str] | None = None) -> httpx.Response:
    headers = {"Accept": "application/json", "x-csrftoken": csrf_of(client)}
    return client.post(path, data=fields or {}, headers=headers)


async def test_keyed_views_stream_a_tenants_actors_to_its_members_only(
    server: RunningApp, ada: httpx.Client
) -> None:
    """Views keyed by path parameters: an organization's counter list and one counter, for members."""
    assert post(ada, "/orgs", {"name": "Live Org", "slug": "live-org"}).status_code == 200
    assert post(ada, "/orgs", {"name": "Other Org", "slug": "other-org"}).status_code == 200  # now active
    assert post(ada, "/orgs/live-org/counters", {"name": "hits"}).status_code == 200
    fleet_path, counter_path = "/orgs/live-org/fleet/counters/events", "/orgs/live-org/counters/hits/events"
    async with (
        events(server, ada, path=fleet_path) as fleet,
        events(server, ada, path=counter_path) as counter,
    ):
        listed, data = await fleet.next()
        assert 'id="org_counters_list" hx-swap-oob="true"' in data and 'data-counter="hits"' in data
        seen, data = await counter.next()
        assert 'id="counter_value" hx-swap-oob="true"' in data
        assert post(ada, "/orgs/live-org/counters/hits/increment").status_code == 200
        changed, data = await fleet.next()
        assert changed > listed and re.search(r"data-total>1<", data)
        version, data = await counter.next()
        assert version == seen + 1 and re.search(r"data-count>1<", data)
    bob = signed_in(server.base_url, server.data_dir, "bob-orgs-live@example.com", name="Bob")
    try:
        for path in (fleet_path, counter_path, "/orgs/live-org/counters/nothing/events"):
            assert bob.get(path, headers={"Accept": "application/json"}).status_code == 404
        assert ada.get("/orgs/live-org/counters/nothing/events").status_code == 404
        assert server.get(fleet_path, headers={"Accept": "application/json"}).status_code == 401
    finally:
        bob.close()
