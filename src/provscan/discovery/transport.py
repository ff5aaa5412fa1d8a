"""Discovery's side of the UDP exchange: a :class:`DiscoveryProtocol` turned into the
datagrams and the parse function of :func:`provscan.transport.udp.exchange_datagrams`, which
sends probes, collects replies until a deadline and bounds count, size and per-source replies
(floods cost nothing more)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from provscan.discovery.interface import DiscoveryProtocol, DiscoveryReply
from provscan.transport.udp import (
    MAX_DATAGRAM_BYTES,
    MAX_REPLIES,
    MAX_REPLIES_PER_SOURCE,
    Datagram,
    ExchangeCounters,
    OpenEndpoint,
    Route,
    exchange_datagrams,
    open_endpoint,
    open_socket,
)

__all__ = [
    "MAX_DATAGRAM_BYTES",
    "MAX_REPLIES",
    "MAX_REPLIES_PER_SOURCE",
    "ExchangeCounters",
    "Route",
    "exchange",
    "open_socket",
]


async def exchange(
    protocol: DiscoveryProtocol,
    destinations: Sequence[str],
    route: Route,
    *,
    timeout_s: float,
    in_scope: Callable[[str], bool],
    counters: ExchangeCounters,
    repeat: int = 2,
    endpoint: OpenEndpoint = open_endpoint,
) -> list[DiscoveryReply]:
    """Send ``protocol``'s probe to each destination (``repeat`` times: UDP may drop one)
    and return the replies that arrived before ``timeout_s``."""
    if not destinations:
        return []

    def probes(_round: int) -> list[Datagram]:
        # Built afresh each round, as a probe may carry a new message ID.
        return [Datagram(d, protocol.port, protocol.build_probe(d)) for d in destinations]

    result = await exchange_datagrams(
        probes,
        protocol.interpret,
        route=route,
        in_scope=in_scope,
        timeout_s=timeout_s,
        repeat=repeat,
        counters=counters,
        open_endpoint=endpoint,
    )
    return result.replies
