"""Dahua DHDiscover (UDP 37810): a ``client.notifyDevInfo`` reply -> observations."""

from __future__ import annotations

from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.observations.sighting import Sighting
from provscan.wire import dahua
from provscan.wire.mac import normalise_mac

PROTOCOL = "dhdiscover"
PORT = dahua.DHDISCOVER_PORT
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
#: The flattened deviceInfo key of the address the device says it has.
ADDRESS_KEY = "IPv4Address.IPAddress"


def reply_observations(reply: dahua.DhDiscoverReply) -> Sighting:
    """A notifyDevInfo: the method, one field per known deviceInfo key, the MAC."""
    observations = [Observation(PROTOCOL, PORT, "dahua.discovery.reply", reply.method or "")]
    for key, value in reply.device_info:
        if key in FIELDS and value:
            observations.append(Observation(PROTOCOL, PORT, FIELDS[key], value))
    if reply.mac:
        observations.append(Observation(PROTOCOL, PORT, "dahua.discovery.mac", reply.mac))
    return Sighting(
        f"dhdiscover {dahua.DHDISCOVER_NOTIFY}",
        tuple(observations),
        mac=normalise_mac(reply.mac or ""),
        serial=reply.get("SerialNo") or None,
        address=reply.get(ADDRESS_KEY) or None,
        hostname=reply.get("MachineName") or None,
    )


def read(data: bytes, *, announcements: bool = False) -> Sighting | None:
    """A device's reply; None for a search (another client's, or ours looped back).

    Raises ProtocolError when malformed or another method. ``announcements`` is accepted
    for a uniform signature: the reply is the only message a device sends.
    """
    if dahua.DHDISCOVER_SEARCH.encode() in data[:512]:
        return None
    reply = dahua.parse_dhdiscover_reply(data)
    if reply.method not in (None, dahua.DHDISCOVER_NOTIFY):
        raise ProtocolError(f"unexpected DHDiscover method {reply.method!r}")
    return reply_observations(reply)
