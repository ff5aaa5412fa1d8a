"""The central's schedules, run by Celery beat from the central's database.

Celery beat (``celery.beat.Service``, in a thread of ``provscan serve --broker``) keeps the
clock: its heap of entries, its sleeps between ticks, its shutdown. Where a stock beat keeps
its entries in ``celerybeat-schedule`` (a local shelve file), :class:`StoreScheduler` reads
them from the ``schedules`` table of the central's store, as django-celery-beat's
``DatabaseScheduler`` does from Django's database:

- each row becomes a beat entry whose timing (:class:`StoredTiming`) is the row's
  ``next_run``: due once that moment has come, however long ago (runs missed while the
  central was down are run once, and the next run is counted from now);
- the table is read again every :data:`READ_SECONDS`, so schedules added, changed or removed
  through the CLI, the API or another central are seen without a restart (beat rebuilds its
  heap when an entry changed);
- a due entry is not published as a Celery task: it claims the run in the database (compare
  and set on ``next_run``, so two centrals sharing a database never both send it) and then
  sends a signed request to the site's queue through the central, as an API request does.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery.beat import ScheduleEntry, Scheduler
from celery.schedules import BaseSchedule, schedstate

from provscan.errors import ProvscanError
from provscan.store.sensors import Schedule

if TYPE_CHECKING:
    from provscan.sensors.central import Central

log = logging.getLogger("provscan.central")

#: Seconds between reads of the schedules table (embedded, beat ticks every second).
READ_SECONDS = 5.0
#: Seconds before beat looks again at a schedule whose next run cannot be worked out.
RETRY_SECONDS = 60.0


class StoredTiming(BaseSchedule):  # type: ignore[misc]  # celery ships no types
    """When one stored schedule runs: at its row's ``next_run``."""

    def __init__(self, row: Schedule) -> None:
        super().__init__(nowfun=lambda: datetime.now(UTC))
        self.row = row

    def remaining_estimate(self, last_run_at: datetime) -> Any:
        return self.row.next_run - self.now()

    def is_due(self, last_run_at: datetime) -> Any:
        """(due, seconds until beat looks again): due once ``next_run`` has come; after a run
        beat looks again when the following run is due."""
        now = self.now()
        wait = (self.row.next_run - now).total_seconds()
        if wait > 0:
            return schedstate(False, wait)
        try:
            following = (next_run(self.row, now) - now).total_seconds()
        except ProvscanError:
            following = RETRY_SECONDS
        return schedstate(True, max(following, 1.0))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoredTiming) and self.row == other.row

    def __hash__(self) -> int:
        return hash(self.row.id)

    def __repr__(self) -> str:
        return f"<stored schedule {self.row.id}: next run {self.row.next_run.isoformat()}>"


def next_run(schedule: Schedule | tuple[int | None, str | None], now: datetime) -> datetime:
    """When a schedule runs next, counted from ``now`` (so missed runs run once)."""
    every, cron = (
        (schedule.every_seconds, schedule.cron) if isinstance(schedule, Schedule) else schedule
    )
    if every is not None:
        return now + timedelta(seconds=every)
    if cron is None:
        raise ProvscanError("a schedule needs an interval or a cron line")
    # Celery counts from whole minutes; a run falls on the minute, never before ``now``.
    base = now.replace(second=0, microsecond=0)
    remaining: timedelta = cron_schedule(cron, now=base).remaining_estimate(base)
    return base + remaining


#: The fields of a cron line: name, lowest and highest value (day of week: 0 and 7 are Sunday).
_CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
)
_RANGE = re.compile(r"(\d+)-(\d+)(?:/(\d+))?")


def _day_of_week(field: str) -> str:
    """The day-of-week field with 7 read as Sunday, as cron reads it (Celery takes 0-6):
    ``7`` -> ``0``, ``5-7`` -> ``5,6,0``, ``1-7/2`` -> ``1,3,5,0``."""
    items = []
    for item in field.split(","):
        ranged = _RANGE.fullmatch(item)
        if item == "7":
            item = "0"
        elif ranged and int(ranged.group(2)) == 7 and int(ranged.group(1)) <= 7:
            step = int(ranged.group(3) or 1)
            if step > 0:
                days = range(int(ranged.group(1)), 8, step)
                item = ",".join(str(day % 7) for day in days)
        items.append(item)
    return ",".join(items)


def check_cron(line: str) -> list[str]:
    """The five fields of a cron line (``m h dom mon dow``), each checked on its own so that
    a bad one is named; ProvscanError saying what is wrong. Ranges run upwards (``5-1`` is
    refused, as cron refuses it; Celery would read it as a wrap-around)."""
    from celery.schedules import ParseException, crontab_parser

    fields = line.split()
    if len(fields) != 5:
        raise ProvscanError(f"{line!r}: a cron line has five fields (m h dom mon dow)")
    for field, (name, low, high) in zip(fields, _CRON_FIELDS, strict=True):
        for ranged in _RANGE.finditer(field):
            if int(ranged.group(1)) > int(ranged.group(2)):
                raise ProvscanError(
                    f"{line!r}: the {name} field's range {ranged.group(0)} runs backwards"
                )
        shown = f"{line!r}: the {name} field {field!r} is not valid ({low}-{high}"
        if name == "day-of-week":
            field = _day_of_week(field)
            shown += ", 0 and 7 are Sunday"
        try:
            # Celery's own parser of each field (names such as mon or jan included); it
            # takes how many values the field has and the lowest
            values = 7 if name == "day-of-week" else high - low + 1
            crontab_parser(values, low).parse(field)
        except (ValueError, TypeError, ParseException) as exc:
            raise ProvscanError(f"{shown}): {exc}") from None
    return fields


