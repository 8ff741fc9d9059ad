"""A sign-in method was added, removed or reset: log the auth event and mail the account's owner."""

from __future__ import annotations

from typing import Protocol

from domain.auth.events import auth_event
from domain.auth.tables import User
from domain.mail import Mail, sign_in_method_mail


class MailSender(Protocol):
    """Where a notice goes: the outbox (the app, a command with Redis), or a mailer sending at once."""

    async def send(self, mail: Mail) -> object: ...


async def method_changed(
    mailer: MailSender, base_url: str, user_id: int, event: str, change: str, *, by: int | None = None
) -> None:
    """Record `event` (`by`: the admin who acted) and mail `change` (one sentence) to the user's address."""
    auth_event(event, user_id=user_id, by=by)
    row = await User.select(User.email).where(User.id == user_id).first()
    if row is not None:
        await mailer.send(sign_in_method_mail(row["email"], change=change, base_url=base_url))
