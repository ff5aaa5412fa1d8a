"""SSDP (UDP 1900): a search reply or a NOTIFY -> observations."""

from __future__ import annotations

from provscan.model import Observation
from provscan.observations.sighting import Sighting
from provscan.wire import ssdp

PROTOCOL = "ssdp"
PORT = ssdp.SSDP_PORT
#: Header (lower case) -> observation field, in the order they are reported.
HEADER_FIELDS = (
    ("server", "ssdp.server"),
    ("st", "ssdp.st"),
    ("nt", "ssdp.nt"),
    ("usn", "ssdp.usn"),
    ("location", "ssdp.location"),
)


def message_observations(message: ssdp.SsdpMessage, kind: str) -> Sighting:
    """The headers that describe a device (``kind``: ``search reply`` or ``NOTIFY``)."""
    observations = []
    for header, field in HEADER_FIELDS:
        value = message.header(header)
        if value:
            observations.append(Observation(PROTOCOL, PORT, field, value))
    return Sighting(f"ssdp {kind}", tuple(observations))


def read(data: bytes, *, announcements: bool = False) -> Sighting | None:
    """A search reply (with ``announcements``: also a NOTIFY); None for searches and, without
    ``announcements``, for NOTIFYs. Raises ProtocolError when not SSDP."""
    message = ssdp.parse_message(data)
    if message.is_response:
        return message_observations(message, "search reply")
    if announcements and message.start_line.upper().startswith("NOTIFY "):
        return message_observations(message, "NOTIFY")
    return None
