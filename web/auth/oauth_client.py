"""The process's OAuth client, built on first use from the services' settings and Redis."""

from __future__ import annotations

from domain.auth.oauth_flow import OAuthClient
from domain.auth.oauth_providers import configured_providers
from web.services import Services


def oauth_client(services: Services) -> OAuthClient:
    if services.oauth_client is None:
        services.oauth_client = OAuthClient(configured_providers(services.settings), services.redis)
    return services.oauth_client
