"""The compliance report's devices to review and closed cases (an auditor's review of
`provscan report`, HTML and PDF).

Before: a device whose verdict is *review* (a possible Hikvision relabel whose maker is not
established) appeared nowhere in the HTML or PDF, and a verified removal was a count only
("verified 1"). Now section 3 lists every device to review (address, site, label brand,
model, candidate makers and what each would mean if confirmed, why, what would settle it),
counted by the verdict the inventory keeps, and section 4 each case closed in the period
with its evidence (the action, who and when, the note, the scan that proved it).

The store (review3_history.py) is the lab scanned over loopback into SQLite three times, its
cases worked through the Store API as people do; the truth each test compares with is read
back through the Store API and `provscan inventory`.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from review3_history import (
    DEVICES,
    DISPOSAL_NOTE,
    REPLACEMENT_NOTE,
    SITE,
    ReviewStore,
    build_review_store,
)
from test_report import Element, parse_html
from typer.testing import CliRunner

from provscan.cli import app
from provscan.compliance.facts import gather, review_reason
from provscan.compliance.render import SHOWN_ID
from provscan.compliance.report import render_facts, render_report
from provscan.knowledge import load_knowledge
from provscan.knowledge.policies import NON_RESTRICTING_EFFECTS
from provscan.policy.evaluate import REVIEW_NOTE_PREFIX
from provscan.store.db import Store

NOW = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ReviewStore:
    return build_review_store(tmp_path_factory.mktemp("review3") / "provscan.db")


@pytest.fixture(scope="module")
def store(built: ReviewStore) -> Iterator[Store]:
    with built.open() as opened:
        yield opened


@pytest.fixture(scope="module")
def dom(store: Store) -> Element:
    return parse_html(render_report(store, fmt="html", now=NOW).decode())


def _number(element: Element) -> int:
    return int(element.text())


def _to_review(store: Store) -> set[str]:
    """The devices to review, as the inventory keeps their verdict: not gone."""
    return {d.device_id for d in store.inventory() if d.verdict == "review" and d.status != "gone"}


def _by_ip(store: Store) -> dict[str, str]:
    return {d.ip: d.device_id for d in store.inventory()}


def _kind_limited(family: str) -> set[str]:
    """Policies whose every measure naming ``family`` covers only some kinds of equipment
    (``device_types``): a device of unknown kind is inside them only on that condition."""
    naming = [
        (policy.id, measure)
        for policy in load_knowledge().policies.values()
        for measure in policy.measures
        if family in measure.families
    ]
    ids = {policy for policy, _ in naming}
    return {p for p in ids if all(m.device_types for q, m in naming if q == p)}


def _binding_policies(store: Store, ip: str) -> set[str]:
    """The policies whose binding, restricting measures the scans found for the device,
    outright: not on a condition the tool cannot tell (since 2026-12-06 the UK statement
    applies only on sensitive sites, decision 0015, so it makes a review, not a restriction).
    Read from the stored scan document, whose findings carry ``condition`` (the inventory's
    compact findings do not keep it)."""
    device = next(d for d in store.inventory() if d.ip == ip)
    _, document, _ = store.device(device.device_id)
    return {
        f["policy"]
        for f in document["findings"]
        if f.get("effect") not in NON_RESTRICTING_EFFECTS
        and f.get("binding") is not False
        and f.get("condition") is None
    }


# --- devices to review ----------------------------------------------------------------


def test_the_store_has_devices_to_review_and_closed_cases(store: Store, built: ReviewStore) -> None:
    verdicts = {d.ip: (d.verdict, d.status) for d in store.inventory()}
    assert verdicts[DEVICES["annke"].address] == ("review", "present")
    assert verdicts[DEVICES["webs"].address] == ("review", "gone")
    assert store.case(built.removed_case).status == "verified"
    assert store.case(built.replaced_case).status == "verified"
    assert store.case(built.patched_case).status == "verified"


def test_to_review_is_counted_by_the_inventory_verdict(
    store: Store, built: ReviewStore, dom: Element
) -> None:
    expected = _to_review(store)
    assert expected == {_by_ip(store)[DEVICES["annke"].address]}
    assert _number(dom.by_id("kpi-review")) == len(expected)
    listed = {t.attrs["data-device"] for t in dom.by_id("review-list").find_all("tbody")}
    assert listed == expected
    assert dom.by_id("review-line").text().startswith("1 device to review:")
    # the gone camera is said, not counted; with it, the count is `provscan inventory`'s
    gone = dom.by_id("review-gone").text()
    assert gone.startswith("Not counted: 1 device with the verdict review gone")
    shown = CliRunner().invoke(app, ["inventory", "--db", str(built.path)], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    (counted,) = re.findall(r"(\d+) to review", shown.output)
    assert int(counted) == len(expected) + 1


def test_a_device_to_review_says_what_it_is_why_and_what_would_settle_it(
    store: Store, dom: Element
) -> None:
    annke = DEVICES["annke"].address
    device_id = _by_ip(store)[annke]
    (row,) = [
        t for t in dom.by_id("review-list").find_all("tbody") if t.attrs["data-device"] == device_id
    ]
    cells = [td.text() for td in row.find_all("tr", class_="review-row")[0].find_all("td")]
    assert cells[:3] == [annke, SITE, "Annke"]
    candidates = cells[4]
    assert candidates.startswith("Hikvision or Dahua")
    # if confirmed: the policies that restrict the same makers' cameras in this store, but
    # those whose measures cover only some kinds of equipment (Australia: cameras): the
    # Annke device's kind is not known, so they restrict it only on that condition, said
    # apart ("Hikvision: restricted by ca, us, and by au only if its device type is ...")
    for maker, key in (("Hikvision", "hikvision"), ("Dahua", "dahua")):
        pattern = rf"if confirmed, {maker}: restricted by ([a-z, -]+?)(?=, and by | if|$)"
        (line,) = re.findall(pattern, candidates)
        expected = _binding_policies(store, DEVICES[key].address) - _kind_limited(key)
        assert set(line.split(", ")) == expected, maker
        kind_limited = _binding_policies(store, DEVICES[key].address) & _kind_limited(key)
        assert kind_limited, maker  # Australia's removal order on cameras and recorders
        for policy in kind_limited:
            assert re.search(
                rf"if confirmed, {maker}: restricted by [^\n]*, and by [a-z, -]*\b{policy}\b"
                r"[a-z, -]* only if its device type is",
                candidates,
            ), (maker, policy)
    # why: the scan's own review note, whole
    _, document, _ = store.device(device_id)
    (note,) = [n for n in document["notes"] if n.startswith(REVIEW_NOTE_PREFIX)]
    detail = row.find_all("tr", class_="review-detail")[0]
    why = detail.find_all("p", class_="why")[0].text()
    assert why == "Why it is to review: " + " ".join(note.removeprefix(REVIEW_NOTE_PREFIX).split())
    settle = detail.find_all("p", class_="settle")[0].text()
    assert settle.startswith("What would settle it: Its model number")
    assert "one of the Annke lines made by Hikvision or Dahua" in settle


def test_a_missing_device_to_review_is_listed_with_its_status(
    built: ReviewStore, store: Store
) -> None:
    # After the second scan the Webs camera was missing (one covering scan missed it), not
    # yet gone: still to review, and said to be missing.
    after = parse_html(built.html_after_second)
    assert _number(after.by_id("kpi-review")) == 2
    rows = {t.attrs["data-device"]: t for t in after.by_id("review-list").find_all("tbody")}
    webs = rows[_by_ip(store)[DEVICES["webs"].address]]
    address = webs.find_all("td")[0].text()
    assert address == f"{DEVICES['webs'].address} missing"
    text = webs.text()
    assert "possibly made by Hikvision - only signals several makers share name it" in text
    assert "What would settle it: A signal only Hikvision gives" in text
    assert not after.find_all(id="review-gone")


def test_if_confirmed_follows_the_selected_policies(store: Store) -> None:
    us = parse_html(render_report(store, fmt="html", policies=["us"], now=NOW).decode())
    candidates = us.by_id("review-list").find_all("td", class_="candidates")[0].text()
    assert "if confirmed, Hikvision: restricted by us" in candidates
    assert "if confirmed, Dahua: restricted by us" in candidates
    # New Zealand's measures are context only: confirming either maker restricts nothing
    nz = parse_html(render_report(store, fmt="html", policies=["nz"], now=NOW).decode())
    candidates = nz.by_id("review-list").find_all("td", class_="candidates")[0].text()
    assert "Hikvision: not restricted by the applied measures" in candidates
    assert _number(nz.by_id("kpi-review")) == len(_to_review(store))


def test_a_measure_that_binds_only_on_a_condition_is_not_counted_as_restricting(
    store: Store,
) -> None:
    """The UK 2022 statement binds a UK central-government body only for a sensitive site
    (its finding carries that condition): the report neither counts the UK among the
    jurisdictions restricting remaining devices nor lists it among a device's restricting
    measures, as the scan's own verdict does not."""
    facts = gather(store, now=NOW)
    assert facts.by_jurisdiction, "the lab store has restricted devices"
    assert "United Kingdom" not in dict(facts.by_jurisdiction)
    # the inventory keeps the condition with each finding, so every reader can tell
    kept = [f for d in store.inventory() for f in d.findings if f.get("policy") == "uk"]
    assert kept and all(f.get("condition") for f in kept)


