"""Message bodies and syslog framing, pure (event in, bytes out): RFC 5424 messages, RFC 6587
octet-counting frames, CEF and JSON bodies."""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from datetime import UTC, date, datetime
from typing import Any, Literal

from provscan import __version__
from provscan.model import binding_policies
from provscan.store.events import Event

BodyFormat = Literal["json", "cef"]

#: Syslog severity (RFC 5424 section 6.2.1) of each event kind.
SYSLOG_SEVERITY = {
    "device.restricted": 4,  # warning
    "case.opened": 5,  # notice
    "case.reopened": 4,  # warning: a device thought removed is back
    "case.overdue": 4,  # warning
    "case.verified": 6,  # informational
    "case.updated": 6,  # informational: a person changed it
}
#: CEF signature id, severity (0-10) and name of each event kind.
CEF_SIGNATURES = {
    "device.restricted": ("1001", 7, "Restricted device found"),
    "case.opened": ("1002", 5, "Remediation case opened"),
    "case.reopened": ("1003", 8, "Remediation case reopened: device seen again"),
    "case.overdue": ("1004", 6, "Remediation case overdue"),
    "case.verified": ("1005", 2, "Remediation case verified"),
    "case.updated": ("1006", 2, "Remediation case changed by a person"),
}
APP_NAME = "provscan"
#: provscan has no IANA enterprise number; 32473 is the one RFC 5612 reserves for
#: documentation and examples, used here for provscan's structured-data element.
SD_ID = "provscan@32473"
#: The byte order mark RFC 5424 (section 6.4) puts before a UTF-8 MSG.
BOM = "\ufeff".encode()
#: A UDP datagram above this is sent with the findings left out (RFC 5426 receivers must
#: take 480 octets and should take 2048; a device's full findings can run to kilobytes).
MAX_DATAGRAM = 2048


def _findings(device: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in device.get("findings") or [] if isinstance(f, dict) and f.get("policy")]


def json_body(event: Event, *, compact: bool = False) -> str:
    """The event as one JSON object on one line (each finding names its ``measure``);
    ``compact``: findings counted, not listed, with the device's ``policies`` (those binding
    the user, as the CSV export's column) and ``other_policies`` instead."""
    document = event.to_json()
    if compact and isinstance(document.get("device"), dict):
        device = dict(document["device"])
        findings = _findings(device)
        device["policies"], device["other_policies"] = binding_policies(findings)
        device.pop("findings", None)
        device["findings_omitted"] = len(findings)
        document["device"] = device
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _cef_header(value: object) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    return re.sub(r"[\r\n]+", " ", text)


def _cef_value(value: object) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("=", "\\=")
    return text.replace("\r\n", "\\n").replace("\r", "\\r").replace("\n", "\\n")


def cef_body(event: Event) -> str:
    """The event as a CEF:0 record (header pipes and backslashes escaped; extension
    backslashes, equals signs and newlines escaped)."""
    signature, severity, name = CEF_SIGNATURES[event.kind]
    device: dict[str, Any] = dict(event.payload.get("device") or {})
    case: dict[str, Any] = dict(event.payload.get("case") or {})
    header = "|".join(
        _cef_header(part)
        for part in ("CEF:0", APP_NAME, APP_NAME, __version__, signature, name, severity)
    )
    extension: list[tuple[str, object]] = [
        ("rt", int(event.at.timestamp() * 1000)),
        ("externalId", event.id),
        ("cat", event.kind),
    ]
    ip = device.get("ip")
    if ip:
        version: int
        try:
            version = ipaddress.ip_address(str(ip)).version
        except ValueError:
            version = 0
        if version == 4:
            extension.append(("src", ip))
        else:
            extension += [("c6a2", ip), ("c6a2Label", "deviceAddress")]
    if device.get("mac"):
        extension.append(("smac", device["mac"]))
    binding, others = binding_policies(_findings(device))
    # Every custom field as its pair (key, and keyLabel naming it): cs1-cs6 are taken, so
    # the brand and the policies that name the device without binding the user go in the
    # other labelled strings CEF defines, flexString1 and flexString2.
    custom: list[tuple[str, str, object]] = [
        ("cs1", "deviceId", event.device_id),
        ("cs2", "manufacturer", device.get("manufacturer")),
        ("cs3", "model", device.get("model")),
        ("cs4", "policies", ",".join(binding) if binding else None),  # binding the user
        ("cs5", "caseStatus", case.get("status")),
        ("cs6", "site", device.get("site")),
        ("cn1", "caseId", event.case_id),
        ("flexString1", "brand", device.get("brand")),
        ("flexString2", "otherPolicies", ",".join(others) if others else None),
    ]
    for key, label, value in custom:
        if value not in (None, ""):
            extension += [(key, value), (f"{key}Label", label)]
    change: dict[str, Any] = dict(event.payload.get("change") or {})
    if change.get("actor"):  # case.updated: who changed it, and what
        extension.append(("suser", change["actor"]))
        changed = ",".join(sorted(change.get("changes") or {})) or change.get("action")
        extension.append(("msg", f"changed: {changed}"))
    due = _due_millis(case.get("due"))
    if due is not None:
        extension += [("flexDate1", due), ("flexDate1Label", "caseDue")]
    text = " ".join(f"{key}={_cef_value(value)}" for key, value in extension)
    return f"{header}|{text}"


def _due_millis(due: object) -> int | None:
    """A case's due date (YYYY-MM-DD) as CEF wants dates: milliseconds since the epoch."""
    try:
        day = date.fromisoformat(str(due)) if due else None
    except ValueError:
        return None
    if day is None:
        return None
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def body(event: Event, fmt: BodyFormat, *, compact: bool = False) -> str:
    return cef_body(event) if fmt == "cef" else json_body(event, compact=compact)


def _printable(text: str, limit: int) -> str:
    """RFC 5424 header fields: printable US-ASCII without spaces, or "-" when empty."""
    cleaned = "".join(ch for ch in text if 33 <= ord(ch) <= 126)[:limit]
    return cleaned or "-"


def _sd_value(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def local_hostname() -> str:
    return _printable(socket.gethostname(), 255)


def rfc5424(
    event: Event,
    message: str,
    *,
    facility: int = 13,
    hostname: str | None = None,
    procid: int | None = None,
    bom: bool = True,
) -> bytes:
    """One RFC 5424 syslog message: header, structured data with the event's ids, the body."""
    priority = facility * 8 + SYSLOG_SEVERITY[event.kind]
    when = event.at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    params = [("event", event.id), ("kind", event.kind)]
    if event.device_id:
        params.append(("device", event.device_id))
    if event.case_id is not None:
        params.append(("case", event.case_id))
    if event.scan_id:
        params.append(("scan", event.scan_id))
    structured = "[" + SD_ID + "".join(f' {k}="{_sd_value(v)}"' for k, v in params) + "]"
    header = " ".join(
        (
            f"<{priority}>1",
            when,
            _printable(hostname if hostname is not None else local_hostname(), 255),
            APP_NAME,
            _printable(str(procid) if procid is not None else "", 128),
            _printable(event.kind, 32),
            structured,
        )
    )
    return header.encode("ascii") + b" " + (BOM if bom else b"") + message.encode("utf-8")


def octet_frame(message: bytes) -> bytes:
    """RFC 6587 section 3.4.1 (and RFC 5425): ``MSG-LEN SP SYSLOG-MSG``."""
    return str(len(message)).encode("ascii") + b" " + message
