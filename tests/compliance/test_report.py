"""The compliance report, tested by rendering it from a real store and reading it back: the
HTML parsed, the PDF's text extracted, the XLSX opened, each checked against the store."""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_history import (
    HOSTILE_FORMULA,
    HOSTILE_MODEL,
    HOSTILE_OBSERVED,
    HOSTILE_SITE,
    SILENT_ADDRESS,
    ReportStore,
)
from typer.testing import CliRunner

from provscan.cli import app
from provscan.compliance.report import markdown_escape, render_report
from provscan.knowledge.policies import NON_RESTRICTING_EFFECTS
from provscan.store.cases import RESTRICTED
from provscan.store.db import Store

# --- what the store says, computed here from its public API ------------------------------


@dataclass(frozen=True)
class Expected:
    devices: int
    remaining: set[str]
    priority_one: set[str]
    cases: int
    cases_open: int
    cases_overdue: int
    #: (scan id, restricted devices remaining in the inventory after it), oldest first
    trend: list[tuple[str, int]]
    scans: int
    incomplete: int
    unknown_maker: int
    silent_hosts: int
    as_of: date

    @property
    def pages(self) -> set[str]:
        return self.remaining | self.priority_one


def expected(store: Store) -> Expected:
    devices = store.inventory()
    cases = store.cases()
    verified = {c.device_id for c in cases if c.subject == RESTRICTED and c.status == "verified"}
    remaining = {
        d.device_id
        for d in devices
        if d.restricted and d.status != "gone" and d.device_id not in verified
    }
    priority_one = {
        c.device_id for c in cases if c.subject != RESTRICTED and c.status != "verified"
    }
    scans = sorted(store.scans(None), key=lambda s: s.started_at)
    # The trend: after each scan, the devices whose newest sighting so far was restricted,
    # less those whose restricted-maker case a scan so far verified (no device of this
    # store is gone).
    newest_verdict: dict[str, bool] = {}
    verified_by = {
        c.device_id: {e.scan_id for e in store.case(c.id).events if e.action == "verified"}
        for c in cases
        if c.subject == RESTRICTED
    }
    trend = []
    done: set[str] = set()
    for scan in scans:
        document = store.load(scan.id)
        for position, (device_id, _rule) in store.sightings(scan.id).items():
            newest_verdict[device_id] = document.devices[position].restricted
        done.add(scan.id)
        left = {
            d
            for d, restricted in newest_verdict.items()
            if restricted and not verified_by.get(d, set()) & done
        }
        trend.append((scan.id, len(left)))
    # Silent hosts, each address once: both HQ scans set out to probe the same addresses, so
    # the newest one's silent hosts are the site's; the hostile site's scan covers nothing.
    sections = {s.id: s for s in store.list_scans(None)}
    newest_at_site = {scan.site: sections[scan.id] for scan in scans}
    assert len({frozenset(s.targets) for s in scans if s.site == "HQ"}) == 1
    return Expected(
        devices=len(devices),
        remaining=remaining,
        priority_one=priority_one,
        cases=len(cases),
        cases_open=sum(c.status != "verified" for c in cases),
        cases_overdue=len(store.cases(overdue=True)),
        trend=trend,
        scans=len(scans),
        incomplete=sum(not s.complete for s in scans),
        unknown_maker=sum(d.manufacturer is None for d in devices),
        silent_hosts=sum(s.hosts_scanned - s.hosts_responding for s in newest_at_site.values()),
        as_of=scans[-1].started_at.astimezone(UTC).date(),
    )


# --- a small DOM from the standard library's parser --------------------------------------

