"""The Policies section and the verbose findings say a measure's condition as the family
lines do (a newcomer's review of `provscan scan`).

A measure that restricts one device outright (a camera) and another only on a condition
(a device of unknown type) was listed "(binds you only on a condition)" under Policies while
the family line said "restricted by" it: the last finding of the measure stood for it.
Verbose findings said "binds you" with no condition, and an advisory "restricts nothing,
binds you".
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from provscan.model import Device, Finding, ScanInfo, ScanResult
from provscan.report.formats import effect_label, render_table

REMOVAL = Finding(
    policy="au",
    jurisdiction="Australia",
    measure="Defence and Commonwealth entities remove Hikvision and Dahua cameras",
    citation="Australian Senate Hansard, 9 Feb 2023.",
    effective="2023-02-09",
    family="hikvision",
    effect="removal-order",
    binding=True,
)
ON_CONDITION = Finding(
    policy="au",
    jurisdiction="Australia",
    measure=REMOVAL.measure,
    citation=REMOVAL.citation,
    effective=REMOVAL.effective,
    family="hikvision",
    effect="removal-order",
    binding=True,
    condition="its device type is one of camera, ptz or nvr",
)
ADVICE = Finding(
    policy="ca",
    jurisdiction="Canada",
    measure="The public is encouraged to take note of the Hikvision decision",
    citation="Statement, 27 Jun 2025.",
    effective="2025-06-27",
    family="hikvision",
    effect="advisory",
    binding=True,
)


def _table(*devices: Device, verbose: bool = False) -> str:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    info = ScanInfo(
        scan_id="s",
        kind="active",
        started_at=now,
        finished_at=now,
        targets=("127.0.0.0/24",),
        ports=(80,),
        policies=("au", "ca"),
        tool_version="test",
    )
    buffer = io.StringIO()
    render_table(
        ScanResult(info=info, devices=devices),
        Console(file=buffer, width=100, no_color=True),
        verbose=verbose,
    )
    return buffer.getvalue()


def _devices() -> tuple[Device, Device]:
    camera = Device(
        ip="127.0.0.10",
        manufacturer="Hikvision",
        family="hikvision",
        device_type="camera",
        restricted=True,
        findings=(REMOVAL,),
    )
    unknown_type = Device(
        ip="127.0.0.11",
        manufacturer="Hikvision",
        family="hikvision",
        findings=(ON_CONDITION,),
        notes=("review: restricted only on a condition the evidence cannot settle",),
    )
    return camera, unknown_type


def test_a_measure_restricting_one_device_is_not_conditional_under_policies() -> None:
    lines = _table(*_devices()).splitlines()
    policies = lines[next(i for i, line in enumerate(lines) if line.startswith("Policies")) :]
    au = next(line for line in policies if line.strip().startswith("au "))
    assert "only on a condition" not in au, au
    family = next(line for line in lines if "family (" in line and "restricted by" in line)
    assert "au" in family


def test_verbose_findings_say_the_condition() -> None:
    text = " ".join(_table(*_devices(), verbose=True).split())
    assert "[removal-order, binds you only if its device type is one of camera, ptz or nvr]" in (
        text
    )
    assert "[removal-order, binds you]" in text  # the camera's


def test_an_advisory_binds_nobody() -> None:
    assert effect_label(ADVICE) == "advisory, restricts nothing, addressed to you"
    assert "binds you" not in effect_label(ADVICE)
