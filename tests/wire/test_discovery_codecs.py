"""Discovery codecs: round trips, real layouts and hostile input (no I/O)."""

from __future__ import annotations

import pytest

from provscan.errors import ProtocolError
from provscan.wire import dahua, mdns, sadp, ssdp, upnp, wsdiscovery

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><ProbeMatch><Uuid>&b;</Uuid></ProbeMatch>'
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<root><device><manufacturer>&x;</manufacturer></device></root>"
)
HOSTILE = [b"", b"\x00" * 40, b"<", b"\xff\xfe<\x00a\x00", b"{" * 5000, b"A" * 300_000]


def test_sadp_round_trip_and_real_layout() -> None:
    inquiry = sadp.parse_message(sadp.build_inquiry("abc"))
    assert (inquiry.root, inquiry.get("Types"), inquiry.get("Uuid")) == ("Probe", "inquiry", "ABC")
    fields = {"Uuid": "X", "Types": "inquiry", "DeviceDescription": "DS-2CD2386G2-IU"}
    fields |= {"MAC": "bc-ba-c2-12-34-56", "CommandPort": "8000", "OEMInfo": "a<b&c"}
    message = sadp.parse_message(sadp.build_probe_match(fields))
    assert message.is_probe_match and dict(message.fields) == fields


