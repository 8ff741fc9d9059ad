"""Auth pages and guards; `auth_routes()` is what web/routes.py mounts."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from web.auth import account, actions, dev_mail, magic_links, oauth, pages, passkeys, profile
from web.auth.guards import admin_only, current_user, handle_not_signed_in, require_user, signed_in

__all__ = [
    "actions",
    "admin_only",
    "auth_routes",
    "current_user",
    "handle_not_signed_in",
    "magic_links",
    "oauth",
    "passkeys",
    "profile",
    "require_user",
    "signed_in",
]


def auth_routes() -> list[ControllerRouterHandler]:
    """Every auth page (GET); the forms in `actions`, `account`, `passkeys`, `oauth` are remote functions."""
    # A flat list, not a Router: Litestar refuses a Router's GET beside an app-level POST on one path.
    return [
        pages.sign_up_page,
        pages.sign_in_page,
        pages.two_factor_page,
        pages.verify,
        pages.resend_page,
        pages.forgot_page,
        pages.reset_page,
        magic_links.magic_link_page,
        account.account_page,
        dev_mail.dev_mail,
        dev_mail.dev_mail_html,
    ]
