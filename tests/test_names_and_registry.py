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


def test_an_unreviewed_registry_name_never_names_a_restricted_maker(tmp_path: Path) -> None:
    # "Huawei Symantec Technologies Co.,Ltd." (00:22:A1) is reviewed as Huawei in
    # oui_owners.yaml; without that review its registry name only mentions a restricted maker.
    mac = "00:22:a1:00:00:01"
    assert attribute(mac=mac).device.manufacturer == "Huawei"
    data = tmp_path / "data"
    shutil.copytree(active_data_dir(), data)
    path = data / "oui_owners.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["owners"] = [
        owner for owner in document["owners"] if "Huawei Symantec" not in owner["registry_name"]
    ]
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    (data / "manifest.yaml").unlink(missing_ok=True)
    unreviewed = Attributor(load_knowledge(data))
    attempt = ProbeAttempt("http", 80, AttemptStatus.OK, ())
    device = unreviewed.attribute("127.0.0.1", [80], [attempt], mac=mac).device
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


# --- what a review of the change found (2026-12-04) -----------------------------------------


def test_text_that_merely_holds_twelve_hex_digits_is_no_mac() -> None:
    # a Dahua realm is "Login to " + the serial; read as a MAC it would invent an OUI
    device = attribute(Observation("rtsp", 554, "rtsp.realm", "Login to 6G0ACB9PAZ00187")).device
    assert device.mac is None


def test_a_realm_that_is_a_whole_mac_names_the_maker_through_the_registry() -> None:
    # Hikvision firmware answers with its own MAC as realm (4419B6 is a Hikvision MA-L)
    device = attribute(Observation("rtsp", 554, "rtsp.realm", "4419b63f5e51")).device
    assert device.mac == "44:19:b6:3f:5e:51"
    assert device.manufacturer == "Hikvision"


def test_names_printed_twice_are_one_signal() -> None:
    # a self-signed certificate's subject and issuer, a title repeated in the realm: the same
    # text twice is not corroboration, so a restricted family's name stays "review"
    for first, second, value in (
        ("tls.subject", "tls.issuer", "CN=camera, O=Hikvision"),
        ("http.title", "http.realm", "Hikvision Web Viewer"),
        ("dhcp.hostname", "mdns.instance", "Hikvision NVR"),
    ):
        device = attribute(
            Observation("http", 443, first, value), Observation("http", 443, second, value)
        ).device
        assert {e.rule_id for e in device.evidence if e.rule_id} == {"name:vendor"}
        assert device.manufacturer is None, (first, second)
        assert not judge(device, KNOWLEDGE.select_policies(None)).restricted
    # a name and a different shared signal do corroborate each other
    device = attribute(
        Observation("http", 80, "http.title", "Hikvision Web Viewer"),
        Observation("rtsp", 554, "rtsp.date", "Sat, Apr 25 2026 00:05:48 GMT"),
    ).device
    assert device.manufacturer == "Hikvision"


def test_mentions_cover_every_name_inside_them() -> None:
    assert found("Viewer for Prama Hikvision India cameras") == []
    assert found("Plugin for Zhejiang Dahua Technology Co., Ltd.") == []
    assert found("Hikvision-compatible NVR") == []
    assert found("O=DH electronics GmbH") == []  # Dahua's two-letter alias is not read


def test_an_alias_that_begins_another_vendors_name_is_not_read() -> None:
    # Hanwha Vision's alias "Samsung" (old Samsung Techwin cameras) begins "Samsung Electronics"
    assert found("Samsung TV") == []
    assert found("Samsung Electronics Smart TV") == ["Samsung Electronics"]


def test_product_lines_name_their_vendor_in_screening_but_words_do_not() -> None:
    from provscan.screening.run import bundled_identifier
    from provscan.screening.verdict import judge_product

    identifier = bundled_identifier()
    policies = identifier.knowledge.select_policies(None)
    fortigate = judge_product(identifier.identify("FortiGate 60F firewall"), policies)
    assert fortigate.maker == "Fortinet"
    echolife = judge_product(identifier.identify("EchoLife HG8245H ONT"), policies)
    assert echolife.maker == "Huawei"
    for text in ("First aid e-kit", "Configuration backups", "Kasa fiskalna"):
        row = judge_product(identifier.identify(text), policies)
        assert not row.restricted and row.maker is None, (text, row.maker)
    # and a product line still names a vendor whose name is an ordinary word
    assert found("iPhone-de-Juan") == ["Apple"]


def test_a_private_registration_names_no_maker() -> None:
    device = attribute(mac="e4:f1:4c:00:00:01").device  # the IEEE lists the owner as "Private"
    assert any(e.observed == "Private" for e in device.evidence)
    assert device.manufacturer is None
