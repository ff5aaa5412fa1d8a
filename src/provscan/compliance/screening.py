"""A screened procurement list as a document to hand over: one self-contained HTML file, or a
PDF rendered from it by WeasyPrint (``provscan screen LIST -o screened.pdf``).

Made with the compliance report's machinery (its Jinja2 environment, autoescaping every value,
and :func:`provscan.compliance.report.pdf_bytes`, which fetches nothing): a title block (what
was screened, when, by which provscan and knowledge, for whom), the counts, the restricted and
to-review rows in full, the unknown and clear rows compactly, and an appendix of the measures.

Written for the person who checks it against the quote (a procurement officer found rows she
could not find, a camera's reason printed for an NVR, relation codes and lists of policy ids
in every row, and an appendix mostly about measures that did not bind her):

- every row is shown by its number in the file *and* by what it says (the text read from its
  product cells, shortened), unknown rows too;
- a row points to an earlier one ("same product as row 2") only when it lists the same
  product: the same maker and model, or the same text; its measures are still shown;
- reasons are in words, built from the parts of each row's reason
  (``ScreenRow.reason_parts``, never by rewriting its text): :data:`RELATION_WORDS`,
  jurisdictions for policy ids; they name only the measures that bind the reader; the
  measures that name a maker without binding them are said once, above the rows;
- the appendix gives the binding measures with their citations, and the others in a short
  list (``provscan policies`` and the JSON and XLSX outputs give their citations).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, assert_never

from provscan.compliance.report import _environment, pdf_bytes
from provscan.screening.audit import (
    audit_lines,
    measure_reading,
    row_measures,
)
from provscan.screening.tables import maker_text
from provscan.screening.verdict import (
    CONTEXT_CLAUSES,
    Brand,
    Maker,
    Name,
    Policies,
    Quote,
    ReasonClause,
    ReasonToken,
    Relation,
    Say,
    ScreenMeasure,
    ScreenRow,
    ScreenSummary,
)

FORMATS = ("html", "pdf")

#: How a row's relation reads in the document (the JSON, CSV and XLSX keep the codes).
RELATION_WORDS = {
    "own_brand": "the maker's own brand",
    "subsidiary": "the brand of a subsidiary",
    "consumer_brand": "its consumer brand",
    "oem_relabel": "relabelled: made for the brand by the maker",
    "former_subsidiary": "the brand was its subsidiary",
    "possible_relabel": "the brand sells only some lines made by it",
    "probable_relabel": "probably relabelled",
    "unrelated": "no relation to a restricted maker",
}
#: The longest "as listed" text shown of a row (the file has it whole).
LISTED_CHARS = 70


@dataclass(frozen=True)
class MeasureRef:
    """The measures of one policy a row rests on: their numbers in the appendix, and the
    condition the row leaves open on which they restrict it (None: outright)."""

    policy: str
    jurisdiction: str
    numbers: tuple[int, ...]
    condition: str | None


@dataclass(frozen=True)
class ShownRow:
    row: ScreenRow
    maker: str
    refs: tuple[MeasureRef, ...]
    #: What the row says in the file (its product cells), shortened to :data:`LISTED_CHARS`.
    listed: str
    #: The reason in words, without the measures that do not bind the reader.
    reason: str
    #: The first clause of :attr:`reason` (the unknown and clear rows' compact tables).
    short_reason: str
    #: The earlier row that lists the same product (same maker and model, or the same text)
    #: and has the same verdict and reason: its reason is not printed twice.
    same_as: int | None = None


def listed_text(row: ScreenRow, limit: int = LISTED_CHARS) -> str:
    """The row's own text (its product cells as read), cut at a word past ``limit``."""
    text = " ".join(row.input.split())
    if len(text) <= limit:
        return text or "(empty)"
    cut = text[:limit].rsplit(" ", 1)[0]
    return (cut if len(cut) >= limit // 2 else text[:limit]) + "…"


def _plain_token(token: ReasonToken, jurisdictions: Mapping[str, str]) -> str:
    """A part of a reason in words: a relation code in words, policy ids by jurisdiction
    (as given when every one is known), the brand left to the table (an unknown brand said)."""
    if isinstance(token, Relation):
        return RELATION_WORDS.get(token.code, token.code)
    if isinstance(token, Policies):
        if all(policy in jurisdictions for policy in token.ids):
            return ", ".join(jurisdictions[policy] for policy in token.ids)
        return ", ".join(token.ids)
    if isinstance(token, Brand):
        return "" if token.name else "unknown brand: "
    if isinstance(token, Quote):
        return _quoted_words(token.text)
    if isinstance(token, Maker):
        return token.name
    if isinstance(token, Say | Name):
        return token.text
    assert_never(token)


def _quoted_words(text: str) -> str:
    """A clause of the identification (identify.py's own words, not in parts) with the
    relation codes it gives in parentheses ("(former_subsidiary)") in words."""
    for code, words in RELATION_WORDS.items():
        text = text.replace(f"({code})", f"({words})")
    return text


def plain_clause(clause: ReasonClause, jurisdictions: Mapping[str, str]) -> str:
    """One clause of a row's reason in words (:func:`_plain_token`)."""
    return "".join(_plain_token(token, jurisdictions) for token in clause.parts)


def plain_reason(row: ScreenRow, jurisdictions: Mapping[str, str]) -> str:
    """The row's reason for a reader, from its parts (``row.reason_parts``): without the brand
    the table shows, without the clauses listing measures that do not bind the reader (said
    once above the rows), with relation codes in words and policies by jurisdiction. A row
    without parts (read from a JSON output) gives its reason as written."""
    if not row.reason_parts:
        return row.reason
    return "; ".join(
        plain_clause(clause, jurisdictions)
        for clause in row.reason_parts
        if clause.kind not in CONTEXT_CLAUSES
    )


def _product(row: ScreenRow) -> tuple[str, ...]:
    """What makes two rows the same product: the identified makers and model, else the
    row's own text."""
    if row.model:
        return ("model", *row.makers, row.model.casefold())
    return ("text", " ".join(row.input.casefold().split()))


def _shown(
    row: ScreenRow, measures: Mapping[tuple[str, str], ScreenMeasure], names: Mapping[str, str]
) -> ShownRow:
    grouped: dict[tuple[str, str | None], list[int]] = {}
    for finding in row_measures(row):
        measure = measures.get((finding.policy, finding.measure))
        grouped.setdefault((finding.policy, finding.condition), []).append(
            measure.number if measure is not None else 0
        )
    refs = tuple(
        MeasureRef(policy, names.get(policy, policy), tuple(sorted(found)), condition)
        for (policy, condition), found in grouped.items()
    )
    reason = plain_reason(row, names)
    return ShownRow(
        row,
        maker_text(row) or "–",
        refs,
        listed_text(row),
        reason,
        reason.split("; ", 1)[0],
    )


def _not_binding(rows: Sequence[ScreenRow]) -> dict[str, str]:
    """The policies that name a restricted or to-review row's maker only through measures
    that do not bind the reader, or that advise: policy id -> jurisdiction, in order."""
    named: dict[str, str] = {}
    binding: set[str] = set()
    for row in rows:
        if row.status not in ("restricted", "review"):
            continue
        binding |= {finding.policy for finding in row_measures(row)}
        for finding in row.findings:
            named.setdefault(finding.policy, finding.jurisdiction)
    return {policy: name for policy, name in named.items() if policy not in binding}


def screening_context(
    rows: Sequence[ScreenRow],
    summary: ScreenSummary,
    measures: Sequence[ScreenMeasure],
    *,
    sheet: str | None = None,
) -> dict[str, Any]:
    by_key = {(m.policy, m.title): m for m in measures}
    names = {m.policy: m.jurisdiction for m in measures}
    for row in rows[:1000]:  # the rows' own findings, when no measures were given
        for finding in row.findings:
            names.setdefault(finding.policy, finding.jurisdiction)
    groups: dict[str, list[ShownRow]] = {"restricted": [], "review": [], "unknown": [], "clear": []}
    first: dict[tuple[object, ...], int | None] = {}
    cited: set[tuple[str, str]] = set()
    for row in rows:
        shown = _shown(row, by_key, names)
        cited |= {(f.policy, f.measure) for f in row_measures(row)}
        # Lists repeat products: a row that lists the same product as an earlier one, judged
        # alike, points to it instead of printing the same reason again (a 3,000-row list
        # is mostly such rows). Never a different product with the same reason.
        key = (row.status, _product(row), row.reason, shown.refs)
        if key in first and row.status in ("restricted", "review"):
            shown = replace(shown, same_as=first[key])
        else:
            first.setdefault(key, row.row)
        groups[row.status].append(shown)
    acted = groups["restricted"] + groups["review"]
    return {
        "s": summary,
        "lines": audit_lines(summary, sheet),
        "title": f"Screening of {summary.source or 'a procurement list'}",
        "acted": acted,
        "unknown": groups["unknown"],
        "clear": groups["clear"],
        "not_binding": _not_binding(rows),
        "measures": measures,
        "binding_measures": [m for m in measures if (m.policy, m.title) in cited],
        "other_measures": [m for m in measures if (m.policy, m.title) not in cited],
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
