"""Fakes for the observation-layer tests: a scripted probe connection (no sockets) and a
recording sink for passive stream analysis.

The three inputs are driven with the same bytes: a probe runs against
:class:`ScriptedContext` (over the transport's in-memory twin,
:class:`~provscan.transport.memory.ScriptedStream`), a capture conversation goes through the real reassembly and
:class:`~provscan.passive.streams.StreamAnalyser`, a datagram through discovery's
``interpret`` and passive's ``parse_discovery``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping

import pytest
from observed import CLIENT, CLIENT_PORT, SERVER, Converse, RunProbe, Script

from provscan.knowledge import load_knowledge
from provscan.knowledge.schema import HttpEndpoint
from provscan.model import AttemptStatus, Observation
from provscan.passive.decode import TCP_ACK, TCP_FIN, TCP_SYN
from provscan.passive.reassembly import FlowTable
from provscan.passive.streams import StreamAnalyser
from provscan.probes.interface import Probe, ProbeContext, Stream
from provscan.transport.limits import ScanLimits
from provscan.transport.memory import ScriptedStream

LIMITS = ScanLimits(connect_timeout_s=0.5, read_timeout_s=0.5, per_connection_deadline_s=1.0)


@dataclasses.dataclass
class ScriptedContext(ProbeContext):
    """A probe context whose every connection reaches the same scripted device."""

    script: Script
    port: int
    certificate: bytes | None = None
    address: str = SERVER
    limits: ScanLimits = LIMITS

    async def connect(self, *, tls: bool = False, server_hostname: str | None = None) -> Stream:
        return ScriptedStream(self.script, self.certificate, self.limits)

    def port_state(self) -> dict[int, str]:
        return {}


class RecordingSink:
    """The passive host table's seam: keeps what the stream analyser reports per address."""

    def __init__(self) -> None:
        self.observed: dict[str, list[Observation]] = {}
        self.attempts: list[tuple[str, AttemptStatus, str]] = []

    def observe(
        self, ip: str, observation: Observation, packet: int, time: float, detail: str | None = None
    ) -> None:
        # the stream analyser hands a fact's detail alongside its observation (passive/streams)
        if detail is not None:
            observation = dataclasses.replace(observation, detail=detail)
        self.observed.setdefault(ip, []).append(observation)

    def contacted(self, ip: str, name: str, how: str, packet: int, time: float) -> None:
        return None

    def attempt(self, ip: str, port: int, probe: str, status: AttemptStatus, error: str) -> None:
        self.attempts.append((probe, status, error))

    def catch_all(self, ip: str, port: int, status: int) -> None:
        return None


@pytest.fixture()
def run_probe() -> RunProbe:
    """Run ``probe`` on ``port`` of a device answering by ``script``."""

    def run(
        probe: Probe, port: int, script: Script, certificate: bytes | None = None
    ) -> list[Observation]:
        return asyncio.run(probe.run(ScriptedContext(script, port, certificate)))

    return run


@pytest.fixture()
def converse() -> Converse:
    """One captured conversation to ``port``: the client's bytes, then the server's (read
    with ``endpoints`` and the bundled knowledge's passive path prefixes unless given)."""

    def run(
        port: int,
        client: bytes,
        server: bytes,
        endpoints: Mapping[str, HttpEndpoint] | None = None,
        path_prefixes: Mapping[str, str] | None = None,
    ) -> dict[str, list[Observation]]:
        if path_prefixes is None:  # the bundled knowledge's, as a capture is read
            http = load_knowledge().http_endpoints
            path_prefixes = http.prefix_extractors() if http is not None else {}
        sink = RecordingSink()
        table = FlowTable(StreamAnalyser(sink, endpoints or {}, path_prefixes).analyse)
        table.segment(CLIENT, CLIENT_PORT, SERVER, port, 100, TCP_SYN, b"", 1, 0.0)
        table.segment(SERVER, port, CLIENT, CLIENT_PORT, 900, TCP_SYN | TCP_ACK, b"", 2, 0.0)
        if client:
            table.segment(CLIENT, CLIENT_PORT, SERVER, port, 101, TCP_ACK, client, 3, 1.0)
        table.segment(SERVER, port, CLIENT, CLIENT_PORT, 901, TCP_ACK, server, 4, 2.0)
        table.segment(SERVER, port, CLIENT, CLIENT_PORT, 901 + len(server), TCP_FIN, b"", 5, 3.0)
        table.segment(CLIENT, CLIENT_PORT, SERVER, port, 101 + len(client), TCP_FIN, b"", 6, 3.0)
        return sink.observed

    return run
