"""The compliance report as a federal auditor reads it (a Crown corporation's review).

Before: three restricted cameras that stopped answering became ``gone`` after three covering
scans; their cases stayed open with no removal recorded, yet they left the headline, the
priority list and the device pages, and showed only inside "N open cases". The trend's x
labels ("2026-12-07 06:39") were drawn over each other with ten scans of one morning, its
caption read "(10 scans); under ca.", the methodology did not say which ports each scan
probed nor who ran it, and the not-binding sentence spoke of "the counts above" above them.

The store (unaccounted_history.py) is the committed lab capture stored as complete scans of
three sites, ten of them sent by a schedule to hq's sensor.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from helpers import run_provscan
from test_report import Element, parse_html
from unaccounted_history import (
    NOW,
    PLANNED,
    REMOVED,
    SENSOR,
    UNACCOUNTED,
    UnaccountedStore,
    build_unaccounted_store,
    case_of,
)

from provscan.compliance.facts import ReportFacts, TrendPoint, gather, ports_text
from provscan.compliance.report import _label_width, render_report, trend_chart
from provscan.store.db import Store
from provscan.transport.limits import DEFAULT_PORTS


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> UnaccountedStore:
    return build_unaccounted_store(tmp_path_factory.mktemp("unaccounted"))


@pytest.fixture(scope="module")
def store(built: UnaccountedStore) -> Iterator[Store]:
    with built.open() as opened:
        yield opened


@pytest.fixture(scope="module")
def facts(store: Store) -> ReportFacts:
    return gather(store, now=NOW, max_device_pages=2)


@pytest.fixture(scope="module")
def dom(store: Store) -> Element:
    return parse_html(render_report(store, fmt="html", now=NOW, max_device_pages=2).decode())


def _ip_of(store: Store) -> dict[str, str]:
    return {d.device_id: d.ip for d in store.inventory()}


# --- 1. restricted devices unaccounted for ------------------------------------------------


def test_the_premise_three_cameras_went_gone_with_their_cases_open(store: Store) -> None:
    gone = {d.ip: d for d in store.inventory() if d.status == "gone"}
    assert set(gone) == {*UNACCOUNTED, REMOVED}
    assert all(d.restricted for d in gone.values())
    statuses = {ip: store.case(case_of(store, ip)).status for ip in gone}
    assert statuses == {UNACCOUNTED[0]: "open", PLANNED: "planned", UNACCOUNTED[2]: "open"} | {
        REMOVED: "verified"
    }
    # and "remaining" (decision 0013) leaves every gone device out, as before
    ips = _ip_of(store)
    assert not {ips[d] for d in store.remaining()} & set(gone)


def test_facts_name_the_devices_unaccounted_for(store: Store, facts: ReportFacts) -> None:
    assert [row.ip for row in facts.unaccounted] == sorted(UNACCOUNTED)
    assert all(row.site == "hq" for row in facts.unaccounted)
    # the remaining count is the store's own, unchanged
    assert facts.remaining == len(store.remaining())
    for row in facts.unaccounted:
        case = store.case(case_of(store, row.ip))
        assert (row.case_id, row.case_status) == (case.id, case.status)
        assert row.last_seen is not None and row.last_seen.date().isoformat() == "2026-12-07"
        assert f"provscan cases update {case.id} --status removed" in row.to_close
        assert "Find it" in row.to_close
    # the verified removal is accounted for
    assert REMOVED not in {row.ip for row in facts.unaccounted}


def test_the_headline_says_them_beside_the_remaining(facts: ReportFacts, dom: Element) -> None:
    expected = (
        f"As of 2026-12-07, {facts.remaining} restricted devices remain; 3 more are "
        "unaccounted for (no longer seen, no removal recorded)."
    )
    assert facts.remaining_sentence == expected
    assert dom.by_id("remaining").text() == expected
    assert dom.by_id("kpi-unaccounted").text() == "3"


def test_html_lists_them_in_their_own_table(store: Store, dom: Element) -> None:
    heading = dom.by_id("unaccounted-heading").text()
    assert heading == "Unaccounted for: restricted devices no longer seen, with no removal recorded"
    rows = dom.by_id("unaccounted").find_all("tr", class_="unaccounted-row")
    ips = _ip_of(store)
    assert [ips[row.attrs["data-device"]] for row in rows] == sorted(UNACCOUNTED)
    for row in rows:
        ip = ips[row.attrs["data-device"]]
        text = row.text()
        assert ip in text and "hq" in text and "Hikvision" in text and "2026-12-07" in text
        case = store.case(case_of(store, ip))
        assert f"#{case.id}" in text and case.status in text
        assert "record the removal" in text
    # ... and they are still not on the priority list (not remaining)
    listed = {r.attrs["data-device"] for r in dom.find_all("tr", class_="priority-row")}
    assert not listed & {r.attrs["data-device"] for r in rows}


def test_markdown_and_xlsx_carry_the_same(store: Store, facts: ReportFacts) -> None:
    from openpyxl import load_workbook

    text = render_report(store, fmt="md", now=NOW, max_device_pages=2).decode()
    assert f"**{facts.remaining_sentence}**" in text
    section = text.split("### Unaccounted for: restricted devices no longer seen")[1]
    section = section.split("## 3. To review")[0]
    for row in facts.unaccounted:
        assert f"| {row.ip} | hq |" in section and f"#{row.case_id} {row.case_status}" in section
    assert (
        "| Restricted devices unaccounted for (no longer seen, no removal recorded) | 3 |" in text
    )

    book = load_workbook(io.BytesIO(render_report(store, fmt="xlsx", now=NOW)))
    header, *values = list(book["Unaccounted"].iter_rows(values_only=True))
    assert [value[header.index("ip")] for value in values] == sorted(UNACCOUNTED)
    assert [value[header.index("case_id")] for value in values] == [
        row.case_id for row in facts.unaccounted
    ]
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Restricted devices unaccounted for (no longer seen, no removal recorded)"] == 3
    assert summary["Statement"] == facts.remaining_sentence


def test_a_site_without_any_says_none(store: Store) -> None:
    dom = parse_html(render_report(store, fmt="html", now=NOW, site="plant").decode())
    assert "unaccounted-none" in {e.attrs.get("id") for e in dom.find_all("p")}
    assert dom.by_id("remaining").text().endswith("restricted devices remain.")


def test_the_inventory_first_line_mentions_them(built: UnaccountedStore, store: Store) -> None:
    result = run_provscan("inventory", "--db", str(built.path), width=200)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    restricted = sum(d.restricted for d in store.inventory())
    remaining = len(store.remaining())
    assert (
        f"{restricted} restricted ({remaining} remaining; {restricted - remaining} gone or "
        "verified removed, 3 of them unaccounted for: no removal recorded)"
    ) in first


# --- 2. the trend's x labels ---------------------------------------------------------------


def _extents(chart_labels: tuple[tuple[float, str, str], ...]) -> list[tuple[float, float]]:
    spans = []
    for x, text, anchor in chart_labels:
        wide = _label_width(text)
        left = {"start": x, "middle": x - wide / 2, "end": x - wide}[anchor]
        spans.append((left, left + wide))
    return spans


def _apart(chart_labels: tuple[tuple[float, str, str], ...]) -> bool:
    spans = sorted(_extents(chart_labels))
    return all(a[1] <= b[0] for a, b in pairwise(spans))


def test_ten_scans_of_one_morning_label_times_that_do_not_overlap(facts: ReportFacts) -> None:
    hq = [p for p in facts.trend if p.site == "hq" and not p.is_now]
    assert len(hq) == 10
    chart = trend_chart(hq)
    assert chart is not None
    labels = [text for _, text, _ in chart.x_labels]
    assert labels[0] == "2026-12-07 06:30"  # the day once, then the time of day
    assert all(re.fullmatch(r"\d\d:\d\d", text) for text in labels[1:])
    assert labels[-1] == "06:57" and len(labels) >= 5
    assert _apart(chart.x_labels)
    assert "every scan ran on 2026-12-07" in chart.axis_note


@pytest.mark.parametrize("step", [timedelta(minutes=7), timedelta(hours=5), timedelta(days=9)])
def test_twenty_two_scans_keep_their_labels_apart(step: timedelta) -> None:
    start = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)
    points = [TrendPoint(f"s{n}", start + n * step, "hq", 1, 1, 30 + n % 3) for n in range(22)]
    for shown in (points, [*points, TrendPoint(None, points[-1].started_at, None, 0, 0, 29)]):
        chart = trend_chart(shown)
        assert chart is not None
        assert _apart(chart.x_labels), chart.x_labels
        assert len(chart.x_labels) >= 3


def test_the_caption_reads_as_a_sentence(store: Store) -> None:
    dom = parse_html(render_report(store, fmt="html", now=NOW, site="hq", policies=["ca"]).decode())
    caption = dom.by_id("trend-caption").text()
    assert "scans); under" not in caption
    assert caption.startswith(
        "Each point (10 scans): the restricted devices (restricted under ca) remaining"
    )
    svg = dom.by_id("trend")
    texts = [t.text() for t in svg.find_all("text")]
    assert "2026-12-07 06:30" in texts and "06:57" in texts


# --- 3. what was scanned: ports and who ran it -----------------------------------------------


def test_methodology_says_each_scans_ports_and_who_ran_it(
    built: UnaccountedStore, store: Store, dom: Element
) -> None:
    extra = ", ".join(str(p) for p in built.ports if p not in DEFAULT_PORTS)
    details = {
        row.attrs["data-scan"]: row.text()
        for row in dom.by_id("scans").find_all("tr", class_="scan-detail")
    }
    assert set(details) == set(built.scans)
    for scan_id, text in details.items():
        assert f"Ports: default {len(DEFAULT_PORTS)} ports + {extra}" in text
        if scan_id in built.hq_scans:
            assert f"Run by: sensor {SENSOR} (site hq), schedule 1" in text
        else:
            assert "Run by: command line or console" in text

    text = render_report(store, fmt="md", now=NOW, max_device_pages=1).decode()
    row = next(line for line in text.splitlines() if line.startswith(f"| {built.hq_scans[0]} |"))
    assert f"| sensor {SENSOR} (site hq), schedule 1 |" in row

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(render_report(store, fmt="xlsx", now=NOW)))
    header, *values = list(book["Scans"].iter_rows(values_only=True))
    by_id = {value[0]: value for value in values}
    hq = by_id[built.hq_scans[0]]
    assert hq[header.index("ports")] == ", ".join(map(str, built.ports))
    assert hq[header.index("run_by")] == f"sensor {SENSOR} (site hq), schedule 1"


def test_ports_are_summarised_only_when_they_are_the_default_set() -> None:
    assert ports_text(DEFAULT_PORTS) == f"default {len(DEFAULT_PORTS)} ports"
    assert ports_text((80, 443)) == "80, 443"
    assert ports_text(list(range(1, 31))).endswith("and 18 more")
    assert ports_text((80,), "passive") == "heard (not probed): 80"
    assert ports_text(None) == "not recorded"


# --- 4. the not-binding sentence says which counts it means --------------------------------


def test_the_not_binding_sentence_does_not_point_above(facts: ReportFacts) -> None:
    sentence = facts.not_binding_sentence
    assert sentence is not None
    assert "above" not in sentence
    assert "this report's counts of restricted devices leave them out" in sentence
    # it is said before the counts: a one-device sentence reads the same way
    one = replace(facts, not_binding=(("Reolink", 1),))
    assert "leave it out" in (one.not_binding_sentence or "")


def test_the_cli_report_runs_on_the_store(built: UnaccountedStore, tmp_path: Path) -> None:
    output = tmp_path / "report.md"
    result = run_provscan("report", "--db", str(built.path), "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert "3 more are unaccounted for" in output.read_text(encoding="utf-8")
