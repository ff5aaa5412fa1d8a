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
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from provscan.model import (
    RESTRICTING_FINDING_EFFECTS,
    REVIEW_MEANING,
    SERVED_NOTHING_NOTE_PREFIX,
    Device,
    Evidence,
    Finding,
    Remediation,
    ScanResult,
    Vulnerability,
    address_sort_key,
    seen_only_through_a_router,
)
from provscan.policy.evaluate import (
    ACT_AS_ANYONE,
    DEFAULT_PARTY,
    REVIEW_NOTE_PREFIX,
    binds_once_in_force,
    not_yet_in_force,
)
from provscan.posture.assess import action_rank, effort_of, model_unchecked
from provscan.report.contract import (
    VERDICTS,
    ScanDocument,
    advice_condition,
    ordered_devices,
    to_contract,
    to_contract_parts,
    verdict_of,
)
from provscan.report.files import OutputError as OutputError  # re-exported: write_output raises it
from provscan.report.files import guard_formula, open_atomically, write_atomically
from provscan.report.safe_text import printable
from provscan.report.wording import plural

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
    "other_policies",
    "evidence_count",
    "vulnerabilities",
    "kev",
    "exposure",
    "first_action",
    # restricted, review, unknown or clear (contract 1.4): a filter on restricted=false counts
    # unknown devices (nothing identified them) as clear. Last, so earlier columns keep their
    # places in the spreadsheets that read them.
    "verdict",
)


#: Up to this many policies, the short table gives each one's citation under its measure.
POLICIES_WITH_CITATIONS = 6
#: Longest device-supplied value shown in a table cell or an evidence line.
WHY_VALUE_CHARS = 80
#: Width of a table written to a file (there is no terminal to measure).
FILE_TABLE_WIDTH = 160


# --- JSON and JSON Lines ---------------------------------------------------------------


def _dump_json_object(document: ScanDocument) -> dict[str, Any]:
    return document.model_dump(mode="json")


def render_json(result: ScanResult) -> str:
    """The contract document as JSON: indent 2, keys in contract order, trailing newline."""
    return "".join(render_json_chunks(result))


def render_json_chunks(result: ScanResult) -> Iterator[str]:
    """:func:`render_json`'s text in pieces, one device at a time: the whole document is never
    in memory (for a capture of 4,096 devices it took ~300 MiB more than the result; issue 14).

    The same text as ``json.dumps(document, indent=2, ensure_ascii=True)``: each device is
    dumped on its own and indented to its depth (JSON strings hold no raw line breaks).
    """
    head, entries = to_contract_parts(result)
    text = JsonDocumentText(head)
    yield text.opening
    for entry in entries:
        yield text.device(entry)
    yield text.closing()


class JsonDocumentText:
    """:func:`render_json_chunks`'s text in its pieces, from the contract's parts
    (:func:`~provscan.report.contract.to_contract_parts`): the opening (the document without
    its devices), each device's entry as it comes, the closing."""

    def __init__(self, head: Mapping[str, Any]) -> None:
        self.opening = indented_json(head)[: -len("\n}")] + ',\n  "devices": ['
        self._separator = "\n    "

    def device(self, entry: Mapping[str, Any]) -> str:
        piece = self._separator + indented_json(entry).replace("\n", "\n    ")
        self._separator = ",\n    "
        return piece

    def closing(self) -> str:
        return "]\n}\n" if self._separator == "\n    " else "\n  ]\n}\n"


@contextmanager
def json_report_writer(
    head: Mapping[str, Any], output: Path | None, console: Console
) -> Iterator[Callable[[Mapping[str, Any]], None]]:
    """The JSON report that ``write_output(result, "json", output, console)`` writes (the same
    text), for a caller that has the contract's parts and uses each device's entry for
    something else too (the store): the block hands each entry, in contract order, to the
    function it is given.

    Handing an entry in never raises for a failed write: the first failure is kept, nothing
    more is written, and it is raised when the block ends (``OutputError`` for a file, as
    ``write_output``; on the console the ``OSError`` itself, ``BrokenPipeError`` for a closed
    pipe), so that the caller's other use of the entries finishes first. A file is replaced
    in one rename, and left as it was after an error.
    """
    text = JsonDocumentText(head)
    failures: list[OSError] = []

    def guarded(write: Callable[[str], object]) -> Callable[[str], None]:
        def write_piece(piece: str) -> None:
            if failures:
                return
            try:
                write(piece)
            except OSError as exc:
                failures.append(exc)

        return write_piece

    if output is None or str(output) == "-":
        write = guarded(console.file.write)
        write(text.opening)
        yield lambda entry: write(text.device(entry))
        write(text.closing())
        if not failures:
            try:
                console.file.flush()
            except OSError as exc:
                failures.append(exc)
        if failures:
            raise failures[0]
        return
    with ExitStack() as stack:
        try:
            handle = stack.enter_context(open_atomically(output))
        except OutputError as exc:
            # Not even opened (e.g. a folder no one may create files in): the caller's other
            # use of the entries (the store) still runs, and this is raised after it.
            yield lambda entry: None
            raise exc
        write = guarded(lambda piece: handle.write(piece.encode("utf-8")))
        write(text.opening)
        yield lambda entry: write(text.device(entry))
        write(text.closing())
        if failures:
            raise failures[0]  # open_atomically: an OutputError, and no half file left


#: Characters ``json.dumps(..., ensure_ascii=True)`` writes as ``\\uXXXX`` and orjson as they are.
_NOT_ASCII = re.compile("[\x7f-\U0010ffff]")
#: The exact types whose orjson text is the standard encoder's (floats: see _same_float).
_PLAIN = (str, int, bool, type(None))


