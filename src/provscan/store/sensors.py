"""Sites, their sensors, the scan jobs sent to them and the schedules that send them (issue 17).

A scan job is created ``queued`` when the central sends it to a site's queue, becomes
``running`` when the sensor says it started, and ends ``done``, ``failed`` or ``refused``
when its outcome is ingested (or ``skipped``, never sent: a schedule's run that fell due
while its previous run still waited in the queue). Outcomes are keyed by the job id (a stored scan's id is its
job's id), so an outcome delivered twice changes nothing the second time. A schedule's next
run is computed from *now* after each run, so runs missed while the central was down are run
once, not once per missed slot. A schedule sends any kind of job: a scan of its targets, the
analysis of captures on the sensor, or a discovery on the sensor's own interface.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from provscan.errors import StoreRequestError
from provscan.store.models import Base

#: A job's states; the last four are final. ``skipped``: a schedule's run not sent because
#: its previous run still waited in the site's queue (its sensor is away).
JOB_STATES = ("queued", "running", "done", "failed", "refused", "skipped")
#: What a job asks of a sensor: a scan, the analysis of captures on the sensor, a discovery.
JOB_KINDS = ("scan", "pcap", "discover")
FINAL_STATES = frozenset({"done", "failed", "refused", "skipped"})

_WHEN = DateTime(timezone=True)


class SiteRow(Base):
    __tablename__ = "sites"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    created: Mapped[datetime] = mapped_column(_WHEN)


class SensorRow(Base):
    """The newest heartbeat of one sensor (named by its site and host)."""

    __tablename__ = "sensors"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    first_seen: Mapped[datetime] = mapped_column(_WHEN)
    last_heartbeat: Mapped[datetime] = mapped_column(_WHEN)
    version: Mapped[str] = mapped_column(String(64))
    knowledge_version: Mapped[str | None] = mapped_column(String(64))
    queue_depth: Mapped[int | None] = mapped_column(Integer)
    #: The sensor's own --allow list (what it will scan, whatever it is asked).
    allow: Mapped[list[str]] = mapped_column(JSON)


class ScanJobRow(Base):
    __tablename__ = "scan_jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    #: One of JOB_KINDS (migration 0009).
    kind: Mapped[str] = mapped_column(String(16), server_default="scan")
    #: What it covers: target specs (scan, unicast discovery), capture names (pcap), or the
    #: interface (discovery on a segment).
    targets: Mapped[list[str]] = mapped_column(JSON)
    ports: Mapped[list[int] | None] = mapped_column(JSON)
    policies: Mapped[list[str] | None] = mapped_column(JSON)
    requested_by: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(_WHEN)
    updated: Mapped[datetime] = mapped_column(_WHEN)
    sensor: Mapped[str | None] = mapped_column(String(200))
    #: The stored scan (its id is the job's id) once done.
    scan_id: Mapped[str | None] = mapped_column(String(64))
    hosts: Mapped[int | None] = mapped_column(Integer)
    devices: Mapped[int | None] = mapped_column(Integer)
    restricted: Mapped[int | None] = mapped_column(Integer)
    #: Why it was refused or failed.
    detail: Mapped[str | None] = mapped_column(Text)
    schedule_id: Mapped[int | None] = mapped_column(Integer)


class ScheduleRow(Base):
    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    #: What the schedule sends: a list of target specs (a scan, as every schedule before
    #: job kinds), or ``{"kind": "pcap", "captures": [...]}`` / ``{"kind": "discover"}``
    #: (see :func:`_schedule_work`; no migration: the column is JSON).
    targets: Mapped[list[str] | dict[str, Any]] = mapped_column(JSON)
    ports: Mapped[list[int] | None] = mapped_column(JSON)
    every_seconds: Mapped[int | None] = mapped_column(Integer)
    cron: Mapped[str | None] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(_WHEN)
    next_run: Mapped[datetime] = mapped_column(_WHEN, index=True)
    last_run: Mapped[datetime | None] = mapped_column(_WHEN)
    last_job: Mapped[str | None] = mapped_column(String(64))


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    aware = _aware(moment)
    return aware.isoformat() if aware else None


def check_site_name(name: str) -> str:
    """A site name is 1-64 letters, digits, ``-`` or ``_`` (it names a broker queue)."""
    if not name or len(name) > 64 or not all(c.isalnum() or c in "-_" for c in name):
        raise StoreRequestError(
            f"{name!r}: a site name is 1-64 letters, digits, - or _ (it names a queue)"
        )
    return name


def check_interface_name(name: str) -> str:
    """A network interface's name as Linux allows it (1-15 characters, no ``/`` or space)."""
    if not 1 <= len(name) <= 15 or not all(c.isalnum() or c in "-_.@:" for c in name):
        raise StoreRequestError(f"{name[:40]!r} is not an interface name")
    return name


