"""Assemble the pipeline from its parts. Only this module and the CLI pick concrete classes."""

from __future__ import annotations

from collections.abc import Sequence

from provscan.attribution.attribute import Attributor
from provscan.engine.limits import ScanLimits
from provscan.engine.scanner import Scanner, ScanRequest
from provscan.knowledge.loader import Knowledge, load_knowledge
from provscan.model import ScanResult
from provscan.probes.http import HttpProbe, HttpsProbe
from provscan.probes.interface import Probe
from provscan.probes.registry import all_probes
from provscan.report.events import ScanObserver
from provscan.targets import TargetSet


def build_probes(knowledge: Knowledge) -> list[Probe]:
    endpoints = knowledge.http_endpoints.endpoints if knowledge.http_endpoints else []
    probes: list[Probe] = []
    for probe in all_probes():
        if isinstance(probe, HttpProbe):
            probe = type(probe)(endpoints)
        probes.append(probe)
    names = {p.name for p in probes}
    if "http" not in names:
        probes.append(HttpProbe(endpoints))
    if "https" not in names:
        probes.append(HttpsProbe(endpoints))
    return probes


async def run_scan(
    targets: TargetSet,
    target_specs: Sequence[str],
    ports: Sequence[int],
    *,
    policy_ids: Sequence[str] | None = None,
    limits: ScanLimits | None = None,
    observer: ScanObserver | None = None,
    knowledge: Knowledge | None = None,
) -> ScanResult:
    knowledge = knowledge or load_knowledge()
    policies = knowledge.select_policies(list(policy_ids) if policy_ids else None)
    scanner = Scanner(build_probes(knowledge), Attributor(knowledge), observer)
    request = ScanRequest(
        targets=targets,
        target_specs=tuple(target_specs),
        ports=tuple(ports),
        policies=tuple(policies),
        total_hosts=targets.size_upper_bound,
        limits=limits or ScanLimits(),
    )
    return await scanner.run(request)