def _escape_non_ascii(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # a surrogate pair, as the standard encoder writes it
        code -= 0x10000
        return f"\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}"
    return f"\\u{code:04x}"


def _same_float(value: float) -> bool:
    """Whether orjson writes ``value`` as ``repr`` does: not for infinities and NaN (null
    against Infinity/NaN) nor below 1e-4 (0.00001 and 1e-7 against 1e-05 and 1e-07)."""
    return value == 0.0 or (math.isfinite(value) and abs(value) >= 1e-4)


def _orjson_safe(value: Any) -> bool:
    """Whether every node of ``value`` is of a type whose orjson text is the standard
    encoder's: dicts, lists, str, int, bool, None and floats that :func:`_same_float` admits
    (exact types: a subclass, a tuple, a datetime take the standard path)."""
    kind = type(value)
    if kind is dict:
        value = value.values()
    elif kind is not list:
        return _same_float(value) if kind is float else kind in _PLAIN
    for item in value:
        # Leaves are checked here, not by a call each (most nodes are strings: a call per
        # node was most of the walk's time, issue 14).
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if not (_same_float(item) if kind is float else _orjson_safe(item)):
            return False
    return True


def indented_json(value: Any) -> str:
    """Exactly ``json.dumps(value, indent=2, ensure_ascii=True)``, written by orjson when the
    text is the same (issue 14: the standard encoder runs in pure Python with an indent, 1.4 s
    for the 4,015 devices of the bench capture). orjson writes non-ASCII characters as UTF-8:
    they are escaped afterwards as the standard encoder escapes them (they occur only inside
    strings). Anything else (other types, small or non-finite floats, non-str keys, integers
    past 64 bits, deep nesting) takes the standard encoder."""
    try:
        safe = _orjson_safe(value)
    except RecursionError:
        safe = False
    if safe:
        try:
            text = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode("utf-8")
        except orjson.JSONEncodeError:
            pass
        else:
            return (
                text
                if text.isascii() and "\x7f" not in text
                else _NOT_ASCII.sub(_escape_non_ascii, text)
            )
    return json.dumps(value, indent=2, ensure_ascii=True)


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


def _policy_ids(device: Device) -> tuple[list[str], list[str]]:
    """The policies whose measures restrict the device for the user (those that bind them),
    and the other policies that name it (not binding them, advisory or context): the
    ``policies`` and ``other_policies`` columns, as ``screen`` lists its ``policies``."""
    restricting = list(dict.fromkeys(f.policy for f in device.findings if f.restricts))
    others = dict.fromkeys(f.policy for f in device.findings if f.policy not in restricting)
    return restricting, list(others)


def render_csv(result: ScanResult) -> str:
    """One row per device (columns :data:`CSV_COLUMNS`), formula-injection guarded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for device in ordered_devices(result.devices):
        restricting, others = _policy_ids(device)
        conditions = conditional_cves(device)
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
            ";".join(restricting),
            ";".join(others),
            str(len(device.evidence)),
            ";".join(_csv_cve(v, conditions.get(v.cve)) for v in device.vulnerabilities),
            # A CVE listed in `vulnerabilities` is on CISA KEV, whatever its status there
            # (vulnerable, likely or undetermined: the marks say how sure); not one that
            # applies only if a maker the evidence leaves open made it ("if made by ...").
            "true" if _csv_kev(device, conditions) else "false",
            ";".join(dict.fromkeys(e.kind for e in device.exposure)),
            _csv_first_action(device),
            verdict(device),
        )
        writer.writerow([guard_formula(cell) for cell in row])
    return buffer.getvalue()


def _csv_first_action(device: Device) -> str:
    """The CSV's ``first_action``: the device's most urgent action, marked as the CSV marks
    its CVEs when no measure binding the user asks for it: ``isolate(not binding you)``
    (:func:`binds_nobody`); empty when it has none."""
    if not device.remediation:
        return ""
    first = device.remediation[0]
    return f"{first.action}({NOT_BINDING_YOU})" if binds_nobody(device, first) else first.action


def _csv_kev(device: Device, conditions: Mapping[str, str]) -> bool:
    """The CSV's ``kev``: one of the device's own CVEs listed in ``vulnerabilities`` is on
    CISA KEV, whatever its status (``CVE-…(undetermined)`` counts); those that apply only if a
    maker the evidence leaves open made it (``conditions``) do not (docs/reports.md)."""
    return any(v.kev and v.cve not in conditions for v in device.vulnerabilities)


def _csv_cve(vulnerability: Vulnerability, condition: str | None) -> str:
    """``CVE-…``, ``CVE-…(likely)``, ``CVE-…(if made by Hikvision)`` or both marks."""
    marks = [vulnerability.status] if vulnerability.status != "vulnerable" else []
    if condition is not None:
        marks.append(f"if {condition}")
    return f"{vulnerability.cve}({', '.join(marks)})" if marks else vulnerability.cve


_CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")


def conditional_cves(device: Device) -> dict[str, str]:
    """The device's CVEs that apply only if a maker the evidence leaves open made it, each
    with that condition ("made by Hikvision"): those whose patch or replace advice is
    conditional (``Remediation.condition``; posture.assess._if_made_by). They are not the
    device's own vulnerabilities: no count of vulnerable devices includes them, and where
    they are listed they say "if made by ..." (decision in docs/reports.md)."""
    conditional: dict[str, str] = {}
    own: set[str] = set()
    for item in device.remediation:
        if item.action not in ("patch", "replace"):
            continue
        condition = advice_condition(item.condition, item.reason)
        for cve in _CVE_ID.findall(item.reason):
            if condition is None:
                own.add(cve)
            else:
                conditional.setdefault(cve, condition)
    return {cve: condition for cve, condition in conditional.items() if cve not in own}


# --- rich table ------------------------------------------------------------------------
#
# The table is read by people, often on an 80-100 column terminal: it leads with the
# summary, groups devices by verdict (most urgent first), explains each policy once (each
# family's line points there) and keeps lists short; ``verbose`` adds every device's evidence
# and findings and the whole posture. Column widths are computed here rather than left to
# rich so that addresses, maker and brand names are never broken across lines.

#: Verdict groups, in the order the table shows them (most urgent first).
_GROUP_HEADINGS = {
    "restricted": ("Restricted", "bold red", ""),
    "review": ("To review", "bold yellow", REVIEW_MEANING),
    "unknown": ("Unknown maker", "bold yellow", "nothing identified them: check them by hand"),
    # Whom "clear" is clear for is said by :func:`_clear_explanation`.
    "clear": ("Clear", "bold green", ""),
}
#: Groups shown row by row without ``verbose``; the others are listed compactly.
_TABULATED = ("restricted", "review")

#: Items of a compact list (unknown and clear devices) shown without ``verbose``.
LIST_ITEMS = 40
#: Indent of everything below a heading.
INDENT = 2

#: Columns of the device tables. Without ``verbose`` the family line above a table names the
#: maker, so one column shows the label brand, or the maker when no brand was seen (the JSON's
#: ``brand`` is then null; its heading says so); ``verbose`` has both, each as recorded.
_COLUMNS = ("IP", "Brand or maker", "Model", "Ports", "Vulns")
_VERBOSE_COLUMNS = ("IP", "Maker", "Brand", "Model", "Firmware", "Type", "Conf.", "Ports", "Vulns")
#: Columns that give up width when a table is too wide, first to last, down to a minimum:
#: firmware and type wrap anywhere, ports between numbers. Then maker and brand wrap between
#: their words (down to their longest word, see :func:`_fit_device_columns`). Address, model
#: and the Vulns marks are never broken: a model too long for what is left goes on its own
#: line under its row (a newcomer found "DS-2CD2386" / "G2-IU" and "Hikvisi…" at 80 columns).
_SHRINK = (
    ("Firmware", 8),
    ("Type", 6),
    ("Ports", 10),
)
_WORD_WRAPPING = ("Brand", "Brand or maker", "Maker", "Maker / brand")
#: ``verbose``'s Maker and Brand in one column when both do not fit ("Dahua / Amcrest").
_MAKER_AND_BRAND = "Maker / brand"
_WRAPPING = frozenset({"Firmware", "Type", "Ports", *_WORD_WRAPPING})
#: The Model cell of a row whose model is on its own line below the row.
_MODEL_BELOW = "below"
#: Port lists up to this width are kept on one line ("80 554 37777", "80 443 554 8000"):
#: columns are dropped first (a newcomer found "80 554" / "37777" at 80 columns); longer
#: lists wrap between numbers.
PORTS_KEPT_WHOLE = 16


def _shrink_keeping_ports(rows: Sequence[Mapping[str, Text]]) -> list[tuple[str, int]]:
    """:data:`_SHRINK` with the Ports column's minimum raised to its widest list when that
    is at most :data:`PORTS_KEPT_WHOLE`."""
    widest = max((_widest_line(row["Ports"]) for row in rows), default=0)
    keep = min(widest, PORTS_KEPT_WHOLE)
    return [(name, max(minimum, keep) if name == "Ports" else minimum) for name, minimum in _SHRINK]


def _longest_word(name: str, rows: Sequence[Mapping[str, Text]]) -> int:
    """The longest word of column ``name``, its heading included."""
    words = [word for row in rows for word in row[name].plain.split()]
    return max(cell_len(word) for word in [*words, *name.split()])


def _fit_device_columns(
    columns: Sequence[str], rows: Sequence[Mapping[str, Text]], width: int
) -> dict[str, int]:
    """The device tables' columns and widths (:func:`fit_columns`). Maker and brand give
    way down to their longest word, then share one column ("Dahua / Amcrest", between words
    too); when the table is still too wide, the Model column narrows to what is left and
    :func:`_print_devices` puts the longer models on their own lines, so that no model is
    ever cut."""

    def fitted(names: Sequence[str], ports_whole: bool = True) -> tuple[dict[str, int], int]:
        words = [(name, _longest_word(name, rows)) for name in _WORD_WRAPPING if name in names]
        shrink = [*(_shrink_keeping_ports(rows) if ports_whole else _SHRINK), *words]
        widths = fit_columns(names, rows, width, shrink=shrink)
        return widths, sum(widths.values()) + 2 * (len(widths) - 1) + INDENT - width

    widths, excess = fitted(columns)
    if excess > 0 and "Maker" in columns and "Brand" in columns:
        columns = [_MAKER_AND_BRAND if name == "Maker" else name for name in columns]
        columns = [name for name in columns if name != "Brand"]
        widths, excess = fitted(columns)
    if excess > 0:  # port lists wrap between numbers before a model leaves its row
        widths, excess = fitted(columns, ports_whole=False)
    if excess > 0 and "Model" in widths:
        widths["Model"] = max(widths["Model"] - excess, len(_MODEL_BELOW))
    return widths


def _print_devices(
    rows: Sequence[Mapping[str, Text]],
    widths: dict[str, int],
    console: Console,
    *,
    header: bool,
    below: str = "Model",
    label: str = "model ",
    wrapping: frozenset[str] = _WRAPPING,
) -> None:
    """The rows (:func:`print_columns`); a ``below`` value wider than its column is not
    broken but written whole on its own line under its row, after ``label`` (every row's,
    when ``widths`` has no such column)."""
    chunk: list[Mapping[str, Text]] = []
    room = widths.get(below)
    for row in rows:
        value = row.get(below)
        if value is None or (room is not None and _widest_line(value) <= room):
            chunk.append(row)
            continue
        shown = row if room is None else {**row, below: Text(_MODEL_BELOW, style="dim")}
        print_columns([*chunk, shown], widths, console, header=header, wrapping=wrapping)
        header, chunk = False, []
        console.print(Padding(Text.assemble((label, "dim"), value), (0, 0, 0, 2 * INDENT)))
    if chunk:
        print_columns(chunk, widths, console, header=header, wrapping=wrapping)


#: Columns left out, first to last, when shrinking is not enough (the details say them too).
_DROP = ("Conf.", "Type", "Firmware")


def verdict(device: Device) -> str:
    """The group a device is shown in: one of :data:`VERDICTS`, the contract's ``verdict``
    (:func:`~provscan.report.contract.verdict_of`).

    Review is what policy judging flags with a ``review:`` note (a restricted maker that is
    possible but not established); findings of context-only measures alone change nothing.
    """
    return verdict_of(device.restricted, device.notes, device.manufacturer)


def summary_line(result: ScanResult) -> str:
    """``"N devices: R restricted, V to review, U unknown, C clear; S hosts without answers"``
    (the last part only when some host did not answer: a capture has no such hosts)."""
    devices = result.devices
    counts = Counter(verdict(device) for device in devices)
    silent_hosts = max(result.info.hosts_scanned - result.info.hosts_responding, 0)
    line = (
        f"{plural(len(devices), 'device')}: {counts['restricted']} restricted, "
        f"{counts['review']} to review, {counts['unknown']} unknown, {counts['clear']} clear"
    )
    if silent_hosts:
        line += f"; {plural(silent_hosts, 'host')} without answers"
    if not result.info.complete:
        line += " - scan INCOMPLETE"
    return printable(line)


def knowledge_line(version: str | None, as_of: str | None, judged_on: date | None = None) -> str:
    """The table footer that says which knowledge judged the devices: ``"knowledge 2026.12.0,
    as of 2026-12-03"``, with ``(stale: 400 days old, limit 180)`` when it was older than
    the allowed age on ``judged_on`` (default today); a result from before the version was
    recorded says so."""
    if version is None and as_of is None:
        return "knowledge: version not recorded"
    line = f"knowledge {version or 'version unknown'}, as of {as_of or 'unknown'}"
    from provscan.errors import InputError
    from provscan.knowledge.packs import max_age_days_from_env

    try:
        age = ((judged_on or date.today()) - date.fromisoformat(as_of or "")).days
        limit = max_age_days_from_env()
    except (ValueError, InputError):
        return printable(line)
    return printable(line + (f" (stale: {age} days old, limit {limit})" if age > limit else ""))


#: What made a result, by its kind, for the table's first line (a discovery is "active" too:
#: its command names itself, see :func:`table_title`).
KIND_COMMANDS = {"active": "scan", "passive": "pcap", "import": "import"}


def table_title(result: ScanResult, *, command: str | None = None, stored: bool = True) -> str:
    """The table's first line: ``provscan scan|pcap|import|discover``, then the scan's id
    when it was stored (an id never stored finds nothing in ``provscan scans``)."""
    name = command or KIND_COMMANDS.get(result.info.kind, result.info.kind)
    title = f"provscan {name}"
    return printable(f"{title} {result.info.scan_id}" if stored else title)


def render_table(
    result: ScanResult, console: Console, *, verbose: bool = False, title: str | None = None
) -> None:
    """Print the scan for people: summary, devices by verdict, policies, posture.

    ``verbose`` adds every device's evidence and findings, full tables for every group,
    every policy measure with its whole citation and the whole priority list. ``title``:
    the first line (default: :func:`table_title` of a stored result).
    """
    devices = ordered_devices(result.devices)
    names = _family_names(devices)
    pending = pending_for_you(result)
    console.print(Text(title if title is not None else table_title(result), style="bold"))
    restricted = any(verdict(device) == "restricted" for device in devices)
    console.print(Text(summary_line(result), style="bold red" if restricted else "bold"))
    for named in (not_binding_line(devices, names, pending), pending_line(devices, pending)):
        if named:
            console.print(Text(named, style="yellow"))
    if devices:
        console.print(Text(_family_line(devices, names)))
    if devices:
        console.print(Text(_judged_line(result.info.acting_as, devices), style="dim"))
    for note in result.info.notes:
        console.print(Text(f"note: {printable(note)}", style="yellow"))
    _render_groups(
        devices, names, console, verbose, result.info.acting_as, result.info.kind, pending
    )
    _render_policies(result, devices, console, verbose, pending)
    if verbose:
        _render_details(devices, names, console, pending)
    said_more = _render_posture(devices, console, verbose)
    if not verbose and devices and not said_more:
        console.print(
            Text(
                "--verbose: every device's evidence and findings, the whole priority list; "
                "-f json: everything",
                style="dim",
            )
        )
    info = result.info
    footer = knowledge_line(info.knowledge_version, info.knowledge_as_of, info.started_at.date())
    console.print(Text(footer, style="dim"))


def _cell(value: str | None, placeholder: str = "-") -> Text:
    if not value:
        return Text(placeholder, style="dim")
    return Text(printable(value, limit=WHY_VALUE_CHARS))


def _family_names(devices: Iterable[Device]) -> dict[str, str]:
    """Family id -> how to show it: its maker's own spelling when a device shows it."""
    makers: dict[str, Counter[str]] = {}
    for device in devices:
        if device.family:
            counter = makers.setdefault(device.family, Counter())
            if device.manufacturer:
                counter[device.manufacturer] += 1
    names = {}
    for family, counter in makers.items():
        exact = [maker for maker in counter if maker.casefold() == family.casefold()]
        best = exact[0] if exact else (counter.most_common(1)[0][0] if counter else family)
        names[family] = printable(best)
    return names


def _judged_line(acting_as: Sequence[str], devices: Sequence[Device] = ()) -> str:
    """Whom the verdicts were judged for (decision 0015)."""
    if tuple(acting_as) == (ACT_AS_ANYONE,):
        return "judged for anyone (--as all): every restricting measure counts"
    if _every_measure_counts(acting_as, devices):
        return (
            "judged for anyone: the selected policies name no national government body, so "
            "every restricting measure counts (--as says who you are)"
        )
    if acting_as:
        return (
            f"judged as {printable(', '.join(acting_as))}: only measures that bind you make a "
            "device restricted"
        )
    return f"judged as {DEFAULT_PARTY} (the default): --as says who you are"


def _family_line(devices: Sequence[Device], names: dict[str, str]) -> str:
    families = Counter(device.family for device in devices if device.family)
    parts = [f"{names[family]} {count}" for family, count in families.most_common()]
    others = sum(not device.family and device.manufacturer is not None for device in devices)
    if others:
        parts.append(f"other makers {others}")
    unknown = sum(device.manufacturer is None for device in devices)
    if unknown:
        parts.append(f"unknown maker {unknown}")
    return "By maker family: " + ", ".join(parts)


def _shorten(value: str, width: int) -> str:
    """``value`` made printable and cut to ``width`` at a word boundary, with "…"."""
    text = printable(value)
    if len(text) <= width:
        return text
    cut = text[: max(width - 1, 1)]
    if " " in cut[width // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:([") + "…"


def _flow(items: Sequence[Text], width: int, separator: str = ", ") -> list[Text]:
    """Lines of ``items`` (indented), broken between items only: an item is never split, and
    a line that breaks ends with the separator ("Axis 127.0.0.3," then "Axis 127.0.0.4"), so
    that every item but the last leaves room for it."""
    lines: list[Text] = []
    line = Text(" " * INDENT)
    used = INDENT
    trailing = separator.rstrip()
    last = len(items) - 1
    for index, item in enumerate(items):
        gap = len(separator) if used > INDENT else 0
        room = len(trailing) if index < last else 0
        if used > INDENT and used + gap + item.cell_len + room > width:
            line.append(trailing)
            lines.append(line)
            line, used, gap = Text(" " * INDENT), INDENT, 0
        if gap:
            line.append(separator)
        line.append_text(item)
        used += gap + item.cell_len
    if used > INDENT:
        lines.append(line)
    return lines


def _print_lines(lines: Iterable[Text], console: Console) -> None:
    for line in lines:
        console.print(line, no_wrap=True, overflow="ellipsis")


# -- devices by verdict ------------------------------------------------------------------


def _row(device: Device, verbose: bool) -> dict[str, Text]:
    return {
        "IP": Text(printable(device.ip)),
        "Maker": _cell(device.manufacturer, "unknown"),
        "Brand": _cell(device.brand),
        "Brand or maker": _cell(device.brand or device.manufacturer, "unknown"),
        _MAKER_AND_BRAND: Text(_maker_and_brand(device)),
        "Model": _model_cell(device),
        "Firmware": _cell(device.firmware),
        "Type": _cell(device.device_type),
        "Conf.": Text(f"{device.confidence:.0%}"),
        "Ports": Text(" ".join(str(port) for port in device.open_ports))
        if device.open_ports
        else Text("-", style="dim"),
        "Vulns": _vulnerability_cell(device),
    }


def _model_cell(device: Device) -> Text:
    """The model; when it is not known, the device's type in brackets when one is
    ("(router)", dim: what it is, for "is my router a Huawei?"), else "-"."""
    if device.model or not device.device_type:
        return _cell(device.model)
    return Text(f"({printable(device.device_type.replace('_', ' '))})", style="dim")


def fit_columns(
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Text]],
    width: int,
    *,
    shrink: Sequence[tuple[str, int]] = _SHRINK,
    drop: Sequence[str] = _DROP,
    indent: int = INDENT,
) -> dict[str, int]:
    """The columns to show and their widths: natural, narrowed in ``shrink`` order (each
    down to its minimum) to fit ``width`` and, when that is not enough, without the ``drop``
    columns. Columns in neither keep their natural width, so identifiers are never split
    (the inventory, cases and lab tables fit their columns with this too)."""
    natural = {
        name: max([len(name), *(_widest_line(row[name]) for row in rows)]) for name in columns
    }
    kept = list(columns)
    while True:
        widths = {name: natural[name] for name in kept}
        excess = sum(widths.values()) + 2 * (len(kept) - 1) + indent - width
        for name, minimum in shrink:
            if excess <= 0:
                break
            if name in widths:
                cut = min(excess, max(widths[name] - minimum, 0))
                widths[name] -= cut
                excess -= cut
        droppable = [name for name in drop if name in kept]
        if excess <= 0 or not droppable:
            return widths
        kept.remove(droppable[0])


