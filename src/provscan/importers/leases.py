"""DHCP server leases -> records: ISC dhcpd ``dhcpd.leases`` (dhcpd.leases(5)) and dnsmasq's
lease file (one lease a line: expiry, MAC, address, host name, client id).

The host name and the vendor class (option 60, which ISC dhcpd writes only when configured
with ``set vendor-class-identifier = option vendor-class-identifier;``) become the fields a
captured DHCP request gives (``dhcp.hostname``, ``dhcp.vendor_class``).
"""

from __future__ import annotations

import ipaddress
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
from provscan.wire.mac import normalise_mac

#: The port a DHCP request goes to (the same as passive analysis gives its DHCP fields).
PORT_DHCP_SERVER = 67
_ISC_LEASE = re.compile(r"^\s*lease\s+([0-9A-Fa-f.:]+)\s*\{")
_ISC_HARDWARE = re.compile(r"^\s*hardware\s+ethernet\s+([0-9A-Fa-f:]+)\s*;")
_ISC_HOSTNAME = re.compile(r'^\s*client-hostname\s+"((?:[^"\\]|\\.)*)"\s*;')
_ISC_VENDOR = re.compile(r'^\s*set\s+vendor-class-identifier\s*=\s*"((?:[^"\\]|\\.)*)"\s*;')
_ISC_STATE = re.compile(r"^\s*binding\s+state\s+(\w+)\s*;")
_DNSMASQ = re.compile(
    r"^\s*(\d+)\s+([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})\s+([0-9A-Fa-f.:]+)\s+(\S+)(?:\s+(\S+))?\s*$"
)


def looks_like_isc(lines: Sequence[str]) -> bool:
    return any(_ISC_LEASE.match(line) for line in lines[:200])


def looks_like_dnsmasq(lines: Sequence[str]) -> bool:
    meaningful = [line for line in lines[:50] if line.strip() and not line.startswith("duid ")]
    return bool(meaningful) and all(_DNSMASQ.match(line) for line in meaningful)


def read(path: Path) -> ImportedFile:
    """ISC or dnsmasq leases (whichever the file is). Raises ImportFileError."""
    lines = text_lines(path, read_bytes(path))
    if looks_like_isc(lines):
        return _read_isc(path, lines)
    if looks_like_dnsmasq(lines):
        return _read_dnsmasq(path, lines)
    raise ImportFileError(f"{path}: neither ISC dhcpd.leases nor dnsmasq leases")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _record(
    source: str,
    address: str,
    mac: str | None,
    hostname: str | None,
    vendor: str | None,
    detail: str,
) -> ImportRecord:
    record = ImportRecord(source=source, address=address, mac=mac)
    if hostname:
        record.hostname = hostname[:253]
        record.add("dhcp", PORT_DHCP_SERVER, "dhcp.hostname", hostname, detail)
    if vendor:
        record.add("dhcp", PORT_DHCP_SERVER, "dhcp.vendor_class", vendor, detail)
    return record


def _read_isc(path: Path, lines: Sequence[str]) -> ImportedFile:
    source = f"DHCP leases {path.name}"
    # Later entries for an address supersede earlier ones (dhcpd appends to the file).
    latest: dict[str, ImportRecord] = {}
    notes: list[str] = []
    free = 0
    current: dict[str, str] = {}
    start = 0
    for number, line in enumerate(lines, start=1):
        lease = _ISC_LEASE.match(line)
        if lease:
            current, start = {"address": lease.group(1)}, number
            continue
        if not current:
            continue
        for key, pattern in (
            ("mac", _ISC_HARDWARE),
            ("hostname", _ISC_HOSTNAME),
            ("vendor", _ISC_VENDOR),
            ("state", _ISC_STATE),
        ):
            match = pattern.match(line)
            if match:
                current[key] = match.group(1)
        if line.strip().startswith("}"):
            address = _address(current.get("address", ""))
            if address is not None and current.get("state", "active") in ("active", "static"):
                latest[address] = _record(
                    source,
                    address,
                    normalise_mac(current.get("mac", "")),
                    _unquote(current["hostname"]) if "hostname" in current else None,
                    _unquote(current["vendor"]) if "vendor" in current else None,
                    f"{path.name} line {start}",
                )
            elif address is not None:
                latest.pop(address, None)
                free += 1
            current = {}
            if len(latest) >= MAX_RECORDS:
                notes.append(f"{path.name}: only the first {MAX_RECORDS} leases were read")
                break
    if free:
        notes.append(f"{path.name}: {free} leases not active (free, expired, released) skipped")
    return ImportedFile(str(path), ImportFormat.dhcp_leases, list(latest.values()), notes)


def _read_dnsmasq(path: Path, lines: Sequence[str]) -> ImportedFile:
    source = f"DHCP leases {path.name}"
    records: dict[str, ImportRecord] = {}
    for number, line in enumerate(lines, start=1):
        match = _DNSMASQ.match(line)
        if match is None:
            continue
        address = _address(match.group(3))
        if address is None:
            continue
        hostname = match.group(4) if match.group(4) != "*" else None
        records[address] = _record(
            source,
            address,
            normalise_mac(match.group(2)),
            hostname,
            None,
            f"{path.name} line {number}",
        )
        if len(records) >= MAX_RECORDS:
            break
    return ImportedFile(str(path), ImportFormat.dhcp_leases, list(records.values()))


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None
