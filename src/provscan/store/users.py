"""Local users, API tokens, login sessions and the append-only audit log (issue 16).

Passwords are hashed with argon2 (argon2-cffi's defaults, RFC 9106); API tokens and session
ids are random (``secrets``) and stored only as SHA-256 digests, so a copy of the database
does not log anyone in. Logins are throttled per account (``LOCK_AFTER`` failures lock it
for ``LOCK_MINUTES``) and per address (``ADDRESS_LIMIT`` failures in ``ADDRESS_WINDOW``).
Every state change is one row of ``audit_log``, never updated or deleted.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from provscan.errors import StoreRequestError
from provscan.store.models import Base

#: Roles, weakest first: each can do what the ones before it can.
ROLES = ("viewer", "analyst", "admin")
#: Failed logins in a row that lock an account, and for how long.
LOCK_AFTER = 5
LOCK_MINUTES = 15
#: Failed logins from one address within the window before it is refused for a while.
ADDRESS_LIMIT = 20
ADDRESS_WINDOW = timedelta(minutes=15)
#: How long a login session lasts.
SESSION_HOURS = 12
#: Refused attempts, each one audit row: failed logins (``login.failed``, bounded by the
#: address limit above), the others (refusals of a locked, disabled or throttled login, of a
#: form or request without its CSRF token, of a role too weak for a change) are
#: :data:`BUDGETED_REFUSALS`.
REFUSALS = (
    "login.failed",
    "user.locked",
    "password.failed",
    "login.locked",
    "login.disabled",
    "login.throttled",
    "refused.csrf",
    "refused.role",
    "refused.login-form",
)
#: Refusals nothing else bounds (a locked account does not count failures, an anonymous
#: client can post a stale login form forever): each address may add this many rows in
#: ``ADDRESS_WINDOW``, and everyone together :data:`REFUSALS_TOTAL`; past either, one
#: ``refused.suppressed`` row says so and the rest of the window's refusals are answered
#: but not written.
BUDGETED_REFUSALS = (
    "login.locked",
    "login.disabled",
    "login.throttled",
    "refused.csrf",
    "refused.role",
    "refused.login-form",
    "refused.token",
)
REFUSALS_PER_ADDRESS = 50
REFUSALS_TOTAL = 2000
SUPPRESSED = "refused.suppressed"
#: Shortest password accepted.
MIN_PASSWORD_LENGTH = 12
#: Token text: ``pst_<id>_<secret>``; the id finds the row, the digest proves the secret.
TOKEN_PREFIX = "pst_"
#: A disabled account is one locked until this moment (no schema change: ``locked_until``
#: already refuses logins); an admin enables it again.
DISABLED_UNTIL = datetime(9999, 12, 31, tzinfo=UTC)

_hasher = PasswordHasher()
#: A hash checked when the account does not exist, so a wrong name costs as long as a wrong
#: password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("provscan-no-such-user")

_WHEN = DateTime(timezone=True)


class UserRow(Base):
    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(_WHEN)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(_WHEN)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"), index=True)
    #: SHA-256 of the whole token, hex.
    digest: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(_WHEN)


class SessionRow(Base):
    __tablename__ = "sessions"

    #: SHA-256 of the cookie value, hex.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"), index=True)
    #: The synchronizer token every state-changing request with this cookie must carry.
    csrf: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(_WHEN)
    expires: Mapped[datetime] = mapped_column(_WHEN)


class AuditRow(Base):
    """One state change: who, when, what, from where. Appended, never changed."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(_WHEN, index=True)
    #: A user name, ``cli:<os user>`` or ``-`` when nobody is logged in.
    actor: Mapped[str] = mapped_column(Text)
    #: e.g. ``login.failed``, ``user.add``, ``case.update``.
    action: Mapped[str] = mapped_column(String(32), index=True)
    target: Mapped[str | None] = mapped_column(Text)
    #: The client address, ``cli`` for the command line.
    address: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created: datetime
    locked_until: datetime | None = None

    def can(self, role: str) -> bool:
        """Whether this user has ``role`` or a stronger one."""
        return ROLES.index(self.role) >= ROLES.index(role)

    @property
    def disabled(self) -> bool:
        return _disabled(self.locked_until)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "created": _aware(self.created).isoformat(),
            "locked_until": _aware(self.locked_until).isoformat() if self.locked_until else None,
            "disabled": self.disabled,
        }