def _widest_line(cell: Text) -> int:
    """The width of ``cell``'s longest line (a cell may hold several, e.g. one per change)."""
    return max((cell_len(line) for line in cell.plain.split("\n")), default=0)


def print_columns(
    rows: Sequence[Mapping[str, Text]],
    widths: dict[str, int],
    console: Console,
    *,
    header: bool,
    wrapping: frozenset[str] = _WRAPPING,
    indent: int = INDENT,
) -> None:
    """The ``widths`` columns (from :func:`fit_columns`) of ``rows``, indented, without
    borders: the ``wrapping`` columns fold, the others are never broken across lines."""
    table = Table(box=None, show_header=header, header_style="bold", padding=(0, 1), pad_edge=False)
    for name, width in widths.items():
        wraps = name in wrapping
        table.add_column(
            name, width=width, no_wrap=not wraps, overflow="fold" if wraps else "ellipsis"
        )
    for row in rows:
        table.add_row(*(row[name] for name in widths))
    console.print(Padding(table, (0, 0, 0, indent), expand=False))


def _render_groups(
    devices: Sequence[Device],
    names: dict[str, str],
    console: Console,
    verbose: bool,
    acting_as: Sequence[str] = (),
    kind: str = "active",
    pending: Pending | None = None,
) -> None:
    pending = pending or {}
    # a device with no open port: found by discovery in a scan, only heard in a capture,
    # read from another tool's file or register (an import sends nothing, discovers nothing)
    portless = {"passive": "no open port seen", "import": "imported"}.get(kind, "discovery")
    columns = _VERBOSE_COLUMNS if verbose else _COLUMNS
    groups = {name: [d for d in devices if verdict(d) == name] for name in VERDICTS}
    tabled = [d for name in VERDICTS if verbose or name in _TABULATED for d in groups[name]]
    # One set of widths for every table, so that the columns line up down the page.
    rows = [_row(device, verbose) for device in tabled]
    widths = _fit_device_columns(columns, rows, console.width)
    for name in VERDICTS:
        group = groups[name]
        if not group:
            continue
        title, style, explanation = _GROUP_HEADINGS[name]
        if name == "clear":
            explanation = _clear_explanation(group, acting_as, pending)
        console.print()
        heading = Text(f"{title}: {plural(len(group), 'device')}", style=style)
        if explanation:
            heading.append(f" ({explanation})", style="dim")
        console.print(heading)
        if name == "clear":
            _render_clear(group, names, console, verbose, widths, pending)
        elif name in _TABULATED:
            families: dict[str | None, list[Device]] = {}
            for device in group:
                families.setdefault(device.family, []).append(device)
            ordered = sorted(families.items(), key=lambda item: (item[0] is None, -len(item[1])))
            for index, (family, members) in enumerate(ordered):
                if family is not None:
                    console.print(_pointer(names[family], members, name, pending))
                rows = [_row(device, verbose) for device in members]
                _print_devices(rows, widths, console, header=index == 0)
                if name == "review":
                    console.print(_bullets(_review_reasons(members)))
        elif verbose:
            members = sorted(group, key=lambda d: (d.manufacturer or "", address_sort_key(d.ip)))
            _print_devices([_row(d, True) for d in members], widths, console, header=True)
        elif name == "unknown":
            # addresses seen only through a router (a capture's internet peers) apart from
            # the unknown devices of the captured segment itself
            remote = [d for d in group if seen_only_through_a_router(d)]
            local = [d for d in group if not seen_only_through_a_router(d)]
            _print_lines(_compact(local, name, console.width, portless=portless), console)
            if remote:
                note = Text(
                    f"{'' if not local else 'and '}{len(remote)} "
                    f"{'address' if len(remote) == 1 else 'addresses'} seen only "
                    "through a router's MAC (off the captured segment; a capture on their "
                    "own network would show what they are):",
                    style="dim",
                )
                console.print(Padding(note, (0, 0, 0, INDENT)))
                _print_lines(_compact(remote, name, console.width, portless=portless), console)
        else:
            _print_lines(_compact(group, name, console.width), console)
    if (legend := _vulns_legend(tabled)) is not None:
        console.print(Padding(Text(legend, style="dim"), (0, 0, 0, INDENT)))


