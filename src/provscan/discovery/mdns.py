"""mDNS / DNS-SD one-shot queries over UDP 5353 (multicast 224.0.0.251 or unicast)."""

from __future__ import annotations

from provscan.attribution.mac import normalise_mac
from provscan.discovery.interface import DiscoveryProtocol, DiscoveryReply
from provscan.model import Observation
from provscan.wire import mdns

#: TXT keys that carry the device's MAC (Axis: ``macaddress``).
MAC_TXT_KEYS = frozenset({"macaddress", "mac"})


class Mdns(DiscoveryProtocol):
    name = "mdns"
    port = mdns.MDNS_PORT
    multicast_group = mdns.MDNS_MULTICAST_GROUP

    def build_probe(self, destination: str) -> bytes:
        return mdns.build_query()

    def interpret(self, data: bytes, address: str, port: int) -> DiscoveryReply | None:
        message = mdns.parse_message(data)
        if not message.is_response:
            return None
        observations: list[Observation] = []
        mac: str | None = None

        def add(field: str, value: str, detail: str = "") -> None:
            observations.append(Observation(self.name, self.port, field, value, detail))

        for service_type in message.service_types:
            add("mdns.service", service_type)
        for service in message.services:
            add("mdns.service", service.service_type, service.instance)
            add("mdns.instance", service.instance)
            if service.host:
                add("mdns.host", service.host)
            for key, value in service.txt:
                add("mdns.txt", f"{key}={value}", service.instance)
                if key.lower() in MAC_TXT_KEYS and mac is None:
                    mac = normalise_mac(value)
        unique = tuple(dict.fromkeys(observations))
        return DiscoveryReply(self.name, address, self.port, unique, mac=mac)