# --- closed cases -----------------------------------------------------------------------


def test_closed_cases_carry_their_evidence(store: Store, built: ReviewStore, dom: Element) -> None:
    verified = [c for c in store.cases() if c.status == "verified"]
    listed = dom.by_id("closed-list").find_all("tr", class_="closed-row")
    rows = {r.attrs["data-case"]: r for r in listed}
    assert {int(case_id) for case_id in rows} == {c.id for c in verified}
    assert {c.id for c in verified} == {built.removed_case, built.replaced_case, built.patched_case}
    assert _number(dom.by_id("kpi-closed")) == len(verified)
    assert dom.by_id("closed-line").text().startswith("3 cases closed in the period")
    scans = {s.id: s for s in store.scans(None)}
    for case_id, action, actor, note in (
        (built.removed_case, "removed", "alice", DISPOSAL_NOTE),
        (built.replaced_case, "replaced", "bob", REPLACEMENT_NOTE),
    ):
        case = store.case(case_id)
        # the trail, as the store keeps it: who set the action, and the scan that verified it
        (done,) = [e for e in case.events if e.changes.get("status", [None, None])[1] == action]
        (verifying,) = [e for e in case.events if e.action == "verified"]
        proof = scans[str(verifying.scan_id)]
        cells = [td.text() for td in rows[str(case_id)].find_all("td")]
        device = next(d for d in store.inventory() if d.device_id == case.device_id)
        assert cells[0] == f"#{case_id} verified"
        assert cells[1].startswith(f"{device.ip} · {SITE}")
        assert cells[2] == f"{action} by {actor} {done.at:%Y-%m-%d %H:%M} UTC"
        assert done.actor == actor
        assert cells[3] == note
        assert cells[4].startswith(f"scan {proof.id[:SHOWN_ID]}")
        assert f"started {proof.started_at:%Y-%m-%d %H:%M} UTC" in cells[4]
        assert f"verified {verifying.at:%Y-%m-%d %H:%M} UTC" in cells[4]
    # the removal was verified at the second scan's ingest; the replacement on bob's request,
    # the third scan its proof
    assert "by the scan, at its ingest" in rows[str(built.removed_case)].text()
    assert built.scans[1][:SHOWN_ID] in rows[str(built.removed_case)].text()
    assert "on request of bob" in rows[str(built.replaced_case)].text()
    assert built.scans[2][:SHOWN_ID] in rows[str(built.replaced_case)].text()
    # the vulnerability: fixed by the firmware update, which the third scan saw
    patched = [td.text() for td in rows[str(built.patched_case)].find_all("td")]
    assert "vulnerability:CVE-2021-36260" in patched[1].replace(" ", "")
    assert patched[2] == "fixed seen without the finding"
    assert patched[3] == "no note recorded"
    assert patched[4].startswith(f"scan {built.scans[2][:SHOWN_ID]}")
    assert patched[4].endswith(f"{DEVICES['kev'].address} without this finding")