def _pointer(
    name: str, members: Sequence[Device], group: str, pending: Pending | None = None
) -> Text:
    """``"Hikvision family (18): restricted by ca, us, …; context: nz (see Policies below)"``."""
    findings = [finding for device in members for finding in device.findings]
    restricting = dict.fromkeys(f.policy for f in findings if f.restricts)
    # A policy with a restricting measure is named once, among the restricting ones.
    context = dict.fromkeys(
        f.policy for f in findings if not f.restricts and f.policy not in restricting
    )
    line = Text.assemble((f"{name} family", "bold"), f" ({len(members)}): ")
    # A policy that binds the user only on a condition the evidence cannot settle (the UK
    # statement's sensitive site) is named as such, not as context.
    conditional = dict.fromkeys(
        f.policy for f in findings if f.condition and f.restricts_if_so and f.policy in context
    )
    context = {policy: None for policy in context if policy not in conditional}
    # A measure not in force on the scan's day that binds the user once it is: "in force
    # from DAY", never "does not bind you" (it will).
    later = _later(findings, pending or {})
    context = {policy: None for policy in context if policy not in later}
    said = "binds you only on a condition"
    if group == "restricted":
        line.append("restricted by", style="red")
        line.append(f" {printable(', '.join(restricting) or 'no selected policy')}")
    elif restricting:
        line.append("would be restricted by", style="yellow")
        line.append(f" {printable(', '.join(restricting))}")
    elif conditional:
        # nothing restricts it outright: the condition is the whole story, said first
        line.append(said, style="yellow")
        line.append(f": {printable(', '.join(conditional))}")
        conditional = {}
    else:
        line.append("named by", style="yellow")
        line.append(" no selected policy")
    if conditional:
        line.append(f"; {said}: {printable(', '.join(conditional))}")
    if context:
        others = [f for f in findings if not f.restricts and f.policy in context]
        unbound = any(f.binding is False for f in others)
        advice = any(f.effect in ("advisory", "context") for f in others)
        label = {
            (True, False): "does not bind you",
            (True, True): "context only or not binding you",
        }.get((unbound, advice), "context only")
        line.append(f"; {label}: {printable(', '.join(context))}")
    if later:
        line.append(f"; not in force yet: {printable(_later_text(later))}")
    line.append(" (see Policies below)", style="dim")
    return line


def not_binding_you(finding: Finding | Mapping[str, Any]) -> bool:
    """A measure that would restrict the device but does not bind the user (binds others):
    the table's "named by ... (does not bind you)", and the compliance report's devices of
    makers named by measures that do not bind the user. A finding or its stored document
    (one stored without an effect counts as it was reported: restricting)."""
    if isinstance(finding, Finding):
        return finding.effect in RESTRICTING_FINDING_EFFECTS and finding.binding is False
    effect = str(finding.get("effect") or "restricts")
    return effect in RESTRICTING_FINDING_EFFECTS and finding.get("binding") is False


#: (policy id, measure title) -> the ISO day it takes effect: the measures not in force on a
#: scan's day that bind the user once they are (:func:`pending_for_you`).
Pending = Mapping[tuple[str, str], str]


def pending_for_you(result: ScanResult) -> dict[tuple[str, str], str]:
    """The measures of ``result``'s findings that were not in force on the scan's day and
    bind the user (the party the scan was judged for) once they are: the table says "in
    force from DAY" for them, not "does not bind you"
    (:func:`~provscan.policy.evaluate.binds_once_in_force`, with the active knowledge's
    measures; none when no finding is of a measure in force later)."""
    on = result.info.started_at.date()
    later = [
        finding
        for device in result.devices
        for finding in device.findings
        if finding.binding is False and not_yet_in_force(finding.effective, on)
    ]
    if not later:
        return {}
    from provscan.errors import KnowledgeError
    from provscan.knowledge.loader import load_knowledge

    try:
        knowledge = load_knowledge()
    except KnowledgeError:
        return {}  # said as before: "does not bind you"
    ids = [policy for policy in result.info.policies if policy in knowledge.policies]
    policies = knowledge.select_policies(ids or None)
    return {
        (finding.policy, finding.measure): finding.effective
        for finding in later
        if binds_once_in_force(finding, policies, result.info.acting_as, on)
    }


def _binds_others(finding: Finding, pending: Pending) -> bool:
    """:func:`not_binding_you`, but not for a measure that binds the user once in force."""
    return not_binding_you(finding) and (finding.policy, finding.measure) not in pending


