"""SSDP (UDP 1900): a search reply or a NOTIFY -> observations."""

from __future__ import annotations

import re

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


#: The UPnP version token of a SERVER header ("UPnP/1.0", "UPnP/1.1"), and what follows it.
_UPNP_TOKEN = re.compile(r"\bUPnP/\d+(?:\.\d+)?\s*[,;]?\s*(?P<product>.*)$", re.IGNORECASE)


def server_product(server: str) -> str | None:
    """The product name of a SERVER header, "OS/version UPnP/1.1 product/version" (UPnP
    Device Architecture 1.1 §1.1.2), without its version: ``Linux/3.10 UPnP/1.0
    HG8245H/V3R017`` -> ``HG8245H``. None when the header does not follow that form."""
    match = _UPNP_TOKEN.search(server)
    if match is None:
        return None
    product = match.group("product").strip()
    name = product.rsplit("/", 1)[0].strip() if "/" in product else product
    return name.strip(" ,;") or None


def message_observations(message: ssdp.SsdpMessage, kind: str) -> Sighting:
    """The headers that describe a device (``kind``: ``search reply`` or ``NOTIFY``); the
    product named in SERVER again as ``ssdp.product`` (read by the model grammars)."""
    observations = []
    for header, field in HEADER_FIELDS:
        value = message.header(header)
        if value:
            observations.append(Observation(PROTOCOL, PORT, field, value))
            product = server_product(value) if header == "server" else None
            if product:
                observations.append(Observation(PROTOCOL, PORT, "ssdp.product", product))
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
