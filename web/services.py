"""The long-lived objects a request handler needs, built once per process by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from litestar import Request
from piccolo.engine.base import Engine

from actors.connection import RedisClient
from actors.counter import CounterActor
from actors.ratelimit import RateLimitActor
from domain.auth.core import Auth
from settings import Settings

if TYPE_CHECKING:
    from litestar.datastructures import State


@dataclass
class Services:
    """Settings, connections and actors shared by every request in this process."""

    settings: Settings
    redis: RedisClient
    engine: Engine  # type: ignore[type-arg]
    counter: CounterActor
    ratelimit: RateLimitActor
    # Sign-in, sessions and mail (domain/auth); None only in apps built without it (tests of other parts).
    auth: Auth | None = None


def services_from_state(state: State) -> Services:
    services: Services = state.services
    return services


def get_services(request: Request) -> Services:  # type: ignore[type-arg]
    """The Services of the app serving `request`."""
    return services_from_state(request.app.state)
