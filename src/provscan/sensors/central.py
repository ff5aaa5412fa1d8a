"""The central: sends scan requests to site queues, ingests what sensors send back into the
store, and runs the schedules (Celery beat reading them from the store: ``sensors.beat``).
Nothing is lost while it is down: outcomes wait in the durable
``provscan.results`` queue and are acknowledged only after the store committed them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kombu.connection import Connection
from kombu.mixins import ConsumerMixin

from provscan.errors import ProvscanError, StoreError
from provscan.report.contract import from_contract
from provscan.sensors.beat import next_run
from provscan.sensors.broker import (
    RESULTS_QUEUE,
    SCAN_TASK,
    BrokerError,
    declare,
    make_app,
    send,
    site_queue,
)
from provscan.sensors.messages import (
    KeyFile,
    KeyRing,
    MessageRejected,
    SiteKeyError,
    open_envelope,
    seal,
)
from provscan.sensors.scope import OutsideAllowList, request_targets
from provscan.store.db import Store
from provscan.store.inventory import coverage_ranges
from provscan.store.sensors import ScanJob, Schedule, check_site_name

log = logging.getLogger("provscan.central")

#: How long a scan request stays valid in a site's queue (a sensor offline longer refuses it).
REQUEST_LIFETIME = timedelta(days=7)
#: Seconds to wait before giving a message back when the store cannot take it.
STORE_RETRY_SECONDS = 2.0
#: Longest wait of the idle ingest loop for a message, so that a stop is seen within it
#: (kombu's default is 1 s; each stop of the central waited about half of that for nothing).
INGEST_WAKE_SECONDS = 0.25


class SiteKeys:
    """The central's site keys: ``DIR/NAME.key`` for each site (see messages.parse_keys),
    read again when a file changes (a key change needs no restart)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: dict[str, KeyFile] = {}
        self._lock = threading.Lock()

    def __call__(self, site: str) -> KeyRing | None:
        try:
            check_site_name(site)
        except ProvscanError:
            return None
        path = self.directory / f"{site}.key"
        with self._lock:
            if site not in self._files:
                if not path.is_file():
                    return None
                self._files[site] = KeyFile(path)
            key_file = self._files[site]
        try:
            return key_file.ring()
        except SiteKeyError as exc:
            log.error("%s", exc)
            return None


