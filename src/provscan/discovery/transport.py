"""The one UDP exchange every discovery protocol uses: send probes, collect replies until a
deadline, with bounds on count, size and per-source replies (floods cost nothing more)."""

from __future__ import annotations

import asyncio
import collections
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from provscan.discovery.interface import DiscoveryProtocol, DiscoveryReply
from provscan.errors import ProtocolError

#: Datagrams larger than this are counted as oversized and not parsed.
MAX_DATAGRAM_BYTES = 32 * 1024
#: Replies kept from one source address per protocol (a device answers once or twice).
MAX_REPLIES_PER_SOURCE = 8
#: Replies kept per protocol per exchange; the rest are counted as a flood.
MAX_REPLIES = 4096


@dataclass
class ExchangeCounters:
    sent: int = 0
    received: int = 0
    malformed: int = 0
    oversized: int = 0
    out_of_scope: int = 0
    flood_dropped: int = 0
    send_errors: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Route:
    """How to send: from which local address, and through which interface for multicast."""

    bind_address: str
    multicast_interface: str | None = None
    broadcast: bool = False


class _Collector(asyncio.DatagramProtocol):
    def __init__(
        self,
        protocol: DiscoveryProtocol,
        in_scope: Callable[[str], bool],
        counters: ExchangeCounters,
    ) -> None:
        self.protocol = protocol
        self.in_scope = in_scope
        self.counters = counters
        self.replies: list[DiscoveryReply] = []
        self.per_source: collections.Counter[str] = collections.Counter()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        address, port = str(addr[0]), int(str(addr[1]))
        self.counters.received += 1
        if not self.in_scope(address):
            self.counters.out_of_scope += 1
            return
        if len(data) > MAX_DATAGRAM_BYTES:
            self.counters.oversized += 1
            return
        if self.per_source[address] >= MAX_REPLIES_PER_SOURCE or len(self.replies) >= MAX_REPLIES:
            self.counters.flood_dropped += 1
            return
        self.per_source[address] += 1
        try:
            reply = self.protocol.interpret(data, address, port)
        except ProtocolError as exc:
            self.counters.malformed += 1
            if len(self.counters.errors) < 5:
                self.counters.errors.append(f"{address}: {exc}"[:200])
            return
        except (ValueError, UnicodeError, RecursionError, MemoryError) as exc:
            self.counters.malformed += 1
            if len(self.counters.errors) < 5:
                self.counters.errors.append(f"{address}: {type(exc).__name__}")
            return
        if reply is not None:
            self.replies.append(reply)

    def error_received(self, exc: Exception) -> None:
        self.counters.send_errors += 1


def open_socket(route: Route) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if route.broadcast:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if route.multicast_interface is not None:
            sock.setsockopt(
                socket.IPPROTO_IP,
                socket.IP_MULTICAST_IF,
                socket.inet_aton(route.multicast_interface),
            )
            # Link-local scope: discovery never leaves the attached segment.
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        sock.bind((route.bind_address, 0))
    except OSError:
        sock.close()
        raise
    return sock


async def exchange(
    protocol: DiscoveryProtocol,
    destinations: Sequence[str],
    route: Route,
    *,
    timeout_s: float,
    in_scope: Callable[[str], bool],
    counters: ExchangeCounters,
    repeat: int = 2,
) -> list[DiscoveryReply]:
    """Send ``protocol``'s probe to each destination (``repeat`` times: UDP may drop one)
    and return the replies that arrived before ``timeout_s``."""
    if not destinations:
        return []
    loop = asyncio.get_running_loop()
    sock = open_socket(route)
    collector = _Collector(protocol, in_scope, counters)
    transport, _ = await loop.create_datagram_endpoint(lambda: collector, sock=sock)
    try:
        for attempt in range(repeat):
            for destination in destinations:
                try:
                    transport.sendto(
                        protocol.build_probe(destination), (destination, protocol.port)
                    )
                    counters.sent += 1
                except OSError as exc:
                    counters.send_errors += 1
                    if len(counters.errors) < 5:
                        counters.errors.append(f"send to {destination}: {exc}"[:200])
            if attempt + 1 < repeat:
                await asyncio.sleep(min(0.05, timeout_s / 4))
        await asyncio.sleep(timeout_s)
    finally:
        transport.close()
    return collector.replies
