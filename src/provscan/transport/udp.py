"""The one bounded UDP exchange: send datagrams, collect replies until a deadline.

The exchange knows nothing of the protocol it carries: it is given the datagrams to send
(:class:`Datagram`: address, port, bytes), a ``parse(data, source_address, source_port)``
function (``None`` for datagrams that are not replies; raising
:class:`~provscan.errors.ProtocolError` for malformed ones, which are counted), an
``in_scope(address)`` predicate, the :class:`Route` and the :class:`UdpBounds`. It caps datagram
size, replies per source and replies in all, so a flood costs nothing more than its cap; every
dropped datagram is counted in :class:`ExchangeCounters`.

The datagram endpoint is opened by an :data:`OpenEndpoint` factory: :func:`open_endpoint`
(asyncio's ``create_datagram_endpoint`` on a socket bound per the route) by default, or the
scripted twin :class:`provscan.transport.memory.ScriptedDatagrams` in tests.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from provscan.errors import ProtocolError

T = TypeVar("T")

#: Datagrams larger than this are counted as oversized and not parsed.
MAX_DATAGRAM_BYTES = 32 * 1024
#: Replies kept from one source address per exchange (a device answers once or twice).
MAX_REPLIES_PER_SOURCE = 8
#: Replies kept per exchange; the rest are counted as a flood.
MAX_REPLIES = 4096
#: At most this many error messages are kept in :attr:`ExchangeCounters.errors`.
MAX_ERROR_MESSAGES = 5


@dataclass(frozen=True)
class UdpBounds:
    max_datagram_bytes: int = MAX_DATAGRAM_BYTES
    max_replies_per_source: int = MAX_REPLIES_PER_SOURCE
    max_replies: int = MAX_REPLIES


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

    def note(self, message: str) -> None:
        if len(self.errors) < MAX_ERROR_MESSAGES:
            self.errors.append(message[:200])


@dataclass(frozen=True)
class Route:
    """How to send: from which local address, and through which interface for multicast."""

    bind_address: str
    multicast_interface: str | None = None
    broadcast: bool = False


@dataclass(frozen=True)
class Datagram:
    """One datagram to send: destination address, destination port, payload."""

    address: str
    port: int
    data: bytes


@dataclass
class UdpExchangeResult(Generic[T]):
    """The parsed replies, in arrival order, and the exchange's counters."""

    replies: list[T]
    counters: ExchangeCounters


#: ``parse(data, source_address, source_port)``: the reply, or None for a datagram that is not
#: one. Raises :class:`~provscan.errors.ProtocolError` for a malformed datagram.
Parse = Callable[[bytes, str, int], T | None]
ProtocolFactory = Callable[[], asyncio.DatagramProtocol]
#: Opens a datagram endpoint for ``route`` whose datagrams go to the protocol it makes.
OpenEndpoint = Callable[[Route, ProtocolFactory], Awaitable[asyncio.DatagramTransport]]
#: The datagrams of each round: a fixed sequence, or a function of the round number (0…)
#: for protocols whose probes carry a fresh message ID each time.
Datagrams = Sequence[Datagram] | Callable[[int], Sequence[Datagram]]


class _Collector(asyncio.DatagramProtocol, Generic[T]):
    def __init__(
        self,
        parse: Parse[T],
        in_scope: Callable[[str], bool],
        counters: ExchangeCounters,
        bounds: UdpBounds,
    ) -> None:
        self.parse = parse
        self.in_scope = in_scope
        self.counters = counters
        self.bounds = bounds
        self.replies: list[T] = []
        self.per_source: collections.Counter[str] = collections.Counter()
        #: Set by the exchange's ``enough`` predicate: stop waiting for more replies.
        self.satisfied = asyncio.Event()
        self.enough: Callable[[Sequence[T]], bool] | None = None

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        address, port = str(addr[0]), int(str(addr[1]))
        self.counters.received += 1
        if not self.in_scope(address):
            self.counters.out_of_scope += 1
            return
        if len(data) > self.bounds.max_datagram_bytes:
            self.counters.oversized += 1
            return
        if (
            self.per_source[address] >= self.bounds.max_replies_per_source
            or len(self.replies) >= self.bounds.max_replies
        ):
            self.counters.flood_dropped += 1
            return
        self.per_source[address] += 1
        try:
            reply = self.parse(data, address, port)
        except ProtocolError as exc:
            self.counters.malformed += 1
            self.counters.note(f"{address}: {exc}")
            return
        except (ValueError, UnicodeError, RecursionError, MemoryError) as exc:
            self.counters.malformed += 1
            self.counters.note(f"{address}: {type(exc).__name__}")
            return
        if reply is not None:
            self.replies.append(reply)
            if self.enough is not None and self.enough(self.replies):
                self.satisfied.set()

    def error_received(self, exc: Exception) -> None:
        self.counters.send_errors += 1


def open_socket(route: Route) -> socket.socket:
    """A non-blocking IPv4 UDP socket bound to ``route.bind_address`` (ephemeral port)."""
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


async def open_endpoint(
    route: Route, protocol_factory: ProtocolFactory
) -> asyncio.DatagramTransport:
    """The real :data:`OpenEndpoint`: asyncio's datagram endpoint on :func:`open_socket`."""
    loop = asyncio.get_running_loop()
    sock = open_socket(route)
    try:
        transport, _ = await loop.create_datagram_endpoint(protocol_factory, sock=sock)
    except BaseException:
        sock.close()
        raise
    return transport


async def exchange_datagrams(
    datagrams: Datagrams,
    parse: Parse[T],
    *,
    route: Route,
    in_scope: Callable[[str], bool],
    timeout_s: float,
    bounds: UdpBounds = UdpBounds(),
    repeat: int = 2,
    counters: ExchangeCounters | None = None,
    open_endpoint: OpenEndpoint = open_endpoint,
    enough: Callable[[Sequence[T]], bool] | None = None,
) -> UdpExchangeResult[T]:
    """Send ``datagrams`` ``repeat`` times (UDP may drop one), then collect replies for
    ``timeout_s``, or until ``enough(replies)`` is true (a unicast query that has its one
    answer need not wait out the deadline). ``counters`` (new when None) is updated in
    place, so concurrent exchanges may share one. An empty sequence of datagrams opens no
    socket."""
    counters = counters if counters is not None else ExchangeCounters()
    if not callable(datagrams) and not datagrams:
        return UdpExchangeResult([], counters)
    collector: _Collector[T] = _Collector(parse, in_scope, counters, bounds)
    collector.enough = enough
    transport = await open_endpoint(route, lambda: collector)
    try:
        for attempt in range(repeat):
            if collector.satisfied.is_set():
                break
            for datagram in datagrams(attempt) if callable(datagrams) else datagrams:
                try:
                    transport.sendto(datagram.data, (datagram.address, datagram.port))
                    counters.sent += 1
                except OSError as exc:
                    counters.send_errors += 1
                    counters.note(f"send to {datagram.address}: {exc}")
            if attempt + 1 < repeat and not collector.satisfied.is_set():
                await asyncio.sleep(min(0.05, timeout_s / 4))
        if not collector.satisfied.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(collector.satisfied.wait(), timeout_s)
    finally:
        transport.close()
    return UdpExchangeResult(collector.replies, counters)
