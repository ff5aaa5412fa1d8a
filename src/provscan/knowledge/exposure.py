"""``exposure.yaml``: which observations show that a device is exposed, and how.

The posture stage (``posture.assess``) applies these rules to what the probes observed; the
kinds of exposure it can report are :data:`EXPOSURE_KINDS`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Literal

from pydantic import Field

from provscan.knowledge.base import (
    FileLoader,
    Location,
    Problems,
    StrictModel,
    YamlDocument,
    check_sources,
    compile_pattern,
    read_file,
    template_fields,
)

EXPOSURE_FILE = "exposure.yaml"

ExposureKind = Literal[
    "default_credentials",
    "internet_upnp_mapping",
    "public_address",
    "cloud_p2p",
    "telnet",
    "plain_http_login",
    "rtsp_unauthenticated",
]
EXPOSURE_KINDS: tuple[str, ...] = ExposureKind.__args__  # type: ignore[attr-defined]
#: What a probe's name looks like (``default-credentials``, ``credentialed-hikvision-tls``).
_PROBE_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
#: Placeholders an observed setting's ``evidence`` may use.
SETTING_EVIDENCE_FIELDS = frozenset({"detail", "port", "value", "field"})


class ObservedSetting(StrictModel):
    """A device setting whose observed value is an exposure by itself (e.g. P2P enabled)."""

    id: str
    kind: ExposureKind
    field: str
    value: str
    ignore_case: bool = False
    #: What the exposure is, as shown to the user.
    detail: str
    #: How it was seen: a template over {detail}, {port}, {value} and {field} of the observation.
    evidence: str
    sources: list[str] = Field(min_length=1)


class TelnetRule(StrictModel):
    """TCP ports whose open state means telnet (clear-text logins)."""

    ports: list[int] = Field(min_length=1)
    sources: list[str] = Field(min_length=1)


class LoginMarker(StrictModel):
    """Text of a login page (matched case-insensitively anywhere in the value)."""

    id: str
    pattern: str
    note: str = ""
    examples: list[str] = Field(min_length=1)
    negatives: list[str] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)


class PlainHttpLoginRule(StrictModel):
    """A login page (or HTTP Basic) served over plain HTTP."""

    #: HTTP observation fields searched for the markers.
    fields: list[str] = Field(min_length=1)
    #: A value containing one of these is a missing page, never a login page (``-> 404``).
    not_when: list[str] = Field(default_factory=list)
    markers: list[LoginMarker] = Field(min_length=1)


class RtspRule(StrictModel):
    """An RTSP request answered without credentials."""

    #: The request (observation detail) whose answer is read.
    method: str
    #: A status line matching this is a success.
    status_pattern: str
    examples: list[str] = Field(min_length=1)
    negatives: list[str] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)


class ObservedBy(StrictModel):
    """The probes that alone observe one kind of exposure: a later sighting shows such an
    exposure gone only when one of them answered on the port it was on (read by the
    remediation cases, ``store.cases``)."""

    kind: ExposureKind
    #: Probe names (``Probe.name``, as attempts record them).
    probes: list[str] = Field(min_length=1)
    #: Why no other probe's answer shows the exposure gone.
    reason: str
    sources: list[str] = Field(min_length=1)


class ExposureFile(StrictModel):
    description: str
    observed_settings: list[ObservedSetting] = Field(default_factory=list)
    telnet: TelnetRule
    plain_http_login: PlainHttpLoginRule
    rtsp_unauthenticated: RtspRule
    observed_by: list[ObservedBy] = Field(default_factory=list)


@dataclass(frozen=True)
class ExposureRules:
    """The rules, compiled for use."""

    observed_settings: tuple[ObservedSetting, ...]
    telnet_ports: frozenset[int]
    login_fields: frozenset[str]
    login_not_when: tuple[str, ...]
    #: Any marker (one alternation, case-insensitive).
    login_markers: re.Pattern[str]
    rtsp_method: str
    rtsp_open_status: re.Pattern[str]
    #: Exposure kind -> the probes that alone observe it (kinds not listed: any probe's
    #: answer on the port shows what is there now).
    observed_by: Mapping[str, frozenset[str]] = dataclass_field(default_factory=dict)


def read_exposure_rules(data_dir: Path, problems: Problems) -> ExposureRules | None:
    """Load ``exposure.yaml``: patterns compile, examples match, negatives do not."""
    parsed = read_file(data_dir, EXPOSURE_FILE, ExposureFile, problems)
    if parsed is None:
        return None
    document, model = parsed.document, parsed.model
    seen: set[str] = set()
    for index, setting in enumerate(model.observed_settings):
        at: Location = ("observed_settings", index)
        if setting.id in seen:
            problems.add(document, f"duplicate id {setting.id!r}", at)
        seen.add(setting.id)
        _check_template(problems, document, (*at, "evidence"), setting.evidence)
        check_sources(problems, document, at, setting.sources)
    telnet_at: Location = ("telnet",)
    for port in model.telnet.ports:
        if not 0 < port < 65536:
            problems.add(document, f"port {port} is not a TCP port", (*telnet_at, "ports"))
    check_sources(problems, document, telnet_at, model.telnet.sources)
    marker_patterns: list[str] = []
    for index, marker in enumerate(model.plain_http_login.markers):
        at = ("plain_http_login", "markers", index)
        if marker.id in seen:
            problems.add(document, f"duplicate id {marker.id!r}", at)
        seen.add(marker.id)
        check_sources(problems, document, at, marker.sources)
        regex = compile_pattern(problems, document, at, marker.pattern, re.IGNORECASE)
        if regex is not None:
            marker_patterns.append(f"(?:{marker.pattern})")
            _check_examples(problems, document, at, regex, marker.examples, marker.negatives)
    rtsp = model.rtsp_unauthenticated
    rtsp_at: Location = ("rtsp_unauthenticated",)
    check_sources(problems, document, rtsp_at, rtsp.sources)
    rtsp_regex = compile_pattern(problems, document, rtsp_at, rtsp.status_pattern)
    if rtsp_regex is not None:
        _check_examples(problems, document, rtsp_at, rtsp_regex, rtsp.examples, rtsp.negatives)
    observed_by = _observed_by(problems, document, model.observed_by)
    if rtsp_regex is None or len(marker_patterns) != len(model.plain_http_login.markers):
        return None
    return ExposureRules(
        observed_settings=tuple(model.observed_settings),
        telnet_ports=frozenset(model.telnet.ports),
        login_fields=frozenset(model.plain_http_login.fields),
        login_not_when=tuple(model.plain_http_login.not_when),
        login_markers=re.compile("|".join(marker_patterns), re.IGNORECASE),
        rtsp_method=rtsp.method,
        rtsp_open_status=rtsp_regex,
        observed_by=observed_by,
    )


def _observed_by(
    problems: Problems, document: YamlDocument, entries: list[ObservedBy]
) -> dict[str, frozenset[str]]:
    """Each kind once, each probe a probe name. (Knowledge sits below the probes, so whether
    each name is a real probe's is checked by a test against the probe registry.)"""
    found: dict[str, frozenset[str]] = {}
    for index, entry in enumerate(entries):
        at: Location = ("observed_by", index)
        if entry.kind in found:
            problems.add(document, f"kind {entry.kind!r} is listed twice", (*at, "kind"))
        for position, probe in enumerate(entry.probes):
            if _PROBE_NAME.fullmatch(probe) is None:
                problems.add(
                    document,
                    f"{probe!r} is not a probe name (lower-case words joined by '-')",
                    (*at, "probes", position),
                )
        if not entry.reason.strip():
            problems.add(document, "empty reason", (*at, "reason"))
        check_sources(problems, document, at, entry.sources)
        found[entry.kind] = frozenset(entry.probes)
    return found


def _check_template(problems: Problems, document: YamlDocument, at: Location, text: str) -> None:
    try:
        unknown = template_fields(text) - SETTING_EVIDENCE_FIELDS
    except ValueError as exc:
        problems.add(document, f"malformed template: {exc}", at)
        return
    if unknown:
        problems.add(
            document,
            f"unknown placeholder(s) {sorted(unknown)}; allowed: {sorted(SETTING_EVIDENCE_FIELDS)}",
            at,
        )


def _check_examples(
    problems: Problems,
    document: YamlDocument,
    at: Location,
    regex: re.Pattern[str],
    examples: list[str],
    negatives: list[str],
) -> None:
    for index, example in enumerate(examples):
        if regex.search(example) is None:
            problems.add(
                document,
                f"example {example!r} does not match the pattern",
                (*at, "examples", index),
            )
    for index, negative in enumerate(negatives):
        if regex.search(negative) is not None:
            problems.add(
                document, f"negative {negative!r} matches the pattern", (*at, "negatives", index)
            )


#: The exposure rules (default: the bundled file, read
#: once: base.FileLoader). Raises KnowledgeError.
load_exposure_rules: FileLoader[ExposureRules] = FileLoader(read_exposure_rules)
