"""A municipality's report shows its devices of makers that measures name without binding it
(Hikvision, Dahua, Huawei, ZTE under the Canadian federal bar): counted by maker in the
executive summary, and those whose remediation says replace on the priority list, marked
"not binding you"; no verdict and no restricted count changes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provscan.cli import app
from provscan.compliance.facts import NOT_BINDING_YOU, ReportFacts, gather
from provscan.compliance.report import render_facts
from provscan.report.formats import not_binding_you
from provscan.store.db import Store, open_store
from region_eol import region_limited_in_commands

CAPTURE = Path(__file__).parents[1] / "pcap" / "fixtures" / "lab_scan.pcap.gz"
MUNICIPAL = "ca:provincial-or-municipal-body"


def _stored(path: Path, acting_as: str) -> Store:
    """The committed lab recording read into a new store, judged for ``acting_as``, with a
    test-only end of support for Hikvision limited to Canada (tests/region_eol.py; the
    bundled knowledge holds none): the "replace" advice that does not bind a municipality.
    Read in this process, so that the command reads that entry."""
    args = ["pcap", str(CAPTURE), "--db", str(path), "--as", acting_as, "--quiet"]
    args += ["--format", "json", "--output", f"{path}.json"]
    with region_limited_in_commands():
        done = CliRunner().invoke(
            app, args, env={"PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"}
        )
    assert done.exit_code == 0, (done.output, done.exception)
    return open_store(f"sqlite:///{path}")


@pytest.fixture(scope="module")
def municipal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str]:
    store = _stored(tmp_path_factory.mktemp("municipal") / "provscan.db", MUNICIPAL)
    return store, store.scans(None)[0].id


def test_the_summary_counts_them_by_maker_without_restricting_any(
    municipal: tuple[Store, str],
) -> None:
    store, scan_id = municipal
    facts = gather(store, scan_id=scan_id)
    # No verdict changed: nothing restricted, nothing to review
    assert (facts.restricted_total, facts.remaining, facts.to_review) == (0, 0, 0)
    assert facts.by_maker == ()
    makers = dict(facts.not_binding)
    # The four makers the Canadian federal bar names (with the others measures name)
    assert makers["Hikvision"] == 18 and makers["Dahua"] == 19
    assert makers["Huawei"] == 4 and makers["ZTE"] == 3
    # every clear device the scan table names "(does not bind you)": the same definition
    clear_named = [
        d
        for d in facts.devices
        if d["verdict"] == "clear" and any(not_binding_you(f) for f in d["findings"])
    ]
    assert facts.not_binding_total == len(clear_named) == 51
    sentence = facts.not_binding_sentence
    assert sentence is not None
    assert sentence.startswith(f"{facts.not_binding_total} devices are made by makers named by")
    assert f"({MUNICIPAL})" in sentence and "Hikvision 18" in sentence and "ZTE 3" in sentence


def test_replace_advice_is_on_the_priority_list_marked_not_binding(
    municipal: tuple[Store, str],
) -> None:
    store, scan_id = municipal
    facts = gather(store, scan_id=scan_id)
    others = [row for row in facts.priority if not row.binding]
    # Every Hikvision device carries the (test-only) Canadian "support withdrawn: replace"
    assert len(others) == 18 == facts.not_binding_replace
    assert {row.device.split()[0] for row in others} == {"Hikvision"}
    assert all(row.reason.startswith(f"replace ({NOT_BINDING_YOU}): ") for row in others)
    assert all(row.case_id is None and row.priority == 2 for row in others)
    # The priority-1 posture rows come first and still count alone as priority 1
    assert facts.priority[0].binding and facts.priority[0].priority == 1
    assert facts.priority_one == 2
    # and they get no device page of their own (the pages are restricted and priority 1)
    assert {page.device.ip for page in facts.pages} == {
        row.ip for row in facts.priority if row.binding
    }


def _text(facts: ReportFacts, fmt: str) -> str:
    return render_facts(facts, fmt).decode()


def test_every_format_says_it(municipal: tuple[Store, str]) -> None:
    store, scan_id = municipal
    facts = gather(store, scan_id=scan_id)
    sentence = facts.not_binding_sentence
    assert sentence is not None
    markdown = _text(facts, "md")
    summary = markdown.split("## 1. Executive summary", 1)[1].split("## 2.", 1)[0]
    assert sentence in summary
    assert "0 restricted devices remain" in summary
    priority = markdown.split("## 2. Priority list", 1)[1].split("## 3.", 1)[0]
    assert priority.count(f"replace ({NOT_BINDING_YOU})") == 18
    html = _text(facts, "html")
    assert 'id="not-binding-line"' in html
    assert html.count("priority-row not-binding") == 18
    assert "whose remediation says replace" in html

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(render_facts(facts, "xlsx")))
    summary_rows = [tuple(row) for row in book["Summary"].iter_rows(values_only=True)]
    assert ("Devices of makers named by measures that do not bind you", 51) in summary_rows
    assert ("Hikvision", 18) in summary_rows
    reasons = [str(row[4]) for row in book["Priority"].iter_rows(values_only=True)]
    assert sum(reason.startswith(f"replace ({NOT_BINDING_YOU})") for reason in reasons) == 18


def test_the_inventory_report_says_it_too(municipal: tuple[Store, str]) -> None:
    store, _ = municipal
    facts = gather(store)
    assert facts.remaining == 0
    assert dict(facts.not_binding)["Hikvision"] == 18
    assert facts.not_binding_replace == 18 and facts.not_binding_unread == 0


def test_a_policy_selection_counts_only_its_measures(municipal: tuple[Store, str]) -> None:
    store, scan_id = municipal
    # Only Canada's measures: they name Hikvision, Huawei and ZTE (not Dahua)
    facts = gather(store, scan_id=scan_id, policies=["ca"])
    assert set(dict(facts.not_binding)) == {"Hikvision", "Huawei", "ZTE"}


def test_nothing_is_said_when_every_measure_counts(tmp_path: Path) -> None:
    store = _stored(tmp_path / "all.db", "all")
    facts = gather(store, scan_id=store.scans(None)[0].id)
    assert facts.remaining > 0
    assert facts.not_binding == () and facts.not_binding_sentence is None
    assert all(row.binding for row in facts.priority)
    assert "not-binding-line" not in _text(facts, "html")
