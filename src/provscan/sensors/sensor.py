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
import contextlib
import dataclasses
import hashlib
import logging
import os
import secrets
import signal
import socket
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from celery import Celery, bootsteps
from celery import signals as celery_signals
from celery.exceptions import Reject

from provscan import __version__
from provscan.errors import ProvscanError
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
from provscan.sensors.messages import (
    KeyRing,
    MessageRejected,
    UnknownKey,
    open_envelope,
    peek,
    seal,
)
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


#: The exit of a sensor stopped by Ctrl-C (as any program stopped by SIGINT).
EXIT_INTERRUPTED = 130


class _GiveBack(KeyboardInterrupt):
    """Raised in the job in hand by a second Ctrl-C: the job stops and its request goes back
    to the site's queue. A KeyboardInterrupt, so that asyncio stops the scan's tasks (it
    would only log another exception raised in one of them) and nothing treats it as the
    job's failure."""


def _say(text: str) -> None:
    """A line on stderr from a signal handler (no lock that the interrupted code may hold)."""
    with contextlib.suppress(OSError):
        os.write(2, f"provscan sensor: {text}\n".encode())


class _NoRejectTraceback(logging.Filter):
    """Celery logs a task's Reject with its traceback; a request given back is said once by
    the sensor itself (``job ... given back to the queue``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], Reject))


#: Sensors of one site on one host are named site/host, site/host-2, ... up to this.
MAX_SENSORS_PER_HOST = 16


class NameTaken(ProvscanError):
    """Another running sensor on this host holds the name."""


def _lock_directory() -> Path:
    import platformdirs

    from provscan.paths import APP_NAME

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "sensor-names"


def _lock_path(directory: Path, name: str) -> Path:
    return directory / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.lock"


def _holder(directory: Path, name: str) -> str:
    """`` (pid N)`` of the process holding ``name``, as its lock file says, or nothing."""
    try:
        pid = _lock_path(directory, name).read_text(encoding="utf-8").split()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def _try_lock(directory: Path, name: str) -> int | None:
    """An open, locked file descriptor holding ``name`` on this host, or None when another
    live process holds it (the kernel drops the lock when that process ends, however)."""
    import fcntl

    path = _lock_path(directory, name)
    handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(handle)
        return None
    os.ftruncate(handle, 0)
    os.write(handle, f"{os.getpid()} {name}\n".encode())
    return handle


def claim_name(site: str, name: str | None) -> tuple[str, int | None]:
    """This sensor's name, held on this host while the process runs: ``name`` when given
    (NameTaken when a live sensor on this host has it), else the first free of ``site/host``,
    ``site/host-2``, ... so that two sensors of one site on one host never show as one.
    Returns the name and the lock's descriptor (None when no lock could be made: the
    cache directory is not writable; the name is then used unchecked, with a warning)."""
    base = name or f"{site}/{socket.gethostname()}"
    candidates = (
        [base] if name else [base, *(f"{base}-{n}" for n in range(2, 1 + MAX_SENSORS_PER_HOST))]
    )
    directory = _lock_directory()
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for candidate in candidates:
            handle = _try_lock(directory, candidate)
            if handle is not None:
                return candidate, handle
    except (OSError, ImportError) as exc:
        log.warning("cannot check that no other sensor here is named %r: %s", base, exc)
        return base, None
    if name:
        raise NameTaken(
            f"a sensor named {name!r} already runs on this host{_holder(directory, name)}: "
            "stop it, or give this one another --name"
        )
    raise NameTaken(
        f"{MAX_SENSORS_PER_HOST} sensors of site {site!r} already run on this host "
        f"({base} to {candidates[-1]})"
    )


class KeySource(Protocol):
    """The site's keys now (a :class:`KeyRing`, or a :class:`KeyFile` read when it changes)."""

    def ring(self) -> KeyRing: ...


