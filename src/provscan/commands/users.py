"""``provscan users add|token|revoke|unlock|reset-password|remove|list``: the web console's
local accounts (no default account)."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text

from provscan.commands.common import (
    EXIT_USAGE,
    DbOption,
    ExitCode,
    epilog,
    fail,
    fail_for,
    open_db,
    output_console,
    require_existing_db,
)
from provscan.errors import ProvscanError

if TYPE_CHECKING:
    from provscan.store.users import User

_EXIT_CODES: list[ExitCode] = [
    (0, "done"),
    (1, "the database cannot be opened or written (message on stderr)"),
    (
        2,
        "bad argument (an existing or unknown user, a short password, no password given, "
        "a disabled account to unlock, no database file at --db)",
    ),
]


def _epilog(*examples: str) -> str:
    return epilog(*examples, codes=_EXIT_CODES)


class Role(StrEnum):
    viewer = "viewer"
    analyst = "analyst"
    admin = "admin"


users_app = typer.Typer(
    short_help="Accounts for `provscan serve`: users and their API tokens.",
    name="users",
    help="Accounts for `provscan serve`: add, issue or revoke API tokens, unlock, reset a "
    "password, remove, list.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _password() -> str:
    """From a prompt on a terminal (asked twice), else from PROVSCAN_PASSWORD."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise fail("the passwords differ", EXIT_USAGE)
        return first
    from_env = os.environ.get("PROVSCAN_PASSWORD")
    if not from_env:
        raise fail(
            "no terminal to ask for a password: set PROVSCAN_PASSWORD (never on the command line)",
            EXIT_USAGE,
        )
    return from_env


@users_app.command(
    "add",
    short_help="Add a user (the password is asked for).",
    epilog=_epilog(
        "provscan users add admin --role admin",
        "PROVSCAN_PASSWORD=... provscan users add alice --role analyst --db /srv/provscan.db",
    ),
)
def add(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="User name (letters, digits, . _ - @).")
    ],
    role: Annotated[
        Role, typer.Option("--role", metavar="viewer|analyst|admin", help="What the user may do.")
    ],
    db: DbOption = None,
    create: Annotated[
        bool,
        typer.Option(
            "--create",
            help="Start a new store at --db when there is none (the first account of a new "
            "console); without it a missing database file is refused.",
        ),
    ] = False,
) -> None:
    """Add a user; the password is asked for (or read from PROVSCAN_PASSWORD without a terminal)."""
    from provscan.store.users import check_new_user

    if not create:
        try:
            require_existing_db(db)
        except ProvscanError as exc:
            raise fail(f"{exc}; or add --create to start a new store", EXIT_USAGE) from None
    password = _password()
    try:
        check_new_user(name, role.value, password)
        with open_db(db) as store:
            store.accounts().add_user(name, role.value, password, actor=_actor(), address="cli")
    except ProvscanError as exc:
        raise fail_for(exc) from None
    typer.echo(f"added {name} ({role.value})")


@users_app.command(
    "token",
    short_help="Issue a new API token (shown once).",
    epilog=_epilog("provscan users token alice", "TOKEN=$(provscan users token ci | tail -n 1)"),
)
def token(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user the token acts as.")],
    db: DbOption = None,
) -> None:
    """Issue a new API token (sent as `Authorization: Bearer TOKEN`); shown once, as the last
    line: only its hash is kept."""
    try:
        with open_db(db, must_exist=True) as store:
            issued = store.accounts().issue_token(name, actor=_actor(), address="cli")
    except ProvscanError as exc:
        raise fail_for(exc) from None
    typer.echo(f"API token for {name} (shown once, store it now):")
    typer.echo(issued)


@users_app.command(
    "remove",
    short_help="Remove a user with their API tokens and sessions.",
    epilog=_epilog("provscan users remove alice", "provscan users remove bob --db /srv/p.db"),
)
def remove(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user to remove.")],
    db: DbOption = None,
) -> None:
    """Remove a user with their API tokens and sessions (the last admin cannot be removed)."""
    try:
        with open_db(db, must_exist=True) as store:
            store.accounts().remove_user(name, actor=_actor(), address="cli")
    except ProvscanError as exc:
        raise fail_for(exc) from None
    typer.echo(f"removed {name}")


