"""SADP: one ProbeMatch, the same observations from discovery and from a capture."""

from __future__ import annotations

from observed import keys

from provscan.discovery.sadp import Sadp
from provscan.observations import sadp as observe
from provscan.passive.signals import parse_discovery
from provscan.wire import sadp

PORT = sadp.SADP_PORT
PROBE_MATCH = sadp.build_probe_match(
    {
        "Uuid": "7A1B2C3D-0000-0000-0000-BCBAC2445566",
        "Types": "inquiry",
        "DeviceType": "136323",
        "DeviceDescription": "DS-2CD2143G0-I",
        "DeviceSN": "DS-2CD2143G0-I20200114AAWR123456789",
        "CommandPort": "8000",
        "HttpPort": "80",
        "MAC": "bc-ba-c2-44-55-66",
        "IPv4Address": "192.168.1.64",
        "IPv4SubnetMask": "255.255.255.0",
        "SoftwareVersion": "V5.5.800build 210628",
        "DSPVersion": "",
        "Activated": "true",
        "OEMInfo": "N/A",
    }
)


def test_a_probe_match_maps_every_known_field() -> None:
    sighting = observe.probe_match_observations(sadp.parse_message(PROBE_MATCH))
    assert keys(sighting.observations) == [
        ("sadp", PORT, "sadp.reply", "ProbeMatch/inquiry"),
        ("sadp", PORT, "sadp.device_type", "136323"),
        ("sadp", PORT, "sadp.description", "DS-2CD2143G0-I"),
        ("sadp", PORT, "sadp.serial", "DS-2CD2143G0-I20200114AAWR123456789"),
        ("sadp", PORT, "sadp.command_port", "8000"),
        ("sadp", PORT, "sadp.http_port", "80"),
        ("sadp", PORT, "sadp.mac", "bc-ba-c2-44-55-66"),
        ("sadp", PORT, "sadp.ipv4_address", "192.168.1.64"),
        ("sadp", PORT, "sadp.firmware", "V5.5.800build 210628"),
        ("sadp", PORT, "sadp.activated", "true"),
        ("sadp", PORT, "sadp.oem_info", "N/A"),
    ]
    assert sighting.message == "sadp ProbeMatch"
    assert sighting.mac == "bc:ba:c2:44:55:66"
    assert sighting.serial == "DS-2CD2143G0-I20200114AAWR123456789"
    assert sighting.address == "192.168.1.64"


def test_an_inquiry_says_nothing_about_a_device() -> None:
    assert observe.read(sadp.build_inquiry()) is None
    assert parse_discovery(PORT, sadp.build_inquiry(), "192.168.1.10") is None


def test_discovery_and_passive_read_a_probe_match_alike() -> None:
    # Given one ProbeMatch, answered to our inquiry and seen on a mirror port
    reply = Sadp().interpret(PROBE_MATCH, "192.168.1.64", PORT)
    facts = parse_discovery(PORT, PROBE_MATCH, "192.168.1.64")
    # Then both inputs report the same fields and values, and the same identity
    assert reply is not None and facts is not None
    assert facts.fields == [
        ("discovery.protocol", "sadp ProbeMatch"),
        *((o.field, o.value) for o in reply.observations),
    ]
    assert {(o.protocol, o.port) for o in reply.observations} == {(facts.protocol, facts.port)}
    assert (facts.mac, facts.ip) == (reply.mac, "192.168.1.64")
