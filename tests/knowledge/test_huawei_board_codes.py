"""Huawei phones seen only through DHCP: the EMUI board code separates Huawei from Honor.

Issue 11 point 6. "HUAWEI:android:<board>" is sent by EMUI; Honor Device Co. (sold by Huawei
in Nov 2020) runs a fork and may keep the prefix. A board code of a phone made by Huawei
(Huawei-branded, or Honor-branded and launched before the sale) establishes Huawei; the code of
an Honor phone launched after the sale, and any code not listed, only supports Huawei (review).
The whole rule set runs here: Attributor (every fingerprint rule) and the policy judgement.
"""

from __future__ import annotations

import pytest

from provscan.attribution.attribute import Attributor
from provscan.knowledge.loader import load_knowledge
from provscan.model import Device, Observation
from provscan.policy.evaluate import judge

KNOWLEDGE = load_knowledge()
ATTRIBUTOR = Attributor(KNOWLEDGE)
POLICIES = KNOWLEDGE.select_policies(None)
HUAWEI_MADE_RULE = "huawei.dhcp_vendor_class.emui_board_huawei_made"
SHARED_RULE = "huawei.dhcp_vendor_class.emui_android"


def dhcp_only(vendor_class: str | None = None, hostname: str | None = None) -> Device:
    """A host known only from its DHCP request (no MAC: no OUI to lean on)."""
    found = []
    if vendor_class is not None:
        found.append(Observation("dhcp", 67, "dhcp.vendor_class", vendor_class))
    if hostname is not None:
        found.append(Observation("dhcp", 67, "dhcp.hostname", hostname))
    device = ATTRIBUTOR.attribute("127.0.0.1", [], [], extra_observations=found).device
    return judge(device, POLICIES)


def _rules(device: Device) -> set[str]:
    return {item.rule_id for item in device.evidence}


@pytest.mark.parametrize(
    "board",
    [
        "ELE",  # P30 (2019)
        "VOG",  # P30 Pro
        "ANA",  # P40 (2020)
        "LIO",  # Mate 30 Pro
        "NOH",  # Mate 40 Pro (Oct 2020; Huawei-branded, so Huawei after the sale too)
        "ALP",  # Mate 10
        "YAL",  # Honor 20 / nova 5T (2019: made by Huawei)
        "JSN",  # Honor 8X (2018)
    ],
)
def test_a_huawei_made_board_code_establishes_huawei(board: str) -> None:
    device = dhcp_only(f"HUAWEI:android:{board}")
    assert device.manufacturer == "Huawei", device.notes
    assert device.restricted
    assert device.model == board
    assert HUAWEI_MADE_RULE in _rules(device)


@pytest.mark.parametrize(
    "board",
    [
        "NTH",  # Honor 50 (2021)
        "FNE",  # Honor 70 (2022)
        "LGE",  # Honor Magic4 Pro (2022)
        "ABR",  # Huawei P50 and Honor 400 Lite: reused by Honor, so left out
    ],
)
def test_an_honor_post_sale_board_code_is_not_huawei(board: str) -> None:
    device = dhcp_only(f"HUAWEI:android:{board}")
    assert device.manufacturer != "Huawei"
    assert not device.restricted
    assert HUAWEI_MADE_RULE not in _rules(device)
    # the shared rule still names Huawei as a possibility: a review, never a verdict
    assert SHARED_RULE in _rules(device)
    assert any(note.startswith("review:") and "Huawei" in note for note in device.notes)


def test_an_unknown_board_code_is_review_only() -> None:
    device = dhcp_only("HUAWEI:android:QZX")
    assert device.manufacturer is None
    assert not device.restricted
    assert _rules(device) >= {SHARED_RULE}
    assert HUAWEI_MADE_RULE not in _rules(device)
    assert any(note.startswith("review:") and "Huawei" in note for note in device.notes)


def test_a_huawei_host_name_alone_is_a_review() -> None:
    # a host name is set by its owner: it supports Huawei, never establishes it alone
    device = dhcp_only(hostname="HUAWEI_Mate_30_Pro-4f3e2d1c0b")
    assert not device.restricted
    assert any("possibly made by Huawei" in note for note in device.notes)


def test_a_huawei_host_name_and_the_emui_vendor_class_of_one_request_are_review() -> None:
    # an unknown board code and the host name: two shared fields of one DHCP request, which
    # the phone's one DHCP client wrote; one service's fields are one signal (decision 0030)
    device = dhcp_only(vendor_class="HUAWEI:android:QZX", hostname="HUAWEI_P30-9e8b07efe8a355")
    assert device.manufacturer is None
    assert not device.restricted
    assert any("possibly made by Huawei" in note for note in device.notes)


def test_an_honor_host_name_is_not_huawei() -> None:
    device = dhcp_only(hostname="HONOR_50-4f3e2d1c0b")
    assert device.manufacturer != "Huawei"
    assert not device.restricted


def test_no_listed_board_code_is_an_honor_post_sale_code() -> None:
    """The maker-specific list and the negatives (post-sale Honor codes) never overlap."""
    rule = next(
        rule
        for loaded in KNOWLEDGE.fingerprints
        for rule in loaded.spec.rules
        if rule.id == HUAWEI_MADE_RULE
    )
    regex = rule.compile()
    assert rule.specificity.maker_specific
    post_sale = [value for value in rule.negatives if value.startswith("HUAWEI:android:")]
    assert len(post_sale) >= 10
    assert not [value for value in post_sale if regex.search(value)]
    shared = next(
        rule
        for loaded in KNOWLEDGE.fingerprints
        for rule in loaded.spec.rules
        if rule.id == SHARED_RULE
    )
    assert not shared.specificity.maker_specific
    assert all(shared.compile().search(value) for value in post_sale)