@users_app.command(
    "revoke",
    short_help="Revoke every API token of a user.",
    epilog=_epilog("provscan users revoke ci"),
)
def revoke(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user whose tokens end.")],
    db: DbOption = None,
) -> None:
    """Revoke every API token of a user (their password and sessions stay)."""
    try:
        with open_db(db, must_exist=True) as store:
            count = store.accounts().revoke_tokens(name, actor=_actor(), address="cli")
    except ProvscanError as exc:
        raise fail_for(exc) from None
    typer.echo(f"revoked {count} token(s) of {name}")


@users_app.command(
    "unlock",
    short_help="End the lockout that failed logins put on a user.",
    epilog=_epilog("provscan users unlock alice", "provscan users unlock alice --db /srv/p.db"),
)
def unlock(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The locked-out user.")],
    db: DbOption = None,
) -> None:
    """End the lockout that failed logins put on a user (five in a row lock an account for 15
    minutes) and forget their failures; audited. Their password, sessions and API tokens
    stay. A disabled account is not locked out: an admin enables it in the console."""
    try:
        with open_db(db, must_exist=True) as store:
            _, was_locked = store.accounts().unlock(name, actor=_actor(), address="cli")
    except ProvscanError as exc:
        raise fail_for(exc) from None
    typer.echo(f"unlocked {name}" if was_locked else f"{name} was not locked out; nothing to do")


@users_app.command(
    "reset-password",
    short_help="Set another user's password; ends their sessions and API tokens.",
    epilog=_epilog(
        "provscan users reset-password alice",
        "PROVSCAN_PASSWORD=... provscan users reset-password alice --db /srv/provscan.db",
    ),
)
def reset_password(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user whose password is set.")],
    db: DbOption = None,
) -> None:
    """Set a user's password, as an admin does after a compromise or a forgotten password:
    the new one is asked for (or read from PROVSCAN_PASSWORD without a terminal, never from
    the command line). Every login session of the user ends and every API token of theirs
    is revoked (issue new ones with `provscan users token`); a lockout ends; audited. (A user
    who changes their own password in the console keeps their API tokens and this session;
    their other sessions end.)"""
    try:
        with open_db(db, must_exist=True) as store:
            store.accounts().user(name)  # an unknown user before the password is asked for
    except ProvscanError as exc:
        raise fail_for(exc) from None
    password = _password()
    try:
        with open_db(db, must_exist=True) as store:
            _, ended, revoked = store.accounts().reset_password(
                name, password, actor=_actor(), address="cli"
            )
    except ProvscanError as exc:
        raise fail_for(exc) from None
    typer.echo(
        f"reset the password of {name}: ended {ended} session(s), revoked {revoked} API token(s)"
    )


@users_app.command(
    "list",
    short_help="The users, their roles and any lockout.",
    epilog=_epilog("provscan users list", "provscan users list --json"),
)
def list_users(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """The users, their roles and any lockout: a table with a header line, as the other
    list commands print (--json for scripts)."""
    import json

    try:
        with open_db(db, must_exist=True) as store:
            found = store.accounts().users()
    except ProvscanError as exc:
        raise fail_for(exc) from None
    if as_json:
        typer.echo(json.dumps([user.to_json() for user in found], indent=2))
        return
    _users_table(found, output_console())


def _users_table(users: Sequence[User], console: Console) -> None:
    """The users under a header line (Name, Role, Created, and Login when one is locked out
    or disabled), fitted to the console like `cases list`; "no users" when there are none."""
    from provscan.report.formats import fit_columns, print_columns

    if not users:
        console.print("no users", highlight=False)
        return
    now = datetime.now(UTC)
    rows = [
        {
            "Name": Text(user.name),
            "Role": Text(user.role),
            "Created": Text(user.created.date().isoformat()),
            "Login": Text(_login(user, now)),
        }
        for user in users
    ]
    columns = ["Name", "Role", "Created", "Login"]
    if all(row["Login"].plain == "allowed" for row in rows):
        columns.remove("Login")
    widths = fit_columns(columns, rows, console.width, shrink=(("Login", 8),), drop=(), indent=0)
    print_columns(rows, widths, console, header=True, wrapping=frozenset({"Login"}), indent=0)


def _login(user: User, now: datetime) -> str:
    """Whether the user may log in: allowed, disabled, or locked until a time (UTC)."""
    if user.disabled:
        return "disabled"
    until = user.locked_until
    if until is not None:
        until = until if until.tzinfo else until.replace(tzinfo=UTC)
        if until > now:
            return f"locked until {until:%Y-%m-%d %H:%M} UTC"
    return "allowed"
