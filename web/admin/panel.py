"""The piccolo-admin app over the auth tables (hashes and tokens left out), built once per Litestar app."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from piccolo_admin.endpoints import TableConfig, create_admin
from piccolo_api.crud.endpoints import OrderBy, PiccoloCRUD
from piccolo_api.crud.hooks import Hook, HookType
from piccolo_api.crud.validators import Validators
from starlette.exceptions import HTTPException
from starlette.requests import Request

from domain.admin.records import (
    AccountRecord,
    InvitationRecord,
    MembershipRecord,
    OrganizationRecord,
    PasskeyRecord,
    SessionRecord,
    TwoFactorRecord,
    UserRecord,
    VerificationRecord,
)
from domain.admin.tables import AdminMirror, AdminSession
from domain.admin.users import (
    delete_passkey_from_panel,
    delete_user_from_panel,
    new_user_from_panel,
    reset_two_factor,
)
from domain.auth.core import Auth
from domain.auth.validation import normalize_email
from domain.errors import Conflict, ValidationFailed
from domain.orgs.members import check_panel_removal, panel_deletion_logged
from settings import APP_NAME, Settings

# The bridge puts the app's Services under SERVICES_SCOPE_KEY, as piccolo-admin's FastAPI app
# replaces scope["app"]. This module is imported by the bridge on the first admin request.
from web.admin.scope_keys import ADMIN_SCOPE_KEY, SERVICES_SCOPE_KEY

ACTOR_INSPECTOR_PATH = "/admin-tools/actors"


def _auth(request: Request) -> Auth | None:
    auth = getattr(request.scope.get(SERVICES_SCOPE_KEY), "auth", None)
    return auth if isinstance(auth, Auth) else None


def _admin_id(request: Request) -> int | None:
    admin_id = request.scope.get(ADMIN_SCOPE_KEY)
    return admin_id if isinstance(admin_id, int) else None


def refuse_create_and_edit(piccolo_crud: PiccoloCRUD, request: Request) -> None:
    """Sessions, accounts and verifications come from sign-in flows; the panel may only delete them."""
    if request.method.upper() in {"POST", "PUT", "PATCH"}:
        raise HTTPException(
            status_code=405, detail="These rows are made by the app; you can only delete them."
        )


async def normalize_user_patch(row_id: Any, values: dict[str, Any], request: Request) -> dict[str, Any]:
    if isinstance(values.get("email"), str):
        values["email"] = normalize_email(values["email"])
    # The cached copy of this user is dropped by the bridge once the write is done (mount.py).
    return values


async def new_user_defaults(row: UserRecord, request: Request) -> UserRecord:
    """A user added here starts unconfirmed, not an admin and without a password, whatever was sent."""
    try:
        clean = new_user_from_panel(row.email or "", row.name or "")
    except ValidationFailed as exc:
        raise HTTPException(status_code=422, detail=exc.message) from None
    row.email, row.name = clean.email, clean.name
    row.email_verified, row.is_admin = clean.email_verified, clean.is_admin
    row.avatar = None
    row.created_at = row.updated_at = clean.created_at
    return row


async def delete_user(row_id: Any, request: Request) -> None:
    """Before piccolo deletes the row: the user and all that hangs off it go through the app's use case."""
    auth = _auth(request)
    if auth is None:
        raise HTTPException(status_code=503, detail="The app is starting; try again in a moment.")
    try:
        await delete_user_from_panel(auth, int(row_id), by=_admin_id(request))
    except Conflict as exc:
        raise HTTPException(status_code=409, detail=exc.message) from None


async def delete_passkey(row_id: Any, request: Request) -> None:
    auth = _auth(request)
    if auth is None:
        raise HTTPException(status_code=503, detail="The app is starting; try again in a moment.")
    await delete_passkey_from_panel(auth, int(row_id), by=_admin_id(request))


async def reset_user_two_factor(row_id: Any, request: Request) -> None:
    """Deleting a two-factor row resets that user's 2FA: backup codes go too, the owner is mailed."""
    auth = _auth(request)
    if auth is None:
        raise HTTPException(status_code=503, detail="The app is starting; try again in a moment.")
    row = await TwoFactorRecord.select(TwoFactorRecord.user).where(TwoFactorRecord.id == int(row_id)).first()
    if row is not None:
        await reset_two_factor(auth.outbox, auth.base_url, row["user"], by=_admin_id(request))


async def revoke_session(row_id: Any, request: Request) -> None:
    """Before a session row is deleted: revoke it through the store so its cached copy goes too."""
    auth = _auth(request)
    if auth is None:
        return
    row = await SessionRecord.select(SessionRecord.user).where(SessionRecord.id == int(row_id)).first()
    if row is not None:
        await auth.sessions.revoke(row["user"], int(row_id))


async def remove_membership(row_id: Any, request: Request) -> None:
    """Before a membership row is deleted: an organization keeps its last owner."""
    try:
        await check_panel_removal(int(row_id), by=_admin_id(request))
    except Conflict as exc:
        raise HTTPException(status_code=409, detail=exc.message) from None


async def delete_organization(row_id: Any, request: Request) -> None:
    """Deleting an organization takes its members and invitations with it (cascade); logged."""
    panel_deletion_logged(int(row_id), by=_admin_id(request))


def _newest_first(table: Any) -> list[OrderBy]:
    return [OrderBy(column=table.created_at, ascending=False)]


