"""Security posture of each device: known vulnerabilities, exposure, and what to do.

Every verdict is version- or response-based: it reads what the probes already observed
(nothing here does I/O). Firmware that was not observed is reported as unknown — never
guessed — and a CVE whose range cannot be decided from the firmware string is
"undetermined", with the reason.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from provscan.knowledge.loader import PostureKnowledge
from provscan.knowledge.schema import AffectedRange, EndOfLifeEntry, VulnerabilityEntry
from provscan.model import (
    Device,
    Exposure,
    Observation,
    Remediation,
    ScanResult,
    Vulnerability,
)
from provscan.posture.versions import Firmware, VersionRange, in_range, parse_firmware

#: Observation fields that carry a firmware version, best source first. Credentialed reads
#: come first: they are the device's own management API answering an authenticated request.
FIRMWARE_FIELDS: tuple[str, ...] = (
    "isapi.firmware",
    "dahua.cgi.firmware",
    "onvif.firmware",
    "sadp.firmware",
    "dahua.discovery.version",
)
SERIAL_FIELDS: tuple[str, ...] = ("isapi.serial", "dahua.cgi.serial", "onvif.serial")
#: Ports whose plain-text protocols give away credentials or control.
TELNET_PORTS = frozenset({23, 2323})
_LOGIN_MARKERS = re.compile(
    r'type\s*=\s*["\']?password|login\.asp|RPC2_Login|t_username|id="login"', re.IGNORECASE
)
STATUS_RANK = {"vulnerable": 3, "likely": 2, "undetermined": 1}

ACTIONS = ("replace", "isolate", "patch", "reconfigure")


@dataclass(frozen=True)
class PostureOptions:
    """Scan-level context for the posture stage."""

    #: Policy ids selected for the scan; an end-of-support statement limited to a region
    #: applies when that region's policy is selected.
    policies: tuple[str, ...] = ()


def severity(score: float) -> str:
    """CVSS v3 qualitative rating."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score > 0 else "none"


def _observations(device: Device) -> list[Observation]:
    return [o for attempt in device.attempts for o in attempt.observations]


def firmware_source(device: Device) -> tuple[str | None, str]:
    """(firmware, how it was learned). ``(None, why)`` when no source showed it."""
    observations = _observations(device)
    for field_name in FIRMWARE_FIELDS:
        for observation in observations:
            if observation.field == field_name and observation.value.strip():
                where = f"{observation.protocol}/{observation.port}" if observation.port else ""
                return observation.value.strip(), (
                    f"{field_name} ({observation.detail or 'no detail'}"
                    + (f", {where}" if where else "")
                    + ")"
                )
    if device.firmware:
        for evidence in device.evidence:
            if "firmware" in evidence.asserts:
                return device.firmware, (
                    f"{evidence.observed_field} via rule {evidence.rule_id} "
                    f"({evidence.protocol}/{evidence.port})"
                )
        return device.firmware, "attribution"
    return None, "no unauthenticated source showed it and no credentials matched this host"


def _model_matches(patterns: Sequence[str], model: str | None) -> bool:
    if any(pattern in (".", ".*") for pattern in patterns):
        return True
    if not model:
        return False
    return any(re.match(pattern, model, re.IGNORECASE) for pattern in patterns)


def _range_verdict(
    affected: AffectedRange, firmware: Firmware | None, firmware_text: str | None
) -> tuple[str, str]:
    """(status, why) for one matching range: vulnerable / likely / undetermined / not_affected."""
    if firmware_text is None:
        return "undetermined", "firmware unknown"
    if not affected.versions_published:
        return "undetermined", "the advisory lists the model but no firmware versions"
    if firmware is None:
        return "undetermined", f"firmware string {firmware_text!r} not understood"
    bounds = VersionRange(
        affected.basis,
        parse_firmware(affected.introduced),
        parse_firmware(affected.last_affected),
        parse_firmware(affected.fixed),
    )
    verdict = in_range(firmware, bounds)
    if verdict == "not_affected":
        return "not_affected", ""
    if verdict == "undetermined":
        what = "a build date" if affected.basis == "build_date" else "a build number"
        return "undetermined", f"firmware {firmware_text!r} lacks {what} to compare"
    if affected.approximate:
        return "likely", "in an approximate range"
    return "vulnerable", "in the published range"


