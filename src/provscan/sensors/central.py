"""The central: sends scan requests to site queues, ingests what sensors send back into the
store, and runs the schedules (Celery beat reading them from the store: ``sensors.beat``).
Nothing is lost while it is down: outcomes wait in the durable
``provscan.results`` queue and are acknowledged only after the store committed them. A result
this central cannot open or attribute (no key for its site, a key it does not hold, a job its
database does not hold: a second central sharing the broker, a keys directory missing a site)
is never dropped: it is moved to ``provscan.results.parked``, said in the log (with what to
fix, once a minute), and moved back to ``provscan.results`` every minute, so that the central
that can take it (or this one, once its key is added) does.
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
from kombu.messaging import Producer
from kombu.mixins import ConsumerMixin

from provscan.alerts.deliver import Deliverer
from provscan.errors import ProvscanError, StoreError
from provscan.report.contract import from_contract
from provscan.sensors.beat import next_run
from provscan.sensors.broker import (
    EXCHANGE,
    PARKED_QUEUE,
    RESULTS_QUEUE,
    SCAN_TASK,
    BrokerError,
    declare,
    make_app,
    send,
    shown_url,
    site_queue,
)
from provscan.sensors.messages import (
    KeyFile,
    KeyRing,
    MessageRejected,
    SiteKeyError,
    UnknownKey,
    UnknownSite,
    key_file_warnings,
    open_envelope,
    peek,
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
#: Seconds between two moves of the parked results back to ``provscan.results``.
PARKED_RETRY_SECONDS = 60.0
#: Parked results moved back at once, at most (the rest wait for the next move).
MAX_UNPARK = 10_000
#: Seconds before the same advice (a missing key, parked results) is logged again.
SAY_AGAIN_SECONDS = 60.0
#: Seconds after which a sensor's name seen from another process is no longer a clash.
NAME_CLASH_SECONDS = 90.0
#: A queued job no sensor has taken within its request's lifetime (which the sensor
#: refuses after that) and this grace (a ``started`` notice on its way) is marked
#: ``failed``, "expired: ...", rather than waiting forever.
EXPIRY_GRACE = timedelta(minutes=5)
#: Seconds between two looks for such jobs (by the ingest loop).
EXPIRY_CHECK_SECONDS = 60.0
#: Sensors per site whose key mismatch is remembered, at most (their names are unverified).
MAX_MISMATCHED = 16
#: The words of a job failed because its site's sensor cannot verify the central's requests.
KEY_MISMATCH = "the sensor could not verify the request: its key does not match the central's"


class Unattributed(ProvscanError):
    """A result this central cannot open or attribute (no key for its site, a key it does
    not hold, a job its database does not hold): it is kept in the broker, never dropped."""

    def __init__(self, message: str, site: str, why: str) -> None:
        super().__init__(message)
        self.site = site
        #: A short word for the log's rate limit: ``key``, ``job`` or ``error``.
        self.why = why


class SiteKeys:
    """The central's site keys: ``DIR/NAME.key`` for each site (see messages.parse_keys),
    read again when a file changes (a key change needs no restart)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: dict[str, KeyFile] = {}
        self._lock = threading.Lock()

    def sites(self) -> list[str]:
        """The sites with a key file in the directory (``NAME.key``)."""
        try:
            found = sorted(path.stem for path in self.directory.glob("*.key") if path.is_file())
        except OSError:
            return []
        return [site for site in found if _is_site_name(site)]

    def warnings(self) -> list[str]:
        """Key files others than their owner can read (as for credential files)."""
        return [
            warning
            for site in self.sites()
            for warning in key_file_warnings(self.directory / f"{site}.key")
        ]

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
                for warning in key_file_warnings(path):
                    log.warning("%s", warning)
                self._files[site] = KeyFile(path, site)
            key_file = self._files[site]
        try:
            return key_file.ring()
        except SiteKeyError as exc:
            log.error("%s", exc)
            return None