def _later(findings: Iterable[Finding], pending: Pending) -> dict[str, str]:
    """Policy -> the first day one of its measures among ``findings`` binds the user
    (``pending``), for the policies that restrict nothing among them yet."""
    findings = list(findings)
    restricting = {f.policy for f in findings if f.restricts}
    later: dict[str, str] = {}
    for finding in findings:
        day = pending.get((finding.policy, finding.measure))
        if day is not None and finding.policy not in restricting:
            later[finding.policy] = min(day, later.get(finding.policy, day))
    return later


def _later_text(later: Mapping[str, str]) -> str:
    """``"ca, us (in force from 2027-06-01), uk (in force from 2028-01-01)"``: the policies
    by the day their measure takes effect, soonest first."""
    by_day: dict[str, list[str]] = {}
    for policy, day in later.items():
        by_day.setdefault(day, []).append(policy)
    return ", ".join(
        f"{', '.join(policies)} (in force from {day})" for day, policies in sorted(by_day.items())
    )


#: How the CSV and the priority list mark advice that no measure binding the user asks for
#: (:func:`binds_nobody`), in the compliance report's words for the same rows.
NOT_BINDING_YOU = "not binding you"
#: The actions a measure restricting a maker asks for (replace, and isolate until then).
_MAKER_ACTIONS = frozenset({"replace", "isolate"})


def binds_nobody(device: Device, item: Remediation) -> bool:
    """Whether ``item`` is advice to replace or isolate a clear device of a maker that only
    measures not binding the user name (the summary's "named by measures that do not bind
    you"; its end of support): the verdict stays clear, and the CSV and the priority list say
    "not binding you" so that "replace" does not read as an obligation. Advice that a
    vulnerability or an exposure makes urgent is not marked: a reason citing a CVE, or
    priority 1 (known exploited, reachable from the internet); nor are patch and reconfigure."""
    return (
        item.action in _MAKER_ACTIONS
        and item.priority > 1
        and _CVE_ID.search(item.reason) is None
        and verdict(device) == "clear"
        and any(not_binding_you(f) for f in device.findings)
    )


#: Makers named, most devices first, in the summary's line on clear devices of makers named
#: by measures that do not bind the user (the rest are counted together).
NOT_BINDING_MAKERS_NAMED = 4


def not_binding_counts(makers: Iterable[str]) -> str:
    """``"Hikvision 17, Dahua 19, Huawei 3, ZTE 2"`` (most first), the makers after the
    first :data:`NOT_BINDING_MAKERS_NAMED` counted together: ``"…, others 7"``."""
    ranked = sorted(Counter(makers).items(), key=lambda item: (-item[1], item[0]))
    shown = ", ".join(f"{name} {count}" for name, count in ranked[:NOT_BINDING_MAKERS_NAMED])
    rest = ranked[NOT_BINDING_MAKERS_NAMED:]
    if rest:
        shown += f", others {sum(count for _, count in rest)}"
    return printable(shown)


def not_binding_line(
    devices: Sequence[Device], names: Mapping[str, str], pending: Pending | None = None
) -> str | None:
    """The summary's second line: ``"41 of the clear devices are made by makers named by
    measures that do not bind you (Hikvision 17, Dahua 19, Huawei 3, ZTE 2): see Policies
    below"``; None when no clear device is (the Clear group's family lines name them)."""
    makers = [
        names.get(device.family, device.family)
        if device.family
        else (device.manufacturer or "unknown maker")
        for device in devices
        if verdict(device) == "clear"
        and any(_binds_others(f, pending or {}) for f in device.findings)
    ]
    if not makers:
        return None
    made = "is made by a maker" if len(makers) == 1 else "are made by makers"
    return (
        f"{len(makers)} of the clear devices {made} named by measures that do not bind you "
        f"({not_binding_counts(makers)}): see Policies below"
    )


def pending_line(devices: Sequence[Device], pending: Pending) -> str | None:
    """The summary's line on clear devices named by measures not in force on the scan's day
    that bind the user once they are: ``"3 of the clear devices are named by measures not yet
    in force that bind you once they are: ca (in force from 2027-06-01); see Policies
    below"``; None when no clear device is."""
    later: dict[str, str] = {}
    count = 0
    for device in devices:
        if verdict(device) != "clear":
            continue
        found = _later(device.findings, pending)
        count += bool(found)
        for policy, day in found.items():
            later[policy] = min(day, later.get(policy, day))
    if not count:
        return None
    are = "is" if count == 1 else "are"
    return printable(
        f"{count} of the clear devices {are} named by measures not yet in force that bind you "
        f"once they are: {_later_text(later)}; see Policies below"
    )


def _every_measure_counts(acting_as: Sequence[str], devices: Sequence[Device]) -> bool:
    """Whether the verdicts were judged for anyone: ``--as all``, or no ``--as`` with selected
    policies that declare no national government body (every finding's ``binding`` is null)."""
    if tuple(acting_as) == (ACT_AS_ANYONE,):
        return True
    findings = [finding for device in devices for finding in device.findings]
    return not acting_as and bool(findings) and all(f.binding is None for f in findings)


def _clear_explanation(
    group: Sequence[Device], acting_as: Sequence[str], pending: Pending | None = None
) -> str:
    """Whom the clear devices are clear for, and how many measures name all the same:
    ``"not restricted for you (as ca:individual); 9 named by measures that bind others: see
    Policies below"``."""
    pending = pending or {}
    later = sum(bool(_later(d.findings, pending)) for d in group)
    unbound = sum(
        any(_binds_others(f, pending) for f in d.findings) and not _later(d.findings, pending)
        for d in group
    )
    advice = sum(bool(d.findings) for d in group) - unbound - later
    if not unbound and not advice and not later:
        return "no selected policy names their maker"
    if _every_measure_counts(acting_as, group):
        party = "no selected policy restricts their maker"
    elif acting_as:
        party = f"not restricted for you (as {printable(', '.join(acting_as))})"
    else:
        party = f"not restricted for {DEFAULT_PARTY} (the default)"
    named = [f"{later} named by measures not in force yet that bind you once they are"]
    named = named if later else []
    if unbound:
        named.append(f"{unbound} named by measures that bind others")
    if advice:
        only = "only" if unbound or later else "named only"
        named.append(f"{advice} {only} by advice or context")
    return f"{party}; {', '.join(named)}: see Policies below"


def _render_clear(
    group: Sequence[Device],
    names: dict[str, str],
    console: Console,
    verbose: bool,
    widths: dict[str, int],
    pending: Pending | None = None,
) -> None:
    """Clear devices that measures name (binding others, or advising), a line per family
    saying which measures, with the devices' addresses (``verbose``: its devices' rows under
    it); then the ones no selected policy names, as before (``verbose``: their rows, under
    "Others" when families came first)."""
    named: dict[str, list[Device]] = {}
    for device in group:
        if device.findings:
            named.setdefault(device.family or device.manufacturer or "", []).append(device)
    rest = [device for device in group if not device.findings]
    header = True
    for key, members in sorted(named.items(), key=lambda item: (-len(item[1]), item[0])):
        name = names.get(key, printable(key))
        line = _clear_pointer(f"{name} family" if key in names else name, members, pending)
        if not verbose:
            shown = sorted(members, key=lambda d: address_sort_key(d.ip))
            line.append(" ")
            line.append_text(Text(", ").join(_clear_item(d, name) for d in shown[:LIST_ITEMS]))
            if len(shown) > LIST_ITEMS:
                line.append(f" and {len(shown) - LIST_ITEMS} more (--verbose)")
        # Wrapped between words only: an address is never split.
        console.print(line)
        if verbose:
            # each family line with its own rows (the widths are shared: columns line up)
            ordered = sorted(members, key=lambda d: (d.manufacturer or "", address_sort_key(d.ip)))
            _print_devices([_row(d, True) for d in ordered], widths, console, header=header)
            header = False
    if verbose and rest:
        if named:
            console.print(Text(f"Others ({len(rest)}):", style="bold"))
        ordered = sorted(rest, key=lambda d: (d.manufacturer or "", address_sort_key(d.ip)))
        _print_devices([_row(d, True) for d in ordered], widths, console, header=header)
    elif rest and not verbose:
        lead = f"Others ({len(rest)}): " if named else ""
        _print_lines(_compact(rest, "clear", console.width, lead=lead), console)


def _clear_pointer(label: str, members: Sequence[Device], pending: Pending | None = None) -> Text:
    """``"Hikvision family (9), named by ca, us (does not bind you); dk (advice or context
    only):"``; a measure that binds the user once in force: ``"ca (in force from
    2027-06-01)"``."""
    findings = [finding for device in members for finding in device.findings]
    later = _later(findings, pending or {})
    unbound = dict.fromkeys(
        f.policy for f in findings if _binds_others(f, pending or {}) and f.policy not in later
    )
    advice = dict.fromkeys(
        f.policy for f in findings if f.policy not in unbound and f.policy not in later
    )
    parts = [_later_text(later)] if later else []
    if unbound:
        parts.append(f"{', '.join(unbound)} (does not bind you)")
    if advice:
        parts.append(f"{', '.join(advice)} (advice or context only)")
    return Text.assemble(
        (label, "bold"), f" ({len(members)}), named by {printable('; '.join(parts))}:"
    )


