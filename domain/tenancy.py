"""The tenant hook: which tenant (organization) a caller acts in, for per-tenant limits, usage and actors.

`Services.tenant_of` holds one; remote functions ask it through `await ctx.tenant()`. The app sets it
to `domain.orgs.members.active_tenant` (the slug of the session's active organization); apps built
without it (tests of other parts) keep `no_tenant`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain.auth.types import AuthSession, AuthUser

# Given the signed-in user and session (None when signed out), the tenant's id (`scoped()`'s rule:
# 1-64 of A-Z a-z 0-9 _ . -) or None. Called once per use per request: keep it cheap.
TenantOf = Callable[[AuthUser | None, AuthSession | None], Awaitable[str | None]]


async def no_tenant(user: AuthUser | None, session: AuthSession | None) -> str | None:
    """The default hook: no caller is in a tenant (per-org limits fall back to the user, then the IP)."""
    return None
