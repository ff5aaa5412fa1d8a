"""Dahua and Hikvision product lines read from part numbers alone (issue 11, point 7).

Positives are numbers the grammars' public sources name (Dahua's price list in
Epochex/Dahua_Pricing_Auto data/SysPrice.csv; Dahua manuals on manualsfile.com and
manualspro.net; Hikvision's download centre as archived in JoeyGE0/hikvision-fw-archive
devices.json). Negatives are other makers' real numbers of the same shape. None is copied from
a held-out list.
"""

from __future__ import annotations

import pytest

from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import ScreenRow, judge_product

IDENTIFIER = bundled_identifier()
POLICIES = IDENTIFIER.knowledge.select_policies(None)
GRAMMARS = load_grammar_knowledge()

NEW_GRAMMARS = (
    "dahua.alarm",
    "dahua.evs",
    "dahua.network_keyboard",
    "dahua.switch_numbered",
    "dahua.monitor",
    # second pass (issue 11 point 7): lines the first pass left without a grammar
    "dahua.intercom_network",
    "dahua.itse",
    "dahua.dss_server",
    "dahua.ivd",
    "dahua.mptz_epc",
    "hikvision.ds_tcg_traffic",
    "hikvision.ds_mobile",
    "hikvision.ds_k5_face",
)


def screen(text: str) -> ScreenRow:
    return judge_product(IDENTIFIER.identify(text), POLICIES)


# (cell, maker, grammar)
RECOGNISED = [
    # Dahua price list 'Alarm'; manualsfile.com ARC3000H-W2 Alarm Hub manual
    ("ARC3000H-W2 alarm hub", "Dahua", "dahua.alarm"),
    ("ARC2016C", "Dahua", "dahua.alarm"),
    # manualspro.net: dahua ARD324-W2 Wireless Door Detector Plus
    ("ARD324-W2 wireless door detector", "Dahua", "dahua.alarm"),
    ("ARD323-W2(868S)", "Dahua", "dahua.alarm"),
    ("ARK30T-W2(868) keypad", "Dahua", "dahua.alarm"),
    # manualsfile.com Dahua Embedded Video Storage manual: EVS7124S ... EVS8236X
    ("EVS7124S embedded video storage", "Dahua", "dahua.evs"),
    ("EVS5016S-R-V2", "Dahua", "dahua.evs"),
    # Dahua price list 'Display Control'; public quote 'Network Keyboard DHI-NKB1000E'
    ("NKB1000-E network keyboard", "Dahua", "dahua.network_keyboard"),
    # Dahua price list switches; dealer catalogue 'Dahua DH-CS4010-8GT-110'
    ("CS4010-8GT-110 PoE switch", "Dahua", "dahua.switch_numbered"),
    ("S3218-16ET-240", "Dahua", "dahua.switch_numbered"),
    ("LR2110-8ET-120", "Dahua", "dahua.switch_numbered"),
    # Dahua price list 'Display'; shop data 'DAHUA LM24-B200S 24" FHD Monitor'
    ("LM24-B200S 24 inch monitor", "Dahua", "dahua.monitor"),
    ("LM43-F400(P)", "Dahua", "dahua.monitor"),
    # Dahua price list intercom kits
    ("VTK-VTO2000A-VTH1550CH(F) intercom kit", "Dahua", "dahua.vto_vth"),
    ("VTKB-VTO5110B-VTH1500B", "Dahua", "dahua.vto_vth"),
    # Hikvision download centre (as archived): AX Hybrid PRO
    ("DS-PD201P10-WA detector", "Hikvision", "hikvision.ds_p_alarm"),
    ("DS-PA201P-16WB", "Hikvision", "hikvision.ds_p_alarm"),
    # Dahua price list 'Video Door Phone'; shop data 'VTNS1060A Dahua 24V Network Power Supply'
    ("VTNS1060A intercom power supply", "Dahua", "dahua.intercom_network"),
    ("VTNS2003B-2", "Dahua", "dahua.intercom_network"),
    # Dahua price list 'Traffic Accessory'; a Dahua RPC2 client special-casing ITSE0804-GN5B-D
    ("ITSE0804-GN5B-D", "Dahua", "dahua.itse"),
    ("ITSE1200-TA-G02 traffic server", "Dahua", "dahua.itse"),
    # Dahua price list 'DSS7X16D Series'; DSS Pro notes naming the DSS7016D/DR-S2 appliance
    ("DSS7016DR-S2 video management server", "Dahua", "dahua.dss_server"),
    ("DSS4004-S2", "Dahua", "dahua.dss_server"),
    # Dahua price list 'IVD'; quote defaults 'DHI-IVD5148-1I-4G/WT'
    ("IVD5148-2I", "Dahua", "dahua.ivd"),
    # Dahua price list 'Specialized PTZ Camera'; Dahua PTZ summary, 'Dahua DH-EPC230U'
    ("MPTZ1100-2030RA-NT mobile PTZ", "Dahua", "dahua.mptz_epc"),
    ("EPC230U-PTZ-IR", "Dahua", "dahua.mptz_epc"),
    # 'Hikvision DS-TCG405' camera table; 'ProbeMatch payloads captured on site (DS-TCG406-E)'
    ("DS-TCG406-E ANPR camera", "Hikvision", "hikvision.ds_tcg_traffic"),
    # download centre DS-MCW409/DS-MP5604; inventory 'DS-MCW407 Body Camera Hikvision'
    ("DS-MCW407 body camera", "Hikvision", "hikvision.ds_mobile"),
    ("DS-MP5604H-S/GW mobile DVR", "Hikvision", "hikvision.ds_mobile"),
    # download centre DS-K5671-ZU; device register 'DS-K5671-ZU' by 海康威视 (Hikvision)
    ("DS-K5671-ZU face terminal", "Hikvision", "hikvision.ds_k5_face"),
    # sizing table 'USG6525F, USG6555F'; 'Huawei Firewall USG6555F via SNMP'
    ("USG6555F firewall", "Huawei", "huawei.firewall"),
    ("USG6525F", "Huawei", "huawei.firewall"),
]


