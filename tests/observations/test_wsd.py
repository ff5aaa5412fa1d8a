"""WS-Discovery: ProbeMatches and Hello, the same observations from discovery and a capture."""

from __future__ import annotations

import pytest
from observed import keys

from provscan.discovery.wsd import WsDiscovery
from provscan.errors import ProtocolError
from provscan.observations import wsd as observe
from provscan.passive.signals import parse_discovery
from provscan.wire import wsdiscovery

PORT = wsdiscovery.WSD_PORT
MATCH = wsdiscovery.ProbeMatch(
    endpoint="urn:uuid:4d454930-0000-1000-8000-bcbac2445566",
    types=("dn:NetworkVideoTransmitter", "tds:Device"),
    scopes=(
        "onvif://www.onvif.org/type/video_encoder",
        "onvif://www.onvif.org/name/HIKVISION%20DS-2CD2143G0-I",
        "onvif://www.onvif.org/hardware/DS-2CD2143G0-I",
        "onvif://www.onvif.org/location/city/hangzhou",
        "onvif://www.onvif.org/MAC/bc-ba-c2-44-55-66",
        "http://www.example.com/not-onvif",
    ),
    xaddrs=("http://192.168.1.64/onvif/device_service", "http://[fe80::1]/onvif/device_service"),
)
PROBE_MATCHES = wsdiscovery.build_probe_matches("uuid:probe", [MATCH], message_id="uuid:reply")
HELLO = (
    '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope '
    'xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:wsdd="http://schemas.xmlsoap.org/ws/2005/04/discovery">'
    "<SOAP-ENV:Header><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello"
    "</wsa:Action></SOAP-ENV:Header><SOAP-ENV:Body><wsdd:Hello>"
    f"<wsa:EndpointReference><wsa:Address>{MATCH.endpoint}</wsa:Address></wsa:EndpointReference>"
    f"<wsdd:Types>{' '.join(MATCH.types)}</wsdd:Types>"
    f"<wsdd:Scopes>{' '.join(MATCH.scopes)}</wsdd:Scopes>"
    f"<wsdd:XAddrs>{' '.join(MATCH.xaddrs)}</wsdd:XAddrs>"
    "<wsdd:MetadataVersion>1</wsdd:MetadataVersion></wsdd:Hello></SOAP-ENV:Body>"
    "</SOAP-ENV:Envelope>"
).encode()


def test_a_probe_match_maps_types_scopes_and_addresses() -> None:
    sighting = observe.match_observations("ProbeMatches", [MATCH])
    assert keys(sighting.observations) == [
        ("wsd", PORT, "wsd.endpoint", "urn:uuid:4d454930-0000-1000-8000-bcbac2445566"),
        ("wsd", PORT, "wsd.types", "dn:NetworkVideoTransmitter tds:Device"),
        ("wsd", PORT, "wsd.xaddrs", "http://192.168.1.64/onvif/device_service"),
        ("wsd", PORT, "wsd.xaddrs", "http://[fe80::1]/onvif/device_service"),
        *(("wsd", PORT, "wsd.scope", scope) for scope in MATCH.scopes),
        ("wsd", PORT, "wsd.name", "HIKVISION DS-2CD2143G0-I"),
        ("wsd", PORT, "wsd.hardware", "DS-2CD2143G0-I"),
        ("wsd", PORT, "wsd.location", "city/hangzhou"),
        ("wsd", PORT, "wsd.mac", "bc:ba:c2:44:55:66"),
    ]
    assert (sighting.message, sighting.mac) == ("wsd ProbeMatches", "bc:ba:c2:44:55:66")


def test_a_hello_says_what_a_probe_match_says() -> None:
    hello = observe.read(HELLO, announcements=True)
    probe_matches = observe.read(PROBE_MATCHES)
    assert hello is not None and probe_matches is not None
    assert hello.message == "wsd Hello"
    assert hello.observations == probe_matches.observations


def test_discovery_takes_probe_matches_only_and_ignores_probes() -> None:
    with pytest.raises(ProtocolError):
        observe.read(HELLO)
    assert observe.read(wsdiscovery.build_probe(), announcements=True) is None
    assert WsDiscovery().interpret(wsdiscovery.build_probe(), "192.168.1.64", PORT) is None


@pytest.mark.parametrize("message", [PROBE_MATCHES, HELLO], ids=["probe-matches", "hello"])
def test_discovery_and_passive_read_a_device_alike(message: bytes) -> None:
    reply = WsDiscovery().interpret(PROBE_MATCHES, "192.168.1.64", PORT)
    facts = parse_discovery(PORT, message, "192.168.1.64")
    assert reply is not None and facts is not None
    kind = "Hello" if message is HELLO else "ProbeMatches"
    assert facts.fields == [
        ("discovery.protocol", f"wsd {kind}"),
        *((o.field, o.value) for o in reply.observations),
    ]
    assert {(o.protocol, o.port) for o in reply.observations} == {(facts.protocol, facts.port)}
    assert facts.mac == reply.mac == "bc:ba:c2:44:55:66"