def _is_site_name(name: str) -> bool:
    try:
        check_site_name(name)
    except ProvscanError:
        return False
    return True


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
        self._said: dict[str, float] = {}
        self._said_lock = threading.Lock()
        #: sensor name -> (the process its newest heartbeat names, when, the one before)
        self._instances: dict[str, tuple[str, float, str]] = {}
        #: Sends the events of each stored result to the alert sinks (off the ingest thread).
        self.alerts = Deliverer(store, name="provscan-central-alerts")
        #: How long a request is valid (a sensor refuses it after that), and so how long a
        #: job may stay ``queued`` before it is marked expired (plus ``expiry_grace``).
        self.request_lifetime = REQUEST_LIFETIME
        self.expiry_grace = EXPIRY_GRACE
        #: site -> sensor -> what the messages this central could not verify say of a sensor
        #: whose key is not the central's (kept in memory; a verified heartbeat clears it).
        self._mismatches: dict[str, dict[str, dict[str, Any]]] = {}
        self._mismatch_lock = threading.Lock()

    def say(self, key: str, message: str, *args: Any) -> bool:
        """Log a warning at most once per SAY_AGAIN_SECONDS for ``key`` (a site, a sensor);
        True when it was logged."""
        now = time.monotonic()
        with self._said_lock:
            last = self._said.get(key)
            if last is not None and now - last < SAY_AGAIN_SECONDS:
                return False
            self._said[key] = now
        log.warning(message, *args)
        return True

    def _key_advice(self, site: str, exc: MessageRejected) -> str:
        """What to do about a message whose site's key this central does not hold."""
        if not _is_site_name(site):
            return f"{site[:64]!r} is not a site name"
        path = self.keys.directory / f"{site}.key"
        if isinstance(exc, UnknownKey):
            return (
                f"{path} does not hold the key it is signed with (while a site's key changes, "
                "both keys go in the file, one a line; or a sensor runs with another site's key)"
            )
        return f"this central has no key for site {site!r}: add {path} (the site's key file)"

    def _note_instance(self, sensor: str, instance: Any) -> None:
        """Say when two running processes send heartbeats under one sensor name: the
        heartbeats of one process, then another's, then the first's again (a restart shows
        one process's heartbeats, then only the next one's)."""
        if not isinstance(instance, str) or not instance:
            return
        instance = instance[:64]
        now = time.monotonic()
        latest, seen, previous = self._instances.get(sensor, ("", 0.0, ""))
        if instance == latest:
            self._instances[sensor] = (latest, now, previous)
            return
        self._instances[sensor] = (instance, now, latest)
        if instance == previous and now - seen < NAME_CLASH_SECONDS:
            self.say(
                f"clash:{sensor}",
                "two sensors send heartbeats as %r (processes %s and %s): they show as one; "
                "give each its own --name",
                sensor,
                latest,
                instance,
            )

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
            "expires": (datetime.now(UTC) + self.request_lifetime).isoformat(),
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
        except (UnknownSite, UnknownKey) as exc:
            # Genuine perhaps, but not verifiable here: a result is kept (Unattributed), a
            # heartbeat (a newer one follows) only said, at most once a minute per site.
            claimed_kind, claimed_site, claimed = peek(envelope)
            advice = self._key_advice(claimed_site, exc)
            if isinstance(exc, UnknownKey) and _is_site_name(claimed_site):
                # The site's key file is here but does not hold the sender's key: shown as
                # the site's state ("refusing: key mismatch"), not as a silent sensor. Only
                # a heartbeat or a refusal applied now says so (a parked result moved back
                # every minute would keep saying it after the sensor's key was fixed).
                applied = None
                if claimed_kind == "outcome":
                    applied = self._fail_unverifiable(claimed_site, claimed, envelope, advice)
                if claimed_kind == "heartbeat" or applied is not None:
                    self._note_mismatch(claimed_site, claimed, envelope, advice)
                if applied is not None:
                    return applied
            if claimed_kind == "heartbeat":
                self.say(
                    f"key:{claimed_site}",
                    "a sensor calling itself %r reports for site %r: %s",
                    str(claimed.get("sensor") or "?")[:200],
                    claimed_site,
                    advice,
                )
                return "ignored"
            raise Unattributed(f"{exc}: {advice}", claimed_site, "key") from None
        except MessageRejected as exc:
            # forged, changed, unsigned or malformed: nobody's result
            log.warning("rejected a message from the broker: %s", exc)
            return "rejected"
        sensor = str(payload.get("sensor") or f"{site}/?")
        fleet = self.store.fleet()
        if kind == "heartbeat":
            self._clear_mismatch(site, sensor)
            self._note_instance(sensor, payload.get("instance"))
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
        if job is None:
            # Sent by another central sharing this broker, or this central runs on another
            # database than the one that sent it: kept for the central that holds the job.
            raise Unattributed(
                f"a {kind} message from {sensor} for job {job_id[:64]!r}, which the database "
                f"{self.store.display_name} does not hold (is this central on the database "
                "that sent it? another central sharing the broker may hold it)",
                site,
                "job",
            )
        if job.site != site:
            log.warning("a %s message from %s for job %r of another site", kind, site, job_id)
            return "rejected"
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
                self.alerts.kick()  # its events to the sinks, as after every stored scan
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

    # --- key mismatches and expired jobs --------------------------------------------------

    def _note_mismatch(
        self, site: str, claimed: dict[str, Any], envelope: Any, advice: str
    ) -> None:
        """Keep what an unverifiable message of ``site`` says of its sender (its sensor's
        name and key id, both unverified) for the site's state; said once a minute."""
        sensor = str(claimed.get("sensor") or f"{site}/?")[:200]
        kid = _claimed_kid(envelope)
        now = datetime.now(UTC)
        with self._mismatch_lock:
            sensors = self._mismatches.setdefault(site, {})
            known = sensors.get(sensor)
            since = known["since"] if known is not None and known["kid"] == kid else now
            sensors[sensor] = {"kid": kid, "since": since, "seen": now, "advice": advice}
            # Bounded (the names are unverified): the newest MAX_MISMATCHED per site.
            for name in sorted(sensors, key=lambda n: sensors[n]["seen"])[:-MAX_MISMATCHED]:
                del sensors[name]
        self.say(
            f"mismatch:{site}:{sensor}",
            "site %r is refusing: the sensor calling itself %r signs with key %s, %s",
            site,
            sensor,
            kid,
            advice,
        )

    def _clear_mismatch(self, site: str, sensor: str) -> None:
        """A verified heartbeat of ``sensor``: its key is the central's (again)."""
        with self._mismatch_lock:
            sensors = self._mismatches.get(site)
            if sensors is not None:
                sensors.pop(sensor, None)
                if not sensors:
                    del self._mismatches[site]

    def key_mismatches(self, within: timedelta) -> dict[str, dict[str, Any]]:
        """The sites whose sensors sent, in the last ``within``, messages signed with a key
        this central's key file for the site does not hold: site -> {``reason``: "key
        mismatch", ``since``, ``seen`` (ISO times), ``sensors`` (their names, as they call
        themselves), ``detail``}. Unverified by nature (that is the trouble): shown, never
        acted on beyond failing the jobs such a sensor could not verify."""
        now = datetime.now(UTC)
        found: dict[str, dict[str, Any]] = {}
        with self._mismatch_lock:
            for site, sensors in self._mismatches.items():
                fresh = {n: e for n, e in sensors.items() if now - e["seen"] <= within}
                if not fresh:
                    continue
                first = min(fresh.values(), key=lambda entry: entry["since"])
                found[site] = {
                    "reason": "key mismatch",
                    "since": first["since"].isoformat(),
                    "seen": max(e["seen"] for e in fresh.values()).isoformat(),
                    "sensors": sorted(fresh),
                    "detail": (
                        f"{KEY_MISMATCH} for site {site}: "
                        + "; ".join(
                            f"{n} signs with key {e['kid']}" for n, e in sorted(fresh.items())
                        )
                        + f"; {first['advice']}"
                    ),
                }
        return found

    def _fail_unverifiable(
        self, site: str, claimed: dict[str, Any], envelope: Any, advice: str
    ) -> str | None:
        """A refusal signed with a key this central does not hold, for a job of ``site``
        still ``queued`` here: the sensor could not verify the request (its key is not the
        central's), so the job can never run as things are. It is marked ``failed`` with
        the cause and the message acknowledged (a refusal carries nothing to keep). Nothing
        in the message is trusted beyond that: no device, no count, and only a queued job
        of the site it claims (an unverifiable message could at most fail a job that waits,
        as anyone able to publish to the broker could by taking the request). None: not
        such a refusal (kept, as before)."""
        job_id = claimed.get("job_id")
        if claimed.get("status") != "refused" or not isinstance(job_id, str):
            return None
        if not 0 < len(job_id) <= 64:
            return None
        fleet = self.store.fleet()
        job = fleet.job(job_id)
        if job is None or job.site != site:
            return None
        if job.state != "queued":
            return "duplicate" if job.state == "failed" else None
        sensor = str(claimed.get("sensor") or f"{site}/?")[:200]
        detail = (
            f"{KEY_MISMATCH} for site {site} ({sensor} signs with key "
            f"{_claimed_kid(envelope)}: {advice}); said in a message this central could not "
            "verify either; nothing was run. Send the scan again once the keys match"
        )
        done = fleet.finish_job(job_id, "failed", sensor=sensor, detail=detail)
        return "failed (key mismatch)" if done else "duplicate"

    def expire_queued(self, now: datetime | None = None) -> list[str]:
        """Mark ``failed`` ("expired: ...") the jobs still ``queued`` after their request's
        lifetime and the grace: no sensor took them, and a sensor would now refuse them.
        Returns their ids."""
        now = now or datetime.now(UTC)
        cutoff = now - self.request_lifetime - self.expiry_grace
        fleet = self.store.fleet()
        expired = []
        for job_id, site in fleet.queued_before(cutoff):
            lifetime = lifetime_words(self.request_lifetime)
            detail = (
                f"expired: no sensor of site {site} took it within {lifetime}"
                f" (a request is valid that long; a sensor refuses it after that): is a "
                f"`provscan sensor --site {site}` running, with the site's key? Send it again"
            )
            if fleet.finish_job(job_id, "failed", sensor="-", detail=detail):
                expired.append(job_id)
                log.warning("job %s %s", job_id, detail)
        return expired

    # --- schedules -----------------------------------------------------------------------

    def run_schedule(self, schedule: Schedule, now: datetime) -> str | None:
        """Send ``schedule``'s job (Celery beat calls this when it is due): claim the run in
        the store first (compare and set on ``next_run``; the next run is counted from
        ``now``, so missed runs run once), then send it. Returns the job id, or None when
        another central claimed the run, or the job was not sent (logged, and recorded as a
        job: ``skipped`` while the schedule's previous run still waits in the site's queue,
        ``refused`` or ``failed`` with the reason otherwise)."""
        job_id = str(uuid.uuid4())
        try:
            following = next_run(schedule, now)
        except ProvscanError as exc:
            log.error("schedule %s: %s", schedule.id, exc)
            return None
        fleet = self.store.fleet()
        if not fleet.claim_run(schedule, now=now, next_run=following, job_id=job_id):
            return None  # another central took it
        # Runs do not pile up while the site's sensor is away: the one waiting runs when it
        # comes back, the ones due meanwhile are recorded as skipped. (A request older than
        # its lifetime is refused by the sensor anyway, so it holds nothing back.)
        waiting = fleet.queued_run(schedule.id, now - self.request_lifetime)
        if waiting is not None:
            detail = (
                f"not sent: the previous run, job {waiting.id}, still waits in the queue of "
                f"site {schedule.site!r} (is a `provscan sensor --site {schedule.site}` running?)"
            )
            self._record_unsent(schedule, job_id, "skipped", detail)
            self.say(f"skipped:{schedule.id}", "schedule %s: %s", schedule.id, detail)
            return None
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
            # The schedule's last_job names this job: it exists, refused with the reason
            # (a missing key, a target out of scope), unless the store itself is away.
            if not isinstance(exc, StoreError):
                self._record_unsent(schedule, job_id, "refused", f"not sent: {exc}")
            return None
        return job_id

    def _record_unsent(self, schedule: Schedule, job_id: str, state: str, detail: str) -> None:
        """A job of ``schedule`` that was not sent, final with ``detail`` (kept if recorded)."""
        fleet = self.store.fleet()
        try:
            if fleet.job(job_id) is None:
                covers = schedule.targets or schedule.captures
                fleet.add_job(
                    job_id,
                    schedule.site,
                    list(covers or ([schedule.interface] if schedule.interface else [])),
                    requested_by=f"schedule:{schedule.id}",
                    ports=schedule.ports if schedule.kind == "scan" else None,
                    schedule_id=schedule.id,
                    kind=schedule.kind,
                )
            fleet.finish_job(job_id, state, sensor="-", detail=detail)
        except ProvscanError as exc:
            log.error("schedule %s: could not record job %s: %s", schedule.id, job_id, exc)

    # --- running -------------------------------------------------------------------------

    def start(self, *, schedules: bool = True) -> None:
        """Start the ingest consumer (and Celery beat for the schedules) in background
        threads. Started once (``provscan serve`` starts it before the server listens, the
        app's start-up finds it running). BrokerError, in one line naming the broker and the
        cause, when the broker cannot be reached (it went away since it was checked)."""
        if self._ingest is not None:
            return
        try:
            with Connection(self.broker_url, connect_timeout=5) as connection:
                connection.ensure_connection(max_retries=3)
                declare(connection, RESULTS_QUEUE)
        except BrokerError:
            raise
        except Exception as exc:  # kombu, amqp, redis and socket errors alike
            why = " ".join(str(exc).split()) or type(exc).__name__
            raise BrokerError(
                f"cannot reach the broker {shown_url(self.broker_url)}: {why}"
            ) from None
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

    def retry_parked(self) -> None:
        """Move the parked results back to ``provscan.results`` at the ingest's next wake
        (a key was added), rather than at the next minute."""
        if self._consumer is not None:
            self._consumer.unpark_soon()

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
        self._ingest, self._consumer = None, None  # a later start() starts again
        self.alerts.stop()


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


