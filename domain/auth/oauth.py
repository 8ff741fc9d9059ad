"""OAuth accounts: who an identity signs in as, linking by verified email, and linking/unlinking providers.

Rules (the order matters):
1. An identity already in `accounts` (provider + provider account id) signs in as its user.
2. Otherwise an identity with a *verified* email equal to an existing user's is linked to that user.
   If that user had never proved the address, the identity claims it by the rule sign-up links
   follow too (`ownership.claim_mailbox`): every other sign-in method, session and pending link
   goes, so the mailbox owner takes the account, not someone who registered the address first.
3. An identity whose email is *unverified* and taken is refused: the owner must sign in and link it.
4. Otherwise a new user is created (name, avatar, email_verified as the provider says).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from domain.auth.core import CREDENTIALS, UNIQUE_VIOLATIONS, Auth, write_transaction
from domain.auth.events import auth_event
from domain.auth.flows import SignedIn, hold_sign_in, start_session
from domain.auth.oauth_flow import Completed, OAuthClient
from domain.auth.oauth_providers import (
    EmailMissing,
    OAuthFailed,
    OAuthProfile,
    OAuthProvider,
    OAuthTokens,
)
from domain.auth.ownership import Proof, claim_mailbox
from domain.auth.tables import Account, User
from domain.auth.totp import two_factor_enabled
from domain.errors import Conflict, NotFound


class EmailTaken(OAuthFailed):
    """The identity's email belongs to an account, but the provider has not verified the address."""

    status_code = 409


class IdentityInUse(OAuthFailed):
    """Linking an identity that already signs in to a different user."""

    status_code = 409


class LastSignInMethod(Conflict):
    """Unlinking would leave the account with no way to sign in."""


class LinkedAccount(msgspec.Struct, frozen=True):
    """A provider as the account page lists it."""

    provider: str
    label: str
    linked: bool
    linked_at: datetime | None = None
    configured: bool = True


def _token_values(tokens: OAuthTokens) -> dict[str, Any]:
    expires = datetime.fromtimestamp(tokens.expires_at, UTC) if tokens.expires_at else None
    return {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "id_token": tokens.id_token,
        "access_token_expires_at": expires,
        "scope": tokens.scope,
    }


def _new_account(user_id: int, profile: OAuthProfile, tokens: OAuthTokens, now: datetime) -> Account:
    return Account(
        user=user_id,
        provider=profile.provider,
        provider_account_id=profile.account_id,
        created_at=now,
        updated_at=now,
        **_token_values(tokens),
    )


async def _owner_of(profile: OAuthProfile) -> int | None:
    row = (
        await Account.select(Account.user)
        .where((Account.provider == profile.provider) & (Account.provider_account_id == profile.account_id))
        .first()
    )
    return int(row["user"]) if row else None


async def _save_tokens(auth: Auth, profile: OAuthProfile, tokens: OAuthTokens) -> None:
    values: dict[Any, Any] = {**_token_values(tokens), "updated_at": auth.clock()}
    await Account.update(values).where(
        (Account.provider == profile.provider) & (Account.provider_account_id == profile.account_id)
    )


async def _confirm_email(auth: Auth, user_id: int, profile: OAuthProfile, tokens: OAuthTokens) -> None:
    """The user's own identity now vouches for their address: it claims the account if unproven."""
    if not (profile.email_verified and profile.email):
        return
    unproven = await User.exists().where(
        (User.id == user_id) & (User.email == profile.email) & (User.email_verified == False)  # noqa: E712
    )
    if unproven:
        identity = _new_account(user_id, profile, tokens, auth.clock())
        await claim_mailbox(auth, user_id, Proof(identity=identity, name=profile.name))


async def resolve_user(
    auth: Auth, provider: OAuthProvider, profile: OAuthProfile, tokens: OAuthTokens
) -> int:
    """The user this identity signs in as, linking or creating one by the rules in the module docstring."""
    for _ in range(2):  # A concurrent first sign-in may win the insert: look again once.
        owner = await _owner_of(profile)
        if owner is not None:
            await _save_tokens(auth, profile, tokens)
            await _confirm_email(auth, owner, profile, tokens)
            return owner
        if not profile.email:
            raise EmailMissing(
                f"{provider.label} did not share an email address with us. Add a verified email to your "
                f"{provider.label} account (or allow access to it), then try again."
            )
        existing = await User.select(User.id, User.email_verified).where(User.email == profile.email).first()
        try:
            if existing is None:
                return await _create_user(auth, profile, tokens)
            if not profile.email_verified:
                auth_event(
                    "oauth.refused_unverified_email", user_id=existing["id"], provider=profile.provider
                )
                raise EmailTaken(
                    f"An account with {profile.email} already exists, and {provider.label} has not verified "
                    f"that address. Sign in another way, then link {provider.label} from your account page."
                )
            return await _link_by_email(
                auth, existing["id"], bool(existing["email_verified"]), profile, tokens
            )
        except UNIQUE_VIOLATIONS:
            continue
    raise Conflict("Someone else is signing in with this account right now. Please try again.")


