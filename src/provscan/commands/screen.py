"""``provscan screen FILE``: screen a procurement list (CSV or XLSX) before anything is bought.

``provscan screen -`` reads the list from standard input: CSV or XLSX alike (a workbook's
bytes are read whole first), with the limits of a file (``--max-bytes``, ``--max-rows``).
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provscan.commands.common import AsOption, ForceOption
from provscan.errors import ProvscanError

if TYPE_CHECKING:
    from provscan.screening.tables import InputTable
    from provscan.screening.verdict import ScreenRow


class ScreenFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    json = "json"
    table = "table"
    html = "html"
    pdf = "pdf"


#: Formats written only to a file (a workbook, a PDF: no text for standard output).
_FILE_FORMATS = {ScreenFormat.xlsx: "a workbook", ScreenFormat.pdf: "a PDF"}


def register(app: typer.Typer) -> None:
    from provscan.commands.common import epilog

    app.command(
        short_help="Screen a product list: maker, relation and verdict per row.",
        name="screen",
        epilog=epilog(
            "provscan screen purchase.csv --policy ca,us -o screened.csv",
            "provscan screen bom.xlsx --sheet BOM -o screened.xlsx --fail-on-restricted",
            'provscan screen list.csv --model-col "Part Number" --desc-col D -f json',
            "provscan screen purchase.csv --as ca:federal-institution -o screened.csv",
            "provscan screen purchase.csv -o screened.pdf     (or .html: to hand over)",
            "cat bom.xlsx | provscan screen - -o screened.xlsx     (- : standard input)",
            fail_on_restricted=True,
        ),
    )(screen)


#: ``--output`` suffixes that choose the format when ``--format`` is not given; any other
#: name is written as CSV in the input's own dialect (a .tsv, a .txt) unless it is refused.
_SUFFIX_FORMATS = {
    ".csv": ScreenFormat.csv,
    ".xlsx": ScreenFormat.xlsx,
    ".json": ScreenFormat.json,
    ".html": ScreenFormat.html,
    ".htm": ScreenFormat.html,
    ".pdf": ScreenFormat.pdf,
}
#: Suffixes of formats screen does not write: the file would be CSV under a name that says
#: otherwise (Excel would refuse it).
_REFUSED_SUFFIXES = frozenset(
    {
        ".xls",
        ".xlsm",
        ".xltx",
        ".ods",
        ".doc",
        ".docx",
        ".jsonl",
        ".ndjson",
        ".xml",
        ".zip",
    }
)


def _refused_suffix(output: Path, suffix: str) -> str | None:
    if suffix not in _REFUSED_SUFFIXES:
        return None
    return (
        f"--output {output}: screen writes csv, xlsx, json, html or pdf, not "
        f"{suffix[1:].upper()}; give a .csv, .xlsx, .json, .html or .pdf file name, or "
        "-f csv|xlsx|json|html|pdf"
    )


def _format_for(fmt: ScreenFormat | None, output: Path | None) -> ScreenFormat:
    from provscan.commands.common import format_from_suffix

    if fmt is None and output is None and sys.stdout.isatty():
        return ScreenFormat.table  # a person reading: the CSV's long reasons do not fit
    return format_from_suffix(fmt, output, _SUFFIX_FORMATS, ScreenFormat.csv, _refused_suffix)


def screen(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help=(
                "Procurement list or bill of materials (.csv or .xlsx); - reads it from "
                "standard input (CSV or XLSX)."
            ),
        ),
    ],
    fmt: Annotated[
        ScreenFormat | None,
        typer.Option(
            "--format",
            "-f",
            metavar="csv|xlsx|json|table|html|pdf",
            help=(
                "Output format (default: from --output's suffix, else a table on a terminal "
                "and csv otherwise); html and pdf: a document to hand over, with the "
                "measures' citations."
            ),
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write the screened list to this file."
        ),
    ] = None,
    force: ForceOption = False,
    brand_col: Annotated[
        str | None,
        typer.Option(
            "--brand-col", metavar="COLUMN", help="Brand column: header name, number or letter."
        ),
    ] = None,
    model_col: Annotated[
        str | None,
        typer.Option(
            "--model-col", metavar="COLUMN", help="Model column: header name, number or letter."
        ),
    ] = None,
    desc_col: Annotated[
        str | None,
        typer.Option(
            "--desc-col",
            metavar="COLUMN",
            help="Description column: header name, number or letter.",
        ),
    ] = None,
    header_row: Annotated[
        int | None,
        typer.Option(
            "--header-row",
            min=1,
            metavar="N",
            help=(
                "The header's row number as a spreadsheet shows it (a CSV's line), from 1, "
                "when the one detected is not it (titles or group labels above it)."
            ),
        ),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy", metavar="IDS", help="Comma-separated policy ids (default: all bundled)."
        ),
    ] = None,
    acting_as: AsOption = None,
    fail_on_restricted: Annotated[
        bool,
        typer.Option("--fail-on-restricted", help="Exit 3 when a listed product is restricted."),
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding", metavar="NAME", help="CSV encoding when not UTF-8 (e.g. cp1252)."
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            "--sheet",
            metavar="NAME",
            help="XLSX sheet to screen (default: the sheet that looks like the product table).",
        ),
    ] = None,
    max_rows: Annotated[
        int,
        typer.Option(
            "--max-rows", min=1, metavar="N", help="Refuse lists with more rows than this."
        ),
    ] = 100_000,
    max_bytes: Annotated[
        int,
        typer.Option(
            "--max-bytes", min=1, metavar="BYTES", help="Refuse input files larger than this."
        ),
    ] = 50 * 1024 * 1024,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary line.")] = False,
) -> None:
    """Screen a product list: maker, relation, verdict, policies, confidence and reason per row."""
    from provscan.commands.common import (
        EXIT_RESTRICTED,
        EXIT_USAGE,
        fail,
        fail_for,
        guard_output,
        resolve_acting_as,
        say,
    )
    from provscan.commands.knowledge import warn_if_stale
    from provscan.commands.lookup import parse_policy_option
    from provscan.knowledge.packs import active_pack
    from provscan.report.files import write_atomically
    from provscan.screening.audit import cited_measures, screen_document_json, with_audit
    from provscan.screening.columns import ColumnError, unread_model_warning
    from provscan.screening.run import bundled_identifier, screen_table, table_columns
    from provscan.screening.tables import (
        AuditSheets,
        ScreenInputError,
        read_table,
        read_table_stream,
        render_csv,
        render_xlsx,
        result_columns_note,
    )
    from provscan.screening.verdict import (
        ScreenMeasure,
        summarise,
        summary_line,
    )

    from_stdin = str(file) == STDIN_ARGUMENT
    try:
        chosen = _format_for(fmt, output)
        guard_output(output, [file], force=force)
        if from_stdin:
            _guard_stdin_output(output)
    except ProvscanError as exc:
        raise fail_for(exc) from None
    if chosen in _FILE_FORMATS and output is None:
        raise fail(
            f"--format {chosen} needs --output FILE ({_FILE_FORMATS[chosen]} is a file, not "
            "text for standard output)",
            EXIT_USAGE,
        )
    warn_if_stale()
    try:
        identifier = bundled_identifier()
        policy_ids = parse_policy_option(policy)
        policies = identifier.knowledge.select_policies(policy_ids)
        org_types = resolve_acting_as(acting_as, policy_ids)
        named = [name for name in (brand_col, model_col, desc_col) if name]
        if from_stdin:
            if not quiet and sys.stdin is not None and sys.stdin.isatty():
                say("reading the list from standard input: paste or type it, then Ctrl-D")
            table = read_table_stream(
                sys.stdin.buffer if sys.stdin is not None else None,
                encoding=encoding,
                sheet=sheet,
                max_rows=max_rows,
                max_bytes=max_bytes,
                header_names=named,
                pick_sheet=True,
                screening_words=identifier.knowledge.screening_words,
                header_row=header_row,
            )
        else:
            table = read_table(
                file,
                encoding=encoding,
                sheet=sheet,
                max_rows=max_rows,
                max_bytes=max_bytes,
                header_names=named,
                pick_sheet=True,
                screening_words=identifier.knowledge.screening_words,
                header_row=header_row,
            )
        try:
            columns = table_columns(
                table, identifier, brand=brand_col, model=model_col, description=desc_col
            )
        except ColumnError as exc:
            raise ColumnError(f"{exc}; {_header_hint(table)}") from None
    except (ScreenInputError, ColumnError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except ProvscanError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    unread = unread_model_warning(columns, table.header)
    if unread is not None:
        # a verdict may rest on it: said even with --quiet
        _warn_wrapped(unread)
    rows = screen_table(table, columns, identifier, policies, acting_as=org_types)
    summary = summarise(
        rows,
        policies,
        columns.names(table.header),
        source=str(file),
        acting_as=org_types,
        skipped=[number for number, _ in table.skipped],
    )
    notes = list(table.notes)
    measures: list[ScreenMeasure] = []
    if chosen not in (ScreenFormat.csv, ScreenFormat.table):
        # what an auditor checks the result against: provscan's and the knowledge's versions,
        # when, for whom, which file (sha256), and each measure cited with its citation
        pack = active_pack()
        knowledge = {"version": pack.version, "as_of": pack.as_of}
        summary = with_audit(summary, source=table.source, knowledge=knowledge)
        measures = cited_measures(rows, policies)
    try:
        if chosen is ScreenFormat.json:
            # each row refers to the measures (policy and title); their text is once in
            # the document's measures list
            payload = screen_document_json(rows, summary, measures)
        elif chosen is ScreenFormat.table:
            payload = render_screen_table(
                rows, width=None if output else shutil.get_terminal_size().columns
            )
        elif chosen is ScreenFormat.xlsx:
            # An XLSX input is loaded again, in full, to be written back with the results.
            payload, output_notes = render_xlsx(
                table, rows, columns, AuditSheets(summary, measures)
            )
            notes += output_notes
        elif chosen in (ScreenFormat.html, ScreenFormat.pdf):
            from provscan.compliance.screening import render_screening

            payload = render_screening(chosen.value, rows, summary, measures, sheet=table.sheet)
        else:
            payload = render_csv(table, rows)
            note = result_columns_note(table)
            if note is not None:
                notes.append(note)
    except ScreenInputError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except ProvscanError as exc:  # the PDF engine could not run (a one-line ReportError)
        raise fail(str(exc)) from None
    try:
        if output is None:
            sys.stdout.buffer.write(payload)
            sys.stdout.flush()
        else:
            write_atomically(output, payload)
    except ProvscanError as exc:
        raise fail(str(exc)) from None
    if not quiet:
        # wrapped to the terminal between words, as the summary (an officer found notes of
        # 121 and 148 characters at 80 columns); the rows left out as no products are said
        # once, by their note, which names them
        for note in notes:
            say(f"note: {note}")
        # wrapped to the terminal between words (a newcomer found a 151-character summary)
        names = ", ".join(f"{role}={name!r}" for role, name in summary.columns.items() if name)
        say(f"columns: {names}")
        say(summary_line(summary))
        if output is not None:
            say(f"wrote {chosen.value} to {output}")  # as report and scan say where they wrote
    if fail_on_restricted and summary.restricted:
        raise typer.Exit(EXIT_RESTRICTED)


#: The FILE that names standard input.
STDIN_ARGUMENT = "-"


def _header_hint(table: InputTable) -> str:
    """What a "column not in the file" error adds: which row was read as the header, and the
    option that names another. A row, as the table's "Row" column and the HTML and PDF say
    it, for a CSV too (its number is the line a spreadsheet shows it on)."""
    if table.header_record is None:
        return "no header row was recognised; name it with --header-row N (the row number)"
    number = table.records[table.header_record].number
    return f"the header was read from row {number}; name another with --header-row N"


def _warn_wrapped(message: str) -> None:
    """A warning on stderr wrapped to the terminal between words, as :func:`say` wraps the
    summary (its text, which comes from the file, is never read as markup)."""
    from rich.markup import escape

    from provscan.commands.common import stderr, wrap_words

    prefix = "provscan: warning: "
    lines = wrap_words(prefix + message, stderr.width)
    stderr.print(
        f"[yellow]{prefix.rstrip()}[/] {escape(lines[0][len(prefix) :])}",
        highlight=False,
        soft_wrap=True,
    )
    for line in lines[1:]:
        stderr.print(line, markup=False, highlight=False, soft_wrap=True)


def _guard_stdin_output(output: Path | None) -> None:
    """Refuse an ``--output`` that is the file standard input was redirected from
    (``provscan screen - -o list.csv < list.csv``): inputs are never overwritten, as when the
    file is named (a pipe or a terminal is no file to overwrite)."""
    from provscan.commands.common import UsageProblem

    if output is None or str(output) == STDIN_ARGUMENT:
        return
    try:
        given = os.fstat(sys.stdin.fileno()) if sys.stdin is not None else None
        target = os.stat(output)
    except (OSError, ValueError):  # no standard input, or no such output file yet
        return
    if given is not None and (given.st_dev, given.st_ino) == (target.st_dev, target.st_ino):
        raise UsageProblem(
            f"--output {output} is also an input (standard input); inputs are never overwritten"
        )


#: The verdict words of the screen table (restricted in capitals: the row to act on).
_VERDICT_WORDS = {"restricted": "RESTRICTED", "review": "review", "clear": "clear"}
#: The columns that say what a row is; never wrapped nor cut (a part number is copied).
#: "Row": the row's number in the list as a spreadsheet shows it (the header is usually row
#: 1), the word the HTML and PDF use; a list's own "Line" column is another number.
_IDENTITY_HEADERS = ("Row", "Verdict", "Maker", "Brand", "Model", "Conf.")
#: The reasons stay in a column beside the rows while it gets at least this many characters;
#: on a narrower terminal each reason goes under its row instead, as wide as the terminal (a
#: newcomer found a 13-character column that made one row nine lines tall).
REASON_COLUMN_MIN = 30
#: Between two columns of the table (rich's padding of one character on either side).
_COLUMN_GAP = 2
#: When the columns that say what a row is do not fit the terminal side by side (a long
#: brand, "Hikvision/Dahua", a part number of 30 characters), the Maker column keeps its
#: longest maker whole while the Brand column can keep this many characters and the Model
#: column :data:`MODEL_COLUMN_MIN`: a brand wraps between its words, and a longer part
#: number wraps after one of its own separators (:data:`PART_BREAKS`), every character kept.
#: Makers are a few known names, and a reviewer found "Hikvision/" "Dahua" and "Hanwha"
#: "Vision" split over two lines at 80 columns while the Brand column kept 20 characters.
#: Row, verdict and
#: confidence stay on the row's first line, and no line is wider than the terminal (a
#: reviewer found rows of 84 characters at 80 columns, the confidence on a line of its own).
NAME_COLUMN_MIN = 8
MODEL_COLUMN_MIN = 12
#: Where a cell may be broken besides its spaces: a maker's or a brand's name after a "/"
#: ("Hikvision/" "Dahua"); a part number after its own separators ("DS-2CD2387G2P-LSU/"
#: "SL(4mm)(C)"), never inside a token (a newcomer found "DS-2CD2387G2P-LSU/SL(4mm" ")(C)"
#: and "IPC-HFW5842T-ASE-LED-036" "0B-S2" at 80 columns).
NAME_BREAKS = "/"
PART_BREAKS = "-/_"


def render_screen_table(rows: Sequence[ScreenRow], width: int | None = None) -> bytes:
    """The screened rows as a text table for a person at a terminal: row, verdict, maker,
    brand, model, confidence and the reason's first clause (the CSV, XLSX and JSON carry
    everything, reasons and evidence in full). ``width``: the terminal's (100 without).

    Makers, brands and part numbers stay whole while they fit; on a narrow terminal a name
    wraps between its words and a part number after its own separators
    (:func:`_narrowed_table`). The reasons wrap at word boundaries, beside the rows or (below
    :data:`REASON_COLUMN_MIN` characters for them) under each row, indented to the verdict."""
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from provscan.report.safe_text import printable
    from provscan.screening.tables import maker_text

    width = max(width or 100, 60)
    identities = [
        (
            "" if row.row is None else str(row.row),
            _VERDICT_WORDS.get(row.status, row.status),
            # every maker the evidence allows ("Hikvision/Dahua" for a brand both make for),
            # not only the first: the Maker column must not claim more than the row knows
            printable(maker_text(row) or "-"),
            printable(row.brand or "-"),
            printable(row.model or "-"),
            f"{row.confidence:.2f}",
        )
        for row in rows
    ]
    reasons = [printable(_short_reason(row)) for row in rows]
    widths = [
        max(cell_len(cell) for cell in column)
        for column in zip(_IDENTITY_HEADERS, *identities, strict=True)
    ]
    identity_width = sum(widths) + _COLUMN_GAP * (len(widths) - 1)
    if identity_width > width:
        return _narrowed_table(identities, reasons, widths, width)
    beside = width - identity_width - _COLUMN_GAP >= REASON_COLUMN_MIN

    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for header in _IDENTITY_HEADERS:
        table.add_column(
            header, justify="right" if header in ("Row", "Conf.") else "left", no_wrap=True
        )
    if beside:
        table.add_column("Why", overflow="fold")  # the only column that wraps
        for identity, reason in zip(identities, reasons, strict=True):
            table.add_row(*identity, reason)
    else:
        for identity in identities:
            table.add_row(*identity)
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, soft_wrap=False)
    console.print(table)
    lines = [line.rstrip() for line in buffer.getvalue().splitlines()]
    if not beside:
        # One line a row (nothing in the table wraps): each row's reason follows it.
        indent = " " * (widths[0] + _COLUMN_GAP)
        stacked = [lines[0], f"{indent}Why"]
        for line, reason in zip(lines[1:], reasons, strict=True):
            wrapped = Text(reason).wrap(console, max(width - len(indent), 20))
            stacked += [line, *(f"{indent}{part.plain}".rstrip() for part in wrapped)]
        lines = stacked
    return ("\n".join(lines) + "\n").encode("utf-8")


def _narrowed_table(
    identities: Sequence[tuple[str, ...]], reasons: Sequence[str], widths: list[int], width: int
) -> bytes:
    """The screen table when its identity columns do not fit ``width`` side by side.

    Row, verdict and confidence keep their width. The Maker column keeps its longest maker
    whole (narrower only when the Brand and Model columns would fall below their minimum);
    of what is left, the Model column keeps its longest part number whole when the Brand
    column can still keep its longest word, else its longest piece between separators
    (:data:`PART_BREAKS`) when the Brand column can keep :data:`NAME_COLUMN_MIN`: the brand
    folds before a part number does. Names then wrap between words and after a "/"
    ("Hikvision/" "Dahua"), part numbers between words and after their separators; only a
    piece longer than its column folds onto the row's next lines, every character kept.
    Each reason goes under its row."""
    from rich.cells import cell_len

    row_width, verdict_width, maker_full, brand_full, model_full, conf_width = widths
    room = width - row_width - verdict_width - conf_width - _COLUMN_GAP * (len(widths) - 1)
    header = dict(zip(_IDENTITY_HEADERS, range(len(widths)), strict=True))

    def longest_piece(column: int, breaks: str) -> int:
        values = [_IDENTITY_HEADERS[column], *(identity[column] for identity in identities)]
        return max(cell_len(piece) for value in values for _, piece in _pieces(value, breaks))

    brand_word = min(longest_piece(header["Brand"], NAME_BREAKS), brand_full)
    model_word = longest_piece(header["Model"], "")
    model_piece = longest_piece(header["Model"], PART_BREAKS)
    maker = min(maker_full, max(room - NAME_COLUMN_MIN - MODEL_COLUMN_MIN, NAME_COLUMN_MIN))
    left = room - maker
    model = min(
        model_full,
        max(
            left - brand_full,  # every name and number whole
            # part numbers whole, brands wrapped between their words
            min(model_word, left - max(brand_word, NAME_COLUMN_MIN)),
            # part numbers wrapped at their separators, brands folded first
            min(model_piece, left - min(NAME_COLUMN_MIN, brand_full)),
            MODEL_COLUMN_MIN,
        ),
    )
    brand = min(brand_full, max(left - model, NAME_COLUMN_MIN))
    fitted = [row_width, verdict_width, maker, brand, model, conf_width]
    right = {0, len(fitted) - 1}  # Row and Conf. are right-aligned, as in the wide table
    breaks = {header["Maker"]: NAME_BREAKS, header["Brand"]: NAME_BREAKS}
    breaks[header["Model"]] = PART_BREAKS

    def lines_of(cells: Sequence[str]) -> list[str]:
        columns = [
            _wrapped(cell, size, breaks.get(number, ""))
            for number, (cell, size) in enumerate(zip(cells, fitted, strict=True))
        ]
        out = []
        for index in range(max(len(column) for column in columns)):
            parts = []
            for number, (column, size) in enumerate(zip(columns, fitted, strict=True)):
                text = column[index] if index < len(column) else ""
                pad = " " * max(size - cell_len(text), 0)
                parts.append(pad + text if number in right else text + pad)
            out.append((" " * _COLUMN_GAP).join(parts).rstrip())
        return out

    indent = " " * (row_width + _COLUMN_GAP)
    lines = [*lines_of(_IDENTITY_HEADERS), f"{indent}Why"]
    for identity, reason in zip(identities, reasons, strict=True):
        lines += lines_of(identity)
        wrapped = _wrapped(reason, max(width - len(indent), 20), "")
        lines += [f"{indent}{part}".rstrip() for part in wrapped]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _pieces(value: str, breaks: str) -> list[tuple[str, str]]:
    """The pieces a cell may be wrapped between, each with what joins it to the one before:
    its words (joined by a space), and each word's parts after one of ``breaks`` (joined by
    nothing): "Hikvision/" "Dahua" with "/", "DS-" "2CD2387G2P-" "LSU/" "SL(4mm)(C)" with
    :data:`PART_BREAKS`."""
    import re

    if not breaks:
        pattern = r"\S+"
    else:
        chars = re.escape(breaks)
        pattern = rf"[^\s{chars}]*[{chars}]|[^\s{chars}]+"
    return [
        (" " if found.start() and value[found.start() - 1].isspace() else "", found.group())
        for found in re.finditer(pattern, value)
    ]


def _wrapped(value: str, size: int, breaks: str) -> list[str]:
    """``value`` in lines of at most ``size`` cells: broken between words and after any of
    ``breaks``, a piece longer than ``size`` folded; no character is dropped but the spaces
    a line is broken at."""
    from rich.cells import cell_len, chop_cells

    if cell_len(value) <= size:
        return [value]
    lines: list[str] = []
    current = ""
    for glue, piece in _pieces(value, breaks):
        joined = current + glue + piece if current else piece
        if cell_len(joined) <= size:
            current = joined
            continue
        if current:
            lines.append(current)
        chunks = chop_cells(piece, size) if cell_len(piece) > size else [piece]
        lines += chunks[:-1]
        current = chunks[-1]
    if current:
        lines.append(current)
    return lines


def _short_reason(row: ScreenRow) -> str:
    """The reason's first clause without the brand or maker the columns show already
    ("Hikvision: own_brand - restricted by ca, us" -> "own brand - restricted by ca, us")."""
    first = row.reason.split("; ", 1)[0]
    for name in (row.brand, row.maker):
        if name and first.startswith(f"{name}: "):
            first = first[len(name) + 2 :]
            break
    return first.replace("_", " ")