class Central:
    """Scan requests out, outcomes and heartbeats in, schedules run (``provscan serve --broker``)."""

    def __init__(self, store: Store, broker_url: str, keys: SiteKeys) -> None:
        self.store = store
        self.broker_url = broker_url
        self.keys = keys
        self.app = make_app(broker_url, "provscan-central", [RESULTS_QUEUE])
        self._ingest: threading.Thread | None = None
        self._consumer: _Ingest | None = None
        self._beat: Any = None

    # --- requests ------------------------------------------------------------------------

    def request_scan(
        self,
        site: str,
        targets: Sequence[str],
        *,
        requested_by: str,
        ports: Sequence[int] | None = None,
        policies: Sequence[str] | None = None,
        acting_as: Sequence[str] = (),
        schedule_id: int | None = None,
        job_id: str | None = None,
        kind: str = "scan",
        captures: Sequence[str] = (),
        interface: str | None = None,
        timeout: float | None = None,
    ) -> ScanJob:
        """Record a job (``queued``) and send it to the site's queue, signed with its key.

        ``kind``: ``scan`` (``targets``, ``ports``), ``pcap`` (``captures``: names under the
        sensor's ``--captures`` directory) or ``discover`` (unicast to ``targets`` if given,
        else on ``interface``, one of the sensor's, waiting ``timeout`` seconds). The sensor
        checks all of it against its own settings and refuses what they do not allow."""
        check_site_name(site)
        covers = _job_covers(kind, targets, captures, interface)
        key = self.keys(site)
        if key is None:
            raise ProvscanError(
                f"no key for site {site!r}: put it in {self.keys.directory}/{site}.key"
            )
        job_id = job_id or str(uuid.uuid4())
        fleet = self.store.fleet()
        refused: str | None = None
        if kind == "scan":
            # The scope rules again, here as on the sensor: a schedule stored before they were
            # checked (or written to the database by other means) never leaves the central.
            try:
                request_targets(targets)
            except OutsideAllowList as exc:
                refused = str(exc)
        # The job exists before its request leaves, so its outcome always finds it.
        job = fleet.add_job(
            job_id,
            site,
            covers,
            requested_by=requested_by,
            ports=list(ports) if ports and kind == "scan" else None,
            policies=list(policies) if policies else None,
            schedule_id=schedule_id,
            kind=kind,
        )
        if refused is not None:
            fleet.finish_job(job_id, "refused", sensor="-", detail=f"not sent: {refused}")
            raise OutsideAllowList(f"not sent: {refused}")
        payload: dict[str, Any] = {
            "job_id": job_id,
            "site": site,
            "kind": kind,
            "targets": list(targets),
            "ports": list(ports) if ports and kind == "scan" else None,
            "policies": list(policies) if policies else None,
            "acting_as": list(acting_as),
            "issued": datetime.now(UTC).isoformat(),
            "expires": (datetime.now(UTC) + REQUEST_LIFETIME).isoformat(),
        }
        if kind == "pcap":
            payload["captures"] = list(captures)
        if kind == "discover":
            payload["interface"] = interface
            payload["timeout"] = timeout
        try:
            send(self.app, SCAN_TASK, seal("scan", site, payload, key), site_queue(site))
        except BrokerError as exc:
            fleet.finish_job(job_id, "failed", sensor="-", detail=str(exc))
            raise
        return job

    # --- ingest --------------------------------------------------------------------------

    def ingest(self, envelope: Any) -> str:
        """Apply one message from a sensor to the store; returns what was done (for logs and
        tests). Raises StoreError when the store cannot take it (the message stays)."""
        try:
            kind, site, payload = open_envelope(
                envelope, self.keys, kinds=("started", "outcome", "heartbeat")
            )
        except MessageRejected as exc:
            log.warning("rejected a message from the broker: %s", exc)
            return "rejected"
        sensor = str(payload.get("sensor") or f"{site}/?")
        fleet = self.store.fleet()
        if kind == "heartbeat":
            try:
                at = datetime.fromisoformat(str(payload.get("at")))
            except ValueError:
                at = datetime.now(UTC)
            depth = payload.get("queue_depth")
            fleet.heartbeat(
                sensor,
                site,
                version=str(payload.get("version") or "?"),
                knowledge_version=payload.get("knowledge_version"),
                queue_depth=depth if isinstance(depth, int) else None,
                allow=[str(a) for a in payload.get("allow") or []],
                at=at,
            )
            return "heartbeat"
        job_id = str(payload.get("job_id") or "")
        job = fleet.job(job_id)
        if job is None or job.site != site:
            log.warning("a %s message from %s for unknown job %r", kind, site, job_id)
            return "unknown job"
        if kind == "started":
            return "running" if fleet.mark_running(job_id, sensor) else "late"
        status = payload.get("status")
        if status in ("refused", "failed"):
            done = fleet.finish_job(
                job_id, status, sensor=sensor, detail=str(payload.get("detail"))
            )
            return status if done else "duplicate"
        if status != "done":
            log.warning("an outcome with status %r for job %s", status, job_id)
            return "rejected"
        document = from_contract(payload["document"])
        if document.scan.id != job_id:
            log.warning("an outcome whose scan id is not its job's (%s)", job_id)
            return "rejected"
        stored = False
        if not self.store.has_scan(job_id):
            coverage = coverage_ranges(payload.get("spans") or [], payload.get("excluded") or [])
            try:
                self.store.save_document(document, site=site, coverage=coverage)
                stored = True
            except StoreError:
                if not self.store.has_scan(job_id):  # not a twin saved meanwhile: a failure
                    raise
        finished = fleet.finish_job(
            job_id,
            "done",
            sensor=sensor,
            scan_id=job_id,
            hosts=_int(payload.get("hosts")),
            devices=_int(payload.get("devices")),
            restricted=_int(payload.get("restricted")),
        )
        return "done" if stored or finished else "duplicate"

    # --- schedules -----------------------------------------------------------------------

    def run_schedule(self, schedule: Schedule, now: datetime) -> str | None:
        """Send ``schedule``'s job (Celery beat calls this when it is due): claim the run in
        the store first (compare and set on ``next_run``; the next run is counted from
        ``now``, so missed runs run once), then send it. Returns the job id, or None when
        another central claimed the run or the job could not be sent (logged)."""
        job_id = str(uuid.uuid4())
        try:
            following = next_run(schedule, now)
        except ProvscanError as exc:
            log.error("schedule %s: %s", schedule.id, exc)
            return None
        if not self.store.fleet().claim_run(schedule, now=now, next_run=following, job_id=job_id):
            return None  # another central took it
        try:
            self.request_scan(
                schedule.site,
                schedule.targets,
                requested_by=f"schedule:{schedule.id}",
                ports=schedule.ports,
                schedule_id=schedule.id,
                job_id=job_id,
                kind=schedule.kind,
                captures=schedule.captures,
                interface=schedule.interface,
            )
        except ProvscanError as exc:
            log.error("schedule %s: %s", schedule.id, exc)
            return None
        return job_id

    # --- running -------------------------------------------------------------------------

    def start(self, *, schedules: bool = True) -> None:
        """Start the ingest consumer (and Celery beat for the schedules) in background
        threads."""
        with Connection(self.broker_url) as connection:
            connection.ensure_connection(max_retries=3)
            declare(connection, RESULTS_QUEUE)
        self._consumer = _Ingest(Connection(self.broker_url), self)
        self._ingest = threading.Thread(
            target=self._consumer.run,
            kwargs={"safety_interval": INGEST_WAKE_SECONDS},
            name="provscan-ingest",
            daemon=True,
        )
        self._ingest.start()
        if schedules:
            from celery.beat import EmbeddedService

            from provscan.sensors.beat import scheduler_for

            self._beat = EmbeddedService(self.app, thread=True, scheduler_cls=scheduler_for(self))
            self._beat.start()

    def stop(self) -> None:
        # Both are told at once: the ingest stops taking messages within its wake interval,
        # whatever beat is doing (beat ends after its current tick: a second at most).
        if self._consumer is not None:
            self._consumer.should_stop = True
        beat, self._beat = self._beat, None
        if beat is not None:
            beat.service.stop()
        if self._ingest is not None:
            self._ingest.join(timeout=10)
        if beat is not None:
            beat.join(timeout=10)  # a beat thread that died at start is not waited for
        if self._consumer is not None:
            self._consumer.connection.release()


