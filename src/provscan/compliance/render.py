"""Rendering the inventory, the scan list, a diff and cases: table, JSON, CSV and XLSX.

The store hands out plain values (:mod:`provscan.store.views`, :mod:`provscan.store.cases`);
this module turns them into what people read (a rich table that fits 80 columns) and what
programs read (JSON documents documented in docs/inventory.md, CSV and XLSX with formula
injection guarded). Files are written atomically and never over an input.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from provscan.model import binding_policies
from provscan.report.files import guard_formula, write_atomically
from provscan.report.formats import fit_columns, print_columns
from provscan.report.wording import plural
from provscan.store.cases import RESTRICTED, Case, CaseDevice
from provscan.store.inventory import address_key, covers
from provscan.store.views import InventoryDevice, ScanDiff, ScanSummary

#: Version of the inventory, scans, diff and cases JSON documents (docs/inventory.md).
#: 1.1 (additive): inventory devices carry ``verdict``.
INVENTORY_SCHEMA_VERSION = "1.1"

INVENTORY_COLUMNS = (
    "device_id",
    "site",
    "status",
    "first_seen",
    "last_seen",
    "last_scan_id",
    "ip",
    "mac",
    "manufacturer",
    "brand",
    "model",
    "firmware",
    "serial",
    "device_type",
    "restricted",
    # As in the scan CSV: the policies whose measures restrict the device for the user, then
    # the others that name it (advice, context, or binding others).
    "policies",
    "other_policies",
    "case_id",
    "case_status",
    "case_due",
    "match_rule",
    # Last, as in the scan CSV: restricted, review, unknown or clear (filter on it, not on
    # restricted: an unknown device is not restricted either, and not cleared).
    "verdict",
)


def _json_bytes(document: Any) -> bytes:
    # orjson: the stdlib encoder falls back to pure Python with indent (2.5 s for 10k devices).
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def _json(document: Any) -> str:
    return _json_bytes(document).decode("utf-8")


def deliver_json(document: Any, output: Path | None, console: Console) -> None:
    """A JSON document to ``output`` (bytes straight to the file) or the console."""
    deliver(_json_bytes(document) if output is not None else _json(document), output, console)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _when_utc(moment: datetime | None) -> str:
    """:func:`_when` saying its zone, for a time outside a column headed "(UTC)"."""
    return f"{_when(moment)} UTC" if moment else "-"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def inventory_document(
    devices: Sequence[Any],
    scans: int,
    knowledge: dict[str, Any],
    policies: Sequence[str],
    generated_at: datetime | None = None,
    restricted: int | None = None,
    remaining: int | None = None,
) -> dict[str, Any]:
    """The inventory JSON document of device documents (``Store.inventory_documents``, or
    the JSON fragments of ``Store.inventory_fragments`` with their ``restricted`` count).
    ``remaining``: how many of them are restricted devices remaining (``Store.remaining``:
    not gone, restricted-maker case not verified; the report's headline), when known."""
    return {
        "schema_version": INVENTORY_SCHEMA_VERSION,
        "inventory": {
            "generated_at": (generated_at or datetime.now(UTC)).isoformat(),
            "scans": scans,
            "knowledge_version": knowledge.get("version"),
            "knowledge_as_of": knowledge.get("as_of"),
            "policies": list(policies),
            "devices": len(devices),
            "restricted": (
                restricted
                if restricted is not None
                else sum(bool(d["restricted"]) for d in devices)
            ),
            **({} if remaining is None else {"remaining": remaining}),
        },
        "devices": list(devices),
    }


def inventory_rows(devices: Iterable[dict[str, Any]]) -> list[list[str | int | None]]:
    """XLSX rows (columns :data:`INVENTORY_COLUMNS`) of device documents: whole numbers (the
    case number) stay numbers, so that a spreadsheet sorts and sums them; everything else is
    text as in the CSV (models and serials are text in the documents, however they look)."""
    rows: list[list[str | int | None]] = []
    for document in devices:
        case = document["case"] or {}
        restricting, others = _policy_columns(document["findings"])
        values = document | {
            "policies": ";".join(restricting),
            "other_policies": ";".join(others),
            "case_id": case.get("id"),
            "case_status": case.get("status"),
            "case_due": case.get("due"),
        }
        rows.append([_sheet_cell(values[column]) for column in INVENTORY_COLUMNS])
    return rows


def _policy_columns(findings: Iterable[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The policies that restrict the device for the user, and the other policies that name
    it (:func:`provscan.model.binding_policies`, which the alerts use too)."""
    return binding_policies(findings)


def _sheet_cell(value: object) -> str | int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _cell(value)


def inventory_csv_rows(devices: Iterable[dict[str, Any]]) -> list[list[str]]:
    """CSV rows (columns :data:`INVENTORY_COLUMNS`) of device documents."""
    return [[_cell(value) for value in row] for row in inventory_rows(devices)]


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([guard_formula(cell) for cell in row])
    return buffer.getvalue()


#: Rows read to size a sheet's columns.
_WIDTH_SAMPLE = 500


def xlsx_bytes(
    sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[object]]]],
    generated_at: datetime | None = None,
) -> bytes:
    """A workbook with one sheet per (title, header, rows), written row by row (openpyxl
    write-only mode: a 100,000-device sheet in a third of the time and memory of a normal
    workbook); bold frozen headers, columns sized from the first rows, text cells never run
    as formulas. The same sheets give the same bytes: the document properties state
    ``generated_at`` (the time the report states; a fixed epoch when it states none) and the
    zip entries a fixed time (:func:`provscan.screening.audit.workbook_bytes`)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from provscan.screening.audit import workbook_bytes

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title[:31])
        sample = [list(header), *rows[:_WIDTH_SAMPLE]]
        for index in range(len(header)):
            width = max(len(str(row[index] if index < len(row) else "") or "") for row in sample)
            sheet.column_dimensions[get_column_letter(index + 1)].width = min(max(width + 2, 8), 60)
        sheet.freeze_panes = "A2"
        heading = []
        for name in header:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            heading.append(cell)
        sheet.append(heading)
        for row in rows:
            sheet.append([guard_formula(v) if isinstance(v, str) else v for v in row])
    return workbook_bytes(workbook, generated_at)


def deliver(data: str | bytes, output: Path | None, console: Console) -> None:
    """Write to ``output`` atomically, or to the console's file untouched by rich."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if output is not None:
        write_atomically(output, raw)
        return
    if isinstance(data, bytes):
        raise ValueError("binary output needs --output")
    console.file.write(data)
    console.file.flush()


# --- tables ----------------------------------------------------------------------------


#: Columns whose values are never broken across lines (ids, addresses, states, dates).
_NO_WRAP = frozenset(
    {
        "Device",
        "Status",
        "IP",
        "Case",
        "Scan",
        "Due",
        "Started (UTC)",
        "Restr.",
        "Verdict",
        "Kind",
        "Devices",
        "Site",
    }
)


#: Columns cut with "…" rather than wrapped when space is short (the full value is in JSON).
_CUT = frozenset({"Targets", "Site"})


#: Widths kept whatever the terminal (ids, dates): the cut and wrapped columns give way.
_FIXED = {
    "Scan": 12,
    "Started (UTC)": 16,
    "Device": 16,
    "IP": 11,
    "Kind": 7,
    "Maker": 9,
}


def _table(*columns: str, title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False, box=None)
    for name in columns:
        if name in _CUT:
            table.add_column(name, overflow="ellipsis", no_wrap=True, min_width=6)
        else:
            table.add_column(
                name,
                overflow="fold",
                no_wrap=name in _NO_WRAP,
                min_width=_FIXED.get(name, len(name) if name in _NO_WRAP else None),
            )
    return table


_STATUS_STYLE = {"present": "green", "missing": "yellow", "gone": "dim"}
_STATUS_ORDER = {status: order for order, status in enumerate(_STATUS_STYLE)}
_CASE_STYLE = {"verified": "green", "open": "bold red"}


def _longest_word(cells: Iterable[Text]) -> int:
    """The widest word of ``cells``: a column wrapped between words is never narrower."""
    return max((len(word) for cell in cells for word in cell.plain.split()), default=1)


def _two_lines(cells: Iterable[Text]) -> int:
    """The narrowest width at which every cell wraps between words onto at most two lines
    (never below its widest word): a maker and its brand ("Hanwha Vision / Samsung") read as
    two lines, not three."""

    def narrowest(cell: Text) -> int:
        words = cell.plain.split()
        if len(words) < 2:
            return len(cell.plain)
        return min(
            max(len(" ".join(words[:cut])), len(" ".join(words[cut:])))
            for cut in range(1, len(words))
        )

    return max((narrowest(cell) for cell in cells), default=1)


def _fitted_table(
    columns: Sequence[str],
    rows: Sequence[dict[str, Text]],
    console: Console,
    *,
    shrink: Sequence[tuple[str, int]] = (),
    drop: Sequence[str] = (),
    wrapping: frozenset[str] = frozenset(),
    title: str | None = None,
) -> list[str]:
    """``rows`` fitted to the console like the scan table: identifiers keep their natural
    width and are never broken; the ``wrapping`` columns wrap between words; the ``drop``
    columns are left out when narrowing is not enough. Returns the columns left out."""
    widths = fit_columns(columns, rows, console.width, shrink=shrink, drop=drop, indent=0)
    if title:
        console.print(Text(title, style="bold"))
    print_columns(rows, widths, console, header=True, wrapping=wrapping, indent=0)
    return [name for name in columns if name not in widths]


def _left_out(names: Sequence[str], where: str, console: Console) -> None:
    if names:
        words = ["device ids" if name == "Device" else name.lower() for name in names]
        listed = " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 2 else words)
        console.print(f"({listed} left out at this width: {where})", style="dim", highlight=False)


#: The Verdict column: the words scan, screen and the CSV's ``verdict`` use (a newcomer
#: found "yes"/"no" here, and an unknown device is not "no": nothing cleared it).
_RESTRICTED_WORDS = {
    "restricted": ("restricted", "bold red"),
    "review": ("review", "yellow"),
    "unknown": ("unknown", "yellow"),
    "clear": ("clear", ""),
}


def _restricted_cell(
    restricted: bool, manufacturer: str | None, verdict: str | None = None
) -> Text:
    """The Verdict cell: the device's verdict when it has one (contract 1.4, the inventory),
    else what its fields say (a maker-less device is unknown)."""
    word, style = _RESTRICTED_WORDS[_verdict(restricted, manufacturer, verdict)]
    return Text(word, style=style)


def _verdict(restricted: bool, manufacturer: str | None, verdict: str | None) -> str:
    """The device's verdict, or what its fields say when it has none."""
    if verdict in _RESTRICTED_WORDS:
        return verdict
    return "restricted" if restricted else "unknown" if manufacturer is None else "clear"


def _remaining_note(restricted: int, remaining: int | None, unaccounted: int = 0) -> str:
    """`` (N remaining)`` when some restricted devices no longer count (docs/reports.md), and
    how many of those are unaccounted for (gone with no removal recorded)."""
    if remaining is None or remaining == restricted:
        return ""
    lost = f", {unaccounted} of them unaccounted for: no removal recorded" if unaccounted else ""
    return f" ({remaining} remaining; {restricted - remaining} gone or verified removed{lost})"


#: A restricted-maker case's statuses that account for a device no longer seen.
_ACCOUNTED = frozenset({"removed", "replaced", "verified"})


def unaccounted_for(device: InventoryDevice) -> bool:
    """A restricted device gone from the inventory whose restricted-maker case records no
    removal (neither removed, replaced nor verified), or that has no case: the compliance
    report's *unaccounted for* (docs/reports.md). ``device.case`` is its active
    restricted-maker case when it has one; else its active case due first, else its last
    verified one: a device whose case shown is of another subject has none open."""
    if not device.restricted or device.status != "gone":
        return False
    case = device.case
    if case is None:
        return True
    return case.subject == RESTRICTED and case.status not in _ACCOUNTED


def newest_scans(scans: Iterable[ScanSummary]) -> dict[str | None, list[ScanSummary]]:
    """site -> the scans of that site, the one that started last first (any kind, complete
    or not)."""
    by_site: dict[str | None, list[ScanSummary]] = {}
    for scan in scans:
        by_site.setdefault(scan.site, []).append(scan)
    for site_scans in by_site.values():
        site_scans.sort(key=lambda scan: scan.started_at, reverse=True)
    return by_site


def looked_at(scan: ScanSummary, device: InventoryDevice) -> bool:
    """Whether ``scan`` looked at the device's address: a scan of address ranges only at
    those it set out to probe (a scan of one camera does not look at the rest of its
    site); a capture, a discovery or an import at whatever it heard (it names no range)."""
    if not scan.coverage:
        return True
    return covers(scan.coverage, address_key(device.ip))


def not_in_newest(
    device: InventoryDevice, newest: Mapping[str | None, Sequence[ScanSummary]]
) -> ScanSummary | None:
    """The newest scan of the device's site that looked at its address (:func:`looked_at`)
    when the device is not in it (its last sighting is older), else None. Being left out of
    a scan is no proof of absence (a capture covers no address): the status says that
    (docs/inventory.md, Status)."""
    for scan in newest.get(device.site, ()):
        if device.last_seen >= scan.started_at:
            return None  # seen by this scan or a later one
        if looked_at(scan, device):
            return scan
    return None


def _date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


#: How many devices the diff names of those it does not count as removed (then "… and N
#: more"; all of them are in its JSON).
LISTED = 10


def _site_dates(scans: Iterable[ScanSummary]) -> str:
    """``hq: 2026-01-12; lab: 2026-01-10`` (the date alone when only scans without a site)."""
    by_site = {scan.site: scan for scan in scans}
    if list(by_site) == [None]:
        return _date(by_site[None].started_at)
    return "; ".join(
        f"{'no site' if site is None else site}: {_date(scan.started_at)}"
        for site, scan in sorted(by_site.items(), key=lambda item: item[0] or "")
    )


def inventory_table(
    devices: Sequence[InventoryDevice],
    console: Console,
    remaining: int | None = None,
    scans: Sequence[ScanSummary] = (),
) -> None:
    """The devices, one table per site (one table when no scan named a site). ``remaining``:
    how many of them are restricted devices remaining (``Store.remaining``), said after the
    restricted count when some restricted device no longer counts (gone, or its case
    verified). ``scans``: the stored scans; a device not in the newest of its site's is
    marked ``*`` after its last-seen date (after its address where the dates do not fit),
    and a note after the tables says what that does and does not mean."""
    verdicts = Counter(_verdict(d.restricted, d.manufacturer, d.verdict) for d in devices)
    statuses = Counter(d.status for d in devices)
    present = statuses.get("present", 0)
    counted = ", ".join(
        f"{statuses[status]} {status}"
        for status in sorted(statuses, key=lambda name: (_STATUS_ORDER.get(name, 3), name))
    )
    # The verdicts as the scan table counts them: a device to review or unknown is not clear.
    restricted = f"{verdicts['restricted']} restricted" + _remaining_note(
        verdicts["restricted"], remaining, sum(map(unaccounted_for, devices))
    )
    console.print(
        f"{plural(len(devices), 'device')} "
        f"({counted if present != len(devices) else f'{present} present'})"
        f": {restricted}, {verdicts['review']} to review, "
        f"{verdicts['unknown']} unknown, {verdicts['clear']} clear",
        highlight=False,
    )
    newest = newest_scans(scans)
    # A site whose newest scan was cut short (Ctrl-C, a damaged capture): one line each.
    cut_short = {site: kept[0] for site, kept in newest.items() if not kept[0].complete}
    for site in sorted({d.site for d in devices if d.site in cut_short}, key=lambda s: s or ""):
        cut = cut_short[site]
        console.print(
            f"note: the newest scan of {f'site {site}' if site else 'the default site'} "
            f"({cut.id[:12]}, {cut.started_at:%Y-%m-%d %H:%M}) is incomplete: it shows no "
            "device missing and verifies no removal",
            highlight=False,
            markup=False,
        )
    absent = {d.device_id: scan for d in devices if (scan := not_in_newest(d, newest))}
    by_site: dict[str | None, list[InventoryDevice]] = {}
    for device in devices:
        by_site.setdefault(device.site, []).append(device)
    left_out: list[str] = []
    # One layout for every site's table (a review found one site with Last seen and the
    # next without): the columns are chosen on all the devices, then each table is drawn.
    # A status every device shares (the line above counts it) gives way first, then the
    # device ids, so that a maker and its brand stay on one line (a newcomer found
    # "Hikvision /" and "Interlogix" on two at 80 columns). Then the last-seen dates: a
    # device's mark moves next to its address ("10.0.0.29 *"). Only when that is not
    # enough do makers wrap, between words; models and addresses never break.
    columns: tuple[str, ...] = _INVENTORY_COLUMNS
    every = [_inventory_row(d, d.device_id in absent) for d in devices]
    uniform = ("Status",) if len(set(statuses)) == 1 else ()
    shrink: tuple[tuple[str, int], ...] = ()
    drop: tuple[str, ...] = (*uniform, "Device")
    dated = _fits(columns, every, console.width, drop=drop)
    if not dated:
        columns = tuple(name for name in columns if name != "Last seen")
        every = [_inventory_row(d, d.device_id in absent, dated=False) for d in devices]
        left_out.append("Last seen")
        if not _fits(columns, every, console.width, drop=drop):
            # Makers must wrap: the shared status goes first (it would keep its room
            # while a maker wraps), and a maker takes two lines at most.
            columns = tuple(name for name in columns if name not in uniform)
            left_out += uniform
            shrink = (("Maker", _two_lines(row["Maker"] for row in every)),)
            drop = ("Device",)
    kept = tuple(fit_columns(columns, every, console.width, shrink=shrink, drop=drop, indent=0))
    left_out += [name for name in columns if name not in kept]
    for site, members in by_site.items():
        title = None
        if len(by_site) > 1 or site is not None:
            title = f"Site {site or '(none)'}: {plural(len(members), 'device')}"
        rows = [_inventory_row(d, d.device_id in absent, dated=dated) for d in members]
        left_out += _fitted_table(
            kept,
            rows,
            console,
            shrink=shrink,
            wrapping=frozenset({"Maker"}),
            title=title,
        )
    _left_out(list(dict.fromkeys(left_out)), "see -f json", console)
    if absent:
        _not_in_newest(
            [d for d in devices if d.device_id in absent], list(absent.values()), console
        )
    if any(_more_cases(d) for d in devices):
        console.print(
            "(#N +M: M more open cases of the device; provscan cases list --device ID)",
            style="dim",
            highlight=False,
        )


def _not_in_newest(
    devices: Sequence[InventoryDevice], scans: Sequence[ScanSummary], console: Console
) -> None:
    """The note on the devices the newest scan of their site did not see (marked ``*``):
    what the mark says, and that it is no proof of absence (docs/inventory.md, Status)."""
    console.print(
        f"* {plural(len(devices), 'device')} not in the newest scan of "
        f"{'its' if len(devices) == 1 else 'their'} site that looked at "
        f"{'its' if len(devices) == 1 else 'their'} address ({_site_dates(scans)}). "
        "Not proof of absence: only a complete scan covering a device's address counts it "
        "missing, and captures, discovery and imports cover no address.",
        highlight=False,
    )


def _more_cases(d: InventoryDevice) -> int:
    """The device's open cases besides the one the Case column names."""
    return d.open_cases - (d.case is not None and d.case.status != "verified")


def _fits(
    columns: Sequence[str], rows: Sequence[dict[str, Text]], width: int, drop: Sequence[str]
) -> bool:
    """Whether ``rows`` fit ``width`` at their natural widths, leaving out ``drop`` columns
    (in that order) as far as needed."""
    return _fit(columns, rows, width, (), drop)


def _fit(
    columns: Sequence[str],
    rows: Sequence[dict[str, Text]],
    width: int,
    shrink: Sequence[tuple[str, int]],
    drop: Sequence[str],
) -> bool:
    """Whether ``rows`` fit ``width`` narrowed by ``shrink`` and without ``drop`` columns as
    far as needed (:func:`~provscan.report.formats.fit_columns`)."""
    widths = fit_columns(columns, rows, width, shrink=shrink, drop=drop, indent=0)
    return sum(widths.values()) + 2 * (len(widths) - 1) <= width


_INVENTORY_COLUMNS = (
    "Device",
    "Status",
    "IP",
    "Maker",
    "Model",
    "Verdict",
    "Case",
    "Last seen",
)


def maker_label(manufacturer: str | None, brand: str | None) -> str:
    """``"Hikvision / Annke"``: the maker, then the brand on the label when it is another
    (a relabel); ``"unknown"`` when nothing named the maker. The Maker cell of the inventory,
    the diff and the cases tables."""
    maker = manufacturer or "unknown"
    if brand and brand != manufacturer:
        return f"{maker} / {brand}"
    return maker


def _inventory_row(
    d: InventoryDevice, not_in_newest: bool = False, *, dated: bool = True
) -> dict[str, Text]:
    """A device's cells. ``not_in_newest``: marked ``*``, after its last-seen date, or after
    its address when the dates are left out (``dated`` false)."""
    maker = maker_label(d.manufacturer, d.brand)
    case = "-"
    if d.case:
        overdue = d.case.status != "verified" and (d.case.due or "9") < _today()
        case = f"#{d.case.id} {'overdue' if overdue else d.case.status}"
    # the device's other open cases (a vulnerability beside the maker) are counted
    if _more_cases(d) > 0:
        case += f" +{_more_cases(d)}"
    return {
        "Device": Text(d.device_id),
        "Status": Text(d.status, style=_STATUS_STYLE.get(d.status, "")),
        "IP": (
            Text(d.ip) + Text(" *", style="yellow") if not_in_newest and not dated else Text(d.ip)
        ),
        "Maker": Text(maker),
        "Model": Text(d.model or "-"),
        "Verdict": _restricted_cell(d.restricted, d.manufacturer, d.verdict),
        "Case": Text(case),
        # the date (UTC) of the newest sighting; "*": not in the newest scan of its site
        "Last seen": (
            Text(f"{_date(d.last_seen)} *", style="yellow")
            if not_in_newest
            else Text(_date(d.last_seen))
        ),
    }


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


#: Characters of a scan id shown in tables (commands accept any unique prefix of six or more).
SHOWN_ID = 12


def scans_table(scans: Sequence[ScanSummary], console: Console) -> None:
    if not scans:
        console.print("no scans stored")
        return
    sites = any(scan.site for scan in scans)
    columns = ["Scan", "Kind", "Site", "Started (UTC)", "Devices", "Restr.", "Targets"]
    if not sites:
        columns.remove("Site")
    # Ids are shown as their first 12 characters: every command takes a unique prefix.
    table = _table(*columns)
    rows: list[list[str]] = []
    for scan in scans:
        kind = scan.kind if scan.complete else f"{scan.kind}*"
        cells = [scan.id[:SHOWN_ID], kind]
        if sites:
            cells.append(scan.site or "-")
        cells += [_when(scan.started_at), str(scan.devices), str(scan.restricted)]
        rows.append(cells)
    # What is left of the width once the other columns are laid out (two spaces between
    # columns): the targets shown whole as far as they fit, the rest counted ("+2"), never
    # an address cut in the middle; one target wider than that is cut with "…".
    others = [
        max(len(name), _FIXED.get(name, 0), 6 if name in _CUT else 0, *(len(r[i]) for r in rows))
        for i, name in enumerate(columns[:-1])
    ]
    room = console.width - sum(others) - 2 * len(others)
    # A long site name gives way (cut with "…", down to 6) to leave the targets some room:
    # a table wider than the console would be narrowed evenly, and "active*" would lose the
    # "*" that marks an incomplete scan.
    if sites:
        at = columns.index("Site")
        wanted = min(18, max(len(", ".join(scan.targets)) for scan in scans))
        narrower = max(6, min(others[at], others[at] + room - wanted))
        room += others[at] - narrower
        others[at] = narrower
        table.columns[at].max_width = narrower
    table.columns[1].min_width = others[1]  # Kind, with its "*"
    for scan, cells in zip(scans, rows, strict=True):
        table.add_row(*cells, Text(_targets_cell(scan.targets, room)))
    console.print(table)
    if any(not scan.complete for scan in scans):
        console.print("* incomplete (interrupted or cut short): proves no absence")
    console.print(
        f"(ids: their first {SHOWN_ID} characters; any unique prefix of 6+ is accepted)",
        style="dim",
        highlight=False,
    )


def _targets_cell(targets: Sequence[str], room: int) -> str:
    """As many of ``targets`` as fit in ``room`` characters, each whole, then how many more
    ("127.77.1.0/24 +2"); at least the first, the count on a line of its own when the two
    do not fit on one."""
    for shown in range(len(targets), 0, -1):
        more = len(targets) - shown
        text = ", ".join(targets[:shown]) + (f" +{more}" if more else "")
        if len(text) <= room:
            return text
    if not targets:
        return "-"
    first = targets[0] if len(targets[0]) <= room else targets[0][: max(room - 1, 1)] + "…"
    more = len(targets) - 1
    return first + (f"\n+{more} more" if more and room >= 7 else f"\n+{more}" if more else "")


def diff_table(result: ScanDiff, console: Console) -> None:
    """The differences between two scans, fitted to the console like the inventory: ids,
    addresses, models and CVE ids are never broken; each change has a line of its own."""
    parts = (
        f"{result.old.id} ({_when_utc(result.old.started_at)}) ->",
        f"{result.new.id} ({_when_utc(result.new.started_at)}):",
        f"{len(result.added)} added, {len(result.removed)} removed, {len(result.changed)} changed",
    )
    # one line when it fits, else a line each: never a scan id cut or a count left alone
    header = " ".join(parts)
    for line in [header] if len(header) <= console.width else parts:
        console.print(line, highlight=False, no_wrap=True, overflow="ignore")
    left_out: list[str] = []
    for title, items, style in (
        ("Added", result.added, "green"),
        ("Removed", result.removed, "red"),
    ):
        if items:
            left_out += _diff_devices(items, style, console, title)
    if result.changed:
        rows = [
            {
                "Device": Text(item["device_id"]),
                "IP": Text(item["device"]["ip"] or "-"),
                # one change a line; a list (CVE ids) wraps between its items, never inside one
                "Change": Text(
                    "\n".join(
                        f"{name}: {_listed(old)} -> {_listed(new)}"
                        for name, (old, new) in item["changes"].items()
                    )
                ),
            }
            for item in result.changed
        ]
        left_out += _fitted_table(
            ("Device", "IP", "Change"),
            rows,
            console,
            shrink=(("Change", max(_longest_word(row["Change"] for row in rows), 30)),),
            drop=("Device",),
            wrapping=frozenset({"Change"}),
            title="Changed",
        )
    if result.not_covered:
        # named, not only counted: a device a capture no longer heard is worth a look
        count = len(result.not_covered)
        why = ""
        if not (result.old.covering and result.new.covering):
            why = " (captures, discovery, imports and incomplete scans cover no address)"
        left_out += _diff_devices(
            result.not_covered[:LISTED],
            "",
            console,
            f"Not counted as removed: {plural(count, 'device')} of the old scan not in the "
            f"new one, outside what both scans covered{why}",
        )
        if count > LISTED:
            console.print(
                f"… and {count - LISTED} more (every one: -f json, not_covered)",
                highlight=False,
            )
    _left_out(list(dict.fromkeys(left_out)), "see -f json", console)
    if result.not_read:
        fields = sorted({name for item in result.not_read for name in item["fields"]})
        console.print(
            f"{len(result.not_read)} device(s) seen by the new scan without values the old "
            f"one read ({', '.join(fields)}): not read, not counted as changes",
            highlight=False,
        )


def _diff_devices(
    items: Sequence[dict[str, Any]], style: str, console: Console, title: str
) -> list[str]:
    """A table of diff devices (address, maker, model, verdict; their ids when they fit):
    the columns left out."""
    rows = [
        {
            "Device": Text(item["device_id"], style=style),
            "IP": Text(item["ip"] or "-", style=style),
            # a relabel reads "Hikvision / Annke", as in the inventory
            "Maker": Text(maker_label(item.get("manufacturer"), item.get("brand")), style=style),
            "Model": Text(item.get("model") or "-", style=style),
            "Verdict": _restricted_cell(
                bool(item.get("restricted")), item.get("manufacturer"), item.get("verdict")
            ),
        }
        for item in items
    ]
    columns = ("Device", "IP", "Maker", "Model", "Verdict")
    # as in the inventory: the device ids give way before a maker and its brand wrap
    shrink: tuple[tuple[str, int], ...] = ()
    if not _fits(columns, rows, console.width, drop=("Device",)):
        shrink = (("Maker", _two_lines(row["Maker"] for row in rows)),)
    return _fitted_table(
        columns,
        rows,
        console,
        shrink=shrink,
        drop=("Device",),
        wrapping=frozenset({"Maker"}),
        title=title,
    )


def _listed(value: object) -> str:
    """A changed value in the diff table: a list's items apart, so that it wraps between them."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return _short(value)


def _short(value: object) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "none"
    return "none" if value is None else str(value)


_CASE_COLUMNS = ("Case", "Status", "Device", "IP", "Site", "Maker", "Subject", "Owner", "Due")


def no_cases(status: str | None = None, device_id: str | None = None, overdue: bool = False) -> str:
    """What ``cases list`` says when no case matches its filters, naming them: ``no overdue
    cases``, ``no verified cases of device dev-1``, ``no active overdue cases``."""
    kinds = [word for word in (status, "overdue" if overdue else None) if word]
    said = " ".join(["no", *kinds, "cases"])
    return said + (f" of device {device_id}" if device_id else "")


def cases_table(
    cases: Sequence[Case],
    console: Console,
    devices: Mapping[str, CaseDevice] | None = None,
    *,
    empty: str = "no cases",
) -> None:
    """The cases, fitted to the console; ``devices`` gives each case's device: its address,
    site, maker and brand. The number, status and address are never cut or left out. A
    verified case shows no due date (it is closed: nothing is due). ``empty``: what to say
    when there is no case (:func:`no_cases` names the filters)."""
    if not cases:
        console.print(empty, highlight=False)
        return
    devices = devices or {}
    active = [c for c in cases if c.status != "verified"]
    overdue = sum(c.overdue for c in cases)
    sites = {device.site for c in cases if (device := devices.get(c.device_id)) is not None}
    # one site for every case is said once, above the table (the inventory titles its
    # tables by site); the column then gives way first
    (only_site,) = sites if len(sites) == 1 else (None,)
    console.print(
        f"{plural(len(cases), 'case')}"
        + (f" at site {only_site}" if only_site is not None else "")
        + f": {len(active)} active, {overdue} overdue, {len(cases) - len(active)} verified",
        highlight=False,
    )
    rows = []
    for case in cases:
        device = devices.get(case.device_id)
        rows.append(
            {
                "Case": Text(f"#{case.id}"),
                "Status": Text(case.status, style=_CASE_STYLE.get(case.status, "yellow")),
                "Device": Text(case.device_id),
                "IP": Text(device.ip if device else "-"),
                "Site": Text((device.site if device else None) or "-"),
                "Maker": Text(maker_label(device.manufacturer, device.brand) if device else "-"),
                "Subject": Text(case.subject),
                "Owner": Text(case.owner or "-"),
                # a closed case is due nothing
                "Due": Text(
                    (case.due if case.status != "verified" else None) or "-",
                    style="bold red" if case.overdue else "",
                ),
            }
        )
    # The number, status and address stay whole: first the device ids (and a site said
    # above) give way, then a maker and its brand, an owner and a site wrap between words,
    # then the sites go, then an owner and a site are folded inside a word, then the owner
    # goes. A maker is never folded: the label brands go next (the maker alone), and last
    # the makers, whole (`cases show N` has them all).
    columns = [name for name in _CASE_COLUMNS if name != "Site" or sites - {None}]
    wrapping = ("Maker", "Owner", "Site")

    def words_of(shown: list[dict[str, Text]]) -> list[tuple[str, int]]:
        return [
            (name, max(_longest_word(row[name] for row in shown), len(name))) for name in wrapping
        ]

    words = words_of(rows)
    # inside a word: an owner first, then a site; never a maker
    folded = [*words, ("Owner", len("Owner")), ("Site", len("Site"))]
    # sites that differ are worth more than a maker on one line: they go after the wrapping
    first = ("Site", "Device") if only_site is not None else ("Device",)
    drop = ("Site", "Device") if only_site is not None else ("Device", "Site")
    # the makers without their label brands (a relabel's "Hikvision / Interlogix" as
    # "Hikvision"), when a brand is what does not fit whole
    makers_only = [
        row | {"Maker": Text((device.manufacturer or "unknown") if device else "-")}
        for row, device in zip(rows, (devices.get(c.device_id) for c in cases), strict=True)
    ]
    relabels = any(
        a["Maker"].plain != b["Maker"].plain for a, b in zip(rows, makers_only, strict=True)
    )
    # a long subject breaks after its kind ("vulnerability:" over "CVE-2021-36260"), never
    # inside the id: so that sites that differ keep their column at 100 columns (two cases
    # at one address at two sites look alike without it)
    split, split_makers = _split_subjects(rows), _split_subjects(makers_only)
    split_words, maker_words = words_of(split), words_of(makers_only)
    split_maker_words = words_of(split_makers)
    # at each step, the subjects whole first, then broken after their kind
    tiers: list[tuple[list[dict[str, Text]], list[tuple[str, int]], tuple[str, ...]]] = [
        (rows, [], first),
        (rows, words, first),
        (split, split_words, first),
        (rows, words, drop),
        (split, split_words, drop),
        (rows, folded, drop),
        (rows, words, (*drop, "Owner")),
        (split, split_words, (*drop, "Owner")),
        (makers_only, maker_words, (*drop, "Owner")),
        (split_makers, split_maker_words, (*drop, "Owner")),
        (makers_only, maker_words, (*drop, "Owner", "Maker")),
        (split_makers, split_maker_words, (*drop, "Owner", "Maker")),
    ]
    shown, shrink, dropped = next(
        (
            (shown, shrink, dropped)
            for shown, shrink, dropped in tiers
            if _fit(columns, shown, console.width, shrink, dropped)
        ),
        tiers[-1],
    )
    left_out = _fitted_table(
        columns, shown, console, shrink=shrink, drop=dropped, wrapping=frozenset(wrapping)
    )
    if (shown is makers_only or shown is split_makers) and relabels and "Maker" not in left_out:
        left_out.append("Brands")
    # a site every case shares is said above, not left out
    shown_above = ["Site"] if only_site is not None else []
    _left_out(
        [name for name in left_out if name not in shown_above],
        "see `cases show N` or -f json",
        console,
    )


def _split_subjects(rows: Sequence[dict[str, Text]]) -> list[dict[str, Text]]:
    """``rows`` with each subject that names a kind and an id on two lines, the kind's
    ``vulnerability:`` above its ``CVE-…`` (a table cell is never broken inside an id)."""
    split = []
    for row in rows:
        kind, colon, rest = row["Subject"].plain.partition(":")
        subject = Text(f"{kind}:\n{rest}") if colon and rest else row["Subject"]
        split.append(row | {"Subject": subject})
    return split


def case_json(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "device_id": case.device_id,
        "subject": case.subject,
        "reason": case.reason,
        "status": case.status,
        "owner": case.owner,
        "due": case.due,
        "overdue": case.overdue,
        "opened_at": case.opened_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "history": [
            {
                "at": event.at.isoformat(),
                "actor": event.actor,
                "action": event.action,
                "changes": event.changes,
                "note": event.note,
                "scan_id": event.scan_id,
            }
            for event in case.events
        ],
    }


def case_detail(case: Case, device: InventoryDevice | None, console: Console) -> None:
    """A case and its audit trail; long values and history entries wrap between words,
    each continuation line under its own entry's text (a hanging indent), never back at
    the left edge."""
    console.print(f"Case #{case.id}: {case.subject} ({case.status})", style="bold", highlight=False)
    where = (
        " ".join(
            (device.ip, maker_label(device.manufacturer, device.brand), device.model or "")
        ).strip()
        if device
        else ""
    )
    for label, value in (
        ("device", f"{case.device_id} {where}".strip()),
        ("reason", case.reason),
        ("owner", case.owner or "-"),
        (
            "due",
            # a closed case is due nothing (the date it had is in its history)
            "- (closed)"
            if case.status == "verified"
            else (case.due or "-") + (" (overdue)" if case.overdue else ""),
        ),
        ("opened", _when_utc(case.opened_at)),
    ):
        _hanging(console, f"  {label:<7} ", Text(value))
    console.print("  history:")
    for event in case.events:
        changes = ", ".join(
            f"{k} {_short(a)} -> {_short(b)}" for k, (a, b) in event.changes.items()
        )
        text = f"{event.actor}: {event.action}"
        if changes:
            text += f" ({changes})"
        if event.note:
            text += f" - {event.note}"
        if event.scan_id:
            text += f" [scan {event.scan_id}]"
        _hanging(console, f"    {_when_utc(event.at)}  ", Text(text))


def _hanging(console: Console, prefix: str, body: Text) -> None:
    """``prefix`` then ``body`` wrapped between words to the console's width, each
    continuation line under the body's first character."""
    grid = Table.grid()
    grid.add_column(width=len(prefix), no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(prefix, body)
    console.print(grid)


def json_text(document: Any) -> str:
    return _json(document)