def test_a_scan_report_closes_what_its_period_proved(store: Store, built: ReviewStore) -> None:
    closed = {}
    review = {}
    for scan_id in built.scans:
        facts = gather(store, scan_id=scan_id, now=NOW)
        closed[scan_id] = {c.case.id for c in facts.closed}
        review[scan_id] = {r.ip for r in facts.review}
    first, second, third = built.scans
    assert closed == {
        first: set(),
        second: {built.removed_case},
        third: {built.removed_case, built.replaced_case, built.patched_case},
    }
    # a scan's devices to review are those it judged so (the Webs camera only in the first)
    annke, webs = DEVICES["annke"].address, DEVICES["webs"].address
    assert review == {first: {annke, webs}, second: {annke}, third: {annke}}


# --- PDF, XLSX and Markdown ---------------------------------------------------------------


def _squeezed(text: str) -> str:
    return re.sub(r"[\s-]", "", text)


def _pdftotext(data: bytes, tmp_path: Path) -> str:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"WeasyPrint cannot load: {exc}")
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            raise AssertionError("pdftotext (poppler-utils) is not installed")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    )
    return " ".join(done.stdout.split())


def test_the_pdf_lists_the_devices_to_review_and_the_closed_cases(
    store: Store, built: ReviewStore, tmp_path: Path
) -> None:
    text = _pdftotext(render_report(store, fmt="pdf", now=NOW), tmp_path)
    # the sections in order (the summary names section 3 too: each is found after the last)
    starts = [text.index("1. Executive summary")]
    for heading in ("2. Priority list", "3. To review", "4. Closed cases", "5. Devices"):
        starts.append(text.index(heading, starts[-1]))
    starts = starts[1:]
    review = text[starts[1] : starts[2]]
    assert DEVICES["annke"].address in review and "Annke" in review
    assert "Hikvision or Dahua" in review
    assert "Why it is to review: possibly made by Hikvision or Dahua" in review
    assert "What would settle it:" in review
    closed = text[starts[2] : starts[3]]
    # (pdftotext joins a word broken after its hyphen: "P3265-" / "LVE" reads "P3265LVE")
    for note in (DISPOSAL_NOTE, REPLACEMENT_NOTE):
        assert _squeezed(note) in _squeezed(closed), note
    for scan_id in built.scans[1:]:
        assert scan_id[:SHOWN_ID] in closed
    assert "removed by alice" in closed and "replaced by bob" in closed
    assert "1 device to review" in text[: starts[0]]