def match_vulnerabilities(
    device: Device,
    entries: Iterable[VulnerabilityEntry],
    firmware_text: str | None,
) -> list[Vulnerability]:
    """Every CVE whose published products include the device, with its verdict."""
    vendors = {name for name in (device.manufacturer, device.brand) if name}
    firmware = parse_firmware(firmware_text)
    found: list[Vulnerability] = []
    for entry in entries:
        if not vendors & set(entry.vendors):
            continue
        best: tuple[int, str, str, AffectedRange] | None = None
        for affected in entry.affected:
            if not _model_matches(affected.products, device.model):
                continue
            if (
                affected.firmware_pattern
                and firmware_text is not None
                and not re.match(affected.firmware_pattern, firmware_text, re.IGNORECASE)
            ):
                continue
            status, why = _range_verdict(affected, firmware, firmware_text)
            rank = STATUS_RANK.get(status, 0)
            if rank and (best is None or rank > best[0]):
                best = (rank, status, why, affected)
        if best is None:
            continue
        _, status, why, affected = best
        found.append(
            Vulnerability(
                cve=entry.cve,
                cvss=entry.cvss.score,
                severity=severity(entry.cvss.score),
                kev=entry.kev.listed,
                fixed_in=affected.fixed_in,
                source=entry.references[0],
                status=status,
                kev_date_added=entry.kev.date_added,
                note=f"{why}; published: {affected.as_published}",
            )
        )
    found.sort(key=lambda v: (-STATUS_RANK[v.status], not v.kev, -v.cvss, v.cve))
    return found


#: The internal client of a mapping summary "TCP *:8080 -> 192.168.1.64:80 (camera)".
_INTERNAL_CLIENT = re.compile(r"->\s*\[?([0-9A-Fa-f.:]+?)\]?:(?:\d+|\?)(?:\s|$)")


#: How discovery notes a mapping on the gateway's record (provscan.discovery.ssdp).
UPNP_NOTE_PREFIX = "UPnP IGD port mapping exposes "


def port_mappings_on(device: Device) -> list[str]:
    """Mapping summaries read from a gateway: observations, evidence or discovery notes."""
    found = [o.value for o in _observations(device) if o.field == "upnp.port_mapping"]
    found += [e.observed for e in device.evidence if e.observed_field == "upnp.port_mapping"]
    found += [n[len(UPNP_NOTE_PREFIX) :] for n in device.notes if n.startswith(UPNP_NOTE_PREFIX)]
    return list(dict.fromkeys(found))


def upnp_mappings_to(device: Device, all_devices: Sequence[Device]) -> list[Exposure]:
    """UPnP IGD port mappings (``upnp.port_mapping``) whose internal client is ``device``.

    Discovery reads the mappings from the router, so they sit on the router's record.
    """
    exposures = []
    for other in all_devices:
        for mapping in port_mappings_on(other):
            client = _INTERNAL_CLIENT.search(mapping)
            if client is None or client.group(1) != device.ip:
                continue
            exposures.append(
                Exposure(
                    "internet_upnp_mapping",
                    "the router's UPnP IGD forwards a port from the internet to this device: "
                    f"{mapping}",
                    f"upnp.port_mapping read from {other.ip}",
                )
            )
    return exposures


