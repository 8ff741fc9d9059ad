"""The OAuth account rules again on PostgreSQL (runs when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import pytest

from settings import Settings
from tests.support.oauth_provider import OAuthProvider
from tests.web.oauth_support import oauth_server, provider, provider_settings
from tests.web.test_oauth import (
    _fast,
    test_oauth_first_sign_in_creates_user_and_account,
    test_oauth_returning_user_is_matched_by_account_id,
    test_oauth_unverified_email_is_not_linked,
    test_oauth_verified_email_links_to_existing_user,
    test_oauth_verified_identity_takes_over_unconfirmed_sign_up,
)
from tests.web.test_oauth_account import (
    ada,
    test_oauth_link_identity_of_another_user_is_refused,
    test_oauth_unlink,
    test_oauth_unlink_last_sign_in_method_is_refused,
)

__all__ = [
    "_fast",
    "ada",
    "oauth_server",
    "provider",
    "test_oauth_first_sign_in_creates_user_and_account",
    "test_oauth_link_identity_of_another_user_is_refused",
    "test_oauth_returning_user_is_matched_by_account_id",
    "test_oauth_unlink",
    "test_oauth_unlink_last_sign_in_method_is_refused",
    "test_oauth_unverified_email_is_not_linked",
    "test_oauth_verified_email_links_to_existing_user",
    "test_oauth_verified_identity_takes_over_unconfirmed_sign_up",
]


@pytest.fixture
def settings(settings: Settings, provider: OAuthProvider, postgres_url: str) -> Settings:
    return provider_settings(settings, provider).with_overrides(database_url=postgres_url)
