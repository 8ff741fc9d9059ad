"""The client address behind proxies: the right-to-left X-Forwarded-For walk, hop counts, garbage."""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from settings import Settings
from tests.web.auth_support import Client, fast_hashing, sign_in, verified_user
from tests.web.test_security import edge_app
from web.security import MAX_FORWARDED_BYTES, MAX_FORWARDED_HOPS, EdgePolicy, apply_forwarded

SPOOFED = "6.6.6.6"
REAL = "203.0.113.9"


def client_seen(peer: str, forwarded_for: str | list[str], **overrides: Any) -> str:
    """The client address a throwaway development app behind `peer` sees for this X-Forwarded-For."""
    app = edge_app(peer, production=False, **overrides)
    values = [forwarded_for] if isinstance(forwarded_for, str) else forwarded_for
    with TestClient(app, base_url="http://app.example") as client:
        response = client.get("/whoami", headers=[("X-Forwarded-For", value) for value in values])
    assert response.status_code == 200
    client_address: str = response.json()["client"]
    return client_address


@pytest.mark.parametrize(
    ("proxies", "hops", "peer", "forwarded_for", "expected"),
    [
        # `*` trusts the peer, not what the client wrote further left.
        (("*",), 0, "10.0.0.2", f"{SPOOFED}, {REAL}", REAL),
        (("*", "10.0.0.0/8"), 0, "10.0.0.2", f"{SPOOFED}, {REAL}, 10.0.0.9", REAL),
        (("10.0.0.0/8",), 0, "10.0.0.2", f"{SPOOFED}, {REAL}, 10.0.0.9", REAL),
        # Only our proxies in the chain: the furthest of them is where the request came from.
        (("10.0.0.0/8",), 0, "10.0.0.2", "10.0.0.7, 10.0.0.9", "10.0.0.7"),
        # Garbage the client wrote left of its own address does not matter; inside the trusted part
        # it makes the chain unbelievable.
        (("*",), 0, "10.0.0.2", f"not-an-ip, {REAL}", REAL),
        (("10.0.0.0/8",), 0, "10.0.0.2", f"{REAL}, 10.0.0.9:8080, 10.0.0.8", "10.0.0.2"),
        # A hop count for proxies whose addresses are unknown: that entry from the right.
        ((), 1, "172.16.5.5", f"{SPOOFED}, {REAL}", REAL),
        ((), 2, "172.16.5.5", f"{SPOOFED}, {REAL}, 172.16.0.3", REAL),
        ((), 3, "172.16.5.5", f"{SPOOFED}, {REAL}, 172.16.0.3, 172.16.0.4", REAL),
        ((), 2, "172.16.5.5", REAL, "172.16.5.5"),
        ((), 1, "172.16.5.5", "2001:DB8:0:0::1", "2001:db8::1"),
        ((), 2, "172.16.5.5", f"{SPOOFED}, garbage, 172.16.0.3", "172.16.5.5"),
        # With both, only the listed peers are believed.
        (("10.0.0.0/8",), 1, "198.51.100.1", SPOOFED, "198.51.100.1"),
        (("10.0.0.0/8",), 1, "10.0.0.2", f"{SPOOFED}, {REAL}", REAL),
    ],
)
def test_forwarded_client_is_the_rightmost_untrusted_or_hop_counted_address(
    proxies: tuple[str, ...], hops: int, peer: str, forwarded_for: str, expected: str
) -> None:
    assert client_seen(peer, forwarded_for, trusted_proxies=proxies, trusted_proxy_hops=hops) == expected


