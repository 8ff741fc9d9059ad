"""Structured auth event log lines (`auth.event=sign_in.success user_id=3 ...`), never with secrets."""

from __future__ import annotations

import logging

log = logging.getLogger("remote_stack.auth")


def _clean(value: object) -> str:
    text = str(value)
    # One line per event, whatever a client put in its User-Agent or email field.
    return "".join(c if c.isprintable() and c not in ' ="' else "_" for c in text)[:200]


def auth_event(event: str, *, level: int = logging.INFO, **fields: object) -> None:
    """Log `event` with `fields` as key=value pairs (emails hashed by callers when they must not appear)."""
    parts = [f"auth.event={event}"] + [
        f"{key}={_clean(value)}" for key, value in fields.items() if value is not None
    ]
    log.log(level, " ".join(parts))
