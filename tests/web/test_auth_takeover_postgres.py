"""Account claims and link revocation again on PostgreSQL (runs when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import pytest

from settings import Settings
from tests.support.oauth_provider import OAuthProvider
from tests.web.oauth_support import oauth_server, provider, provider_settings
from tests.web.test_auth_revocation import (
    test_revocation_a_session_thief_loses_a_pending_email_change_on_reset,
    test_revocation_every_change_refuses_every_older_link,
)
from tests.web.test_auth_takeover import (
    _fast,
    test_sign_up_link_in_another_browser_asks_for_the_password_then_signs_in,
    test_takeover_a_link_without_a_password_proves_the_mailbox_then_asks_for_one,
    test_takeover_a_squatters_oauth_identity_goes_when_the_owner_verifies,
    test_takeover_a_squatters_password_and_name_never_sign_in_after_the_owner_verifies,
    test_takeover_an_older_sign_up_link_never_applies_after_a_newer_sign_up,
)

__all__ = [
    "_fast",
    "oauth_server",
    "provider",
    "test_revocation_a_session_thief_loses_a_pending_email_change_on_reset",
    "test_revocation_every_change_refuses_every_older_link",
    "test_sign_up_link_in_another_browser_asks_for_the_password_then_signs_in",
    "test_takeover_a_link_without_a_password_proves_the_mailbox_then_asks_for_one",
    "test_takeover_a_squatters_oauth_identity_goes_when_the_owner_verifies",
    "test_takeover_a_squatters_password_and_name_never_sign_in_after_the_owner_verifies",
    "test_takeover_an_older_sign_up_link_never_applies_after_a_newer_sign_up",
]


@pytest.fixture
def settings(settings: Settings, provider: OAuthProvider, postgres_url: str) -> Settings:
    return provider_settings(settings, provider).with_overrides(database_url=postgres_url)