@pytest.mark.parametrize(
    "forwarded_for",
    [
        ", ".join([SPOOFED] * MAX_FORWARDED_HOPS + [REAL]),
        f"{SPOOFED}, {'x' * MAX_FORWARDED_BYTES}, {REAL}",
        [f"{SPOOFED}, {'1' * (MAX_FORWARDED_BYTES // 2)}", f"{'2' * (MAX_FORWARDED_BYTES // 2)}, {REAL}"],
        "\x00\x7f;;[]::, ,,",
    ],
    ids=["too-many-entries", "oversized", "oversized-across-headers", "garbage"],
)
def test_forwarded_for_out_of_bounds_keeps_the_peer_address(forwarded_for: str | list[str]) -> None:
    assert client_seen("10.0.0.2", forwarded_for, trusted_proxies=("*",)) == "10.0.0.2"


PEER = "10.0.0.2"
POLICIES = [
    EdgePolicy(production=False, allowed_origins=frozenset(), trust_all_proxies=True),
    EdgePolicy(
        production=False,
        allowed_origins=frozenset(),
        proxies=(ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")),
    ),
    EdgePolicy(production=False, allowed_origins=frozenset(), proxy_hops=2),
]
ENTRY = st.one_of(
    st.ip_addresses().map(str),
    st.sampled_from(["10.0.0.9", "10.1.2.3", "2001:db8::7", "[::1]", "1.2.3.4:80", "unknown", ""]),
    st.text(max_size=12),
)
HEADER = st.one_of(
    st.lists(ENTRY, max_size=40).map(", ".join).map(lambda value: value.encode("utf-8")),
    st.binary(max_size=MAX_FORWARDED_BYTES + 200),
)


def _entries(values: list[bytes]) -> list[str]:
    parts = [part.strip() for value in values for part in value.decode("latin-1").split(",")]
    return [part for part in parts if part]


def _normalized(entry: str) -> str | None:
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None


@hypothesis_settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(policy=st.sampled_from(POLICIES), values=st.lists(HEADER, min_size=1, max_size=3))
def test_forwarded_for_parser_never_raises_and_never_believes_what_the_client_wrote(
    policy: EdgePolicy, values: list[bytes]
) -> None:
    scope: Any = {
        "type": "http",
        "client": (PEER, 1234),
        "headers": [(b"x-forwarded-for", v) for v in values],
    }
    apply_forwarded(scope, policy)
    client = scope["client"][0]
    if client == PEER:
        return
    # The chosen entry is a valid address, and everything to its right was written by our proxies:
    # exactly hops - 1 of them with a hop count, otherwise only addresses in the trusted networks.
    chain = _entries(values)
    positions = [k for k, entry in enumerate(chain) if _normalized(entry) == client]
    assert positions, (client, chain)
    if policy.proxy_hops:
        assert len(chain) - policy.proxy_hops in positions
    else:
        assert any(
            all(
                (address := _normalized(entry)) is not None
                and any(ipaddress.ip_address(address) in network for network in policy.proxies)
                for entry in chain[k + 1 :]
            )
            for k in positions
        ), (client, chain)


# --- against the whole app: the sessions list and the access log ---------------------------------


@pytest.fixture
def behind_any_proxy(settings: Settings) -> Iterator[Client]:
    from app import create_app

    with TestClient(
        create_app(settings.with_overrides(trusted_proxies=("*",))), base_url=settings.base_url
    ) as client:
        fast_hashing(client)
        yield client


def test_spoofed_forwarded_for_is_not_the_address_in_sessions_or_access_log(
    behind_any_proxy: Client, caplog: pytest.LogCaptureFixture
) -> None:
    client = behind_any_proxy
    verified_user(client, "ada@example.com")
    caplog.set_level(logging.INFO, logger="remote_stack.access")
    response = sign_in(client, "ada@example.com", headers={"X-Forwarded-For": f"{SPOOFED}, {REAL}"})
    assert response.status_code == 200
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "remote_stack.access"]
    sign_ins = [line for line in lines if line["path"] == "/auth/sign-in" and line["method"] == "POST"]
    assert [line["client"] for line in sign_ins] == [REAL]
    page = client.get("/account", headers={"X-Forwarded-For": f"{SPOOFED}, {REAL}"}).text
    assert REAL in page
    assert SPOOFED not in page
