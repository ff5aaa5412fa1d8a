"""The sensor: a Celery worker that consumes its site's queue, runs each job with the CLI's
pipeline (a scan, the analysis of captures on the sensor, a discovery) and sends the outcome
back through the broker. It holds no database and no other site's key.

Each request is checked in this order, and every refusal is reported (except a message that
is not authentic: nothing in it can be trusted, not even its job id, so it is logged and
dropped): the signature under the site's keys, the site it is for, its expiry, then what it
asks against the sensor's own settings: targets inside ``--allow``; captures inside
``--captures``; discovery on an ``--interface`` whose segment lies inside ``--allow``. Only
then does it run.
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
from pathlib import Path
from typing import Any, Protocol

from celery import Celery, bootsteps

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
from provscan.sensors.messages import KeyRing, MessageRejected, open_envelope, seal
from provscan.sensors.scope import (
    MAX_CAPTURES,
    IPNetwork,
    OutsideAllowList,
    allowed_targets,
    capture_files,
    segment_inside,
)

log = logging.getLogger("provscan.sensor")

#: Seconds between heartbeats.
DEFAULT_HEARTBEAT_SECONDS = 30.0
#: Seconds a discovery waits for replies, unless the request says (within the bounds).
DEFAULT_DISCOVERY_SECONDS = 2.0
DISCOVERY_SECONDS_BOUNDS = (0.1, 60.0)


#: Longest wait of the worker's event loop, so that a stop (SIGTERM) is seen within it.
WAKE_SECONDS = 0.25


class _WakeUp(bootsteps.StartStopStep):  # type: ignore[misc]  # celery is untyped
    """A timer that wakes the worker's event loop every WAKE_SECONDS. On AMQP the loop
    otherwise sleeps up to 10 s between timers, so a warm shutdown of an idle sensor (a
    restart, a key change) waited that long for nothing."""

    requires = ("celery.worker.components:Hub",)

    def start(self, worker: Any) -> None:
        if getattr(worker, "hub", None) is not None:
            worker.hub.call_repeatedly(WAKE_SECONDS, _nothing)


def _nothing() -> None:
    return None


class KeySource(Protocol):
    """The site's keys now (a :class:`KeyRing`, or a :class:`KeyFile` read when it changes)."""

    def ring(self) -> KeyRing: ...


