"""Hikvision SADP over UDP 37020 (multicast 239.255.255.250, broadcast or unicast)."""

from __future__ import annotations

from provscan.discovery.interface import DiscoveryProtocol, DiscoveryReply
from provscan.discovery.merge import reply_for
from provscan.observations import sadp as observe
from provscan.wire import sadp


class Sadp(DiscoveryProtocol):
    name = "sadp"
    port = sadp.SADP_PORT
    multicast_group = sadp.SADP_MULTICAST_GROUP
    uses_broadcast = True

    def build_probe(self, destination: str) -> bytes:
        return sadp.build_inquiry()

    def interpret(self, data: bytes, address: str, port: int) -> DiscoveryReply | None:
        return reply_for(self.name, address, self.port, observe.read(data))
