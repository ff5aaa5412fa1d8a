"""Issue 11: makers a device names itself, and IEEE registry names no reviewed entry covers.

- a vocabulary vendor or product line printed in a server string, title, realm, banner,
  certificate or discovery name is a low-certainty, shared claim (fingerprints/names.py);
- an unreviewed registry organisation is a low-certainty maker, unless it makes modules,
  chips or other makers' devices, or names a restricted family's vendor.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from provscan.attribution.attribute import Attribution, Attributor
from provscan.attribution.mac import registry_display_name
from provscan.errors import KnowledgeError
from provscan.fingerprints.names import NameFinder
from provscan.knowledge import load_knowledge
from provscan.knowledge.base import active_data_dir
from provscan.model import AttemptStatus, Observation, ProbeAttempt
from provscan.policy.evaluate import judge

KNOWLEDGE = load_knowledge()
FINDER = NameFinder(KNOWLEDGE)
ATTRIBUTOR = Attributor(KNOWLEDGE)


def found(text: str) -> list[str]:
    return [hit.vendor for hit in FINDER.find(text)]


def attribute(*observations: Observation, mac: str | None = None) -> Attribution:
    attempt = ProbeAttempt("http", 80, AttemptStatus.OK, observations)
    return ATTRIBUTOR.attribute("127.0.0.1", [80], [attempt], mac=mac)


def test_names_are_found_as_whole_words_in_any_punctuation() -> None:
    assert found("TP-LINK HTTPD/1.0") == ["TP-Link"]
    assert found("TPLINK router") == ["TP-Link"]
    assert found("Grandstream GXV3674_FHD_VF Shell Command") == ["Grandstream"]
    assert found("Netgear/1.0 UPnP/1.0 miniupnpd/1.0") == ["Netgear"]
    # HP in capitals as its own word; never inside a longer word, never in lower case.
    assert found("HP-ChaiServer/2.2") == ["HP"]
    assert found("ChaiServer/2.2") == []
    assert found("hp web") == []


def test_mentions_and_ordinary_word_vendors_are_not_names() -> None:
    assert found("Viewer for Hikvision cameras") == []
    assert found("NVR compatible with Dahua") == []
    tuya = KNOWLEDGE.vendors["Tuya"]
    assert tuya.names_itself is False  # a platform inside other brands' products
    assert found("Tuya Smart Plug") == []


def _data_with(tmp_path: Path, change: dict[str, dict[str, object]]) -> Path:
    data = tmp_path / "data"
    shutil.copytree(active_data_dir(), data)
    path = data / "vendors.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    for vendor in document["vendors"]:
        vendor.update(change.get(vendor["name"], {}))
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    (data / "manifest.yaml").unlink(missing_ok=True)
    return data


def test_a_product_line_names_its_vendor(tmp_path: Path) -> None:
    lines = [*KNOWLEDGE.vendors["Fortinet"].product_lines, "Zorblax"]
    knowledge = load_knowledge(_data_with(tmp_path, {"Fortinet": {"product_lines": lines}}))
    hits = NameFinder(knowledge).find("Zorblax 60E login")
    assert [(hit.vendor, hit.product_line) for hit in hits] == [("Fortinet", True)]


def test_a_product_line_may_not_collide_with_another_vendors_spelling(tmp_path: Path) -> None:
    data = _data_with(tmp_path, {"Fortinet": {"product_lines": ["Hik-Vision"]}})
    with pytest.raises(KnowledgeError, match="collides with vendor 'Hikvision'"):
        load_knowledge(data)


def test_a_self_named_unrestricted_maker_is_identified_with_its_evidence() -> None:
    device = attribute(
        Observation("banner", 23, "banner.text", "Grandstream GXV3674_FHD_VF Shell Command")
    ).device
    assert device.manufacturer == "Grandstream"
    assert any(e.rule_id == "name:vendor" for e in device.evidence)
    assert device.confidence < 0.6  # a shared signal: below a reviewed rule's certainty


def test_a_restricted_name_alone_does_not_establish_the_maker() -> None:
    device = attribute(Observation("http", 80, "http.title", "HUAWEI")).device
    assert device.manufacturer is None
    assert any("possibly made by Huawei" in note for note in device.notes)
    judged = judge(device, KNOWLEDGE.select_policies(None))
    assert not judged.restricted


def test_a_name_does_not_override_a_maker_specific_rule() -> None:
    device = attribute(
        Observation("http", 80, "http.server", "Hikvision-Webs"),
        Observation("http", 80, "http.title", "Netgear"),
    ).device
    assert device.manufacturer == "Hikvision"


@pytest.mark.parametrize(
    ("registry", "shown"),
    [
        ("Check Point Software Technologies", "Check Point Software Technologies"),
        ("Shanghai Imilab Technology Co.Ltd", "Shanghai Imilab Technology"),
        ("SAMSUNG ELECTRO MECHANICS CO., LTD.", "SAMSUNG ELECTRO MECHANICS"),
        ("Osram GmbH", "Osram"),
    ],
)
def test_registry_display_names_drop_corporate_designators(registry: str, shown: str) -> None:
    assert registry_display_name(registry) == shown


def test_an_unreviewed_registry_name_is_a_low_certainty_maker() -> None:
    device = attribute(mac="7c:83:06:00:00:01").device  # Glen Dimplex Nordic as
    assert device.manufacturer == "Glen Dimplex Nordic"
    assert any(e.rule_id == "registry:unreviewed" for e in device.evidence)
    assert device.confidence <= 0.35


def test_a_module_makers_oui_names_no_maker() -> None:
    device = attribute(mac="cc:50:e3:00:00:01").device  # Espressif Inc.
    assert device.manufacturer is None
    assert device.mac == "cc:50:e3:00:00:01"


def test_an_unreviewed_registry_name_never_names_a_restricted_maker() -> None:
    device = attribute(mac="00:22:a1:00:00:01").device  # Huawei Symantec Technologies
    assert device.manufacturer is None
    assert any("not a reviewed registration" in note for note in device.notes)


def test_a_reviewed_ma_m_block_names_its_owner() -> None:
    # EC:5B:CD:E is Autel Robotics' MA-M block; netaddr ships only the MA-L registry.
    device = attribute(mac="ec:5b:cd:e0:12:34").device
    assert device.manufacturer == "Autel Robotics"
    assert any(
        e.rule_id == "ieee-oui" and e.observed == "Autel Robotics USA LLC" for e in device.evidence
    )


def test_an_ieee_registration_authority_block_names_no_maker() -> None:
    # 18:D7:93:6 is Autel Intelligent Technology (a false friend of Autel Robotics); the rest of
    # the 18:D7:93 MA-L is the IEEE's own, divided among others.
    for mac in ("18:d7:93:60:00:01", "70:b3:d5:00:00:01"):
        device = attribute(mac=mac).device
        assert device.manufacturer is None, mac
