"""Operator commands: `createadmin`, `users list|promote|demote|reset-2fa`, `alarms list|retry|discard`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC
from typing import TextIO

from redis.exceptions import RedisError

from actors import alarm_store
from actors.connection import RedisClient, create_redis
from actors.embedded import EmbeddedRedis
from actors.runtime import ActorSet, discover
from actors.scripts import runner_for
from cli_support import CommandError, open_database, step
from domain.admin.users import (
    UserRow,
    check_new_admin,
    check_password,
    create_admin,
    find_user,
    list_users,
    reset_two_factor_by_email,
    set_admin,
)
from domain.auth.passwords import PasswordHasher
from domain.errors import DomainError
from domain.mail import make_mailer
from domain.outbox import Outbox
from settings import Settings

Handler = Callable[[Settings, argparse.Namespace], int]


async def forget_cached_user(settings: Settings, user_id: int) -> None:
    """Tell running app processes to reload this user (their caches would keep the old admin flag).

    Uses REDIS_URL, else the embedded Redis of a running app in the same DATA_DIR; with neither,
    no process holds a cached copy. Redis trouble is logged and the caches expire within 150 s.
    """
    from domain.auth.sessions import SessionStore

    async with app_redis(settings) as redis:
        if redis is not None:
            await SessionStore(redis).invalidate_user(user_id)


@asynccontextmanager
async def app_redis(settings: Settings) -> AsyncIterator[RedisClient | None]:
    """REDIS_URL's Redis, else the embedded one of an app running in the same DATA_DIR, else None."""
    url = settings.redis_url
    if url is None:
        embedded = EmbeddedRedis(settings.data_dir)
        if not embedded.socket_path.exists():
            yield None
            return
        url = embedded.url
    redis = create_redis(url)
    try:
        yield redis
    finally:
        await redis.aclose()


def _fail(exc: DomainError) -> Exception:
    return CommandError(exc.message)


def read_password(stdin: TextIO, *, prompt: Callable[[str], str] = getpass.getpass) -> str:
    """From a terminal: asked twice without echo. Otherwise: the first line of stdin (for scripts)."""
    if stdin.isatty():
        first = prompt("Password: ")
        if first != prompt("Password (again): "):
            raise CommandError("the two passwords differ; nothing was changed")
        return first
    line = stdin.readline()
    if not line:
        raise CommandError("no password on stdin: pipe it as one line, or run in a terminal to be asked")
    return line.rstrip("\r\n")


def cmd_createadmin(settings: Settings, args: argparse.Namespace) -> int:
    try:
        email, name = check_new_admin(args.email, args.name or "")
    except DomainError as exc:
        raise _fail(exc) from None

    async def existing() -> UserRow | None:
        async with open_database(settings):
            return await find_user(email)

    user = asyncio.run(existing())
    if user is not None and user.is_admin:
        step(f"{email} is already an admin (user {user.id}); nothing to do")
        return 0
    if user is not None:

        async def promote() -> UserRow:
            async with open_database(settings):
                promoted = await set_admin(email, True)
            await forget_cached_user(settings, promoted.id)
            return promoted

        promoted = asyncio.run(promote())
        step(f"promoted {email} (user {promoted.id}) to admin; their password is unchanged")
        if not promoted.email_verified:
            step("note: their email is not verified yet, so they must confirm it before signing in")
        return 0
    password = read_password(sys.stdin)
    try:
        check_password(password, email=email, name=name)
    except DomainError as exc:
        raise _fail(exc) from None

    async def create() -> UserRow:
        async with open_database(settings):
            return await create_admin(email, name, password, PasswordHasher())

    try:
        created = asyncio.run(create())
    except DomainError as exc:
        raise _fail(exc) from None
    step(f"created admin {email} (user {created.id}); sign in at {settings.base_url}/auth/sign-in")
    return 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def format_users(users: list[UserRow]) -> str:
    """A plain-text table: id, email, name, verified, admin, created (UTC)."""
    header = ("id", "email", "name", "verified", "admin", "created (UTC)")
    rows = [
        (
            str(u.id),
            u.email,
            u.name,
            _yes(u.email_verified),
            _yes(u.is_admin),
            u.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        )
        for u in users
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in [header, *rows]]
    return "\n".join(lines)


def cmd_users(settings: Settings, args: argparse.Namespace) -> int:
    if args.users_command == "list":

        async def everyone() -> list[UserRow]:
            async with open_database(settings):
                return await list_users()

        users = asyncio.run(everyone())
        if users:
            print(format_users(users))
        print(f"{len(users)} user{'' if len(users) == 1 else 's'}")
        return 0

    if args.users_command == "reset-2fa":
        return reset_2fa(settings, args.email)

    make_admin = args.users_command == "promote"

    async def change() -> tuple[UserRow, bool]:
        async with open_database(settings):
            current = await find_user(args.email)
            if current is not None and current.is_admin == make_admin:
                return current, False
            changed = await set_admin(args.email, make_admin)
        await forget_cached_user(settings, changed.id)
        return changed, True

    try:
        user, changed = asyncio.run(change())
    except DomainError as exc:
        raise _fail(exc) from None
    if not changed:
        state = "already an admin" if make_admin else "not an admin"
        step(f"{user.email} (user {user.id}) is {state}; nothing to do")
        return 0
    step(f"{user.email} (user {user.id}) is {'now an admin' if make_admin else 'no longer an admin'}")
    return 0


