"""Hikvision SADP over UDP 37020, pure.

SADP ("Search Active Devices Protocol") is what Hikvision's SADP Tool uses to find devices.
The UDP variant is XML: the client multicasts (239.255.255.250:37020) or broadcasts an
inquiry ``<Probe><Uuid>…</Uuid><Types>inquiry</Types></Probe>``; each device answers with a
``<ProbeMatch>`` whose children are flat text fields (``DeviceType``, ``DeviceDescription``,
``DeviceSN``, ``MAC`` dash-separated, ``IPv4Address``, ``CommandPort``, ``HttpPort``,
``SoftwareVersion``, ``DSPVersion``, ``Activated``, ``OEMInfo``, …).
Source: ``cameronnewman/hikvision-tooling`` ``internal/sadp/scanner.go``
(knowledge/fingerprint-signals.md §2). Replies are parsed with the defused XML parser of
:mod:`provscan.wire.onvif` (no entities, no external references, size cap).
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Mapping
from dataclasses import dataclass

from provscan.errors import ProtocolError
from provscan.wire.onvif import _local, _text, parse_xml

SADP_PORT = 37020
SADP_MULTICAST_GROUP = "239.255.255.250"
INQUIRY_TYPES = "inquiry"
#: Most child fields kept from one ProbeMatch (a real reply has about 30).
MAX_FIELDS = 64

#: The fields of a ProbeMatch, in the order devices send them (hikvision-tooling scanner.go).
PROBE_MATCH_FIELDS = (
    "Uuid",
    "Types",
    "DeviceType",
    "DeviceDescription",
    "DeviceSN",
    "CommandPort",
    "HttpPort",
    "MAC",
    "IPv4Address",
    "IPv4SubnetMask",
    "IPv4Gateway",
    "IPv6Address",
    "IPv6Gateway",
    "IPv6MaskLen",
    "DHCP",
    "AnalogChannelNum",
    "DigitalChannelNum",
    "SoftwareVersion",
    "DSPVersion",
    "BootTime",
    "Encrypt",
    "ResetAbility",
    "DiskNumber",
    "Activated",
    "PasswordResetAbility",
    "PasswordResetModeSecond",
    "SupportHCPlatform",
    "HCPlatformEnable",
    "OEMInfo",
    "SDKOverTLSPort",
    "SDKServerStatus",
)


@dataclass(frozen=True)
class SadpMessage:
    """One SADP XML message: its root element name and its flat text fields, in order."""

    root: str
    fields: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None

    @property
    def is_probe_match(self) -> bool:
        return self.root == "ProbeMatch"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_inquiry(message_uuid: str | None = None) -> bytes:
    """The client's inquiry (multicast, broadcast or unicast to UDP 37020)."""
    value = (message_uuid or str(uuid_module.uuid4())).upper()
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Probe><Uuid>{_escape(value)}</Uuid><Types>{INQUIRY_TYPES}</Types></Probe>"
    ).encode()


def build_probe_match(fields: Mapping[str, str]) -> bytes:
    """The device side: a ProbeMatch with ``fields`` as children (lab and tests)."""
    children = "".join(f"<{name}>{_escape(value)}</{name}>" for name, value in fields.items())
    return f'<?xml version="1.0" encoding="UTF-8"?><ProbeMatch>{children}</ProbeMatch>'.encode()


def parse_message(data: bytes) -> SadpMessage:
    """Parse a SADP Probe or ProbeMatch. Raises ProtocolError on anything else."""
    root = parse_xml(data)
    name = _local(root.tag)
    if name not in ("Probe", "ProbeMatch"):
        raise ProtocolError(f"not a SADP message (root element {name[:40]!r})")
    fields: list[tuple[str, str]] = []
    for child in root:
        key = _local(child.tag)
        if not key:
            continue
        if len(fields) >= MAX_FIELDS:
            break
        fields.append((key[:64], _text(child) or ""))
    return SadpMessage(name, tuple(fields))


def format_mac(mac: str) -> str:
    """``bc:ba:c2:12:34:56`` -> ``bc-ba-c2-12-34-56`` (SADP writes MACs dash-separated)."""
    return mac.replace(":", "-").lower()
