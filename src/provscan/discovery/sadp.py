"""Hikvision SADP over UDP 37020 (multicast 239.255.255.250, broadcast or unicast)."""

from __future__ import annotations

from provscan.attribution.mac import normalise_mac
from provscan.discovery.interface import DiscoveryProtocol, DiscoveryReply
from provscan.model import Observation
from provscan.wire import sadp

#: ProbeMatch field -> observation field (docs/observation-fields.md).
FIELDS = {
    "DeviceType": "sadp.device_type",
    "DeviceDescription": "sadp.description",
    "DeviceSN": "sadp.serial",
    "MAC": "sadp.mac",
    "SoftwareVersion": "sadp.firmware",
    "DSPVersion": "sadp.dsp_version",
    "Activated": "sadp.activated",
    "CommandPort": "sadp.command_port",
    "HttpPort": "sadp.http_port",
    "IPv4Address": "sadp.ipv4_address",
    "OEMInfo": "sadp.oem_info",
}


class Sadp(DiscoveryProtocol):
    name = "sadp"
    port = sadp.SADP_PORT
    multicast_group = sadp.SADP_MULTICAST_GROUP
    uses_broadcast = True

    def build_probe(self, destination: str) -> bytes:
        return sadp.build_inquiry()

    def interpret(self, data: bytes, address: str, port: int) -> DiscoveryReply | None:
        message = sadp.parse_message(data)
        if not message.is_probe_match:
            return None
        observations = [
            Observation(self.name, self.port, "sadp.reply", f"ProbeMatch/{message.get('Types')}")
        ]
        for key, value in message.fields:
            if key in FIELDS and value:
                observations.append(Observation(self.name, self.port, FIELDS[key], value))
        mac = normalise_mac(message.get("MAC") or "")
        return DiscoveryReply(
            self.name,
            address,
            self.port,
            tuple(observations),
            mac=mac,
            serial=message.get("DeviceSN") or None,
        )
