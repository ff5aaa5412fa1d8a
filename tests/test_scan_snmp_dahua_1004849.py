"""Dahua agents answer SNMP under the unofficial enterprise tree 1.3.6.1.4.1.1004849 (issue 11).

Real scans over loopback UDP against the lab's SNMP agent, SNMP only (no TCP service), with
the sysDescr "none" of the public MHDX 3116 fixture so that the sysObjectID alone speaks.
The values: LibreNMS tests/snmpsim/dahua-nvr.snmprec and public GitHub code id 62568347575
(both 1.3.6.1.4.1.1004849.3.2.10); the look-alikes are the rule's negatives.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from provscan.lab.server import Lab, load_devices, run_lab_in_thread
from provscan.lab.spec import DeviceSpec, ServiceSpec
from provscan.model import Device
from provscan.probes.snmp import ENVIRONMENT_VARIABLE
from provscan.transport.limits import ScanLimits

OCTET = 120 + os.getpid() % 40
BASE = f"127.{OCTET}.63"
LIMITS = ScanLimits(connect_timeout_s=0.5, read_timeout_s=0.5, per_connection_deadline_s=2.0)
RULE = "dahua.snmp.enterprise_1004849"

_TEMPLATE = {d.id: d for d in load_devices(["telecom"])}["huawei-vrp-switch"]


def _agent(index: int, sys_object_id: str) -> DeviceSpec:
    return _TEMPLATE.model_copy(
        update={
            "id": f"snmp-only-{index}",
            "address": f"{BASE}.{index}",
            "services": [],
            "discovery": [
                ServiceSpec(
                    port=161,
                    protocol="snmp",
                    options={
                        "community": "public",
                        "sys_descr": "none",
                        "sys_object_id": sys_object_id,
                        "sys_name": "(none)",
                    },
                )
            ],
        }
    )


DAHUA_NVR = _agent(1, "1.3.6.1.4.1.1004849.3.2.10")
LOOK_ALIKE_AGENTS = [
    (_agent(2, "1.3.6.1.4.1.10048490.1"), "a longer number starting 1004849"),
    (_agent(3, "1.3.6.1.4.1.26138.1"), "Intelbras's own IANA number"),
    (_agent(4, "1.3.6.1.2.1.1004849.1"), "1004849 outside the private arc"),
]
LOOK_ALIKES = {agent.address: why for agent, why in LOOK_ALIKE_AGENTS}
DEVICES = [DAHUA_NVR, *(agent for agent, _ in LOOK_ALIKE_AGENTS)]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with run_lab_in_thread(DEVICES) as running:
        yield running


def _scan(monkeypatch: pytest.MonkeyPatch, addresses: list[str]) -> dict[str, Device]:
    from provscan.pipeline import run_scan
    from provscan.targets import build_targets

    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "public")
    result = asyncio.run(
        run_scan(
            build_targets(addresses, ()),
            addresses,
            (80,),
            limits=LIMITS,
            discovery=None,
            posture=False,
            sweep_engine="builtin",
        )
    )
    return {device.ip: device for device in result.devices}


def test_a_dahua_nvr_answering_under_1004849_is_dahua_from_snmp_alone(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = _scan(monkeypatch, [DAHUA_NVR.address])[DAHUA_NVR.address]
    assert device.open_ports == ()
    assert (device.manufacturer, device.restricted) == ("Dahua", True)
    assert RULE in {e.rule_id for e in device.evidence}


def test_look_alike_numbers_are_not_dahua(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    devices = _scan(monkeypatch, list(LOOK_ALIKES))
    for address, why in LOOK_ALIKES.items():
        device = devices.get(address)
        assert device is not None, f"{why}: the agent answered, so the host is a device"
        assert RULE not in {e.rule_id for e in device.evidence}, why
        assert device.manufacturer != "Dahua", why
