"""Errors the domain raises on purpose; the web layer renders each as a message, never a 500."""

from __future__ import annotations


class DomainError(Exception):
    """An expected failure with a message fit to show the user."""

    status_code: int = 400

    def __init__(self, message: str, *, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors: dict[str, str] = dict(field_errors or {})


class ValidationFailed(DomainError):
    """Input was understood but not acceptable; `field_errors` names each bad field."""

    status_code = 422


class NotSignedIn(DomainError):
    """The action needs a signed-in user."""

    status_code = 401


class Forbidden(DomainError):
    """Signed in, but not allowed to do this."""

    status_code = 403


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to this user)."""

    status_code = 404


class Conflict(DomainError):
    """The request clashes with current state (e.g. the email is taken)."""

    status_code = 409


class RateLimited(DomainError):
    """Too many attempts; try again after `retry_after` seconds."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A backing service (Redis, the database) is down; the request may be retried."""

    status_code = 503
