"""ONVIF WS-Discovery over UDP 3702 (multicast 239.255.255.250 or unicast)."""

from __future__ import annotations

from provscan.attribution.mac import normalise_mac
from provscan.discovery.interface import DiscoveryProtocol, DiscoveryReply
from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.wire import wsdiscovery

_SCOPE_FIELDS = {"name": "wsd.name", "hardware": "wsd.hardware", "location": "wsd.location"}


class WsDiscovery(DiscoveryProtocol):
    name = "wsd"
    port = wsdiscovery.WSD_PORT
    multicast_group = wsdiscovery.WSD_MULTICAST_GROUP

    def build_probe(self, destination: str) -> bytes:
        return wsdiscovery.build_probe()

    def interpret(self, data: bytes, address: str, port: int) -> DiscoveryReply | None:
        try:
            matches = wsdiscovery.parse_probe_matches(data)
        except ProtocolError:
            if _is_probe(data):
                return None  # another client's Probe (or our own, looped back)
            raise
        observations: list[Observation] = []
        mac: str | None = None
        for match in matches.matches:

            def add(field: str, value: str) -> None:
                observations.append(Observation(self.name, self.port, field, value))

            if match.endpoint:
                add("wsd.endpoint", match.endpoint)
            add("wsd.types", " ".join(match.types))
            for xaddr in match.xaddrs:
                add("wsd.xaddrs", xaddr)
            for scope in match.scopes:
                add("wsd.scope", scope)
            for category, value in wsdiscovery.onvif_scopes(match.scopes):
                if category in _SCOPE_FIELDS:
                    add(_SCOPE_FIELDS[category], value)
                elif category == "mac":
                    found = normalise_mac(value)
                    if found:
                        mac = mac or found
                        add("wsd.mac", found)
        return DiscoveryReply(self.name, address, self.port, tuple(observations), mac=mac)


def _is_probe(data: bytes) -> bool:
    try:
        wsdiscovery.parse_probe(data)
    except ProtocolError:
        return False
    return True