def exposures_of(device: Device, all_devices: Sequence[Device]) -> list[Exposure]:
    """Internet paths, cloud/P2P, insecure services and default accounts seen on a device."""
    found = upnp_mappings_to(device, all_devices)
    try:
        if ipaddress.ip_address(device.ip).is_global:
            found.append(
                Exposure("public_address", f"{device.ip} is an internet-routable address", "")
            )
    except ValueError:
        pass
    observations = _observations(device)
    for observation in observations:
        if observation.field == "isapi.ezviz.enabled" and observation.value == "true":
            found.append(
                Exposure(
                    "cloud_p2p",
                    "Hik-Connect/EZVIZ platform access is enabled",
                    f"credentialed {observation.detail} on port {observation.port}",
                )
            )
        elif observation.field == "dahua.cgi.p2p_enabled" and observation.value.lower() == "true":
            found.append(
                Exposure(
                    "cloud_p2p",
                    "Dahua P2P cloud service (T2UServer) is enabled",
                    f"credentialed {observation.detail} on port {observation.port}",
                )
            )
    for contact in getattr(device, "phones_home", ()):
        found.append(
            Exposure(
                "cloud_p2p",
                f"contacted {contact.service} ({contact.endpoint})",
                f"capture packet {contact.packet}",
            )
        )
    for port in sorted(TELNET_PORTS & set(device.open_ports)):
        banner = next(
            (o.value for o in observations if o.port == port and o.field == "banner.text"), ""
        )
        found.append(
            Exposure(
                "telnet",
                f"telnet is open on TCP {port}: logins cross the network in clear text",
                f"banner {banner[:60]!r}" if banner else f"TCP {port} open",
            )
        )
    found += _plain_http_logins(device, observations)
    for observation in observations:
        if (
            observation.field == "rtsp.status_line"
            and observation.detail == "DESCRIBE"
            and re.search(r"\s200(\s|$)", observation.value)
        ):
            found.append(
                Exposure(
                    "rtsp_unauthenticated",
                    f"RTSP on port {observation.port} answered DESCRIBE with 200 without "
                    "credentials: anyone who can reach it can watch the stream",
                    f"rtsp.status_line {observation.value!r}",
                )
            )
    for observation in observations:
        if observation.field == "default_credentials.accepted":
            found.append(
                Exposure(
                    "default_credentials",
                    f"documented factory account {observation.value} is accepted",
                    f"--check-default-credentials, {observation.detail} on port {observation.port}",
                )
            )
    return found


def _plain_http_logins(device: Device, observations: Sequence[Observation]) -> list[Exposure]:
    found = []
    for port in sorted({o.port for o in observations if o.protocol == "http" and o.port}):
        on_port = [o for o in observations if o.protocol == "http" and o.port == port]
        basic = any(
            o.field == "http.www_authenticate" and o.value.lower().startswith("basic")
            for o in on_port
        )
        marker = next(
            (
                o
                for o in on_port
                if o.field in ("http.body", "http.title", "http.endpoint")
                and _LOGIN_MARKERS.search(o.value)
                and "-> 404" not in o.value
            ),
            None,
        )
        if basic:
            found.append(
                Exposure(
                    "plain_http_login",
                    f"port {port} asks for HTTP Basic authentication over plain HTTP: the "
                    "password crosses the network base64-encoded, i.e. readable",
                    "http.www_authenticate Basic",
                )
            )
        elif marker is not None:
            found.append(
                Exposure(
                    "plain_http_login",
                    f"port {port} serves a login page over plain HTTP (no TLS)",
                    f"{marker.field} ({marker.detail or '/'})",
                )
            )
    return found


def end_of_life(
    device: Device, entries: Iterable[EndOfLifeEntry], options: PostureOptions
) -> list[EndOfLifeEntry]:
    vendors = {name for name in (device.manufacturer, device.brand) if name}
    found = []
    for entry in entries:
        if not vendors & set(entry.vendors):
            continue
        if not _model_matches(entry.products, device.model):
            continue
        if entry.region and entry.region.lower() not in options.policies:
            continue
        found.append(entry)
    return found


