"""The compliance report says when its figures rest on a scan that did not finish, and when
its data is old (a SOC analyst's newcomer review).

Before: `provscan pcap` interrupted after a few seconds stored its scan marked incomplete,
and `provscan report` printed "As of 2026-01-05, 76 restricted devices remain." on its front
page with no warning (the whole capture held 535); only the methodology said "Incomplete
scans: 1". A report made in December on January's data said "Data as of 2026-01-05" and
nothing more. The knowledge line said "recorded by all 2 scans".

Now the first page and the summary, in the HTML, the PDF, the Markdown and the XLSX, name
each incomplete scan the figures rest on (an incomplete scan no complete scan of its site
has covered again since), say that the counts may be too low and what to do; and say how old
the newest scan is when it is more than STALE_AFTER_DAYS days old.

Each store here is a SQLite file holding scan documents as `provscan` stores them, the
interrupted ones with ``complete: false`` (as the interrupted `provscan pcap` stores its
partial result).
"""

from __future__ import annotations

import io
import os
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_report import Element, parse_html
from typer.testing import CliRunner

from inventory_verdicts import entry, four_verdicts, scan_of
from provscan.cli import app
from provscan.compliance.facts import STALE_AFTER_DAYS
from provscan.compliance.report import markdown_escape, render_report
from provscan.report.contract import DeviceEntry, ScanDocument
from provscan.store.db import Store, open_store
from provscan.store.inventory import coverage_ranges

#: When the scans of these stores started (the report's "Data as of").
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
#: A report made the day after: the data is not old.
NEXT_DAY = START + timedelta(days=1)


def _devices(first: int) -> list[DeviceEntry]:
    """A device of each verdict (one restricted) at 127.0.41.first and the three after it."""
    return [entry(device, first + n) for n, device in enumerate(four_verdicts())]


def _document(
    scan_id: str,
    started: datetime,
    devices: list[DeviceEntry],
    *,
    targets: list[str],
    complete: bool,
    kind: str = "active",
    knowledge: str | None = None,
) -> ScanDocument:
    document = scan_of(scan_id, 8, devices)
    scan = document.scan.model_copy(
        update={
            "kind": kind,
            "started_at": started,
            "finished_at": started + timedelta(minutes=3),
            "targets": targets,
            "complete": complete,
            "knowledge_version": knowledge,
            "knowledge_as_of": "2026-01-01" if knowledge else None,
        }
    )
    return document.model_copy(update={"scan": scan})


def _save(
    store: Store,
    scan_id: str,
    started: datetime,
    devices: list[DeviceEntry],
    *,
    site: str,
    targets: list[str],
    complete: bool,
    kind: str = "active",
    knowledge: str | None = None,
) -> str:
    document = _document(
        scan_id,
        started,
        devices,
        targets=targets,
        complete=complete,
        kind=kind,
        knowledge=knowledge,
    )
    coverage = coverage_ranges(targets) if kind == "active" else ()
    return store.save_document(document, site=site, coverage=coverage)


def _html(
    store: Store, now: datetime = NEXT_DAY, site: str | None = None, scan_id: str | None = None
) -> Element:
    report = render_report(store, fmt="html", now=now, site=site, scan_id=scan_id)
    return parse_html(report.decode())


def _markdown(store: Store, now: datetime = NEXT_DAY) -> str:
    return render_report(store, fmt="md", now=now).decode()


def _ids(dom: Element) -> set[str]:
    return {element.attrs["id"] for element in dom.iter() if "id" in element.attrs}


#: The warning for the one interrupted capture of site bigsite (the review's case).
CAPTURE_WARNING = (
    "Warning: these figures rest on a scan that did not finish. Scan capture-0105 of big.pcap "
    "(site bigsite, started 2026-01-05 08:00 UTC) was interrupted or cut short, and no "
    "complete scan of the same targets has run since. Devices it did not reach are not "
    "counted, so the counts may be too low. Run that scan again and let it finish, then "
    "make this report again."
)


@pytest.fixture
def interrupted_capture(tmp_path: Path) -> Path:
    """The review's store: one capture, interrupted, stored marked incomplete."""
    path = tmp_path / "big.db"
    with open_store(f"sqlite:///{path}") as store:
        _save(
            store,
            "capture-0105",
            START,
            _devices(1),
            site="bigsite",
            targets=["big.pcap"],
            complete=False,
            kind="passive",
        )
    return path