@pytest.mark.parametrize(("text", "maker", "grammar"), RECOGNISED)
def test_line_is_read_from_its_part_number(text: str, maker: str, grammar: str) -> None:
    identification = IDENTIFIER.identify(text)
    assert identification.maker == maker, identification.reasons
    assert identification.grammar_id == grammar


def test_an_alarm_panel_number_alone_is_a_restricted_verdict() -> None:
    row = screen("ARC3000H-W2")
    assert row.maker == "Dahua" and row.restricted is True, row.reason


LOOK_ALIKES = [
    "ARC1880IX RAID controller",  # Areca
    "ARC-1883IX-12",  # Areca
    "ARK-3440 embedded PC",  # Advantech
    "ARM926EJ-S core",  # Arm
    "EVS XT3 server",  # EVS Broadcast Equipment
    "KB-1100 keyboard",  # Uniview
    "S5735-L8T4S-A",  # Huawei (its own grammar, but not Dahua's)
    "S5130-28S-PWR-EI",  # H3C
    "RG-S2910-24GT4XS-E",  # Ruijie
    "NSW2010-10T-POE-IN",  # Uniview
    "GS1900-8HP",  # Zyxel
    "C1000-8T-2G-L",  # Cisco
    "LM317T regulator",  # Texas Instruments
    "LM2596S-ADJ buck converter",  # Texas Instruments
    "LM358N op-amp",  # Texas Instruments
    "IPC322LB-SF28-A",  # Uniview
    "IP8M-2496EB-40MM",  # Amcrest (a Dahua relabel, not Dahua's own numbering)
    "XNV-6080R",  # Hanwha
    "TC-C32XN",  # Tiandy
    "DS220+",  # Synology
    "EPC-R3720 edge computer",  # Advantech
    "EPC-C301",  # Advantech
    "IVD-2000",  # a dash after IVD: not Dahua's numbering
    "NSW2010-10T-POE-IN",  # Uniview
    "ITS-2000",  # generic 'intelligent transport system'
    "DSS",  # a generic abbreviation
    "DS-TCGA",  # bioinformatics file names, not a Hikvision camera
    "DS-1821+",  # Synology
    "TCG-405",  # not Hikvision's DS- numbering
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_not_read_as_dahua_or_hikvision_lines(text: str) -> None:
    identification = IDENTIFIER.identify(text)
    assert identification.grammar_id not in (*NEW_GRAMMARS, "dahua.vto_vth"), text
    restricted_camera_makers = ("Dahua", "Hikvision")
    assert identification.maker not in restricted_camera_makers or (
        identification.brand == "Amcrest"
    ), text


@pytest.mark.parametrize("grammar_id", NEW_GRAMMARS)
def test_new_grammars_state_their_specificity(grammar_id: str) -> None:
    grammar = GRAMMARS.grammar(grammar_id)
    assert grammar.note.startswith("Specificity:"), grammar_id
    assert len(grammar.negatives) >= 3 and len(grammar.sources) >= 2, grammar_id


def test_a_zyxel_usg_is_not_a_huawei_firewall() -> None:
    # Zyxel ZyWALL USG60W/USG110 and Ubiquiti USG-PRO-4 keep outside the widened F suffix
    for text in ("USG60W", "USG110", "USG-PRO-4", "USG6000F-E12-D"):
        identification = IDENTIFIER.identify(text)
        assert identification.grammar_id != "huawei.firewall", text
        assert identification.maker != "Huawei", text


def test_a_body_camera_number_alone_is_a_restricted_verdict() -> None:
    row = screen("DS-MCW407")
    assert row.maker == "Hikvision" and row.restricted is True, row.reason