def _clear_item(device: Device, family_name: str) -> Text:
    """A device on its family's line: its address, with its label when that is not the
    family's name (an LTS relabel on the Hikvision line)."""
    label = device.brand or device.manufacturer
    if not label or label == family_name:
        return Text(printable(device.ip))
    return Text.assemble((printable(label), "bold"), f" {printable(device.ip)}")


def _maker_and_brand(device: Device) -> str:
    """``"Dahua / Amcrest"``: the maker, and the brand on the label when it is another (as
    the inventory shows them; the restricted tables show the brand under its family line)."""
    maker = printable(device.manufacturer or "unknown")
    if device.brand and device.brand != device.manufacturer:
        return f"{maker} / {printable(device.brand)}"
    return maker


def _review_reasons(members: Sequence[Device]) -> list[Text]:
    """Why each device needs a person's decision (policy judging's ``review:`` notes)."""
    return [
        Text.assemble(
            (printable(device.ip), "bold"), ": ", printable(note.removeprefix(REVIEW_NOTE_PREFIX))
        )
        for device in members
        for note in device.notes
        if note.startswith(REVIEW_NOTE_PREFIX)
    ]


def _ports_or_what_it_did(device: Device, portless: str) -> str:
    """A device's open ports; for none, what a capture saw it do (its client note: "served
    nothing; opened connections to 75 hosts") or else ``portless``."""
    if device.open_ports:
        return " ".join(str(port) for port in device.open_ports)
    return next(
        (printable(n) for n in device.notes if n.startswith(SERVED_NOTHING_NOTE_PREFIX)), portless
    )


def _compact(
    group: Sequence[Device],
    name: str,
    width: int,
    *,
    lead: str = "",
    portless: str = "discovery",
) -> list[Text]:
    """Unknown devices as "IP (ports)" (``portless``, or what a capture saw the host do, for
    none), clear ones as "Maker IP" or "Maker / Brand IP", a line holding several; ``lead``
    starts the first line."""
    if name == "unknown":
        items = [Text(f"{printable(d.ip)} ({_ports_or_what_it_did(d, portless)})") for d in group]
    else:
        ordered = sorted(
            group, key=lambda d: ((d.manufacturer or "").casefold(), address_sort_key(d.ip))
        )
        items = [
            Text.assemble((_maker_and_brand(d), "bold"), f" {printable(d.ip)}") for d in ordered
        ]
    if lead and items:
        items[0] = Text.assemble((lead, "bold"), items[0])
    lines = _flow(items[:LIST_ITEMS], width)
    if len(items) > LIST_ITEMS:
        lines.append(Text(f"  ... {len(items) - LIST_ITEMS} more: --verbose lists them all"))
    return lines


# -- policies, once each -----------------------------------------------------------------


def _render_policies(
    result: ScanResult,
    devices: Sequence[Device],
    console: Console,
    verbose: bool,
    pending: Pending | None = None,
) -> None:
    """Each policy that names a device: jurisdiction, measure(s) and citation, once (those
    that restrict nothing for the user too: clear devices point here)."""
    by_policy: dict[str, list[Finding]] = {}
    for device in devices:
        for finding in device.findings:
            by_policy.setdefault(finding.policy, []).append(finding)
    if not by_policy:
        return
    order = {policy: index for index, policy in enumerate(result.info.policies)}
    label_width = max(len(printable(policy)) for policy in by_policy)
    body_width = max(console.width - INDENT - label_width - 1, 20)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    # Many policies (state and federal measures together): one line each, citations on demand.
    citations = verbose or len(by_policy) <= POLICIES_WITH_CITATIONS
    for policy in sorted(by_policy, key=lambda p: order.get(p, len(order))):
        # Restricting measures first: they are the reason; those binding others, then
        # advisory and context ones follow.
        # (the first finding of a measure stands for it: a measure restricting one device
        # outright is not "binds you only on a condition" for another's unknown type)
        measures: dict[str, Finding] = {}
        for finding in sorted(by_policy[policy], key=_context_last):
            measures.setdefault(finding.measure, finding)
        first = next(iter(measures.values()))
        restricts = any(finding.restricts for finding in measures.values())
        grid.add_row(
            Text(printable(policy), style="bold red" if restricts else "bold"),
            _policy_body(
                first.jurisdiction,
                list(measures.values()),
                body_width,
                verbose,
                citations,
                pending=pending or {},
                on=result.info.started_at.date(),
            ),
        )
    console.print()
    console.print(
        Text.assemble(
            ("Policies", "bold"),
            (" (each family line above points here", "dim"),
            ("; citations: --verbose)" if not citations else ")", "dim"),
        )
    )
    console.print(Padding(grid, (0, 0, 0, INDENT), expand=False))


def _context_last(finding: Finding) -> tuple[bool, bool]:
    # Then the measures that bind others: the reason a policy that restricts nothing for the
    # user is marked "does not bind you".
    return not finding.restricts, not not_binding_you(finding)


def effect_label(finding: Finding, pending: Pending | None = None) -> str:
    """``"use-ban"``, ``"advisory, restricts nothing"``, ``"use-ban, does not bind you"``,
    ``"use-ban, binds you from 2027-06-01"`` (a measure not in force on the scan's day that
    binds the user once it is: ``pending``)."""
    if finding.effect in ("advisory", "context"):
        # restricts nothing: it binds nobody, it is addressed to the user or to others
        label = f"{finding.effect}, restricts nothing"
        if finding.binding is not None:
            label += ", addressed to you" if finding.binding else ", addressed to others"
        return label
    label = "restricts" if finding.effect == "restricts" else finding.effect
    day = (pending or {}).get((finding.policy, finding.measure))
    if day is not None:
        label += f", binds you from {day}"
    elif finding.binding is False:
        label += ", does not bind you"
    elif finding.condition:
        # what the evidence cannot settle, as lookup says it ("binds you" alone read as
        # restricting the device outright)
        label += f", {'binds you ' if finding.binding else ''}only if {finding.condition}"
    elif finding.binding:
        label += ", binds you"
    return label


def _policy_body(
    jurisdiction: str,
    measures: Sequence[Finding],
    width: int,
    verbose: bool,
    citations: bool = True,
    *,
    pending: Pending | None = None,
    on: date | None = None,
) -> RenderableType:
    pending = pending or {}
    if verbose:
        parts: list[RenderableType] = [Text(printable(jurisdiction), style="bold")]
        for finding in measures:
            # a measure not in force on the scan's day is not "in force since" it
            when = "from" if not_yet_in_force(finding.effective, on) else "since"
            label = effect_label(finding, pending)
            since = f" (in force {when} {printable(finding.effective)}; {label})"
            parts.append(Text(printable(finding.measure) + since))
            parts.append(Padding(Text(printable(finding.citation), style="dim"), (0, 0, 0, 2)))
        return Group(*parts)
    more = f" (+{len(measures) - 1} more)" if len(measures) > 1 else ""
    # A policy restricting nothing for the user: because its measures bind others, or only
    # advise or give context.
    qualifier = ""
    later = _later(measures, pending)
    if later:
        # binds the user once in force: its day, never "does not bind you"
        qualifier = f" (in force from {min(later.values())})"
    elif not any(finding.restricts for finding in measures):
        unbound = any(not_binding_you(finding) for finding in measures)
        conditional = any(f.condition and f.restricts_if_so for f in measures)
        # advice addressed to the user (Canada's public advisory for a household): said,
        # so that "does not bind you" does not read as "nothing here is for you"
        advised = any(f.effect == "advisory" and f.binding is True for f in measures)
        qualifier = (
            " (binds you only on a condition)"
            if conditional
            else " (advice for you; does not bind you)"
            if advised and unbound
            else " (advice for you)"
            if advised
            else " (does not bind you)"
            if unbound
            else " (context only)"
        )
    head = f"{printable(jurisdiction)}{qualifier}: "
    measure = _shorten(measures[0].measure, max(width - len(head) - len(more), 10))
    if not citations:
        return Text.assemble(head, measure, more)
    # The citation is cut at a word and indented under the measure, never split mid-word.
    return Text.assemble(head, measure, more, "\n", (_shorten(measures[0].citation, width), "dim"))


# -- every device in detail (verbose) ----------------------------------------------------


def _render_details(
    devices: Sequence[Device],
    names: dict[str, str],
    console: Console,
    pending: Pending | None = None,
) -> None:
    """Per device: identity, verdict, every finding, every piece of evidence and the notes."""
    if not devices:
        return
    console.print()
    console.print(Text("Evidence and findings, device by device", style="bold"))
    for device in sorted(devices, key=lambda d: VERDICTS.index(verdict(d))):
        console.print()
        for line in _why_lines(device, names, pending):
            console.print(line)