@dataclass(frozen=True)
class SensorSettings:
    site: str
    broker_url: str
    allow: tuple[IPNetwork, ...]
    keys: KeySource
    #: This sensor's name in the central's list: ``site/host`` unless told.
    name: str = ""
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    #: The directory whose captures a request may name (``--captures``); None: no pcap jobs.
    captures: Path | None = None
    #: Interfaces a discovery may use (``--interface``, the first by default); none: no
    #: discovery on segments.
    interfaces: tuple[str, ...] = ()

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
        self.app.steps["worker"].add(_WakeUp)
        self.stop_heartbeat = threading.Event()
        self.rejected = 0
        sensor = self

        @self.app.task(name=SCAN_TASK, acks_late=True, reject_on_worker_lost=True)
        def scan(envelope: Any) -> None:
            sensor.handle(envelope)

    # --- messages to the central -------------------------------------------------------

    def _report(self, kind: str, payload: dict[str, Any], **options: Any) -> None:
        payload = {**payload, "sensor": self.settings.sensor_name}
        envelope = seal(kind, self.settings.site, payload, self.settings.keys.ring())
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

    def _key_for(self, site: str) -> KeyRing | None:
        return self.settings.keys.ring() if site == self.settings.site else None

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
        self._report("started", {"job_id": job_id})
        try:
            outcome = self._run(job_id, request)
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
        try:
            kind = request.get("kind", "scan")
            if kind == "scan":
                self._scan_targets(request)
            elif kind == "pcap":
                self._capture_paths(request)
            elif kind == "discover":
                self._discovery_scope(request)
            else:
                return f"this sensor runs scan, pcap and discover jobs, not {str(kind)[:40]!r}"
        except OutsideAllowList as exc:
            return str(exc)
        return None

    # What a request asks, checked against this sensor's own settings (OutsideAllowList).

    def _scan_targets(self, request: dict[str, Any]) -> Any:
        targets = request.get("targets")
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise OutsideAllowList("the request names no targets")
        return allowed_targets(targets, self.settings.allow)

    def _capture_paths(self, request: dict[str, Any]) -> list[tuple[str, Path]]:
        """(name under --captures, file) for each capture named or matched by a glob."""
        if self.settings.captures is None:
            raise OutsideAllowList("this sensor analyses no captures (it has no --captures DIR)")
        names = request.get("captures")
        if (
            not isinstance(names, list)
            or not names
            or len(names) > MAX_CAPTURES
            or not all(isinstance(name, str) for name in names)
        ):
            raise OutsideAllowList(f"a capture job names 1 to {MAX_CAPTURES} captures")
        return capture_files(names, self.settings.captures)

    def _discovery_scope(self, request: dict[str, Any]) -> tuple[Any, str | None, float]:
        """(unicast targets or None, the interface or None, seconds to wait)."""
        timeout = request.get("timeout")
        low, high = DISCOVERY_SECONDS_BOUNDS
        if timeout is None:
            timeout = DEFAULT_DISCOVERY_SECONDS
        elif not isinstance(timeout, int | float) or not low <= timeout <= high:
            raise OutsideAllowList(f"a discovery waits {low} to {high} seconds")
        if request.get("targets"):  # unicast to named addresses, inside --allow
            return self._scan_targets(request), None, float(timeout)
        from provscan.discovery.interface import InterfaceError
        from provscan.discovery.netif import segment_for_interface

        if not self.settings.interfaces:
            raise OutsideAllowList("this sensor discovers on no segment (it has no --interface)")
        interface = request.get("interface") or self.settings.interfaces[0]
        if interface not in self.settings.interfaces:
            shown = ",".join(self.settings.interfaces)
            raise OutsideAllowList(
                f"{str(interface)[:40]!r} is not one of this sensor's --interface {shown}"
            )
        try:
            segment = segment_for_interface(interface)
        except InterfaceError as exc:
            raise OutsideAllowList(str(exc)) from None
        if not segment_inside(segment.network, self.settings.allow):
            shown = ",".join(str(network) for network in self.settings.allow)
            raise OutsideAllowList(
                f"{interface}'s segment {segment.network} is outside this sensor's --allow {shown}"
            )
        return None, interface, float(timeout)

    # The jobs: the CLI's pipeline, the outcome keyed by the job.

    def _run(self, job_id: str, request: dict[str, Any]) -> dict[str, Any]:
        kind = request.get("kind", "scan")
        spans: list[str] = []
        excluded: list[str] = []
        if kind == "pcap":
            result = self._analyse(request)
        elif kind == "discover":
            result = self._discover(request)
        else:
            targets = self._scan_targets(request)
            result = self._scan(request, targets)
            # A scan proves absence over what it covered (a capture or a discovery does not).
            spans = [f"{block.first}-{block.last}" for block in targets.blocks]
            excluded = [f"{block.first}-{block.last}" for block in targets.excluded]
        # The stored scan is keyed by the job: a second delivery cannot store it twice.
        result = dataclasses.replace(result, info=dataclasses.replace(result.info, scan_id=job_id))
        document = to_contract(result).model_dump(mode="json")
        return {
            "job_id": job_id,
            "status": "done",
            "document": document,
            "spans": spans,
            "excluded": excluded,
            "hosts": result.info.hosts_scanned,
            "devices": len(result.devices),
            "restricted": sum(1 for device in result.devices if device.restricted),
        }

    def _scan(self, request: dict[str, Any], targets: Any) -> Any:
        from provscan.fingerprints.service_probes import available_service_probes
        from provscan.pipeline import run_scan
        from provscan.transport.limits import DEFAULT_PORTS

        ports: Sequence[int] = request.get("ports") or DEFAULT_PORTS
        return asyncio.run(
            run_scan(
                targets,
                list(request["targets"]),
                ports,
                policy_ids=request.get("policies") or None,
                discovery=None,
                acting_as=tuple(request.get("acting_as") or ()),
                service_probes=available_service_probes(),
            )
        )

    def _analyse(self, request: dict[str, Any]) -> Any:
        from provscan.fingerprints.service_probes import available_service_probes
        from provscan.pipeline import run_passive

        found = self._capture_paths(request)  # checked again: the files may have changed
        result = run_passive(
            [str(path) for _, path in found],
            policy_ids=request.get("policies") or None,
            acting_as=tuple(request.get("acting_as") or ()),
            service_probes=available_service_probes(),
        )
        # The sensor's paths stay on the sensor: the central sees the names under --captures
        # (a glob's matches, each by its name).
        names = tuple(f"capture:{name}" for name, _ in found)
        return dataclasses.replace(result, info=dataclasses.replace(result.info, targets=names))

    def _discover(self, request: dict[str, Any]) -> Any:
        from provscan.discovery.runner import DiscoverySettings
        from provscan.pipeline import run_discovery

        targets, interface, timeout = self._discovery_scope(request)
        settings = DiscoverySettings(
            timeout_s=timeout, interface=interface, loopback_timeout_s=timeout
        )
        return asyncio.run(
            run_discovery(
                settings,
                targets=targets,
                target_specs=list(request.get("targets") or []),
                policy_ids=request.get("policies") or None,
                acting_as=tuple(request.get("acting_as") or ()),
            )
        )

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
