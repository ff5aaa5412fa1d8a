"""Part numbers of restricted makers screened from a list without a manufacturer column
(issue 11, point 7): a CSV with only a part-number column, and one with a description that
names no brand, go through ``provscan screen``. Every number is one the grammar's public
sources name; every look-alike is another maker's real numbering or a common non-product
string. None is copied from a held-out list.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from provscan.fingerprints.text import kit_components, variants

# (part number, description without a brand, maker, grammar)
RESTRICTED = [
    ("IVSS7108-1I-V2", "video analytics recorder", "Dahua", "dahua.ivss"),
    ("IVSS7116DR", "recorder", "Dahua", "dahua.ivss"),
    ("DVR0404LE-AS", "4 channel DVR", "Dahua", "dahua.dvr_legacy"),
    ("DVR1604LF-AL-E", "16 channel DVR", "Dahua", "dahua.dvr_legacy"),
    ("IPM-721S", "Wi-Fi camera", "Dahua", "amcrest.ip"),
    ("IP8M-VB2896EW-AI", "varifocal bullet", "Dahua", "amcrest.ip"),
    ("IPC-IP3M-HX2B", "pan/tilt camera", "Dahua", "amcrest.ip"),
    ("USG9560", "data-centre firewall", "Huawei", "huawei.firewall"),
    ("TP3206", "telepresence system", "Huawei", "huawei.video_conferencing"),
    ("ViewPoint 9030", "MCU", "Huawei", "huawei.video_conferencing"),
    ("ME909s-120", "LTE mini PCIe module", "Huawei", "huawei.lte_module"),
    ("MS2372h-517", "LTE USB stick", "Huawei", "huawei.lte_module"),
    ("MF79U", "4G USB Wi-Fi dongle", "ZTE", "zte.mobile_broadband"),
    ("MF833V", "LTE USB modem", "ZTE", "zte.mobile_broadband"),
    ("MF920U", "mobile hotspot", "ZTE", "zte.mobile_broadband"),
    ("MC801A", "5G indoor CPE", "ZTE", "zte.mobile_broadband"),
    ("MC888A", "5G CPE", "ZTE", "zte.mobile_broadband"),
]

# Other makers' numbers, and strings of the same shape that are not restricted products.
NOT_RESTRICTED = [
    ("MU5001", "flight"),  # a China Eastern flight number as well as a ZTE hotspot
    ("MF216n", "laser printer"),  # Canon
    ("MF635Cx", "colour printer"),  # Canon
    ("MF231", "printer"),  # Canon
    ("MF445dw", "printer"),  # Canon
    ("EC25-E", "LTE module"),  # Quectel
    ("EM7455", "LTE module"),  # Sierra Wireless
    ("DVR1604", "DVR"),  # bare shape, no maker
    ("IVS1800", "video server"),  # not Dahua's IVSS
    ("IP2M", "camera"),
    ("USG60W", "firewall"),  # Zyxel
    ("USG-PRO-4", "gateway"),  # Ubiquiti
    ("TEA5767", "FM tuner"),  # NXP/Philips
    ("P3245-LVE", "dome camera"),  # Axis
    ("C9300-48P", "switch"),  # Cisco
    ("EX2300-48P", "switch"),  # Juniper
    ("AP-515", "access point"),  # Aruba
    ("XNV-6080R", "camera"),  # Hanwha
    ("NBE-3502-AL", "camera"),  # Bosch
    ("UVC-G4-BULLET", "camera"),  # Ubiquiti
    ("CRS326-24G-2S+RM", "switch"),  # MikroTik
    ("G-240W-F", "ONT"),  # Nokia
    ("APX 6000", "radio"),  # Motorola Solutions
    ("MTP3550", "TETRA radio"),  # Motorola Solutions
    ("MD-380", "DMR radio"),  # TYT
]


def _screen(cli: Any, path: Path) -> list[dict[str, Any]]:
    result = cli("screen", str(path), "-f", "json", "--quiet")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)["rows"]
    return rows


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("with_description", [False, True])
def test_restricted_part_numbers_without_a_maker_column(
    cli: Any, tmp_path: Path, with_description: bool
) -> None:
    if with_description:
        header, cells = ["Part Number", "Description"], [[pn, desc] for pn, desc, *_ in RESTRICTED]
    else:
        header, cells = ["Part Number"], [[pn] for pn, *_ in RESTRICTED]
    rows = _screen(cli, _write(tmp_path / "list.csv", header, cells))
    got = [
        (pn, row["verdict"], row["maker"]) for row, (pn, *_) in zip(rows, RESTRICTED, strict=True)
    ]
    assert got == [(pn, "restricted", maker) for pn, _, maker, _ in RESTRICTED]
    for row, (_, _, _, grammar) in zip(rows, RESTRICTED, strict=True):
        assert isinstance(row["evidence"], list)
        assert f"follows grammar {grammar} " in " ".join(map(str, row["evidence"])), row["input"]


@pytest.mark.parametrize("with_description", [False, True])
def test_lookalikes_are_not_restricted(cli: Any, tmp_path: Path, with_description: bool) -> None:
    if with_description:
        header, cells = ["Part Number", "Description"], [list(pair) for pair in NOT_RESTRICTED]
    else:
        header, cells = ["Part Number"], [[pn] for pn, _ in NOT_RESTRICTED]
    rows = _screen(cli, _write(tmp_path / "list.csv", header, cells))
    flagged = [(row["input"], row["verdict"]) for row in rows if row["verdict"] == "restricted"]
    assert flagged == []


def test_te_endpoints_count_only_next_to_the_brand(cli: Any, tmp_path: Path) -> None:
    """Huawei's TE40 is a short number: alone it names no maker; with the brand it is typed."""
    rows = [["", "TE40"], ["Huawei", "TE40"]]
    found = _screen(cli, _write(tmp_path / "vc.csv", ["Manufacturer", "Model"], rows))
    assert [(row["verdict"], row["maker"], row["device_type"]) for row in found] == [
        ("unknown", None, None),
        ("restricted", "Huawei", "video_conferencing"),
    ]


