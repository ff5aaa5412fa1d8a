"""Scan verdicts never claim more than their evidence (issue 9, point 4).

A Honeywell thermostat's MAC address (IEEE owner "Honeywell Environmental & Combustion
Controls") used to reach Hikvision through Honeywell's partial relabel relation (specific
video series only) and made the thermostat a restricted device.
"""

from __future__ import annotations

import pytest

from provscan.attribution.attribute import Attributor
from provscan.knowledge import load_knowledge
from provscan.model import AttemptStatus, Device, Observation, ProbeAttempt
from provscan.policy.evaluate import judge

KNOWLEDGE = load_knowledge()
ATTRIBUTOR = Attributor(KNOWLEDGE)
RESTRICTED_MAKERS = {"Hikvision", "Dahua", "Hytera", "Huawei", "ZTE"}


def scanned(
    *observations: Observation, mac: str | None = None, policies: list[str] | None = None
) -> Device:
    attempts = [ProbeAttempt("http", 80, AttemptStatus.OK, observations)] if observations else []
    device = ATTRIBUTOR.attribute("127.0.0.1", [80], attempts, mac=mac).device
    return judge(device, KNOWLEDGE.select_policies(policies))


@pytest.mark.parametrize(
    "mac",
    [
        "00:20:3d:11:22:33",  # Honeywell Environmental & Combustion Controls
        "dc:b3:b4:11:22:33",  # Honeywell Environmental & Combustion Controls (Tianjin)
        "f0:54:94:11:22:33",  # Honeywell Connected Building
        "00:1e:1e:11:22:33",  # Honeywell Life Safety
    ],
)
def test_a_honeywell_building_device_is_not_attributed_to_a_restricted_maker(mac: str) -> None:
    device = scanned(mac=mac)
    assert device.restricted is False
    assert device.manufacturer not in RESTRICTED_MAKERS
    assert device.family is None and not device.findings
    assert device.brand == "Honeywell"


def test_a_possible_maker_through_a_partial_relation_is_a_review_note() -> None:
    # An Amcrest MAC alone: Amcrest sells Dahua-made lines, but nothing shows this is one.
    device = scanned(mac="9c:8e:cd:11:22:33")
    assert device.restricted is False and device.manufacturer is None
    assert any(note.startswith("review:") and "Dahua" in note for note in device.notes)


def test_the_same_brand_with_the_makers_firmware_is_restricted() -> None:
    device = scanned(
        Observation("http", 80, "dahua.rpc2.realm", "Login to AMC000N49SSV0M2U46"),
        mac="9c:8e:cd:11:22:33",
    )
    assert (device.manufacturer, device.brand, device.restricted) == ("Dahua", "Amcrest", True)


def test_a_weak_single_claim_is_review_not_restricted() -> None:
    # The neutral ONVIF manufacturer "General" is a weak (0.35), unverified Dahua hint.
    device = scanned(Observation("onvif", 80, "onvif.manufacturer", "General"))
    assert device.restricted is False
    assert any(note.startswith("review:") for note in device.notes)


PERFORMANCE_CAMERA = (
    Observation("onvif", 80, "onvif.manufacturer", "Honeywell"),
    Observation("onvif", 80, "onvif.model", "H4W4PER3"),
)


def test_either_maker_is_restricted_only_when_every_candidate_is() -> None:
    # Australia's removal names both makers (the UK statement does too, but restricts only
    # on a condition, a sensitive site, since 2026-12-06)
    both = scanned(*PERFORMANCE_CAMERA, policies=["au"])
    assert both.restricted is True
    assert {both.manufacturer, *(c.maker for c in both.alternatives)} == {"Hikvision", "Dahua"}
    assert any("Hikvision or Dahua" in note for note in both.notes)

    one = scanned(*PERFORMANCE_CAMERA, policies=["eu-ep"])
    assert one.restricted is False
    assert any(note.startswith("review:") and "eu-ep" in note for note in one.notes)


def test_a_honeywell_camera_of_an_unknown_line_is_review() -> None:
    device = scanned(
        Observation("onvif", 80, "onvif.manufacturer", "Honeywell"),
        Observation("onvif", 80, "onvif.model", "HC30W45R3"),
    )
    assert device.restricted is False and device.manufacturer is None
    assert any(note.startswith("review:") for note in device.notes)
