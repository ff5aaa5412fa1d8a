"""The compliance report: the facts of :mod:`provscan.compliance.facts` as one self-contained
HTML file, a PDF rendered from it by WeasyPrint, an XLSX workbook with one sheet per section,
or Markdown.

Device text is hostile: the HTML is rendered with Jinja2 autoescaping, the Markdown escapes
every value it prints, and the XLSX guards cells against formula injection.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from provscan.compliance.facts import (
    DEFAULT_DEVICE_PAGES,
    DEFAULT_PRIORITY_ROWS,
    DEFAULT_SCAN_ROWS,
    OBSERVED_SHOWN,
    STALE_AFTER_DAYS,
    UNKNOWN_LISTED,
    DevicePage,
    ReportFacts,
    TrendPoint,
    device_label,
    gather,
    restricting,
)
from provscan.compliance.render import SHOWN_ID
from provscan.errors import ProvscanError
from provscan.model import finding_restricts
from provscan.policy.evaluate import without_cli_advice

if TYPE_CHECKING:
    from jinja2 import Environment
    from markupsafe import Markup

    from provscan.store.db import Store

FORMATS = ("html", "pdf", "xlsx", "md")
#: Rows of each breakdown (jurisdiction, site, maker) in HTML and PDF; the XLSX has all.
BREAKDOWN_ROWS = 25
#: Evidence rows shown on a device page (the strongest; the scan's JSON has them all).
EVIDENCE_ROWS = 12
_PDF_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core"


class ReportError(ProvscanError):
    """A report could not be rendered (exit 1), e.g. the PDF engine is missing."""


def render_report(
    store: Store,
    *,
    fmt: str,
    scan_id: str | None = None,
    site: str | None = None,
    policies: Sequence[str] | None = None,
    title: str | None = None,
    organisation: str | None = None,
    max_device_pages: int = DEFAULT_DEVICE_PAGES,
    now: datetime | None = None,
    acting_as: Sequence[str] | None = None,
) -> bytes:
    """The report in ``fmt`` (html, pdf, xlsx or md) for the inventory, or one scan;
    ``acting_as`` (``report --as``): every device judged for that party."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}")
    facts = gather(
        store,
        scan_id=scan_id,
        site=site,
        policies=policies,
        title=title,
        organisation=organisation,
        max_device_pages=max_device_pages,
        now=now,
        acting_as=acting_as,
    )
    return render_facts(facts, fmt)


def render_facts(facts: ReportFacts, fmt: str) -> bytes:
    if fmt == "html":
        return html_text(facts).encode("utf-8")
    if fmt == "pdf":
        return pdf_bytes(html_text(facts))
    if fmt == "xlsx":
        return xlsx_report(facts)
    if fmt == "md":
        return markdown_text(facts).encode("utf-8")
    raise ValueError(f"unknown report format {fmt!r}")


# --- shared helpers ----------------------------------------------------------------------


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "–"


def _day(moment: datetime | None) -> str:
    return moment.astimezone(UTC).date().isoformat() if moment else "–"


def _minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _short(value: object, limit: int = 200) -> str:
    text = "" if value is None else " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _scan_ref(scan_id: str) -> str:
    """A scan id as the CLI shows it: its first characters, which every command accepts."""
    return scan_id[:SHOWN_ID]


#: Longest word :func:`_unbroken` keeps on one line (wider than any identifier column).
UNBROKEN_CHARS = 26


def _unbroken(value: object) -> Markup:
    """``value`` with each word kept on one line (a model, a CVE id, an effect): a line may
    break between words only, not after a hyphen inside one. A word longer than
    :data:`UNBROKEN_CHARS` may still break, rather than run over the next column."""
    from markupsafe import Markup, escape

    return Markup(" ").join(
        Markup('<span class="nobr">{}</span>').format(word)
        if len(word) <= UNBROKEN_CHARS
        else escape(word)
        for word in str(value).split(" ")
    )


def _words(value: object, limit: int = UNBROKEN_CHARS) -> Markup:
    """A name (a site, an owner) that may break between its words and after its hyphens
    (``townhall-`` ``all-`` ``departments``), never inside a part: in a narrow column a
    site must not read ``townh`` / ``all``. Its column is sized to hold the longest part
    (:func:`priority_columns`, :func:`scan_columns`); a part longer than ``limit`` (what the
    column holds) may still break."""
    from markupsafe import Markup, escape

    def part(text: str) -> Markup:
        if len(text) > limit:
            return Markup(escape(text))
        return Markup('<span class="nobr">{}</span>').format(text)

    return Markup(" ").join(
        Markup(_WBR).join(part(piece) for piece in _pieces(word)) for word in str(value).split(" ")
    )


