"""Who a measure binds (issue 12): the same device gets the verdict that is true for the user.

Each org type of each jurisdiction is judged against the same Hikvision camera (bundled
measures, real judging code), then the 2025-26 measures that name makers by category
(foreign-produced routers and drones) and the Texas 2026 list.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from provscan.knowledge.loader import load_knowledge
from provscan.knowledge.policies import CategoryScope, Measure, binds_org_type
from provscan.model import Device, MakerCandidate
from provscan.policy.evaluate import (
    OrgTypeError,
    assess,
    default_parties,
    judge,
    maker_countries,
    parse_acting_as,
)
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import judge_product

KNOWLEDGE = load_knowledge()
POLICIES = tuple(KNOWLEDGE.policies.values())
COUNTRIES = maker_countries(KNOWLEDGE.vendors)
IDENTIFIER = bundled_identifier()

HIKVISION_CAMERA = Device(
    ip="192.0.2.30",
    open_ports=(80, 554),
    manufacturer="Hikvision",
    brand="Hikvision",
    relation="own_brand",
    family="hikvision",
    model="DS-2CD2143G0-I",
    device_type="camera",
    confidence=0.95,
)

#: For the same Hikvision camera: is it restricted for this org type, and which measures
#: (ids' titles are checked through the policy they belong to) make it so.
HIKVISION_VERDICTS: list[tuple[str, bool, set[str]]] = [
    ("ca:federal-institution", True, {"ca"}),
    ("ca:crown-corporation", True, {"ca"}),
    ("ca:individual", False, set()),
    ("ca:business", False, set()),
    ("ca:provincial-or-municipal-body", False, set()),
    ("ca:telecom-provider", False, set()),
    # Québec bars equipment acquired after 21 Dec 2023 and has older units risk-assessed: for
    # an installed camera that is a condition the evidence cannot settle (review); a purchase
    # is restricted (see test_quebec_restricts_a_purchase_and_reviews_an_installed_camera).
    ("ca-qc:public-body", False, set()),
    ("us:federal-agency", True, {"us"}),
    ("us:federal-contractor", True, {"us"}),
    ("us:federal-grantee", True, {"us"}),
    ("us:carrier", True, {"us"}),
    ("us:equipment-supplier", True, {"us"}),
    ("us:individual", False, set()),
    ("us:business", False, set()),
    ("us-tx:state-agency", True, {"us-tx"}),
    ("us-la:state-agency", True, {"us-la"}),
    ("us-la:school", True, {"us-la"}),
    # The UK statement reaches sensitive sites (and core departmental networks) only, which
    # the evidence cannot tell: a review, never an outright restriction.
    ("uk:central-government", False, set()),
    ("uk:local-authority", False, set()),
    ("au:commonwealth-entity", True, {"au"}),
    ("eu:european-parliament", True, {"eu-ep"}),
    ("lt:critical-contracting-authority", True, {"lt"}),
    ("lt:state-institution", True, {"lt"}),
]


def test_every_declared_org_type_has_a_hikvision_verdict_here() -> None:
    choosable = {
        org_type.id
        for policy in POLICIES
        for org_type in policy.org_types
        if not org_type.id.endswith(":everyone")
    }
    assert choosable == {org_type for org_type, _, _ in HIKVISION_VERDICTS}


@pytest.mark.parametrize(("org_type", "restricted", "by"), HIKVISION_VERDICTS)
def test_the_same_hikvision_camera_for_each_org_type(
    org_type: str, restricted: bool, by: set[str]
) -> None:
    # Given the bundled measures and one org type
    device = judge(HIKVISION_CAMERA, POLICIES, countries=COUNTRIES, acting_as=(org_type,))
    # Then the verdict is the one true for that org type
    assert device.restricted is restricted
    assert {f.policy for f in device.findings if f.restricts} == by
    # And every finding says whether it binds, and what it does
    assert all(f.binding in (True, False) for f in device.findings)
    assert all(f.effect != "restricts" for f in device.findings)  # a kind is always recorded
    if not restricted:
        assert not any(f.binding and f.restricts for f in device.findings)


def test_three_users_three_verdicts_for_the_same_camera() -> None:
    federal = judge(HIKVISION_CAMERA, POLICIES, acting_as=("ca:federal-institution",))
    contractor = judge(HIKVISION_CAMERA, POLICIES, acting_as=("us:federal-contractor",))
    person = judge(HIKVISION_CAMERA, POLICIES, acting_as=("ca:individual",))
    # A Canadian federal institution: the federal use ban binds it.
    binding = {(f.policy, f.effect) for f in federal.findings if f.binding}
    assert ("ca", "use-ban") in binding and federal.restricted
    # A US federal contractor: s.889(a)(1)(B) forbids using it (not only buying it).
    assert any(
        f.policy == "us" and f.effect == "use-ban" and f.binding and "889(a)(1)(B)" in f.measure
        for f in contractor.findings
    )
    assert contractor.restricted
    assert not any(f.binding for f in contractor.findings if f.policy.startswith("ca"))
    # A Canadian individual: only advised; nothing binding restricts.
    assert person.restricted is False
    assert {(f.policy, f.effect) for f in person.findings if f.binding} == {("ca", "advisory")}
    assert any("do not bind you" in note for note in person.notes)


def test_several_org_types_add_up() -> None:
    both = judge(HIKVISION_CAMERA, POLICIES, acting_as=("ca:individual", "us:federal-contractor"))
    assert both.restricted is True
    assert {f.policy for f in both.findings if f.restricts} == {"us"}


def test_with_as_all_every_measure_counts_and_binding_is_unknown() -> None:
    device = judge(HIKVISION_CAMERA, POLICIES, countries=COUNTRIES, acting_as=("all",))
    assert device.restricted is True
    assert {f.binding for f in device.findings} == {None}
    # advisory and context measures never restrict, even then
    assert not any(f.restricts for f in device.findings if f.effect in ("advisory", "context"))


def test_without_acting_as_the_verdict_is_for_a_national_government_body() -> None:
    """Decision 0015 (the default reading): the org types marked national_government."""
    assert set(default_parties(POLICIES)) == {
        "ca:federal-institution",
        "ca:crown-corporation",
        "us:federal-agency",
        "uk:central-government",
        "au:commonwealth-entity",
    }
    # Lithuania's country-based measures are not in the default reading (0015, amended), nor
    # the European Parliament's own administration (not a national government body)
    assert "lt:state-institution" not in default_parties(POLICIES)
    assert "eu:european-parliament" not in default_parties(POLICIES)
    device = judge(HIKVISION_CAMERA, POLICIES, countries=COUNTRIES)
    assert device.restricted is True
    binding = {f.policy for f in device.findings if f.binding}
    assert {"ca", "us"} <= binding
    # A state-agency measure is listed, marked as not binding, and restricts nothing.
    texas = [f for f in device.findings if f.policy == "us-tx"]
    assert texas and all(f.binding is False and not f.restricts for f in texas)


def test_without_acting_as_a_maker_named_only_by_a_state_list_is_not_restricted() -> None:
    uniview = dataclasses.replace(
        HIKVISION_CAMERA, manufacturer="Uniview", family="uniview", brand="Uniview"
    )
    by_default = judge(uniview, POLICIES, countries=COUNTRIES)
    assert by_default.restricted is False
    # Texas names the maker; Lithuania's country-based measures reach it too, and bind
    # neither party of the default reading
    assert [f.policy for f in by_default.findings if f.policy != "lt"] == ["us-tx"]
    assert not any(f.binding for f in by_default.findings)
    assert judge(uniview, POLICIES, countries=COUNTRIES, acting_as=("all",)).restricted is True
    state = judge(uniview, POLICIES, countries=COUNTRIES, acting_as=("us-tx:state-agency",))
    assert state.restricted is True


def test_selected_policies_without_a_national_body_count_every_measure() -> None:
    """`--policy us-tx` alone: nothing to judge for by default, so every measure counts."""
    texas = [policy for policy in POLICIES if policy.id == "us-tx"]
    assert default_parties(texas) == ()
    uniview = dataclasses.replace(
        HIKVISION_CAMERA, manufacturer="Uniview", family="uniview", brand="Uniview"
    )
    device = judge(uniview, texas, countries=COUNTRIES)
    assert device.restricted is True and {f.binding for f in device.findings} == {None}


# --- the org type vocabulary ----------------------------------------------------------------


def test_acting_as_is_checked_against_the_declared_org_types() -> None:
    assert parse_acting_as(["CA:Federal-Institution", " us-tx:state-agency"], POLICIES) == (
        "ca:federal-institution",
        "us-tx:state-agency",
    )
    assert parse_acting_as(["all"], POLICIES) == ("all",)
    assert parse_acting_as([], POLICIES) == ()
    for bad in (["ca:mayor"], ["federal"], ["us:everyone"], ["ca:individual", "xx:thing"]):
        with pytest.raises(OrgTypeError) as caught:
            parse_acting_as(bad, POLICIES)
        message = str(caught.value)
        # one line that names where the types are listed (near matches, not all 23 types)
        assert "\n" not in message and "provscan policies --as-types" in message


def _measure(org_types: list[str], effect: str = "use-ban") -> Measure:
    return Measure.model_validate(
        {
            "id": "test",
            "title": "test",
            "families": ["hikvision"],
            "measure": "may not use",
            "binds": "test",
            "org_types": org_types,
            "effect": effect,
            "effect_basis": "may not use",
            "effective": date(2026, 1, 1),
            "citation": "test",
            "sources": ["test"],
        }
    )


def test_everyone_in_a_jurisdiction_binds_its_sub_jurisdictions_only() -> None:
    everyone_us = _measure(["us:everyone"])
    assert binds_org_type(everyone_us, "us:individual")
    assert binds_org_type(everyone_us, "us-tx:state-agency")
    assert not binds_org_type(everyone_us, "ca:individual")
    agencies = _measure(["us:federal-agency"])
    assert binds_org_type(agencies, "us:federal-agency")
    assert not binds_org_type(agencies, "us:federal-contractor")
    assert not binds_org_type(agencies, "us-tx:state-agency")


# --- category-based measures: device type and country of production -------------------------


def test_a_category_names_a_device_type_made_in_or_outside_countries() -> None:
    outside_us = CategoryScope(device_types=["router"], made_outside=["US"], note="n")
    assert outside_us.covers("router", "CN")
    assert not outside_us.covers("router", "US")
    assert not outside_us.covers("router", None)  # unknown country: not claimed
    assert not outside_us.covers("camera", "CN")
    in_cn = CategoryScope(device_types=["uas"], made_in=["CN"], note="n")
    assert in_cn.covers("uas", "CN") and not in_cn.covers("uas", "FR")


def test_foreign_routers_are_named_by_category_not_vendor_list() -> None:
    routers = KNOWLEDGE.select_policies(["us"])
    made_abroad = assess(
        [MakerCandidate("Acme Routers", None)],
        routers,
        device_type="router",
        countries={"Acme Routers": "TW"},
    )
    assert [f.measure for f in made_abroad.findings] == [
        "FCC Covered List: foreign-produced consumer routers"
    ]
    assert made_abroad.findings[0].family == "Acme Routers"
    made_in_us = assess(
        [MakerCandidate("Acme Routers", None)],
        routers,
        device_type="router",
        countries={"Acme Routers": "US"},
    )
    # A US maker's router may still be produced abroad: named on that condition, which the
    # evidence cannot settle (a review for a party the measure binds), never restricted
    assert [f.measure for f in made_in_us.findings] == [
        "FCC Covered List: foreign-produced consumer routers"
    ]
    assert "outside the US" in (made_in_us.findings[0].condition or "")
    assert not made_in_us.some_candidate_restricted
    a_camera = assess(
        [MakerCandidate("Acme Routers", None)],
        routers,
        device_type="camera",
        countries={"Acme Routers": "TW"},
    )
    assert a_camera.findings == ()


# --- products: lookup's judgement --------------------------------------------------------------


def _row(text: str, acting_as: tuple[str, ...] = ()) -> object:
    return judge_product(IDENTIFIER.identify(text), POLICIES, acting_as=acting_as)


def test_uniview_is_restricted_for_a_texas_agency_not_for_a_canadian_individual() -> None:
    identification = IDENTIFIER.identify("Uniview IPC322LB-SF28-A")
    texas = judge_product(identification, POLICIES, acting_as=("us-tx:state-agency",))
    person = judge_product(identification, POLICIES, acting_as=("ca:individual",))
    assert (texas.restricted, texas.status) == (True, "restricted")
    assert [f.policy for f in texas.findings if f.binding] == ["us-tx"]
    assert (person.restricted, person.status) == (False, "clear")
    assert person.acting_as == ["ca:individual"]


@pytest.mark.parametrize(
    ("text", "device_type", "measures"),
    [
        (
            "DJI Mavic 3 Enterprise",
            "uas",
            {
                "FCC Covered List: foreign-produced drones (UAS) and components; DJI and Autel",
                "American Security Drone Act: federal agencies may not buy or operate covered "
                "foreign drones",
                "Texas prohibited technologies: Huawei, ZTE, Dahua, Hikvision, Hytera and DJI "
                "hardware",
            },
        ),
        (
            "TP-Link Archer AX55 Wi-Fi router",
            "router",
            {
                "FCC Covered List: foreign-produced consumer routers",
                "Texas prohibited technologies list expanded: Uniview, TP-Link, Autel, Xiaomi, "
                "Hisense, TCL and others",
            },
        ),
    ],
)
def test_2025_26_us_measures_name_drones_and_routers(
    text: str, device_type: str, measures: set[str]
) -> None:
    identification = IDENTIFIER.identify(text)
    assert identification.device_type == device_type
    row = judge_product(identification, POLICIES)
    assert measures <= {f.measure for f in row.findings}
    assert all(f.citation and f.effective >= "2022" for f in row.findings)
    # An individual in the US is bound by none of them; a supplier is, by the FCC entries.
    person = judge_product(identification, POLICIES, acting_as=("us:individual",))
    assert person.restricted is False
    supplier = judge_product(identification, POLICIES, acting_as=("us:equipment-supplier",))
    assert supplier.restricted is True
    assert {f.effect for f in supplier.findings if f.binding} == {"authorization-ban"}


def test_anzu_drones_are_only_a_possible_dji_relabel() -> None:
    row = judge_product(IDENTIFIER.identify("Anzu Robotics Raptor T drone"), POLICIES)
    assert row.status in ("review", "unknown")
    assert row.restricted is None


def test_quebec_restricts_a_purchase_and_reviews_an_installed_camera() -> None:
    # Given a Québec public body and the same Hikvision camera
    installed = judge(
        HIKVISION_CAMERA, POLICIES, countries=COUNTRIES, acting_as=("ca-qc:public-body",)
    )
    # Found installed: not restricted, to be reviewed, the condition stated on the finding
    assert not installed.restricted
    (finding,) = [f for f in installed.findings if f.policy == "ca-qc"]
    assert finding.binding is True and finding.effect == "use-ban"
    assert finding.condition == "it was acquired after 2023-12-21"
    assert not finding.restricts and finding.restricts_if_so
    review = [n for n in installed.notes if n.startswith("review: ")]
    assert len(review) == 1 and "it was acquired after 2023-12-21" in review[0]
    assert not any(n.startswith("context only") and "ca-qc" in n for n in installed.notes)
    # Being bought now (screening): restricted outright, no condition
    bought = assess(
        (MakerCandidate("Hikvision", "hikvision"),),
        POLICIES,
        device_type="camera",
        countries=COUNTRIES,
        acting_as=("ca-qc:public-body",),
        installed=False,
    )
    assert bought.every_candidate_restricted and bought.restricting_policies == ["ca-qc"]
    assert not bought.conditional