def test_the_headline_of_an_interrupted_capture_says_so_on_both_pages(
    interrupted_capture: Path,
) -> None:
    with open_store(f"sqlite:///{interrupted_capture}") as store:
        dom = _html(store)
        text = _markdown(store)
    # the headline stays as it was, and the warning follows it, on the first page too
    assert dom.by_id("remaining").text() == "As of 2026-01-05, 1 restricted device remains."
    assert dom.by_id("unfinished-warning").text() == CAPTURE_WARNING
    assert dom.by_id("unfinished-cover").text() == CAPTURE_WARNING
    assert "unfinished-cover" in _ids(dom.by_id("title"))
    assert "unfinished-warning" in _ids(dom.by_id("summary"))
    # the methodology says the figures rest on it, and the rule
    gaps = dom.by_id("gaps").find_all("li")[0].text()
    assert gaps.startswith("1 incomplete scan (interrupted or cut short")
    assert "The figures rest on it (named on the first page and under the headline)." in gaps
    assert "until a complete scan of its site, started after it, covers again" in gaps
    # the Markdown: on its title block and under its headline, the same words
    warning = "> **Warning:** " + markdown_escape(CAPTURE_WARNING.removeprefix("Warning: "))
    assert text.count(warning) == 2
    title, summary = text.split("## 1. Executive summary", 1)
    assert warning in title
    assert summary.lstrip().startswith(
        f"**As of 2026-01-05, 1 restricted device remains.**\n\n{warning}\n"
    )
    assert (
        "- Incomplete scans: 1 (capture-0105, bigsite, 2026-01-05); the figures rest on it "
        "(named on the first page and under the headline)."
    ) in text


