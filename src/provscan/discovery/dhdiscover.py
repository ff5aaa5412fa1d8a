"""Dahua DHDiscover over UDP 37810 (multicast 239.255.255.251, broadcast or unicast)."""

from __future__ import annotations

from provscan.attribution.mac import normalise_mac
from provscan.discovery.interface import DiscoveryProtocol, DiscoveryReply
from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.wire import dahua

#: deviceInfo key -> observation field (docs/observation-fields.md).
FIELDS = {
    "DeviceClass": "dahua.discovery.device_class",
    "DeviceType": "dahua.discovery.device_type",
    "SerialNo": "dahua.discovery.serial",
    "Version": "dahua.discovery.version",
    "Vendor": "dahua.discovery.vendor",
    "Manufacturer": "dahua.discovery.manufacturer",
    "MachineName": "dahua.discovery.machine_name",
    "HttpPort": "dahua.discovery.http_port",
    "Port": "dahua.discovery.port",
}


class DhDiscover(DiscoveryProtocol):
    name = "dhdiscover"
    port = dahua.DHDISCOVER_PORT
    multicast_group = dahua.DHDISCOVER_MULTICAST_GROUP
    uses_broadcast = True

    def build_probe(self, destination: str) -> bytes:
        return dahua.build_dhdiscover_search()

    def interpret(self, data: bytes, address: str, port: int) -> DiscoveryReply | None:
        if dahua.DHDISCOVER_SEARCH.encode() in data[:512]:
            return None  # a search (ours looped back, or another client's)
        reply = dahua.parse_dhdiscover_reply(data)
        if reply.method not in (None, dahua.DHDISCOVER_NOTIFY):
            raise ProtocolError(f"unexpected DHDiscover method {reply.method!r}")
        observations = [
            Observation(self.name, self.port, "dahua.discovery.reply", reply.method or "")
        ]
        for key, value in reply.device_info:
            if key in FIELDS and value:
                observations.append(Observation(self.name, self.port, FIELDS[key], value))
        mac = normalise_mac(reply.mac or "")
        if reply.mac:
            observations.append(Observation(self.name, self.port, "dahua.discovery.mac", reply.mac))
        return DiscoveryReply(
            self.name,
            address,
            self.port,
            tuple(observations),
            mac=mac,
            serial=reply.get("SerialNo") or None,
        )
