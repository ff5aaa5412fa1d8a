"""Other makers' part numbers that looked like a restricted maker's (issue 11 review).

A list without a manufacturer column is screened on its part numbers alone, so a restricted
family's grammar that takes another maker's number tells someone to tear out equipment they may
keep. The numbers below are other makers' real model or part numbers, each from the public
source named beside it (facts only; nothing is copied from a held-out list). Every one was
flagged restricted, or given a restricted maker, before the grammars were tightened.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import ScreenRow, judge_product

IDENTIFIER = bundled_identifier()
POLICIES = IDENTIFIER.knowledge.select_policies(None)
RESTRICTED_FAMILIES = {"hikvision", "dahua", "huawei", "zte", "hytera"}


def screen(text: str = "", *, model: str | None = None) -> ScreenRow:
    return judge_product(IDENTIFIER.identify(text, model=model), POLICIES)


# (part or model number as a list would carry it, the maker the source states)
LOOK_ALIKES = [
    # NetBox devicetype-library (CC0), device-types/<Manufacturer>/<model>.yaml
    ("AR1050V", "Allied Telesis"),  # device-types/Allied Telesis/AR1050V.yaml
    ("AR2010V", "Allied Telesis"),  # device-types/Allied Telesis/AR2010V.yaml
    ("AR2050V", "Allied Telesis"),  # device-types/Allied Telesis/AR2050V.yaml
    ("AR3050S", "Allied Telesis"),  # device-types/Allied Telesis/AR3050S.yaml
    ("S3300-52X", "Netgear"),  # device-types/Netgear/GS752TX.yaml (part number)
    ("DS7720B", "Brocade"),  # device-types/Brocade/G720.yaml (part number)
    ("DS-520AN", "Silex"),  # device-types/Silex/DS-520AN.yml
    ("DS-700AC", "Silex"),  # device-types/Silex/DS-700AC.yml
    ("SAN Switch 6505", "Brocade"),  # device-types/Brocade/SAN-Switch-6505.yml
    ("FL SWITCH 2308", "Phoenix Contact"),  # device-types/Phoenix Contact/FL-Switch-2308.yaml
    ("UniFi Switch 24 Pro", "Ubiquiti"),  # device-types/Ubiquiti/USW-Pro-24.yaml
    # jconsoli/brcddb brcddb_chassis.py: Dell EMC Connectrix names of Brocade switches
    ("DS-6505B", "Dell EMC"),
    ("DS-6620B", "Dell EMC"),
    ("Connectrix DS-6630B", "Dell EMC"),
    ("DS-7720B", "Dell EMC"),
    # jconsoli/brcddb util/iocp.py: IBM storage device types
    ("DS6800", "IBM"),
    ("DS8900F", "IBM"),
    ("IBM DS 8900F", "IBM"),
    ("IBM DS 4700", "IBM"),  # nmap-os-db
    # kernel.org Documentation/devicetree/bindings/arm/aspeed/aspeed.yaml: ASPEED BMC chips
    ("AST2500", "ASPEED"),
    ("BMC: ASPEED AST2600", "ASPEED"),  # QEMU docs/system/arm/aspeed.rst
    # panel PCs numbered TPC-<digits>
    ("TPC-100", "Advantech"),  # ningpanQ1/adv-imx-yocto-bsp README.md
    ("TPC 15", "Tueks"),  # Konzek/mighty-rabbit src/pages/panel-pc/tpc-15.md
    # nmap-os-db (fingerprint and comment lines) and nmap-service-probes product names
    ("CentreCOM AR300L", "Allied Telesyn"),
    ("VIP1216", "Motorola"),
    ("SS2601", "Siemens SpeedStream"),
    ("NV4160", "NUUO"),
    ("iDS 13.0.0.0", "iDirect"),
    ("Safecom SWBR 54000", "Safecom"),
    ("KX-HCM270", "Panasonic"),
    ("KX-NS1000", "Panasonic"),  # rapid7/recog xml/http_servers.xml
]


@pytest.mark.parametrize(("number", "maker"), LOOK_ALIKES)
def test_another_makers_number_is_not_a_restricted_maker(number: str, maker: str) -> None:
    for row in (screen(model=number), screen(number)):
        assert row.restricted is not True, (maker, row.reason)
        assert row.family not in RESTRICTED_FAMILIES, (maker, row.reason)


# Unrestricted makers' grammars that took another maker's number (NetBox devicetype-library).
WRONG_MAKER = [
    ("MD3200", "Vivotek"),  # Dell PowerVault, device-types/Dell/PowerVault-MD3200.yaml
    ("M4300-12X12F", "Axis"),  # Netgear, device-types/Netgear/M4300-12X12F.yaml
    ("P2000", "Axis"),  # HPE MSA P2000 chassis, device-types/HPE/hpe-p2000-*.yml
    # module-types/HPE/R0X42A.yaml: the word 'and' before '4-port'
    ("CX 6400 24-port 10Gbase-T and 4-port SFP56 Module", "Hanwha Vision"),
]


@pytest.mark.parametrize(("number", "wrong_maker"), WRONG_MAKER)
def test_an_unrestricted_grammar_keeps_to_its_maker(number: str, wrong_maker: str) -> None:
    assert screen(number).maker != wrong_maker, screen(number).reason


# The tightened grammars still take their own makers' numbers.
OWN_NUMBERS = [
    ("DS-7204HGHI-F1", "hikvision.ds_dvr"),
    ("DS-6704HUHI", "hikvision.ds_6_codec"),
    ("DS-2XE6242F-IS", "hikvision.ds_2x_2cv_camera"),  # read before ds_other (2026-12-07b)
    ("iDS-7208HQHI-M1/S", "hikvision.ids"),
    ("ASI7213X-T1", "dahua.access"),
    ("TPC-BF1241", "dahua.tpc_itc"),
    ("AR1220-V", "huawei.ar_router"),
    ("AR2220", "huawei.ar_router"),
    ("S5720-28X-SI-AC", "huawei.campus_switch"),
    ("NV4108E-HS", "amcrest.nv_amdv"),
    ("VIP 3230 B", "intelbras.video"),
    ("KX-C2121S5", "kbvision.kx"),
    ("SWNHD-887MSFB", "swann.sw"),
    ("XRN-1610", "hanwha.wisenet"),
    ("FD9387-HTV", "vivotek.camera"),
    ("M3045-V", "axis.model"),
]


@pytest.mark.parametrize(("number", "grammar"), OWN_NUMBERS)
def test_own_numbers_still_match(number: str, grammar: str) -> None:
    assert IDENTIFIER.identify("", model=number).grammar_id == grammar


def test_a_model_only_list_of_look_alikes_flags_nothing(tmp_path: Path, cli: Any) -> None:
    """The look-alikes as a procurement list with only a model column, screened as a file."""
    path = tmp_path / "models.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Model"])
        writer.writerows([number] for number, _ in LOOK_ALIKES)
        writer.writerow(["DS-7608NI-K2"])  # a Hikvision NVR: the one row to flag
    result = cli("screen", str(path), "-f", "json", "--quiet")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    flagged = [row["row"] for row in report["rows"] if row.get("restricted") is True]
    # screen row N is the file's line N (the header is line 1)
    assert flagged == [2 + len(LOOK_ALIKES)]