def test_xlsx_and_markdown_carry_both_sections(store: Store, built: ReviewStore) -> None:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(render_report(store, fmt="xlsx", now=NOW)))
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Devices to review"] == len(_to_review(store))
    assert summary["Cases closed in the period"] == 3
    review = list(book["To review"].iter_rows(values_only=True))
    assert review[0][:6] == ("ip", "site", "status", "brand", "model", "candidate_makers")
    assert [r[0] for r in review[1:]] == [DEVICES["annke"].address]
    assert review[1][5] == "Hikvision or Dahua"
    closed = {r[0]: r for r in book["Closed cases"].iter_rows(min_row=2, values_only=True)}
    assert set(closed) == {built.removed_case, built.replaced_case, built.patched_case}
    assert closed[built.removed_case][6:10][:2] == ("removed", "alice")
    assert closed[built.removed_case][9] == DISPOSAL_NOTE
    assert closed[built.removed_case][10] == built.scans[1]  # the whole scan id
    text = render_report(store, fmt="md", now=NOW).decode()
    assert "## 3. To review" in text and "## 4. Closed cases" in text
    assert "disposal certificate DC\\-2291" not in text  # a hyphen is no Markdown markup
    assert DISPOSAL_NOTE in text
    assert f"| #{built.removed_case} | {DEVICES['dahua'].address} |" in text


