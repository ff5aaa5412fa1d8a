"""Restricted makers' equipment screened from part numbers alone (issue 11, point 7).

Purchase lists of network equipment often carry a part-number column and a description but no
manufacturer. The rows here are written for this test in the shapes such lists use (bare part
numbers, part number plus description, glued or bracketed numbers); every number is one that a
grammar's public source names, and every look-alike is another maker's real numbering. None is
copied from a held-out list.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from provscan.fingerprints.grammars import GrammarIndex
from provscan.fingerprints.text import tokens
from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import ScreenRow, judge_product

IDENTIFIER = bundled_identifier()
POLICIES = IDENTIFIER.knowledge.select_policies(None)
GRAMMARS = load_grammar_knowledge()

#: The grammars this change added; each must say its specificity and name look-alikes.
NEW_GRAMMARS = (
    "huawei.wlan_ap",
    "huawei.wlan_ac",
    "huawei.firewall",
    "huawei.storage",
    "huawei.olt_ea",
    "huawei.ont_optixstar",
    "huawei.mobile_broadband",
    "huawei.digital_power",
    "huawei.optical_transport",
    "huawei.switch_s310",
    "huawei.server_taishan",
    "huawei.consumer",
    "zte.mobile_broadband",
    "zte.ont_suffixed",
    "hytera.radios",
    "ezviz.catalog_names",
)


def screen(text: str = "", *, brand: str | None = None, model: str | None = None) -> ScreenRow:
    return judge_product(IDENTIFIER.identify(text, brand=brand, model=model), POLICIES)


# (one free-text cell, maker, grammar)
RESTRICTED_WITHOUT_MAKER = [
    ("AP4050DN-E", "Huawei", "huawei.wlan_ap"),
    ("Indoor access point AP6050DN, 802.11ac Wave 2", "Huawei", "huawei.wlan_ap"),
    ("AirEngine5760-10 (Wi-Fi 6)", "Huawei", "huawei.wlan_ap"),
    ("AC6005-8-PWR wireless controller", "Huawei", "huawei.wlan_ac"),
    ("AC6605-26-PWR", "Huawei", "huawei.wlan_ac"),
    ("Next-generation firewall USG6550E", "Huawei", "huawei.firewall"),
    ("NIP6600 IPS appliance", "Huawei", "huawei.firewall"),
    ("OceanStor 5500 V5 dual controller", "Huawei", "huawei.storage"),
    ("Dorado 5000 V6 all-flash array", "Huawei", "huawei.storage"),
    ("EA5801E-GP16 mini OLT", "Huawei", "huawei.olt_ea"),
    ("HN8145X6 XG-PON ONT", "Huawei", "huawei.ont_optixstar"),
    ("4G router B535-232 (white)", "Huawei", "huawei.mobile_broadband"),
    ("LTE USB stick E3372h-320", "Huawei", "huawei.usb_modem"),
    ("5G CPE Pro H112-372", "Huawei", "huawei.mobile_broadband"),
    ("Inverter SUN2000-10KTL-M1 three phase", "Huawei", "huawei.digital_power"),
    ("LUNA2000-15-S0 battery", "Huawei", "huawei.digital_power"),
    ("OptiX OSN 8800 T32 subrack", "Huawei", "huawei.optical_transport"),
    ("S310-24T4S access switch", "Huawei", "huawei.switch_s310"),
    ("Arm server TaiShan 2280 V2", "Huawei", "huawei.server_taishan"),
    ("Smartphone Mate 40 Pro 256GB", "Huawei", "huawei.consumer"),
    ("Smartwatch WATCH GT 3 Pro 46mm", "Huawei", "huawei.consumer"),
    ("S1730S-S24P4S-A3 PoE switch", "Huawei", "huawei.campus_switch"),
    ("LTE router MF286D", "ZTE", "zte.mobile_broadband"),
    ("5G outdoor CPE MC7010", "ZTE", "zte.mobile_broadband"),
    ("GPON ONT F670L", "ZTE", "zte.ont_suffixed"),
    ("DMR portable PD785G UHF", "Hytera", "hytera.radios"),
    ("Mobile radio MD785i", "Hytera", "hytera.radios"),
    ("Indoor Wi-Fi camera C6N", "Hikvision", "ezviz.catalog_names"),
    ("Video doorbell DB2C", "Hikvision", "ezviz.catalog_names"),
]


@pytest.mark.parametrize(("text", "maker", "grammar"), RESTRICTED_WITHOUT_MAKER)
def test_restricted_equipment_from_its_part_number(text: str, maker: str, grammar: str) -> None:
    row = screen(text)
    assert row.maker == maker, row.reason
    assert row.restricted is True, row.reason
    assert IDENTIFIER.identify(text).grammar_id == grammar


# Other makers' numbers that look like the new grammars: never a restricted maker.
LOOK_ALIKES = [
    "USG110",  # Zyxel ZyWALL USG
    "USG2200-VPN",  # Zyxel
    "USG-PRO-4",  # Ubiquiti UniFi Security Gateway
    "AC1200 dual-band router",  # a Wi-Fi speed class
    "AP-515",  # Aruba
    "RG-AP820-L",  # Ruijie
    "EAP245",  # TP-Link Omada
    "S5500-28C-EI",  # H3C
    "S3100V2-26TP-SI",  # H3C
    "EA6350",  # Linksys
    "5500 V5",  # a bare number and generation
    "E5570",  # Dell Latitude
    "Xeon E5-2650 v4",
    "DTSU666-H smart meter",  # CHINT's meter number, sold with Huawei inverters
    "MF643Cdw colour laser",  # Canon i-SENSYS / imageCLASS
    "MF264dw",  # Canon
    "MF4410",  # Canon
    "F660",  # too short without the brand (V-SOL sells an F601 too)
    "MD-380",  # TYT
    "MD-UV380",  # TYT
    "DSR-PD150",  # Sony camcorder
    "C2M",  # Foscam
    "C200",  # TP-Link Tapo
    "C300",  # Canon EOS cinema camera
    "H3C",  # the maker, not EZVIZ's H3c
    "NVIDIA OptiX",  # a ray-tracing engine, not Huawei's OptiX
    "Yerba mate 20 bags",  # an ordinary word
    "AR300M",  # GL.iNet travel router
    "AR150",  # GL.iNet's as well as Huawei's (AR150-S): not taken
    "AR670W",  # Airlink101
    # other makers' names that nmap's OS database lists, once taken by older grammars
    "DS1054Z oscilloscope",  # Rigol
    "DS-101g+ NAS",  # Synology's first Disk Station
    "CS-2560 printer",  # Kyocera CopyStar
    "CS-ROOM55-K9",  # Cisco Webex Room 55
    "NVR1750D VPN router",  # Nortel
    "AR1688 VoIP module",  # Palmmicro
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alike_numbers_are_not_restricted(text: str) -> None:
    row = screen(text)
    assert row.restricted is not True, row.reason
    assert row.family not in {"huawei", "zte", "hytera", "hikvision", "dahua"}, row.reason


# A stated brand still wins over the new numbering (decision 0006).
def test_a_stated_unrelated_brand_keeps_the_row() -> None:
    row = screen("", brand="Canon", model="MF643Cdw")
    assert row.maker == "Canon" and row.restricted is not True
    row = screen("Zyxel USG110 firewall")
    assert row.maker == "Zyxel" and row.restricted is not True


def test_a_relabel_of_a_huawei_number_is_not_cleared() -> None:
    # huawei-lte-api lists a "SoyeaLink B535-333": Huawei's number under another label.
    row = screen("SoyeaLink B535-333 4G router")
    assert row.maker == "Huawei" and row.relation == "probable_relabel"


def test_new_product_lines_name_huawei() -> None:
    for text in ("OceanStor 2200 V3", "HiSecEngine USG6525E", "MateBook D14", "MatePad 11.5"):
        row = screen(text)
        assert row.maker == "Huawei" and row.restricted is True, (text, row.reason)


@pytest.mark.parametrize("grammar_id", NEW_GRAMMARS)
def test_new_grammars_state_their_specificity(grammar_id: str) -> None:
    grammar = GRAMMARS.grammar(grammar_id)
    assert grammar.note.startswith("Specificity:"), grammar_id
    assert len(grammar.negatives) >= 3, grammar_id
    assert grammar.sources and grammar.examples


def test_a_parts_list_without_a_manufacturer_column(tmp_path: Path, cli: Any) -> None:
    """A network BOM in a common shape (line, part number, description, quantity, price),
    screened as a file: every restricted row is found and no look-alike row is flagged."""
    restricted = [text for text, _, _ in RESTRICTED_WITHOUT_MAKER]
    rows = [("Part Number", "Description", "Qty", "Unit price")]
    for text in restricted + LOOK_ALIKES:
        # a leading part number goes to its own column; a description without one stays whole
        part, _, description = text.partition(" ")
        if not any(character.isdigit() for character in part):
            part, description = "", text
        rows.append((part, description, "2", "1,250.00"))
    path = tmp_path / "bom.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)

    result = cli("screen", str(path), "-f", "json", "--quiet")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    flagged = {row["row"] for row in report["rows"] if row.get("restricted") is True}
    # screen row N is the file's line N (the header is line 1)
    expected = set(range(2, 2 + len(restricted)))
    assert flagged == expected, sorted(flagged ^ expected)


NMAP_FILES = (Path("/usr/share/nmap/nmap-os-db"), Path("/usr/share/nmap/nmap-service-probes"))
FAMILY_WORDS = {
    "Huawei": ("huawei",),
    "ZTE": ("zte",),
    "Hytera": ("hytera",),
    "Hikvision": ("hikvision", "ezviz", "hiwatch", "hilook"),
    "Dahua": ("dahua", "amcrest", "lorex", "imou"),
}


@pytest.mark.skipif(not all(p.exists() for p in NMAP_FILES), reason="nmap's data is not installed")
def test_restricted_grammars_take_no_other_makers_product_in_nmaps_data() -> None:
    """nmap's OS database and service probes name ~14,000 products of many makers (read from
    the user's installation, never copied): a restricted family's grammar that matches one of
    them must be on a product that names that maker."""
    makers = {
        g.id: g.maker for g in GRAMMARS.grammars if g.maker in FAMILY_WORDS and not g.requires_brand
    }
    index = GrammarIndex(GRAMMARS)
    names: set[str] = set()
    os_db, probes = NMAP_FILES
    for line in os_db.read_text(encoding="latin-1").splitlines():
        if line.startswith("Fingerprint "):
            names.add(line.removeprefix("Fingerprint ").strip())
    for line in probes.read_text(encoding="latin-1").splitlines():
        if line.startswith(("match", "softmatch")):
            names.update(m.group(2) for m in re.finditer(r" ([piodh])/([^/]*)/", line))
    wrong = []
    for name in names:
        for hit in index.find(tokens(name)):
            maker = makers.get(hit.grammar.id)
            if maker and not any(word in name.lower() for word in FAMILY_WORDS[maker]):
                wrong.append((hit.grammar.id, name))
    assert len(names) > 5000
    assert not wrong, wrong[:10]
