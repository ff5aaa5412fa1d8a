"""What a screened list's outputs carry besides its rows, so that an auditor can check them:
the measures the rows cite (title, citation, official link) and the audit context (provscan's
version, the knowledge version and as-of date, when, for whom, which file and its sha256).

The CSV and XLSX get a ``measures`` column (:func:`measures_text`: each measure a row rests
on, quotable); the XLSX also two sheets (:func:`add_audit_sheets`); the JSON the summary's
audit fields and a ``measures`` list; the HTML and PDF all of it (``provscan.compliance``).
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provscan import __version__
from provscan.knowledge.schema import Policy
from provscan.model import RESTRICTING_FINDING_EFFECTS
from provscan.screening.verdict import ScreenFinding, ScreenMeasure, ScreenRow, ScreenSummary

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

#: Between two measures in a ``measures`` cell (a title may hold ";" and ",", never this).
MEASURE_SEPARATOR = " | "
#: The sheets added to an XLSX output; a name the workbook has already gets " (2)", " (3)"...
AUDIT_SHEET = "provscan screening"
MEASURES_SHEET = "provscan measures"


def _restricts_if_so(finding: ScreenFinding) -> bool:
    """A restricting effect from a measure that binds whom the row is judged for."""
    return finding.effect in RESTRICTING_FINDING_EFFECTS and finding.binding is not False


def row_measures(row: ScreenRow) -> list[ScreenFinding]:
    """The findings a row's verdict rests on, once per measure: for a restricted row, the
    measures of the policies its ``policies`` column cites; for a row to review, those that
    would restrict it once a person confirms the maker, or once a condition the row leaves
    open holds (a sensitive site). None for a clear or unknown row (its reason says which
    measures name it without restricting it)."""
    if row.status not in ("restricted", "review"):
        return []
    cited = set(row.cited_policies)
    found: dict[tuple[str, str], ScreenFinding] = {}
    for finding in row.findings:
        outright = finding.restricts and finding.policy in cited
        conditional = finding.condition is not None and _restricts_if_so(finding)
        if (outright or (row.status == "review" and conditional)) and (
            key := (finding.policy, finding.measure)
        ) not in found:
            found[key] = finding
    return list(found.values())


def measure_label(finding: ScreenFinding) -> str:
    """``"us: NDAA FY2019 s.889(a)(1)(A): federal procurement ban"``, and ``" (only if ...)"``
    when the measure restricts the row only on a condition the row leaves open."""
    label = f"{finding.policy}: {finding.measure}"
    return f"{label} (only if {finding.condition})" if finding.condition else label


def measures_text(row: ScreenRow) -> str:
    """The ``measures`` cell: each measure the row's verdict rests on (:func:`row_measures`),
    by policy and title, joined by " | "; the XLSX's measures sheet and the JSON give each
    one's citation and official link."""
    return MEASURE_SEPARATOR.join(measure_label(finding) for finding in row_measures(row))


@dataclass
class _Tally:
    finding: ScreenFinding
    restricting: bool
    conditions: dict[str, None]
    restricts_rows: int = 0
    rows: int = 0


def cited_measures(rows: Sequence[ScreenRow], policies: Iterable[Policy]) -> list[ScreenMeasure]:
    """Every measure the rows name, once, numbered: those that restrict some row (outright or
    on a condition) first, then those that bind others, then advice and context; in each
    group in the order of first mention. ``policies``: where ids and links are found."""
    by_title = {
        (policy.id, measure.title): measure for policy in policies for measure in policy.measures
    }
    tallies: dict[tuple[str, str], _Tally] = {}
    for row in rows:
        outright = (
            {(f.policy, f.measure) for f in row_measures(row) if f.condition is None}
            if row.status == "restricted"
            else set()
        )
        named: set[tuple[str, str]] = set()
        for finding in row.findings:
            key = (finding.policy, finding.measure)
            tally = tallies.get(key)
            if tally is None:
                tally = tallies[key] = _Tally(finding, _restricts_if_so(finding), {})
            if finding.condition and _restricts_if_so(finding):
                tally.conditions[finding.condition] = None
            if key not in named:  # a finding per family: a row is counted once
                named.add(key)
                tally.rows += 1
                tally.restricts_rows += key in outright
    order = sorted(
        tallies.values(),
        key=lambda t: (
            not t.restricting,
            t.finding.effect not in RESTRICTING_FINDING_EFFECTS,
        ),
    )
    measures = []
    for number, tally in enumerate(order, start=1):
        finding = tally.finding
        known = by_title.get((finding.policy, finding.measure))
        measures.append(
            ScreenMeasure(
                number=number,
                policy=finding.policy,
                jurisdiction=finding.jurisdiction,
                id=known.id if known is not None else None,
                title=finding.measure,
                effect=finding.effect,
                effective=finding.effective,
                citation=finding.citation,
                link=known.link if known is not None else None,
                scope_note=finding.scope_note,
                binding=finding.binding,
                conditions=list(tally.conditions),
                restricts_rows=tally.restricts_rows,
                rows=tally.rows,
            )
        )
    return measures


