"""The capture files stored scans were made from, so that the same file is stored once.

``provscan pcap`` stores, with each scan, the sha256 of every capture file it read (the
file's bytes as given: a gzip-compressed capture by its gzip bytes). A file stored before is
refused, whatever the site it was stored for: its packets were captured once, at one place,
and storing them again would count every sighting twice (and a scan naming no site or
another site matches the same devices by MAC, serial or address). ``--again`` stores it
anyway. Standard input has no file to recognise and is always stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from provscan.errors import StoreError
from provscan.store.models import CaptureRow, ScanRow, insert_rows


@dataclass(frozen=True)
class Capture:
    """A capture file a scan is being made from: its name as given and its sha256."""

    name: str
    sha256: str


@dataclass(frozen=True)
class StoredCapture:
    """The first stored scan made from a file with this sha256."""

    sha256: str
    #: The file's name when it was stored (the same bytes may have another name now).
    name: str
    scan_id: str
    site: str | None
    started_at: datetime

    def described(self) -> str:
        """``scan 584d274c-3bf (site A, started 2026-12-06 10:30 UTC)``, as ``provscan
        scans`` shows a scan (its first twelve characters, which it accepts back)."""
        started = self.started_at
        started = started if started.tzinfo else started.replace(tzinfo=UTC)
        where = f"site {self.site}" if self.site is not None else "no site"
        when = started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"scan {self.scan_id[:12]} ({where}, started {when})"


class CaptureAlreadyStored(StoreError):
    """A capture stored before, given to be stored again without ``--again``."""

    def __init__(self, capture: Capture, earlier: StoredCapture) -> None:
        self.capture = capture
        self.earlier = earlier
        super().__init__(refusal(capture, earlier))


def refusal(capture: Capture, earlier: StoredCapture) -> str:
    """The one line a capture stored before is refused with."""
    same = "" if earlier.name == capture.name else f" as {earlier.name}"
    return (
        f"{capture.name} is already stored{same}, by its sha256, in {earlier.described()}: "
        "storing it again would count its devices twice; nothing was stored "
        "(--again stores it anyway)"
    )


def stored_captures(session: Session, digests: Iterable[str]) -> dict[str, StoredCapture]:
    """sha256 -> the earliest stored scan made from a file with it, for those of ``digests``
    that were stored."""
    wanted = sorted(set(digests))
    if not wanted:
        return {}
    query = (
        select(CaptureRow.sha256, CaptureRow.name, ScanRow.id, ScanRow.site, ScanRow.started_at)
        .join(ScanRow, ScanRow.id == CaptureRow.scan_id)
        .where(CaptureRow.sha256.in_(wanted))
        .order_by(ScanRow.started_at, ScanRow.id, CaptureRow.position)
    )
    found: dict[str, StoredCapture] = {}
    for digest, name, scan_id, site, started_at in session.execute(query):
        found.setdefault(digest, StoredCapture(digest, name, scan_id, site, started_at))
    return found


def refuse_stored(session: Session, captures: Sequence[Capture]) -> None:
    """Raise :class:`CaptureAlreadyStored` for the first of ``captures`` already stored."""
    earlier = stored_captures(session, (capture.sha256 for capture in captures))
    for capture in captures:
        if capture.sha256 in earlier:
            raise CaptureAlreadyStored(capture, earlier[capture.sha256])


def record(session: Session, scan_id: str, captures: Sequence[Capture]) -> None:
    """Keep the files ``scan_id`` was made from, in the order they were given."""
    insert_rows(
        session,
        CaptureRow,
        [
            {"scan_id": scan_id, "position": position, "sha256": c.sha256, "name": c.name}
            for position, c in enumerate(captures)
        ],
    )
