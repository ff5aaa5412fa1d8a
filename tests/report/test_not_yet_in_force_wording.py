"""A measure not yet in force on the judging day is kept with ``binding`` False; output must not
say it "does not bind you" when it binds the user once in force (it says "in force from DAY"),
and the compliance report's "if confirmed" judges a device to review on the day its verdict
was judged (its scan's), not today.

The measure is the bundled Canadian federal Hikvision bar with its ``effective`` day moved
(a copy: the bundled policies.yaml is never edited); nothing is sent anywhere.
"""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

import provscan.knowledge.loader as loader
from provscan.compliance.facts import gather
from provscan.knowledge.loader import Knowledge, load_knowledge
from provscan.model import Device, ScanInfo, ScanResult
from provscan.policy.evaluate import binds_once_in_force, judge, maker_countries
from provscan.report.formats import render_table
from provscan.store.db import open_store

MEASURE = "ca-federal-hikvision-purchase-use-2025"
TITLE = "Federal government purchase and use of Hikvision products barred"
FEDERAL = "ca:federal-institution"
MUNICIPAL = "ca:provincial-or-municipal-body"


def _knowledge_with(effective: date) -> Knowledge:
    """The active knowledge with :data:`MEASURE` in force from ``effective``."""
    knowledge = load_knowledge()
    policy = knowledge.policies["ca"]
    measures = [
        measure.model_copy(update={"effective": effective}) if measure.id == MEASURE else measure
        for measure in policy.measures
    ]
    assert any(measure.id == MEASURE for measure in policy.measures)
    moved = policy.model_copy(update={"measures": measures})
    return dataclasses.replace(knowledge, policies=knowledge.policies | {"ca": moved})


def _device(
    knowledge: Knowledge, acting_as: tuple[str, ...], on: date, policies: tuple[str, ...]
) -> Device:
    return judge(
        Device(
            ip="127.0.0.20",
            open_ports=(80, 554),
            manufacturer="Hikvision",
            family="hikvision",
            device_type="ip_camera",
            confidence=0.95,
        ),
        knowledge.select_policies(list(policies)),
        countries=maker_countries(knowledge.vendors),
        acting_as=acting_as,
        on=on,
    )


def _table(
    monkeypatch: pytest.MonkeyPatch, acting_as: tuple[str, ...], *, verbose: bool = False
) -> str:
    scan_day = date(2027, 5, 31)
    knowledge = _knowledge_with(date(2027, 6, 1))
    monkeypatch.setattr(loader, "load_knowledge", lambda data_dir=None: knowledge)
    device = _device(knowledge, acting_as, scan_day, ("ca",))
    info = ScanInfo(
        scan_id="s1",
        kind="active",
        started_at=datetime(2027, 5, 31, 9, 0, tzinfo=UTC),
        finished_at=None,
        targets=("127.0.0.20",),
        ports=(80, 554),
        policies=("ca",),
        tool_version="test",
        hosts_scanned=1,
        hosts_responding=1,
        acting_as=acting_as,
    )
    console = Console(file=io.StringIO(), width=100, no_color=True, highlight=False)
    render_table(ScanResult(info, (device,)), console, verbose=verbose)
    output = console.file.getvalue()
    assert isinstance(output, str)
    return " ".join(output.split())


