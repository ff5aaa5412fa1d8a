"""mDNS / DNS-SD (UDP 5353): a response -> observations."""

from __future__ import annotations

from provscan.model import Observation
from provscan.observations.sighting import Sighting
from provscan.wire import mdns
from provscan.wire.mac import normalise_mac

PROTOCOL = "mdns"
PORT = mdns.MDNS_PORT
#: TXT keys that carry the device's MAC (Axis: ``macaddress``).
MAC_TXT_KEYS = frozenset({"macaddress", "mac"})
#: TXT keys whose value is the device's model (``mdns.model``): ``ty``, ``product``
#: (parenthesised) and ``usb_MDL`` of printers (Apple Bonjour Printing Specification 1.2.1,
#: TXT record keys; ``usb_MDL`` is the IEEE 1284 device ID's MDL), ``md`` of Google Cast
#: receivers and HomeKit accessories, ``model`` of ``_device-info`` (Apple) and of NAS
#: services, ``am`` of AirPlay receivers (``_raop``). Compared without case.
MODEL_TXT_KEYS = frozenset({"ty", "product", "usb_mdl", "md", "model", "am"})
#: TXT keys whose value names the maker (``mdns.manufacturer``): ``usb_MFG`` (the IEEE 1284
#: MFG of printers, Bonjour Printing Specification), ``manufacturer`` and ``vendor``.
MAKER_TXT_KEYS = frozenset({"usb_mfg", "manufacturer", "vendor"})
_LOCAL = ".local"


def response_observations(message: mdns.MdnsMessage) -> Sighting:
    """Service types, instances, SRV and ``.local`` A-record hosts, TXT items (deduplicated);
    the value of a TXT key that carries the model or the maker again as ``mdns.model`` or
    ``mdns.manufacturer`` (``ty=HP LaserJet M110w`` -> ``HP LaserJet M110w``).

    The MAC comes from a ``macaddress``/``mac`` TXT item; the host name from the first
    ``.local`` A record (``axis-accc8e123456.local.`` -> ``axis-accc8e123456``).
    """
    observations: list[Observation] = []
    mac: str | None = None
    hostname: str | None = None

    def add(field: str, value: str, detail: str = "") -> None:
        observations.append(Observation(PROTOCOL, PORT, field, value, detail))

    for service_type in message.service_types:
        add("mdns.service", service_type)
    for service in message.services:
        add("mdns.service", service.service_type, service.instance)
        add("mdns.instance", service.instance)
        if service.host:
            add("mdns.host", service.host)
        for key, value in service.txt:
            add("mdns.txt", f"{key}={value}", service.instance)
            folded = key.lower()
            if folded in MAC_TXT_KEYS and mac is None:
                mac = normalise_mac(value)
            text = value.strip().strip("()").strip()
            if text and folded in MODEL_TXT_KEYS:
                add("mdns.model", text, service.instance)
            elif text and folded in MAKER_TXT_KEYS:
                add("mdns.manufacturer", text, service.instance)
    for name, _address in message.addresses:
        local = name.strip().rstrip(".").lower()
        if local.endswith(_LOCAL):
            add("mdns.host", name)
            hostname = hostname or local.removesuffix(_LOCAL) or None
    return Sighting("mdns response", tuple(dict.fromkeys(observations)), mac=mac, hostname=hostname)


def read(data: bytes, *, announcements: bool = False) -> Sighting | None:
    """A response (answers and announcements are both responses); None for queries.
    Raises ProtocolError when not DNS."""
    message = mdns.parse_message(data)
    return response_observations(message) if message.is_response else None
