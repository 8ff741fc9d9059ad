"""What a remote function knows about its caller: services, signed-in user, request id, client address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar import Request

from domain.auth.types import AuthUser
from domain.errors import NotSignedIn, Unavailable
from web.request_id import request_id_of

if TYPE_CHECKING:
    from web.services import Services

DEFAULT_SIGN_IN_MESSAGE = "Please sign in to continue"


@dataclass(frozen=True, slots=True)
class Context:
    """Litestar-free call context, so page handlers and tests call remote functions directly."""

    user: AuthUser | None = None
    request_id: str = ""
    client_ip: str | None = None
    maybe_services: Services | None = None
    # Sent by the caller (`Idempotency-Key` header or the `_idempotency_key` field the button helper
    # adds): a command repeated with the same key must apply once (pass it to actors as request_id).
    # Over HTTP it arrives scoped to the caller and the function, so another caller's key is fresh.
    idempotency_key: str | None = None

    @property
    def services(self) -> Services:
        if self.maybe_services is None:
            raise Unavailable("The service is starting up; try again in a moment.")
        return self.maybe_services

    def require_user(self, message: str = DEFAULT_SIGN_IN_MESSAGE) -> AuthUser:
        """The signed-in user, or NotSignedIn with `message` (rendered as a sign-in redirect)."""
        if self.user is None:
            raise NotSignedIn(message)
        return self.user


def context_from(request: Request[Any, Any, Any]) -> Context:
    """The Context of an HTTP request, for page handlers that call remote functions for SSR."""
    user = request.scope.get("user")  # type: ignore[typeddict-item]
    client = request.client
    return Context(
        user=user if isinstance(user, AuthUser) else None,
        request_id=request_id_of(request.scope),
        client_ip=client.host if client else None,
        maybe_services=getattr(request.app.state, "services", None),
        idempotency_key=request.headers.get("idempotency-key") or None,
    )