# Extraction: a number written with a label, a glued quantity, words after a slash, or a brand
# glued with a slash is still read (a grammar still has to match the whole number).
EXTRACTION = [
    ("P/N:S5735-L24T4S-A1", "Huawei", "S5735-L24T4S-A1"),
    ("PN#DS-2CD2143G0-I", "Hikvision", "DS-2CD2143G0-I"),
    ("IPC-HDW1230T1-S5*4", "Dahua", "IPC-HDW1230T1-S5"),
    ("S5735-L24T4S-A1/24-port PoE switch", "Huawei", "S5735-L24T4S-A1"),
    ("HUAWEI/AR6120", "Huawei", "AR6120"),
    # Kits as Dahua's price list names them (Epochex/Dahua_Pricing_Auto data/SysPrice.csv at
    # commit 1f1fb3bfdd): a recorder and its cameras after "KIT/", each camera with its count.
    ("KIT/NVR4104HS-P-4KS2-2T/4-HFW1320SP-0360B", "Dahua", "NVR4104HS-P-4KS2-2T"),
    ("KIT/DHI-NVR2108HS-4KS2/6-EZ-IPC-B1B40P-0360B", "Dahua", "EZ-IPC-B1B40P-0360B"),
]


def test_part_numbers_in_real_cell_shapes(cli: Any, tmp_path: Path) -> None:
    path = _write(tmp_path / "cells.csv", ["Item"], [[cell] for cell, *_ in EXTRACTION])
    rows = _screen(cli, path)
    assert [(row["verdict"], row["maker"], row["model"]) for row in rows] == [
        ("restricted", maker, model) for _, maker, model in EXTRACTION
    ]


