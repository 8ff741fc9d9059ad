"""Field rules for auth forms: each returns the cleaned value or adds a message to `errors`."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from domain.auth.passwords import password_problem
from domain.errors import ValidationFailed

MAX_EMAIL = 320
MAX_NAME = 100
MAX_AVATAR = 2048
# Deliberately loose: one @, no spaces, a dot in the domain. The verification mail is the real check.
# RFC 5322 specials (<>()[],;:"\) are refused: in a To header they make the mail go to another
# address than the stored one (`<script>x@example.com` is delivered to "script").
_ATOM = r"[^@\s<>()\[\],;:\"\\]"
EMAIL_RE = re.compile(rf"^{_ATOM}{{1,64}}@{_ATOM}+\.(?:(?!\.){_ATOM})+$")

Errors = dict[str, str]


def normalize_email(raw: str) -> str:
    """The form an email is stored and compared in: trimmed and lowercased."""
    return raw.strip().lower()


def clean_email(raw: str, errors: Errors, field: str = "email") -> str:
    email = normalize_email(raw)
    if not email:
        errors[field] = "Enter your email address."
    elif len(email) > MAX_EMAIL or not EMAIL_RE.match(email) or not email.isprintable():
        errors[field] = "Enter a valid email address, like name@example.com."
    return email


def clean_name(raw: str, errors: Errors, field: str = "name") -> str:
    name = " ".join(raw.split())
    if not name:
        errors[field] = "Enter your name."
    elif len(name) > MAX_NAME:
        errors[field] = f"Use at most {MAX_NAME} characters."
    elif not name.isprintable():
        errors[field] = "Use letters, numbers and punctuation only."
    return name


def clean_avatar(raw: str, errors: Errors, field: str = "avatar") -> str | None:
    url = raw.strip()
    if not url:
        return None
    parts = urlsplit(url)
    if (
        len(url) > MAX_AVATAR
        or parts.scheme not in {"http", "https"}
        or not parts.hostname
        or any(c.isspace() or not c.isprintable() for c in url)
    ):
        errors[field] = "Enter an http:// or https:// image URL, or leave it empty."
    return url


def clean_new_password(
    raw: str, errors: Errors, *, email: str = "", name: str = "", field: str = "password"
) -> str:
    problem = password_problem(raw, email=email, name=name)
    if problem:
        errors[field] = problem
    return raw


def raise_if(errors: Errors, message: str = "Some fields need fixing.") -> None:
    if errors:
        raise ValidationFailed(message, field_errors=errors)
