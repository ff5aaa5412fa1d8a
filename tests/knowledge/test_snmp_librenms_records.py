"""SNMP system descriptions and object ids as real devices answer them (issue 11, item 2).

The values are the recorded answers of LibreNMS's device simulations (tests/snmpsim/*.snmprec)
and of the other public sources the rules cite. Before, a ZTE C320 OLT's own description named
no maker ("C320 Version ... by ZTE Corporation"), a VRP 5 description without a space after
"software," gave no release, and a leading or trailing full part number was lost to the series
in brackets.
"""

from __future__ import annotations

import pytest

from provscan.attribution.attribute import Attributor
from provscan.knowledge import load_knowledge
from provscan.model import AttemptStatus, Observation, ProbeAttempt
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import judge_product

ATTRIBUTOR = Attributor(load_knowledge())
IDENTIFIER = bundled_identifier()
POLICIES = IDENTIFIER.knowledge.select_policies(None)

#: LibreNMS tests/snmpsim/zxa10.snmprec, sysDescr.0 and sysObjectID.0.
ZTE_C320_DESCR = "C320 Version V2.1.0 Software, Copyright (c) by ZTE Corporation Compiled"
ZTE_C320_OID = "1.3.6.1.4.1.3902.1082.1001.320.2.1"


def _device(**fields: str) -> tuple[str | None, str | None, str | None, str | None]:
    observations = tuple(
        Observation("snmp", 161, f"snmp.{name}", value) for name, value in fields.items()
    )
    attempt = ProbeAttempt("snmp", 161, AttemptStatus.OK, observations)
    device = ATTRIBUTOR.attribute("127.0.0.1", [], [attempt]).device
    return device.manufacturer, device.model, device.firmware, device.device_type


def test_a_zte_olt_is_named_by_its_own_description() -> None:
    assert _device(sys_descr=ZTE_C320_DESCR) == ("ZTE", "C320", "V2.1.0", "olt")


def test_the_c320_object_id_names_the_model() -> None:
    maker, model, _, kind = _device(sys_object_id=ZTE_C320_OID)
    assert (maker, model, kind) == ("ZTE", "C320", "olt")


def test_a_vrp_description_without_a_space_after_the_comma_gives_the_release() -> None:
    # LibreNMS tests/snmpsim/vrp.snmprec (an AR1220)
    maker, model, firmware, kind = _device(
        sys_descr="Huawei AR1220 Huawei Versatile Routing Platform Software  VRP (R) "
        "software,Version 5.120 (AR1220 V200R003C01SPC900) Copyright (C) 2011-2013 "
        "Huawei Technologies Co., Ltd"
    )
    assert (maker, model, firmware, kind) == ("Huawei", "AR1220", "V200R003C01SPC900", "router")


@pytest.mark.parametrize(
    ("sys_descr", "model", "firmware"),
    [
        # LibreNMS tests/snmpsim/vrp_5720.snmprec, sysDescr.0 (hex in the record)
        (
            "S5720-56C-PWR-EI-AC\nHuawei Versatile Routing Platform Software \r\n VRP (R) "
            "software,Version 5.170 (S5720 V200R010C00SPC600) \r\n Copyright (C) 2007 "
            "Huawei Technologies Co., Ltd.",
            "S5720-56C-PWR-EI-AC",
            "V200R010C00SPC600",
        ),
        # the same record's LLDP description of a CloudEngine neighbour
        (
            "Huawei Versatile Routing Platform Software\nVRP (R) software, Version 8.150 "
            "(CE6855HI V200R002C50SPC800)\r\nCopyright (C) 2012-2017 Huawei Technologies "
            "Co., Ltd.\r\nHUAWEI CE6855-48S6Q-HI\r",
            "CE6855-48S6Q-HI",
            "V200R002C50SPC800",
        ),
    ],
)
def test_the_full_part_number_wins_over_the_series(
    sys_descr: str, model: str, firmware: str
) -> None:
    collapsed = " ".join(sys_descr.split())  # as the SNMP observation keeps it
    assert _device(sys_descr=collapsed) == ("Huawei", model, firmware, "switch")


def test_a_zte_ethernet_switch_is_a_switch_with_its_model() -> None:
    # LibreNMS tests/snmpsim/zxr10.snmprec
    assert _device(sys_descr="ZTE Ethernet Switch ZXR10 5250-52TM-H, Version: V2.05.11B23") == (
        "ZTE",
        "ZXR10 5250-52TM-H",
        "V2.05.11B23",
        "switch",
    )


@pytest.mark.parametrize(
    "sys_descr",
    [
        # LibreNMS tests/snmpsim/comware.snmprec: HPE's Comware 5700, no Huawei S5700
        "HP Comware Platform Software, Software Version 7.1.045, Release 2416 HP FF "
        "5700-40XG-2QSFP Switch Copyright (c) 2010-2014 Hewlett-Packard Development Company, L.P.",
        "Hangzhou H3C Comware Platform Software, Software Version 3.10, Release 2211P06 H3C "
        "S3100-8TP-EI Copyright(c) 2004-2010 Hangzhou H3C Tech. Co.,Ltd. All rights reserved.",
    ],
)
def test_comware_look_alikes_are_not_huawei(sys_descr: str) -> None:
    assert _device(sys_descr=sys_descr)[0] not in {"Huawei", "ZTE"}


def test_a_bare_olt_number_is_zte_only_next_to_the_brand() -> None:
    alone = judge_product(IDENTIFIER.identify("C320"), POLICIES)
    assert alone.maker != "ZTE" and alone.restricted is not True, alone.reason
    # next to the brand, the bare number is the OLT (zte.olt_zxa10_short)
    branded = judge_product(IDENTIFIER.identify("ZTE C320"), POLICIES)
    assert (branded.maker, branded.model, branded.device_type) == ("ZTE", "C320", "olt")
    # with the line name, without the brand (zte.olt_zxa10, before zte.zx_family)
    named = judge_product(IDENTIFIER.identify("ZXA10 C600"), POLICIES)
    assert (named.maker, named.restricted, named.device_type) == ("ZTE", True, "olt")