def reset_2fa(settings: Settings, email: str) -> int:
    """Turn a user's two-factor sign-in off; the auth event is logged and the owner mailed."""

    async def reset() -> tuple[UserRow, bool]:
        mailer = make_mailer(
            smtp_url=settings.smtp_url,
            mail_from=settings.mail_from,
            data_dir=settings.data_dir,
            is_production=settings.is_production,
        )
        async with app_redis(settings) as redis, open_database(settings):
            # Through the app's outbox when its Redis answers; with no app running, sent at once.
            outbox = Outbox(redis, mailer) if redis is not None else None
            try:
                return await reset_two_factor_by_email(outbox or mailer, settings.base_url, email)
            finally:
                if outbox is not None:
                    outbox.close()

    try:
        user, removed = asyncio.run(reset())
    except DomainError as exc:
        raise _fail(exc) from None
    if not removed:
        step(f"{user.email} (user {user.id}) has no two-factor sign-in; nothing to do")
        return 0
    step(f"two-factor sign-in of {user.email} (user {user.id}) is off; they were mailed about it")
    return 0


def add_createadmin_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email", metavar="EMAIL", help="the admin's email address")
    parser.add_argument(
        "--name", default="", help="display name for a new user (default: the email's local part)"
    )
    parser.epilog = (
        "A new user is asked for a password (twice, hidden); with stdin not a terminal, the first line "
        "of stdin is the password. An existing user is promoted and keeps their password."
    )


def add_users_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    text = "table of every user: id, email, name, verified, admin, created"
    sub.add_parser("list", help=text, description=text)
    actions = (
        ("promote", "make a user an admin"),
        ("demote", "take a user's admin rights away"),
        ("reset-2fa", "turn a user's two-factor sign-in off (lost authenticator); they are mailed"),
    )
    for action, text in actions:
        cmd = sub.add_parser(action, help=text, description=text)
        cmd.add_argument("email", metavar="EMAIL", help="the user's email address")


def format_alarms(alarms: list[alarm_store.AlarmInfo]) -> str:
    """A plain-text table: alarm (kind/id), state, next run (UTC), tries so far, last error."""
    header = ("alarm", "state", "next (UTC)", "tries", "last error")
    rows = [
        (a.member, a.state, a.next_at.strftime("%Y-%m-%d %H:%M:%S"), str(a.attempt), a.error[:80])
        for a in alarms
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in [header, *rows]]
    return "\n".join(lines)


def cmd_alarms(settings: Settings, args: argparse.Namespace) -> int:
    action: str = args.alarms_command
    target: tuple[str, str] | None = None
    if action != "list":
        try:
            target = alarm_store.parse_member(args.alarm)
        except ValueError as exc:
            raise CommandError(
                f"{args.alarm!r} is not an alarm: give <kind>/<id> as `alarms list` shows ({exc})"
            ) from None

    async def run() -> tuple[list[alarm_store.AlarmInfo], bool]:
        async with app_redis(settings) as redis:
            if redis is None:
                raise CommandError("no Redis: set REDIS_URL, or start the app (its embedded Redis) first")
            if target is None:
                return await alarm_store.list_alarms(redis, limit=args.limit), False
            runner = runner_for(redis, coalesce=False)
            if action == "retry":
                return [], await alarm_store.retry_alarm(runner, *target)
            discover()  # so a kind that acts on a discard (the outbox marks its mail) does
            return [], await ActorSet(redis, runner=runner).cancel_alarm(*target)

    try:
        alarms, changed = asyncio.run(run())
    except (RedisError, OSError) as exc:
        raise CommandError(
            f"Redis did not answer ({exc}); check REDIS_URL or that the app is running"
        ) from None
    if target is None:
        if alarms:
            print(format_alarms(alarms))
        print(f"{len(alarms)} alarm{'' if len(alarms) == 1 else 's'}")
        return 0
    if not changed:
        raise CommandError(f"{args.alarm} has no alarm (it ran, or was cancelled)")
    step(f"{args.alarm}: {'due now, with a fresh count of tries' if action == 'retry' else 'discarded'}")
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 10_000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 10000, got {text!r}")
    return int(text)


def add_alarms_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="alarms_command", required=True, metavar="ACTION")
    text = "table of actor alarms (pending, running, retrying, dead), soonest first"
    listing = sub.add_parser("list", help=text, description=text)
    listing.add_argument(
        "--limit", type=_positive, default=100, help="show at most this many, 1 to 10000 (default 100)"
    )
    for action, text in (
        ("retry", "run an alarm now with a fresh count of tries (a dead-lettered one too)"),
        ("discard", "delete an alarm, whatever its state"),
    ):
        cmd = sub.add_parser(action, help=text, description=text)
        cmd.add_argument("alarm", metavar="ID", help="the alarm as `alarms list` shows it: <kind>/<actor id>")


# name -> (handler, help, argument builder); cli.py adds these to its COMMANDS and parser.
OPERATOR_COMMANDS: dict[str, tuple[Handler, str, Callable[[argparse.ArgumentParser], None]]] = {
    "createadmin": (
        cmd_createadmin,
        "create an admin, or promote an existing user",
        add_createadmin_arguments,
    ),
    "users": (cmd_users, "list users; promote or demote admins; reset two-factor", add_users_arguments),
    "alarms": (cmd_alarms, "list actor alarms; retry or discard one", add_alarms_arguments),
}
