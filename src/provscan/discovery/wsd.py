"""ONVIF WS-Discovery over UDP 3702 (multicast 239.255.255.250 or unicast)."""

from __future__ import annotations

from provscan.discovery.interface import DiscoveryProtocol, DiscoveryReply
from provscan.discovery.merge import reply_for
from provscan.observations import wsd as observe
from provscan.wire import wsdiscovery


class WsDiscovery(DiscoveryProtocol):
    name = "wsd"
    port = wsdiscovery.WSD_PORT
    multicast_group = wsdiscovery.WSD_MULTICAST_GROUP

    def build_probe(self, destination: str) -> bytes:
        return wsdiscovery.build_probe()

    def interpret(self, data: bytes, address: str, port: int) -> DiscoveryReply | None:
        return reply_for(self.name, address, self.port, observe.read(data))
