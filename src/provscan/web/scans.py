"""Scans started from the API: checked like the CLI's, run one at a time in a worker thread,
their progress kept as a list of events that ``GET …/events`` streams (server-sent events).

Targets from the web are addresses, networks and ranges only: no host names (the server
would resolve them) and no ``@file`` (it would read the server's files). Every address must
pass the CLI's scope rules (public addresses refused, the ``PROVSCAN_ALLOWED_TARGETS``
interlock) before anything is sent; discovery (multicast on the server's interfaces) is off.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from provscan.alerts.deliver import Deliverer
from provscan.errors import ProvscanError, TargetError
from provscan.events import ScanObserver
from provscan.model import Device, ScanInfo, ScanResult
from provscan.store.db import Store
from provscan.store.inventory import coverage_ranges
from provscan.targets import (
    TargetSet,
    TooManyTargets,
    build_targets,
    check_scope,
    is_address_spec,
    looks_like_address,
    parse_address,
    parse_spec,
)

#: Scans running at once (each already runs many connections; the server stays responsive).
MAX_RUNNING = 1
#: Addresses one web scan may cover.
MAX_WEB_HOSTS = 4096
#: Jobs remembered (finished ones are dropped oldest first beyond this).
MAX_JOBS = 100


class ScanRefused(ProvscanError):
    """A scan request the rules refuse (its message says why)."""


class ScanBusy(ProvscanError):
    """Another scan is running."""


def check_targets(specs: Sequence[str]) -> TargetSet:
    """The target set of ``specs``, or :class:`ScanRefused` naming the first problem."""
    cleaned = [spec.strip() for spec in specs if spec.strip()]
    if not cleaned:
        raise ScanRefused("no targets given")
    for spec in cleaned:
        if not is_address_spec(spec):
            malformed = _malformed(spec)
            if malformed:
                raise ScanRefused(malformed)
            raise ScanRefused(
                f"{spec!r}: targets from the web are addresses, networks or ranges "
                "(no host names, no @files)"
            )
    try:
        targets = build_targets(cleaned, max_hosts=MAX_WEB_HOSTS)
    except TooManyTargets as exc:
        # the CLI's words would say "raise --max-hosts": the console has no such option
        raise ScanRefused(
            f"targets expand to {exc.addresses} addresses; a scan from the console covers at "
            f"most {exc.limit}: split them into several scans of up to {exc.limit} addresses "
            "each, or ask an administrator to scan the whole range with "
            "`provscan scan --max-hosts N`"
        ) from None
    except ProvscanError as exc:
        raise ScanRefused(str(exc)) from None
    for block in targets.blocks:
        for end in (block.first, block.last):
            reason = check_scope(end, allow_public=False)
            if reason:
                raise ScanRefused(f"{block.spec}: {reason}")
    return targets


def _malformed(spec: str) -> str | None:
    """Why ``spec``, meant as an address, a network or a range, is not one (the CLI's
    words: ``bad address '10.0.0.300': ...``); None for text that could be a host name.
    Only text no name lookup can follow is parsed: a CIDR, text shaped like an address, or
    a range that starts with an address."""
    if spec.startswith("@"):
        return None  # a file of targets: refused as one below
    left, dash, _ = spec.partition("-")
    shaped = "/" in spec or looks_like_address(spec)
    if dash and not shaped:
        try:
            parse_address(left)  # a range that starts with an address
            shaped = True
        except ValueError:
            pass
    if shaped:
        try:
            parse_spec(spec)
        except TargetError as exc:
            return str(exc)
    return None


@dataclass
class ScanJob:
    id: str
    actor: str
    targets: list[str]
    site: str | None
    state: str = "running"  # running | done | failed
    scan_id: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, **values: Any) -> None:
        with self.lock:
            self.events.append({"event": kind, "n": len(self.events), **values})

    def since(self, index: int) -> tuple[list[dict[str, Any]], bool]:
        """Events from ``index`` on, and whether the job has ended (read together)."""
        with self.lock:
            return list(self.events[index:]), self.state != "running"

    def to_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "id": self.id,
                "state": self.state,
                "targets": list(self.targets),
                "site": self.site,
                "started_by": self.actor,
                "scan_id": self.scan_id,
                "events": len(self.events),
            }


class _JobObserver(ScanObserver):
    def __init__(self, job: ScanJob) -> None:
        self.job = job

    def scan_started(self, info: ScanInfo, total_hosts: int) -> None:
        self.job.add("started", hosts=total_hosts)

    def host_done(self, ip: str, device: Device | None) -> None:
        self.job.add(
            "host",
            ip=ip,
            found=device is not None,
            manufacturer=device.manufacturer if device else None,
            restricted=bool(device and device.restricted),
        )

    def scan_done(self, result: ScanResult) -> None:
        self.job.add("scanned", devices=len(result.devices), complete=result.info.complete)


class ScanJobs:
    """The scans started through the API (in memory: a restart forgets running jobs, the
    stored scans stay)."""

    def __init__(self, store: Store, alerts: Deliverer | None = None) -> None:
        self.store = store
        #: Sends each stored scan's events to the alert sinks (README "Alerts to the SIEM").
        self.alerts = alerts if alerts is not None else Deliverer(store)
        self.jobs: dict[str, ScanJob] = {}
        self.lock = threading.Lock()

    def get(self, job_id: str) -> ScanJob | None:
        with self.lock:
            return self.jobs.get(job_id)

    def start(
        self,
        specs: Sequence[str],
        *,
        actor: str,
        ports: Sequence[int],
        policy_ids: Sequence[str] | None,
        acting_as: Sequence[str],
        site: str | None,
    ) -> ScanJob:
        targets = check_targets(specs)
        with self.lock:
            if sum(job.state == "running" for job in self.jobs.values()) >= MAX_RUNNING:
                raise ScanBusy("a scan is running; start this one when it has finished")
            job = ScanJob(uuid.uuid4().hex, actor, list(specs), site)
            self.jobs[job.id] = job
            finished = [j.id for j in self.jobs.values() if j.state != "running"]
            for old in finished[: max(0, len(self.jobs) - MAX_JOBS)]:
                del self.jobs[old]
        thread = threading.Thread(
            target=self._run,
            args=(job, targets, list(specs), list(ports), policy_ids, tuple(acting_as)),
            name=f"provscan-web-scan-{job.id[:8]}",
            daemon=True,
        )
        thread.start()
        return job

    def _run(
        self,
        job: ScanJob,
        targets: TargetSet,
        specs: list[str],
        ports: list[int],
        policy_ids: Sequence[str] | None,
        acting_as: tuple[str, ...],
    ) -> None:
        from provscan.fingerprints.service_probes import available_service_probes
        from provscan.pipeline import run_scan

        try:
            result = asyncio.run(
                run_scan(
                    targets,
                    specs,
                    ports,
                    policy_ids=policy_ids,
                    observer=_JobObserver(job),
                    discovery=None,
                    acting_as=acting_as,
                    service_probes=available_service_probes(),
                )
            )

            def spans(blocks: Sequence[Any]) -> list[str]:
                return [f"{block.first}-{block.last}" for block in blocks]

            scan_id = self.store.save(
                result,
                site=job.site,
                coverage=coverage_ranges(spans(targets.blocks), spans(targets.excluded)),
            )
        except Exception:  # the job reports a failure; the server keeps running
            logging.getLogger("provscan.web").exception("scan job %s failed", job.id)
            # the event first, then the state: a stream stops once it has seen the end
            job.add("failed", detail="the scan failed; see the server log")
            with job.lock:
                job.state = "failed"
            return
        self.alerts.kick()  # the pending events to every sink, as after a CLI scan
        with job.lock:
            job.scan_id = scan_id
        job.add("stored", scan_id=scan_id)
        with job.lock:
            job.state = "done"