#: What a row's finding in the JSON leaves to the document's ``measures`` list: the measure's
#: citation (an empty string in the row) and its scope note (left out of the row).
_FINDING_TEXT_IN_MEASURES = {"scope_note"}


def _finding_reference(finding: ScreenFinding) -> ScreenFinding:
    """The finding as a JSON row carries it: what identifies it (policy, measure, effect,
    binding, condition, and the jurisdiction, date and family), its citation left to the
    document's ``measures`` list (found there by policy and title)."""
    return finding.model_copy(update={"citation": "", "scope_note": ""})


def screen_document_json(
    rows: Sequence[ScreenRow], summary: ScreenSummary, measures: Sequence[ScreenMeasure]
) -> bytes:
    """``provscan screen -f json``: a :class:`~provscan.screening.verdict.ScreenDocument`
    whose rows refer to the measures instead of repeating their text.

    Each finding of a row keeps what identifies it (``policy``, ``measure``, ``effect``,
    ``binding``, ``condition``, ``jurisdiction``, ``effective``, ``family``); its ``citation`` is
    an empty string and its ``scope_note`` is left out: the measure's entry in ``measures``
    (same ``policy``, ``title`` = the finding's ``measure``) carries the citation, the scope
    note and the official link once. Every row used to repeat each measure's full text (13.5 KB a row:
    a 5,000-row list gave 47 to 70 MB of JSON). The document still reads as a
    ``ScreenDocument``; ``provscan lookup -f json`` and the web API keep the full findings."""
    from provscan.screening.verdict import ScreenDocument

    # Rows of a product listed again share their first row's findings list: each list is
    # rewritten once.
    rewritten: dict[int, list[ScreenFinding]] = {}
    shown: dict[int, ScreenFinding] = {}  # by id: rows share their findings' objects
    slim: list[ScreenRow] = []
    for row in rows:
        findings = rewritten.get(id(row.findings))
        if findings is None:
            findings = []
            for finding in row.findings:
                if id(finding) not in shown:
                    shown[id(finding)] = _finding_reference(finding)
                findings.append(shown[id(finding)])
            rewritten[id(row.findings)] = findings
        slim.append(
            ScreenRow.model_construct(
                row.model_fields_set, **{**row.__dict__, "findings": findings}
            )
        )
    document = ScreenDocument.model_construct(rows=slim, summary=summary, measures=list(measures))
    # UTF-8 bytes straight from the serializer: no str copy to encode again
    payload = ScreenDocument.__pydantic_serializer__.to_json(
        document,
        indent=2,
        exclude={"rows": {"__all__": {"findings": {"__all__": _FINDING_TEXT_IN_MEASURES}}}},
    )
    return payload + b"\n"


def input_sha256(source: Path | bytes) -> str | None:
    """The sha256 of a list's bytes (its file read again, or what standard input gave);
    None when the file cannot be read any more."""
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    try:
        with source.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def with_audit(
    summary: ScreenSummary,
    *,
    source: Path | bytes,
    knowledge: Mapping[str, Any],
    now: datetime | None = None,
) -> ScreenSummary:
    """``summary`` with its audit fields: provscan's version, the knowledge's ``version`` and
    ``as_of`` (``knowledge``: ``active_pack().as_dict()`` or the like), the time (UTC) and the
    input's sha256."""
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    return summary.model_copy(
        update={
            "provscan_version": __version__,
            "knowledge_version": knowledge.get("version"),
            "knowledge_as_of": knowledge.get("as_of"),
            "screened_at": moment.isoformat().replace("+00:00", "Z"),
            "input_sha256": input_sha256(source),
        }
    )