def isolation_steps(device: Device) -> str:
    """The VLAN and firewall rules for one device, spelled out."""
    # Clear-text management (telnet) is never worth allowing, not even from the recorder.
    kept = [p for p in device.open_ports if p not in TELNET_PORTS]
    ports = ", ".join(str(p) for p in kept) or "its service ports"
    return (
        f"Move {device.ip} to a dedicated camera VLAN with no route to user or server VLANs. "
        f"Firewall, in order: (1) allow only the recorder/VMS hosts to reach {device.ip} on "
        f"TCP {ports}; (2) allow {device.ip} to reach only internal NTP (UDP 123) and DNS "
        f"(UDP/TCP 53); (3) deny {device.ip} to the internet, including vendor cloud and P2P "
        "(e.g. *.hik-connect.com, *.ezvizlife.com, *.easy4ipcloud.com and UDP 8800); "
        f"(4) deny all other traffic to and from {device.ip} and log the denies; "
        "(5) disable UPnP on the router serving that VLAN."
    )


def remediation_for(
    device: Device,
    vulnerabilities: Sequence[Vulnerability],
    exposures: Sequence[Exposure],
    eol: Sequence[EndOfLifeEntry],
) -> list[Remediation]:
    """Graded guidance: replace, isolate, patch, reconfigure — most urgent first."""
    plan: list[Remediation] = []
    isolate_reasons: list[tuple[int, str]] = []
    if device.restricted:
        restricting = [f for f in device.findings if f.effect == "restricts"] or list(
            device.findings
        )
        policies = ", ".join(dict.fromkeys(f.policy for f in restricting))
        first = restricting[0]
        plan.append(
            Remediation(
                "replace",
                f"maker {device.manufacturer} is restricted by policy {policies} ({first.measure})",
                2,
                "Replace with equipment from a maker no selected policy restricts "
                f"[{first.citation}]; isolate it until then.",
            )
        )
        isolate_reasons.append((2, "restricted maker"))
    for entry in eol:
        where = f" in {entry.region}" if entry.region else ""
        plan.append(
            Remediation(
                "replace",
                f"{entry.status.replace('_', ' ')}{where} since {entry.effective}",
                2,
                entry.statement.strip(),
            )
        )
    undetermined = [v for v in vulnerabilities if v.status == "undetermined"]
    for vulnerability in vulnerabilities:
        if vulnerability.status == "undetermined":
            continue
        exploited = " (actively exploited: CISA KEV)" if vulnerability.kev else ""
        qualifier = "likely affected by" if vulnerability.status == "likely" else "affected by"
        reason = (
            f"{qualifier} {vulnerability.cve}, CVSS {vulnerability.cvss} "
            f"{vulnerability.severity}{exploited}"
        )
        priority = 1 if vulnerability.kev else (2 if vulnerability.cvss >= 7.0 else 3)
        if vulnerability.fixed_in:
            plan.append(
                Remediation(
                    "patch",
                    reason,
                    priority,
                    f"Update the firmware to {vulnerability.fixed_in} or later from the "
                    "vendor; confirm the new version afterwards (provscan --credentials).",
                )
            )
        else:
            plan.append(
                Remediation("replace", reason + "; no fixed firmware is published", priority)
            )
        if vulnerability.kev or vulnerability.cvss >= 9.0:
            isolate_reasons.append((priority, vulnerability.cve))
    if undetermined:
        cves = ", ".join(v.cve for v in undetermined)
        plan.append(
            Remediation(
                "patch",
                f"firmware could not be placed in the published ranges of {cves}",
                4,
                "Read the exact firmware (web UI, or provscan --credentials) and compare it "
                "with the fixed versions in the advisories; update if older.",
            )
        )
    for exposure in exposures:
        reconfigure = _RECONFIGURE.get(exposure.kind)
        if reconfigure is None:
            continue
        priority, steps = reconfigure
        plan.append(Remediation("reconfigure", exposure.detail, priority, steps))
        if exposure.kind in ("internet_upnp_mapping", "public_address", "cloud_p2p"):
            isolate_reasons.append((priority, exposure.kind.replace("_", " ")))
    if isolate_reasons:
        priority = min(p for p, _ in isolate_reasons)
        why = ", ".join(dict.fromkeys(reason for _, reason in isolate_reasons))
        plan.append(
            Remediation("isolate", f"limit the damage: {why}", priority, isolation_steps(device))
        )
    unique: dict[tuple[str, str], Remediation] = {}
    for item in plan:
        unique.setdefault((item.action, item.reason), item)
    return sorted(unique.values(), key=lambda r: (r.priority, ACTIONS.index(r.action)))


