"""An end of support limited to one country (eol.yaml ``region``; here a test-only entry for
Hikvision in Canada, tests/region_eol.py, as the bundled knowledge holds none) is advice only
for a user who reads the scan there: ``--as us:individual`` got "replace: support withdrawn in
CA" (newcomer review). Anyone (``--as all``) and the default reading get it with the country
named in words ("in Canada"). Every remediation item carries the rough effort of its kind of
action (contract 1.8)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from provscan.cli import app
from provscan.knowledge.loader import load_posture_knowledge
from provscan.knowledge.remediation import load_remediation
from provscan.model import Device, ScanInfo, ScanResult
from provscan.posture.assess import (
    PostureOptions,
    assess_device,
    assess_scan,
    effort_of,
    reads_in_region,
    region_name,
)
from provscan.report.contract import to_contract
from region_eol import WITHDRAWN, region_limited_in_commands, with_region_limited

KNOWLEDGE = with_region_limited(load_posture_knowledge())
CAPTURE = Path(__file__).parents[1] / "pcap" / "fixtures" / "lab_scan.pcap.gz"
LOOPBACK = {"PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"}
POLICIES = ("ca", "us")

HIKVISION = Device(
    ip="127.0.0.10",
    open_ports=(80, 554),
    manufacturer="Hikvision",
    brand="Hikvision",
    family="hikvision",
    model="DS-2CD2386G2-IU",
    device_type="camera",
    confidence=0.99,
)


def _reasons(acting_as: tuple[str, ...] | None) -> list[str]:
    options = PostureOptions(policies=POLICIES, acting_as=acting_as)
    return [r.reason for r in assess_device(HIKVISION, KNOWLEDGE, options=options).remediation]


@pytest.mark.parametrize(
    "acting_as",
    [
        ("us:individual",),
        ("us:business",),
        ("us-tx:state-agency",),
        ("uk:local-authority",),
    ],
)
def test_a_user_outside_the_region_gets_no_end_of_support_there(
    acting_as: tuple[str, ...],
) -> None:
    reasons = _reasons(acting_as)
    assert not any("support withdrawn" in reason for reason in reasons), reasons
    # nor the isolation it would call for
    assert not any("end of support" in reason for reason in reasons), reasons


@pytest.mark.parametrize(
    "acting_as",
    [
        ("ca:individual",),
        ("ca-qc:public-body",),
        ("us:individual", "ca:business"),
        ("all",),
        (),  # the default reading: a national government body of each selected policy
        None,  # not said: the default reading too
    ],
)
def test_a_user_in_the_region_anyone_and_the_default_reading_get_it_named_in_words(
    acting_as: tuple[str, ...] | None,
) -> None:
    reasons = _reasons(acting_as)
    assert WITHDRAWN in reasons, reasons
    assert not any(" in CA " in reason for reason in reasons)


def test_the_region_still_needs_its_policy_selected() -> None:
    options = PostureOptions(policies=("us",), acting_as=("ca:individual",))
    reasons = [r.reason for r in assess_device(HIKVISION, KNOWLEDGE, options=options).remediation]
    assert not any("support withdrawn" in reason for reason in reasons)


def test_the_scan_says_who_reads_it_when_the_options_do_not() -> None:
    def scan(acting_as: tuple[str, ...]) -> list[str]:
        info = ScanInfo(
            "s",
            "passive",
            datetime(2026, 1, 1, tzinfo=UTC),
            None,
            ("capture.pcap",),
            (80,),
            POLICIES,
            "0",
            acting_as=acting_as,
        )
        (device,) = assess_scan(ScanResult(info, (HIKVISION,)), KNOWLEDGE).devices
        return [r.reason for r in device.remediation]

    assert not any("support withdrawn" in reason for reason in scan(("us:individual",)))
    assert WITHDRAWN in scan(("ca:individual",))
    # options given without a reader take the scan's
    info = ScanInfo(
        "s",
        "active",
        datetime(2026, 1, 1, tzinfo=UTC),
        None,
        ("127.0.0.10",),
        (80,),
        POLICIES,
        "0",
        acting_as=("us:individual",),
    )
    result = assess_scan(
        ScanResult(info, (HIKVISION,)), KNOWLEDGE, PostureOptions(policies=POLICIES)
    )
    assert not any("support withdrawn" in r.reason for r in result.devices[0].remediation)


def test_reads_in_region_matches_the_country_and_its_parts_only() -> None:
    assert reads_in_region(("ca-qc:public-body",), "CA")
    assert not reads_in_region(("us:individual",), "CA")
    # a jurisdiction whose code merely starts like the region's is not in it
    assert not reads_in_region(("cat:someone",), "CA")
    assert reads_in_region(("all",), "CA") and reads_in_region((), "CA")
    assert region_name("CA") == "Canada"
    assert region_name("ZZ") == "ZZ"  # no policy of that code: the code as it is


def test_every_remediation_item_carries_its_kinds_effort_into_the_json() -> None:
    options = PostureOptions(policies=POLICIES, acting_as=())
    assessed = assess_device(HIKVISION, KNOWLEDGE, options=options)
    assert {r.action for r in assessed.remediation} >= {"isolate", "replace", "patch"}
    for item in assessed.remediation:
        effort = effort_of(item.action)
        assert effort is not None
        assert item.effort == effort.label
    info = ScanInfo("s", "active", datetime(2026, 1, 1, tzinfo=UTC), None, (), (80,), POLICIES, "0")
    document = to_contract(ScanResult(info, (assessed,))).model_dump(mode="json")
    entries = document["devices"][0]["remediation"]
    assert [e["effort"] for e in entries] == [r.effort for r in assessed.remediation]
    assert "months" in {e["effort"] for e in entries if e["action"] == "replace"}


def test_a_remediation_the_knowledge_gives_no_effort_for_has_none() -> None:
    texts = dataclasses.replace(KNOWLEDGE.remediation or load_remediation(), effort={})
    knowledge = dataclasses.replace(KNOWLEDGE, remediation=texts)
    assessed = assess_device(HIKVISION, knowledge, options=PostureOptions(policies=POLICIES))
    assert assessed.remediation and all(r.effort is None for r in assessed.remediation)


def _pcap_json(*extra: str) -> dict[str, Any]:
    # in this process, so that the command reads the test-only region-limited entry
    with region_limited_in_commands():
        done = CliRunner().invoke(
            app, ["pcap", str(CAPTURE), "--no-db", "--quiet", "-f", "json", *extra], env=LOOPBACK
        )
    assert done.exit_code == 0, (done.output, done.exception)
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def test_a_reader_in_canada_gets_the_advice_from_the_same_capture() -> None:
    # the counterpart of the test below: the entry does reach the command's devices
    document = _pcap_json("--as", "ca:individual")
    reasons = [r["reason"] for d in document["devices"] for r in d["remediation"]]
    assert WITHDRAWN in reasons


def test_a_us_household_reading_a_capture_gets_no_canadian_advice() -> None:
    # Given the lab capture read as a US individual (the newcomer's command)
    document = _pcap_json("--as", "us:individual")
    hikvision = [d for d in document["devices"] if d["manufacturer"] == "Hikvision"]
    assert hikvision
    # Then no Hikvision device is told to replace it for Canada's end of support
    reasons = [r["reason"] for d in hikvision for r in d["remediation"]]
    assert not any("support withdrawn" in reason for reason in reasons)
    first = next(d for d in document["devices"] if d["ip"] == "127.77.1.10")
    assert [r["action"] for r in first["remediation"]] == ["reconfigure"]
    assert all(r["effort"] == "hours" for r in first["remediation"])