def _why_lines(
    device: Device, names: dict[str, str], pending: Pending | None = None
) -> list[RenderableType]:
    identity = device.brand or device.manufacturer or "unknown maker"
    if device.model:
        identity += f" {device.model}"
    if device.manufacturer and device.manufacturer != (device.brand or device.manufacturer):
        identity += f", made by {device.manufacturer}"
        if device.relation:
            identity += f" ({device.relation})"
    if device.firmware:
        identity += f", firmware {device.firmware}"
    if device.device_type:
        identity += f", {device.device_type}"
    if device.family:
        identity += f"; {names.get(device.family, device.family)} family"
    identity += f"; confidence {device.confidence:.0%}"
    group = verdict(device)
    lines: list[RenderableType] = [
        Text.assemble(
            (printable(device.ip), "bold"),
            " ",
            (group, _GROUP_HEADINGS[group][1]),
            ": ",
            printable(identity),
        )
    ]
    items: list[Text] = []
    for finding in device.findings:
        items.append(
            Text.assemble(
                (printable(finding.policy), "bold red" if finding.restricts else "bold"),
                f" ({printable(finding.jurisdiction)}): {printable(finding.measure)}",
                (f" [{effect_label(finding, pending)}]", "dim"),
            )
        )
    for item in _ranked_evidence(device.evidence):
        where = item.protocol if item.port is None else f"{item.protocol}/{item.port}"
        rule = f"rule {item.rule_id}" if item.rule_id else "no rule"
        items.append(
            Text.assemble(
                (printable(where), "cyan"),
                f" {printable(item.observed_field)} = ",
                repr(printable(item.observed, limit=WHY_VALUE_CHARS)),
                (f"  -> {printable(rule)} (certainty {item.certainty:.2f})", "dim"),
            )
        )
    for note in (*device.conflicts, *device.notes):
        items.append(Text(f"note: {printable(note)}", style="yellow"))
    if items:
        lines.append(_bullets(items))
    return lines


