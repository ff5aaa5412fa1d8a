"""The opt-in SNMP probe over real loopback UDP against the lab's SNMP agent (issue 11)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest
from helpers import scan_addresses

from provscan.lab.server import Lab, load_devices, run_lab_in_thread
from provscan.lab.spec import DeviceSpec, Expectation, Identity, ServiceSpec
from provscan.model import Device
from provscan.probes.registry import all_probes, host_probes
from provscan.probes.snmp import ENVIRONMENT_VARIABLE, SnmpProbe, query_system_group

#: On their own 127.N.61.x (N = 120-159 per test process), apart from other labs.
OCTET = 120 + os.getpid() % 40
BASE = f"127.{OCTET}.61"
PORTS = (22, 80)


def _device(index: int, device_id: str, snmp: dict[str, str], tcp: ServiceSpec) -> DeviceSpec:
    return DeviceSpec(
        id=device_id,
        address=f"{BASE}.{index}",
        description="SNMP test device",
        identity=Identity(),
        expect=Expectation(),
        sources=["test fixture"],
        services=[tcp],
        discovery=[ServiceSpec(port=161, protocol="snmp", options=snmp)],
    )


OPENSSH = ServiceSpec(port=22, protocol="banner", options={"text": "SSH-2.0-OpenSSH_8.4\r\n"})
PLAIN_HTTP = ServiceSpec(
    port=80,
    protocol="http",
    options={"default": {"status": 200, "headers": [["Server", "lighttpd"]], "body": "hello"}},
)
DEVICES = [
    # Huawei's enterprise number and VRP text behind a generic SSH server only.
    _device(
        1,
        "snmp-huawei-behind-openssh",
        {
            "sys_descr": "Huawei Versatile Routing Platform Software VRP (R) software, "
            "Version 8.120 (CE6870EI V200R001C00SPC700)",
            "sys_object_id": "1.3.6.1.4.1.2011.2.239.12",
            "sys_name": "core-1",
        },
        OPENSSH,
    ),
    # ZTE's enterprise number behind a generic web server.
    _device(2, "snmp-zte-behind-http", {"sys_object_id": "1.3.6.1.4.1.3902.3.100.20"}, PLAIN_HTTP),
    # A stock net-snmp agent names no maker: nothing may be concluded from it.
    _device(
        3,
        "snmp-net-snmp-linux",
        {"sys_descr": "Linux gw 5.10.0 #1 SMP armv7l", "sys_object_id": "1.3.6.1.4.1.8072.3.2.10"},
        OPENSSH,
    ),
    # Answers only another community.
    _device(
        4,
        "snmp-private-community",
        {"community": "s3cret", "sys_object_id": "1.3.6.1.4.1.2011.2.23.544"},
        OPENSSH,
    ),
]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with run_lab_in_thread(DEVICES) as running:
        yield running


def _scan(monkeypatch: pytest.MonkeyPatch, community: str | None) -> dict[str, Device]:
    if community is None:
        monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(ENVIRONMENT_VARIABLE, community)
    result = scan_addresses([d.address for d in DEVICES], ports=PORTS)
    return {device.ip: device for device in result.devices}


def _snmp_fields(device: Device) -> set[str]:
    return {o.field for a in device.attempts for o in a.observations if o.field.startswith("snmp.")}


def test_no_community_no_snmp_probe_and_no_datagram(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no community, when the devices are scanned
    lab.clear_record()
    devices = _scan(monkeypatch, None)
    # Then no SNMP request reached any agent and nothing is attributed to SNMP
    assert not [r for r in lab.record if r.protocol == "snmp"]
    assert all(not _snmp_fields(d) for d in devices.values())
    assert devices[f"{BASE}.1"].manufacturer is None
    assert not any(p.name == "snmp" for p in all_probes())
    assert host_probes() == []


def test_with_the_community_snmp_identifies_huawei_and_zte(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab.clear_record()
    devices = _scan(monkeypatch, "public")
    huawei, zte = devices[f"{BASE}.1"], devices[f"{BASE}.2"]
    assert (huawei.manufacturer, huawei.restricted) == ("Huawei", True)
    assert huawei.model == "CE6870EI"
    assert {e.rule_id for e in huawei.evidence} >= {
        "huawei.snmp.enterprise_2011",
        "huawei.snmp.vrp",
    }
    assert (zte.manufacturer, zte.restricted) == ("ZTE", True)
    # One GET per host, never more, and one snmp attempt per host, on UDP 161 only.
    requests = sorted(r.address for r in lab.record if r.protocol == "snmp")
    assert requests == sorted(d.address for d in DEVICES)
    for device in devices.values():
        assert [a.port for a in device.attempts if a.probe == "snmp"] == [161]
    assert [p.name for p in host_probes()] == ["snmp"]
    assert not any(p.name == "snmp" for p in all_probes())


def test_the_banner_of_a_port_no_probe_claims_is_still_read(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = _scan(monkeypatch, "public")
    observed = {
        o.value
        for a in devices[f"{BASE}.1"].attempts
        for o in a.observations
        if o.field == "banner.text"
    }
    assert observed == {"SSH-2.0-OpenSSH_8.4"}


def test_stock_agent_and_wrong_community_conclude_nothing(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = _scan(monkeypatch, "public")
    stock, private = devices[f"{BASE}.3"], devices[f"{BASE}.4"]
    assert stock.manufacturer is None and not stock.restricted
    assert _snmp_fields(stock) == {"snmp.sys_descr", "snmp.sys_object_id"}
    assert private.manufacturer is None and not _snmp_fields(private)


def test_silent_host_costs_one_wait_and_gives_nothing() -> None:
    # Nothing listens on this loopback address: the query returns [] after its wait.
    assert asyncio.run(query_system_group(f"{BASE}.250", b"public", 0.2)) == []


def test_the_community_is_never_shown() -> None:
    probe = SnmpProbe("s3cret")
    assert "s3cret" not in repr(probe)
    with pytest.raises(ValueError):
        SnmpProbe("")


def test_bundled_telecom_personalities_answer_snmp() -> None:
    answering = {
        d.id for d in load_devices(["telecom"]) if any(s.protocol == "snmp" for s in d.discovery)
    }
    assert answering == {"huawei-vrp-switch", "zte-olt-ssh"}


def test_lab_agent_answers_only_a_well_formed_get_with_its_community() -> None:
    from provscan.lab.responders import snmp as agent
    from provscan.wire import snmp as wire

    device = DEVICES[0]
    service = device.discovery[0]
    get = wire.encode_get_request(b"public", 7)
    answer = agent.answer(get, device, service)
    assert answer is not None
    reply = wire.parse_response(answer, 7)
    assert reply is not None and reply.value_of(wire.SYS_NAME) == wire.VarBind(
        wire.SYS_NAME, "string", "core-1"
    )
    # A SET (0xA3), another community, truncated or garbage datagrams: silence.
    set_request = wire.encode_message(
        wire.SnmpMessage(1, b"public", 0xA3, 8, 0, 0, (wire.VarBind(wire.SYS_NAME, "string", "x"),))
    )
    for datagram in (set_request, wire.encode_get_request(b"private", 9), get[:-3], b"\x00" * 40):
        assert agent.answer(datagram, device, service) is None