@dataclass(frozen=True)
class SensorSettings:
    site: str
    broker_url: str
    allow: tuple[IPNetwork, ...]
    keys: KeySource
    #: This sensor's name in the central's list: ``site/host`` unless told (``provscan
    #: sensor`` makes it unique on the host with :func:`claim_name`).
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
        #: Ctrl-C (SIGINT) received: the first stops after the job in hand, the second gives
        #: that job back to the queue, a third ends the process at once.
        self.interrupts = 0
        #: This process, in heartbeats (the central says when two share one name).
        self.instance = f"{os.getpid()}-{secrets.token_hex(3)}"
        self._in_job = False
        self._worker_consumer: Any = None
        sensor = self

        @self.app.task(name=SCAN_TASK, acks_late=True, reject_on_worker_lost=True)
        def scan(envelope: Any) -> None:
            try:
                sensor.handle(envelope)
            except _GiveBack:
                sensor.stop_consuming()
                # Celery rejects the message with requeue: the request waits in the site's
                # queue for the next sensor (or this one, started again).
                raise Reject(
                    "interrupted: the request goes back to the queue", requeue=True
                ) from None

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
                "instance": self.instance,
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
        except UnknownKey as exc:
            # A request for this site signed with a key this sensor does not hold (the
            # central's key changed first, or this sensor has another key): it cannot run
            # here, and its job must not wait forever: refused, saying which key is missing.
            self.rejected += 1
            log.warning("rejected a message: %s", exc)
            self._refuse_unverified(envelope, exc)
            return
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
            self._in_job = True
            if self.interrupts > 1:
                raise _GiveBack
            outcome = self._run(job_id, request)
        except _GiveBack:
            log.warning("job %s given back to the queue (interrupted)", job_id)
            raise
        except Exception as exc:  # the job fails; the sensor keeps serving
            log.exception("job %s failed", job_id)
            outcome = {"job_id": job_id, "status": "failed", "detail": type(exc).__name__}
        finally:
            self._in_job = False
        self._report("outcome", outcome)
        log.info("job %s reported: %s", job_id, outcome["status"])

    def _refuse_unverified(self, envelope: Any, exc: MessageRejected) -> None:
        """Report ``refused`` for the job a request this sensor cannot verify names (its
        site is this sensor's; its job id is read unverified, for the report only)."""
        _, site, claimed = peek(envelope)
        job_id = claimed.get("job_id")
        if site != self.settings.site or not isinstance(job_id, str) or not 0 < len(job_id) <= 64:
            return
        path = getattr(self.settings.keys, "path", None)
        where = f"its key file {path}" if path is not None else "its keys"
        detail = (
            f"sensor {self.settings.sensor_name} cannot verify the request ({exc}): "
            f"{where} must hold the key the central signs with"
        )
        try:
            self._report("outcome", {"job_id": job_id, "status": "refused", "detail": detail})
        except Exception as failure:  # the broker is away: said here at least
            log.warning("could not report job %s refused: %s", job_id, failure)
            return
        log.info("job %s reported: refused (unverifiable)", job_id)

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

    def stop_consuming(self) -> None:
        """Stop taking requests (before one is given back, so that it is not taken again)."""
        consumer = self._worker_consumer
        task_consumer = getattr(consumer, "task_consumer", None)
        if task_consumer is not None:
            try:
                task_consumer.cancel()
            except Exception as exc:  # closing anyway: the broker gives it back then
                log.warning("could not stop taking requests: %s", exc)

    def _on_interrupt(self, signum: int, frame: Any) -> None:
        """Ctrl-C: the first stops after the job in hand (Celery's warm shutdown), the
        second gives that job back to the queue at once, a third exits at once (the broker
        gives back what the closed connection held)."""
        from celery.worker import state

        self.interrupts += 1
        if self.interrupts == 1:
            if self._in_job:
                _say("stopping after the job in hand (Ctrl-C again gives it back to the queue)")
            else:
                _say("stopping")
            state.should_stop = 0
            return
        if self._in_job and self.interrupts == 2:
            _say("giving the job in hand back to the queue")
            raise _GiveBack
        if self.interrupts >= 3:
            _say("stopped at once")
            os._exit(EXIT_INTERRUPTED)

    def _on_worker_ready(self, sender: Any = None, **_: Any) -> None:
        # Celery's own SIGINT handler would, on a second Ctrl-C, ask the solo pool to kill
        # the job (which it cannot: NotImplementedError inside the scan): ours replaces it.
        if getattr(sender, "app", None) is not self.app:
            return
        self._worker_consumer = sender
        signal.signal(signal.SIGINT, self._on_interrupt)

    def _on_shutting_down(self, sig: str = "", **_: Any) -> None:
        # Celery's handler (before ours is installed): a Ctrl-C is still a Ctrl-C.
        if sig == "SIGINT" and self.interrupts == 0:
            self.interrupts = 1

    def run(self, *, loglevel: str = "INFO") -> int:
        """Consume the site's queue until stopped; returns the exit status (130 after a
        Ctrl-C). SIGTERM is Celery's warm shutdown (the job in hand finishes); Ctrl-C is
        too, and a second Ctrl-C gives the job in hand back to the queue.

        The solo pool runs one scan at a time in this process; the scanner has its own
        concurrency. Killed mid-scan, the unacknowledged request returns to the queue."""
        from celery.exceptions import SecurityWarning

        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # (Celery's own warning names a --uid option this command does not have)
            log.warning(
                "the sensor runs as root, which it does not need: run it as an "
                "unprivileged user (deploy/provscan-sensor@.service runs it as provscan)"
            )
        beat = threading.Thread(target=self._heartbeats, name="provscan-heartbeat", daemon=True)
        beat.start()
        quiet = _NoRejectTraceback()
        logging.getLogger("celery.app.trace").addFilter(quiet)
        celery_signals.worker_ready.connect(self._on_worker_ready, weak=False)
        celery_signals.worker_shutting_down.connect(self._on_shutting_down, weak=False)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=SecurityWarning)
                code = self.app.start(
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
        except KeyboardInterrupt:  # a Ctrl-C before Celery's handlers were in place
            self.interrupts += 1
            code = EXIT_INTERRUPTED
        except Exception as exc:
            if type(exc).__name__ != "Abort":  # click's word for a Ctrl-C at start
                raise
            self.interrupts += 1
            code = EXIT_INTERRUPTED
        finally:
            self.stop_heartbeat.set()
            celery_signals.worker_ready.disconnect(self._on_worker_ready)
            celery_signals.worker_shutting_down.disconnect(self._on_shutting_down)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            logging.getLogger("celery.app.trace").removeFilter(quiet)
        if self.interrupts:
            return EXIT_INTERRUPTED
        return int(code) if isinstance(code, int) else 0


def make_sensor(settings: SensorSettings) -> Celery:
    """The Celery app of a sensor (for ``celery -A`` style use and tests)."""
    return Sensor(settings).app
