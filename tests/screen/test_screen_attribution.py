"""Scanned devices use the same grammars: a reported model string is attributed by them."""

from __future__ import annotations

from provscan.attribution.attribute import Attributor
from provscan.knowledge import load_knowledge
from provscan.model import AttemptStatus, Observation, ProbeAttempt
from provscan.policy.evaluate import judge

KNOWLEDGE = load_knowledge()
ATTRIBUTOR = Attributor(KNOWLEDGE)


def device(*observations: Observation):  # type: ignore[no-untyped-def]
    attempt = ProbeAttempt("onvif", 80, AttemptStatus.OK, observations)
    return judge(
        ATTRIBUTOR.attribute("127.0.0.1", [80], [attempt]).device, KNOWLEDGE.select_policies(None)
    )


def test_unknown_label_with_a_makers_model_is_a_probable_relabel() -> None:
    found = device(
        Observation("onvif", 80, "onvif.manufacturer", "Acme Security"),
        Observation("onvif", 80, "onvif.model", "DS-2CD2143G0-I"),
    )
    assert (found.manufacturer, found.brand, found.relation) == (
        "Hikvision",
        "Acme Security",
        "probable_relabel",
    )
    assert found.restricted
    assert any("no documented relation" in note for note in found.notes)


def test_relabel_numbering_from_upnp_names_brand_and_maker() -> None:
    found = device(Observation("upnp", None, "upnp.model_name", "CMIP7442W-28M"))
    assert (found.manufacturer, found.brand, found.relation) == ("Hikvision", "LTS", "oem_relabel")
    assert any(e.rule_id == "grammar:lts.cmip_cmh" for e in found.evidence)


def test_sadp_description_is_attributed_by_the_grammar() -> None:
    found = device(Observation("sadp", None, "sadp.description", "DS-2CD2386G2-IU"))
    assert found.manufacturer == "Hikvision" and found.model == "DS-2CD2386G2-IU"


def test_generic_label_is_not_taken_for_a_brand() -> None:
    found = device(
        Observation("onvif", 80, "onvif.manufacturer", "IPCAM"),
        Observation("onvif", 80, "onvif.model", "IPC-HFW2431S-S-S2"),
    )
    assert found.manufacturer == "Dahua" and found.brand is None


def test_unrelated_maker_numbering_is_not_restricted() -> None:
    found = device(Observation("onvif", 80, "onvif.model", "IPC322LB-SF28-A"))
    # Not a restricted maker's relabel. Since the Texas 2026 list Uniview is a restricted
    # family itself (issue 12), so this shared numbering alone only names it as possible.
    assert not found.restricted
    assert any(note.startswith("review: possibly made by Uniview") for note in found.notes)