def _job_covers(
    kind: str, targets: Sequence[str], captures: Sequence[str], interface: str | None
) -> list[str]:
    """What a job's row lists: its targets, its captures' names, or its interface ([] for
    the sensor's own); ProvscanError for a request that cannot be sent."""
    from provscan.sensors.scope import MAX_CAPTURES, check_capture_name, check_interface_name

    if kind == "scan":
        if not targets:
            raise ProvscanError("a scan names its targets")
        return list(targets)
    if kind == "pcap":
        if not captures or len(captures) > MAX_CAPTURES:
            raise ProvscanError(f"a capture job names 1 to {MAX_CAPTURES} captures")
        return [check_capture_name(name) for name in captures]
    if kind == "discover":
        if targets:
            return list(targets)
        return [check_interface_name(interface)] if interface else []
    raise ProvscanError(f"{kind!r}: a job is a scan, pcap or discover")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


class _Ingest(ConsumerMixin):
    """Consumes ``provscan.results``; a message is acknowledged after the store committed it."""

    def __init__(self, connection: Connection, central: Central) -> None:
        self.connection = connection
        self.central = central

    def get_consumers(self, consumer_type: Any, channel: Any) -> list[Any]:
        return [
            consumer_type(
                queues=[RESULTS_QUEUE],
                callbacks=[self.on_message],
                accept=["json"],
                prefetch_count=16,
            )
        ]

    def on_message(self, body: Any, message: Any) -> None:
        # A Celery task message (protocol 2): the body is [args, kwargs, embed].
        envelope = body[0][0] if isinstance(body, list) and body and body[0] else None
        try:
            outcome = self.central.ingest(envelope)
        except StoreError as exc:
            log.error("the store could not take a message (it stays in the broker): %s", exc)
            time.sleep(STORE_RETRY_SECONDS)
            message.requeue()
            return
        except Exception:
            # A message that can never be applied must not block the queue: logged, dropped.
            log.exception("a message from the broker could not be applied; dropped")
            message.ack()
            return
        log.info("ingested: %s", outcome)
        message.ack()
