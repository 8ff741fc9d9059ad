"""Auth pages, session middleware and guards; `auth_routes()` is what web/routes.py mounts."""

from __future__ import annotations

from litestar import Router
from litestar.types import ControllerRouterHandler

from domain.errors import NotSignedIn
from web.auth import account, dev_mail, pages, profile
from web.auth.guards import admin_only, current_user, handle_not_signed_in, require_user, signed_in
from web.auth.middleware import session_middleware

MAX_FORM_BYTES = 16 * 1024

__all__ = [
    "admin_only",
    "auth_routes",
    "current_user",
    "handle_not_signed_in",
    "profile",
    "require_user",
    "session_middleware",
    "signed_in",
]


def auth_routes() -> list[ControllerRouterHandler]:
    """Every auth page (the remote functions in `profile` are mounted with the others)."""
    return [
        Router(
            path="/",
            route_handlers=[
                pages.sign_up_page,
                pages.sign_up,
                pages.sign_in_page,
                pages.sign_in,
                pages.sign_out,
                pages.verify,
                pages.confirm,
                pages.resend_page,
                pages.resend,
                pages.forgot_page,
                pages.forgot,
                pages.reset_page,
                pages.reset,
                account.account_page,
                account.update_profile,
                account.change_password,
                account.change_email,
                account.revoke_session,
                account.revoke_others,
                account.delete_account,
                dev_mail.dev_mail,
                dev_mail.dev_mail_html,
            ],
            exception_handlers={NotSignedIn: handle_not_signed_in},
            tags=["auth"],
            # Auth forms are a few short fields; refuse anything bigger before parsing it.
            request_max_body_size=MAX_FORM_BYTES,
        )
    ]
