"""Tuya local-protocol broadcasts (UDP 6666/6667) -> observations (wire/tuya.py)."""

from __future__ import annotations

from provscan.model import Observation
from provscan.observations.sighting import Sighting
from provscan.wire import tuya

PROTOCOL = "tuya"
PORTS = (tuya.PORT_CLEAR, tuya.PORT_ENCRYPTED)
#: Clear payload key -> observation field (docs/observation-fields.md).
FIELDS = {"productKey": "tuya.product_key", "version": "tuya.version", "gwId": "tuya.gw_id"}


def read(data: bytes, *, announcements: bool = False) -> Sighting | None:
    """A device's broadcast. Raises ProtocolError when the framing does not hold.

    ``announcements`` is accepted for a uniform signature: devices only announce.
    """
    frame = tuya.parse_frame(data)
    encrypted = "clear" if frame.clear else "encrypted"
    observations = [
        Observation(
            PROTOCOL,
            None,
            "tuya.broadcast",
            f"Tuya LP {frame.generation} frame, command 0x{frame.command:02x} ({encrypted})",
        )
    ]
    for key, field_name in FIELDS.items():
        if frame.clear.get(key):
            observations.append(Observation(PROTOCOL, None, field_name, frame.clear[key]))
    return Sighting(
        "tuya broadcast",
        tuple(observations),
        address=frame.clear.get("ip") or None,
    )
