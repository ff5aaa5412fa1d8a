"""Dahua DHDiscover over UDP 37810 (multicast 239.255.255.251, broadcast or unicast)."""

from __future__ import annotations

from provscan.discovery.interface import DiscoveryProtocol, DiscoveryReply
from provscan.discovery.merge import reply_for
from provscan.observations import dhdiscover as observe
from provscan.wire import dahua


class DhDiscover(DiscoveryProtocol):
    name = "dhdiscover"
    port = dahua.DHDISCOVER_PORT
    multicast_group = dahua.DHDISCOVER_MULTICAST_GROUP
    uses_broadcast = True

    def build_probe(self, destination: str) -> bytes:
        return dahua.build_dhdiscover_search()

    def interpret(self, data: bytes, address: str, port: int) -> DiscoveryReply | None:
        return reply_for(self.name, address, self.port, observe.read(data))