def audit_lines(summary: ScreenSummary, sheet: str | None = None) -> list[tuple[str, str]]:
    """The audit context as (label, value) lines: the XLSX's screening sheet, the HTML's and
    PDF's title block."""
    counts = (
        f"{summary.rows} rows: {summary.restricted} restricted, {summary.review} to review, "
        f"{summary.unknown} unknown, {summary.clear} clear"
    )
    columns = ", ".join(f"{role}: {name}" for role, name in summary.columns.items() if name)
    lines = [
        ("Screened by", f"provscan {summary.provscan_version or 'version not recorded'}"),
        ("Screened at (UTC)", _said(summary.screened_at)),
        ("Knowledge version", _said(summary.knowledge_version)),
        ("Knowledge as of", _said(summary.knowledge_as_of)),
        ("Verdicts judged for", summary.judged_for),
        ("Policies applied", ", ".join(summary.policies) or "none"),
        ("Input file", _said(summary.source)),
        ("Input sha256", _said(summary.input_sha256)),
    ]
    if sheet is not None:
        lines.append(("Sheet screened", sheet))
    lines += [("Columns read", columns or "every column, as text"), ("Result", counts)]
    if summary.skipped:
        # a count, then which rows: the numbers alone read as a count ("29")
        # (rows, as the command line and the table's Row column name them, a CSV's too)
        numbers = ", ".join(str(number) for number in summary.skipped)
        which = "row" if len(summary.skipped) == 1 else "rows"
        lines.append(("Rows skipped (not products)", f"{len(summary.skipped)} ({which} {numbers})"))
    return lines


def _said(value: str | None) -> str:
    return value if value else "not recorded"


def binding_text(binding: bool | None) -> str:
    """Whether a measure binds whom the rows were judged for, in words."""
    return {True: "yes", False: "no: binds others", None: "not judged: every measure counts"}[
        binding
    ]


def measure_reading(measure: ScreenMeasure) -> str:
    """What a measure does to the rows: ``"restricts"``, ``"restricts only if ..."``, ``"does
    not bind you"``, ``"advice or context only"``."""
    if measure.effect not in RESTRICTING_FINDING_EFFECTS:
        return "advice or context only: restricts nothing"
    if measure.binding is False:
        return "binds others, not whom the rows were judged for"
    if measure.conditions and not measure.restricts_rows:
        return "restricts only on a condition: " + " / ".join(measure.conditions)
    if measure.conditions:
        return "restricts; some rows only on a condition: " + " / ".join(measure.conditions)
    return "restricts"


# --- XLSX ------------------------------------------------------------------------------

#: The time of every part of an XLSX's zip archive, and its document properties' time when
#: the report states none: the earliest a zip entry can hold. The same content is then the same
#: bytes, whenever it is written (auditors hash the files they hand over).
XLSX_EPOCH = datetime(1980, 1, 1, tzinfo=UTC)
_UNIX = 3  # a zip entry's "made on" system: the same bytes written on any system