def test_cut_readings_never_invent_a_restricted_number(cli: Any, tmp_path: Path) -> None:
    """The same cuts on other makers' cells: a brand before a slash, a label, a quantity."""
    cells = [
        "Cisco/C9300-48P",
        "Canon/MF445dw",
        "P/N:P3245-LVE",
        "USG-PRO-4*2",
        "AR150/AR300M",
        "KIT/P3245-LVE/2-Q6135-LE",  # an Axis kit: its components are Axis numbers
    ]
    rows = _screen(cli, _write(tmp_path / "other.csv", ["Item"], [[cell] for cell in cells]))
    assert [row["verdict"] for row in rows if row["verdict"] == "restricted"] == []
    assert rows[0]["maker"] == "Cisco"


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("P/N:S5735-L24T4S-A1", "S5735-L24T4S-A1"),
        ("Model:IPC-HFW2431S-S-S2", "IPC-HFW2431S-S-S2"),
        ("IPC-HDW1230T1-S5*4", "IPC-HDW1230T1-S5"),
        ("S5735-L24T4S-A1/24-port", "S5735-L24T4S-A1"),
    ],
)
def test_variants_cut_labels_quantities_and_slash_tails(text: str, reading: str) -> None:
    assert reading in variants(text)


@pytest.mark.parametrize(
    ("text", "readings"),
    [
        (
            "KIT/NVR4104-P-4KS2-1T/2-HDBW1431EP-0280B/1-1TBWD",
            ["NVR4104-P-4KS2-1T", "HDBW1431EP-0280B", "1-1TBWD"],
        ),
        ("EZIP-KIT/NVR1B04-4P/L/4-T1B20-L", ["NVR1B04-4P", "T1B20-L"]),
        ("Amcrest-KIT/HCVR7104H-S2/4-HAC-HFW1200SN-0360B", ["HCVR7104H-S2", "HAC-HFW1200SN-0360B"]),
        ("IPC-HFW1230S/2-HDW1230T1", ["HDW1230T1"]),  # a count marks a kit too
    ],
)
def test_each_component_of_a_kit_is_read(text: str, readings: list[str]) -> None:
    found = kit_components(text)
    assert all(reading in found for reading in readings), found


def test_a_code_after_a_slash_is_no_component_outside_a_kit() -> None:
    """An option or spare-part code after a slash ("BF4CP-XL/M0508" in Dahua's price list)
    is not read as a model of its own: "M0508" alone has the shape of an Axis number."""
    assert kit_components("BF4CP-XL/M0508") == []
    assert "M0508" not in variants("BF4CP-XL/M0508")
    assert "M0508" in kit_components("KIT/BF4CP-XL/M0508")  # in a kit it is a component


def test_a_component_never_outranks_the_number_before_the_slash(cli: Any, tmp_path: Path) -> None:
    """A restricted number before the slash stays the row's model when a longer component of
    another maker follows ("CE6800/4-M3106-L": a Huawei switch, whatever the component)."""
    rows = _screen(cli, _write(tmp_path / "head.csv", ["Item"], [["CE6800/4-M3106-L"]]))
    assert (rows[0]["verdict"], rows[0]["maker"], rows[0]["model"]) == (
        "restricted",
        "Huawei",
        "CE6800",
    )


def test_a_kit_with_a_restricted_component_is_not_cleared(cli: Any, tmp_path: Path) -> None:
    """A kit of another maker's recorder and Dahua cameras holds a restricted product: the
    row is not "clear" for the longer recorder number, and its reason names both makers."""
    cell = "KIT/XRN-1610S-4TB/4-HFW1230S"
    rows = _screen(cli, _write(tmp_path / "mixed.csv", ["Item"], [[cell]]))
    assert rows[0]["verdict"] == "restricted"
    assert rows[0]["maker"] == "Dahua"
    assert "Hanwha" in rows[0]["reason"]
