"""Each discovery transport against the lab over loopback (unicast only), the merge, the
neighbour-table parsers and hostile datagrams (floods, bombs, oversize)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from helpers import SESSION_DEVICES, SESSION_OCTET

from provscan.commands.discover import build_result
from provscan.discovery import arp
from provscan.discovery.interface import DiscoveryReply
from provscan.discovery.merge import merge_replies
from provscan.discovery.runner import PROTOCOLS, DiscoverySettings, discover_addresses
from provscan.lab.server import Lab
from provscan.model import Observation

#: Lab devices that answer a discovery protocol (their other UDP services, e.g. SNMP, are
#: probes' business, not discovery's).
DISCOVERY_DEVICES = [
    d for d in SESSION_DEVICES if any(s.protocol in PROTOCOLS for s in d.discovery)
]
FAST = DiscoverySettings(timeout_s=0.5, loopback_timeout_s=0.5)


@pytest.mark.parametrize("spec", DISCOVERY_DEVICES, ids=[d.id for d in DISCOVERY_DEVICES])
def test_each_protocol_finds_its_lab_device(lab: Lab, spec: object) -> None:
    from provscan.lab.spec import DeviceSpec

    assert isinstance(spec, DeviceSpec)
    for service in [s for s in spec.discovery if s.protocol in PROTOCOLS]:
        settings = DiscoverySettings(
            protocols=(service.protocol,), timeout_s=0.5, loopback_timeout_s=0.5
        )
        result = asyncio.run(discover_addresses([spec.address], settings))
        assert [h.address for h in result.hosts] == [spec.address], service.protocol
        assert service.protocol in result.hosts[0].protocols


def test_discovery_attributes_every_discovery_device(lab: Lab) -> None:
    from datetime import UTC, datetime

    found = asyncio.run(discover_addresses([d.address for d in DISCOVERY_DEVICES], FAST))
    result = build_result(found, started=datetime.now(UTC), target_specs=["lab"])
    devices = {d.ip: d for d in result.devices}
    for spec in DISCOVERY_DEVICES:
        device = devices[spec.address]
        assert device.manufacturer == spec.expect.manufacturer, spec.id
        if spec.expect.brand:
            assert (device.brand or device.manufacturer) == spec.expect.brand, spec.id
        if spec.expect.model:
            assert device.model == spec.expect.model, spec.id
        if spec.identity.mac and spec.expect.manufacturer in ("Hikvision", "Axis"):
            assert device.mac == spec.identity.mac, spec.id
    router = next(d for d in result.devices if any("port mapping" in n for n in d.notes))
    assert "8080" in " ".join(router.notes)


def test_discover_cli_json(lab: Lab) -> None:
    spec = next(d for d in DISCOVERY_DEVICES if d.id == "hik-nvr-sadp-only")
    command = [sys.executable, "-m", "provscan", "discover", spec.address]
    completed = subprocess.run(
        [*command, "--timeout", "0.5", "--format", "json", "--no-db"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert "discovery only: no port scan" in document["scan"]["notes"]
    [device] = document["devices"]
    assert device["ip"] == spec.address and device["manufacturer"] == "Hikvision"


def test_merge_on_mac_and_serial() -> None:
    def reply(protocol: str, address: str, mac: str | None, serial: str | None) -> DiscoveryReply:
        observation = Observation(protocol, 1, f"{protocol}.x", address)
        return DiscoveryReply(protocol, address, 1, (observation,), mac=mac, serial=serial)

    hosts = merge_replies(
        [
            reply("sadp", "10.0.0.2", "bc:ba:c2:00:00:01", "DS-1ABCDEFG"),
            reply("wsd", "10.0.0.3", "bc:ba:c2:00:00:01", None),
            reply("ssdp", "10.0.0.4", None, "DS-1ABCDEFG"),
            reply("mdns", "10.0.0.9", None, None),
        ],
        {"10.0.0.9": "02:00:00:00:00:09"},
    )
    assert [h.address for h in hosts] == ["10.0.0.2", "10.0.0.9"]
    assert hosts[0].other_addresses == ("10.0.0.3", "10.0.0.4")
    assert set(hosts[0].protocols) == {"sadp", "wsd", "ssdp"}
    assert hosts[1].mac == "02:00:00:00:00:09" and hosts[1].mac_source == "arp"


def test_locally_administered_mac_is_not_attributed() -> None:
    from datetime import UTC, datetime

    from provscan.discovery.interface import DiscoveryResult

    hosts = merge_replies([], {"10.0.0.9": "02:11:22:33:44:55"})
    result = build_result(DiscoveryResult(tuple(hosts)), started=datetime.now(UTC), target_specs=[])
    [device] = result.devices
    assert device.manufacturer is None
    assert any("locally administered" in note for note in device.notes)


def test_neighbour_table_parsers() -> None:
    proc = (
        "IP address       HW type     Flags       HW address            Mask     Device\n"
        "10.0.0.2         0x1         0x2         3c:ef:8c:00:00:01     *        eth0\n"
        "10.0.0.3         0x1         0x0         00:00:00:00:00:00     *        eth0\n"
        "garbage\n"
    )
    assert arp.parse_proc_net_arp(proc) == {"10.0.0.2": "3c:ef:8c:00:00:01"}
    neigh = (
        "10.0.0.2 dev eth0 lladdr 3c:ef:8c:00:00:01 REACHABLE\n"
        "10.0.0.4 dev eth0  FAILED\n10.0.0.5 dev eth0 lladdr\n"
    )
    assert arp.parse_ip_neigh(neigh) == {"10.0.0.2": "3c:ef:8c:00:00:01"}


# -- hostile datagrams ---------------------------------------------------------------


@pytest.fixture
def hostile_udp() -> Iterator[tuple[str, threading.Event]]:
    """A loopback 'device' on UDP 37020 that answers each datagram with a flood of junk."""
    address = f"127.{SESSION_OCTET}.250.7"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 37020))
    sock.settimeout(0.2)
    stop = threading.Event()
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><ProbeMatch><Uuid>&b;</Uuid></ProbeMatch>'
    )
    junk = [bomb, b"\xff\xfe\x00garbage", b"<ProbeMatch>" + b"A" * 40_000, b"<ProbeMatch><MAC>"]

    def serve() -> None:
        while not stop.is_set():
            try:
                _, source = sock.recvfrom(4096)
            except TimeoutError:
                continue
            for index in range(200):
                sock.sendto(junk[index % len(junk)], source)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield address, stop
    stop.set()
    thread.join(timeout=2)
    sock.close()


def test_hostile_datagrams_are_counted_not_fatal(hostile_udp: tuple[str, threading.Event]) -> None:
    address, _ = hostile_udp
    settings = DiscoverySettings(protocols=("sadp",), timeout_s=0.5, loopback_timeout_s=0.5)
    result = asyncio.run(discover_addresses([address], settings))
    assert result.hosts == ()
    summary = " ".join(result.notes)
    assert "discovery errors: sadp:" in summary
    assert result.counters["sadp.malformed"] >= 1
    # A flood costs no more than its cap: the rest is counted, never parsed.
    assert result.counters["sadp.flood_dropped"] > 0
