"""Renderers: how a scan result is shown (rich table) or exchanged (JSON, JSON Lines, CSV).

JSON and JSON Lines are dumps of the contract document (:mod:`.contract`), so they cannot
drift apart; every format lists devices in the contract's order. Values observed on the wire come from
devices that may be hostile: the table escapes control characters and never interprets
them as rich markup, and the CSV guards against spreadsheet formula injection.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from provscan.errors import ProvscanError
from provscan.model import Device, Evidence, Finding, ScanResult
from provscan.report.contract import ScanDocument, ordered_devices, to_contract
from provscan.report.safe_text import printable

#: Output formats accepted by :func:`write_output`.
FORMATS: tuple[str, ...] = ("table", "json", "jsonl", "csv")

CSV_COLUMNS: tuple[str, ...] = (
    "ip",
    "mac",
    "open_ports",
    "manufacturer",
    "brand",
    "relation",
    "model",
    "firmware",
    "device_type",
    "confidence",
    "restricted",
    "policies",
    "evidence_count",
    "vulnerabilities",
    "kev",
    "exposure",
    "first_action",
)

#: A cell starting with one of these is a formula to spreadsheet programs (OWASP CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: How many evidence lines the table shows to explain a restricted verdict.
WHY_EVIDENCE_LINES = 3
#: Longest observed value shown in the table's "why" lines.
WHY_VALUE_CHARS = 80
#: Width of a table written to a file (there is no terminal to measure).
FILE_TABLE_WIDTH = 160


class OutputError(ProvscanError):
    """A report could not be written to its destination."""


# --- JSON and JSON Lines ---------------------------------------------------------------


def _dump_json_object(document: ScanDocument) -> dict[str, Any]:
    return document.model_dump(mode="json")


def render_json(result: ScanResult) -> str:
    """The contract document as JSON: indent 2, keys in contract order, trailing newline."""
    return json.dumps(_dump_json_object(to_contract(result)), indent=2, ensure_ascii=True) + "\n"


def render_jsonl(result: ScanResult) -> Iterator[str]:
    """JSON Lines: a ``{"type": "scan", ...}`` line, then one ``{"type": "device", ...}`` per device.

    Each item is one line including its ``\\n``; ``"".join(...)`` gives the file content.
    Device lines carry ``scan_id`` so that lines from several scans can be mixed.
    """
    document = _dump_json_object(to_contract(result))
    scan = document["scan"]
    yield _jsonl({"type": "scan", "schema_version": document["schema_version"], **scan})
    for device in document["devices"]:
        yield _jsonl({"type": "device", "scan_id": scan["id"], **device})


def _jsonl(line: dict[str, Any]) -> str:
    return json.dumps(line, ensure_ascii=True, separators=(",", ":")) + "\n"


# --- CSV -------------------------------------------------------------------------------


def _csv_cell(value: str) -> str:
    if value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def _policy_ids(device: Device) -> list[str]:
    return list(dict.fromkeys(finding.policy for finding in device.findings))


def render_csv(result: ScanResult) -> str:
    """One row per device (columns :data:`CSV_COLUMNS`), formula-injection guarded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for device in ordered_devices(result.devices):
        row = (
            device.ip,
            device.mac or "",
            " ".join(str(port) for port in device.open_ports),
            device.manufacturer or "",
            device.brand or "",
            device.relation or "",
            device.model or "",
            device.firmware or "",
            device.device_type or "",
            f"{device.confidence:.2f}",
            "true" if device.restricted else "false",
            ";".join(_policy_ids(device)),
            str(len(device.evidence)),
            ";".join(
                f"{v.cve}({v.status})" if v.status != "vulnerable" else v.cve
                for v in device.vulnerabilities
            ),
            "true"
            if any(v.kev and v.status != "undetermined" for v in device.vulnerabilities)
            else "false",
            ";".join(dict.fromkeys(e.kind for e in device.exposure)),
            device.remediation[0].action if device.remediation else "",
        )
        writer.writerow([_csv_cell(cell) for cell in row])
    return buffer.getvalue()


# --- rich table ------------------------------------------------------------------------


def _cell(value: str | None, placeholder: str = "-") -> Text:
    if not value:
        return Text(placeholder, style="dim")
    return Text(printable(value, limit=WHY_VALUE_CHARS))


def _restricted_cell(device: Device) -> Text:
    if not device.restricted:
        return Text("no", style="dim")
    # The policy ids are listed under "Why …" below the table; the cell stays narrow.
    return Text(f"YES ({len(_policy_ids(device))})", style="bold red")