def _bullets(items: Sequence[Text]) -> Table:
    """A "-" list whose wrapped lines stay indented under their item."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for item in items:
        grid.add_row(Text(" " * INDENT + "-"), item)
    return grid


def _ranked_evidence(evidence: Iterable[Evidence]) -> list[Evidence]:
    # Rule matches explain a verdict better than raw facts; stronger rules first.
    return sorted(evidence, key=lambda item: (item.rule_id is None, -item.certainty))


# --- security posture ------------------------------------------------------------------

#: Rows of the priority list shown without ``verbose`` (one per device and action).
PRIORITY_ROWS = 5
#: The priority list's Reason column at its narrowest (narrower, it goes under each row).
REASON_WIDTH = 20
_REASON = frozenset({"Reason"})


def _vulnerability_cell(device: Device) -> Text:
    """The device's CVEs as the posture summary counts them: "2" vulnerable, "~1" likely
    (firmware in an approximate range, never counted as vulnerable), "?3" to check (firmware
    unknown; shown only when neither of the others is); known-exploited ones among those it
    counts as "(1 KEV)"; "1 if Hikvision" those that apply only if a maker the evidence leaves
    open made it (:func:`conditional_cves`: never counted as the device's own); "?" alone: none
    listed, and those listed by model were not checked (model unknown). Short, so the table
    keeps its lines; :data:`VULNS_LEGEND` explains the marks under the tables that use them."""
    conditions = conditional_cves(device)
    vulnerable, likely, maybe = _placed(device, conditions)
    if not vulnerable and not likely and not maybe:
        unknown = len(device.vulnerabilities)
        if not unknown:
            return Text("?" if model_unchecked(device) else "-", style="dim")
        kev = sum(v.kev for v in device.vulnerabilities)
        return Text(f"?{unknown}" + (f" ({kev} KEV)" if kev else ""), style="dim")
    parts = [str(len(vulnerable))] if vulnerable else []
    if likely:
        parts.append(f"~{len(likely)}")
    kev = sum(v.kev for v in (*vulnerable, *likely))
    label = " ".join(parts) + (f" ({kev} KEV)" if kev else "")
    by_condition = Counter(conditions[v.cve] for v in maybe)
    label = " ".join(
        [label] * bool(label)
        + [f"{n} if {condition.removeprefix('made by ')}" for condition, n in by_condition.items()]
    )
    return Text(label, style="bold red" if vulnerable and kev else "yellow")


def _placed(
    device: Device, conditions: Mapping[str, str]
) -> tuple[list[Vulnerability], list[Vulnerability], list[Vulnerability]]:
    """The device's vulnerable and likely CVEs (its own), and those (vulnerable or likely)
    that apply only if a maker the evidence leaves open made it (``conditions``)."""
    vulnerable: list[Vulnerability] = []
    likely: list[Vulnerability] = []
    maybe: list[Vulnerability] = []
    for v in device.vulnerabilities:
        if v.status == "undetermined":
            continue
        if v.cve in conditions:
            maybe.append(v)
        else:
            (vulnerable if v.status == "vulnerable" else likely).append(v)
    return vulnerable, likely, maybe


#: Under the device tables when a Vulns cell uses a mark.
VULNS_LEGEND = (
    "Vulns: n vulnerable, ~n likely (firmware in an approximate range), ?n to check "
    "(firmware unknown); KEV: known exploited (CISA)"
)
#: Added to the legend when a Vulns cell counts CVEs that apply only if a maker is confirmed.
VULNS_LEGEND_IF = "; n if X: only if made by X, which the evidence does not establish"
#: Added to the legend when a Vulns cell is a bare "?" (nothing was checked).
VULNS_LEGEND_UNCHECKED = "; ? alone: not checked (model unknown)"


def _vulns_legend(devices: Sequence[Device]) -> str | None:
    """The legend under a device table whose Vulns cells use a mark; None when none does."""
    unchecked = (
        VULNS_LEGEND_UNCHECKED
        if any(not d.vulnerabilities and model_unchecked(d) for d in devices)
        else ""
    )
    conditional = any(conditional_cves(device) for device in devices)
    if conditional:
        return VULNS_LEGEND + VULNS_LEGEND_IF + unchecked
    if unchecked or any(
        v.status != "vulnerable" for device in devices for v in device.vulnerabilities
    ):
        return VULNS_LEGEND + unchecked
    return None


def _posture_overview(devices: Sequence[Device]) -> str:
    """``"2 devices vulnerable (CVE-…), 9 undetermined; exposures: plain_http_login 38"``."""
    # "likely" (firmware in an approximate range) is counted apart, never as vulnerable; so
    # are CVEs that apply only if a maker the evidence leaves open made the device.
    placed = {id(d): _placed(d, conditional_cves(d)) for d in devices}
    vulnerable = [d for d in devices if placed[id(d)][0]]
    likely = [d for d in devices if d not in vulnerable and placed[id(d)][1]]
    maybe = [d for d in devices if d not in vulnerable and d not in likely and placed[id(d)][2]]
    undetermined = [
        d
        for d in devices
        if d.vulnerabilities and d not in vulnerable and d not in likely and d not in maybe
    ]
    # No CVE listed, and those listed by model could not be checked: not "0 vulnerable".
    unchecked = [d for d in devices if not d.vulnerabilities and model_unchecked(d)]
    cves = dict.fromkeys(
        v.cve + (" KEV" if v.kev else "") for d in vulnerable for v in placed[id(d)][0]
    )
    parts = [f"{plural(len(vulnerable), 'device')} vulnerable"]
    if cves:
        shown = list(cves)[:4]
        parts[0] += f" ({', '.join(shown)}{', …' if len(cves) > len(shown) else ''})"
    if likely:
        parts.append(f"{len(likely)} likely vulnerable (firmware in an approximate range)")
    if maybe:
        makers = dict.fromkeys(
            condition for d in maybe for condition in conditional_cves(d).values()
        )
        parts.append(
            f"{len(maybe)} vulnerable only if {' or '.join(makers)} (maker not established)"
        )
    if undetermined:
        parts.append(f"{len(undetermined)} with CVEs to check (firmware not placed)")
    if unchecked:
        parts.append(f"{len(unchecked)} not checked (model unknown)")
    kinds = Counter(exposure.kind for d in devices for exposure in d.exposure)
    if kinds:
        parts.append(
            "exposures: " + ", ".join(f"{kind} {count}" for kind, count in kinds.most_common())
        )
    return printable("; ".join(parts))


def _render_posture(devices: Sequence[Device], console: Console, verbose: bool) -> bool:
    """An overview, the priority list (most urgent first; short unless ``verbose``) and
    how to isolate; ``verbose`` adds every device's vulnerabilities and exposures.

    Returns whether it already said that ``--verbose`` and ``-f json`` show more."""
    with_posture = [d for d in devices if d.vulnerabilities or d.exposure or d.remediation]
    if not with_posture:
        return False
    console.print()
    console.print(Text.assemble(("Security posture: ", "bold"), _posture_overview(with_posture)))
    if verbose:
        _render_posture_devices(with_posture, console)
    items = sorted(
        ((r, d) for d in with_posture for r in d.remediation),
        key=lambda pair: (pair[0].priority, action_rank(pair[0].action)),
    )
    if not items:
        return False
    shown = items if verbose else _short_list(items)
    rows = [
        {
            "#": Text(str(remediation.priority)),
            "IP": Text(printable(device.ip)),
            "Device": _cell(device.brand or device.manufacturer, "unknown"),
            "Action": Text(printable(remediation.action), style="bold"),
            "Effort": _effort_cell(remediation.action),
            "Reason": Text(printable(_priority_reason(remediation, device))),
        }
        for remediation, device in shown
    ]
    # the short list keeps its room for the reasons: only the whole one shows the effort
    widths, reason_width = _priority_widths(rows, console.width, effort=verbose)
    if not verbose:
        for row in rows:
            row["Reason"] = Text(_shorten(row["Reason"].plain, reason_width))
    if verbose:
        said = ""
    elif len(shown) < len(items) and len({r.action for r, _ in items}) > 1:
        said = (
            f" ({len(shown)} of {plural(len(items), 'action')}: the most urgent, at least one "
            "of each kind)"
        )
    else:
        said = f" (first {len(shown)} of {plural(len(items), 'action')})"
    console.print(Text.assemble(("Priority list", "bold"), said))
    if "Reason" in widths:
        # a Reason column folds its long reasons (only one with no room goes under its row)
        print_columns(rows, widths, console, header=True, wrapping=_REASON)
    else:
        _print_devices(rows, widths, console, header=True, below="Reason", label="")
    efforts = [effort_of(remediation.action) for remediation, _ in shown]
    note = next((effort.note for effort in efforts if effort is not None), None)
    if "Effort" in widths and note is not None:
        console.print(Padding(Text(f"Effort: {printable(note)}", style="dim"), (0, 0, 0, INDENT)))
    said_more = len(shown) < len(items)
    if said_more:
        console.print(
            Text(
                f"  ... {len(items) - len(shown)} more: --verbose lists them all, "
                "-f json has every detail"
            )
        )
    isolate = next(((r, d) for r, d in items if r.action == "isolate"), None)
    if isolate is not None:
        console.print(
            Text(f"How to isolate (e.g. {printable(isolate[1].ip)}): ", style="bold")
            + Text(printable(isolate[0].detail, limit=900))
        )
    return said_more


def _effort_cell(action: str) -> Text:
    """The action's rough effort (remediation.yaml ``effort``), empty when not known."""
    effort = effort_of(action)
    return Text(printable(effort.label) if effort is not None else "", style="dim")


def _priority_widths(
    rows: Sequence[Mapping[str, Text]], width: int, *, effort: bool
) -> tuple[dict[str, int], int]:
    """The priority list's columns and the Reason's width. Addresses, devices and actions
    are never cut: the Device column gives way to the Reason, and when even then the Reason
    has too little room it goes under each row (the width returned is then the line's). The
    Effort column (with ``effort``) is shown only when the Reason keeps its room with it."""
    columns = ("#", "IP", "Device", "Action")
    if effort and any(row["Effort"].plain for row in rows):
        with_effort = fit_columns((*columns, "Effort"), rows, width, shrink=(), drop=())
        reason_width = width - INDENT - sum(with_effort.values()) - 2 * len(with_effort)
        if reason_width >= REASON_WIDTH:
            return {**with_effort, "Reason": reason_width}, reason_width
    widths = fit_columns(columns, rows, width - REASON_WIDTH - 2, shrink=(), drop=("Device",))
    reason_width = width - INDENT - sum(widths.values()) - 2 * len(widths)
    if reason_width >= REASON_WIDTH:
        return {**widths, "Reason": reason_width}, reason_width
    return widths, width - 2 * INDENT


def _priority_reason(remediation: Remediation, device: Device) -> str:
    """An item's reason on the priority list, ``"not binding you: "`` first when no measure
    binding the user asks for it (:func:`binds_nobody`)."""
    if binds_nobody(device, remediation):
        return f"{NOT_BINDING_YOU}: {remediation.reason}"
    return remediation.reason


def _fixes_own_vulnerability(remediation: Remediation, device: Device) -> bool:
    """Whether a patch item updates past a CVE the device is vulnerable to (its own, placed
    in the published range), not a check of a firmware that could not be placed."""
    vulnerable = _placed(device, conditional_cves(device))[0]
    return remediation.action == "patch" and any(v.cve in remediation.reason for v in vulnerable)


def _short_list(items: Sequence[tuple[Remediation, Device]]) -> list[tuple[Remediation, Device]]:
    """The short priority list (:data:`PRIORITY_ROWS` rows at most, in the whole list's
    order): the most urgent item of each kind of action there is, so that a kind is never
    hidden behind a page of another (a vulnerable device's patch behind five isolations:
    the patch that fixes a device's own CVE comes first among patches), then the most urgent
    of the rest, each device's action once."""
    first_of_kind: dict[str, int] = {}
    for index, (remediation, _) in enumerate(items):
        first_of_kind.setdefault(remediation.action, index)
    fixing = next((i for i, pair in enumerate(items) if _fixes_own_vulnerability(*pair)), None)
    if fixing is not None:
        first_of_kind["patch"] = fixing
    chosen = list(first_of_kind.values())[:PRIORITY_ROWS]
    taken = {(items[i][1].ip, items[i][0].action) for i in chosen}
    for index, (remediation, device) in enumerate(items):
        if len(chosen) >= PRIORITY_ROWS:
            break
        if (device.ip, remediation.action) not in taken:
            taken.add((device.ip, remediation.action))
            chosen.append(index)
    return [items[index] for index in sorted(chosen)]


def _render_posture_devices(devices: Sequence[Device], console: Console) -> None:
    for device in devices:
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
        conditions = conditional_cves(device)
        items = [
            Text.assemble(
                (printable(v.cve), "bold red" if v.kev else ""),
                f" {v.status}"
                f"{printable(f' only if {conditions[v.cve]}') if v.cve in conditions else ''}"
                f" (CVSS {v.cvss} {printable(v.severity)}"
                f"{' KEV' if v.kev else ''}"
                f"{printable(f', fixed in {v.fixed_in}') if v.fixed_in else ''})",
            )
            for v in device.vulnerabilities
        ]
        items += [
            Text.assemble((printable(e.kind), "yellow"), ": ", printable(e.detail))
            for e in device.exposure
        ]
        if items:
            console.print(_bullets(items))


def _posture_summary(device: Device) -> str:
    conditions = conditional_cves(device)
    confirmed, likely_ones, maybe = _placed(device, conditions)
    kev = sum(v.kev for v in confirmed)
    parts = [f"{len(confirmed)} vulnerable" + (f" ({kev} known exploited)" if kev else "")]
    likely = len(likely_ones)
    if likely:
        parts.append(f"{likely} likely")
    for condition, count in Counter(conditions[v.cve] for v in maybe).items():
        parts.append(f"{count} only if {condition}")
    unplaced = [v for v in device.vulnerabilities if v.status == "undetermined"]
    if unplaced:
        kev = sum(v.kev for v in unplaced)
        parts.append(f"{len(unplaced)} undetermined" + (f" ({kev} known exploited)" if kev else ""))
    if model_unchecked(device):
        # Never "0 vulnerable" about a device whose advisories listed by model were not checked.
        if not device.vulnerabilities:
            parts = ["vulnerabilities not checked: model unknown"]
        else:
            parts.append("those listed by model not checked: model unknown")
    parts.append(f"{len(device.exposure)} exposure" + ("s" if len(device.exposure) != 1 else ""))
    if device.remediation:
        parts.append(f"first: {device.remediation[0].action}")
    return "; ".join(parts)


# --- writing ---------------------------------------------------------------------------


def write_output(
    result: ScanResult,
    fmt: str,
    output: Path | None,
    console: Console,
    *,
    verbose: bool = False,
    title: str | None = None,
) -> None:
    """Render ``result`` as ``fmt`` (one of :data:`FORMATS`) to ``output`` or the console.

    ``verbose`` and ``title`` apply to the table (the machine formats always hold
    everything); its lines end without the spaces rich pads them with. A file is written
    with :func:`provscan.report.files.write_atomically` (a reader never sees half a report;
    a new file is private). Raises :class:`OutputError` when it cannot be.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "table":
        if output is None:
            with console.capture() as capture:
                render_table(result, console, verbose=verbose, title=title)
            # Read back with its styles, each line without its trailing padding.
            for line in Text.from_ansi(capture.get()).split("\n"):
                line.rstrip()
                console.print(line, soft_wrap=True, highlight=False)
            return
        buffer = io.StringIO()
        file_console = Console(file=buffer, width=FILE_TABLE_WIDTH, no_color=True)
        render_table(result, file_console, verbose=verbose, title=title)
        text = "".join(f"{line.rstrip()}\n" for line in buffer.getvalue().splitlines())
    elif fmt == "json":
        # Written as it is rendered, a device at a time (issue 14: memory with thousands).
        if output is None:
            for chunk in render_json_chunks(result):
                console.file.write(chunk)
            console.file.flush()
        else:
            write_atomically(
                output, (chunk.encode("utf-8") for chunk in render_json_chunks(result))
            )
        return
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
