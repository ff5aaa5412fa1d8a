"""Passive signals name makers, and a shared one never establishes a restricted maker alone.

Issue 11 point 6: DHCP vendor classes, mDNS service types and TXT items, SSDP SERVER strings
and the cloud names a device looks up become maker claims through the fingerprint rules;
IEEE registry owners of consumer makers reach their own vendor. The Huawei EMUI vendor class
is declared shared (Honor's fork of EMUI may keep it), so it needs a corroborating signal.
"""

from __future__ import annotations

import pytest

from provscan.attribution.attribute import Attributor
from provscan.knowledge.loader import load_knowledge
from provscan.model import Device, Observation
from provscan.policy.evaluate import judge

KNOWLEDGE = load_knowledge()
ATTRIBUTOR = Attributor(KNOWLEDGE)
POLICIES = KNOWLEDGE.select_policies(None)


def passive_device(*observations: tuple[str, str, int, str], mac: str | None = None) -> Device:
    """Attribute and judge a host from (protocol, field, port, value) passive observations."""
    found = [Observation(proto, port, field, value) for proto, field, port, value in observations]
    device = ATTRIBUTOR.attribute("127.0.0.1", [], [], mac=mac, extra_observations=found).device
    return judge(device, POLICIES)


@pytest.mark.parametrize(
    ("observation", "maker"),
    [
        (
            ("dhcp", "dhcp.vendor_class", 67, "Mfg=Xerox;Typ=MFP;Mod=AltaLink C8055;Ser=X1;"),
            "Xerox",
        ),
        (("dhcp", "dhcp.vendor_class", 67, "Cisco Systems, Inc. IP Phone CP-8845"), "Cisco"),
        (("mdns", "mdns.service", 5353, "_sonos._tcp.local."), "Sonos"),
        (("mdns", "mdns.txt", 5353, "model=iPad13,1"), "Apple"),
        (("ssdp", "ssdp.server", 1900, "Linux UPnP/1.0 Sonos/57.3-79090 (S27)"), "Sonos"),
        (("dns", "dns.query", 53, "p2p3.reolink.com"), "Reolink"),
        (("dns", "dns.query", 53, "m1.tuyaus.com"), "Tuya"),
        (("tls", "tls.sni", 443, "use1-device-cloudgateway.iot.i.tplinknbu.com"), "TP-Link"),
        (("ssdp", "ssdp.st", 1900, "urn:schemas-sony-com:service:ScalarWebAPI:1"), "Sony"),
        (("mdns", "mdns.txt", 5353, "vendor=Synology"), "Synology"),
        (("upnp", "upnp.manufacturer", 1900, "Belkin International Inc."), "Belkin"),
    ],
)
def test_a_passive_signal_names_its_maker(
    observation: tuple[str, str, int, str], maker: str
) -> None:
    device = passive_device(observation)
    assert device.manufacturer == maker
    assert not device.restricted


@pytest.mark.parametrize(
    ("mac", "maker"),
    [
        ("F0:18:98:00:00:01", "Apple"),  # Apple, Inc.
        ("8C:71:F8:00:00:01", "Samsung Electronics"),  # Samsung Electronics Co.,Ltd
        ("00:17:88:00:00:01", "Signify"),  # Philips Lighting BV
        ("68:57:2D:00:00:01", "Tuya"),  # Tuya Smart Inc.
        ("00:1B:67:00:00:01", "Cisco"),  # Cisco Systems Inc
        ("A4:11:62:00:00:01", "Arlo"),  # Arlo Technology
    ],
)
def test_consumer_registry_owners_reach_their_vendor(mac: str, maker: str) -> None:
    device = passive_device(mac=mac)
    assert device.manufacturer == maker
    assert not device.restricted


def test_a_module_makers_oui_names_no_device_maker() -> None:
    # Espressif makes the Wi-Fi module inside many brands' plugs: its OUI is not the device's maker.
    assert passive_device(mac="24:0A:C4:00:00:01").manufacturer is None


def test_the_emui_vendor_class_alone_does_not_establish_huawei() -> None:
    # a board code not known as Huawei-made (ANA, the P40, is: test_huawei_board_codes.py)
    device = passive_device(("dhcp", "dhcp.vendor_class", 67, "HUAWEI:android:QZX"))
    assert not device.restricted


def test_the_emui_vendor_class_with_a_huawei_oui_is_huawei() -> None:
    device = passive_device(
        ("dhcp", "dhcp.vendor_class", 67, "HUAWEI:android:QZX"), mac="5C:E8:83:00:00:01"
    )
    assert device.manufacturer == "Huawei"
    assert device.restricted


def test_an_honor_phone_is_not_huawei() -> None:
    honor = passive_device(mac="0C:B9:83:00:00:01")  # Honor Device Co., Ltd.
    assert honor.manufacturer == "Honor"
    assert not honor.restricted


def test_a_huawei_upnp_description_is_huawei() -> None:
    device = passive_device(("upnp", "upnp.manufacturer", 1900, "Huawei Technologies Co., Ltd."))
    assert device.manufacturer == "Huawei"
    assert device.restricted
