"""A screened procurement list as a document to hand over: one self-contained HTML file, or a
PDF rendered from it by WeasyPrint (``provscan screen LIST -o screened.pdf``).

Made with the compliance report's machinery (its Jinja2 environment, autoescaping every value,
and :func:`provscan.compliance.report.pdf_bytes`, which fetches nothing): a title block (what
was screened, when, by which provscan and knowledge, for whom), the counts, the restricted and
to-review rows in full (maker, brand, model, verdict, reason and the measures, numbered), the
unknown and clear rows compactly, and an appendix of the measures with their citations and
official links. Its tables are of fixed layout at A4: no column runs off the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from provscan.compliance.report import _environment, pdf_bytes
from provscan.screening.audit import (
    audit_lines,
    measure_reading,
    row_measures,
)
from provscan.screening.tables import maker_text
from provscan.screening.verdict import ScreenMeasure, ScreenRow, ScreenSummary

FORMATS = ("html", "pdf")


@dataclass(frozen=True)
class MeasureRef:
    """The measures of one policy a row rests on: their numbers in the appendix, and the
    condition the row leaves open on which they restrict it (None: outright)."""

    policy: str
    numbers: tuple[int, ...]
    condition: str | None


@dataclass(frozen=True)
class ShownRow:
    row: ScreenRow
    maker: str
    refs: tuple[MeasureRef, ...]
    short_reason: str
    #: The earlier row of the same section with the same reason (a product listed again):
    #: its reason and measures are not printed twice.
    same_as: int | None = None


def _short_reason(row: ScreenRow) -> str:
    """A row's first reason (what the verdict rests on) without the brand the table shows,
    as the terminal table says it: the unknown and clear rows' compact tables."""
    first = row.reason.split("; ", 1)[0]
    if row.brand and first.startswith(f"{row.brand}: "):
        first = first[len(row.brand) + 2 :]
    return first.replace("_", " ")


def _shown(row: ScreenRow, numbers: dict[tuple[str, str], int]) -> ShownRow:
    grouped: dict[tuple[str, str | None], list[int]] = {}
    for finding in row_measures(row):
        number = numbers.get((finding.policy, finding.measure), 0)
        grouped.setdefault((finding.policy, finding.condition), []).append(number)
    refs = tuple(
        MeasureRef(policy, tuple(sorted(found)), condition)
        for (policy, condition), found in grouped.items()
    )
    return ShownRow(row, maker_text(row) or "–", refs, _short_reason(row))


def screening_context(
    rows: Sequence[ScreenRow],
    summary: ScreenSummary,
    measures: Sequence[ScreenMeasure],
    *,
    sheet: str | None = None,
) -> dict[str, Any]:
    numbers = {(m.policy, m.title): m.number for m in measures}
    groups: dict[str, list[ShownRow]] = {"restricted": [], "review": [], "unknown": [], "clear": []}
    first: dict[tuple[str, str, tuple[MeasureRef, ...]], int | None] = {}
    for row in rows:
        shown = _shown(row, numbers)
        # Lists repeat products: a row judged as an earlier one points to it instead of
        # printing the same reason again (a 3,000-row list is mostly such rows).
        key = (row.status, row.reason, shown.refs)
        if key in first and row.status in ("restricted", "review"):
            shown = replace(shown, same_as=first[key])
        else:
            first.setdefault(key, row.row)
        groups[row.status].append(shown)
    return {
        "s": summary,
        "lines": audit_lines(summary, sheet),
        "title": f"Screening of {summary.source or 'a procurement list'}",
        "acted": groups["restricted"] + groups["review"],
        "unknown": groups["unknown"],
        "clear": groups["clear"],
        "measures": measures,
        "reading": measure_reading,
    }


def screening_html(
    rows: Sequence[ScreenRow],
    summary: ScreenSummary,
    measures: Sequence[ScreenMeasure],
    *,
    sheet: str | None = None,
) -> str:
    """One self-contained HTML document: inline CSS, no script, no external asset."""
    from markupsafe import Markup

    environment = _environment()
    css = environment.loader.get_source(environment, "screening.css")[0]  # type: ignore[union-attr]
    template = environment.get_template("screening.html.j2")
    context = screening_context(rows, summary, measures, sheet=sheet)
    # The stylesheet is ours, not list text: inserted as is.
    return template.render(context, css=Markup(css))


def render_screening(
    fmt: str,
    rows: Sequence[ScreenRow],
    summary: ScreenSummary,
    measures: Sequence[ScreenMeasure],
    *,
    sheet: str | None = None,
) -> bytes:
    """The screening in ``fmt`` (html or pdf); a ReportError (one line) when the PDF engine
    cannot run."""
    html = screening_html(rows, summary, measures, sheet=sheet)
    if fmt == "html":
        return html.encode("utf-8")
    if fmt == "pdf":
        return pdf_bytes(html)
    raise ValueError(f"unknown screening document format {fmt!r}")
