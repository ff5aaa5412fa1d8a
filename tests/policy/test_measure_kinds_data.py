"""Family-named measures that by their own text cover only some kinds of equipment carry
``device_types`` (policies.yaml): Québec's order covers "équipements de vidéosurveillance et de
télécommunication", Australia's removal "cameras". An alarm hub or a wall-mount bracket is outside
them; a camera, recorder, network device or intercom is inside; a product of unknown kind is
inside only on that condition (a review, never a false clear). The broad measures (s.889, the
FCC rules on "telecommunications or video surveillance equipment", Louisiana's) carry
``excludes_device_types: [accessory]`` instead: a wall-mount bracket is outside them, every
other kind and an unknown kind inside (a Huawei device of unknown kind stays restricted). Also:
Bill C-8's Royal Assent day and the Canadian "support withdrawn" end of support (not
established, so no replace advice)."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_measure_scope_data import _device_types_the_data_produces

from provscan.errors import KnowledgeError
from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.knowledge.loader import load_knowledge, load_posture_knowledge
from provscan.knowledge.policies import DEVICE_KINDS
from provscan.model import Device
from provscan.policy.evaluate import judge
from provscan.posture.assess import PostureOptions, assess_device
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import judge_product

KNOWLEDGE = load_knowledge()
POLICIES = tuple(KNOWLEDGE.policies.values())
IDENTIFIER = bundled_identifier()
BY_ID = {m.id: m for p in POLICIES for m in p.measures}

QC = ("ca-qc:public-body",)
US = ("us:federal-agency",)
AU = ("au:commonwealth-entity",)


def _verdict(text: str, acting_as: tuple[str, ...]) -> str:
    return judge_product(IDENTIFIER.identify(text), POLICIES, acting_as=acting_as).verdict


def test_quebec_does_not_restrict_a_hikvision_alarm_hub() -> None:
    # the analyst's row: an AX PRO alarm hub is not video-surveillance or telecom equipment
    assert _verdict("Hikvision DS-PWA96-M-WE AX PRO alarm hub", QC) == "clear"


def test_quebec_reviews_a_hikvision_ssd_of_unknown_kind() -> None:
    row = judge_product(IDENTIFIER.identify("Hikvision E100 SSD"), POLICIES, acting_as=QC)
    assert row.verdict == "review"
    (finding,) = [f for f in row.findings if f.policy == "ca-qc"]
    assert finding.condition is not None and "device type" in finding.condition


@pytest.mark.parametrize("acting_as", [US, AU], ids=["s889", "au"])
def test_a_wall_mount_bracket_is_not_restricted_by_s889_or_au(acting_as: tuple[str, ...]) -> None:
    assert _verdict("Hikvision DS-1272ZJ-110 wall mount bracket", acting_as) == "clear"


def _device(device_type: str | None, *, family: str = "hikvision") -> Device:
    maker = {"hikvision": "Hikvision", "huawei": "Huawei"}[family]
    return Device(
        ip="192.0.2.40",
        open_ports=(80,),
        manufacturer=maker,
        brand=maker,
        relation="own_brand",
        family=family,
        device_type=device_type,
        confidence=0.95,
    )


KINDS = ["camera", "nvr", "router", "switch", "intercom", "doorbell", None]


@pytest.mark.parametrize("device_type", KINDS)
def test_quebec_names_cameras_recorders_network_gear_and_intercoms(
    device_type: str | None,
) -> None:
    judged = judge(_device(device_type), POLICIES, acting_as=QC, on=date(2026, 12, 3))
    (finding,) = [f for f in judged.findings if f.policy == "ca-qc"]
    # installed: acquired after 21 Dec 2023 is always a condition; an unknown kind adds one
    assert finding.condition is not None
    assert ("device type" in finding.condition) is (device_type is None)


@pytest.mark.parametrize("device_type", KINDS)
def test_s889_names_cameras_recorders_network_gear_intercoms_and_unknown_kinds(
    device_type: str | None,
) -> None:
    # a broad measure: an unknown kind is inside it outright (restricted, not review)
    judged = judge(_device(device_type), POLICIES, acting_as=US, on=date(2026, 12, 3))
    finding = next(f for f in judged.findings if f.policy == "us" and f.binding)
    assert finding.condition is None
    assert judged.restricted


BROAD = [
    "us-ndaa-889-a1a-2019",
    "us-ndaa-889-a1b-2020",
    "us-2cfr-200-216-2020",
    "us-fcc-covered-list-2021",
    "us-secure-networks-reimbursement-2021",
    "us-fcc-22-84-2023",
    "us-fcc-25-71-2025",
    "us-la-state-agencies-889-2021",
    "us-la-schools-889-2021",
]


@pytest.mark.parametrize("measure_id", BROAD)
def test_broad_measures_leave_out_accessories_only(measure_id: str) -> None:
    measure = BY_ID[measure_id]
    assert measure.device_types == [] and measure.excludes_device_types == ["accessory"]
    assert "excludes_device_types" in measure.scope_note or measure_id not in (
        "us-ndaa-889-a1a-2019",
        "us-fcc-covered-list-2021",
    )


@pytest.mark.parametrize("device_type", ["accessory", "camera", None])
def test_a_huawei_device_under_s889_is_outside_only_as_an_accessory(
    device_type: str | None,
) -> None:
    device = _device(device_type, family="huawei")
    judged = judge(device, POLICIES, acting_as=US, on=date(2026, 12, 3))
    s889 = [f for f in judged.findings if f.measure.startswith("NDAA FY2019 s.889(a)(1)(A)")]
    assert bool(s889) is (device_type != "accessory")
    assert judged.restricted is (device_type != "accessory")


def test_a_huawei_device_of_unknown_kind_is_restricted_for_the_default_party() -> None:
    # no --as: judged for a national government body (decision 0015)
    judged = judge(_device(None, family="huawei"), POLICIES, on=date(2026, 12, 3))
    assert judged.restricted
    assert not [n for n in judged.notes if "device type" in n]


@pytest.mark.parametrize("device_type", ["accessory", "alarm"])
def test_quebec_leaves_out_accessories_and_alarms(device_type: str) -> None:
    judged = judge(_device(device_type), POLICIES, acting_as=QC, on=date(2026, 12, 3))
    assert not [f for f in judged.findings if f.policy == "ca-qc"]


def test_every_kind_the_grammars_give_restricted_families_is_judged_on_purpose() -> None:
    # a kind of Hikvision/Huawei equipment left out of Québec's list must be one of these
    outside_on_purpose = {"alarm", "accessory", "power", "inverter", "printer", "uas"}
    qc = set(BY_ID["ca-qc-public-bodies-2023"].device_types)
    grammar_kinds = {
        g.device_type
        for g in load_grammar_knowledge().grammars
        if g.device_type and g.maker in {"Hikvision", "Dahua", "Huawei", "ZTE"}
    }
    assert grammar_kinds - qc <= outside_on_purpose, grammar_kinds - qc


def test_canada_telecom_exclusion_covers_huawei_transport_and_wlan_controllers() -> None:
    kinds = BY_ID["ca-telecom-huawei-zte-2022"].device_types
    assert "transport" in kinds and "controller" in kinds


def test_quebec_dates_say_which_is_which() -> None:
    measure = BY_ID["ca-qc-public-bodies-2023"]
    assert measure.acquired_after == date(2023, 12, 21)  # the purchase cut-off
    assert measure.effective == date(2023, 12, 22)  # announced and published
    assert "G-1.03" in measure.citation and "Arrêté" in measure.citation


def test_bill_c8_royal_assent_is_15_june_2026() -> None:
    measure = BY_ID["ca-bill-c8-2026"]
    assert measure.effective == date(2026, 6, 15)
    assert "15 Jun 2026" in measure.citation and "16 Jun 2026" not in measure.citation


def test_no_unestablished_canadian_end_of_support_drives_replace_advice() -> None:
    posture = load_posture_knowledge()
    assert not [e for e in posture.end_of_life if "Hikvision" in e.vendors and e.region == "CA"]
    camera = dataclasses.replace(_device("camera"), model="DS-2CD2143G0-I")
    lts = dataclasses.replace(camera, brand="LTS", relation="oem_relabel", model="CMIP7442W-28M")
    for device in (camera, lts):
        assessed = assess_device(
            device, posture, options=PostureOptions(policies=("ca",), acting_as=("ca:individual",))
        )
        assert not any("support withdrawn" in r.reason for r in assessed.remediation)


# --- the loader keeps excludes_device_types honest --------------------------------------------


def _refused(data_dir: Path, measure_id: str, **fields: Any) -> str:
    path = data_dir / "policies.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    (measure,) = [
        m for policy in document["policies"] for m in policy["measures"] if m["id"] == measure_id
    ]
    measure.update(fields)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(data_dir)
    return str(caught.value)


def test_a_measure_that_sets_both_kinds_fields_is_refused(data_copy: Path) -> None:
    message = _refused(data_copy, "us-ndaa-889-a1a-2019", device_types=["camera"])
    assert "us-ndaa-889-a1a-2019" in message
    assert "device_types (the kinds it covers) or excludes_device_types" in message


@pytest.mark.parametrize("field", ["excludes_device_types", "device_types"])
def test_a_kind_outside_the_device_type_vocabulary_is_refused(data_copy: Path, field: str) -> None:
    measure_id = "uk-wms-sensitive-sites-2022"
    fields: dict[str, Any] = {"device_types": [], "excludes_device_types": []}
    fields[field] = ["mount"]  # the data's kind is accessory
    message = _refused(data_copy, measure_id, **fields)
    assert f"{field}: 'mount' is not a device type" in message


def test_excludes_device_types_on_a_measure_that_names_no_family_is_refused(
    data_copy: Path,
) -> None:
    message = _refused(
        data_copy, "us-fcc-covered-list-routers-2026", excludes_device_types=["accessory"]
    )
    assert "excludes_device_types limits the named families' equipment" in message


def test_the_device_type_vocabulary_is_what_the_data_produces() -> None:
    assert _device_types_the_data_produces() >= DEVICE_KINDS
