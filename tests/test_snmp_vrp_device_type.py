"""A Huawei VRP system description names the maker, not the kind of device: VRP runs on
routers, switches and firewalls alike. The rule said "router", and a municipal analyst's
scan called an S5735 campus switch a router. The description gives no type now; the model
it captures does, through the maker's model-number grammar (huawei.campus_switch: switch;
an AR2200 is no campus switch)."""

from __future__ import annotations

from provscan.attribution.attribute import Attributor
from provscan.knowledge import load_knowledge
from provscan.model import AttemptStatus, Observation, ProbeAttempt

ATTRIBUTOR = Attributor(load_knowledge())


def _device_of(sys_descr: str) -> tuple[str | None, str | None, str | None]:
    attempt = ProbeAttempt(
        "snmp", 161, AttemptStatus.OK, (Observation("snmp", 161, "snmp.sys_descr", sys_descr),)
    )
    device = ATTRIBUTOR.attribute("127.0.0.1", [], [attempt]).device
    return device.manufacturer, device.model, device.device_type


def test_a_vrp_switch_is_a_switch() -> None:
    maker, model, kind = _device_of(
        "Huawei Versatile Routing Platform Software VRP (R) software, Version 5.170 "
        "(S5735-L24T4X-A1 V200R019C10SPC500) Copyright (C) 2000-2020 HUAWEI TECH CO., LTD"
    )
    assert (maker, kind) == ("Huawei", "switch")
    assert model is not None and model.startswith("S5735")


def test_a_vrp_router_is_still_huawei_with_its_model() -> None:
    maker, model, kind = _device_of(
        "Huawei Versatile Routing Platform Software VRP (R) software, Version 5.120 "
        "(AR2200 V200R003C00) Copyright (C) 2011-2012 HUAWEI TECH CO., LTD"
    )
    assert maker == "Huawei" and model == "AR2200"
    assert kind != "switch"
