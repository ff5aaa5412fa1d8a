"""Hikvision SADP (UDP 37020): a ProbeMatch -> observations."""

from __future__ import annotations

from provscan.model import Observation
from provscan.observations.sighting import Sighting
from provscan.wire import sadp
from provscan.wire.mac import normalise_mac

PROTOCOL = "sadp"
PORT = sadp.SADP_PORT
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


def probe_match_observations(message: sadp.SadpMessage) -> Sighting:
    """A ProbeMatch: ``sadp.reply`` (an answer at all) and one field per known child."""
    observations = [Observation(PROTOCOL, PORT, "sadp.reply", f"ProbeMatch/{message.get('Types')}")]
    for key, value in message.fields:
        if key in FIELDS and value:
            observations.append(Observation(PROTOCOL, PORT, FIELDS[key], value))
    return Sighting(
        "sadp ProbeMatch",
        tuple(observations),
        mac=normalise_mac(message.get("MAC") or ""),
        serial=message.get("DeviceSN") or None,
        address=message.get("IPv4Address") or None,
    )


def read(data: bytes, *, announcements: bool = False) -> Sighting | None:
    """A device's ProbeMatch; None for an inquiry. Raises ProtocolError when malformed.

    ``announcements`` is accepted for a uniform signature: SADP devices only answer.
    """
    message = sadp.parse_message(data)
    return probe_match_observations(message) if message.is_probe_match else None
