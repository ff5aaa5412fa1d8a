"""The sensor: a Celery worker that consumes its site's queue, scans with the CLI's pipeline
and sends the outcome back through the broker. It holds no database and no other site's key.

Each scan request is checked in this order, and every refusal is reported (except a message
that is not authentic: nothing in it can be trusted, not even its job id, so it is logged and
dropped): the signature under the site key, the site it is for, its expiry, the targets
against the sensor's own ``--allow`` list. Only then does it scan.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from celery import Celery

from provscan import __version__
from provscan.report.contract import to_contract
from provscan.sensors.broker import (
    HEARTBEAT_TTL_SECONDS,
    REPORT_TASK,
    RESULTS_QUEUE,
    SCAN_TASK,
    make_app,
    queue_depth,
    send,
    site_queue,
)
from provscan.sensors.messages import MessageRejected, open_envelope, seal
from provscan.sensors.scope import IPNetwork, OutsideAllowList, allowed_targets

log = logging.getLogger("provscan.sensor")

#: Seconds between heartbeats.
DEFAULT_HEARTBEAT_SECONDS = 30.0


@dataclass(frozen=True)
class SensorSettings:
    site: str
    broker_url: str
    allow: tuple[IPNetwork, ...]
    key: bytes
    #: This sensor's name in the central's list: ``site/host`` unless told.
    name: str = ""
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS

    @property
    def sensor_name(self) -> str:
        return self.name or f"{self.site}/{socket.gethostname()}"


def _knowledge_version() -> str | None:
    from provscan.knowledge.packs import active_pack

    try:
        return active_pack().version
    except Exception:  # the heartbeat still goes; the central shows "unknown"
        return None


class Sensor:
    """One site's sensor: the Celery app, the scan handler and the heartbeat thread."""

    def __init__(self, settings: SensorSettings) -> None:
        self.settings = settings
        self.queue = site_queue(settings.site)
        self.app = make_app(settings.broker_url, "provscan-sensor", [self.queue])
        self.stop_heartbeat = threading.Event()
        self.rejected = 0
        sensor = self

        @self.app.task(name=SCAN_TASK, acks_late=True, reject_on_worker_lost=True)
        def scan(envelope: Any) -> None:
            sensor.handle(envelope)

    # --- messages to the central -------------------------------------------------------

    def _report(self, kind: str, payload: dict[str, Any], **options: Any) -> None:
        payload = {**payload, "sensor": self.settings.sensor_name}
        envelope = seal(kind, self.settings.site, payload, self.settings.key)
        send(self.app, REPORT_TASK, envelope, RESULTS_QUEUE, **options)

    def heartbeat(self) -> None:
        self._report(
            "heartbeat",
            {
                "at": datetime.now(UTC).isoformat(),
                "version": __version__,
                "knowledge_version": _knowledge_version(),
                "queue_depth": queue_depth(self.app, self.queue),
                "allow": [str(network) for network in self.settings.allow],
            },
            expiration=HEARTBEAT_TTL_SECONDS,
        )

    def _heartbeats(self) -> None:
        while not self.stop_heartbeat.is_set():
            try:
                self.heartbeat()
            except Exception as exc:  # the broker may be away for a while; try again
                log.warning("heartbeat not sent: %s", exc)
            self.stop_heartbeat.wait(self.settings.heartbeat_seconds)

    # --- the task ----------------------------------------------------------------------

    def _key_for(self, site: str) -> bytes | None:
        return self.settings.key if site == self.settings.site else None

    def handle(self, envelope: Any) -> None:
        """Check, scan and report one request (the task body)."""
        try:
            _, _, request = open_envelope(envelope, self._key_for, kinds=("scan",))
        except MessageRejected as exc:
            self.rejected += 1
            log.warning("rejected a message: %s", exc)
            return
        job_id = str(request.get("job_id", ""))
        if not job_id:
            log.warning("rejected a signed request without a job id")
            return
        refusal = self._refusal(request)
        if refusal is not None:
            log.warning("refused job %s: %s", job_id, refusal)
            self._report("outcome", {"job_id": job_id, "status": "refused", "detail": refusal})
            log.info("job %s reported: refused", job_id)
            return
        targets = allowed_targets(request["targets"], self.settings.allow)
        self._report("started", {"job_id": job_id})
        try:
            outcome = self._scan(job_id, request, targets)
        except Exception as exc:  # the job fails; the sensor keeps serving
            log.exception("job %s failed", job_id)
            outcome = {"job_id": job_id, "status": "failed", "detail": type(exc).__name__}
        self._report("outcome", outcome)
        log.info("job %s reported: %s", job_id, outcome["status"])

    def _refusal(self, request: dict[str, Any]) -> str | None:
        if request.get("site") != self.settings.site:
            return f"the request is for site {request.get('site')!r}, this sensor serves {self.settings.site!r}"
        expires = request.get("expires")
        if isinstance(expires, str):
            try:
                if datetime.fromisoformat(expires) < datetime.now(UTC):
                    return f"the request expired at {expires}"
            except ValueError:
                return "the request's expiry is not a time"
        targets = request.get("targets")
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            return "the request names no targets"
        try:
            allowed_targets(targets, self.settings.allow)
        except OutsideAllowList as exc:
            return str(exc)
        return None

    def _scan(self, job_id: str, request: dict[str, Any], targets: Any) -> dict[str, Any]:
        from provscan.pipeline import run_scan
        from provscan.transport.limits import DEFAULT_PORTS

        specs: list[str] = list(request["targets"])
        ports: Sequence[int] = request.get("ports") or DEFAULT_PORTS
        result = asyncio.run(
            run_scan(
                targets,
                specs,
                ports,
                policy_ids=request.get("policies") or None,
                discovery=None,
                acting_as=tuple(request.get("acting_as") or ()),
            )
        )
        # The stored scan is keyed by the job: a second delivery cannot store it twice.
        result = dataclasses.replace(result, info=dataclasses.replace(result.info, scan_id=job_id))
        document = to_contract(result).model_dump(mode="json")
        return {
            "job_id": job_id,
            "status": "done",
            "document": document,
            "spans": [f"{block.first}-{block.last}" for block in targets.blocks],
            "excluded": [f"{block.first}-{block.last}" for block in targets.excluded],
            "hosts": result.info.hosts_scanned,
            "devices": len(result.devices),
            "restricted": sum(1 for device in result.devices if device.restricted),
        }

    # --- running -----------------------------------------------------------------------

    def run(self, *, loglevel: str = "INFO") -> None:
        """Consume the site's queue until stopped (SIGTERM/SIGINT: Celery's warm shutdown).

        The solo pool runs one scan at a time in this process; the scanner has its own
        concurrency. Killed mid-scan, the unacknowledged request returns to the queue."""
        beat = threading.Thread(target=self._heartbeats, name="provscan-heartbeat", daemon=True)
        beat.start()
        try:
            self.app.worker_main(
                [
                    "worker",
                    "--pool=solo",
                    "--concurrency=1",
                    f"--queues={self.queue.name}",
                    f"--hostname=provscan-sensor@{self.settings.sensor_name.replace('/', '.')}",
                    f"--loglevel={loglevel}",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ]
            )
        finally:
            self.stop_heartbeat.set()


def make_sensor(settings: SensorSettings) -> Celery:
    """The Celery app of a sensor (for ``celery -A`` style use and tests)."""
    return Sensor(settings).app
