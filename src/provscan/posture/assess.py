"""Security posture of each device: known vulnerabilities, exposure, and what to do.

Every verdict is version- or response-based: it reads what the probes already observed
(nothing here does I/O). Firmware that was not observed is reported as unknown — never
guessed — and a CVE whose range cannot be decided from the firmware string is
"undetermined", with the reason.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from provscan.errors import KnowledgeError
from provscan.knowledge.device_api import load_device_api
from provscan.knowledge.eol import EndOfLifeEntry
from provscan.knowledge.exposure import ExposureRules, ObservedSetting, load_exposure_rules
from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.knowledge.loader import PostureKnowledge, load_knowledge
from provscan.knowledge.observation_fields import load_observation_fields
from provscan.knowledge.policies import jurisdiction_of
from provscan.knowledge.remediation import Effort, RemediationTexts, load_remediation
from provscan.knowledge.versions import Firmware, VersionRange, in_range, parse_firmware
from provscan.knowledge.vulnerabilities import AffectedRange, VulnerabilityEntry
from provscan.model import (
    Device,
    Exposure,
    Finding,
    Observation,
    Remediation,
    ScanResult,
    Vulnerability,
)
from provscan.policy.evaluate import ACT_AS_ANYONE, RESTRICTED_MIN_CONFIDENCE

#: Observation fields that carry a firmware version, best source first, and a serial number
#: (knowledge/data/observation_fields.yaml).
FIRMWARE_FIELDS: tuple[str, ...] = load_observation_fields().firmware
SERIAL_FIELDS: tuple[str, ...] = load_observation_fields().serial
#: The same read from the makers' APIs described as data (device_api.yaml ``role``; Axis,
#: Hanwha, Uniview, Reolink): credentialed reads of the device's own API, so they come first.
API_FIRMWARE_FIELDS: tuple[str, ...] = load_device_api().fields_with_role("firmware")
API_SERIAL_FIELDS: tuple[str, ...] = load_device_api().fields_with_role("serial")
#: Version field -> the field of its build, for replies that give the two apart
#: (knowledge/data/device_api.yaml ``firmware_build``: Hikvision DeviceInfo).
BUILD_FIELDS: dict[str, str] = load_device_api().firmware_builds()
STATUS_RANK = {"vulnerable": 3, "likely": 2, "undetermined": 1}

#: The order of actions of the same priority: isolating comes before replacing, since a
#: replacement takes months and the device stays on the network until then
#: (docs/decisions/0004-security-posture.md, "Order of the actions").
ACTIONS = ("isolate", "replace", "patch", "reconfigure")
#: The priority of reading the firmware to place it against advisories one of which is on
#: CISA KEV (known exploited): before hygiene (plain-HTTP login, cloud/P2P: 3). Reading it
#: for the other advisories stays :data:`VERIFY_PRIORITY`.
VERIFY_KEV_PRIORITY = 2
VERIFY_PRIORITY = 4


def action_rank(action: str) -> int:
    """The place of ``action`` among actions of the same priority (:data:`ACTIONS`)."""
    return ACTIONS.index(action) if action in ACTIONS else len(ACTIONS)


def effort_of(action: str, texts: RemediationTexts | None = None) -> Effort | None:
    """The rough effort of one kind of action (remediation.yaml ``effort``; ``texts``:
    default the active knowledge); None when the knowledge gives none or cannot be read."""
    if texts is None:
        try:
            texts = load_remediation()
        except KnowledgeError:
            return None
    return texts.effort.get(action)


@dataclass(frozen=True)
class PostureOptions:
    """Scan-level context for the posture stage."""

    #: Policy ids selected for the scan; an end-of-support statement limited to a region
    #: applies when that region's policy is selected...
    policies: tuple[str, ...] = ()
    #: ...and the user reads the scan there (:func:`reads_in_region`): who they said they are
    #: (``--as`` org type ids; ``("all",)``: anyone; empty: the default reading, a national
    #: government body of each selected policy). None: the scan's own (``ScanInfo.acting_as``,
    #: :func:`assess_scan`), else the default reading.
    acting_as: tuple[str, ...] | None = None


def reads_in_region(acting_as: Sequence[str] | None, region: str) -> bool:
    """Whether a statement limited to ``region`` (eol.yaml ``region``, an ISO country code:
    ``CA``) concerns a user who said they are ``acting_as``: one of their org types is of that
    country or of a part of it (``ca:individual``, ``ca-qc:public-body``; ``us:individual`` is
    not). Anyone (``--as all``) and the default reading (no ``--as``: the national government
    bodies of every selected policy, that region's among them) read it, with the region said
    in its words (:func:`region_name`)."""
    parties = tuple(acting_as or ())
    if not parties or parties == (ACT_AS_ANYONE,):
        return True
    code = region.lower()
    return any(
        jurisdiction_of(party) == code or jurisdiction_of(party).startswith(code + "-")
        for party in parties
    )


@functools.lru_cache(maxsize=64)
def region_name(region: str) -> str:
    """How advice names a region: the jurisdiction of the policy whose id is its code
    (``CA`` -> "Canada", policies.yaml), else the code itself (read once per code: a
    capture's thousands of devices of one maker share it)."""
    try:
        policy = load_knowledge().policies.get(region.lower())
    except KnowledgeError:
        return region
    return policy.jurisdiction if policy is not None else region


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
    """Every observation of the device: its probe attempts' (active scan), then those of the
    other inputs (discovery replies, captured traffic)."""
    return [o for attempt in device.attempts for o in attempt.observations] + list(
        device.observations
    )


#: A build as Hikvision writes it apart from the version: ``build 240821``, ``240821``, or
#: (seen only in sample replies) an ISO date ``2024-08-21``.
_BUILD_YYMMDD = re.compile(r"^(?:build\s*)?(\d{6})$", re.IGNORECASE)
_BUILD_ISO = re.compile(r"^(?:build\s*)?(?:19|20)(\d{2})-(\d{2})-(\d{2})$", re.IGNORECASE)
#: A version that already names its build (``V5.4.0 build 160530``, ``V4.0.1build171121``).
_HAS_BUILD = re.compile(r"build\s*\d{6}|[_\s]\d{6}$", re.IGNORECASE)


def build_suffix(text: str) -> str | None:
    """``build YYMMDD`` for a build element's text; None when it is not a build date."""
    value = " ".join(text.split())
    found = _BUILD_YYMMDD.match(value)
    if found:
        return f"build {found.group(1)}"
    iso = _BUILD_ISO.match(value)
    if iso:
        return f"build {iso.group(1)}{iso.group(2)}{iso.group(3)}"
    return None


def with_build(version: Observation, observations: Sequence[Observation]) -> str:
    """The version of ``version``, with the build of the same reply joined when one was seen.

    Same reply: the build observation has the same protocol, port and detail (the request).
    """
    value = version.value.strip()
    build_field = BUILD_FIELDS.get(version.field)
    if build_field is None or _HAS_BUILD.search(value):
        return value
    for other in observations:
        if other.field == build_field and (other.protocol, other.port, other.detail) == (
            version.protocol,
            version.port,
            version.detail,
        ):
            suffix = build_suffix(other.value)
            if suffix is not None:
                return f"{value} {suffix}"
    return value


def firmware_source(device: Device, scan_kind: str = "active") -> tuple[str | None, str]:
    """(firmware, how it was learned). ``(None, why)`` when no source showed it (``scan_kind``:
    the scan's kind, ``active``, ``passive`` or ``import``: no credentials are tried but in an
    active scan, and the reason says so).

    A version whose build came apart in the same reply (Hikvision ``firmwareReleasedDate``)
    is read with it: ``V5.4.0`` and ``build 160530`` give ``V5.4.0 build 160530``.
    """
    observations = _observations(device)
    for field_name in dict.fromkeys((*API_FIRMWARE_FIELDS, *FIRMWARE_FIELDS)):
        for observation in observations:
            if observation.field == field_name and observation.value.strip():
                where = f"{observation.protocol}/{observation.port}" if observation.port else ""
                value = with_build(observation, observations)
                joined = (
                    f" + {BUILD_FIELDS[field_name]}" if value != observation.value.strip() else ""
                )
                return value, (
                    f"{field_name}{joined} ({observation.detail or 'no detail'}"
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
    if scan_kind == "passive":
        return None, "nothing the device sent showed it; credentials are not tried on captures"
    if scan_kind == "import":
        return None, "the imported record does not give it; credentials are not tried on imports"
    return None, "no unauthenticated source showed it and no credentials matched this host"


#: Attempts of the credentialed probes and checks (``credentialed``, ``credentialed-tls``,
#: ``credentialed-hikvision``, ``credentialed-dahua``...): the device's own API answering the
#: user's credentials.
CREDENTIALED_PROBE_PREFIX = "credentialed"


@functools.cache
def _model_fields() -> tuple[str, ...]:
    """Fields that carry a bare model string: the makers' APIs read from data
    (device_api.yaml ``role: model``), then knowledge/data/model_grammars.yaml ``fields``."""
    return tuple(
        dict.fromkeys(
            (*load_device_api().fields_with_role("model"), *load_grammar_knowledge().fields)
        )
    )


def credentialed_model(device: Device) -> tuple[str | None, str]:
    """The model the device's own API gave with credentials: (model, how) or (None, "").

    The makers' APIs are asked after the device is identified (only its maker's), so what
    they tell about the model reaches posture, not attribution; posture uses it to match
    the vulnerabilities listed by model when attribution had none.
    """
    reads = [
        (attempt, o)
        for attempt in device.attempts
        if attempt.probe.startswith(CREDENTIALED_PROBE_PREFIX)
        for o in attempt.observations
    ]
    for field_name in _model_fields():
        for attempt, observation in reads:
            if observation.field == field_name and observation.value.strip():
                return observation.value.strip(), (
                    f"{field_name} ({attempt.probe}, {observation.protocol}/{observation.port})"
                )
    return None, ""


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
    """Every CVE whose published products include the device, with its verdict; when the
    advisory's maker is not established for the device (:func:`maker_in_doubt`), its note
    says it applies only if that maker made it."""
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
        # A maker the evidence leaves open ("Hikvision or Dahua", a doubtful one): the
        # advisory applies only if that maker made the device, and the note says so first,
        # as the remediation does ("if made by ...", :func:`_if_made_by`).
        doubt = maker_in_doubt(device, entry.vendors)
        if doubt is not None:
            why = f"only if made by {doubt[0]}, which is not established ({doubt[1]}); {why}"
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


#: The note of a device whose model is unknown while advisories of its maker list models
#: (the CVEs follow it): those were not checked. The reports read it (provscan.report.formats:
#: "vulnerabilities not checked: model unknown"), so its words are kept as they are.
MODEL_UNKNOWN_NOTE = "model unknown: vulnerabilities listed by model could not be checked"


def unchecked_by_model(
    device: Device,
    entries: Iterable[VulnerabilityEntry],
    firmware_text: str | None,
    found: Iterable[str] = (),
) -> list[VulnerabilityEntry]:
    """The advisories of the device's maker or brand that list models, when its model is
    unknown: none of them could be checked (``found``: CVEs already matched, left out).

    A range for every model (``.``) is checked without a model, and a range whose firmware
    pattern the known firmware does not match cannot apply whatever the model; neither counts.
    """
    if device.model:
        return []
    vendors = {name for name in (device.manufacturer, device.brand) if name}
    matched = set(found)
    unchecked: list[VulnerabilityEntry] = []
    for entry in entries:
        if entry.cve in matched or not vendors & set(entry.vendors):
            continue
        if any(
            not _model_matches(affected.products, None)
            and not (
                affected.firmware_pattern
                and firmware_text is not None
                and not re.match(affected.firmware_pattern, firmware_text, re.IGNORECASE)
            )
            for affected in entry.affected
        ):
            unchecked.append(entry)
    return unchecked


def model_unchecked(device: Device) -> bool:
    """Whether posture could not check the advisories listed by model (its note says so)."""
    return any(note.startswith(MODEL_UNKNOWN_NOTE) for note in device.notes)


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


@dataclass(frozen=True)
class UpnpMappings:
    """The UPnP IGD port mappings of a scan, by internal client address: read once from every
    gateway, so that assessing each device does not read every other device again."""

    by_client: Mapping[str, tuple[tuple[str, str], ...]]

    @classmethod
    def of(cls, devices: Iterable[Device]) -> UpnpMappings:
        found: dict[str, list[tuple[str, str]]] = {}
        for gateway in devices:
            for mapping in port_mappings_on(gateway):
                client = _INTERNAL_CLIENT.search(mapping)
                if client is not None:
                    found.setdefault(client.group(1), []).append((gateway.ip, mapping))
        return cls({ip: tuple(items) for ip, items in found.items()})


def upnp_mappings_to(
    device: Device, all_devices: Sequence[Device] | UpnpMappings
) -> list[Exposure]:
    """UPnP IGD port mappings (``upnp.port_mapping``) whose internal client is ``device``.

    Discovery reads the mappings from the router, so they sit on the router's record.
    """
    mappings = (
        all_devices if isinstance(all_devices, UpnpMappings) else UpnpMappings.of(all_devices)
    )
    return [
        Exposure(
            "internet_upnp_mapping",
            f"the router's UPnP IGD forwards a port from the internet to this device: {mapping}",
            f"upnp.port_mapping read from {gateway}",
            port=mapping_internal_port(mapping),
            source=gateway,
        )
        for gateway, mapping in mappings.by_client.get(device.ip, ())
    ]


#: The internal port of a mapping summary ("... -> 192.168.1.64:80 (camera)": 80).
_INTERNAL_PORT = re.compile(r"->\s*\[?[0-9A-Fa-f.:]+?\]?:(\d{1,5})(?:\s|$)")


def mapping_internal_port(mapping: str) -> int | None:
    """The device port a mapping summary forwards to (None: the gateway did not say)."""
    found = _INTERNAL_PORT.search(mapping)
    port = int(found.group(1)) if found is not None else 0
    return port if 0 < port < 65536 else None


#: Whether a text holds a login-form marker, per text, for one scan: a fleet of identical
#: devices sends the same login page (bodies of up to 64 KiB) thousands of times (issue 14).
LoginMemo = dict[str, bool]


def exposures_of(
    device: Device,
    all_devices: Sequence[Device] | UpnpMappings,
    rules: ExposureRules | None = None,
    login_memo: LoginMemo | None = None,
) -> list[Exposure]:
    """Internet paths, cloud/P2P, insecure services and default accounts seen on a device.

    ``rules``: the exposure rules (default: the bundled ``exposure.yaml``); ``login_memo``:
    what earlier devices' texts said (a scan's :func:`assess_scan` shares one).
    """
    rules = rules or load_exposure_rules()
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
        setting = _exposing_setting(observation, rules)
        if setting is not None:
            found.append(
                Exposure(
                    setting.kind,
                    setting.detail,
                    setting.evidence.format(
                        detail=observation.detail,
                        port=observation.port,
                        value=observation.value,
                        field=observation.field,
                    ),
                    port=observation.port,
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
    for port in sorted(rules.telnet_ports & set(device.open_ports)):
        banner = next(
            (o.value for o in observations if o.port == port and o.field == "banner.text"), ""
        )
        found.append(
            Exposure(
                "telnet",
                f"telnet is open on TCP {port}: logins cross the network in clear text",
                f"banner {banner[:60]!r}" if banner else f"TCP {port} open",
                port=port,
            )
        )
    found += _plain_http_logins(
        device, observations, rules, {} if login_memo is None else login_memo
    )
    for observation in observations:
        if (
            observation.field == "rtsp.status_line"
            and observation.detail == rules.rtsp_method
            and rules.rtsp_open_status.search(observation.value)
        ):
            found.append(
                Exposure(
                    "rtsp_unauthenticated",
                    f"RTSP on port {observation.port} answered {rules.rtsp_method} with 200 "
                    "without credentials: anyone who can reach it can watch the stream",
                    f"rtsp.status_line {observation.value!r}",
                    port=observation.port,
                )
            )
    for observation in observations:
        if observation.field == "default_credentials.accepted":
            found.append(
                Exposure(
                    "default_credentials",
                    f"documented factory account {observation.value} is accepted",
                    f"--check-default-credentials, {observation.detail} on port {observation.port}",
                    port=observation.port,
                )
            )
    return found


def _exposing_setting(observation: Observation, rules: ExposureRules) -> ObservedSetting | None:
    """The first observed-setting rule this observation satisfies, if any."""
    for setting in rules.observed_settings:
        if observation.field != setting.field:
            continue
        value = observation.value.lower() if setting.ignore_case else observation.value
        expected = setting.value.lower() if setting.ignore_case else setting.value
        if value == expected:
            return setting
    return None


def _plain_http_logins(
    device: Device, observations: Sequence[Observation], rules: ExposureRules, memo: LoginMemo
) -> list[Exposure]:
    def has_marker(text: str) -> bool:
        known = memo.get(text)
        if known is None:
            known = memo[text] = rules.login_markers.search(text) is not None and not any(
                word in text for word in rules.login_not_when
            )
        return known

    found = []
    # Endpoint readers label what they extract "http" on a TLS port too (dahua.rpc2.error of
    # a Dahua answering over HTTPS): a port the HTTPS probe answered on is not plain HTTP.
    tls_ports = {o.port for o in observations if o.protocol == "https"}
    for port in sorted({o.port for o in observations if o.protocol == "http" and o.port}):
        if port in tls_ports:
            continue
        on_port = [o for o in observations if o.protocol == "http" and o.port == port]
        basic = any(
            o.field == "http.www_authenticate" and o.value.lower().startswith("basic")
            for o in on_port
        )
        marker = next(
            (o for o in on_port if o.field in rules.login_fields and has_marker(o.value)),
            None,
        )
        if basic:
            found.append(
                Exposure(
                    "plain_http_login",
                    f"port {port} asks for HTTP Basic authentication over plain HTTP: the "
                    "password crosses the network base64-encoded, i.e. readable",
                    "http.www_authenticate Basic",
                    port=port,
                )
            )
        elif marker is not None:
            found.append(
                Exposure(
                    "plain_http_login",
                    f"port {port} serves a login page over plain HTTP (no TLS)",
                    f"{marker.field} ({marker.detail or '/'})",
                    port=port,
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
        if entry.region and (
            entry.region.lower() not in options.policies
            or not reads_in_region(options.acting_as, entry.region)
        ):
            continue
        found.append(entry)
    return found


def candidate_makers(device: Device) -> tuple[str, ...]:
    """Every maker the evidence allows: the manufacturer, then the alternatives."""
    if device.manufacturer is None:
        return ()
    return tuple(dict.fromkeys((device.manufacturer, *(c.maker for c in device.alternatives))))


def maker_in_doubt(device: Device, vendors: Iterable[str]) -> tuple[str, str] | None:
    """For advice that depends on who made the device (an end of support or an advisory,
    matched by the names in ``vendors``): None when it applies to the device as identified --
    one of ``vendors`` is its established maker, or its label brand when that brand is not a
    maker in doubt; otherwise (the maker it depends on, why that maker is not established).

    Established is what the verdict takes (policy.evaluate.judge): the only maker the evidence
    allows, at a confidence of at least :data:`RESTRICTED_MIN_CONFIDENCE`."""
    names = set(vendors)
    makers = candidate_makers(device)
    established = len(makers) == 1 and device.confidence >= RESTRICTED_MIN_CONFIDENCE
    if established and makers[0] in names:
        return None
    if device.brand is not None and device.brand in names and device.brand not in makers:
        return None
    maker = next((name for name in makers if name in names), None)
    if maker is None:
        return None
    if len(makers) > 1:
        return maker, f"the evidence allows {' or '.join(makers)} and does not say which"
    return maker, f"confidence {device.confidence:.2f} is below {RESTRICTED_MIN_CONFIDENCE}"


def _if_made_by(
    item: Remediation, doubt: tuple[str, str] | None, texts: RemediationTexts
) -> Remediation:
    """The advice as is, or worded as conditional on the maker in doubt (remediation.yaml
    ``if_maker_not_established``) with that condition as a fact (``condition``: "made by
    Hikvision"), so that nothing reads a conditional item as the device's own (a case is
    opened only for unconditional advice, store.cases)."""
    if doubt is None:
        return item
    maker, why = doubt
    steps = texts.if_maker_steps.format(maker=maker, why=why)
    return Remediation(
        item.action,
        texts.if_maker_reason.format(maker=maker, reason=item.reason),
        item.priority,
        f"{steps} {item.detail}" if item.detail else steps,
        condition=made_by(maker),
    )


#: The condition of advice that depends on a maker the evidence does not establish.
MADE_BY_PREFIX = "made by "


def made_by(maker: str) -> str:
    """The ``condition`` of advice that applies only if ``maker`` made the device."""
    return f"{MADE_BY_PREFIX}{maker}"


def _restricted_reason(device: Device, restricting: Sequence[Finding]) -> tuple[str, Finding]:
    """Why a restricted device is to be replaced, and the measure cited. With several
    candidate makers (each restricted, none established) no one of them is named as the
    maker: the policies cited are those that restrict whichever made it, else each maker's
    own ("us if Dahua / ca if Hikvision")."""
    policies = list(dict.fromkeys(f.policy for f in restricting))
    makers = candidate_makers(device)
    if len(makers) < 2:
        return (
            f"maker {device.manufacturer} is restricted by policy {', '.join(policies)}",
            restricting[0],
        )
    family_of = {device.manufacturer: device.family} | {
        c.maker: c.family for c in device.alternatives
    }
    by_maker = {
        maker: [
            p
            for p in policies
            if any(f.policy == p and f.family == family_of[maker] for f in restricting)
        ]
        for maker in makers
    }
    every = [p for p in policies if all(p in ids for ids in by_maker.values())]
    first = next((f for f in restricting if f.policy in every), restricting[0])
    cited = (
        ", ".join(every)
        if every
        else " / ".join(f"{', '.join(ids)} if {maker}" for maker, ids in by_maker.items() if ids)
    )
    return (
        f"maker {' or '.join(makers)} (the evidence does not say which; each is restricted) "
        f"is restricted by policy {cited}",
        first,
    )


def isolation_steps(
    device: Device,
    texts: RemediationTexts | None = None,
    rules: ExposureRules | None = None,
) -> str:
    """The VLAN and firewall rules for one device, spelled out (``remediation.yaml``)."""
    texts = texts or load_remediation()
    rules = rules or load_exposure_rules()
    # Clear-text management (telnet) is never worth allowing, not even from the recorder.
    kept = [p for p in device.open_ports if p not in rules.telnet_ports]
    ports = f"TCP {', '.join(str(p) for p in kept)}" if kept else "the TCP ports it serves"
    # Network equipment carries others' traffic: its advice is its own (remediation.yaml).
    return texts.isolate_for(device.device_type).format(ip=device.ip, ports=ports)


def remediation_for(
    device: Device,
    vulnerabilities: Sequence[Vulnerability],
    exposures: Sequence[Exposure],
    eol: Sequence[EndOfLifeEntry],
    texts: RemediationTexts | None = None,
    rules: ExposureRules | None = None,
    advisory_vendors: Mapping[str, Sequence[str]] | None = None,
    unchecked: Sequence[VulnerabilityEntry] = (),
) -> list[Remediation]:
    """Graded guidance: isolate, replace, patch, reconfigure — most urgent first.

    Every replacement comes with the isolation to apply until it is done, at the
    replacement's priority or more urgent, and so ranked before it (:data:`ACTIONS`). Reading
    the firmware for advisories one of which is on CISA KEV comes before hygiene
    (:data:`VERIFY_KEV_PRIORITY`).

    The advice texts come from ``remediation.yaml`` (``texts``, default: the bundled file);
    which remediation applies and how urgent it is is decided here. Advice that depends on
    who made the device (an end of support; an advisory, whose vendors ``advisory_vendors``
    gives by CVE) is worded as conditional when that maker is not established
    (:func:`maker_in_doubt`). ``unchecked``: the advisories listed by model that could not be
    checked, the model being unknown (:func:`unchecked_by_model`): the device gets the advice
    to read its firmware (and so its model) first.
    """
    texts = texts or load_remediation()
    plan: list[Remediation] = []
    isolate_reasons: list[tuple[int, str]] = []
    #: The condition of each isolate reason (None: the device's own); the isolation is
    #: conditional only when every reason is, on the same maker.
    isolate_conditions: set[str | None] = set()

    def doubt_of(vulnerability: Vulnerability) -> tuple[str, str] | None:
        vendors = (advisory_vendors or {}).get(vulnerability.cve)
        return None if vendors is None else maker_in_doubt(device, vendors)

    if device.restricted:
        restricting = [f for f in device.findings if f.restricts] or list(device.findings)
        reason, first = _restricted_reason(device, restricting)
        plan.append(
            Remediation(
                "replace",
                f"{reason} ({first.measure})",
                2,
                texts.replace_restricted.format(citation=first.citation),
            )
        )
        isolate_reasons.append((2, "restricted maker"))
        isolate_conditions.add(None)
    for entry in eol:
        # said whoever reads it: "support withdrawn in Canada", not a bare "CA"
        where = f" in {region_name(entry.region)}" if entry.region else ""
        when = (
            f"since {entry.effective}"
            if entry.effective_is == "start"
            else f"(stated {entry.effective})"
        )
        item = Remediation(
            "replace",
            f"{entry.status.replace('_', ' ')}{where} {when}",
            2,
            entry.statement.strip(),
        )
        eol_doubt = maker_in_doubt(device, entry.vendors)
        plan.append(_if_made_by(item, eol_doubt, texts))
        # replaced only when support ends: isolated until then (on the same condition)
        condition = f" (if made by {eol_doubt[0]})" if eol_doubt is not None else ""
        isolate_reasons.append((item.priority, "end of support" + condition))
        isolate_conditions.add(made_by(eol_doubt[0]) if eol_doubt is not None else None)
    undetermined = [v for v in vulnerabilities if v.status == "undetermined"]
    for vulnerability in vulnerabilities:
        if vulnerability.status == "undetermined":
            continue
        doubt = doubt_of(vulnerability)
        exploited = " (actively exploited: CISA KEV)" if vulnerability.kev else ""
        qualifier = "likely affected by" if vulnerability.status == "likely" else "affected by"
        reason = (
            f"{qualifier} {vulnerability.cve}, CVSS {vulnerability.cvss} "
            f"{vulnerability.severity}{exploited}"
        )
        priority = 1 if vulnerability.kev else (2 if vulnerability.cvss >= 7.0 else 3)
        if vulnerability.fixed_in:
            item = Remediation(
                "patch", reason, priority, texts.patch.format(fixed_in=vulnerability.fixed_in)
            )
        else:
            item = Remediation("replace", reason + "; no fixed firmware is published", priority)
        plan.append(_if_made_by(item, doubt, texts))
        # isolated: known exploited, critical, or to be replaced (no fixed firmware)
        if vulnerability.kev or vulnerability.cvss >= 9.0 or not vulnerability.fixed_in:
            condition = f" (if made by {doubt[0]})" if doubt is not None else ""
            isolate_reasons.append((priority, vulnerability.cve + condition))
            isolate_conditions.add(made_by(doubt[0]) if doubt is not None else None)
    # one verification per maker the advisories depend on (none: the device's own); one
    # that may leave a known-exploited CVE in place comes before hygiene
    by_doubt: dict[tuple[str, str] | None, list[Vulnerability]] = {}
    for vulnerability in undetermined:
        by_doubt.setdefault(doubt_of(vulnerability), []).append(vulnerability)
    for doubt, placed in by_doubt.items():
        kev_cves = [v.cve for v in placed if v.kev]
        item = Remediation(
            "patch",
            "firmware could not be placed in the published ranges of "
            + ", ".join(v.cve for v in placed)
            + (f" (on CISA KEV: {', '.join(kev_cves)})" if kev_cves else ""),
            VERIFY_KEV_PRIORITY if kev_cves else VERIFY_PRIORITY,
            texts.verify_firmware,
        )
        plan.append(_if_made_by(item, doubt, texts))
    if unchecked:
        vendors = [
            name
            for name in (device.manufacturer, device.brand)
            if name and any(name in entry.vendors for entry in unchecked)
        ]
        count = len(unchecked)
        kev = sum(entry.kev.listed for entry in unchecked)
        item = Remediation(
            "patch",
            f"model unknown: {count} advisor{'y' if count == 1 else 'ies'} listing "
            f"{' or '.join(dict.fromkeys(vendors))} models could not be checked"
            + (f" ({kev} on CISA KEV)" if kev else "")
            + "; read the model and firmware",
            VERIFY_KEV_PRIORITY if kev else VERIFY_PRIORITY,
            texts.verify_firmware,
        )
        plan.append(_if_made_by(item, maker_in_doubt(device, vendors), texts))
    for exposure in exposures:
        reconfigure = texts.reconfigure.get(exposure.kind)
        if reconfigure is None:
            continue
        plan.append(
            Remediation("reconfigure", exposure.detail, reconfigure.priority, reconfigure.steps)
        )
        if reconfigure.isolate:
            isolate_reasons.append((reconfigure.priority, exposure.kind.replace("_", " ")))
            isolate_conditions.add(None)
    if isolate_reasons:
        priority = min(p for p, _ in isolate_reasons)
        why = ", ".join(dict.fromkeys(reason for _, reason in isolate_reasons))
        (only_if,) = isolate_conditions if len(isolate_conditions) == 1 else (None,)
        plan.append(
            Remediation(
                "isolate",
                f"limit the damage: {why}",
                priority,
                isolation_steps(device, texts, rules),
                condition=only_if,
            )
        )
    unique: dict[tuple[str, str], Remediation] = {}
    for item in plan:
        unique.setdefault((item.action, item.reason), item)
    # each item with its kind's rough effort (remediation.yaml ``effort``; contract 1.8)
    efforts = {action: effort_of(action, texts) for action in ACTIONS}
    return sorted(
        (
            dataclasses.replace(item, effort=effort.label)
            if (effort := efforts.get(item.action)) is not None
            else item
            for item in unique.values()
        ),
        key=lambda r: (r.priority, action_rank(r.action)),
    )


def assess_device(
    device: Device,
    knowledge: PostureKnowledge,
    all_devices: Sequence[Device] | UpnpMappings = (),
    options: PostureOptions | None = None,
    login_memo: LoginMemo | None = None,
    *,
    scan_kind: str = "active",
) -> Device:
    """The device with its vulnerabilities, exposure and remediation filled in
    (``all_devices``: the scan's devices, or their :class:`UpnpMappings` read once;
    ``login_memo``: shared by the devices of one scan; ``scan_kind``: the kind of the scan
    it was seen in, as :func:`firmware_source` takes it)."""
    options = options or PostureOptions()
    notes = list(device.notes)
    firmware, how = firmware_source(device, scan_kind)
    if firmware is None:
        notes.append(f"firmware unknown ({how}): vulnerability status incomplete")
    else:
        notes.append(f"firmware {firmware} learned from {how}")
    serial = device.serial or next(
        (
            o.value
            for field_names in (API_SERIAL_FIELDS, SERIAL_FIELDS)
            for o in _observations(device)
            if o.field in field_names and o.value
        ),
        None,
    )
    model = device.model
    if model is None:
        model, model_how = credentialed_model(device)
        if model is not None:
            notes.append(f"model {model} learned from {model_how}")
    matched = device if model == device.model else dataclasses.replace(device, model=model)
    vulnerabilities = match_vulnerabilities(matched, knowledge.vulnerabilities, firmware)
    found = {v.cve for v in vulnerabilities}
    unchecked = unchecked_by_model(matched, knowledge.vulnerabilities, firmware, found)
    if unchecked:
        notes.append(
            f"{MODEL_UNKNOWN_NOTE}: "
            + ", ".join(e.cve + (" (CISA KEV)" if e.kev.listed else "") for e in unchecked)
        )
    exposures = exposures_of(device, all_devices or (device,), knowledge.exposure, login_memo)
    for observation in _observations(device):
        if observation.field == "default_credentials.lockout":
            notes.append(
                f"default-account check stopped at a lockout sign ({observation.value}); "
                "remaining accounts were not tried"
            )
    eol = end_of_life(matched, knowledge.end_of_life, options)
    remediation = remediation_for(
        device,
        vulnerabilities,
        exposures,
        eol,
        knowledge.remediation,
        knowledge.exposure,
        advisory_vendors={
            entry.cve: entry.vendors for entry in knowledge.vulnerabilities if entry.cve in found
        },
        unchecked=unchecked,
    )
    return dataclasses.replace(
        device,
        model=model,
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
    if options.acting_as is None:
        options = dataclasses.replace(options, acting_as=tuple(result.info.acting_as))
    mappings = UpnpMappings.of(result.devices)
    login_memo: LoginMemo = {}
    devices = tuple(
        assess_device(device, knowledge, mappings, options, login_memo, scan_kind=result.info.kind)
        for device in result.devices
    )
    return ScanResult(result.info, devices)


@dataclass(frozen=True)
class PriorityItem:
    priority: int
    ip: str
    device: str
    action: str
    reason: str
    #: The action's rough effort (remediation.yaml ``effort``), None when not known.
    effort: Effort | None = None


def device_label(device: Device) -> str:
    label = device.brand or device.manufacturer or "unknown"
    return f"{label} {device.model}" if device.model else label


def priority_list(result: ScanResult) -> list[PriorityItem]:
    """Every remediation of the scan, most urgent first (isolate items folded per device)."""
    items = [
        PriorityItem(r.priority, d.ip, device_label(d), r.action, r.reason, effort_of(r.action))
        for d in result.devices
        for r in d.remediation
    ]
    return sorted(items, key=lambda i: (i.priority, action_rank(i.action), i.ip))