def test_the_report_command_writes_the_warning_into_each_file(
    interrupted_capture: Path, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    runner = CliRunner()
    for name in ("big.html", "big.md", "big.xlsx"):
        result = runner.invoke(
            app,
            ["report", "--db", str(interrupted_capture), "-o", str(tmp_path / name)],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
    html = parse_html((tmp_path / "big.html").read_text(encoding="utf-8"))
    assert html.by_id("unfinished-warning").text() == CAPTURE_WARNING
    markdown = (tmp_path / "big.md").read_text(encoding="utf-8")
    assert markdown.count("> **Warning:** these figures rest on a scan that did not finish.") == 2
    book = load_workbook(tmp_path / "big.xlsx")
    rows = [row[:2] for row in book["Summary"].iter_rows(values_only=True) if row[0]]
    labels = [label for label, _ in rows]
    summary = dict(rows)
    assert summary["Incomplete scans the figures rest on"] == 1
    assert summary["Warning"] == CAPTURE_WARNING.removeprefix("Warning: ")
    # under the statement it qualifies
    assert labels.index("Warning") == labels.index("Statement") + 2


def test_running_the_scan_again_to_the_end_clears_the_warning(interrupted_capture: Path) -> None:
    with open_store(f"sqlite:///{interrupted_capture}") as store:
        # When the capture is read again, to the end
        _save(
            store,
            "capture-0106",
            START + timedelta(hours=2),
            _devices(1) + _devices(5),
            site="bigsite",
            targets=["big.pcap"],
            complete=True,
            kind="passive",
        )
        dom = _html(store)
        text = _markdown(store)
    # Then the figures rest on it, not on the interrupted one
    assert dom.by_id("remaining").text() == "As of 2026-01-05, 2 restricted devices remain."
    assert not {"unfinished-warning", "unfinished-cover"} & _ids(dom)
    gaps = dom.by_id("gaps").find_all("li")[0].text()
    assert gaps.startswith("1 incomplete scan")
    assert "A complete scan of the same site has since covered its targets again" in gaps
    assert "**Warning:**" not in text
    assert "; a complete scan of the same site has since covered their targets again." in text


def test_only_the_scans_not_covered_again_are_named(tmp_path: Path) -> None:
    """An interrupted scan of a /28 covered since by a complete scan of the /24 around it is
    no longer named; an interrupted /24 after a complete /28 is, and so is another site's
    interrupted scan; a report of one site names only its own."""
    with open_store(f"sqlite:///{tmp_path / 'sites.db'}") as store:
        hour = timedelta(hours=1)
        _save(
            store,
            "hq-part",
            START,
            _devices(1),
            site="hq",
            targets=["127.0.41.0/28"],
            complete=False,
        )
        _save(
            store,
            "hq-whole",
            START + hour,
            _devices(1),
            site="hq",
            targets=["127.0.41.0/24"],
            complete=True,
        )
        _save(
            store,
            "annex-small",
            START + 2 * hour,
            _devices(21),
            site="annex",
            targets=["127.0.41.16/28"],
            complete=True,
        )
        _save(
            store,
            "annex-big",
            START + 3 * hour,
            _devices(21),
            site="annex",
            targets=["127.0.41.0/24"],
            complete=False,
        )
        _save(
            store,
            "lab-names",
            START + 4 * hour,
            _devices(41),
            site="lab",
            targets=["cam1.lab.internal", "cam2.lab.internal", "cam3.lab.internal"],
            complete=False,
        )
        every = _html(store).by_id("unfinished-warning").text()
        hq = _html(store, site="hq")
        annex = _html(store, site="annex").by_id("unfinished-warning").text()
        one = _html(store, scan_id="annex-big").by_id("unfinished-warning").text()
        complete = _html(store, scan_id="hq-whole")
    assert every == (
        "Warning: these figures rest on 2 scans that did not finish. Scans lab-names of "
        "cam1.lab.internal, cam2.lab.internal and 1 more (site lab, started 2026-01-05 12:00 "
        "UTC); annex-big of 127.0.41.0/24 (site annex, started 2026-01-05 11:00 UTC) were "
        "interrupted or cut short, and no complete scan of the same targets has run since. "
        "Devices they did not reach are not counted, or are counted as an older scan last saw "
        "them, so the counts may be too low. Run those scans again and let them finish, then "
        "make this report again."
    )
    assert "hq-part" not in every
    assert "unfinished-warning" not in _ids(hq)
    assert "A complete scan of the same site has since covered its targets again" in (
        hq.by_id("gaps").text()
    )
    assert annex.startswith("Warning: these figures rest on a scan that did not finish. Scan ")
    assert "annex-big of 127.0.41.0/24 (site annex, started 2026-01-05 11:00 UTC)" in annex
    assert "or are counted as an older scan last saw them" in annex
    # a report of the interrupted scan itself
    assert one == (
        "Warning: this scan did not finish. Scan annex-big of 127.0.41.0/24 (site annex, "
        "started 2026-01-05 11:00 UTC) was interrupted or cut short: devices it did not reach "
        "are not in this report, so its counts may be too low. Run the scan again and let it "
        "finish, then report on the new scan."
    )
    assert not {"unfinished-warning", "unfinished-cover"} & _ids(complete)


# --- old data ------------------------------------------------------------------------------


@pytest.fixture
def finished(tmp_path: Path) -> Path:
    """Two complete scans of one site, recording the same knowledge."""
    path = tmp_path / "finished.db"
    with open_store(f"sqlite:///{path}") as store:
        for number, started in enumerate((START - timedelta(days=7), START)):
            _save(
                store,
                f"hq-{number}",
                started,
                _devices(1),
                site="hq",
                targets=["127.0.41.0/28"],
                complete=True,
                knowledge="2026.1.0",
            )
    return path


def test_old_data_is_said_on_the_cover_and_under_the_headline(finished: Path) -> None:
    old = START + timedelta(days=STALE_AFTER_DAYS + 1, hours=3)
    with open_store(f"sqlite:///{finished}") as store:
        dom = _html(store, now=old)
        text = _markdown(store, now=old)
        last_day = _html(store, now=START + timedelta(days=STALE_AFTER_DAYS, hours=23))
        scan = _html(store, now=old, scan_id="hq-0")
    days = STALE_AFTER_DAYS + 1
    assert STALE_AFTER_DAYS == 30
    assert dom.by_id("stale-cover").text() == f"(the newest scan is {days} days old)"
    assert "Data as of 2026-01-05 08:00 UTC (the newest scan is 31 days old)" in (
        dom.by_id("title").text()
    )
    sentence = (
        "The newest scan is 31 days old (started 2026-01-05): devices installed, removed or "
        "changed since then are not in these figures. Scan again for current figures."
    )
    assert dom.by_id("stale-warning").text() == f"Old data: {sentence}"
    assert "- Data as of: 2026-01-05 08:00 UTC (**the newest scan is 31 days old**)\n" in text
    assert f"> **Old data:** {sentence}\n" in text
    assert (
        "- Old data: the newest scan in scope started more than 30 days before the report was "
        "made" in text
    )
    # no warning of a scan that did not finish: both did
    assert "unfinished-warning" not in _ids(dom) and "**Warning:**" not in text
    # 30 days and 23 hours is not more than 30 days
    assert not {"stale-cover", "stale-warning"} & _ids(last_day)
    assert "(the newest scan is" not in last_day.by_id("title").text()
    # a report of one scan says how old that scan is
    assert scan.by_id("stale-cover").text() == "(this scan is 38 days old)"


def test_recent_data_carries_no_note(finished: Path, tmp_path: Path) -> None:
    with open_store(f"sqlite:///{finished}") as store:
        dom = _html(store, now=NEXT_DAY)
    assert not {"stale-cover", "stale-warning", "unfinished-warning"} & _ids(dom)
    # and a scan stored a day before the command runs (the report dated now) carries none
    path = tmp_path / "recent.db"
    with open_store(f"sqlite:///{path}") as store:
        _save(
            store,
            "yesterday",
            datetime.now(UTC) - timedelta(days=1),
            _devices(1),
            site="hq",
            targets=["127.0.41.0/28"],
            complete=True,
        )
    out = tmp_path / "recent.md"
    result = CliRunner().invoke(
        app, ["report", "--db", str(path), "-o", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "days old" not in text and "Old data:**" not in text


# --- "both scans" ----------------------------------------------------------------------------


def test_the_knowledge_line_says_both_scans_and_all_three(finished: Path) -> None:
    with open_store(f"sqlite:///{finished}") as store:
        two = _html(store).by_id("knowledge-line").text()
        two_markdown = _markdown(store)
        _save(
            store,
            "hq-2",
            START + timedelta(days=1),
            _devices(1),
            site="hq",
            targets=["127.0.41.0/28"],
            complete=True,
            knowledge="2026.1.0",
        )
        three = _html(store, now=START + timedelta(days=2)).by_id("knowledge-line").text()
    assert "2026.1.0, as of 2026-01-01 (recorded by both scans)" in two
    assert "- Knowledge: 2026.1.0, as of 2026-01-01 (recorded by both scans)" in two_markdown
    assert "all 2 scans" not in two_markdown
    assert "2026.1.0, as of 2026-01-01 (recorded by all 3 scans)" in three


# --- the PDF ------------------------------------------------------------------------------


def _text(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).split())


def _squeezed(value: str) -> str:
    """Without whitespace: the text whole, however its lines were wrapped."""
    return "".join(unicodedata.normalize("NFKC", value).split())


def test_pdf_first_page_and_summary_carry_the_warnings(tmp_path: Path) -> None:
    """The PDF of an interrupted capture at site montreal, a year old: the warning on the
    first page and under the headline, the age on the first page; and its methodology's
    scans table keeps "passive" and "montreal" whole (they read "passiv" / "e" and "montrea"
    / "l" in their narrow columns)."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"WeasyPrint cannot load: {exc}")
    from pypdf import PdfReader

    with open_store(f"sqlite:///{tmp_path / 'montreal.db'}") as store:
        _save(
            store,
            "capture-0105",
            START,
            _devices(1),
            site="montreal",
            targets=["lobby.pcap"],
            complete=False,
            kind="passive",
        )
        pdf = render_report(store, fmt="pdf", now=START + timedelta(days=335))
    reader = PdfReader(io.BytesIO(pdf))
    raw = [page.extract_text() or "" for page in reader.pages]
    pages = [_text(page) for page in raw]
    warning = (
        "Warning: these figures rest on a scan that did not finish. Scan capture-0105 of "
        "lobby.pcap (site montreal, started 2026-01-05 08:00 UTC) was interrupted or cut "
        "short, and no complete scan of the same targets has run since. Devices it did not "
        "reach are not counted, so the counts may be too low. Run that scan again and let it "
        "finish, then make this report again."
    )
    assert _squeezed(warning) in _squeezed(pages[0])
    assert "Data as of 2026-01-05 08:00 UTC (the newest scan is 335 days old)" in pages[0]
    summary = next(page for page in pages if "1. Executive summary" in page)
    headline = "As of 2026-01-05, 1 restricted device remains."
    assert _squeezed(f"{headline} {warning} Old data: The newest scan is 335 days old") in (
        _squeezed(summary)
    )
    methodology = next(i for i, page in enumerate(pages) if "7. Methodology" in page)
    lines = [_text(line) for line in raw[methodology].splitlines()]
    row = next(line for line in lines if line.startswith("capture-0105"))
    assert re.search(r"\bpassive montreal 2026-01-05\b", row), row


def test_the_markdown_case_line_counts_one_case_in_the_singular(finished: Path) -> None:
    with open_store(f"sqlite:///{finished}") as store:
        cases = len(store.cases())
        markdown = _markdown(store)
    assert cases == 1  # the one restricted device's
    assert "\n1 case: " in markdown and "1 cases:" not in markdown
