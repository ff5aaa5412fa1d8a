"""A switch's MAC address table -> records of MAC, VLAN and port (no address: they are
joined on MAC with the other files of the same import, e.g. DHCP leases).

Two common layouts: Cisco IOS ``show mac address-table`` (``Vlan  Mac Address  Type
Ports``, MACs as ``3cef.8c61.01c0``) and HPE Aruba/ProCurve ``show mac-address``
(``MAC Address  Port  VLAN``, MACs as ``3cef8c-6101c0``). The column order is read from the
header line, so other tables with a MAC, a VLAN and a port column read the same way.
Broadcast, multicast and the switch's own (``CPU``) entries are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from provscan.importers.files import read_bytes, text_lines
from provscan.importers.interface import (
    MAX_RECORDS,
    ImportedFile,
    ImportFileError,
    ImportFormat,
    ImportRecord,
)
from provscan.wire.mac import is_multicast, normalise_mac

#: A MAC as switches print it: 3cef.8c61.01c0, 3cef8c-6101c0, 3c:ef:8c:61:01:c0, 3c-ef-….
_MAC_TOKEN = re.compile(
    r"^(?:[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}|[0-9a-fA-F]{6}-[0-9a-fA-F]{6}"
    r"|[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5})$"
)
#: Entry types printed between the MAC and the port (not a port or a VLAN).
_TYPES = frozenset({"dynamic", "static", "secure", "learned", "self", "system", "sticky"})
#: Ports that are the switch itself, not a device behind it.
_OWN_PORTS = frozenset({"cpu", "router", "switch", "self"})
#: More MACs than this on one port: an uplink or trunk, whose devices are elsewhere.
UPLINK_MACS = 16
PROTOCOL = "switch"


def _header_order(lines: Sequence[str]) -> list[str] | None:
    """``["vlan", "port"]`` or ``["port", "vlan"]``: which of the two the header names first."""
    for line in lines[:50]:
        lower = line.lower()
        if "mac" in lower and "vlan" in lower and "port" in lower:
            return (
                ["vlan", "port"] if lower.index("vlan") < lower.index("port") else ["port", "vlan"]
            )
    return None


def looks_like_mac_table(lines: Sequence[str]) -> bool:
    return _header_order(lines) is not None and any(
        any(_MAC_TOKEN.match(token) for token in line.split()) for line in lines[:100]
    )


def read(path: Path) -> ImportedFile:
    """Every unicast MAC the table lists on a port. Raises ImportFileError."""
    lines = text_lines(path, read_bytes(path))
    order = _header_order(lines)
    if order is None:
        raise ImportFileError(
            f"{path}: no MAC address table header (a line naming MAC, VLAN and port)"
        )
    source = f"MAC address table {path.name}"
    entries: list[tuple[str, str, str, int]] = []
    for number, line in enumerate(lines, start=1):
        tokens = line.split()
        macs = [t for t in tokens if _MAC_TOKEN.match(t)]
        if len(macs) != 1:
            continue
        mac = normalise_mac(macs[0])
        rest = [t for t in tokens if t != macs[0] and t.lower() not in _TYPES]
        if mac is None or is_multicast(mac) or len(rest) < 2:
            continue
        values = dict(zip(order, rest[:1] + rest[-1:], strict=True))
        if values["port"].lower() in _OWN_PORTS:
            continue
        entries.append((mac, values["vlan"], values["port"], number))
        if len(entries) >= MAX_RECORDS:
            break
    per_port: dict[str, int] = {}
    for _, _, port, _ in entries:
        per_port[port] = per_port.get(port, 0) + 1
    records: list[ImportRecord] = []
    uplink = 0
    for mac, vlan, port, number in entries:
        if per_port[port] > UPLINK_MACS:
            uplink += 1
            continue
        record = ImportRecord(source=source, mac=mac)
        record.add(PROTOCOL, None, "switch.port", port, f"VLAN {vlan}, {path.name} line {number}")
        record.add(PROTOCOL, None, "switch.vlan", vlan, f"{path.name} line {number}")
        records.append(record)
    notes = []
    if uplink:
        notes.append(
            f"{path.name}: {uplink} MACs on ports with more than {UPLINK_MACS} MACs "
            "(uplinks, trunks) skipped"
        )
    return ImportedFile(str(path), ImportFormat.mac_table, records, notes)
