"""SSDP: a search reply or a NOTIFY, the same observations from discovery and a capture."""

from __future__ import annotations

from observed import keys

from provscan.discovery.ssdp import Ssdp
from provscan.observations import ssdp as observe
from provscan.passive.signals import parse_discovery
from provscan.wire import ssdp

PORT = ssdp.SSDP_PORT
SERVER = "Linux/4.9.94-axis5, UPnP/1.0, Portable SDK for UPnP devices/1.6.22"
USN = "uuid:Upnp-BasicDevice-1_0-ACCC8E123456::upnp:rootdevice"
LOCATION = "http://192.168.1.90:49152/rootdesc1.xml"
SEARCH_REPLY = ssdp.build_search_response(
    location=LOCATION, server=SERVER, search_target="upnp:rootdevice", usn=USN
)
NOTIFY = (
    "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
    f"LOCATION: {LOCATION}\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\nSERVER: {SERVER}\r\n"
    f"USN: {USN}\r\n\r\n"
).encode()


def test_a_search_reply_maps_its_headers() -> None:
    sighting = observe.message_observations(ssdp.parse_message(SEARCH_REPLY), "search reply")
    assert keys(sighting.observations) == [
        ("ssdp", PORT, "ssdp.server", SERVER),
        ("ssdp", PORT, "ssdp.product", "Portable SDK for UPnP devices"),
        ("ssdp", PORT, "ssdp.st", "upnp:rootdevice"),
        ("ssdp", PORT, "ssdp.usn", USN),
        ("ssdp", PORT, "ssdp.location", LOCATION),
    ]
    assert sighting.message == "ssdp search reply"


def test_the_server_headers_product_loses_its_version() -> None:
    # UPnP Device Architecture 1.1 §1.1.2: SERVER is "OS/version UPnP/1.1 product/version".
    assert observe.server_product("Linux/3.10 UPnP/1.0 HG8245H/V3R017") == "HG8245H"
    assert observe.server_product("Ubuntu/22.04 UPnP/1.1 MiniDLNA/1.3.0") == "MiniDLNA"
    assert observe.server_product("Linux UPnP/1.0 Sonos/57.3-79090 (S27)") == "Sonos"
    assert observe.server_product("Microsoft-Windows/10.0 UPnP/1.0") is None
    assert observe.server_product("lighttpd/1.4.59") is None


def test_a_notify_is_an_announcement_and_a_search_is_nothing() -> None:
    assert observe.read(NOTIFY) is None
    notify = observe.read(NOTIFY, announcements=True)
    assert notify is not None and notify.message == "ssdp NOTIFY"
    assert ("ssdp.nt", "upnp:rootdevice") in [(o.field, o.value) for o in notify.observations]
    assert observe.read(ssdp.build_msearch(), announcements=True) is None


def test_discovery_and_passive_read_a_search_reply_alike() -> None:
    reply = Ssdp().interpret(SEARCH_REPLY, "192.168.1.90", PORT)
    facts = parse_discovery(PORT, SEARCH_REPLY, "192.168.1.90")
    assert reply is not None and facts is not None
    assert facts.fields == [
        ("discovery.protocol", "ssdp search reply"),
        *((o.field, o.value) for o in reply.observations),
    ]
    assert {(o.protocol, o.port) for o in reply.observations} == {(facts.protocol, facts.port)}
    assert reply.follow_up == LOCATION