def _claimed_kid(envelope: Any) -> str:
    """The key id an envelope names (unverified), shortened for words."""
    kid = envelope.get("kid") if isinstance(envelope, dict) else None
    return repr(kid[:16]) if isinstance(kid, str) and kid else "(none named)"


def lifetime_words(span: timedelta) -> str:
    """A lifetime in words: "7 days", "2 h", "90 s"."""
    seconds = int(span.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400} day{'s' if seconds != 86400 else ''}"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


class _Ingest(ConsumerMixin):
    """Consumes ``provscan.results``; a message is acknowledged after the store committed it,
    or after it was moved to ``provscan.results.parked`` (one this central cannot open or
    attribute), from where it goes back to ``provscan.results`` every PARKED_RETRY_SECONDS."""

    def __init__(self, connection: Connection, central: Central) -> None:
        self.connection = connection
        self.central = central
        self._channel: Any = None
        self._unpark_at = time.monotonic() + PARKED_RETRY_SECONDS
        self._expire_at = time.monotonic()

    def get_consumers(self, consumer_type: Any, channel: Any) -> list[Any]:
        # The parked queue exists before the first delivery: a result waiting in
        # provscan.results may be delivered (and parked) while a later declare waits for its
        # reply, and a park into an unbound queue would be acknowledged and lost.
        PARKED_QUEUE.bind(channel).declare()
        return [
            consumer_type(
                queues=[RESULTS_QUEUE],
                callbacks=[self.on_message],
                accept=["json"],
                prefetch_count=16,
            )
        ]

    def on_consume_ready(
        self, connection: Any, channel: Any, consumers: Any, **kwargs: Any
    ) -> None:
        self._channel = channel  # the parked queue is declared in get_consumers

    def unpark_soon(self) -> None:
        self._unpark_at = 0.0

    def on_iteration(self) -> None:
        if time.monotonic() >= self._unpark_at:
            self._unpark_at = time.monotonic() + PARKED_RETRY_SECONDS
            self.unpark()
        if time.monotonic() >= self._expire_at:
            self._expire_at = time.monotonic() + EXPIRY_CHECK_SECONDS
            try:
                self.central.expire_queued()
            except ProvscanError as exc:  # the store is away: the next look tries again
                log.error("could not look for expired scan jobs: %s", exc)

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
        except Unattributed as exc:
            self._park(message, exc)
            return
        except Exception as exc:
            # A result that cannot be applied now (a document of a newer provscan?) is kept
            # too; the log says why (with the traceback once a minute).
            if self.central.say(f"error:{type(exc).__name__}", "a result could not be applied"):
                log.exception("a result could not be applied; kept in %s", PARKED_QUEUE.name)
            self._park(message, Unattributed(f"{type(exc).__name__}: {exc}", "", "error"))
            return
        log.info("ingested: %s", outcome)
        message.ack()

    def _park(self, message: Any, exc: Unattributed) -> None:
        """Move ``message`` to the parked queue (acknowledged only once it is there)."""
        try:
            self._republish(message, PARKED_QUEUE.routing_key)
        except Exception as failure:  # the broker is away: the message stays where it was
            log.error("could not park a result (it stays in %s): %s", RESULTS_QUEUE.name, failure)
            time.sleep(STORE_RETRY_SECONDS)
            message.requeue()
            return
        message.ack()
        self.central.say(
            f"parked:{exc.why}:{exc.site}",
            "kept a result in %s, not ingested (moved back to %s every %d s): %s",
            PARKED_QUEUE.name,
            RESULTS_QUEUE.name,
            int(PARKED_RETRY_SECONDS),
            exc,
        )

    def _republish(self, message: Any, routing_key: str) -> None:
        """Publish ``message`` as it came (body, headers, content type), persistent."""
        Producer(message.channel).publish(
            message.body,
            exchange=EXCHANGE,
            routing_key=routing_key,
            headers=dict(message.headers or {}),
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            delivery_mode=2,
        )

    def unpark(self) -> int:
        """Move the parked results back to ``provscan.results`` (the central that can take
        them now does; one that still cannot parks them again); returns how many moved."""
        if self._channel is None:
            return 0
        queue = PARKED_QUEUE.bind(self._channel)
        moved = 0
        try:
            # Nothing is parked while this loop runs (the same thread parks), so it ends.
            for _ in range(MAX_UNPARK):
                message = queue.get(no_ack=False, accept=["json"])
                if message is None:
                    break
                self._republish(message, RESULTS_QUEUE.routing_key)
                message.ack()
                moved += 1
        except Exception as exc:  # the broker went away: the rest stays parked
            log.error("could not move the parked results back: %s", exc)
        if moved:
            log.info("moved %d parked result(s) back to %s", moved, RESULTS_QUEUE.name)
        return moved
