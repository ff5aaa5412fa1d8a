"""The UDP exchange and its in-memory twin get the same replies and counters.

Each case runs the same exchange twice: against real loopback UDP responders (a "device" on
127.0.0.1 and a "stranger" on 127.0.0.2, both on ephemeral ports) that answer by a datagram
script, and against :class:`ScriptedDatagrams` running the same script.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

import pytest

from provscan.errors import ProtocolError
from provscan.transport.memory import DatagramScript, ScriptedDatagrams
from provscan.transport.udp import (
    Datagram,
    ExchangeCounters,
    Route,
    UdpBounds,
    UdpExchangeResult,
    exchange_datagrams,
)

DEVICE = "127.0.0.1"
STRANGER = "127.0.0.2"
ROUTE = Route(DEVICE)
TIMEOUT_S = 0.3
Reply = tuple[str, int, str]


def parse(data: bytes, address: str, port: int) -> Reply | None:
    """``ok:<text>`` is a reply, ``other:…`` is not one, anything else is malformed."""
    if data.startswith(b"ok:"):
        return address, port, data[3:].decode("ascii")
    if data.startswith(b"other:"):
        return None
    raise ProtocolError(f"not a reply: {data[:8]!r}")


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, network: Network, address: str) -> None:
        self.network = network
        self.address = address
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        port = self.transport.get_extra_info("sockname")[1] if self.transport else 0
        client = (str(addr[0]), int(str(addr[1])))
        for source_address, source_port, payload in self.network.script(data, self.address, port):
            self.network.endpoints[(source_address, source_port)].sendto(payload, client)


class Network:
    """Real loopback UDP responders, one per address, answering by a datagram script."""

    def __init__(self) -> None:
        self.script: DatagramScript = lambda data, address, port: []
        self.endpoints: dict[tuple[str, int], asyncio.DatagramTransport] = {}

    async def start(self, *addresses: str) -> dict[str, int]:
        loop = asyncio.get_running_loop()
        ports: dict[str, int] = {}
        for address in addresses:
            transport, _ = await loop.create_datagram_endpoint(
                lambda a=address: _Responder(self, a),  # type: ignore[misc]
                local_addr=(address, 0),
            )
            port = int(transport.get_extra_info("sockname")[1])
            self.endpoints[(address, port)] = transport
            ports[address] = port
        return ports

    def close(self) -> None:
        for transport in self.endpoints.values():
            transport.close()


def hostile_script(ports: dict[str, int], flood: int) -> DatagramScript:
    """The device answers each probe with a malformed datagram, an oversized one, a
    non-reply, then ``flood`` replies; the stranger (out of scope) answers too."""

    def script(data: bytes, address: str, port: int) -> Sequence[tuple[str, int, bytes]]:
        if (address, port) != (DEVICE, ports[DEVICE]):
            return []
        device = (DEVICE, ports[DEVICE])
        return [
            (*device, b"\xff\xfe garbage"),
            (*device, b"ok:" + b"A" * 40_000),
            (*device, b"other:a probe of another client"),
            *((*device, f"ok:{data.decode()}-{i}".encode()) for i in range(flood)),
            (STRANGER, ports[STRANGER], b"ok:stranger"),
        ]

    return script


Outcome = tuple[list[Reply], ExchangeCounters]


async def _exchange(
    ports: dict[str, int], open_endpoint: object | None, bounds: UdpBounds, repeat: int
) -> UdpExchangeResult[Reply]:
    datagrams = [Datagram(DEVICE, ports[DEVICE], b"probe")]
    kwargs = {} if open_endpoint is None else {"open_endpoint": open_endpoint}
    return await exchange_datagrams(
        datagrams,
        parse,
        route=ROUTE,
        in_scope=lambda a: a == DEVICE,
        timeout_s=TIMEOUT_S,
        bounds=bounds,
        repeat=repeat,
        **kwargs,  # type: ignore[arg-type]
    )


async def over_udp(flood: int, bounds: UdpBounds, repeat: int) -> Outcome:
    network = Network()
    try:
        ports = await network.start(DEVICE, STRANGER)
        network.script = hostile_script(ports, flood)
        result = await _exchange(ports, None, bounds, repeat)
    finally:
        network.close()
    # The responders' ports are ephemeral: compare what does not depend on them.
    return [(a, 0, text) for a, _, text in result.replies], result.counters


async def over_twin(flood: int, bounds: UdpBounds, repeat: int) -> Outcome:
    ports = {DEVICE: 40001, STRANGER: 40002}
    twin = ScriptedDatagrams(hostile_script(ports, flood))
    result = await _exchange(ports, twin, bounds, repeat)
    assert twin.sent == [(DEVICE, ports[DEVICE], b"probe")] * repeat
    assert twin.routes == [ROUTE]
    return [(a, 0, text) for a, _, text in result.replies], result.counters


@pytest.mark.parametrize(
    ("flood", "bounds", "repeat"),
    [
        (3, UdpBounds(), 1),  # within every bound
        (20, UdpBounds(), 1),  # a flood from one source beyond the per-source bound
        (20, UdpBounds(), 2),
        (20, UdpBounds(max_replies=4), 1),  # the bound on replies in all
        (5, UdpBounds(max_datagram_bytes=4), 1),  # everything oversized
    ],
)
def test_the_twin_exchanges_like_real_udp(flood: int, bounds: UdpBounds, repeat: int) -> None:
    real = asyncio.run(over_udp(flood, bounds, repeat))
    twin = asyncio.run(over_twin(flood, bounds, repeat))
    assert real == twin


def test_hostile_replies_are_counted_not_parsed() -> None:
    replies, counters = asyncio.run(over_twin(20, UdpBounds(), 1))
    # Per source: 1 malformed + 1 non-reply + 6 replies fill the bound of 8.
    assert replies == [(DEVICE, 0, f"probe-{i}") for i in range(6)]
    assert counters.sent == 1
    assert counters.received == 24
    assert counters.malformed == 1
    assert counters.oversized == 1
    assert counters.out_of_scope == 1
    assert counters.flood_dropped == 14
    assert counters.send_errors == 0
    assert len(counters.errors) == 1 and counters.errors[0].startswith(f"{DEVICE}: not a reply")


def test_no_datagrams_open_no_endpoint() -> None:
    twin = ScriptedDatagrams(lambda data, address, port: [])
    result = asyncio.run(
        exchange_datagrams(
            [], parse, route=ROUTE, in_scope=bool, timeout_s=TIMEOUT_S, open_endpoint=twin
        )
    )
    assert result.replies == [] and twin.routes == []


def test_send_errors_reach_the_counters() -> None:
    def refuse(data: bytes, address: str, port: int) -> Sequence[tuple[str, int, bytes]]:
        raise OSError("network unreachable")

    twin = ScriptedDatagrams(refuse)
    counters = ExchangeCounters()
    result = asyncio.run(
        exchange_datagrams(
            lambda round_: [Datagram(DEVICE, 9, f"probe {round_}".encode())],
            parse,
            route=ROUTE,
            in_scope=bool,
            timeout_s=0.01,
            counters=counters,
            open_endpoint=twin,
        )
    )
    assert result.counters is counters
    assert (counters.sent, counters.send_errors) == (2, 2)
    assert [data for _, _, data in twin.sent] == [b"probe 0", b"probe 1"]


def test_enough_ends_the_wait_at_the_first_answer_over_real_udp() -> None:
    # Given a device that answers at once, and a wait of 5 s
    async def exchange() -> tuple[UdpExchangeResult[Reply], float]:
        network = Network()
        try:
            ports = await network.start(DEVICE)
            network.script = lambda data, address, port: [(DEVICE, ports[DEVICE], b"ok:hi")]
            loop = asyncio.get_running_loop()
            started = loop.time()
            result = await exchange_datagrams(
                [Datagram(DEVICE, ports[DEVICE], b"probe")],
                parse,
                route=ROUTE,
                in_scope=lambda a: a == DEVICE,
                timeout_s=5.0,
                repeat=2,
                enough=bool,
            )
            return result, loop.time() - started
        finally:
            network.close()

    # When the exchange says one reply is enough
    result, elapsed = asyncio.run(exchange())
    # Then it returns with that reply long before the deadline, without the second send
    assert [text for _, _, text in result.replies] == ["hi"]
    assert elapsed < 2.0
    assert result.counters.sent == 1
