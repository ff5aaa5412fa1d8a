"""Screened procurement lists kept for their owner: the annotated CSV and XLSX and the rows
the console shows, for :data:`KEEP_FOR` (purged whenever results are read or added).

Only the user who screened a list can read it back (a key of another user reads as
missing); a user keeps at most :data:`PER_USER` results (the oldest go first). The client's
file name is never stored. A result and its ``screen`` audit entry commit together.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from provscan.store.models import Base
from provscan.store.users import audit_entry

#: How long a screened list is kept.
KEEP_FOR = timedelta(days=7)
#: Results one user keeps (each holds its CSV and XLSX).
PER_USER = 16
#: The downloads a result has: format -> media type.
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

_WHEN = DateTime(timezone=True)


class ScreeningRow(Base):
    __tablename__ = "screenings"

    #: Random, URL-safe: it names the result in the console's links.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"), index=True)
    created: Mapped[datetime] = mapped_column(_WHEN)
    expires: Mapped[datetime] = mapped_column(_WHEN, index=True)
    #: How many rows the list had (``shown`` may hold fewer).
    rows: Mapped[int] = mapped_column(Integer)
    #: Rows by verdict: restricted, review, clear, unknown.
    counts: Mapped[dict[str, int]] = mapped_column(JSON)
    #: The first rows as the console shows them (screening rows as JSON).
    shown: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: The annotated list (read only for a download).
    csv: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    xlsx: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


def now() -> datetime:
    """The clock results expire by (a function, so that tests can move it)."""
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Screening:
    """A kept result, without its downloads."""

    id: str
    owner: str
    created: datetime
    expires: datetime
    rows: int
    counts: dict[str, int]
    shown: list[dict[str, Any]]


def _screening(row: ScreeningRow, shown: bool = True) -> Screening:
    return Screening(
        row.id,
        row.owner,
        _aware(row.created),
        _aware(row.expires),
        row.rows,
        dict(row.counts),
        list(row.shown) if shown else [],
    )


class Screenings:
    """The screening results of one store (``Store.screenings()``)."""

    def __init__(self, writing: Callable[[str], AbstractContextManager[Session]]) -> None:
        # Every read purges what expired, so every read is a writing transaction.
        self._writing = writing

    @staticmethod
    def _purge(session: Session, now: datetime) -> None:
        session.execute(delete(ScreeningRow).where(ScreeningRow.expires < now))

    def add(
        self,
        owner: str,
        *,
        rows: int,
        counts: dict[str, int],
        shown: list[dict[str, Any]],
        files: dict[str, bytes],
        address: str,
    ) -> Screening:
        """Keep a result for ``owner`` (audited as ``screen``, in the same transaction)."""
        moment = now()
        key = secrets.token_urlsafe(16)
        with self._writing("screening results") as session:
            self._purge(session, moment)
            row = ScreeningRow(
                id=key,
                owner=owner,
                created=moment,
                expires=moment + KEEP_FOR,
                rows=rows,
                counts=dict(counts),
                shown=list(shown),
                csv=files["csv"],
                xlsx=files["xlsx"],
            )
            session.add(row)
            kept = list(
                session.scalars(
                    select(ScreeningRow.id)
                    .where(ScreeningRow.owner == owner, ScreeningRow.id != key)
                    .order_by(ScreeningRow.created.desc(), ScreeningRow.id)
                    .offset(PER_USER - 1)
                )
            )
            if kept:
                session.execute(delete(ScreeningRow).where(ScreeningRow.id.in_(kept)))
            audit_entry(session, owner, "screen", address, key, {"rows": rows})
            session.flush()
            return _screening(row)

    def get(self, key: str, owner: str) -> Screening | None:
        """The result ``key`` if ``owner`` made it and it has not expired."""
        with self._writing("screening results") as session:
            self._purge(session, now())
            row = session.get(ScreeningRow, key)
            return _screening(row) if row is not None and row.owner == owner else None

    def download(self, key: str, owner: str, fmt: str) -> bytes | None:
        """The annotated list in ``fmt`` (csv, xlsx), only for its owner, until it expires."""
        if fmt not in FORMATS:
            return None
        column = ScreeningRow.csv if fmt == "csv" else ScreeningRow.xlsx
        with self._writing("screening results") as session:
            self._purge(session, now())
            found: bytes | None = session.scalar(
                select(column).where(ScreeningRow.id == key, ScreeningRow.owner == owner)
            )
            return found

    def mine(self, owner: str) -> list[Screening]:
        """``owner``'s kept results, newest first (without their rows)."""
        with self._writing("screening results") as session:
            self._purge(session, now())
            query = (
                select(ScreeningRow)
                .where(ScreeningRow.owner == owner)
                .order_by(ScreeningRow.created.desc(), ScreeningRow.id)
            )
            return [_screening(row, shown=False) for row in session.scalars(query)]
