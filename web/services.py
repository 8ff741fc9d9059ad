"""The long-lived objects a request handler needs, built once per process by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from litestar import Request
from piccolo.engine.base import Engine

from actors.connection import RedisClient
from actors.runtime import Actor, ActorSet
from domain.auth.core import Auth
from domain.auth.oauth_flow import OAuthClient
from domain.errors import Unavailable
from domain.tenancy import TenantOf, no_tenant
from settings import Settings

if TYPE_CHECKING:
    from litestar.datastructures import State

A = TypeVar("A", bound=Actor)


@dataclass
class Services:
    """Settings, connections and actors shared by every request in this process."""

    settings: Settings
    redis: RedisClient
    engine: Engine  # type: ignore[type-arg]
    # Sign-in, sessions and mail (domain/auth); None only in apps built without it (tests of other parts).
    auth: Auth | None = None
    # Built on first use from `settings` and `redis` (web/auth/oauth.py).
    oauth_client: OAuthClient | None = None
    # The caller's tenant (domain/tenancy.py): per-org rate limits and usage tracking ask it.
    tenant_of: TenantOf = no_tenant
    # Every declared actor kind, one instance each on `redis`, made on first use.
    actors: ActorSet = field(init=False)

    def __post_init__(self) -> None:
        self.actors = ActorSet(self.redis)

    def require_auth(self) -> Auth:
        """Sign-in, sessions and mail; Unavailable (503) in an app built without them."""
        if self.auth is None:
            raise Unavailable("Sign-in is starting up; try again in a moment.")
        return self.auth

    def actor(self, cls: type[A]) -> A:
        """The process's instance of an actor class: `services.actor(CounterActor).get(id)`."""
        return self.actors.get(cls)


def services_from_state(state: State) -> Services:
    services: Services = state.services
    return services


def get_services(request: Request) -> Services:  # type: ignore[type-arg]
    """The Services of the app serving `request`."""
    return services_from_state(request.app.state)