async def _create_user(auth: Auth, profile: OAuthProfile, tokens: OAuthTokens) -> int:
    now = auth.clock()
    async with write_transaction():
        rows = await User.insert(
            User(
                email=profile.email,
                name=profile.name,
                avatar=profile.avatar,
                email_verified=profile.email_verified,
                created_at=now,
                updated_at=now,
            )
        ).returning(User.id)
        user_id = int(rows[0]["id"])
        await Account.insert(_new_account(user_id, profile, tokens, now))
    auth_event("oauth.user_created", user_id=user_id, provider=profile.provider)
    return user_id


async def _link_by_email(
    auth: Auth, user_id: int, user_verified: bool, profile: OAuthProfile, tokens: OAuthTokens
) -> int:
    identity = _new_account(user_id, profile, tokens, auth.clock())
    took_over = await claim_mailbox(auth, user_id, Proof(identity=identity, name=profile.name))
    auth_event("oauth.linked_by_email", user_id=user_id, provider=profile.provider, took_over=took_over)
    return user_id


async def sign_in(
    auth: Auth, provider: OAuthProvider, done: Completed, *, ip: str, user_agent: str, binding: str
) -> SignedIn | None:
    """Finish an OAuth sign-in: resolve the user, then start a session like a password sign-in.

    With two-factor on, the provider is the first factor only: the sign-in is held for a code under
    `binding` (this browser's fresh secret) and None comes back, as for a password.
    """
    user_id = await resolve_user(auth, provider, done.profile, done.tokens)
    if await two_factor_enabled(user_id):
        await hold_sign_in(auth, user_id, binding=binding, method=provider.name)
        return None
    return await start_session(auth, user_id, ip=ip, user_agent=user_agent, method=provider.name)


async def link(auth: Auth, provider: OAuthProvider, user_id: int, done: Completed) -> bool:
    """Attach the identity to `user_id` (signed in); False when it was already linked to them."""
    profile = done.profile
    owner = await _owner_of(profile)
    if owner == user_id:
        await _save_tokens(auth, profile, done.tokens)
        return False
    if owner is not None:
        raise IdentityInUse(f"That {provider.label} account is already linked to another user.")
    has_one = await Account.exists().where((Account.user == user_id) & (Account.provider == provider.name))
    if has_one:
        raise IdentityInUse(
            f"Another {provider.label} account is already linked. Unlink it first to link this one."
        )
    try:
        await Account.insert(_new_account(user_id, profile, done.tokens, auth.clock()))
    except UNIQUE_VIOLATIONS:
        raise IdentityInUse(f"That {provider.label} account is already linked to another user.") from None
    auth_event("oauth.linked", user_id=user_id, provider=provider.name)
    return True


async def unlink(auth: Auth, user_id: int, provider: str, label: str) -> None:
    """Remove a provider from the account, unless it is the last way left to sign in."""
    async with write_transaction():
        # Touch the user row first: on PostgreSQL it locks, so two unlinks cannot both pass the check.
        await User.update({User.updated_at: auth.clock()}).where(User.id == user_id)
        deleted = (
            await Account.delete()
            .where(
                (Account.user == user_id) & (Account.provider == provider) & (Account.provider != CREDENTIALS)
            )
            .returning(Account.id)
        )
        if not deleted:
            raise NotFound(f"{label} is not linked to your account.")
        remaining = await Account.count().where(
            (Account.user == user_id)
            & ((Account.provider != CREDENTIALS) | Account.password_hash.is_not_null())
        )
        if remaining == 0:
            # Raising inside the transaction rolls the delete back.
            raise LastSignInMethod(
                f"{label} is your only way to sign in. Set a password or link another provider first."
            )
    auth_event("oauth.unlinked", user_id=user_id, provider=provider)


async def linked_accounts(user_id: int, oauth: OAuthClient | None) -> list[LinkedAccount]:
    """Every configured provider (linked or not), then linked ones no longer configured."""
    rows = await Account.select(Account.provider, Account.created_at).where(
        (Account.user == user_id) & (Account.provider != CREDENTIALS)
    )
    linked = {row["provider"]: row["created_at"] for row in rows}
    providers = oauth.providers if oauth else {}
    listing = [
        LinkedAccount(name, p.label, name in linked, linked.get(name)) for name, p in providers.items()
    ]
    listing += [
        LinkedAccount(name, name.capitalize(), True, at, configured=False)
        for name, at in linked.items()
        if name not in providers
    ]
    return listing