def cron_schedule(line: str, now: datetime | None = None) -> Any:
    """Celery's crontab for a five-field cron line (``m h dom mon dow``), UTC; ``now``: the
    moment it counts from (default: the clock). Every bad line is a ProvscanError."""
    from celery import Celery
    from celery.schedules import ParseException, crontab

    fields = check_cron(line)
    app = Celery(set_as_current=False)
    app.conf.timezone = "UTC"
    try:
        return crontab(
            minute=fields[0],
            hour=fields[1],
            day_of_month=fields[2],
            month_of_year=fields[3],
            day_of_week=_day_of_week(fields[4]),
            app=app,
            nowfun=(lambda: now) if now is not None else None,
        )
    except (ValueError, TypeError, ParseException) as exc:
        raise ProvscanError(f"{line!r}: not a cron line Celery reads: {exc}") from None


#: The longest interval of a schedule (a year and a day).
MAX_EVERY_SECONDS = 366 * 86400


def parse_every(text: str) -> int:
    """``90s``, ``15m``, ``24h``, ``7d`` -> seconds (at least 60, at most 366 days)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit() or len(text) > 12:
        raise ProvscanError(f"{text!r}: an interval is a number and a unit, e.g. 15m, 24h or 7d")
    seconds = int(text[:-1]) * units[text[-1]]
    if seconds < 60:
        raise ProvscanError("a schedule runs at most once a minute")
    if seconds > MAX_EVERY_SECONDS:
        raise ProvscanError(f"{text!r}: a schedule runs at least once in 366 days")
    return seconds


def entry_name(row: Schedule) -> str:
    return f"provscan-schedule-{row.id}"


class StoreScheduler(Scheduler):  # type: ignore[misc]  # celery ships no types
    """A beat scheduler whose entries are the rows of the central's ``schedules`` table.

    Beat builds its scheduler from a class and the app; :func:`scheduler_for` binds the
    central (its store, broker and keys) to a subclass."""

    central: Central | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._read_at: float | None = None
        super().__init__(*args, **kwargs)

    # Beat's entries: read from the store, again every READ_SECONDS -------------------------

    def setup_schedule(self) -> None:
        # No default entries (there is no result backend to clean) and no static
        # beat_schedule: every entry is a row of the store.
        self.data: dict[str, ScheduleEntry] = {}
        self._read()

    def _read(self) -> None:
        central = self._central()
        try:
            rows = central.store.fleet().schedules()
        except ProvscanError as exc:
            # The database is away: keep the entries last read; beat tries again.
            log.error("could not read the schedules (kept the last ones read): %s", exc)
            self._read_at = time.monotonic()
            return
        entries: dict[str, ScheduleEntry] = {}
        for row in rows:
            name = entry_name(row)
            old = self.data.get(name)
            timing = StoredTiming(row)
            if old is not None and old.schedule == timing:
                entries[name] = old  # unchanged: keep beat's own entry
                continue
            entries[name] = ScheduleEntry(
                name=name,
                task="provscan.schedule",
                schedule=timing,
                last_run_at=row.last_run,
                app=self.app,
            )
        self.data = entries
        self._read_at = time.monotonic()

    def get_schedule(self) -> dict[str, ScheduleEntry]:
        if self._read_at is None or time.monotonic() - self._read_at >= READ_SECONDS:
            self._read()
        return self.data

    def set_schedule(self, schedule: dict[str, ScheduleEntry]) -> None:
        self.data = schedule

    schedule = property(get_schedule, set_schedule)

    # Running an entry: claim the run in the store, then send the job ------------------------

    def apply_async(
        self, entry: ScheduleEntry, producer: Any = None, advance: bool = True, **kwargs: Any
    ) -> Any:
        timing = entry.schedule
        if not isinstance(timing, StoredTiming):
            return None
        job_id = self._central().run_schedule(timing.row, datetime.now(UTC))
        if job_id is not None:
            log.info("schedule %s: sent job %s", timing.row.id, job_id)
        # Whether sent, taken by another central or failed, the row changed or will be read
        # again: the next read decides when beat looks at it next.
        self._read_at = None
        return None

    @property
    def producer(self) -> Any:
        # Nothing is published through beat's own producer (the central sends signed
        # requests itself), so no broker connection is opened for it.
        return None

    def _central(self) -> Central:
        if self.central is None:
            raise ProvscanError("the schedule runner was started without a central")
        return self.central


def scheduler_for(central: Central) -> type[StoreScheduler]:
    """A StoreScheduler class bound to ``central`` (beat instantiates it)."""
    return type("BoundStoreScheduler", (StoreScheduler,), {"central": central})