class LoginRefused(StoreRequestError):
    """A login that failed; ``throttled`` when the account or address is locked out."""

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _disabled(locked_until: datetime | None) -> bool:
    return locked_until is not None and _aware(locked_until) >= DISABLED_UNTIL


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _user(row: UserRow) -> User:
    return User(row.name, row.role, _aware(row.created), row.locked_until)


def check_new_user(name: str, role: str, password: str) -> None:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise StoreRequestError(
            "a user name is 1-64 letters, digits or . _ - @ (no spaces or markup)"
        )
    _check_role(role)
    check_password(password)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise StoreRequestError(f"unknown role {role!r} (one of {', '.join(ROLES)})")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StoreRequestError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise StoreRequestError("the password must have at most 1024 characters")


def audit_entry(
    session: Session,
    actor: str,
    action: str,
    address: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one audit-log row to ``session``: it commits with the change it records."""
    session.add(
        AuditRow(
            at=datetime.now(UTC),
            actor=actor,
            action=action,
            target=target,
            address=address[:64],
            detail=detail or {},
        )
    )


def _refusals_since(session: Session, since: datetime, address: str | None = None) -> int:
    query = (
        select(func.count())
        .select_from(AuditRow)
        .where(AuditRow.action.in_(BUDGETED_REFUSALS), AuditRow.at >= since)
    )
    if address is not None:
        query = query.where(AuditRow.address == address[:64])
    return int(session.scalar(query) or 0)


def refusal_entry(
    session: Session,
    actor: str,
    action: str,
    address: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Add the audit row of a refused attempt (``action``: one of
    :data:`BUDGETED_REFUSALS`) unless the address or everyone has used the window's budget;
    the first refusal over it writes one ``refused.suppressed`` row instead. True when the
    refusal's own row was written."""
    if action not in BUDGETED_REFUSALS:
        raise ValueError(f"{action!r} is not a budgeted refusal")
    now = datetime.now(UTC)
    since = now - ADDRESS_WINDOW
    over = None
    if _refusals_since(session, since, address) >= REFUSALS_PER_ADDRESS:
        over = "address"
    elif _refusals_since(session, since) >= REFUSALS_TOTAL:
        over = "everyone"
    if over is None:
        audit_entry(session, actor, action, address, target, detail)
        return True
    noted = (
        select(func.count())
        .select_from(AuditRow)
        .where(AuditRow.action == SUPPRESSED, AuditRow.at >= since)
    )
    if over == "address":
        noted = noted.where(AuditRow.address == address[:64])
    if not session.scalar(noted):
        limit = REFUSALS_PER_ADDRESS if over == "address" else REFUSALS_TOTAL
        minutes = int(ADDRESS_WINDOW.total_seconds() // 60)
        audit_entry(
            session,
            "-",
            SUPPRESSED,
            address,
            None,
            {"over": over, "limit": limit, "minutes": minutes, "first": action},
        )
    return False


def _keep_an_admin(session: Session, row: UserRow) -> None:
    """Refuses a change that would take away the last active admin (``row`` is one)."""
    if row.role != "admin" or _disabled(row.locked_until):
        return
    others = session.scalars(
        select(UserRow.locked_until).where(UserRow.role == "admin", UserRow.name != row.name)
    )
    if not any(not _disabled(until) for until in others):
        raise StoreRequestError(f"{row.name!r} is the last admin; add another first")


class Accounts:
    """Users, tokens, sessions and the audit log of one store (``Store.accounts()``)."""

    def __init__(
        self,
        reading: Callable[[str], AbstractContextManager[Session]],
        writing: Callable[[str], AbstractContextManager[Session]],
        display_name: str,
    ) -> None:
        self._reading = reading
        self._writing = writing
        self._display = display_name

    # --- audit ---------------------------------------------------------------------------

    _audit = staticmethod(audit_entry)

    def audit(
        self,
        actor: str,
        action: str,
        address: str,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry to the audit log."""
        with self._writing("the audit log") as session:
            self._audit(session, actor, action, address, target, detail)

    def refused(
        self,
        actor: str,
        action: str,
        address: str,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> bool:
        """Record a refused attempt within the refusal budget (see :func:`refusal_entry`)."""
        with self._writing("the audit log") as session:
            return refusal_entry(session, actor, action, address, target, detail)

    def audit_log(
        self,
        limit: int = 200,
        before: int | None = None,
        *,
        refusals: bool = False,
        since: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The newest entries first (``before``: only entries older than that id;
        ``refusals``: only refused attempts; ``since``: only entries at or after it)."""
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if before is not None:
            query = query.where(AuditRow.id < before)
        if since is not None:
            query = query.where(AuditRow.at >= since)
        if refusals:
            query = query.where(AuditRow.action.in_((*REFUSALS, SUPPRESSED)))
        with self._reading("the audit log") as session:
            return [
                {
                    "id": row.id,
                    "at": _aware(row.at).isoformat(),
                    "actor": row.actor,
                    "action": row.action,
                    "target": row.target,
                    "address": row.address,
                    "detail": row.detail,
                }
                for row in session.scalars(query)
            ]

    # --- users ---------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str, *, actor: str, address: str) -> User:
        check_new_user(name, role, password)
        with self._writing("users") as session:
            if session.get(UserRow, name) is not None:
                raise StoreRequestError(f"user {name!r} already exists in {self._display}")
            row = UserRow(
                name=name,
                role=role,
                password_hash=_hasher.hash(password),
                created=datetime.now(UTC),
                failed_logins=0,
                locked_until=None,
            )
            session.add(row)
            self._audit(session, actor, "user.add", address, name, {"role": role})
            return _user(row)

    def remove_user(self, name: str, *, actor: str, address: str) -> None:
        """Remove a user with their tokens and sessions (the last admin stays)."""
        with self._writing("users") as session:
            row = session.get(UserRow, name)
            if row is None:
                raise StoreRequestError(f"no user {name!r} in {self._display}")
            _keep_an_admin(session, row)
            # Deleted here rather than by ON DELETE CASCADE alone: SQLite enforces foreign
            # keys only on connections that turned them on.
            session.execute(delete(ApiTokenRow).where(ApiTokenRow.user_name == name))
            session.execute(delete(SessionRow).where(SessionRow.user_name == name))
            session.delete(row)
            self._audit(session, actor, "user.remove", address, name)

    def set_role(self, name: str, role: str, *, actor: str, address: str) -> User:
        """Give user ``name`` another role (the last active admin keeps theirs)."""
        _check_role(role)
        with self._writing("users") as session:
            row = self._row(session, name)
            if row.role == role:
                return _user(row)
            _keep_an_admin(session, row)
            self._audit(session, actor, "user.role", address, name, {"role": [row.role, role]})
            row.role = role
            return _user(row)

    def set_disabled(self, name: str, disabled: bool, *, actor: str, address: str) -> User:
        """Disable an account (its sessions and API tokens end; it cannot log in) or enable
        it again. The last active admin cannot be disabled."""
        with self._writing("users") as session:
            row = self._row(session, name)
            if disabled == _disabled(row.locked_until):
                return _user(row)
            if disabled:
                _keep_an_admin(session, row)
                row.locked_until = DISABLED_UNTIL
                session.execute(delete(ApiTokenRow).where(ApiTokenRow.user_name == name))
                session.execute(delete(SessionRow).where(SessionRow.user_name == name))
            else:
                row.locked_until = None
                row.failed_logins = 0
            action = "user.disable" if disabled else "user.enable"
            self._audit(session, actor, action, address, name)
            return _user(row)

    def change_password(
        self, name: str, old: str, new: str, *, address: str, keep_session: str | None = None
    ) -> None:
        """Change ``name``'s own password: the old one must be right (a wrong one counts
        towards the account's lockout). Every other session of the user ends."""
        check_password(new)
        refused: LoginRefused | None = None
        now = datetime.now(UTC)
        with self._writing("users") as session:
            row = self._row(session, name)
            if row.locked_until and _aware(row.locked_until) > now:
                _hasher_check(_DUMMY_HASH, old)
                refused = LoginRefused("the account is locked for a while", throttled=True)
            elif not _hasher_check(row.password_hash, old):
                row.failed_logins += 1
                if row.failed_logins >= LOCK_AFTER:
                    row.locked_until = now + timedelta(minutes=LOCK_MINUTES)
                    row.failed_logins = 0
                    self._audit(session, "-", "user.locked", address, row.name)
                self._audit(session, name, "password.failed", address, name)
                refused = LoginRefused("the current password is wrong")
            else:
                row.password_hash = _hasher.hash(new)
                row.failed_logins = 0
                ended = delete(SessionRow).where(SessionRow.user_name == name)
                if keep_session is not None:
                    ended = ended.where(SessionRow.id != _digest(keep_session))
                session.execute(ended)
                self._audit(session, name, "password.change", address, name)
        if refused is not None:
            raise refused

    def unlock(self, name: str, *, actor: str, address: str) -> tuple[User, bool]:
        """End the lockout failed logins put on ``name`` (and forget its failures): the
        user and whether it was locked. A disabled account stays disabled (an admin enables
        it); audited as ``user.unlock``."""
        now = datetime.now(UTC)
        with self._writing("users") as session:
            row = self._row(session, name)
            if _disabled(row.locked_until):
                raise StoreRequestError(
                    f"user {name!r} is disabled, not locked out; an admin enables it"
                )
            was = row.locked_until is not None and _aware(row.locked_until) > now
            detail: dict[str, Any] = {"was_locked": was, "failed_logins": row.failed_logins}
            if was and row.locked_until is not None:
                detail["locked_until"] = _aware(row.locked_until).isoformat()
            row.locked_until = None
            row.failed_logins = 0
            self._audit(session, actor, "user.unlock", address, name, detail)
            return _user(row), was

    def reset_password(
        self, name: str, password: str, *, actor: str, address: str
    ) -> tuple[User, int, int]:
        """An admin sets ``name``'s password (what is done after a compromise): every login
        session of the user ends and every API token is revoked, and a lockout by failed
        logins ends (a disabled account stays disabled). Returns the user and how many
        sessions ended and tokens were revoked; audited as ``password.reset``."""
        check_password(password)
        with self._writing("users") as session:
            row = self._row(session, name)
            sessions = session.scalar(
                select(func.count()).select_from(SessionRow).where(SessionRow.user_name == name)
            )
            tokens = session.scalar(
                select(func.count()).select_from(ApiTokenRow).where(ApiTokenRow.user_name == name)
            )
            row.password_hash = _hasher.hash(password)
            row.failed_logins = 0
            if not _disabled(row.locked_until):
                row.locked_until = None
            session.execute(delete(SessionRow).where(SessionRow.user_name == name))
            session.execute(delete(ApiTokenRow).where(ApiTokenRow.user_name == name))
            ended, revoked = int(sessions or 0), int(tokens or 0)
            self._audit(
                session,
                actor,
                "password.reset",
                address,
                name,
                {"sessions_ended": ended, "tokens_revoked": revoked},
            )
            return _user(row), ended, revoked

    def _row(self, session: Session, name: str) -> UserRow:
        row = session.get(UserRow, name)
        if row is None:
            raise StoreRequestError(f"no user {name!r} in {self._display}")
        return row

    def revoke_tokens(self, name: str, *, actor: str, address: str) -> int:
        """Revoke every API token of user ``name``; returns how many there were."""
        with self._writing("tokens") as session:
            if session.get(UserRow, name) is None:
                raise StoreRequestError(f"no user {name!r} in {self._display}")
            count = session.scalar(
                select(func.count()).select_from(ApiTokenRow).where(ApiTokenRow.user_name == name)
            )
            session.execute(delete(ApiTokenRow).where(ApiTokenRow.user_name == name))
            self._audit(session, actor, "token.revoke", address, name, {"tokens": count})
            return int(count or 0)

    def users(self) -> list[User]:
        with self._reading("users") as session:
            return [_user(row) for row in session.scalars(select(UserRow).order_by(UserRow.name))]

    def user(self, name: str) -> User:
        with self._reading("users") as session:
            row = session.get(UserRow, name)
            if row is None:
                raise StoreRequestError(f"no user {name!r} in {self._display}")
            return _user(row)

    # --- login ---------------------------------------------------------------------------

    def authenticate(self, name: str, password: str, *, address: str) -> User:
        """The user whose password this is, or :class:`LoginRefused` (every failure and
        success is audited; failures count towards the account's and address's lockout)."""
        now = datetime.now(UTC)
        name = name[:64]
        refused: LoginRefused | None = None
        # The failure is committed (count, lock, audit) before it is raised.
        with self._writing("users") as session:
            failures = session.scalar(
                select(func.count())
                .select_from(AuditRow)
                .where(
                    AuditRow.action == "login.failed",
                    AuditRow.address == address[:64],
                    AuditRow.at >= now - ADDRESS_WINDOW,
                )
            )
            row = session.get(UserRow, name)
            if (failures or 0) >= ADDRESS_LIMIT:
                _hasher_check(_DUMMY_HASH, password)
                refusal_entry(session, "-", "login.throttled", address, name)
                refused = LoginRefused("too many failed logins from this address", throttled=True)
            elif row is not None and _disabled(row.locked_until):
                # as a wrong password: a disabled account says nothing about itself
                _hasher_check(_DUMMY_HASH, password)
                refusal_entry(session, "-", "login.disabled", address, row.name)
                refused = LoginRefused("wrong user name or password")
            elif row is not None and row.locked_until and _aware(row.locked_until) > now:
                _hasher_check(_DUMMY_HASH, password)
                refusal_entry(session, "-", "login.locked", address, row.name)
                refused = LoginRefused("the account is locked for a while", throttled=True)
            elif row is None or not _hasher_check(row.password_hash, password):
                if row is None:
                    _hasher_check(_DUMMY_HASH, password)
                else:
                    row.failed_logins += 1
                    if row.failed_logins >= LOCK_AFTER:
                        row.locked_until = now + timedelta(minutes=LOCK_MINUTES)
                        row.failed_logins = 0
                        self._audit(session, "-", "user.locked", address, row.name)
                self._audit(session, "-", "login.failed", address, name)
                refused = LoginRefused("wrong user name or password")
            else:
                row.failed_logins = 0
                row.locked_until = None
                if _hasher.check_needs_rehash(row.password_hash):
                    row.password_hash = _hasher.hash(password)
                self._audit(session, row.name, "login", address, row.name)
                user = _user(row)
        if refused is not None:
            raise refused
        return user

    def open_session(self, user: User, *, address: str) -> tuple[str, str]:
        """A new session for ``user``: (cookie value, CSRF token)."""
        cookie = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self._writing("sessions") as session:
            # ended sessions are deleted as new ones begin (the table stays small)
            session.execute(delete(SessionRow).where(SessionRow.expires <= now))
            session.add(
                SessionRow(
                    id=_digest(cookie),
                    user_name=user.name,
                    csrf=csrf,
                    created=now,
                    expires=now + timedelta(hours=SESSION_HOURS),
                )
            )
        return cookie, csrf

    def session_user(self, cookie: str) -> tuple[User, str] | None:
        """The user and CSRF token of a live session, or None."""
        with self._reading("sessions") as session:
            row = session.get(SessionRow, _digest(cookie))
            if row is None or _aware(row.expires) <= datetime.now(UTC):
                return None
            user = session.get(UserRow, row.user_name)
            if user is None or _disabled(user.locked_until):
                return None
            return _user(user), row.csrf

    def close_session(self, cookie: str, *, actor: str, address: str) -> None:
        with self._writing("sessions") as session:
            row = session.get(SessionRow, _digest(cookie))
            if row is not None:
                session.delete(row)
            self._audit(session, actor, "logout", address, actor)

    # --- API tokens ----------------------------------------------------------------------

    def issue_token(self, name: str, *, actor: str, address: str) -> str:
        """A new API token for user ``name``; only its digest is kept, so it is shown once."""
        token_id = secrets.token_hex(8)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        with self._writing("tokens") as session:
            if _disabled(self._row(session, name).locked_until):
                raise StoreRequestError(f"user {name!r} is disabled; enable it first")
            session.add(
                ApiTokenRow(
                    id=token_id,
                    user_name=name,
                    digest=_digest(token),
                    created=datetime.now(UTC),
                )
            )
            self._audit(session, actor, "token.issue", address, name, {"token_id": token_id})
        return token

    def token_user(self, token: str) -> User | None:
        """The user an API token belongs to, or None."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        token_id = token[len(TOKEN_PREFIX) :].split("_", 1)[0]
        with self._reading("tokens") as session:
            row = session.get(ApiTokenRow, token_id[:32])
            if row is None or not hmac.compare_digest(row.digest, _digest(token)):
                return None
            user = session.get(UserRow, row.user_name)
            return _user(user) if user is not None and not _disabled(user.locked_until) else None


def _hasher_check(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
