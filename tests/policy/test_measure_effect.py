"""Measures say whether they restrict; context-only measures never make anything restricted.

Issue 9, point 4: Denmark's and New Zealand's measures say "no ban" / "Report as context" in
their own text, yet they counted toward restricted verdicts, totals and --fail-on-restricted.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from provscan.cli import app
from provscan.errors import KnowledgeError
from provscan.knowledge.loader import load_knowledge
from provscan.knowledge.policies import NON_RESTRICTING_EFFECTS, RESTRICTING_EFFECTS
from provscan.model import Device, ScanInfo, ScanResult
from provscan.policy.evaluate import findings_for_family, judge
from provscan.report.contract import from_contract, to_contract, to_domain, verdict_of
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import judge_product, summarise

KNOWLEDGE = load_knowledge()
IDENTIFIER = bundled_identifier()
CONTEXT_ONLY = KNOWLEDGE.select_policies(["dk", "nz"])


def _own_text(measure: Any) -> str:
    return " ".join(
        f"{measure.title} {measure.measure} {measure.binds} {measure.scope_note}".split()
    )


# --- the data ------------------------------------------------------------------------------


def test_every_measure_is_classified_from_its_own_text() -> None:
    for policy in KNOWLEDGE.policies.values():
        for measure in policy.measures:
            assert measure.effect in RESTRICTING_EFFECTS | NON_RESTRICTING_EFFECTS, measure.id
            basis = " ".join(measure.effect_basis.split())
            assert basis and basis.lower() in _own_text(measure).lower(), measure.id


def test_measures_that_say_no_ban_or_report_as_context_are_context() -> None:
    said_context = [
        measure
        for policy in KNOWLEDGE.policies.values()
        for measure in policy.measures
        if "report as context" in _own_text(measure).lower()
        or "no ban" in _own_text(measure).lower()
        or measure.binds.startswith("Not binding")
    ]
    assert {m.id for m in said_context} >= {
        "dk-authority-removals-2023",
        "nz-agency-phase-out-2023",
    }
    assert all(measure.effect == "context" for measure in said_context)
    # Binding bans stay restricting.
    assert all(m.restricts for m in KNOWLEDGE.policies["us"].measures)


def _edit_policies(data_dir: Path, change: Callable[[Any], None]) -> str:
    path = data_dir / "policies.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(data_dir)
    return str(caught.value)


def _measure(document: Any, measure_id: str) -> dict[str, Any]:
    for policy in document["policies"]:
        for measure in policy["measures"]:
            if measure["id"] == measure_id:
                return measure  # type: ignore[no-any-return]
    raise KeyError(measure_id)


def test_a_measure_without_an_effect_is_refused(data_copy: Path) -> None:
    message = _edit_policies(
        data_copy, lambda d: _measure(d, "dk-authority-removals-2023").pop("effect")
    )
    assert "policies.yaml" in message and "dk-authority-removals-2023" in message
    assert "effect" in message


def test_an_unknown_effect_is_refused(data_copy: Path) -> None:
    message = _edit_policies(
        data_copy,
        lambda d: _measure(d, "nz-agency-phase-out-2023").update(effect="maybe"),
    )
    assert "nz-agency-phase-out-2023" in message and "effect" in message


def test_an_effect_basis_not_in_the_measures_text_is_refused(data_copy: Path) -> None:
    message = _edit_policies(
        data_copy,
        lambda d: _measure(d, "us-ndaa-889-a1a-2019").update(effect_basis="bans everything"),
    )
    assert "us-ndaa-889-a1a-2019" in message and "effect_basis" in message


def test_a_not_binding_measure_cannot_restrict(data_copy: Path) -> None:
    message = _edit_policies(
        data_copy,
        lambda d: _measure(d, "dk-authority-removals-2023").update(effect="use-ban"),
    )
    assert "dk-authority-removals-2023" in message and "Not binding" in message


# --- verdicts -------------------------------------------------------------------------------


def test_context_findings_are_listed_and_marked() -> None:
    findings = findings_for_family("hikvision", CONTEXT_ONLY)
    assert [f.policy for f in findings] == ["dk", "nz"]
    assert {f.effect for f in findings} == {"context"}


def test_a_product_named_only_by_context_measures_is_clear_with_them_listed() -> None:
    # Not restricted, and not silently cleared: clear, with the context measures in the
    # reason and the findings, as a scan judges the same device (decision 0027).
    row = judge_product(IDENTIFIER.identify("Hikvision DS-2CD2143G0-I"), CONTEXT_ONLY)
    assert row.restricted is False and row.status == "clear"
    assert [f.policy for f in row.findings] == ["dk", "nz"]
    assert {f.effect for f in row.findings} == {"context"}
    assert "restrict nothing" in row.reason and "dk, nz" in row.reason
    summary = summarise([row], CONTEXT_ONLY, {})
    assert (summary.restricted, summary.review, summary.clear) == (0, 0, 1)


def test_lookup_and_scan_give_a_context_only_device_the_same_verdict() -> None:
    # The same Hikvision camera under --policy dk: a scan's device and a lookup's row agree.
    row = judge_product(IDENTIFIER.identify("Hikvision DS-2CD2143G0-I"), CONTEXT_ONLY)
    device = judge(HIKVISION_DEVICE, CONTEXT_ONLY)
    verdict = verdict_of(device.restricted, device.notes, device.manufacturer)
    assert verdict == row.status == "clear"


def test_context_measures_do_not_add_to_a_restricted_products_policies() -> None:
    policies = KNOWLEDGE.select_policies(["us", "dk"])
    row = judge_product(IDENTIFIER.identify("Hikvision DS-2CD2143G0-I"), policies)
    assert row.status == "restricted"
    restricts = {p: any(f.restricts for f in row.findings if f.policy == p) for p in ("us", "dk")}
    assert restricts == {"us": True, "dk": False}
    assert {f.effect for f in row.findings if f.policy == "dk"} == {"context"}
    assert "restricted by us" in row.reason and "restricted by us, dk" not in row.reason


def test_lookup_and_screen_do_not_fail_on_context_measures(tmp_path: Path) -> None:
    runner = CliRunner()
    lookup = runner.invoke(
        app,
        [
            "lookup",
            "Hikvision DS-2CD2143G0-I",
            "--policy",
            "dk,nz",
            "--fail-on-restricted",
            "--format",
            "json",
        ],
        catch_exceptions=False,
    )
    assert lookup.exit_code == 0, lookup.output
    assert json.loads(lookup.stdout)["restricted"] is False

    listing = tmp_path / "list.csv"
    with listing.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Brand", "Model"])
        writer.writerow(["Hikvision", "DS-2CD2143G0-I"])
        writer.writerow(["Dahua", "IPC-HFW2431S-S-S2"])
    output = tmp_path / "out.json"
    screen = runner.invoke(
        app,
        ["screen", str(listing), "--policy", "dk,nz", "--fail-on-restricted", "-o", str(output)],
        catch_exceptions=False,
    )
    assert screen.exit_code == 0, screen.output
    assert "0 restricted" in screen.output
    assert json.loads(output.read_text(encoding="utf-8"))["summary"]["restricted"] == 0


HIKVISION_DEVICE = Device(
    ip="192.0.2.20",
    open_ports=(80,),
    manufacturer="Hikvision",
    brand="Hikvision",
    relation="own_brand",
    family="hikvision",
    confidence=0.95,
)


def test_a_device_named_only_by_context_measures_is_not_restricted() -> None:
    device = judge(HIKVISION_DEVICE, CONTEXT_ONLY)
    assert device.restricted is False
    assert [f.policy for f in device.findings] == ["dk", "nz"]
    assert all(f.effect == "context" for f in device.findings)
    assert any(note.startswith("context only") for note in device.notes)


def test_restricting_findings_come_before_context_findings() -> None:
    # a camera: s.889 covers video surveillance equipment (an unknown kind is only a review)
    camera = dataclasses.replace(HIKVISION_DEVICE, device_type="camera")
    device = judge(camera, KNOWLEDGE.select_policies(["dk", "us"]))
    assert device.restricted is True
    restricting = [f.restricts for f in device.findings]
    assert restricting == sorted(restricting, reverse=True)
    assert device.findings[0].policy == "us"


def test_the_scan_contract_counts_and_marks_context_findings() -> None:
    from datetime import UTC, datetime

    info = ScanInfo(
        scan_id="s",
        kind="active",
        started_at=datetime(2025, 1, 1, tzinfo=UTC),
        finished_at=datetime(2025, 1, 1, tzinfo=UTC),
        targets=("192.0.2.20",),
        ports=(80,),
        policies=("dk", "nz"),
        tool_version="test",
    )
    result = ScanResult(info=info, devices=(judge(HIKVISION_DEVICE, CONTEXT_ONLY),))
    document = to_contract(result)
    assert document.scan.restricted_count == 0
    finding = document.devices[0].findings[0]
    assert (finding.effect, finding.binding) == ("context", None)
    # Reading the document back gives the same findings, still marked as context.
    again = to_domain(from_contract(document.model_dump_json()))
    assert again.devices[0].findings == result.devices[0].findings