_VOID = {"meta", "link", "br", "col", "img", "hr", "input", "source", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return " ".join(" ".join(parts).split())

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        def matches(element: Element) -> bool:
            if tag and element.tag != tag:
                return False
            for name, value in attrs.items():
                name = name.rstrip("_")
                if name == "class":
                    if value not in element.attrs.get("class", "").split():
                        return False
                elif element.attrs.get(name) != value:
                    return False
            return True

        return [e for e in self.iter() if matches(e)]

    def by_id(self, element_id: str) -> Element:
        found = self.find_all(id=element_id)
        assert len(found) == 1, f"{len(found)} elements with id {element_id!r}"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Element:
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root


def _number(element: Element) -> int:
    return int(element.text())


# --- fixtures ----------------------------------------------------------------------------

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ORGANISATION = "Department of Examples"


@pytest.fixture(scope="module")
def store(report_store: ReportStore) -> Iterator[Store]:
    with report_store.open() as opened:
        yield opened


@pytest.fixture(scope="module")
def truth(store: Store) -> Expected:
    return expected(store)


@pytest.fixture(scope="module")
def html(store: Store) -> str:
    return render_report(store, fmt="html", organisation=ORGANISATION, now=NOW).decode()


@pytest.fixture(scope="module")
def dom(html: str) -> Element:
    return parse_html(html)


# --- the history the report is built on --------------------------------------------------


def test_the_store_holds_the_history_the_report_tells(
    store: Store, report_store: ReportStore
) -> None:
    removed = store.case(report_store.removed_case)
    assert removed.status == "verified"
    assert [e.actor for e in removed.events][1:3] == ["alice", "alice"]
    assert store.case(report_store.overdue_case).overdue
    assert len(store.scans(None)) == 3
    assert any(d.model == HOSTILE_MODEL for d in store.inventory())


# --- HTML --------------------------------------------------------------------------------


def test_html_summary_matches_the_store(dom: Element, truth: Expected) -> None:
    assert _number(dom.by_id("kpi-remaining")) == len(truth.remaining)
    assert _number(dom.by_id("kpi-devices")) == truth.devices
    assert _number(dom.by_id("kpi-open")) == truth.cases_open
    assert _number(dom.by_id("kpi-overdue")) == truth.cases_overdue == 1
    assert _number(dom.by_id("kpi-p1")) == len(truth.priority_one) >= 1
    sentence = dom.by_id("remaining").text()
    assert sentence == (
        f"As of {truth.as_of.isoformat()}, {len(truth.remaining)} restricted devices remain."
    )
    cases_line = dom.by_id("cases-line").text()
    assert cases_line.startswith(f"{truth.cases} cases: {truth.cases_open} open")
    assert f"{truth.cases_overdue} overdue" in cases_line


def test_html_breakdowns_add_up(dom: Element, store: Store, truth: Expected) -> None:
    def rows(table_id: str) -> dict[str, int]:
        table = dom.by_id(table_id)
        found = {}
        for row in table.find_all("tr")[1:]:
            cells = row.find_all("td")
            found[cells[0].text()] = int(cells[1].text())
        return found

    by_site = rows("by-site")
    assert sum(by_site.values()) == len(truth.remaining)
    assert by_site["HQ"] == sum(
        1 for d in store.inventory(site="HQ") if d.device_id in truth.remaining
    )
    assert by_site[HOSTILE_SITE] == 1
    assert sum(rows("by-maker").values()) == len(truth.remaining)
    by_jurisdiction = rows("by-jurisdiction")
    devices = {d.device_id: d for d in store.inventory()}
    for jurisdiction, count in by_jurisdiction.items():
        assert count == sum(
            any(
                f.get("jurisdiction") == jurisdiction
                and f.get("effect") not in NON_RESTRICTING_EFFECTS
                and f.get("binding") is not False
                for f in devices[device_id].findings
            )
            for device_id in truth.remaining
        )
    # context-only measures (Denmark, New Zealand) restrict nothing: never counted
    assert "Denmark" not in by_jurisdiction


def test_html_trend_chart_has_a_point_per_scan(dom: Element, truth: Expected) -> None:
    chart = dom.by_id("trend")
    assert chart.tag == "svg"
    points = [(c.attrs["data-scan"], int(c.attrs["data-value"])) for c in chart.find_all("circle")]
    assert points == truth.trend
    # the second scan found one restricted camera fewer (removed and verified)
    assert truth.trend[1][1] == truth.trend[0][1] - 1
    # and the newest point is the headline's number
    assert truth.trend[-1][1] == len(truth.remaining)


def test_html_priority_list_and_device_pages(dom: Element, store: Store, truth: Expected) -> None:
    listed = {row.attrs["data-device"] for row in dom.find_all("tr", class_="priority-row")}
    assert listed == truth.pages
    pages = {a.attrs["data-device"] for a in dom.find_all("article", class_="device")}
    assert pages == truth.pages
    # the verified removal is gone from both; the overdue case is marked
    removed = store.case(next(c.id for c in store.cases(status="verified")))
    assert removed.device_id not in pages
    overdue = store.cases(overdue=True)[0]
    row = next(
        r
        for r in dom.find_all("tr", class_="priority-row")
        if r.attrs["data-device"] == overdue.device_id
    )
    assert "overdue" in row.text() and "2026-01-31" in row.text()


def test_html_device_page_has_evidence_findings_posture_and_history(
    dom: Element, store: Store, truth: Expected
) -> None:
    device_id = sorted(truth.priority_one)[0]
    page = dom.by_id(f"device-{device_id}")
    text = page.text()
    inventory, document, cases = store.device(device_id)
    assert inventory.ip in page.find_all("h3")[0].text()
    assert "CVE-2021-36260" in text
    assert "yes (KEV)" in text
    for case in cases:
        assert f"Case #{case.id}" in text
    assert page.find_all("table", class_="evidence")
    refs = [a.attrs["href"] for a in page.find_all("a")]
    assert refs and all(dom.find_all(id=ref[1:]) for ref in refs)
    cited = dom.by_id("measure-list").text()
    assert document["findings"][0]["citation"].split()[0] in cited


def test_html_methodology(dom: Element, store: Store, truth: Expected) -> None:
    rows = dom.by_id("scans").find_all("tr", class_="scan-row")
    assert {r.attrs["data-scan"] for r in rows} == {s.id for s in store.scans(None)}
    gaps = [li.text() for li in dom.by_id("gaps").find_all("li")]
    assert gaps[0].startswith(f"{truth.incomplete} incomplete scan")
    # the silent address and the removed camera's, counted once though two scans probed them
    assert truth.silent_hosts == 2
    assert gaps[1].startswith(f"{truth.silent_hosts} scanned hosts did not answer")
    assert gaps[2].startswith(f"{truth.unknown_maker} device")
    knowledge = dom.by_id("knowledge").text()
    from provscan import __version__
    from provscan.knowledge.packs import active_pack

    assert active_pack().version in knowledge and __version__ in knowledge
    assert SILENT_ADDRESS not in {d.ip for d in store.inventory()}


def test_html_is_self_contained_and_escapes_device_text(html: str, dom: Element) -> None:
    assert not dom.find_all("script")
    assert not [e for e in dom.iter() if any(k.startswith("on") for k in e.attrs)]
    for element in dom.iter():
        for name in ("src", "href"):
            assert not element.attrs.get(name, "#").startswith(("http", "//", "data:", "x")), (
                element.tag,
                element.attrs,
            )
    assert not dom.find_all("link") and not dom.find_all("img")
    assert "@import" not in html and "url(" not in html
    # the hostile text is shown as text, in the page of its device
    heading = [h.text() for h in dom.find_all("h3")]
    assert any(HOSTILE_MODEL in h for h in heading)
    assert HOSTILE_OBSERVED in dom.text()
    assert "&lt;script&gt;alert(&#34;model&#34;)" in html
    assert HOSTILE_SITE in dom.by_id("by-site").text()


def test_html_title_page(dom: Element) -> None:
    title = dom.by_id("title").text()
    assert ORGANISATION in title
    assert "2026-12-03 12:00 UTC" in title
    assert "the device inventory across all stored scans" in title


def test_site_and_scan_scopes(store: Store, report_store: ReportStore) -> None:
    hq = parse_html(render_report(store, fmt="html", site="HQ", now=NOW).decode())
    hq_devices = store.inventory(site="HQ")
    assert _number(hq.by_id("kpi-devices")) == len(hq_devices)
    assert HOSTILE_SITE not in hq.text()
    one = parse_html(
        render_report(store, fmt="html", scan_id=report_store.first_scan, now=NOW).decode()
    )
    first = store.scan_summary(report_store.first_scan)
    assert _number(one.by_id("kpi-devices")) == first.devices
    assert _number(one.by_id("kpi-remaining")) == first.restricted
    assert [r.attrs["data-scan"] for r in one.find_all("tr", class_="scan-row")] == [first.id]
    # The id as `provscan scans` shows it (12 characters) reports the same scan, not an empty
    # one: it gave "Devices in scope 0 ... Nothing to do" for a scan with restricted devices.
    short = parse_html(render_report(store, fmt="html", scan_id=first.id[:12], now=NOW).decode())
    assert first.restricted > 0
    assert _number(short.by_id("kpi-devices")) == first.devices
    assert _number(short.by_id("kpi-remaining")) == first.restricted
    assert store.sightings(first.id[:12]) == store.sightings(first.id)


def test_policy_selection_counts_only_its_measures(store: Store) -> None:
    # The scans judged as a national government body (no --as): the Texas measures are
    # listed but do not bind it, so a Texas-only report counts nothing (decision 0015) ...
    texas_only = parse_html(render_report(store, fmt="html", policies=["us-tx"], now=NOW).decode())
    assert _number(texas_only.by_id("kpi-remaining")) == 0
    # ... and a US-only report counts the devices a binding US measure restricts.
    dom = parse_html(render_report(store, fmt="html", policies=["us"], now=NOW).decode())
    truth = expected(store)
    devices = {d.device_id: d for d in store.inventory()}
    federal = {
        device_id
        for device_id in truth.remaining
        if any(
            f.get("policy") == "us"
            and f.get("effect") not in NON_RESTRICTING_EFFECTS
            and f.get("binding") is not False
            for f in devices[device_id].findings
        )
    }
    assert federal and _number(dom.by_id("kpi-remaining")) == len(federal)
    names = {r.text() for r in dom.by_id("by-jurisdiction").find_all("td")[::3]}
    assert names == {"United States"}


# --- PDF ---------------------------------------------------------------------------------


def _weasyprint_or_skip() -> None:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        if os.environ.get("CI"):
            raise  # CI installs WeasyPrint and Pango: their absence is a failure there
        pytest.skip(f"WeasyPrint cannot load: {exc}")


def test_pdf_text_carries_the_same_numbers(store: Store, truth: Expected, tmp_path: Path) -> None:
    _weasyprint_or_skip()
    from pypdf import PdfReader

    data = render_report(store, fmt="pdf", organisation=ORGANISATION, now=NOW)
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    pages = [" ".join((page.extract_text() or "").split()) for page in reader.pages]
    text = " ".join(pages)
    assert ORGANISATION in pages[0]
    assert (
        f"As of {truth.as_of.isoformat()}, {len(truth.remaining)} restricted devices remain."
        in text
    )
    assert f"{truth.cases} cases: {truth.cases_open} open" in text
    assert f"{truth.cases_overdue} overdue" in text
    assert f"Page 1 of {len(reader.pages)}" in pages[0]
    # a page (at least) per device on the priority list
    devices = {d.device_id: d for d in store.inventory()}
    for device_id in truth.pages:
        ip = devices[device_id].ip
        assert any(f"Device id {device_id}" in page and ip in page for page in pages), ip
    assert HOSTILE_MODEL in text


def test_pdf_without_the_engine_is_one_clear_line(
    report_store: ReportStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails as when not installed
    output = tmp_path / "report.pdf"
    result = CliRunner().invoke(
        app, ["report", "--db", str(report_store.path), "-o", str(output)], catch_exceptions=False
    )
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert "PDF output needs WeasyPrint and the Pango library" in message
    assert "Traceback" not in result.output
    assert not output.exists()


# --- XLSX and Markdown -------------------------------------------------------------------


def test_xlsx_has_a_sheet_per_section_with_every_row(store: Store, truth: Expected) -> None:
    from openpyxl import load_workbook

    data = render_report(store, fmt="xlsx", now=NOW)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == [
        "Summary",
        "Priority",
        "Unaccounted",
        "To review",
        "Closed cases",
        "Devices",
        "Cases",
        "Scans",
        "Methodology",
    ]
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Restricted devices remaining"] == len(truth.remaining)
    assert summary["Open cases"] == truth.cases_open
    assert summary["Overdue cases"] == truth.cases_overdue
    assert book["Devices"].max_row - 1 == truth.devices
    assert book["Cases"].max_row - 1 == truth.cases
    assert book["Scans"].max_row - 1 == truth.scans
    priority_devices = {row[5] for row in book["Priority"].iter_rows(min_row=2, values_only=True)}
    assert priority_devices == truth.pages
    methodology = {r[0]: r[1] for r in book["Methodology"].iter_rows(values_only=True) if r[0]}
    assert methodology["Incomplete scans"] == truth.incomplete
    assert methodology["Hosts that did not answer"] == truth.silent_hosts
    # device text never runs as a formula
    cells = [c for row in book["Devices"].iter_rows(values_only=True) for c in row]
    assert f"'{HOSTILE_FORMULA}" in cells
    assert HOSTILE_FORMULA not in cells
    assert not any(isinstance(c, str) and c.startswith("=") for c in cells)


def test_markdown_has_the_sections_and_escapes(store: Store, truth: Expected) -> None:
    text = render_report(store, fmt="md", now=NOW).decode()
    for heading in ("## 1. Executive summary", "## 2. Priority list", "## 3. To review"):
        assert heading in text
    assert "## 4. Closed cases" in text and "## 5. Devices" in text
    assert "## 6. Measures cited" in text and "## 7. Methodology" in text
    assert (
        f"As of {truth.as_of.isoformat()}, {len(truth.remaining)} restricted devices remain."
        in text
    )
    assert HOSTILE_MODEL not in text
    assert markdown_escape(HOSTILE_MODEL) in text
    assert not re.search(r"(?<!\\)<", text)  # every < is escaped: no HTML in the text
    # table rows keep their columns: no device text adds a cell
    for line in text.splitlines():
        if line.startswith("| 2 |") or line.startswith("| 1 |"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 9, line


def _numbered_sections(headings: list[str]) -> dict[str, int]:
    """Section title -> its number, of the headings that start with one ("4. Measures
    cited")."""
    found = {}
    for heading in headings:
        match = re.fullmatch(r"(\d+)\. (.+)", heading.strip())
        if match:
            found[match.group(2)] = int(match.group(1))
    return found


def test_sections_are_numbered_in_order_and_references_name_the_measures_section(
    store: Store, html: str
) -> None:
    # The HTML (and so the PDF) and the Markdown number their sections alike, 1, 2, 3...
    # without a gap, and "section N" on a device page is the number of "Measures cited".
    text = render_report(store, fmt="md", now=NOW).decode()
    markdown = _numbered_sections(re.findall(r"^## (.+)$", text, flags=re.MULTILINE))
    page = _numbered_sections(
        [re.sub(r"<[^>]+>", "", heading) for heading in re.findall(r"<h2[^>]*>(.*?)</h2>", html)]
    )
    assert markdown == page
    assert sorted(markdown.values()) == list(range(1, len(markdown) + 1))
    cited = markdown["Measures cited"]
    for rendered in (text, html):
        references = {int(n) for n in re.findall(r"\bsection (\d+)", rendered)}
        assert references == {cited}


def test_markdown_escape_renders_as_itself() -> None:
    assert markdown_escape("a|b") == "a\\|b"
    assert markdown_escape("[x](http://e)") == "\\[x\\](http://e)"
    assert markdown_escape("line\nbreak") == "line break"
    assert markdown_escape(None) == ""


# --- the command -------------------------------------------------------------------------


def test_report_command_writes_each_format(report_store: ReportStore, tmp_path: Path) -> None:
    runner = CliRunner()
    for name in ("r.html", "r.md", "r.xlsx"):
        output = tmp_path / name
        result = runner.invoke(
            app,
            ["report", "--db", str(report_store.path), "-o", str(output), "--title", "Q4 register"],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        assert output.stat().st_size > 1000
    assert "Q4 register" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "give --output FILE"),
        (["-o", "{db}"], "inputs are never overwritten"),
        (["-o", "{tmp}/r.txt"], "cannot tell the format"),
        (["-o", "{tmp}/r.html", "--scan", "no-such-scan"], "no scan 'no-such-scan'"),
        (["-o", "{tmp}/r.html", "--policy", "nowhere"], "unknown policy id(s): nowhere"),
        (["-o", "{tmp}/r.html", "--scan", "x", "--inventory"], "exclude each other"),
    ],
)
def test_report_command_refuses_bad_arguments(
    report_store: ReportStore, tmp_path: Path, arguments: list[str], message: str
) -> None:
    before = report_store.path.read_bytes()
    filled = [a.format(db=report_store.path, tmp=tmp_path) for a in arguments]
    result = CliRunner().invoke(
        app, ["report", "--db", str(report_store.path), *filled], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert report_store.path.read_bytes() == before
    assert not list(tmp_path.iterdir())


def test_an_empty_store_gives_a_report_in_every_format(tmp_path: Path) -> None:
    from provscan.store.db import open_store

    with open_store(f"sqlite:///{tmp_path / 'empty.db'}") as empty:
        html = render_report(empty, fmt="html", now=NOW).decode()
        dom = parse_html(html)
        assert dom.by_id("remaining").text() == "As of 2026-12-03, 0 restricted devices remain."
        assert "No scans stored" in dom.text()
        assert render_report(empty, fmt="md", now=NOW).startswith(b"# ")
        assert render_report(empty, fmt="xlsx", now=NOW).startswith(b"PK")


def test_pdf_rendering_fetches_nothing() -> None:
    _weasyprint_or_skip()
    import socket

    from provscan.compliance.report import pdf_bytes

    # Given a listening socket on loopback that a fetched URL would reach
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.5)
        port = server.getsockname()[1]
        html = (
            f'<p>x</p><img src="http://127.0.0.1:{port}/a.png">'
            f'<link rel="stylesheet" href="http://127.0.0.1:{port}/a.css">'
        )
        # When the PDF is rendered, Then nothing connects to it
        assert pdf_bytes(html).startswith(b"%PDF-")
        with pytest.raises(TimeoutError):
            server.accept()