def _pieces(word: str) -> list[str]:
    """``word`` cut after each hyphen: ``["townhall-", "all-", "departments"]``."""
    pieces = word.split("-")
    return [piece + "-" for piece in pieces[:-1]] + [pieces[-1]]


#: The priority list's columns, in per cent of its width (P, Address, Site, Device, Why,
#: Case, Owner, Last seen, Due), before the site and owner columns are widened to hold their
#: names. The last-seen and due columns hold a date (and "335 days ago", "overdue").
PRIORITY_COLUMNS = {
    "P": 3.0,
    "Address": 13.5,
    "Site": 7.0,
    "Device": 22.0,
    "Why": 17.5,
    "Case": 9.5,
    "Owner": 7.0,
    "Last seen": 10.5,
    "Due": 10.0,
}
#: The share of the list's width one character of its 7.5 pt text takes (about 4.4 pt of
#: 476 pt, the A4 page's text width), and a cell's padding.
_CHAR_PERCENT = 0.93
_PAD_PERCENT = 1.6
#: The widest the site and owner columns grow; the narrowest the device and reason ones get.
_WIDEST_NAME = 17.0
_NARROWEST = {"Device": 17.0, "Why": 15.0}


def priority_columns(rows: Sequence[Any]) -> list[float]:
    """The widths of the priority list's columns (:data:`PRIORITY_COLUMNS` order), the site
    and owner columns wide enough for the longest part of the names shown (up to
    :data:`_WIDEST_NAME`), taken from the device and reason columns, which wrap between
    words."""
    widths = dict(PRIORITY_COLUMNS)
    for name, values in (
        ("Site", [row.site for row in rows]),
        ("Owner", [row.owner for row in rows]),
    ):
        longest = max(
            (
                len(piece)
                for value in values
                if value
                for word in str(value).split(" ")
                for piece in _pieces(word)
                if len(piece) <= UNBROKEN_CHARS
            ),
            default=0,
        )
        wanted = min(longest * _CHAR_PERCENT + _PAD_PERCENT, _WIDEST_NAME)
        for giver in ("Why", "Device"):
            if wanted <= widths[name]:
                break
            given = min(wanted - widths[name], widths[giver] - _NARROWEST[giver])
            widths[giver] -= given
            widths[name] += given
    return [round(width, 1) for width in widths.values()]


#: The methodology's scans table's columns, in per cent of its width (Scan, Kind, Site,
#: Started, Targets, Hosts, Devices, Restricted, Complete): the kind column holds "passive"
#: and the site column a word of ten letters ("montreal" was broken in a 8% column).
SCAN_COLUMNS = {
    "Scan": 13.0,
    "Kind": 9.0,
    "Site": 11.0,
    "Started": 12.0,
    "Targets": 15.0,
    "Hosts": 12.0,
    "Devices": 9.0,
    "Restricted": 8.0,
    "Complete": 11.0,
}
#: The narrowest the scans table's targets column gets (it wraps, and may break a name).
_NARROWEST_TARGETS = 9.0


def scan_columns(lines: Sequence[Any]) -> tuple[list[float], int, int]:
    """The widths of the methodology's scans table (:data:`SCAN_COLUMNS` order), the site
    column wide enough for the longest part of the site names shown (up to
    :data:`_WIDEST_NAME`, taken from the targets column); and the longest part of a site
    name and of a target the site and targets columns hold (longer ones may break, rather
    than run over the next column)."""
    widths = dict(SCAN_COLUMNS)
    longest = max(
        (
            len(piece)
            for line in lines
            if line.summary.site
            for word in str(line.summary.site).split(" ")
            for piece in _pieces(word)
        ),
        default=0,
    )
    wanted = min(longest * _CHAR_PERCENT + _PAD_PERCENT, _WIDEST_NAME)
    if wanted > widths["Site"]:
        given = min(wanted - widths["Site"], widths["Targets"] - _NARROWEST_TARGETS)
        widths["Targets"] -= given
        widths["Site"] += given

    def holds(name: str) -> int:
        return int((widths[name] - _PAD_PERCENT) / _CHAR_PERCENT)

    return [round(width, 1) for width in widths.values()], holds("Site"), holds("Targets")