@dataclass(frozen=True)
class ScanJob:
    id: str
    site: str
    state: str
    targets: list[str]
    requested_by: str
    created: datetime
    updated: datetime
    sensor: str | None
    scan_id: str | None
    hosts: int | None
    devices: int | None
    restricted: int | None
    detail: str | None
    ports: list[int] | None = None
    policies: list[str] | None = None
    kind: str = "scan"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site": self.site,
            "kind": self.kind,
            "state": self.state,
            "targets": list(self.targets),
            "requested_by": self.requested_by,
            "created": _iso(self.created),
            "updated": _iso(self.updated),
            "sensor": self.sensor,
            "scan_id": self.scan_id,
            "counts": {"hosts": self.hosts, "devices": self.devices, "restricted": self.restricted},
            "detail": self.detail,
        }


def _job(row: ScanJobRow) -> ScanJob:
    return ScanJob(
        row.id,
        row.site,
        row.state,
        list(row.targets),
        row.requested_by,
        _aware(row.created) or row.created,
        _aware(row.updated) or row.updated,
        row.sensor,
        row.scan_id,
        row.hosts,
        row.devices,
        row.restricted,
        row.detail,
        list(row.ports) if row.ports else None,
        list(row.policies) if row.policies else None,
        row.kind or "scan",
    )


@dataclass(frozen=True)
class Schedule:
    id: int
    site: str
    targets: list[str]
    ports: list[int] | None
    every_seconds: int | None
    cron: str | None
    next_run: datetime
    last_run: datetime | None
    last_job: str | None
    #: One of JOB_KINDS: ``scan`` (``targets``), ``pcap`` (``captures``: names or globs under
    #: the sensor's --captures), ``discover`` (the sensor's interface and allow list decide).
    kind: str = "scan"
    captures: list[str] = field(default_factory=list)
    #: A discover schedule's interface on the sensor (None: the sensor's first).
    interface: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site": self.site,
            "kind": self.kind,
            "targets": list(self.targets),
            "captures": list(self.captures),
            "interface": self.interface,
            "ports": self.ports,
            "every_seconds": self.every_seconds,
            "cron": self.cron,
            "next_run": _iso(self.next_run),
            "last_run": _iso(self.last_run),
            "last_job": self.last_job,
        }


def _schedule_work(
    kind: str, targets: list[str], captures: list[str], interface: str | None = None
) -> list[str] | dict[str, Any]:
    """What a schedule row's JSON ``targets`` holds for a kind of job (StoreRequestError for
    a combination no sensor could run). A scan keeps the plain list of before."""
    if kind not in JOB_KINDS:
        raise StoreRequestError(f"{kind!r} is not a kind of job ({', '.join(JOB_KINDS)})")
    if interface is not None and kind != "discover":
        raise StoreRequestError("only a discover schedule names an interface")
    if kind == "scan":
        if not targets or captures:
            raise StoreRequestError("a scan schedule names its targets (and no captures)")
        return list(targets)
    if targets:
        raise StoreRequestError(
            f"a {kind} schedule names no targets"
            + (" (captures are named with --captures)" if kind == "pcap" else "")
        )
    if kind == "pcap":
        if not captures:
            raise StoreRequestError("a pcap schedule names its captures (names or globs)")
        return {"kind": "pcap", "captures": list(captures)}
    if captures:
        raise StoreRequestError("a discover schedule names no captures")
    if interface is None:
        return {"kind": "discover"}
    return {"kind": "discover", "interface": check_interface_name(interface)}


