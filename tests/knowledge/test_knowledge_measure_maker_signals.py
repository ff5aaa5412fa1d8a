"""Network signals of the makers the 2025-26 measures name (issue 12.2): DJI, Autel, Xiaomi,
Hisense, TCL. Each case goes from the bytes a device sends (a UPnP description, an mDNS
answer) or the values a capture or lease file yields (DNS names, User-Agents, MACs) through the
project's parsers and observation mapping to attribution, as a scan or capture would.
"""

from __future__ import annotations

import pytest

from provscan.attribution.attribute import Attributor
from provscan.knowledge.loader import load_knowledge
from provscan.model import Device, Observation
from provscan.observations import mdns as mdns_observations
from provscan.observations.upnp import description_observations
from provscan.policy.evaluate import REVIEW_NOTE_PREFIX, judge
from provscan.wire import mdns, upnp

KNOWLEDGE = load_knowledge()
ATTRIBUTOR = Attributor(KNOWLEDGE)
POLICIES = KNOWLEDGE.select_policies(None)
#: A Texas state agency: the Texas list binds it and names DJI, Xiaomi, Hisense and TCL.
TEXAS_AGENCY = ("us-tx:state-agency",)

#: MACs under IEEE MA-L assignments of each maker (oui_owners.yaml).
XIAOMI_MAC = "28:6c:07:12:34:56"  # XIAOMI Electronics,CO.,LTD
HISENSE_MAC = "e4:3b:c9:12:34:56"  # HISENSE VISUAL TECHNOLOGY CO.,LTD
TCL_MAC = "34:51:80:12:34:56"  # TCL King Electrical Appliances (Huizhou) Co., Ltd
DJI_MAC = "60:60:1f:12:34:56"  # SZ DJI TECHNOLOGY CO.,LTD
AUTELAN_MAC = "00:1f:64:12:34:56"  # Beijing Autelan Technology Inc. (not Autel Robotics)
NEUTRAL_MAC = "02:00:00:12:34:56"  # locally administered: no registry owner


def _description(manufacturer: str, model: str, url: str) -> bytes:
    return (
        '<?xml version="1.0"?>\n<root xmlns="urn:schemas-upnp-org:device-1-0">'
        "<specVersion><major>1</major><minor>0</minor></specVersion><device>"
        "<deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>"
        f"<friendlyName>Meeting room TV</friendlyName><manufacturer>{manufacturer}</manufacturer>"
        f"<manufacturerURL>{url}</manufacturerURL><modelName>{model}</modelName>"
        "<UDN>uuid:00000000-0000-0000-0000-000000000001</UDN></device></root>"
    ).encode()


def _device(observations: list[Observation], mac: str | None) -> Device:
    device = ATTRIBUTOR.attribute(
        "192.0.2.60", [], [], mac=mac, extra_observations=observations
    ).device
    return judge(device, POLICIES, acting_as=TEXAS_AGENCY)


def _upnp(manufacturer: str, model: str, url: str) -> list[Observation]:
    return description_observations(
        upnp.parse_description(_description(manufacturer, model, url)), 49152
    )


@pytest.mark.parametrize(
    ("manufacturer", "model", "url", "family"),
    [
        ("Hisense", "65A71FS", "http://www.hisense.com", "hisense"),
        ("TCL", "7104X", "support.tcl.com/us", "tcl"),
    ],
)
def test_a_tv_description_alone_names_its_maker(
    manufacturer: str, model: str, url: str, family: str
) -> None:
    # Given only the UPnP description a TV serves (no MAC owner to help)
    device = _device(_upnp(manufacturer, model, url), NEUTRAL_MAC)
    # Then the maker's own name in it establishes the maker and its family
    assert (device.manufacturer, device.family) == (manufacturer, family)
    assert device.restricted  # for a Texas state agency (the 2026 list names it)


