"""Who holds an account: the mailbox owner's claim on an unproven one, and ending every older link.

The rule both sign-up links and OAuth follow (pre-account hijacking): an account whose address
nobody has proven yet belongs to whoever proves it first. At that moment every sign-in method,
session and emailed link the account had goes (they came from someone who never proved the
mailbox), and the account keeps only what the proof itself brought: the password chosen by the
party who followed the link, or the provider identity that vouched for the address.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.auth.core import CREDENTIALS, Auth, write_transaction
from domain.auth.events import auth_event
from domain.auth.tables import Account, BackupCode, Passkey, TwoFactor, User, Verification


@dataclass(frozen=True, slots=True)
class Proof:
    """What arrives with a proof of the mailbox: the sign-in method it sets up, and a display name."""

    password_hash: str | None = None
    identity: Account | None = None
    name: str = ""
    # The binding hash of the browser that followed a sign-up link it started: the passkeys that
    # browser made while signing up stay (domain/auth/passkey_signup.py); every other one goes.
    passkey_binding: str = ""


async def claim_mailbox(auth: Auth, user_id: int, proof: Proof) -> bool:
    """Mark the address proven and apply `proof`; True when this took over an unproven account."""
    now = auth.clock()
    async with write_transaction():
        # The conditional update is the check and the claim at once: two proofs cannot both take over.
        claimed = (
            await User.update({User.email_verified: True, User.updated_at: now})
            .where((User.id == user_id) & (User.email_verified == False))  # noqa: E712
            .returning(User.email)
        )
        dropped = 0
        if claimed:
            stale = Account.delete().where(Account.user == user_id)
            if proof.identity is not None:
                stale = stale.where(
                    (Account.provider != proof.identity.provider)
                    | (Account.provider_account_id != proof.identity.provider_account_id)
                )
            await stale
            await Verification.delete().where(Verification.user == user_id)
            stale_passkeys = Passkey.delete().where(Passkey.user == user_id)
            if proof.passkey_binding:
                stale_passkeys = stale_passkeys.where(Passkey.binding_hash != proof.passkey_binding)
            dropped = len(await stale_passkeys.returning(Passkey.id))
            await Passkey.update({Passkey.binding_hash: ""}).where(Passkey.user == user_id)
            await TwoFactor.delete().where(TwoFactor.user == user_id)
            await BackupCode.delete().where(BackupCode.user == user_id)
            name = proof.name or str(claimed[0]["email"]).split("@", 1)[0][:100]
            await User.update({User.name: name}).where(User.id == user_id)
        if proof.password_hash is not None:
            await set_password(auth, user_id, proof.password_hash)
        if proof.identity is not None:
            linked = await Account.exists().where(
                (Account.user == user_id)
                & (Account.provider == proof.identity.provider)
                & (Account.provider_account_id == proof.identity.provider_account_id)
            )
            if not linked:
                await Account.insert(proof.identity)
    if claimed:
        await auth.sessions.revoke_all(user_id)
        # The passkeys a sign-up left that this proof did not keep are removed methods too.
        auth_event("account.claimed", user_id=user_id, passkeys_removed=dropped)
    await auth.sessions.invalidate_user(user_id)
    return bool(claimed)


async def revoke_older_tokens(
    auth: Auth, user_id: int, *, keep_session_id: int | None = None, end_sessions: bool = True
) -> int:
    """After a credential or address change: every emailed link of the account stops working.

    Reset, email-change and verification links all go (one sent to an old address or left by an
    intruder must not outlive the change), and with `end_sessions` every session but
    `keep_session_id` ends too. Returns how many sessions ended.
    """
    links = await Verification.delete().where(Verification.user == user_id).returning(Verification.id)
    ended = await auth.sessions.revoke_all(user_id, keep_session_id=keep_session_id) if end_sessions else 0
    await auth.sessions.invalidate_user(user_id)
    auth_event("tokens.revoked", user_id=user_id, links=len(links), sessions=ended)
    return ended


async def set_password(auth: Auth, user_id: int, password_hash: str) -> None:
    """Store `password_hash` on the user's credentials account, creating it for OAuth-only users."""
    now = auth.clock()
    async with write_transaction():
        existing = (
            await Account.select(Account.id)
            .where((Account.user == user_id) & (Account.provider == CREDENTIALS))
            .first()
        )
        if existing:
            await Account.update({Account.password_hash: password_hash, Account.updated_at: now}).where(
                Account.id == existing["id"]
            )
        else:
            await Account.insert(
                Account(
                    user=user_id,
                    provider=CREDENTIALS,
                    provider_account_id=str(user_id),
                    password_hash=password_hash,
                    created_at=now,
                    updated_at=now,
                )
            )
