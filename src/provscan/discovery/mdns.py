"""mDNS / DNS-SD one-shot queries over UDP 5353 (multicast 224.0.0.251 or unicast)."""

from __future__ import annotations

from provscan.discovery.interface import DiscoveryProtocol, DiscoveryReply
from provscan.discovery.merge import reply_for
from provscan.observations import mdns as observe
from provscan.wire import mdns


class Mdns(DiscoveryProtocol):
    name = "mdns"
    port = mdns.MDNS_PORT
    multicast_group = mdns.MDNS_MULTICAST_GROUP

    def build_probe(self, destination: str) -> bytes:
        return mdns.build_query()

    def interpret(self, data: bytes, address: str, port: int) -> DiscoveryReply | None:
        return reply_for(self.name, address, self.port, observe.read(data))
