"""Attribution: claims from several observations become one identity."""

from __future__ import annotations

from provscan.attribution.attribute import Attributor
from provscan.attribution.mac import (
    is_locally_administered,
    normalise_mac,
    vendor_for_registry_name,
)
from provscan.knowledge import load_knowledge
from provscan.model import AttemptStatus, Observation, ProbeAttempt
from provscan.policy.evaluate import judge

KNOWLEDGE = load_knowledge()
ATTRIBUTOR = Attributor(KNOWLEDGE)


def attempt(*observations: Observation) -> ProbeAttempt:
    return ProbeAttempt("http", 80, AttemptStatus.OK, observations)


def test_amcrest_label_on_dahua_firmware_is_an_oem_relabel() -> None:
    result = ATTRIBUTOR.attribute(
        "127.0.0.1",
        [80],
        [
            attempt(
                Observation("http", 80, "http.title", "WEB SERVICE"),
                Observation("http", 80, "dahua.rpc2.realm", "Login to AMC000N49SSV0M2U46"),
                Observation("http", 80, "dahua.rpc2.mac", "9C8ECD0A0B0C"),
            )
        ],
    )
    device = judge(result.device, KNOWLEDGE.select_policies(["us"]))
    assert device.manufacturer == "Dahua"
    assert device.brand == "Amcrest"
    assert device.relation == "oem_relabel"
    assert device.restricted and {f.policy for f in device.findings} == {"us"}
    assert device.mac == "9c:8e:cd:0a:0b:0c"
    assert any(e.rule_id == "ieee-oui" for e in device.evidence)


def test_conflicting_makers_lower_confidence_and_stay_visible() -> None:
    agreeing = ATTRIBUTOR.attribute(
        "127.0.0.1", [80], [attempt(Observation("http", 80, "http.server", "DNVRS-Webs"))]
    ).device
    conflicting = ATTRIBUTOR.attribute(
        "127.0.0.1",
        [80, 443],
        [
            attempt(
                Observation("http", 80, "http.server", "DNVRS-Webs"),
                Observation(
                    "tls", 443, "tls.subject", "CN=axis-accc8e012345,O=Axis Communications AB"
                ),
            )
        ],
    ).device
    assert conflicting.conflicts
    assert conflicting.confidence < agreeing.confidence


def test_uniview_is_identified_and_restricted_only_by_the_texas_list() -> None:
    device = ATTRIBUTOR.attribute(
        "127.0.0.1", [80], [attempt(Observation("onvif", 80, "onvif.manufacturer", "Uniview"))]
    ).device
    policies = KNOWLEDGE.select_policies(None)
    texas = judge(device, policies, acting_as=("us-tx:state-agency",))
    assert texas.manufacturer == "Uniview"
    # Since 26 Jan 2026 Texas state agencies may not use Uniview (issue 12); nothing else.
    assert texas.restricted and {f.policy for f in texas.findings} == {"us-tx"}
    canadian = judge(device, policies, acting_as=("ca:individual",))
    assert not canadian.restricted
    # Without --as: judged as a national government body, which the Texas list does not bind.
    assert not judge(device, policies).restricted


def test_no_evidence_means_incomplete_not_clean() -> None:
    device = judge(
        ATTRIBUTOR.attribute("127.0.0.1", [8080], [attempt()]).device,
        KNOWLEDGE.select_policies(None),
    )
    assert device.manufacturer is None and not device.restricted
    assert any("incomplete" in note for note in device.notes)


def test_mac_helpers() -> None:
    assert normalise_mac("3C-EF-8C-61-01-C0") == "3c:ef:8c:61:01:c0"
    assert normalise_mac("not a mac") is None
    for spelling in ("3cef8c6101c0", "3c:ef:8c:61:01:c0", "3cef.8c61.01c0", "3cef-8c61-01c0"):
        assert normalise_mac(spelling) == "3c:ef:8c:61:01:c0", spelling
    assert normalise_mac("3cef8c-6101c0") == "3c:ef:8c:61:01:c0"  # HP/Aruba switch tables
    # twelve hex digits among other text are not a MAC (a Dahua realm, mixed separators)
    assert normalise_mac("Login to 6G0ACB9PAZ00187") is None
    assert normalise_mac("3c:ef-8c:61:01:c0") is None
    assert is_locally_administered("02:00:00:00:00:01")
    spellings = {"Dahua": ["Dahua", "Zhejiang Dahua Technology Co., Ltd."]}
    assert vendor_for_registry_name(spellings, "Zhejiang Dahua Technology Co.,Ltd.") == "Dahua"
    assert vendor_for_registry_name(spellings, "Shanghai Dahua Scale Factory") is None


def test_randomised_mac_makes_no_maker_claim() -> None:
    device = ATTRIBUTOR.attribute("127.0.0.1", [80], [attempt()], mac="3e:ef:8c:61:01:c0").device
    assert device.manufacturer is None
    assert any("locally administered" in note for note in device.notes)
