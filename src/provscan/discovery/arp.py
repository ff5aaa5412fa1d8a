"""MAC addresses on the local segment: an ARP sweep with scapy when root, otherwise the
kernel neighbour table (``/proc/net/arp``, or ``ip neigh`` where that file is missing)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import warnings
from collections.abc import Sequence
from pathlib import Path

from provscan.wire.mac import normalise_mac

PROC_NET_ARP = Path("/proc/net/arp")
#: ARP flag "complete" in /proc/net/arp.
_ATF_COM = 0x2
#: Largest sweep sent; larger segments are resolved from the neighbour table only.
MAX_SWEEP_ADDRESSES = 1024


def parse_proc_net_arp(text: str) -> dict[str, str]:
    """``IP address HW type Flags HW address Mask Device`` lines -> {ip: mac} (complete only)."""
    table: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 4:
            continue
        try:
            flags = int(parts[2], 16)
        except ValueError:
            continue
        mac = normalise_mac(parts[3])
        if flags & _ATF_COM and mac:
            table[parts[0]] = mac
    return table


def parse_ip_neigh(text: str) -> dict[str, str]:
    """``10.0.0.2 dev eth0 lladdr 3c:ef:8c:00:00:01 REACHABLE`` lines -> {ip: mac}."""
    table: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if "lladdr" not in parts or "FAILED" in parts or "INCOMPLETE" in parts:
            continue
        index = parts.index("lladdr")
        mac = normalise_mac(parts[index + 1]) if index + 1 < len(parts) else None
        if mac and parts:
            table[parts[0]] = mac
    return table


def read_neighbour_table() -> dict[str, str]:
    try:
        return parse_proc_net_arp(PROC_NET_ARP.read_text(encoding="ascii", errors="replace"))
    except OSError:
        pass
    ip = shutil.which("ip")
    if ip is None:
        return {}
    try:
        output = subprocess.run(
            [ip, "-4", "neigh", "show"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return parse_ip_neigh(output)


def can_sweep() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _scapy_sweep(interface: str, addresses: Sequence[str], timeout_s: float) -> dict[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scapy warns about optional crypto at import
        from scapy.all import ARP, Ether, conf, srp  # type: ignore[attr-defined]

        conf.verb = 0
        answered, _ = srp(
            Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=list(addresses)),
            iface=interface,
            timeout=timeout_s,
            verbose=False,
        )
    table: dict[str, str] = {}
    for _, received in answered:
        mac = normalise_mac(str(received[ARP].hwsrc))
        if mac:
            table[str(received[ARP].psrc)] = mac
    return table


async def resolve(
    interface: str | None, addresses: Sequence[str], timeout_s: float
) -> tuple[dict[str, str], str]:
    """({address: mac}, how) for ``addresses`` on ``interface``."""
    wanted = list(dict.fromkeys(addresses))
    if interface and wanted and len(wanted) <= MAX_SWEEP_ADDRESSES and can_sweep():
        try:
            swept = await asyncio.to_thread(_scapy_sweep, interface, wanted, timeout_s)
            return swept, "arp"
        except Exception:  # scapy missing or refused: the kernel table still helps
            pass
    table = read_neighbour_table()
    return {a: table[a] for a in wanted if a in table}, "neighbour-table"
