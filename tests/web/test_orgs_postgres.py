"""The organization rules and the cross-tenant walk again on PostgreSQL (runs when TEST_DATABASE_URL is set).

PostgreSQL is where the row lock that keeps an organization's last owner matters (SQLite serialises
every writer already), and where ids past 32 bits would fail in the database rather than at the edge.
"""

from __future__ import annotations

import pytest

from settings import Settings
from tests.web.test_orgs import (
    alice,
    bob,
    test_invite_accept_and_the_links_rules,
    test_members_cannot_manage_and_admins_cannot_touch_owners,
    test_owners_remove_members_and_a_second_owner_lets_the_first_leave,
    test_the_last_owner_cannot_leave_be_demoted_or_removed_until_ownership_moves,
)
from tests.web.test_orgs_tenancy import test_every_org_route_answers_404_for_another_tenants_slug_and_ids

__all__ = [
    "alice",
    "bob",
    "test_every_org_route_answers_404_for_another_tenants_slug_and_ids",
    "test_invite_accept_and_the_links_rules",
    "test_members_cannot_manage_and_admins_cannot_touch_owners",
    "test_owners_remove_members_and_a_second_owner_lets_the_first_leave",
    "test_the_last_owner_cannot_leave_be_demoted_or_removed_until_ownership_moves",
]


@pytest.fixture
def postgres_db_prefix() -> str:
    return "rstack_orgs"


@pytest.fixture
def settings(settings: Settings, postgres_url: str) -> Settings:
    return settings.with_overrides(database_url=postgres_url)
