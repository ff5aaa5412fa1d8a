"""A restricting measure whose ``effective`` day is after the judging day (a ban published now
that starts later) restricts nothing yet: its finding is kept with ``binding`` False, like a
measure binding others, and output says "in force from" its day. The judging day is today for
lookup and screening, the scan's date for a stored scan judged again."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import provscan.knowledge.loader as loader
from provscan.cli import app
from provscan.compliance.facts import _JudgingAgain
from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.knowledge.loader import DEFAULT_DATA_DIR, Knowledge, load_knowledge
from provscan.knowledge.policies import ORG_TYPE_PATTERN
from provscan.screening import run
from provscan.screening.identify import ProductIdentifier

MEASURE = "ca-federal-hikvision-purchase-use-2025"
PARTY = "ca:federal-institution"
PRODUCT = "Hikvision DS-2CD2143G0-I"


def _knowledge_with(tmp_path: Path, effective: date) -> Knowledge:
    """A copy of the bundled knowledge in which :data:`MEASURE` takes effect on ``effective``."""
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    (target / "manifest.yaml").unlink(missing_ok=True)  # checked without hashes
    path = target / "policies.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    measures = [
        measure
        for policy in document["policies"]
        for measure in policy["measures"]
        if measure["id"] == MEASURE
    ]
    assert len(measures) == 1
    measures[0]["effective"] = effective.isoformat()
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
    return load_knowledge(target)


def _lookup(monkeypatch: pytest.MonkeyPatch, knowledge: Knowledge, *args: str) -> str:
    identifier = ProductIdentifier(knowledge, load_grammar_knowledge(knowledge=knowledge))
    monkeypatch.setattr(run, "bundled_identifier", lambda: identifier)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    result = CliRunner().invoke(
        app, ["lookup", PRODUCT, "--policy", "ca", "--as", PARTY, *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_lookup_of_a_measure_not_yet_in_force_is_not_restricted_and_names_its_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = date.today() + timedelta(days=200)
    knowledge = _knowledge_with(tmp_path, later)
    text = _lookup(monkeypatch, knowledge)
    assert re.search(r"restricted\s+no \(as ca:federal-institution\)", text), text
    assert "not in force yet" in text
    assert f"in force from {later.isoformat()}" in text
    document = _lookup(monkeypatch, knowledge, "--format", "json")
    row: dict[str, Any] = json.loads(document)
    assert row["restricted"] is False
    kept = [f for f in row["findings"] if f["effective"] == later.isoformat()]
    assert kept and all(f["binding"] is False for f in kept)


def test_the_same_measure_in_force_already_restricts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    knowledge = _knowledge_with(tmp_path, date.today() - timedelta(days=30))
    text = _lookup(monkeypatch, knowledge)
    assert re.search(r"restricted\s+YES \(as ca:federal-institution\)", text), text
    assert "in force from" not in text


def _stored_device() -> dict[str, Any]:
    """A device document as a stored scan holds it (the contract's device fields)."""
    return {
        "ip": "127.0.0.20",
        "open_ports": [80, 554],
        "manufacturer": "Hikvision",
        "family": "hikvision",
        "device_type": "camera",
        "confidence": 0.95,
        "alternatives": [],
        "notes": [],
        "restricted": False,
        "findings": [],
    }


@pytest.mark.parametrize(
    ("scan_day", "restricted"), [(date(2027, 7, 1), True), (date(2027, 5, 31), False)]
)
def test_a_stored_scan_is_judged_as_on_its_own_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scan_day: date, restricted: bool
) -> None:
    knowledge = _knowledge_with(tmp_path, date(2027, 6, 1))
    monkeypatch.setattr(loader, "load_knowledge", lambda data_dir=None: knowledge)
    judged = _JudgingAgain((PARTY,), ("ca",), on=scan_day)(_stored_device())
    assert judged["restricted"] is restricted
    finding = next(f for f in judged["findings"] if f["effective"] == "2027-06-01")
    assert finding["binding"] is restricted
    if not restricted:
        assert any("in force from 2027-06-01" in note for note in judged["notes"])


def test_a_malformed_org_type_id_is_refused_in_words(tmp_path: Path) -> None:
    from provscan.knowledge.policies import OrgType

    assert re.match(ORG_TYPE_PATTERN, "ca-on:municipality")  # the rule is kept
    OrgType(id="ca-on:municipality", description="a municipality of Ontario")
    with pytest.raises(ValueError) as refused:
        OrgType(id="ca-on-exampleton:municipality", description="the town of Exampleton")
    message = str(refused.value)
    assert "String should match pattern" not in message
    assert "country code" in message and "ca-on" in message and "us-tx" in message
