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

A long list stays a document (issue 14: a 5,200-row list took 42 s and 842 MB to write as PDF,
WeasyPrint laying out every row; decision 0029): the unknown and clear rows are grouped by
product, each product once with its count and row numbers; the rows to act on are shown one
by one up to :data:`ACTED_IN_FULL`, grouped by product beyond it; a section lists at most
:data:`PRODUCTS_SHOWN` products and a product at most :data:`RANGES_SHOWN` runs of row
numbers, the rest counted exactly. The first page says what is listed and where the full
per-row record is (the CSV or XLSX output of the same command).
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
    PerJudgement,
    Policies,
    Quote,
    ReasonClause,
    ReasonToken,
    Relation,
    Say,
    ScreenFinding,
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
#: The rows to act on (restricted, to review) are shown one table row each up to this many;
#: a longer list shows each of their products once, in full, with its rows' numbers (the
#: rows of a product have the same verdict, maker, model, reason and measures).
ACTED_IN_FULL = 200
#: The most products a section lists; the others are counted (products and rows) in one
#: line, with their rows' numbers shortened. The products with the most rows are kept.
PRODUCTS_SHOWN = 100
#: The most runs of consecutive row numbers ("12-14") printed for one product; the others
#: are counted ("and 37 more rows").
RANGES_SHOWN = 24


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


@dataclass(frozen=True)
class ProductGroup:
    """The rows of one section that list the same product, judged alike: its first row in
    full, how many rows, and their numbers as runs ("2, 5-7"), shortened to
    :data:`RANGES_SHOWN` runs."""

    first: ShownRow
    count: int
    numbers: str


@dataclass(frozen=True)
class Section:
    """A section's rows: one by one (``rows``), or grouped by product (``groups``, the
    products kept), and what was left out (products, rows, their numbers)."""

    total: int
    products: int
    rows: tuple[ShownRow, ...] = ()
    groups: tuple[ProductGroup, ...] = ()
    left_products: int = 0
    left_rows: int = 0
    left_numbers: str = ""

    @property
    def grouped(self) -> bool:
        return not self.rows and self.total > 0


def row_runs(numbers: Sequence[int | None], limit: int | None = None) -> str:
    """Row numbers as runs ("2, 5-7, 9"), at most ``limit`` runs (:data:`RANGES_SHOWN`),
    the others counted ("and 12 more rows"); rows without a number (a list read back from
    JSON) counted too."""
    limit = RANGES_SHOWN if limit is None else limit
    known = sorted({n for n in numbers if n is not None})
    runs: list[tuple[int, int]] = []
    for number in known:
        if runs and number == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    shown = runs[:limit]
    words = [str(a) if a == b else f"{a}–{b}" for a, b in shown]
    more = len(numbers) - sum(b - a + 1 for a, b in shown)
    if more:
        words.append(f"and {more:,} more row{'s' if more != 1 else ''}")
    return ", ".join(words)


def _group_key(shown: ShownRow) -> tuple[object, ...]:
    """Rows with this key in common list the same product judged alike (never a different
    product with the same reason)."""
    row = shown.row
    return (row.status, _product(row), row.reason, shown.refs, maker_text(row), row.brand)


def _section(shown: Sequence[ShownRow], one_by_one: bool) -> Section:
    keyed: dict[tuple[object, ...], list[ShownRow]] = {}
    for item in shown:
        keyed.setdefault(_group_key(item), []).append(item)
    if one_by_one:
        return Section(len(shown), len(keyed), rows=tuple(shown))
    products = list(keyed.values())
    # the products with the most rows are kept (in the file's order): they cover the most
    kept = set(sorted(range(len(products)), key=lambda i: (-len(products[i]), i))[:PRODUCTS_SHOWN])
    groups = tuple(
        ProductGroup(items[0], len(items), row_runs([item.row.row for item in items]))
        for index, items in enumerate(products)
        if index in kept
    )
    left = [item for index, items in enumerate(products) if index not in kept for item in items]
    return Section(
        len(shown),
        len(products),
        groups=groups,
        left_products=len(products) - len(kept),
        left_rows=len(left),
        left_numbers=row_runs([item.row.row for item in left], RANGES_SHOWN * 2),
    )


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
    row: ScreenRow,
    found: Sequence[ScreenFinding],
    measures: Mapping[tuple[str, str], ScreenMeasure],
    names: Mapping[str, str],
) -> ShownRow:
    """``found``: the row's binding measures (``row_measures(row)``, computed once a row)."""
    grouped: dict[tuple[str, str | None], list[int]] = {}
    for finding in found:
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


def _not_binding(
    rows: Sequence[ScreenRow], found: Sequence[Sequence[ScreenFinding]]
) -> dict[str, str]:
    """The policies that name a restricted or to-review row's maker only through measures
    that do not bind the reader, or that advise: policy id -> jurisdiction, in order.
    ``found``: each row's binding measures."""
    named: dict[str, str] = {}
    binding: set[str] = set()
    for row, binds in zip(rows, found, strict=True):
        if row.status not in ("restricted", "review"):
            continue
        binding |= {finding.policy for finding in binds}
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
    # each row's binding measures, once (a 20,000-row list spent 13 s computing them thrice)
    measures_of = PerJudgement(row_measures)  # a product listed again: its first row's
    found = [measures_of(row) for row in rows]
    for row, binds in zip(rows, found, strict=True):
        shown = _shown(row, binds, by_key, names)
        cited |= {(f.policy, f.measure) for f in binds}
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
        # an XLSX sheet's rows, or a CSV's lines: what a row's number is (said once)
        "sheet": sheet,
        "title": f"Screening of {summary.source or 'a procurement list'}",
        "acted": _section(acted, len(acted) <= ACTED_IN_FULL),
        "unknown": _section(groups["unknown"], False),
        "clear": _section(groups["clear"], False),
        "acted_in_full": ACTED_IN_FULL,
        "not_binding": _not_binding(rows, found),
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