def _top_evidence(evidence: Iterable[Evidence]) -> list[Evidence]:
    # Rule matches explain a verdict better than raw facts; stronger rules first.
    ranked = sorted(evidence, key=lambda item: (item.rule_id is None, -item.certainty))
    return ranked[:WHY_EVIDENCE_LINES]


def _why_lines(device: Device) -> list[Text]:
    identity = device.brand or device.manufacturer or "unknown brand"
    if device.manufacturer and device.manufacturer != identity:
        identity += f", made by {device.manufacturer}"
        if device.relation:
            identity += f" ({device.relation})"
    if device.family:
        identity += f"; family {device.family}"
    lines = [
        Text.assemble(
            ("Why ", "bold"),
            (printable(device.ip), "bold"),
            (" is restricted: ", "bold"),
            printable(identity),
        )
    ]
    by_policy: dict[str, list[Finding]] = {}
    for finding in device.findings:
        by_policy.setdefault(finding.policy, []).append(finding)
    for policy, findings in by_policy.items():
        first = findings[0]
        more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
        lines.append(
            Text.assemble(
                "  ",
                (printable(policy), "bold red"),
                f" ({printable(first.jurisdiction)}): ",
                printable(first.measure, limit=WHY_VALUE_CHARS),
                (f"{more} [{printable(first.citation, limit=WHY_VALUE_CHARS)}]", "dim"),
            )
        )
    for item in _top_evidence(device.evidence):
        where = item.protocol if item.port is None else f"{item.protocol}/{item.port}"
        rule = f"rule {item.rule_id}" if item.rule_id else "no rule"
        lines.append(
            Text.assemble(
                "  - ",
                (printable(where), "cyan"),
                f" {printable(item.observed_field)} = ",
                repr(printable(item.observed, limit=WHY_VALUE_CHARS)),
                (f"  -> {printable(rule)} (certainty {item.certainty:.2f})", "dim"),
            )
        )
    return lines


def summary_line(result: ScanResult) -> str:
    """``"N devices, M restricted (policies …), K hosts without answers"``."""
    devices = result.devices
    restricted = [device for device in devices if device.restricted]
    policies = list(dict.fromkeys(p for device in restricted for p in _policy_ids(device)))
    silent_hosts = max(result.info.hosts_scanned - result.info.hosts_responding, 0)
    restricted_part = f"{len(restricted)} restricted"
    if policies:
        restricted_part += f" (policies {', '.join(policies)})"
    line = (
        f"{len(devices)} device{'s' if len(devices) != 1 else ''}, {restricted_part}, "
        f"{silent_hosts} host{'s' if silent_hosts != 1 else ''} without answers"
    )
    if not result.info.complete:
        line += " - scan INCOMPLETE"
    return printable(line)


def render_table(result: ScanResult, console: Console) -> None:
    """Print a table of devices, a summary line and, per restricted device, why."""
    table = Table(
        title=Text(f"provscan scan {printable(result.info.scan_id)}"), title_justify="left"
    )
    for header in ("IP", "Ports", "Maker", "Brand", "Model", "Firmware", "Type", "Conf."):
        table.add_column(header, overflow="fold")
    table.add_column("Restricted", overflow="fold")
    table.add_column("Vulns", overflow="fold")
    devices = ordered_devices(result.devices)
    for device in devices:
        table.add_row(
            _cell(device.ip),
            Text(",".join(str(port) for port in device.open_ports)),
            _cell(device.manufacturer, "unknown"),
            _cell(device.brand),
            _cell(device.model),
            _cell(device.firmware),
            _cell(device.device_type),
            Text(f"{device.confidence:.0%}"),
            _restricted_cell(device),
            _vulnerability_cell(device),
        )
    console.print(table)
    summary_style = "bold red" if any(device.restricted for device in result.devices) else "bold"
    console.print(Text(summary_line(result), style=summary_style))
    for note in result.info.notes:
        console.print(Text(f"note: {printable(note)}", style="yellow"))
    for device in devices:
        if device.restricted:
            console.print()
            for line in _why_lines(device):
                console.print(line)
    _render_posture(devices, console)


# --- security posture ------------------------------------------------------------------

#: Rows of the per-scan priority list shown in the table (the JSON has every item).
PRIORITY_ROWS = 40


def _vulnerability_cell(device: Device) -> Text:
    confirmed = [v for v in device.vulnerabilities if v.status != "undetermined"]
    if not confirmed:
        undetermined = len(device.vulnerabilities)
        return Text(f"? ({undetermined})" if undetermined else "-", style="dim")
    kev = sum(v.kev for v in confirmed)
    label = str(len(confirmed)) + (f" ({kev} KEV)" if kev else "")
    return Text(label, style="bold red" if kev else "yellow")


