"""A measure's own scope (decision 0028): the kinds of its makers' equipment it covers
(``device_types``) and the day after which acquired equipment is barred (``acquired_after``).

Bundled measures and the real judging and screening code: a drone act does not restrict a
DJI camera, a 4G/5G exclusion does not restrict a phone, a kind that is not known and a
Québec acquisition date are conditions (review), never restrictions; the loader keeps both
fields honest; ``--as`` with a selection of policies that binds it nowhere is warned about.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from provscan.errors import KnowledgeError
from provscan.knowledge.loader import load_knowledge
from provscan.model import Device, MakerCandidate
from provscan.policy.evaluate import assess, judge, maker_countries, unbound_parties
from provscan.report.contract import verdict_of
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import judge_product

KNOWLEDGE = load_knowledge()
POLICIES = tuple(KNOWLEDGE.policies.values())
COUNTRIES = maker_countries(KNOWLEDGE.vendors)
DJI = MakerCandidate("DJI", "dji")
HUAWEI = MakerCandidate("Huawei", "huawei")


def _device(maker: str, family: str, device_type: str | None) -> Device:
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


def _judged(device: Device, party: str) -> tuple[str, Device]:
    judged = judge(device, POLICIES, countries=COUNTRIES, acting_as=(party,))
    return verdict_of(judged.restricted, judged.notes, judged.manufacturer), judged


def _measure_ids(policy_id: str, device_types: list[str]) -> list[str]:
    return [m.id for m in KNOWLEDGE.policies[policy_id].measures if m.device_types == device_types]


def test_the_bundled_scopes_are_the_measures_own() -> None:
    # The drone act covers UAS only; the 4G/5G exclusion carrier network equipment; Québec
    # equipment acquired after 21 Dec 2023 (each read from the measure's own text)
    assert _measure_ids("us", ["uas"]) == ["us-asda-federal-use-2025", "us-asda-federal-funds-2025"]
    (telecom,) = [m for m in KNOWLEDGE.policies["ca"].measures if m.device_types]
    assert telecom.id == "ca-telecom-huawei-zte-2022" and "phone" not in telecom.device_types
    assert "does not address end-user devices" in telecom.scope_note
    (quebec,) = KNOWLEDGE.policies["ca-qc"].measures
    assert quebec.acquired_after is not None and quebec.acquired_after.isoformat() == "2023-12-21"


@pytest.mark.parametrize(
    ("device_type", "verdict", "condition"),
    [
        ("uas", "restricted", None),  # a drone: the act restricts it
        ("camera", "clear", None),  # another known kind: outside the act
        (None, "review", "its device type is uas"),  # kind unknown: a condition
    ],
)
def test_a_drone_act_restricts_drones_only(
    device_type: str | None, verdict: str, condition: str | None
) -> None:
    got, device = _judged(_device("DJI", "dji", device_type), "us:federal-agency")
    assert got == verdict
    asda = [f for f in device.findings if f.policy == "us" and "Drone Act" in f.measure]
    if device_type == "camera":
        assert not [f for f in asda if f.binding]  # the binding ASDA measure does not name it
    else:
        (use,) = [f for f in asda if f.binding]
        assert use.condition == condition and use.restricts is (condition is None)
    if condition is not None:
        (note,) = [n for n in device.notes if n.startswith("review: ")]
        assert "restricted only on a condition" in note and condition in note


def test_the_5g_exclusion_reaches_network_equipment_not_phones() -> None:
    router, _ = _judged(_device("Huawei", "huawei", "router"), "ca:telecom-provider")
    camera, _ = _judged(_device("Huawei", "huawei", "camera"), "ca:telecom-provider")
    unknown, device = _judged(_device("Huawei", "huawei", None), "ca:telecom-provider")
    assert (router, camera, unknown) == ("restricted", "clear", "review")
    (finding,) = [f for f in device.findings if f.restricts_if_so]
    assert finding.condition is not None and finding.condition.startswith("its device type is")


def test_a_condition_is_not_listed_as_context() -> None:
    _, device = _judged(_device("DJI", "dji", None), "us:federal-agency")
    context = [n for n in device.notes if n.startswith("context only")]
    assert not any(" us" in n.split(":")[-1].split(",") for n in context)
    assert all("us" not in n.rsplit(":", 1)[-1].replace(" ", "").split(",") for n in context)


def test_screening_a_purchase_for_quebec_is_restricted_and_a_drone_act_reads_the_kind() -> None:
    identifier = bundled_identifier()
    hikvision = judge_product(
        identifier.identify(brand="Hikvision", model="DS-2CD2143G2-I"),
        POLICIES,
        acting_as=("ca-qc:public-body",),
    )
    assert hikvision.status == "restricted" and hikvision.cited_policies == ["ca-qc"]
    assert all(f.condition is None for f in hikvision.findings if f.policy == "ca-qc")

    def for_agency(text: str) -> Any:
        return judge_product(identifier.identify(text), POLICIES, acting_as=("us:federal-agency",))

    # A row that names its kind settles it: a gimbal is outside the drone act, a drone in it
    gimbal = for_agency("DJI RS 4 gimbal stabilizer")
    assert (gimbal.device_type, gimbal.status) == ("gimbal", "clear")
    drone = for_agency("DJI Mini 4 Pro")
    assert (drone.device_type, drone.status) == ("uas", "restricted")
    # A row that does not: review, with the condition on the finding
    action = for_agency("DJI Osmo Action 4")
    assert action.device_type is None and action.status == "review"
    assert "restricted only on a condition the row does not settle" in action.reason
    assert [f.condition for f in action.findings if f.binding] == ["its device type is uas"]


def test_a_restricted_row_of_several_makers_cites_what_restricts_whichever_made_it() -> None:
    # For a national government body (the default reading) Hikvision is restricted by ca,
    # us and au; Dahua by us and au (the UK statement binds only on a condition, a
    # sensitive site; Lithuania's measures bind only a Lithuanian body, --as; the European
    # Parliament's only its own administration): a product that may be either is
    # restricted by the two that name both, ca only if it is Hikvision
    assessment = assess(
        (MakerCandidate("Hikvision", "hikvision"), MakerCandidate("Dahua", "dahua")),
        POLICIES,
        device_type="camera",
        countries=COUNTRIES,
    )
    assert assessment.every_candidate_restricted
    assert assessment.restricting_every_candidate == ["us", "au"]
    assert assessment.restricted_by_text() == (
        "us, au (whichever made it), and ca only if Hikvision"
    )
    assert "; " not in assessment.restricted_by_text()  # "; " separates reasons


def test_unbound_parties_name_the_policies_that_bind_them() -> None:
    ca_only = [KNOWLEDGE.policies["ca"]]
    assert unbound_parties(("ca-qc:public-body",), ca_only, POLICIES) == {
        "ca-qc:public-body": ["ca-qc"]
    }
    assert unbound_parties(("ca:federal-institution",), ca_only, POLICIES) == {}
    assert unbound_parties(("all",), ca_only, POLICIES) == {}


def test_lookup_warns_when_no_selected_policy_binds_the_user() -> None:
    command = [sys.executable, "-m", "provscan", "lookup", "Hikvision DS-2CD2143G2-I"]
    warned = subprocess.run(
        [*command, "--as", "ca-qc:public-body", "--policy", "ca"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert warned.returncode == 0
    (line,) = [text for text in warned.stderr.splitlines() if "warning" in text]
    assert "no selected policy restricts anything for ca-qc:public-body" in line
    assert "add --policy ca-qc" in line
    quiet = subprocess.run(
        [*command, "--as", "ca-qc:public-body", "--policy", "ca-qc"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert quiet.returncode == 0 and "warning" not in quiet.stderr


# --- the loader ------------------------------------------------------------------------------


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


def test_an_acquisition_day_the_measures_text_does_not_name_is_refused(data_copy: Path) -> None:
    message = _refused(data_copy, "ca-qc-public-bodies-2023", acquired_after="2024-01-01")
    assert "acquired_after 2024-01-01 is not a day the measure's own text names" in message


def test_device_types_on_a_measure_that_names_no_family_are_refused(data_copy: Path) -> None:
    message = _refused(data_copy, "us-fcc-covered-list-routers-2026", device_types=["router"])
    assert "device_types limits the named families' equipment" in message