_RECONFIGURE: dict[str, tuple[int, str]] = {
    "default_credentials": (
        1,
        "Change the password of the factory account now (and of every account that shares it).",
    ),
    "internet_upnp_mapping": (
        1,
        "Delete the port mapping on the router and disable UPnP IGD there; reach the device "
        "remotely only through a VPN.",
    ),
    "public_address": (
        1,
        "Move the device to a private address behind a firewall; reach it only through a VPN.",
    ),
    "cloud_p2p": (
        3,
        "Disable the vendor cloud/P2P service on the device (Hik-Connect/EZVIZ 'Platform "
        "Access', Dahua 'P2P') and block it at the firewall.",
    ),
    "telnet": (2, "Disable telnet on the device; use the web UI over HTTPS for management."),
    "plain_http_login": (
        3,
        "Enable HTTPS on the device and disable plain HTTP (or redirect it to HTTPS).",
    ),
    "rtsp_unauthenticated": (
        2,
        "Enable RTSP authentication (Digest) on the device; allow RTSP only from the recorder.",
    ),
}


def assess_device(
    device: Device,
    knowledge: PostureKnowledge,
    all_devices: Sequence[Device] = (),
    options: PostureOptions | None = None,
) -> Device:
    """The device with its vulnerabilities, exposure and remediation filled in."""
    options = options or PostureOptions()
    notes = list(device.notes)
    firmware, how = firmware_source(device)
    if firmware is None:
        notes.append(f"firmware unknown ({how}): vulnerability status incomplete")
    else:
        notes.append(f"firmware {firmware} learned from {how}")
    serial = device.serial or next(
        (o.value for o in _observations(device) if o.field in SERIAL_FIELDS and o.value), None
    )
    vulnerabilities = match_vulnerabilities(device, knowledge.vulnerabilities, firmware)
    if device.manufacturer and device.model is None:
        notes.append("model unknown: vulnerabilities listed by model could not be checked")
    exposures = exposures_of(device, all_devices or (device,))
    for observation in _observations(device):
        if observation.field == "default_credentials.lockout":
            notes.append(
                f"default-account check stopped at a lockout sign ({observation.value}); "
                "remaining accounts were not tried"
            )
    eol = end_of_life(device, knowledge.end_of_life, options)
    remediation = remediation_for(device, vulnerabilities, exposures, eol)
    return dataclasses.replace(
        device,
        firmware=device.firmware or firmware,
        serial=serial,
        vulnerabilities=tuple(vulnerabilities),
        exposure=tuple(exposures),
        remediation=tuple(remediation),
        notes=tuple(notes),
    )


def assess_scan(
    result: ScanResult, knowledge: PostureKnowledge, options: PostureOptions | None = None
) -> ScanResult:
    """Assess every device of a scan (UPnP mappings on one host may expose another)."""
    options = options or PostureOptions(policies=tuple(result.info.policies))
    devices = tuple(
        assess_device(device, knowledge, result.devices, options) for device in result.devices
    )
    return ScanResult(result.info, devices)


@dataclass(frozen=True)
class PriorityItem:
    priority: int
    ip: str
    device: str
    action: str
    reason: str


def device_label(device: Device) -> str:
    label = device.brand or device.manufacturer or "unknown"
    return f"{label} {device.model}" if device.model else label


def priority_list(result: ScanResult) -> list[PriorityItem]:
    """Every remediation of the scan, most urgent first (isolate items folded per device)."""
    items = [
        PriorityItem(r.priority, d.ip, device_label(d), r.action, r.reason)
        for d in result.devices
        for r in d.remediation
    ]
    return sorted(
        items,
        key=lambda i: (i.priority, ACTIONS.index(i.action) if i.action in ACTIONS else 9, i.ip),
    )