def _nobr(value: object) -> Markup:
    """``value`` kept on one line (a date, a port): its column is sized to hold it."""
    from markupsafe import Markup

    return Markup('<span class="nobr">{}</span>').format(value)


def _stamp(moment: datetime | None) -> Markup:
    """A moment as a table cell says it: the date and "HH:MM UTC", each kept on one line (a
    narrow column breaks between them, never inside the date)."""
    from markupsafe import Markup

    if moment is None:
        return Markup("–")
    moment = moment.astimezone(UTC)
    return _nobr(moment.date().isoformat()) + Markup(" ") + _nobr(moment.strftime("%H:%M UTC"))


def _breakable(value: object) -> Markup:
    """A dotted name (a rule id, an observation field) that may break after its dots and
    underscores rather than at any letter."""
    from markupsafe import Markup, escape

    text = str(escape(value))
    for mark in (".", "_"):
        text = text.replace(mark, mark + _WBR)
    return Markup(text)


#: The break opportunity :func:`_breakable` inserts. Browsers honour it; WeasyPrint draws it as
#: a zero-width space in its own inline box and does not break there, so :func:`pdf_bytes`
#: hands WeasyPrint the zero-width space itself (not in the PDF's text, not in the HTML file,
#: where it would be copied along with a rule id).
_WBR = "<wbr>"
_ZERO_WIDTH_SPACE = "\u200b"


def _change(pair: object) -> str:
    if isinstance(pair, list | tuple) and len(pair) == 2:
        old, new = pair
        return f"{'–' if old is None else old} → {'–' if new is None else new}"
    return str(pair)


def scope_text(facts: ReportFacts) -> str:
    if facts.scope == "scan":
        return f"one stored scan ({facts.scan_id})"
    where = f"site {facts.site}" if facts.site else "every site"
    return f"the device inventory across all stored scans, {where}"