@pytest.mark.parametrize("data", [BILLION_LAUGHS, *HOSTILE, b"<Other/>"])
def test_sadp_hostile(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        sadp.parse_message(data)


def test_sadp_field_count_is_bounded() -> None:
    many = {f"F{i}": "v" for i in range(500)}
    assert len(sadp.parse_message(sadp.build_probe_match(many)).fields) == sadp.MAX_FIELDS


def test_wsd_round_trip_and_scopes() -> None:
    probe = wsdiscovery.parse_probe(
        wsdiscovery.build_probe("uuid:1", ["dn:NetworkVideoTransmitter"])
    )
    assert probe == wsdiscovery.Probe("uuid:1", ("dn:NetworkVideoTransmitter",))
    match = wsdiscovery.ProbeMatch(
        "urn:uuid:2",
        ("dn:NetworkVideoTransmitter", "tds:Device"),
        (
            "onvif://www.onvif.org/name/HIKVISION%20DS-2CD2143G0-I",
            "onvif://www.onvif.org/MAC/bc:ba:c2:00:00:01",
        ),
        ("http://10.0.0.2/onvif/device_service",),
        "1",
    )
    parsed = wsdiscovery.parse_probe_matches(wsdiscovery.build_probe_matches("uuid:1", [match]))
    assert parsed.relates_to == "uuid:1" and parsed.matches == (match,)
    assert parsed.matches[0].is_network_video_transmitter
    assert wsdiscovery.onvif_scopes(match.scopes) == [
        ("name", "HIKVISION DS-2CD2143G0-I"),
        ("mac", "bc:ba:c2:00:00:01"),
    ]
    assert not wsdiscovery.is_network_video_transmitter(["wprt:PrintDeviceType", "pub:Computer"])


@pytest.mark.parametrize("data", [BILLION_LAUGHS, *HOSTILE, b"<Envelope/>"])
def test_wsd_hostile(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        wsdiscovery.parse_probe_matches(data)


def test_wsd_matches_are_bounded() -> None:
    match = wsdiscovery.ProbeMatch("urn:uuid:x", ("a",) * 200, (), ())
    parsed = wsdiscovery.parse_probe_matches(wsdiscovery.build_probe_matches(None, [match] * 50))
    assert len(parsed.matches) == wsdiscovery.MAX_MATCHES
    assert len(parsed.matches[0].types) == wsdiscovery.MAX_LIST_ITEMS


def test_dhdiscover_round_trip_real_layout() -> None:
    assert dahua.parse_dhdiscover_search(dahua.build_dhdiscover_search())
    info = {"DeviceType": "SS 3530 MF FACE W", "Manufacturer": "Intelbras", "Vendor": "Intelbras"}
    info |= {"Version": "2.000.00IB004.0.R", "IPv4Address": {"IPAddress": "10.0.0.9"}}
    reply = dahua.parse_dhdiscover_reply(dahua.build_dhdiscover_reply(info, "b4:4c:3b:00:00:01"))
    assert reply.method == dahua.DHDISCOVER_NOTIFY and reply.mac == "b4:4c:3b:00:00:01"
    assert (
        reply.get("Manufacturer") == "Intelbras"
        and reply.get("IPv4Address.IPAddress") == "10.0.0.9"
    )


@pytest.mark.parametrize(
    "data",
    [*HOSTILE, dahua.build_dhip(b'{"method":"x"}'), dahua.DHIP_PREFIX + b"\xff" * 24, b"[1,2]"],
)
def test_dhdiscover_hostile(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        dahua.parse_dhdiscover_reply(data)


def test_ssdp_round_trip() -> None:
    search = ssdp.parse_message(ssdp.build_msearch())
    assert search.is_search and search.header("ST") == "ssdp:all"
    response = ssdp.parse_message(
        ssdp.build_search_response(
            location="http://10.0.0.2:49152/rootDesc.xml",
            server="Linux UPnP/1.0 x/1",
            search_target="upnp:rootdevice",
            usn="uuid:1::upnp:rootdevice",
        )
    )
    assert (
        response.is_response and response.header("location") == "http://10.0.0.2:49152/rootDesc.xml"
    )
    with pytest.raises(ValueError):
        ssdp.build_search_response(location="x\r\nEvil: 1", server="", search_target="", usn="")


@pytest.mark.parametrize("data", [b"", b"GARBAGE", b"\x00" * 100, b"A" * 20_000])
def test_ssdp_hostile(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        ssdp.parse_message(data)


def test_upnp_description_and_igd_round_trip() -> None:
    wan = upnp.UpnpDevice(
        device_type="urn:schemas-upnp-org:device:WANConnectionDevice:1",
        services=(upnp.UpnpService(upnp.WAN_IP_CONNECTION, "/ctl/IPConn"),),
    )
    root = upnp.UpnpDevice(
        device_type="urn:schemas-upnp-org:device:InternetGatewayDevice:1",
        manufacturer="TP-Link",
        model_name="Archer C7",
        serial_number="123",
        udn="uuid:1",
        embedded=(wan,),
    )
    parsed = upnp.parse_description(upnp.build_description(root))
    assert parsed.manufacturer == "TP-Link" and parsed.model_name == "Archer C7"
    assert parsed.all_services() == [upnp.UpnpService(upnp.WAN_IP_CONNECTION, "/ctl/IPConn")]
    _, body = upnp.build_port_mapping_request(upnp.WAN_IP_CONNECTION, 3)
    assert upnp.parse_port_mapping_request(body) == 3
    mapping = upnp.PortMapping("", "8080", "TCP", "80", "10.0.0.64", "1", "cam", "0")
    assert upnp.parse_port_mapping_response(
        upnp.build_port_mapping_response(upnp.WAN_IP_CONNECTION, mapping)
    ) == upnp.PortMapping(None, "8080", "TCP", "80", "10.0.0.64", "1", "cam", "0")
    assert upnp.parse_port_mapping_response(upnp.build_upnp_fault(713, "x")) is None


@pytest.mark.parametrize("data", [XXE, BILLION_LAUGHS, *HOSTILE, b"<root/>"])
def test_upnp_hostile(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        upnp.parse_description(data)


def test_mdns_round_trip_with_txt() -> None:
    query = mdns.parse_message(mdns.build_query(message_id=9))
    assert not query.is_response and "_axis-video._tcp.local." in query.questions
    service = mdns.MdnsService(
        "AXIS - ACCC8E000001._axis-video._tcp.local.",
        "_axis-video._tcp.local.",
        "axis.local.",
        80,
        (("macaddress", "ACCC8E000001"),),
    )
    answer = mdns.parse_message(
        mdns.build_response([service], address="10.0.0.5", questions=query.questions, message_id=9)
    )
    assert answer.is_response and answer.message_id == 9
    assert answer.services == (service,)
    assert answer.addresses == (("axis.local.", "10.0.0.5"),)
    assert mdns.parse_txt(b"\x03a=b\x00\x05c=d=e") == (("a", "b"), ("c", "d=e"))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 11,
        b"\xff" * 64,
        b"\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00\xc0\x0c",
        b"A" * 10_000,
    ],
)
def test_mdns_hostile(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        mdns.parse_message(data)


def test_wsd_one_parse_tells_a_probe_from_a_device_message() -> None:
    # A client's Probe and a device's ProbeMatches, each parsed once, tell themselves apart;
    # anything else is refused as before.
    probe = wsdiscovery.build_probe("uuid:7", ["dn:NetworkVideoTransmitter"])
    assert wsdiscovery.parse_message(probe) == wsdiscovery.parse_probe(probe)
    match = wsdiscovery.ProbeMatch("urn:uuid:8", ("tds:Device",), (), (), "1")
    reply = wsdiscovery.build_probe_matches("uuid:7", [match])
    parsed = wsdiscovery.parse_message(reply)
    assert isinstance(parsed, wsdiscovery.DeviceMessage)
    assert parsed == wsdiscovery.parse_device_message(reply)
    with pytest.raises(ProtocolError, match="holds no WS-Discovery Probe"):
        wsdiscovery.parse_probe(reply)
    with pytest.raises(ProtocolError, match="no ProbeMatches, ResolveMatches or Hello"):
        wsdiscovery.parse_device_message(probe)
    envelope = probe.replace(b"Probe>", b"Bye>")
    with pytest.raises(ProtocolError, match="Hello or Probe"):
        wsdiscovery.parse_message(envelope)