def _read_work(raw: Any) -> tuple[str, list[str], list[str], str | None]:
    """(kind, targets, captures, interface) of a schedule row's JSON ``targets``."""
    if isinstance(raw, dict):
        kind = str(raw.get("kind") or "scan")
        interface = raw.get("interface")
        return (
            kind,
            [str(t) for t in raw.get("targets") or []],
            [str(c) for c in raw.get("captures") or []],
            str(interface) if interface else None,
        )
    return "scan", [str(t) for t in raw or []], [], None


def _schedule(row: ScheduleRow) -> Schedule:
    kind, targets, captures, interface = _read_work(row.targets)
    return Schedule(
        row.id,
        row.site,
        targets,
        list(row.ports) if row.ports else None,
        row.every_seconds,
        row.cron,
        _aware(row.next_run) or row.next_run,
        _aware(row.last_run),
        row.last_job,
        kind,
        captures,
        interface,
    )


class Fleet:
    """Sites, sensors, scan jobs and schedules of one store (``Store.fleet()``)."""

    def __init__(
        self,
        reading: Callable[[str], AbstractContextManager[Session]],
        writing: Callable[[str], AbstractContextManager[Session]],
        display_name: str,
    ) -> None:
        self._reading = reading
        self._writing = writing
        self._display = display_name

    @staticmethod
    def _ensure_site(session: Session, site: str, now: datetime) -> None:
        if session.get(SiteRow, site) is not None:
            return
        try:
            with session.begin_nested():  # another writer may add it at the same moment
                session.add(SiteRow(name=site, created=now))
        except IntegrityError:
            pass

    # --- jobs ----------------------------------------------------------------------------

    def add_job(
        self,
        job_id: str,
        site: str,
        targets: list[str],
        *,
        requested_by: str,
        ports: list[int] | None = None,
        policies: list[str] | None = None,
        schedule_id: int | None = None,
        kind: str = "scan",
    ) -> ScanJob:
        check_site_name(site)
        if kind not in JOB_KINDS:
            raise StoreRequestError(f"{kind!r} is not a kind of job ({', '.join(JOB_KINDS)})")
        now = datetime.now(UTC)
        with self._writing("scan jobs") as session:
            self._ensure_site(session, site, now)
            row = ScanJobRow(
                id=job_id,
                site=site,
                state="queued",
                kind=kind,
                targets=list(targets),
                ports=list(ports) if ports else None,
                policies=list(policies) if policies else None,
                requested_by=requested_by,
                created=now,
                updated=now,
                schedule_id=schedule_id,
            )
            session.add(row)
            session.flush()
            return _job(row)

    def job(self, job_id: str) -> ScanJob | None:
        with self._reading(f"scan job {job_id}") as session:
            row = session.get(ScanJobRow, job_id)
            return _job(row) if row is not None else None

    def jobs(self, *, site: str | None = None, limit: int = 100) -> list[ScanJob]:
        query = select(ScanJobRow).order_by(ScanJobRow.created.desc(), ScanJobRow.id)
        if site is not None:
            query = query.where(ScanJobRow.site == site)
        with self._reading("scan jobs") as session:
            return [_job(row) for row in session.scalars(query.limit(limit))]

    def queued_run(self, schedule_id: int, since: datetime) -> ScanJob | None:
        """The oldest job of ``schedule_id`` created after ``since`` that still waits in
        the site's queue (``queued``), or None."""
        query = (
            select(ScanJobRow)
            .where(
                ScanJobRow.schedule_id == schedule_id,
                ScanJobRow.state == "queued",
                ScanJobRow.created >= since,
            )
            .order_by(ScanJobRow.created)
            .limit(1)
        )
        with self._reading(f"the jobs of schedule {schedule_id}") as session:
            row = session.scalars(query).first()
            return _job(row) if row is not None else None

    def queued_before(self, cutoff: datetime, limit: int = 1000) -> list[tuple[str, str]]:
        """(id, site) of the jobs still ``queued`` that were created before ``cutoff``: no
        sensor took them (the central expires them), at most ``limit``."""
        query = (
            select(ScanJobRow.id, ScanJobRow.site)
            .where(ScanJobRow.state == "queued", ScanJobRow.created < cutoff)
            .limit(limit)
        )
        with self._reading("the queued scan jobs") as session:
            return [(str(job_id), str(site)) for job_id, site in session.execute(query)]

    def mark_running(self, job_id: str, sensor: str) -> bool:
        """The sensor started the job; False when the job is unknown or already final (a
        late or repeated message changes nothing)."""
        with self._writing(f"scan job {job_id}") as session:
            changed = session.execute(
                update(ScanJobRow)
                .where(ScanJobRow.id == job_id, ScanJobRow.state.in_(("queued", "running")))
                .values(state="running", sensor=sensor, updated=datetime.now(UTC))
            )
            return bool(getattr(changed, "rowcount", 0))

    def finish_job(
        self,
        job_id: str,
        state: str,
        *,
        sensor: str,
        scan_id: str | None = None,
        hosts: int | None = None,
        devices: int | None = None,
        restricted: int | None = None,
        detail: str | None = None,
    ) -> bool:
        """Record a job's outcome once; False when it was already final (a duplicate)."""
        if state not in FINAL_STATES:
            raise StoreRequestError(f"{state!r} is not a final job state")
        with self._writing(f"scan job {job_id}") as session:
            changed = session.execute(
                update(ScanJobRow)
                .where(ScanJobRow.id == job_id, ScanJobRow.state.not_in(FINAL_STATES))
                .values(
                    state=state,
                    sensor=sensor,
                    scan_id=scan_id,
                    hosts=hosts,
                    devices=devices,
                    restricted=restricted,
                    detail=detail,
                    updated=datetime.now(UTC),
                )
            )
            return bool(getattr(changed, "rowcount", 0))

    # --- sensors -------------------------------------------------------------------------

    def heartbeat(
        self,
        sensor: str,
        site: str,
        *,
        version: str,
        knowledge_version: str | None,
        queue_depth: int | None,
        allow: list[str],
        at: datetime | None = None,
    ) -> None:
        now = at or datetime.now(UTC)
        with self._writing("sensors") as session:
            self._ensure_site(session, site, now)
            row = session.get(SensorRow, sensor)
            if row is None:
                row = SensorRow(name=sensor, site=site, first_seen=now, allow=list(allow))
                session.add(row)
            elif (_aware(row.last_heartbeat) or now) > now:
                return  # an older heartbeat delivered late
            row.site = site
            row.last_heartbeat = now
            row.version = version
            row.knowledge_version = knowledge_version
            row.queue_depth = queue_depth
            row.allow = list(allow)

    def sensors(self, site: str | None = None) -> list[dict[str, Any]]:
        query = select(SensorRow).order_by(SensorRow.site, SensorRow.name)
        if site is not None:
            query = query.where(SensorRow.site == site)
        with self._reading("sensors") as session:
            return [
                {
                    "name": row.name,
                    "site": row.site,
                    "first_seen": _iso(row.first_seen),
                    "last_heartbeat": _iso(row.last_heartbeat),
                    "version": row.version,
                    "knowledge_version": row.knowledge_version,
                    "queue_depth": row.queue_depth,
                    "allow": list(row.allow),
                }
                for row in session.scalars(query)
            ]

    def sites(self) -> list[dict[str, Any]]:
        """Each site with its sensors, how many of its jobs wait or run, and its schedules."""
        with self._reading("sites") as session:
            names = list(session.scalars(select(SiteRow.name).order_by(SiteRow.name)))
            waiting: dict[str, dict[str, int]] = {name: {} for name in names}
            for site, state in session.execute(
                select(ScanJobRow.site, ScanJobRow.state).where(
                    ScanJobRow.state.in_(("queued", "running"))
                )
            ):
                counts = waiting.setdefault(site, {})
                counts[state] = counts.get(state, 0) + 1
        sensors = self.sensors()
        schedules = self.schedules()
        return [
            {
                "name": name,
                "sensors": [s for s in sensors if s["site"] == name],
                "jobs": {
                    "queued": waiting.get(name, {}).get("queued", 0),
                    "running": waiting.get(name, {}).get("running", 0),
                },
                "schedules": [s.to_json() for s in schedules if s.site == name],
            }
            for name in names
        ]

    def site_known(self, site: str) -> bool:
        """Whether a sensor, a job or a schedule ever named ``site`` in this store."""
        with self._reading("sites") as session:
            return session.get(SiteRow, site) is not None

    # --- schedules -----------------------------------------------------------------------

    def add_schedule(
        self,
        site: str,
        targets: list[str],
        *,
        every_seconds: int | None,
        cron: str | None,
        next_run: datetime,
        ports: list[int] | None = None,
        kind: str = "scan",
        captures: list[str] | None = None,
        interface: str | None = None,
    ) -> Schedule:
        """A schedule of ``kind`` jobs: ``scan`` of ``targets`` (with ``ports``), ``pcap`` of
        ``captures`` (names or globs under the sensor's --captures), or ``discover`` (on
        ``interface``, one of the sensor's; None: its first)."""
        check_site_name(site)
        if (every_seconds is None) == (cron is None):
            raise StoreRequestError("a schedule runs --every an interval or on a --cron line")
        work = _schedule_work(kind, list(targets), list(captures or []), interface)
        if ports and kind != "scan":
            raise StoreRequestError(f"a {kind} schedule takes no ports (only a scan does)")
        now = datetime.now(UTC)
        with self._writing("schedules") as session:
            self._ensure_site(session, site, now)
            row = ScheduleRow(
                site=site,
                targets=work,
                ports=list(ports) if ports else None,
                every_seconds=every_seconds,
                cron=cron,
                created=now,
                next_run=next_run,
            )
            session.add(row)
            session.flush()
            return _schedule(row)

    def schedules(self) -> list[Schedule]:
        with self._reading("schedules") as session:
            return [
                _schedule(row)
                for row in session.scalars(select(ScheduleRow).order_by(ScheduleRow.id))
            ]

    def remove_schedule(self, schedule_id: int) -> None:
        with self._writing("schedules") as session:
            row = session.get(ScheduleRow, schedule_id)
            if row is None:
                raise StoreRequestError(f"no schedule {schedule_id} in {self._display}")
            session.delete(row)

    def due_schedules(self, now: datetime) -> list[Schedule]:
        query = select(ScheduleRow).where(ScheduleRow.next_run <= now).order_by(ScheduleRow.id)
        with self._reading("schedules") as session:
            return [_schedule(row) for row in session.scalars(query)]

    def claim_run(
        self, schedule: Schedule, *, now: datetime, next_run: datetime, job_id: str
    ) -> bool:
        """Move ``schedule`` to its next run if no other central did (compare and set on
        ``next_run``); True when this caller should send the job."""
        with self._writing("schedules") as session:
            changed = session.execute(
                update(ScheduleRow)
                .where(ScheduleRow.id == schedule.id, ScheduleRow.next_run == schedule.next_run)
                .values(next_run=next_run, last_run=now, last_job=job_id)
            )
            return bool(getattr(changed, "rowcount", 0))