@dataclass(frozen=True)
class Chart:
    """The trend as SVG geometry (coordinates in the SVG's own units)."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    points: tuple[tuple[float, float, int, TrendPoint], ...]
    polyline: str
    y_ticks: tuple[tuple[float, int], ...]
    x_labels: tuple[tuple[float, str, str], ...]
    markers: bool
    last_value: int
    last_x: float
    last_y: float
    #: What the x labels are, for the caption: "a date below marks where that day's scans
    #: begin", or, when every scan ran on one day, the day and "a time below ...".
    axis_note: str = ""

    @property
    def label_x(self) -> float:
        """Where the last value is written: just right of its point, in the room kept for it
        (nothing is drawn there, so no line or mark runs through it)."""
        return round(self.last_x + 8, 1)

    @property
    def label_y(self) -> float:
        return round(self.last_y + 4, 1)


#: Points drawn as markers (beyond this the line alone is clearer).
_MARKER_LIMIT = 60
#: The *now* point's own place at the right end, this far after the newest scan's: it is no
#: scan (its time is the last change since the newest one, often minutes later in a chart of
#: months), so it is not put on the scans' time axis, and neither the "now" label nor the
#: value written beside the point runs into the newest scan's label, mark or line.
NOW_SLOT = 72


#: The width of an x label's characters (11 px, in the fonts the PDF and browsers use: a
#: digit about 7 units, a hyphen, colon or space about 4, so a date is about 64 units and
#: "2026-12-07 06:39" about 100), and the gap kept between two labels: labels that would
#: come closer are left out.
_DIGIT_WIDTH = 7.0
_MARK_WIDTH = 4.0
_LABEL_GAP = 6.0


def _label_width(text: str) -> float:
    return sum(_DIGIT_WIDTH if char.isalnum() else _MARK_WIDTH for char in text)


def trend_chart(points: Sequence[TrendPoint], width: int = 640, height: int = 220) -> Chart | None:
    """Geometry of the line chart of restricted devices after each scan: the scans in the
    order they ran, evenly spaced, so that each stored scan is a point of its own (on a time
    axis, scans of one day in a chart of months fall on one x and a dip between them is not
    seen). The x labels name the day where each day's scans begin; when every scan ran on
    one day, the time of day of the scans (the first label with the day), as many as fit
    without touching."""
    if not points:
        return None
    now = points[-1] if points[-1].is_now and len(points) > 1 else None
    scans = points[:-1] if now is not None else points
    # room right of the last point for its value (about 7 units a digit at 12px, bold)
    room = 10 + 7 * len(str(points[-1].inventory_restricted))
    left, right, top, bottom = 44, width - 8 - room, 16, height - 28
    scans_right = right - NOW_SLOT if now is not None else right
    highest = max(point.inventory_restricted for point in points)
    step = _nice_step(highest)
    ceiling = max(step * math.ceil(highest / step), step)
    last_index = len(scans) - 1

    def x_at(index: int) -> float:
        if last_index == 0:
            return round((left + scans_right) / 2, 1)
        return round(left + index / last_index * (scans_right - left), 1)

    def x_of(index: int, point: TrendPoint) -> float:
        return right if point is now else x_at(index)

    def y_of(value: int) -> float:
        return round(bottom - value / ceiling * (bottom - top), 1)

    placed = tuple(
        (x_of(index, point), y_of(point.inventory_restricted), point.inventory_restricted, point)
        for index, point in enumerate(points)
    )
    ticks = tuple((y_of(value), value) for value in range(0, ceiling + 1, step))
    # Dates when the scans ran on different days; the time of day only when they all ran
    # on one (then the first label says the day).
    days = {_day(scan.started_at) for scan in scans}
    one_day = len(days) == 1 and last_index > 0
    if one_day:
        texts = [_clock(scan.started_at) for scan in scans]
        texts[0] = _minute(scans[0].started_at)
        note = (
            f"every scan ran on {_day(scans[0].started_at)}: a time below (UTC) is when a "
            "scan started, as many as fit"
        )
    else:
        texts = [_day(scan.started_at) for scan in scans]
        note = "a date below marks where that day's scans begin, as many as fit"
    labels: list[tuple[float, str, str]] = [(placed[0][0], texts[0], "middle")]
    if last_index > 0:
        labels = _x_labels(texts, x_at)
    if now is not None:
        labels.append((right, "now", "end"))
    return Chart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        points=placed,
        polyline=" ".join(f"{x},{y}" for x, y, _, _ in placed),
        y_ticks=ticks,
        x_labels=tuple(labels),
        markers=len(placed) <= _MARKER_LIMIT,
        last_value=placed[-1][2],
        last_x=placed[-1][0],
        last_y=placed[-1][1],
        axis_note=note,
    )


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M")


def _x_labels(texts: Sequence[str], x_at: Any) -> list[tuple[float, str, str]]:
    """The x labels of evenly spaced points labelled ``texts``: the first and the last
    point's, and between them the first point of each new label (a new day, a new time),
    each kept when it stays :data:`_LABEL_GAP` clear of the labels placed before it and of
    the last one (a middle label is centred on its point, or starts at it when the label
    before leaves no room to centre it; the first starts at its point and the last ends at
    it). Each label's room is its own width (:func:`_label_width`), so a long one ("2026-12-07
    06:30") is not drawn over its neighbour."""
    last = len(texts) - 1
    first_x, last_x = x_at(0), x_at(last)
    if len(set(texts)) == 1:  # every point has the same label
        return [(round((first_x + last_x) / 2, 1), texts[0], "middle")]
    labels: list[tuple[float, str, str]] = [(first_x, texts[0], "start")]
    edge = first_x + _label_width(texts[0]) + _LABEL_GAP  # the room taken so far ends here
    limit = last_x - _label_width(texts[last]) - _LABEL_GAP  # the last label's room begins
    for index in range(1, last):
        if texts[index] == texts[index - 1]:
            continue
        x, wide = x_at(index), _label_width(texts[index])
        if x - wide / 2 >= edge and x + wide / 2 <= limit:
            labels.append((x, texts[index], "middle"))
            edge = x + wide / 2 + _LABEL_GAP
        elif x >= edge and x + wide <= limit:  # starting at its point
            labels.append((x, texts[index], "start"))
            edge = x + wide + _LABEL_GAP
    if edge <= limit + _LABEL_GAP:  # clear of the labels before it (a chart this narrow
        labels.append((last_x, texts[last], "end"))  # is no chart: then the first alone)
    return labels