# --- bounded work on a big store ----------------------------------------------------------


def test_reasons_and_trails_are_read_for_a_bounded_number_of_devices_and_cases(
    store: Store, built: ReviewStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"device": 0, "case": 0}
    device, evidence, case = Store.device, Store.device_evidence, Store.case

    # a device's record is read either way: as stored, or from the sighting its verdict
    # comes from (the report's device pages)
    def counted_device(self: Store, device_id: str) -> Any:
        calls["device"] += 1
        return device(self, device_id)

    def counted_evidence(self: Store, device_id: str) -> Any:
        calls["device"] += 1
        return evidence(self, device_id)

    def counted_case(self: Store, case_id: int) -> Any:
        calls["case"] += 1
        return case(self, case_id)

    monkeypatch.setattr(Store, "device", counted_device)
    monkeypatch.setattr(Store, "device_evidence", counted_evidence)
    monkeypatch.setattr(Store, "case", counted_case)
    everything = gather(store, now=NOW)
    pages = len(everything.pages)
    assert calls == {"device": pages + everything.to_review, "case": everything.closed_total}
    calls.update(device=0, case=0)
    bounded = gather(store, now=NOW, max_review_rows=0, max_closed_rows=1)
    assert calls == {"device": pages, "case": 1}
    # the count stays whole; what was not read is said, never dropped
    assert bounded.to_review == everything.to_review and not bounded.review_listed
    assert bounded.closed_total == everything.closed_total == 3
    assert [c.case.id for c in bounded.closed] == [built.replaced_case]  # the newest
    dom = parse_html(render_facts(bounded, "html").decode())
    assert dom.by_id("review-more").text().startswith("and 1 more devices to review")
    assert dom.by_id("closed-more").text().startswith("and 2 more verified cases,")
    assert _number(dom.by_id("kpi-review")) == 1 and _number(dom.by_id("kpi-closed")) == 3


# --- the reasons, one by one ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "makers", "settles"),
    [
        (
            "review: maker Hikvision is not established (confidence 0.45 is below 0.6); if "
            "confirmed, restricted by ca, us",
            ("Hikvision",),
            "Confirming that Hikvision made it:",
        ),
        (
            "review: made by Hikvision or Axis (the evidence does not say which) and not every "
            "one is restricted: Hikvision by us / Axis by none of the selected policies",
            ("Hikvision", "Axis"),
            "Which of Hikvision or Axis made it:",
        ),
        (
            "review: restricted only on a condition the evidence cannot settle: us (American "
            "Security Drone Act) if its device type is uas and it was acquired after 2023-12-21",
            (),
            "Whether the condition holds: what kind of device it is (seen on site, or its "
            "label) and when it was acquired",
        ),
        (
            "review: screened: brand Lorex sells only some Dahua lines",
            (),
            "Checking the screening's reason against the device:",
        ),
    ],
)
def test_each_kind_of_reason_names_its_makers_and_what_settles_it(
    note: str, makers: tuple[str, ...], settles: str
) -> None:
    named, settle = review_reason(note, ())
    assert named == makers
    assert settle.startswith(settles), settle
