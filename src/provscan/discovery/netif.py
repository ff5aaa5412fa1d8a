"""Local IPv4 interfaces (Linux ioctls; no extra dependency) and the test-namespace check."""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import socket
import struct
from pathlib import Path

from provscan.discovery.interface import InterfaceError, Segment
from provscan.interlock import outside_interlock

_SIOCGIFFLAGS = 0x8913
_SIOCGIFADDR = 0x8915
_SIOCGIFNETMASK = 0x891B
_IFF_UP = 0x1
_IFF_LOOPBACK = 0x8
_IFF_MULTICAST = 0x1000
#: Where ``ip netns add`` pins named network namespaces.
NETNS_RUN_DIR = Path("/run/netns")


def _ioctl(sock: socket.socket, request: int, name: str) -> bytes:
    return fcntl.ioctl(sock.fileno(), request, struct.pack("256s", name.encode()[:15]))


def list_segments() -> list[Segment]:
    """Every up interface with an IPv4 address (primary address only)."""
    segments: list[Segment] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            try:
                flags = struct.unpack("H", _ioctl(sock, _SIOCGIFFLAGS, name)[16:18])[0]
                address = socket.inet_ntoa(_ioctl(sock, _SIOCGIFADDR, name)[20:24])
                netmask = socket.inet_ntoa(_ioctl(sock, _SIOCGIFNETMASK, name)[20:24])
            except OSError:
                continue  # no IPv4 address
            if not flags & _IFF_UP:
                continue
            if outside_interlock(address):
                continue  # the scope interlock forbids sending anything on this segment
            prefix = ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen
            segments.append(
                Segment(
                    name,
                    address,
                    prefix,
                    is_loopback=bool(flags & _IFF_LOOPBACK),
                    supports_multicast=bool(flags & _IFF_MULTICAST),
                )
            )
    return segments


def segment_for_interface(name: str) -> Segment:
    for segment in list_segments():
        if segment.interface == name:
            return segment
    raise InterfaceError(f"no up interface {name!r} with an IPv4 address")


def interface_with_address(address: str) -> str | None:
    """The interface holding ``address`` as its primary IPv4 address, if any."""
    for segment in list_segments():
        if segment.address == address:
            return segment.interface
    return None


def in_test_network_namespace() -> bool:
    """True when this process runs in a named network namespace (``ip netns add``, listed
    under /run/netns) that is not PID 1's.

    The lab binds non-loopback addresses and joins multicast groups only there, so it can
    never answer (or send) on a real network of the machine it runs on.
    """
    try:
        own = os.stat("/proc/self/ns/net")
    except OSError:
        return False
    with contextlib.suppress(OSError):
        first = os.stat("/proc/1/ns/net")
        if (first.st_dev, first.st_ino) == (own.st_dev, own.st_ino):
            return False
    try:
        named = list(NETNS_RUN_DIR.iterdir())
    except OSError:
        return False
    for entry in named:
        with contextlib.suppress(OSError):
            info = entry.stat()
            if info.st_ino == own.st_ino:
                return True
    return False