def _nice_step(highest: int) -> int:
    """A round tick step giving about four ticks up to ``highest``."""
    if highest <= 4:
        return 1
    raw = highest / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return int(factor * magnitude)
    return int(10 * magnitude)


@dataclass(frozen=True)
class CitedMeasure:
    number: int
    policy: str
    jurisdiction: str
    measure: str
    effect: str
    effective: str | None
    citation: str
    scope_note: str


def _measure_key(finding: dict[str, Any]) -> tuple[str, str]:
    return str(finding.get("policy")), str(finding.get("measure"))


def cited_measures(pages: Sequence[DevicePage]) -> list[CitedMeasure]:
    """Each measure the device pages cite, once, numbered in order of first citation
    (restricting findings first), so that a page lists references, not whole citations."""
    found: dict[tuple[str, str], CitedMeasure] = {}
    for restricting_pass in (True, False):
        for page in pages:
            for finding in page.document.get("findings", []):
                key = _measure_key(finding)
                if key in found or restricting(finding) != restricting_pass:
                    continue
                found[key] = CitedMeasure(
                    number=len(found) + 1,
                    policy=key[0],
                    jurisdiction=str(finding.get("jurisdiction") or key[0]),
                    measure=key[1],
                    effect=str(finding.get("effect") or ""),
                    effective=finding.get("effective"),
                    citation=str(finding.get("citation") or ""),
                    scope_note=str(finding.get("scope_note") or ""),
                )
    return list(found.values())


@dataclass(frozen=True)
class FindingGroup:
    """The restricting findings of one device in one jurisdiction."""

    jurisdiction: str
    policies: tuple[str, ...]
    effects: tuple[str, ...]
    since: str | None
    refs: tuple[int, ...]


#: What the title page says when no organisation was named (once: the page heads stay empty).
ORGANISATION_HINT = (
    'No organisation named: provscan report --organisation "NAME" puts it here and at the '
    "top of every page."
)


def restricts_on_condition(finding: dict[str, Any]) -> bool:
    """Whether a stored finding would restrict the device for the user once its ``condition``
    (a kind of device, a site, when it was bought: what the evidence cannot settle) holds:
    said apart from both the restricting measures and those restricting nothing."""
    return bool(finding.get("condition")) and finding_restricts(finding | {"condition": None})


def grouped_findings(
    document: dict[str, Any], numbers: dict[tuple[str, str], int]
) -> list[FindingGroup]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for finding in document.get("findings", []):
        if restricting(finding):
            jurisdiction = str(finding.get("jurisdiction") or finding.get("policy"))
            groups.setdefault(jurisdiction, []).append(finding)
    return [
        FindingGroup(
            jurisdiction=jurisdiction,
            policies=tuple(dict.fromkeys(str(f.get("policy")) for f in found)),
            effects=tuple(dict.fromkeys(str(f.get("effect")) for f in found)),
            since=min((str(f["effective"]) for f in found if f.get("effective")), default=None),
            refs=tuple(
                sorted({numbers[key] for f in found if (key := _measure_key(f)) in numbers})
            ),
        )
        for jurisdiction, found in groups.items()
    ]