def test_a_measure_binding_you_once_in_force_says_its_day(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _table(monkeypatch, (FEDERAL,))
    assert "Hikvision family (1), named by ca (in force from 2027-06-01): 127.0.0.20" in text
    assert "does not bind you" not in text
    assert "bind others" not in text
    assert (
        "1 of the clear devices is named by measures not yet in force that bind you once they "
        "are: ca (in force from 2027-06-01); see Policies below" in text
    )
    assert "ca Canada (in force from 2027-06-01):" in text
    verbose = _table(monkeypatch, (FEDERAL,), verbose=True)
    assert f"{TITLE} (in force from 2027-06-01; use-ban, binds you from 2027-06-01)" in verbose
    assert "in force since 2027-06-01" not in verbose


def test_a_measure_binding_others_still_does_not_bind_you(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = _table(monkeypatch, (MUNICIPAL,))
    assert "Hikvision family (1), named by ca (does not bind you): 127.0.0.20" in text
    assert "1 named by measures that bind others" in text
    assert "bind you once they are" not in text
    assert re.search(r"ca Canada \([^)]*does not bind you\)", text), text


def test_binds_once_in_force_reads_the_measure_for_the_party() -> None:
    knowledge = _knowledge_with(date(2027, 6, 1))
    policies = knowledge.select_policies(["ca"])
    on = date(2027, 5, 31)
    finding = next(
        f for f in _device(knowledge, (FEDERAL,), on, ("ca",)).findings if f.measure == TITLE
    )
    assert finding.binding is False
    assert binds_once_in_force(finding, policies, (FEDERAL,), on)
    assert binds_once_in_force(dataclasses.asdict(finding), policies, (FEDERAL,), on)
    assert not binds_once_in_force(finding, policies, (MUNICIPAL,), on)
    assert binds_once_in_force(finding, policies, ("all",), on)  # every measure counts
    assert not binds_once_in_force(finding, policies, (FEDERAL,), date(2027, 6, 1))


def test_if_confirmed_is_judged_on_the_scans_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # in force between the scan's day and today: the stored verdict left it out, and so
    # must "if confirmed" beside it (judged as of today, it said "restricted by ca-early, ca");
    # "ca-early": the same measure in force long before, so that the device is to review
    scan_day = date.today() - timedelta(days=60)
    knowledge = _knowledge_with(date.today() - timedelta(days=30))
    early = knowledge.policies["ca"].model_copy(
        update={
            "id": "ca-early",
            "measures": [
                measure.model_copy(
                    update={"id": f"{MEASURE}-early", "effective": date(2025, 6, 27)}
                )
                for measure in knowledge.policies["ca"].measures
                if measure.id == MEASURE
            ],
        }
    )
    knowledge = dataclasses.replace(knowledge, policies=knowledge.policies | {"ca-early": early})
    monkeypatch.setattr(loader, "load_knowledge", lambda data_dir=None: knowledge)
    policies = ("ca", "ca-early")
    device = dataclasses.replace(
        _device(knowledge, (), scan_day, policies), confidence=0.3, findings=(), notes=()
    )
    device = judge(
        device,
        knowledge.select_policies(list(policies)),
        countries=maker_countries(knowledge.vendors),
        on=scan_day,
    )
    assert any(
        note.startswith("review: maker Hikvision is not established") for note in device.notes
    )
    started = datetime.combine(scan_day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    info = ScanInfo(
        scan_id="scan-on-its-day",
        kind="active",
        started_at=started,
        finished_at=started + timedelta(minutes=5),
        targets=("127.0.0.20",),
        ports=(80, 554),
        policies=policies,
        tool_version="test",
        hosts_scanned=1,
        hosts_responding=1,
    )
    with open_store(f"sqlite:///{tmp_path / 'provscan.db'}") as store:
        store.save(ScanResult(info, (device,)))
        for scan_id in (None, "scan-on-its-day"):
            facts = gather(store, scan_id=scan_id)
            (row,) = facts.review
            (line,) = [line for line in row.if_confirmed if line.startswith("Hikvision:")]
            assert line == "Hikvision: restricted by ca-early", line


@pytest.mark.parametrize(
    ("party", "said"),
    [(FEDERAL, "named by ca (in force from 2027-06-01)"), (MUNICIPAL, "(do not bind you)")],
)
def test_screen_says_when_a_measure_binds_you(party: str, said: str) -> None:
    from provscan.knowledge.grammars import load_grammar_knowledge
    from provscan.screening.identify import ProductIdentifier
    from provscan.screening.verdict import judge_product

    if date.today() >= date(2027, 6, 1):
        pytest.skip("the moved measure is in force today")
    knowledge = _knowledge_with(date(2027, 6, 1))
    identifier = ProductIdentifier(knowledge, load_grammar_knowledge(knowledge=knowledge))
    row = judge_product(
        identifier.identify("Hikvision DS-2CD2143G0-I"),
        knowledge.select_policies(["ca"]),
        acting_as=(party,),
        countries=maker_countries(knowledge.vendors),
    )
    assert row.status == "clear"
    assert said in row.reason, row.reason
    if party == FEDERAL:
        assert "do not bind you" not in row.reason, row.reason


@pytest.mark.parametrize("party", [FEDERAL, MUNICIPAL])
def test_the_console_device_page_says_when_a_measure_binds_you(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, party: str
) -> None:
    import warnings

    from provscan.store.db import normalise_db_arg
    from provscan.web.app import create_app

    with warnings.catch_warnings():
        # starlette asks for its httpx fork; the tests use httpx itself
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    knowledge = _knowledge_with(date(2027, 6, 1))
    monkeypatch.setattr(loader, "load_knowledge", lambda data_dir=None: knowledge)
    device = _device(knowledge, (party,), date(2027, 5, 31), ("ca",))
    started = datetime(2027, 5, 31, 9, 0, tzinfo=UTC)
    info = ScanInfo(
        scan_id="scan-before-the-day",
        kind="active",
        started_at=started,
        finished_at=started + timedelta(minutes=5),
        targets=("127.0.0.20",),
        ports=(80, 554),
        policies=("ca",),
        tool_version="test",
        hosts_scanned=1,
        hosts_responding=1,
        acting_as=(party,),
    )
    url = normalise_db_arg(str(tmp_path / "web.db"))
    with open_store(url) as store:
        store.save(ScanResult(info, (device,)))
        ((device_id, *_),) = [
            (d["device_id"], d) for d in store.inventory_documents() if d["ip"] == "127.0.0.20"
        ]
        store.accounts().add_user(
            "viewer", "viewer", "correct horse battery", actor="t", address="cli"
        )
    with TestClient(create_app(url)) as client:
        found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert found is not None
        client.post(
            "/login",
            data={"name": "viewer", "password": "correct horse battery", "csrf_token": found[1]},
        )
        page = client.get(f"/devices/{device_id}")
    assert page.status_code == 200, page.text
    text = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    if party == FEDERAL:
        assert "it binds ca:federal-institution once in force: ca in force from 2027-06-01" in text
        assert "but none binds" not in text
        assert "from 2027-06-01 (not in force yet)" in text
    else:
        assert "but none binds" in text
        assert "once in force" not in text


@pytest.mark.parametrize(("party", "counted"), [(FEDERAL, 0), (MUNICIPAL, 1)])
def test_the_compliance_report_counts_only_measures_binding_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, party: str, counted: int
) -> None:
    # a measure binding the user from a later day is not one "that does not bind you"
    knowledge = _knowledge_with(date(2027, 6, 1))
    monkeypatch.setattr(loader, "load_knowledge", lambda data_dir=None: knowledge)
    device = _device(knowledge, (party,), date(2027, 5, 31), ("ca",))
    started = datetime(2027, 5, 31, 9, 0, tzinfo=UTC)
    info = ScanInfo(
        scan_id="scan-before-the-day",
        kind="active",
        started_at=started,
        finished_at=started + timedelta(minutes=5),
        targets=("127.0.0.20",),
        ports=(80, 554),
        policies=("ca",),
        tool_version="test",
        hosts_scanned=1,
        hosts_responding=1,
        acting_as=(party,),
    )
    with open_store(f"sqlite:///{tmp_path / 'provscan.db'}") as store:
        store.save(ScanResult(info, (device,)))
        for scan_id in (None, "scan-before-the-day"):
            facts = gather(store, scan_id=scan_id)
            assert facts.not_binding_total == counted