def _render_posture(devices: list[Device], console: Console) -> None:
    """Per-device posture lines, then the scan's priority list (most urgent first)."""
    with_posture = [d for d in devices if d.vulnerabilities or d.exposure or d.remediation]
    if not with_posture:
        return
    console.print()
    console.print(Text("Security posture", style="bold"))
    for device in with_posture:
        label = printable(device.brand or device.manufacturer or "unknown")
        if device.model:
            label += f" {printable(device.model)}"
        console.print(
            Text.assemble(
                (printable(device.ip), "bold"),
                f" {label}: ",
                printable(_posture_summary(device), limit=200),
            )
        )
        for vulnerability in device.vulnerabilities:
            kev = " KEV" if vulnerability.kev else ""
            fixed = f", fixed in {vulnerability.fixed_in}" if vulnerability.fixed_in else ""
            console.print(
                Text.assemble(
                    "  - ",
                    (printable(vulnerability.cve), "bold red" if vulnerability.kev else ""),
                    f" {vulnerability.status} (CVSS {vulnerability.cvss}"
                    f" {printable(vulnerability.severity)}{kev}{printable(fixed, limit=80)})",
                )
            )
        for exposure in device.exposure:
            console.print(
                Text.assemble(
                    "  - ",
                    (printable(exposure.kind), "yellow"),
                    ": ",
                    printable(exposure.detail, limit=WHY_VALUE_CHARS * 2),
                )
            )
    items = sorted(
        ((r, d) for d in with_posture for r in d.remediation),
        key=lambda pair: (pair[0].priority, _ACTION_ORDER.get(pair[0].action, 9)),
    )
    table = Table(title=Text("Priority list"), title_justify="left")
    for header in ("#", "IP", "Device", "Action", "Reason"):
        table.add_column(header, overflow="fold")
    for remediation, device in items[:PRIORITY_ROWS]:
        table.add_row(
            Text(str(remediation.priority)),
            _cell(device.ip),
            _cell(device.brand or device.manufacturer, "unknown"),
            Text(printable(remediation.action), style="bold"),
            Text(printable(remediation.reason, limit=160)),
        )
    console.print(table)
    if len(items) > PRIORITY_ROWS:
        console.print(Text(f"... {len(items) - PRIORITY_ROWS} more in the JSON output"))
    isolate = next(((r, d) for r, d in items if r.action == "isolate"), None)
    if isolate is not None:
        console.print(
            Text(f"How to isolate (e.g. {printable(isolate[1].ip)}): ", style="bold")
            + Text(printable(isolate[0].detail, limit=900))
        )


_ACTION_ORDER = {"replace": 0, "isolate": 1, "patch": 2, "reconfigure": 3}


def _posture_summary(device: Device) -> str:
    confirmed = [v for v in device.vulnerabilities if v.status != "undetermined"]
    kev = sum(v.kev for v in confirmed)
    parts = [f"{len(confirmed)} vulnerable" + (f" ({kev} known exploited)" if kev else "")]
    undetermined = len(device.vulnerabilities) - len(confirmed)
    if undetermined:
        parts.append(f"{undetermined} undetermined")
    parts.append(f"{len(device.exposure)} exposure" + ("s" if len(device.exposure) != 1 else ""))
    if device.remediation:
        parts.append(f"first: {device.remediation[0].action}")
    return "; ".join(parts)


# --- writing ---------------------------------------------------------------------------


def write_output(result: ScanResult, fmt: str, output: Path | None, console: Console) -> None:
    """Render ``result`` as ``fmt`` (one of :data:`FORMATS`) to ``output`` or the console.

    A file is written atomically: to a temporary file in the same directory, then renamed,
    so a reader never sees half a report. Raises :class:`OutputError` when it cannot be.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "table":
        if output is None:
            render_table(result, console)
            return
        buffer = io.StringIO()
        render_table(result, Console(file=buffer, width=FILE_TABLE_WIDTH, no_color=True))
        text = buffer.getvalue()
    elif fmt == "json":
        text = render_json(result)
    elif fmt == "jsonl":
        text = "".join(render_jsonl(result))
    else:
        text = render_csv(result)
    if output is None:
        # Machine formats bypass rich: no markup, wrapping or highlighting of the data.
        console.file.write(text)
        console.file.flush()
    else:
        write_atomically(output, text.encode("utf-8"))


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename; keeps an existing file's permissions."""
    try:
        descriptor, temporary_name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    temporary = Path(temporary_name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _target_mode(path))
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _target_mode(path: Path) -> int:
    # mkstemp creates 0600; a report should get the mode a plain open() would give.
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
