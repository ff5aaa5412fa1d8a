"""Assemble the pipeline from its parts. Only this module and the CLI pick concrete classes."""

from __future__ import annotations

from collections.abc import Sequence

from provscan.attribution.attribute import Attributor
from provscan.discovery.interface import DiscoveryResult
from provscan.discovery.runner import DiscoverySettings, discover_for_targets
from provscan.engine.limits import ScanLimits
from provscan.engine.scanner import Scanner, ScanRequest
from provscan.knowledge.loader import Knowledge, load_knowledge, load_posture_knowledge
from provscan.model import ScanResult
from provscan.posture.assess import assess_scan
from provscan.posture.credentials import CredentialStore
from provscan.probes.credentialed import credentialed_probes
from provscan.probes.credentialed_defaults import DefaultCredentialCheck
from provscan.probes.interface import Probe
from provscan.probes.registry import all_probes
from provscan.report.events import ScanObserver
from provscan.targets import TargetSet

#: Discovery inside a scan: on by default (provscan.discovery.runner says where it goes).
DEFAULT_DISCOVERY = DiscoverySettings()


def build_probes(knowledge: Knowledge) -> list[Probe]:
    endpoints = knowledge.http_endpoints.endpoints if knowledge.http_endpoints else []
    return all_probes(endpoints)


async def run_scan(
    targets: TargetSet,
    target_specs: Sequence[str],
    ports: Sequence[int],
    *,
    policy_ids: Sequence[str] | None = None,
    limits: ScanLimits | None = None,
    observer: ScanObserver | None = None,
    knowledge: Knowledge | None = None,
    credentials: CredentialStore | None = None,
    check_default_credentials: bool = False,
    posture: bool = True,
    discovery: DiscoverySettings | None = DEFAULT_DISCOVERY,
) -> ScanResult:
    """Scan, attribute, judge and (unless ``posture`` is False) assess security posture.

    ``credentials`` enables the credentialed probes on the hosts it covers;
    ``check_default_credentials`` tries the documented factory accounts (off by default).
    """
    knowledge = knowledge or load_knowledge()
    # Discovery first (``discovery=None`` skips it); its replies join each host's evidence.
    discovered = DiscoveryResult()
    if discovery is not None:
        discovered = await discover_for_targets((a for a, _ in targets), discovery)
    policies = knowledge.select_policies(list(policy_ids) if policy_ids else None)
    posture_knowledge = load_posture_knowledge() if posture or check_default_credentials else None
    probes = build_probes(knowledge)
    if credentials:
        probes += credentialed_probes(credentials)
    device_checks = []
    if check_default_credentials and posture_knowledge is not None:
        device_checks.append(DefaultCredentialCheck(posture_knowledge.default_accounts))
    scanner = Scanner(probes, Attributor(knowledge), observer, device_checks=device_checks)
    request = ScanRequest(
        targets=targets,
        target_specs=tuple(target_specs),
        ports=tuple(ports),
        policies=tuple(policies),
        total_hosts=targets.size_upper_bound,
        limits=limits or ScanLimits(),
        discovered=discovered.by_address(),
        notes=discovered.notes,
    )
    result = await scanner.run(request)
    if posture and posture_knowledge is not None:
        result = assess_scan(result, posture_knowledge)
    return result
