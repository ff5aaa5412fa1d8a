"""ONVIF WS-Discovery (UDP 3702): ProbeMatches, ResolveMatches and Hello -> observations."""

from __future__ import annotations

from collections.abc import Sequence

from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.observations.sighting import Sighting
from provscan.wire import wsdiscovery
from provscan.wire.mac import normalise_mac

PROTOCOL = "wsd"
PORT = wsdiscovery.WSD_PORT
#: ONVIF scope category -> observation field (the URL-decoded scope value).
SCOPE_FIELDS = {"name": "wsd.name", "hardware": "wsd.hardware", "location": "wsd.location"}


def match_observations(kind: str, matches: Sequence[wsdiscovery.ProbeMatch]) -> Sighting:
    """What a device says about itself in a ``kind`` message (``ProbeMatches``, ``Hello``…):
    endpoint, types, service URLs, every scope, and the ONVIF scopes' values."""
    observations: list[Observation] = []
    mac: str | None = None

    def add(field: str, value: str) -> None:
        observations.append(Observation(PROTOCOL, PORT, field, value))

    for match in matches:
        if match.endpoint:
            add("wsd.endpoint", match.endpoint)
        add("wsd.types", " ".join(match.types))
        for xaddr in match.xaddrs:
            add("wsd.xaddrs", xaddr)
        for scope in match.scopes:
            add("wsd.scope", scope)
        for category, value in wsdiscovery.onvif_scopes(match.scopes):
            if category in SCOPE_FIELDS:
                add(SCOPE_FIELDS[category], value)
            elif category == "mac":
                found = normalise_mac(value)
                if found:
                    mac = mac or found
                    add("wsd.mac", found)
    return Sighting(f"wsd {kind}", tuple(observations), mac=mac)


def read(data: bytes, *, announcements: bool = False) -> Sighting | None:
    """A device's ProbeMatches (with ``announcements``: also a ResolveMatches or an unasked
    Hello); None for a Probe (another client's, or ours looped back). Raises ProtocolError
    when malformed."""
    if announcements:
        message = wsdiscovery.parse_message(data)
        if isinstance(message, wsdiscovery.Probe):
            return None
        return match_observations(message.kind, message.matches)
    try:
        matches = wsdiscovery.parse_probe_matches(data)
    except ProtocolError:
        if _is_probe(data):
            return None
        raise
    return match_observations("ProbeMatches", matches.matches)


def _is_probe(data: bytes) -> bool:
    try:
        wsdiscovery.parse_probe(data)
    except ProtocolError:
        return False
    return True