def test_a_xiaomi_description_with_a_xiaomi_mac_is_xiaomi() -> None:
    device = _device(_upnp("Xiaomi", "MIBOX4", "http://www.mi.com/"), XIAOMI_MAC)
    assert (device.manufacturer, device.family) == ("Xiaomi", "xiaomi")


def test_a_xiaomi_description_alone_supports_but_does_not_establish_xiaomi() -> None:
    # Lelink cast receivers copy Xiaomi's description: alone, it is never a verdict.
    device = _device(_upnp("Xiaomi", "MDZ-16-AB", "http://www.mi.com/"), NEUTRAL_MAC)
    assert not device.restricted
    if device.manufacturer == "Xiaomi":
        assert any(note.startswith(REVIEW_NOTE_PREFIX) for note in device.notes)


def test_a_mi_home_mdns_answer_with_a_xiaomi_mac_is_xiaomi() -> None:
    # Given the mDNS answer of a Mi Home device, as the wire codec builds and parses it
    answer = mdns.build_response(
        [
            mdns.MdnsService(
                instance="zhimi-airpurifier-m1_miio12345678._miio._udp.local.",
                service_type="_miio._udp.local.",
                host="zhimi-airpurifier-m1_miio12345678.local.",
                port=54321,
            )
        ],
        address="192.0.2.61",
    )
    sighting = mdns_observations.read(answer)
    assert sighting is not None
    services = {o.value for o in sighting.observations if o.field == "mdns.service"}
    assert "_miio._udp.local." in services
    # When it is attributed with the device's MAC
    device = _device(list(sighting.observations), XIAOMI_MAC)
    # Then it is Xiaomi
    assert (device.manufacturer, device.family) == ("Xiaomi", "xiaomi")


def test_the_mi_home_cloud_names_xiaomi_with_the_mac() -> None:
    query = Observation("dns", 53, "dns.query", "de.ot.io.mi.com")
    device = _device([query], XIAOMI_MAC)
    assert device.manufacturer == "Xiaomi"


def test_a_dji_controller_is_dji_by_its_mac_and_its_service_names() -> None:
    query = Observation("dns", 53, "dns.query", "content.djiservice.org")
    device = _device([query], DJI_MAC)
    assert (device.manufacturer, device.family) == ("DJI", "dji")
    assert device.restricted


def test_dji_app_traffic_alone_is_weak() -> None:
    # A phone running DJI's app looks up the same names: alone they are no verdict.
    device = _device([Observation("dns", 53, "dns.query", "content.djiservice.org")], None)
    assert not device.restricted


def test_a_vidaa_browser_with_a_hisense_mac_is_hisense() -> None:
    agent = Observation(
        "http", 80, "http.user_agent", "Mozilla/5.0 (Linux; VIDAA 4.0) AppleWebKit/537.36"
    )
    device = _device([agent], HISENSE_MAC)
    assert (device.manufacturer, device.family) == ("Hisense", "hisense")


@pytest.mark.parametrize(
    ("mac", "maker"),
    [(XIAOMI_MAC, "Xiaomi"), (HISENSE_MAC, "Hisense"), (TCL_MAC, "TCL"), (DJI_MAC, "DJI")],
)
def test_the_mac_owner_alone_names_the_maker(mac: str, maker: str) -> None:
    assert _device([], mac).manufacturer == maker


def test_autelan_is_not_autel_robotics() -> None:
    # The registry's Beijing Autelan Technology only starts like Autel: it names no maker.
    device = _device([], AUTELAN_MAC)
    assert device.manufacturer != "Autel Robotics"
    assert device.family != "autel"


def test_a_kasa_device_is_tp_link_by_its_cloud_server() -> None:
    # The device platform name (not the app's wap.tplinkcloud.com) is TP-Link's own.
    device = _device([Observation("dns", 53, "dns.query", "n-devs.tplinkcloud.com")], None)
    assert (device.manufacturer, device.family) == ("TP-Link", "tp-link")
    app = _device([Observation("dns", 53, "dns.query", "wap.tplinkcloud.com")], None)
    assert app.manufacturer is None
