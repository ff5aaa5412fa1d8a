"""The discovery seam: what a protocol module provides, its value types and its errors."""

from __future__ import annotations

import ipaddress
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from provscan.errors import ProvscanError
from provscan.model import Observation


class DiscoveryError(ProvscanError):
    """Discovery could not run (no such interface, no usable address)."""


class InterfaceError(DiscoveryError):
    """A named network interface does not exist or has no IPv4 address."""


@dataclass(frozen=True)
class Segment:
    """A directly attached IPv4 segment: an interface, its address and prefix length."""

    interface: str
    address: str
    prefix: int
    is_loopback: bool = False
    supports_multicast: bool = True

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(f"{self.address}/{self.prefix}", strict=False)

    @property
    def broadcast(self) -> str:
        return str(self.network.broadcast_address)

    def contains(self, address: str) -> bool:
        try:
            return ipaddress.IPv4Address(address) in self.network
        except ValueError:
            return False


@dataclass(frozen=True)
class DiscoveryReply:
    """What one datagram (and its follow-ups) said about the device at ``address``."""

    protocol: str
    address: str
    port: int
    observations: tuple[Observation, ...]
    mac: str | None = None
    serial: str | None = None
    #: A follow-up the runner should make (SSDP: the description URL).
    follow_up: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiscoveredHost:
    """One device as discovery saw it, merged over protocols on address, MAC and serial."""

    address: str
    mac: str | None
    mac_source: str | None
    serial: str | None
    protocols: tuple[str, ...]
    observations: tuple[Observation, ...]
    other_addresses: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiscoveryResult:
    hosts: tuple[DiscoveredHost, ...] = ()
    #: The error summary: malformed, oversized, out-of-scope and flood datagrams, per protocol.
    notes: tuple[str, ...] = ()
    counters: dict[str, int] = field(default_factory=dict)

    def by_address(self) -> dict[str, DiscoveredHost]:
        result: dict[str, DiscoveredHost] = {}
        for host in self.hosts:
            result[host.address] = host
            for other in host.other_addresses:
                result.setdefault(other, host)
        return result


class DiscoveryProtocol(ABC):
    """One discovery protocol: where it listens, what it sends, how replies read."""

    #: Short name used in observations' ``protocol`` and in notes (``wsd``, ``sadp``…).
    name: str
    port: int
    multicast_group: str | None = None
    uses_broadcast: bool = False

    @abstractmethod
    def build_probe(self, destination: str) -> bytes:
        """The datagram sent to ``destination`` (a group, broadcast or unicast address)."""

    @abstractmethod
    def interpret(self, data: bytes, address: str, port: int) -> DiscoveryReply | None:
        """A reply from ``address``; None for datagrams that are not replies (e.g. another
        client's probe). Raises :class:`provscan.errors.ProtocolError` when malformed."""