def shown_evidence(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The observations that carried the identification first (a rule, most certain)."""
    evidence = list(document.get("evidence", []))
    evidence.sort(key=lambda e: (e.get("rule_id") is None, -float(e.get("certainty") or 0)))
    return evidence[:EVIDENCE_ROWS]


# --- HTML and PDF ------------------------------------------------------------------------


@cache
def _environment(markdown: bool = False) -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    if markdown:
        environment = Environment(
            loader=PackageLoader("provscan.compliance", "templates"),
            autoescape=False,
            finalize=markdown_escape,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    else:
        environment = Environment(
            loader=PackageLoader("provscan.compliance", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    # Device notes as a report says them: no command-line advice (older scans' notes had it).
    environment.filters.update(
        when=_when,
        day=_day,
        short=_short,
        change=_change,
        note=without_cli_advice,
        scan_ref=_scan_ref,
        unbroken=_unbroken,
        breakable=_breakable,
        words=_words,
        nobr=_nobr,
        stamp=_stamp,
    )
    environment.tests.update(restricting=restricting, conditional=restricts_on_condition)
    environment.globals.update(device_label=device_label)
    return environment


def _context(facts: ReportFacts) -> dict[str, Any]:
    measures = cited_measures(facts.pages)
    numbers = {(m.policy, m.measure): m.number for m in measures}
    return {
        "f": facts,
        "measures": measures,
        "measure_ref": lambda finding: numbers.get(_measure_key(finding), 0),
        "organisation_hint": ORGANISATION_HINT,
        "grouped_findings": lambda document: grouped_findings(document, numbers),
        "shown_evidence": shown_evidence,
        "priority_columns": priority_columns(facts.priority[:DEFAULT_PRIORITY_ROWS]),
        "scan_columns": scan_columns(facts.scans[:DEFAULT_SCAN_ROWS]),
        "scope_text": scope_text(facts),
        "chart": trend_chart(facts.trend),
        "breakdowns": (
            ("jurisdiction", "jurisdiction", facts.by_jurisdiction),
            ("site", "site", facts.by_site),
            ("maker", "maker", facts.by_maker),
        ),
        "priority_rows": DEFAULT_PRIORITY_ROWS,
        "breakdown_rows": BREAKDOWN_ROWS,
        "scan_rows": DEFAULT_SCAN_ROWS,
        "evidence_rows": EVIDENCE_ROWS,
        "observed_chars": OBSERVED_SHOWN,
        "scan_ref_chars": SHOWN_ID,
        "unknown_listed": UNKNOWN_LISTED,
        "stale_after_days": STALE_AFTER_DAYS,
    }


def html_text(facts: ReportFacts) -> str:
    """One self-contained HTML document: inline CSS and SVG, no script, no external asset."""
    from markupsafe import Markup

    environment = _environment()
    css = environment.loader.get_source(environment, "report.css")[0]  # type: ignore[union-attr]
    template = environment.get_template("report.html.j2")
    # The stylesheet is ours, not device text: inserted as is.
    return template.render(_context(facts), css=Markup(css))


def pdf_bytes(html: str) -> bytes:
    """The PDF of a report's HTML (WeasyPrint; one-line ReportError when it cannot run)."""
    try:
        with warnings.catch_warnings():
            # Older distributions lack HarfBuzz-Subset; WeasyPrint works without it.
            warnings.filterwarnings("ignore", "HarfBuzz-Subset", DeprecationWarning)
            import weasyprint
    except (ImportError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReportError(
            "PDF output needs WeasyPrint and the Pango library "
            f"(pip install weasyprint; Debian: apt-get install {_PDF_PACKAGES}): {first}"
        ) from exc
    try:
        # The report references nothing outside itself; should text ever name a URL, a
        # fetcher that allows no protocol makes sure rendering opens no file or socket.
        data = weasyprint.HTML(
            string=html.replace(_WBR, _ZERO_WIDTH_SPACE),
            base_url=None,
            url_fetcher=_refusing_fetcher(),
        ).write_pdf()
    except Exception as exc:  # the engine's failures have no common base class
        raise ReportError(f"cannot render the PDF: {type(exc).__name__}: {exc}") from exc
    if not isinstance(data, bytes):
        raise ReportError("cannot render the PDF: the engine returned nothing")
    return data


def _refusing_fetcher() -> Any:
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # WeasyPrint before the URLFetcher class took a function

        def refuse(url: str, *args: Any, **kwargs: Any) -> Any:
            raise ValueError(f"a report fetches nothing: {url}")

        return refuse
    return URLFetcher(allowed_protocols=frozenset())


# --- Markdown ----------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def markdown_escape(value: object) -> str:
    """Any value as Markdown text that renders as itself: no markup, links, HTML or table
    breaks, on one line."""
    if value is None:
        return ""
    text = " ".join(str(value).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def markdown_text(facts: ReportFacts) -> str:
    template = _environment(markdown=True).get_template("report.md.j2")
    return template.render(_context(facts))


# --- XLSX --------------------------------------------------------------------------------


#: The To review sheet's reason for a device past the rows whose reasons were read.
_REASONS_NOT_READ = "not read (more devices to review than the report reads): see the device"


def xlsx_report(facts: ReportFacts) -> bytes:
    """Sheets Summary, Priority, Unaccounted, To review, Closed cases, Devices, Cases, Scans
    and Methodology, every row in full."""
    from provscan.compliance.render import INVENTORY_COLUMNS, inventory_rows, xlsx_bytes

    # what the figures cannot be trusted for, after the statement it qualifies
    warnings: list[list[object]] = [
        [label, text]
        for label, text in (
            ("Warning", facts.unfinished_warning),
            ("Old data", facts.stale_warning),
            ("Old data at some sites", facts.stale_sites_warning),
        )
        if text
    ]
    warnings.extend([f"Old data: site {site.name}", site.text] for site in facts.stale_sites)
    # what the devices of makers named by measures that do not bind the user come to
    not_binding: list[list[object]] = (
        [["Statement on them", facts.not_binding_sentence]] if facts.not_binding_sentence else []
    )
    other_party: list[list[object]] = (
        [["Scans judged for another party", facts.other_party_note]]
        if facts.other_party_note
        else []
    )
    summary: list[list[object]] = [
        ["Title", facts.title],
        ["Organisation", facts.organisation or ORGANISATION_HINT],
        ["Report date", _when(facts.generated_at)],
        ["Data as of", _when(facts.as_of)],
        ["Scope", scope_text(facts)],
        ["Verdicts judged for", facts.judged_for_sentence],
        *other_party,
        ["Statement", facts.remaining_sentence],
        ["Incomplete scans the figures rest on", len(facts.unfinished)],
        *warnings,
        ["Restricted devices remaining", facts.remaining],
        *(
            [
                [
                    "Restricted devices unaccounted for (no longer seen, no removal recorded)",
                    len(facts.unaccounted),
                ]
            ]
            if facts.scope == "inventory"
            else []
        ),
        ["Devices to review", facts.to_review],
        ["Devices of makers named by measures that do not bind you", facts.not_binding_total],
        *not_binding,
        ["Restricted devices (incl. verified removed and gone)", facts.restricted_total],
        ["Devices in scope", facts.devices_total],
        ["Open cases", facts.cases_open],
        ["Overdue cases", facts.cases_overdue],
        ["Devices with priority-1 findings", facts.priority_one],
        ["Cases closed in the period", facts.closed_total],
        [],
    ]
    for heading, items in (
        ("Jurisdiction", facts.by_jurisdiction),
        ("Site", facts.by_site),
        ("Maker", facts.by_maker),
    ):
        summary.append([f"Remaining restricted devices by {heading.lower()}", ""])
        summary.extend([name, count] for name, count in items)
        summary.append([])
    if facts.not_binding:
        summary.append(["Devices of makers named by measures that do not bind you, by maker", ""])
        summary.extend([name, count] for name, count in facts.not_binding)
        summary.append([])
    summary.append(["Trend: restricted devices remaining in the inventory after each scan", ""])
    summary.extend(
        [
            f"now (changes since the newest scan, the last {_when(p.started_at)})"
            if p.is_now
            else _when(p.started_at),
            p.inventory_restricted,
        ]
        for p in facts.trend
    )
    priority = [
        [
            row.priority,
            row.ip,
            row.site or "",
            row.device,
            row.reason,
            row.device_id,
            row.case_id,
            row.case_status or "",
            row.owner or "",
            row.due or "",
            "yes" if row.overdue else "no",
            _when(row.last_seen) if row.last_seen else "",
        ]
        for row in facts.priority
    ]
    unaccounted = [
        [
            row.ip,
            row.site or "",
            row.device,
            row.mac or "",
            row.serial or "",
            _when(row.last_seen) if row.last_seen else "",
            row.device_id,
            row.case_id,
            row.case_status or "",
            row.owner or "",
            row.due or "",
            row.to_close,
        ]
        for row in facts.unaccounted
    ]
    review = [
        [
            row.ip,
            row.site or "",
            row.status,
            row.brand or "",
            row.model or "",
            " or ".join(row.candidates),
            "; ".join(row.if_confirmed),
            " | ".join(row.reasons) if row.read else _REASONS_NOT_READ,
            " ".join(row.settle),
            row.device_id,
            row.last_seen or "",
            " | ".join(row.if_made_by),
        ]
        for row in facts.review
    ]
    closed = [
        [
            item.case.id,
            item.case.device_id,
            item.ip,
            item.site or "",
            item.device,
            item.case.subject,
            item.action,
            item.actor or "",
            _when(item.acted_at) if item.acted_at else "",
            item.note,
            item.proof_scan or "",
            _when(item.proof_started) if item.proof_started else "",
            _when(item.verified_at),
            item.verified_by,
            item.proof_note,
            "\n".join(step.text(compact=False) for step in item.history),
        ]
        for item in facts.closed
    ]
    cases = [
        [
            case.id,
            case.device_id,
            case.subject,
            case.status,
            case.owner or "",
            case.due or "",
            "yes" if case.overdue else "no",
            _when(case.opened_at),
            _when(case.updated_at),
            case.reason,
            "\n".join(step.text(compact=False) for step in facts.case_history.get(case.id, ())),
        ]
        for case in facts.cases
    ]
    scans = [
        [
            line.summary.id,
            line.summary.kind,
            line.summary.site or "",
            _when(line.summary.started_at),
            _when(line.summary.finished_at),
            ", ".join(line.summary.targets),
            line.hosts_scanned,
            line.hosts_responding,
            line.summary.devices,
            line.summary.restricted,
            "yes" if line.summary.complete else "no",
            "yes" if line.summary.covering else "no",
            line.judged_for,
            ", ".join(map(str, line.ports)) if line.ports is not None else "",
            line.origin,
        ]
        for line in facts.scans
    ]
    methodology: list[list[object]] = [
        ["Scans in scope", len(facts.scans)],
        ["Incomplete scans", len(facts.incomplete_scans)],
        ["Hosts that did not answer", facts.silent_hosts],
        ["Devices of unknown maker", len(facts.unknown_maker)],
        ["Knowledge the scans recorded", facts.knowledge.summary],
        ["Knowledge at report time", f"{facts.knowledge.source} {facts.knowledge.version}"],
        ["Its as-of date", facts.knowledge.as_of or "not stated"],
        ["provscan version", facts.knowledge.tool_version],
        [],
        ["Policy", "Jurisdiction / measure set"],
    ]
    methodology.extend(
        [pid, f"{jurisdiction}: {name}"] for pid, jurisdiction, name in facts.knowledge.policies
    )
    methodology.extend([[], ["Unknown-maker device", "Address"]])
    methodology.extend([d["device_id"], d["ip"]] for d in facts.unknown_maker)
    return xlsx_bytes(
        [
            ("Summary", ["Item", "Value"], summary),
            (
                "Priority",
                [
                    "priority",
                    "ip",
                    "site",
                    "device",
                    "why",
                    "device_id",
                    "case_id",
                    "case_status",
                    "owner",
                    "due",
                    "overdue",
                    "last_seen",
                ],
                priority,
            ),
            (
                "Unaccounted",
                [
                    "ip",
                    "site",
                    "device",
                    "mac",
                    "serial",
                    "last_seen",
                    "device_id",
                    "case_id",
                    "case_status",
                    "owner",
                    "due",
                    "what_would_close_it",
                ],
                unaccounted,
            ),
            (
                "To review",
                [
                    "ip",
                    "site",
                    "status",
                    "brand",
                    "model",
                    "candidate_makers",
                    "if_confirmed",
                    "why",
                    "what_would_settle_it",
                    "device_id",
                    "last_seen",
                    "advice_if_maker_confirmed",
                ],
                review,
            ),
            (
                "Closed cases",
                [
                    "case_id",
                    "device_id",
                    "ip",
                    "site",
                    "device",
                    "subject",
                    "action",
                    "by",
                    "at",
                    "note",
                    "proof_scan",
                    "proof_scan_started",
                    "verified_at",
                    "verified_by",
                    "proof",
                    "before_this_closing",
                ],
                closed,
            ),
            (
                "Devices",
                INVENTORY_COLUMNS,
                inventory_rows(facts.devices),
            ),
            (
                "Cases",
                [
                    "id",
                    "device_id",
                    "subject",
                    "status",
                    "owner",
                    "due",
                    "overdue",
                    "opened_at",
                    "updated_at",
                    "reason",
                    "removals_verifications_reopenings",
                ],
                cases,
            ),
            (
                "Scans",
                [
                    "id",
                    "kind",
                    "site",
                    "started_at",
                    "finished_at",
                    "targets",
                    "hosts_scanned",
                    "hosts_responding",
                    "devices",
                    "restricted",
                    "complete",
                    "covering",
                    "judged_for",
                    "ports",
                    "run_by",
                ],
                scans,
            ),
            ("Methodology", ["Item", "Value"], methodology),
        ],
        generated_at=facts.generated_at.replace(second=0, microsecond=0),  # as it states
    )


#: Rows read to size a sheet's columns (the rest are streamed).