def build_panel(settings: Settings) -> FastAPI:
    """piccolo-admin for `settings`; call once per app (it builds a FastAPI app and its schemas)."""
    read_mostly = Validators(every=[refuse_create_and_edit])
    tables = [
        TableConfig(
            UserRecord,
            visible_columns=[
                UserRecord.id,
                UserRecord.email,
                UserRecord.name,
                UserRecord.email_verified,
                UserRecord.is_admin,
                UserRecord.created_at,
            ],
            visible_filters=[
                UserRecord.email,
                UserRecord.name,
                UserRecord.is_admin,
                UserRecord.email_verified,
            ],
            order_by=_newest_first(UserRecord),
            hooks=[
                Hook(HookType.pre_save, new_user_defaults),
                Hook(HookType.pre_patch, normalize_user_patch),
                Hook(HookType.pre_delete, delete_user),
            ],
            menu_group="Auth",
        ),
        TableConfig(
            SessionRecord,
            visible_columns=[
                SessionRecord.id,
                SessionRecord.user,
                SessionRecord.ip,
                SessionRecord.user_agent,
                SessionRecord.last_seen,
                SessionRecord.expires_at,
            ],
            visible_filters=[SessionRecord.user, SessionRecord.ip, SessionRecord.expires_at],
            order_by=[OrderBy(column=SessionRecord.last_seen, ascending=False)],
            validators=read_mostly,
            hooks=[Hook(HookType.pre_delete, revoke_session)],
            menu_group="Auth",
        ),
        TableConfig(
            AccountRecord,
            visible_columns=[
                AccountRecord.id,
                AccountRecord.user,
                AccountRecord.provider,
                AccountRecord.provider_account_id,
                AccountRecord.created_at,
            ],
            visible_filters=[AccountRecord.user, AccountRecord.provider],
            order_by=_newest_first(AccountRecord),
            validators=read_mostly,
            menu_group="Auth",
        ),
        TableConfig(
            VerificationRecord,
            visible_columns=[
                VerificationRecord.id,
                VerificationRecord.user,
                VerificationRecord.purpose,
                VerificationRecord.new_email,
                VerificationRecord.expires_at,
            ],
            visible_filters=[VerificationRecord.user, VerificationRecord.purpose],
            order_by=_newest_first(VerificationRecord),
            validators=read_mostly,
            menu_group="Auth",
        ),
        TableConfig(
            PasskeyRecord,
            visible_columns=[
                PasskeyRecord.id,
                PasskeyRecord.user,
                PasskeyRecord.name,
                PasskeyRecord.created_at,
                PasskeyRecord.last_used_at,
            ],
            visible_filters=[PasskeyRecord.user],
            order_by=_newest_first(PasskeyRecord),
            validators=read_mostly,
            hooks=[Hook(HookType.pre_delete, delete_passkey)],
            menu_group="Auth",
        ),
        TableConfig(
            TwoFactorRecord,
            visible_columns=[
                TwoFactorRecord.id,
                TwoFactorRecord.user,
                TwoFactorRecord.confirmed,
                TwoFactorRecord.confirmed_at,
            ],
            visible_filters=[TwoFactorRecord.user, TwoFactorRecord.confirmed],
            order_by=_newest_first(TwoFactorRecord),
            validators=read_mostly,
            hooks=[Hook(HookType.pre_delete, reset_user_two_factor)],
            menu_group="Auth",
        ),
        TableConfig(
            OrganizationRecord,
            visible_columns=[
                OrganizationRecord.id,
                OrganizationRecord.name,
                OrganizationRecord.slug,
                OrganizationRecord.created_at,
            ],
            visible_filters=[OrganizationRecord.name, OrganizationRecord.slug],
            order_by=_newest_first(OrganizationRecord),
            # An organization is made with its owner by the app; here it can be inspected or deleted.
            validators=read_mostly,
            hooks=[Hook(HookType.pre_delete, delete_organization)],
            menu_group="Organizations",
        ),
        TableConfig(
            MembershipRecord,
            visible_columns=[
                MembershipRecord.id,
                MembershipRecord.organization,
                MembershipRecord.user,
                MembershipRecord.role,
                MembershipRecord.created_at,
            ],
            visible_filters=[MembershipRecord.organization, MembershipRecord.user, MembershipRecord.role],
            order_by=_newest_first(MembershipRecord),
            validators=read_mostly,
            hooks=[Hook(HookType.pre_delete, remove_membership)],
            menu_group="Organizations",
        ),
        TableConfig(
            InvitationRecord,
            visible_columns=[
                InvitationRecord.id,
                InvitationRecord.organization,
                InvitationRecord.email,
                InvitationRecord.role,
                InvitationRecord.inviter,
                InvitationRecord.expires_at,
            ],
            visible_filters=[InvitationRecord.organization, InvitationRecord.email],
            order_by=_newest_first(InvitationRecord),
            validators=read_mostly,
            menu_group="Organizations",
        ),
    ]
    host = urlsplit(settings.base_url).hostname
    app: FastAPI = create_admin(
        tables=tables,
        auth_table=AdminMirror,
        session_table=AdminSession,
        site_name=f"{APP_NAME} admin",
        production=settings.is_production,
        # piccolo's CSRF check compares the Origin/Referer host with these on https.
        allowed_hosts=[host, *settings.trusted_hosts] if host else list(settings.trusted_hosts),
        auto_include_related=False,
        sidebar_links={"Actor inspector": ACTOR_INSPECTOR_PATH, "Back to the app": "/"},
    )
    return app