class _FixedTimeZip(zipfile.ZipFile):
    """A zip archive whose entries carry :data:`XLSX_EPOCH`, not when they were written:
    openpyxl writes its parts by name (which zipfile stamps with the clock's time) and copies
    write-only sheets from temporary files (stamped with their modification time)."""

    def _entry(self, name: str, size: int = 0) -> zipfile.ZipInfo:
        entry = zipfile.ZipInfo(name, date_time=XLSX_EPOCH.timetuple()[:6])
        entry.compress_type = self.compression
        entry.create_system = _UNIX
        entry.external_attr = 0o600 << 16  # rw-------, as zipfile gives a part written by name
        entry.file_size = size
        return entry

    def writestr(
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: Any,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._entry(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(
        self,
        filename: Any,
        arcname: Any = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        source = Path(filename)
        entry = self._entry(str(arcname or source.name), source.stat().st_size)
        if compress_type is not None:
            entry.compress_type = compress_type
        with source.open("rb") as reading, self.open(entry, "w") as writing:
            shutil.copyfileobj(reading, writing, 1 << 20)


def workbook_bytes(
    workbook: Workbook, generated_at: datetime | None = None, created: datetime | None = None
) -> bytes:
    """The workbook's file, the same bytes for the same content: its document properties
    (created, modified) state ``generated_at`` (the time the report states, timezone-aware;
    :data:`XLSX_EPOCH` when it states none), not the time of writing, and the parts of its zip
    archive :data:`XLSX_EPOCH`. Instead of ``workbook.save``, which stamps the clock's time.
    ``created``: the creation time the document keeps instead (a user's own workbook written
    back with verdicts keeps the date it was created; naive times are UTC)."""
    from openpyxl.writer.excel import ExcelWriter

    if workbook.read_only:
        raise TypeError("a read-only workbook cannot be written")
    stated = (generated_at or XLSX_EPOCH).astimezone(UTC).replace(microsecond=0)
    # openpyxl takes naive times as UTC (and writes them with "Z")
    workbook.properties.created = workbook.properties.modified = stated.replace(tzinfo=None)
    if created is not None:
        kept = created if created.tzinfo is None else created.astimezone(UTC).replace(tzinfo=None)
        workbook.properties.created = kept.replace(microsecond=0)
    if workbook.write_only and not workbook.worksheets:
        workbook.create_sheet()  # as workbook.save does: a workbook has a sheet
    buffer = io.BytesIO()
    archive = _FixedTimeZip(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(workbook, archive).save()
    return buffer.getvalue()


def screened_time(summary: ScreenSummary) -> datetime | None:
    """When the list was screened (:func:`with_audit`'s ``screened_at``), for the XLSX's
    document properties; None when the summary states no time."""
    if not summary.screened_at:
        return None
    try:
        moment = datetime.fromisoformat(summary.screened_at)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


#: Excel's longest sheet name.
_SHEET_NAME_CHARS = 31
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: The measures sheet's columns and their widths (characters).
MEASURE_COLUMNS = (
    ("#", 5),
    ("policy", 9),
    ("jurisdiction", 18),
    ("measure id", 26),
    ("title", 44),
    ("effect", 17),
    ("in force since", 12),
    ("what it does here", 34),
    ("binds whom the rows were judged for", 18),
    ("rows restricted", 10),
    ("rows naming it", 10),
    ("citation", 60),
    ("official link", 36),
)


def free_sheet_name(taken: Iterable[str], wanted: str) -> str:
    """``wanted``, or ``"wanted (2)"``... when the workbook has a sheet of that name already
    (Excel compares names without case)."""
    used = {name.casefold() for name in taken}
    name, number = wanted, 1
    while name.casefold() in used:
        number += 1
        suffix = f" ({number})"
        name = wanted[: _SHEET_NAME_CHARS - len(suffix)] + suffix
    return name


def _text(cell: Any, value: object) -> None:
    """A text cell stored as text, never as a formula (a file name may start with "=")."""
    cell.value = _ILLEGAL_XML.sub("\ufffd", "" if value is None else str(value))
    cell.data_type = "s"


def add_audit_sheets(
    workbook: Workbook,
    summary: ScreenSummary,
    measures: Sequence[ScreenMeasure],
    *,
    sheet: str | None = None,
    results: str | None = None,
) -> tuple[str, str]:
    """Add the screening sheet (the audit context) and the measures sheet (each measure the
    rows name, its citation and link) after the workbook's own sheets, under names none of
    them has. ``sheet``: the sheet screened; ``results``: where its result columns are.
    Returns the two sheets' names."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    top = Alignment(vertical="top", wrap_text=True)
    audit_name = free_sheet_name(workbook.sheetnames, AUDIT_SHEET)
    measures_name = free_sheet_name([*workbook.sheetnames, audit_name], MEASURES_SHEET)
    audit = workbook.create_sheet(audit_name)
    lines = audit_lines(summary, sheet)
    if results is not None:
        lines.append(("Result columns", results))
    lines.append(("Measures named", f"{len(measures)}: see sheet {measures_name!r}"))
    for number, (label, value) in enumerate(lines, start=1):
        _text(audit.cell(row=number, column=1), label)
        audit.cell(row=number, column=1).font = bold
        _text(audit.cell(row=number, column=2), value)
        audit.cell(row=number, column=2).alignment = top
    audit.column_dimensions["A"].width = 28
    audit.column_dimensions["B"].width = 90
    listed = workbook.create_sheet(measures_name)
    for column, (name, width) in enumerate(MEASURE_COLUMNS, start=1):
        _text(listed.cell(row=1, column=column), name)
        listed.cell(row=1, column=column).font = bold
        listed.cell(row=1, column=column).alignment = top
        listed.column_dimensions[get_column_letter(column)].width = width
    for row, measure in enumerate(measures, start=2):
        values: list[object] = [
            measure.number,
            measure.policy,
            measure.jurisdiction,
            measure.id or "",
            measure.title,
            measure.effect,
            measure.effective,
            measure_reading(measure),
            binding_text(measure.binding),
            measure.restricts_rows,
            measure.rows,
            measure.citation,
            measure.link or "",
        ]
        for column, entry in enumerate(values, start=1):
            cell = listed.cell(row=row, column=column)
            if isinstance(entry, int):
                cell.value = entry
            else:
                _text(cell, entry)
            cell.alignment = top
        if measure.link:
            # a link of the knowledge pack (https only: policies.yaml checks it)
            listed.cell(row=row, column=len(values)).hyperlink = measure.link
    listed.freeze_panes = "A2"
    return audit_name, measures_name
