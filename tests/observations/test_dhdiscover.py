"""DHDiscover: one notifyDevInfo, the same observations from discovery and from a capture."""

from __future__ import annotations

import pytest
from observed import keys

from provscan.discovery.dhdiscover import DhDiscover
from provscan.errors import ProtocolError
from provscan.observations import dhdiscover as observe
from provscan.passive.signals import parse_discovery
from provscan.wire import dahua

PORT = dahua.DHDISCOVER_PORT
DEVICE_INFO = {
    "DeviceClass": "IPC",
    "DeviceType": "IPC-HDW2431T-AS-S2",
    "SerialNo": "4M0747EPAA1D284",
    "Version": "2.800.0000000.29.R.210630",
    "HttpPort": 80,
    "Port": 37777,
    "MachineName": "IPC-HDW2431T",
    "Vendor": "General",
    "Manufacturer": "Dahua",
    "IPv4Address": {"IPAddress": "192.168.1.108", "SubnetMask": "255.255.255.0"},
}
REPLY = dahua.build_dhdiscover_reply(DEVICE_INFO, "3c:ef:8c:61:01:c0")


def test_a_reply_maps_every_known_field() -> None:
    sighting = observe.reply_observations(dahua.parse_dhdiscover_reply(REPLY))
    assert keys(sighting.observations) == [
        ("dhdiscover", PORT, "dahua.discovery.reply", "client.notifyDevInfo"),
        ("dhdiscover", PORT, "dahua.discovery.device_class", "IPC"),
        ("dhdiscover", PORT, "dahua.discovery.device_type", "IPC-HDW2431T-AS-S2"),
        ("dhdiscover", PORT, "dahua.discovery.serial", "4M0747EPAA1D284"),
        ("dhdiscover", PORT, "dahua.discovery.version", "2.800.0000000.29.R.210630"),
        ("dhdiscover", PORT, "dahua.discovery.http_port", "80"),
        ("dhdiscover", PORT, "dahua.discovery.port", "37777"),
        ("dhdiscover", PORT, "dahua.discovery.machine_name", "IPC-HDW2431T"),
        ("dhdiscover", PORT, "dahua.discovery.vendor", "General"),
        ("dhdiscover", PORT, "dahua.discovery.manufacturer", "Dahua"),
        ("dhdiscover", PORT, "dahua.discovery.mac", "3c:ef:8c:61:01:c0"),
    ]
    assert (sighting.mac, sighting.serial) == ("3c:ef:8c:61:01:c0", "4M0747EPAA1D284")
    assert (sighting.address, sighting.hostname) == ("192.168.1.108", "IPC-HDW2431T")


def test_searches_are_not_devices_and_other_methods_are_malformed() -> None:
    assert observe.read(dahua.build_dhdiscover_search()) is None
    other = dahua.build_dhip(b'{"method":"global.login","params":{"deviceInfo":{}}}')
    with pytest.raises(ProtocolError):
        observe.read(other)
    assert parse_discovery(PORT, other, "192.168.1.108") is None


def test_discovery_and_passive_read_a_reply_alike() -> None:
    reply = DhDiscover().interpret(REPLY, "192.168.1.108", PORT)
    facts = parse_discovery(PORT, REPLY, "192.168.1.108")
    assert reply is not None and facts is not None
    assert facts.fields == [
        ("discovery.protocol", "dhdiscover client.notifyDevInfo"),
        *((o.field, o.value) for o in reply.observations),
    ]
    assert {(o.protocol, o.port) for o in reply.observations} == {(facts.protocol, facts.port)}
    assert (facts.mac, facts.ip, facts.hostname) == (reply.mac, "192.168.1.108", "IPC-HDW2431T")
