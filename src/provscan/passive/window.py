"""The time window of ``provscan pcap --since/--until``: only packets captured inside it are
analysed, as tshark's ``frame.time`` filters keep them.

A bound is an ISO 8601 date or date and time (without an offset: UTC, as the report's times
are written), or a duration before the captures' last packet (``2h``, ``30m``, ``1h30m``,
``1d``, ``90s``): finding that packet reads the captures once more before the analysis, so a
duration cannot be used with standard input. The window holds ``since`` and excludes
``until``: consecutive windows share no packet.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from provscan.errors import InputError
from provscan.passive.capture import (
    CaptureError,
    ReadPosition,
    StopPoint,
    input_size,
    read_records,
)

#: One part of a duration: a number and its unit.
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: Records read between two looks at a stop request while finding the last packet.
_STOP_EVERY = 65_536

#: A bound as given: a moment, or how long before the last packet.
Bound = datetime | timedelta


class WindowError(InputError):
    """A time window that cannot be used (an empty one, a duration with standard input)."""


def parse_bound(text: str) -> Bound:
    """``--since``/``--until``'s value: an aware datetime, or a duration before the last
    packet. Raises ValueError with a one-line message."""
    stripped = text.strip()
    if _DURATION.fullmatch(stripped):
        seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(stripped))
        try:
            return timedelta(seconds=seconds)
        except OverflowError:
            raise ValueError(f"{text!r} is too long a duration") from None
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an ISO 8601 date/time (2026-01-05T10:00:00Z) nor a "
            "duration before the capture's last packet (2h, 30m, 1h30m, 1d)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def moment_text(seconds: float) -> str:
    """A capture time as the report writes them: ``2026-01-05T10:00:00.000000Z``."""
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return f"{seconds:.6f} s since the epoch"
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _duration_text(duration: timedelta) -> str:
    seconds = duration.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class Bounds:
    """A window resolved to capture timestamps (seconds since the epoch; an open end is
    infinite): a packet captured at ``since <= t < until`` is inside. ``label``: how it
    reads in the scan's notes."""

    since: float
    until: float
    label: str


@dataclass(frozen=True)
class TimeWindow:
    """``--since`` and ``--until`` as given (None: open on that side)."""

    since: Bound | None = None
    until: Bound | None = None

    def __post_init__(self) -> None:
        since, until = self.since, self.until
        empty = (
            isinstance(since, datetime) and isinstance(until, datetime) and since >= until
        ) or (isinstance(since, timedelta) and isinstance(until, timedelta) and since <= until)
        if empty:
            raise WindowError("--since must come before --until: the window holds no packet")

    @property
    def relative(self) -> bool:
        """Whether a bound is a duration before the last packet (the captures are read
        twice)."""
        return isinstance(self.since, timedelta) or isinstance(self.until, timedelta)

    def resolve(self, last_packet: float | None, *, read_in_part: bool = False) -> Bounds:
        """The window in capture timestamps; ``last_packet`` (the captures' latest packet
        time, None when they hold none) places the durations; ``read_in_part``: a stop
        request ended the search for it, so it is only the latest packet read (and the
        label says so). Raises WindowError when the resolved window is empty."""
        since, since_text = self._seconds(self.since, last_packet, -math.inf, read_in_part)
        until, until_text = self._seconds(self.until, last_packet, math.inf, read_in_part)
        if since >= until:
            raise WindowError(
                f"--since ({since_text}) is not before --until ({until_text}): "
                "the window holds no packet"
            )
        return Bounds(since, until, f"from {since_text} to {until_text}")

    @staticmethod
    def _seconds(
        bound: Bound | None, last: float | None, open_end: float, read_in_part: bool = False
    ) -> tuple[float, str]:
        if bound is None:
            return open_end, "the first packet" if open_end < 0 else "the last packet"
        if isinstance(bound, datetime):
            seconds = bound.timestamp()
            return seconds, moment_text(seconds)
        if last is None:  # no packet to count back from: the window cannot hold one anyway
            return open_end, "the first packet" if open_end < 0 else "the last packet"
        seconds = last - bound.total_seconds()
        before = f"{_duration_text(bound)} before the last packet"
        if read_in_part:
            before += " read; a stop request ended the search for the captures' last one"
        return seconds, f"{moment_text(seconds)} ({before})"


def last_packet_time(
    names: Sequence[str], stop: Callable[[], bool] = lambda: False
) -> float | None:
    """The latest packet time in the capture files, each read up to any damage (a file that
    cannot be opened or read is left to the analysis, which reports it); None when they hold
    no packet. ``stop()`` turning true ends the reading early (the analysis then stops too)."""
    return find_last_packet(names, stop)[0]


def find_last_packet(
    names: Sequence[str], stop: Callable[[], bool] = lambda: False
) -> tuple[float | None, StopPoint | None]:
    """:func:`last_packet_time`, and where a stop request ended the search (None when every
    file was read to its end or its damage): then the time is only the latest packet read."""
    latest: float | None = None
    for index, name in enumerate(names, 1):
        try:
            with open(name, "rb") as handle:
                position = ReadPosition()
                records = read_records(handle, position)
                number, stopped = 0, False
                try:
                    for number, (_linktype, seconds, _data, _wire) in enumerate(records, 1):
                        if latest is None or seconds > latest:
                            latest = seconds
                        if number % _STOP_EVERY == 0 and stop():
                            stopped = True
                            break
                finally:
                    records.close()  # (then ``position`` is exact)
                if stopped:
                    where = StopPoint(
                        name,
                        index,
                        len(names),
                        number,
                        position.file_bytes(handle),
                        input_size(handle),
                        position.compressed,
                        finding_last=True,
                    )
                    return latest, where
        except (OSError, CaptureError):
            continue
    return latest, None
