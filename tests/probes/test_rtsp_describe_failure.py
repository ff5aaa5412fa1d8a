"""The RTSP probe when OPTIONS is answered and DESCRIBE is not: the attempt says so (status of
the DESCRIBE failure, "OPTIONS answered (...); DESCRIBE failed: ...") and keeps what OPTIONS
yielded. Real asyncio servers on 127.0.0.1 (ephemeral ports), the probe and the scanner's
own attempt-making as a scan runs them."""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from provscan.engine.scanner import Scanner, ScanRequest
from provscan.model import AttemptStatus, Device, HostEvidence, Observation, ProbeAttempt
from provscan.probes.interface import (
    ProbeClosed,
    ProbeError,
    ProbeMalformed,
    ProbePartial,
    ProbeRefused,
    ProbeTimeout,
)
from provscan.probes.rtsp import RtspProbe
from provscan.targets import build_targets
from provscan.transport.limits import ScanLimits

with warnings.catch_warnings():
    # engine/connection.py sets TLS 1.0 as minimum, which Python 3.11 flags at import time
    warnings.simplefilter("ignore", DeprecationWarning)
    from provscan.engine.connection import HostProbeContext

LIMITS = ScanLimits(
    connect_timeout_s=0.5,
    read_timeout_s=0.4,
    per_connection_deadline_s=1.0,
    per_host_deadline_s=5.0,
)
OPTIONS_REPLY = (
    b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: Dahua Rtsp Server\r\n"
    b"Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
)
Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter, asyncio.Server], Awaitable[None]]


async def _answer_options(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Reads one request; answers it when it is OPTIONS. Whether it was."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"OPTIONS "):
        return False
    writer.write(OPTIONS_REPLY)
    await writer.drain()
    return True


async def closes(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: asyncio.Server
) -> None:
    """Answers OPTIONS, then closes; a DESCRIBE on a new connection is closed unanswered."""
    await _answer_options(reader, writer)


async def garbage(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: asyncio.Server
) -> None:
    """Answers OPTIONS, then answers DESCRIBE on the same connection with no RTSP at all."""
    if await _answer_options(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"\x00\x01garbage that is no status line\r\n\r\n")
        await writer.drain()


async def silent(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: asyncio.Server
) -> None:
    """Answers OPTIONS, then says nothing to DESCRIBE (the connection stays open until the
    probe gives up and closes it)."""
    if await _answer_options(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        await reader.read()


async def gone(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: asyncio.Server
) -> None:
    """Stops listening, answers OPTIONS and closes: the new connection is refused."""
    server.close()
    await _answer_options(reader, writer)


CASES: dict[str, tuple[Behaviour, type[ProbeError], AttemptStatus, str]] = {
    "closes": (
        closes,
        ProbeClosed,
        AttemptStatus.CLOSED,
        "DESCRIBE failed: the connection was closed after OPTIONS, and on a new one: "
        "no RTSP response",
    ),
    "garbage": (garbage, ProbeMalformed, AttemptStatus.MALFORMED, "not an RTSP response"),
    "silent": (silent, ProbeTimeout, AttemptStatus.TIMEOUT, "DESCRIBE failed: "),
    "gone": (
        gone,
        ProbeRefused,
        AttemptStatus.REFUSED,
        "DESCRIBE failed: the connection was closed after OPTIONS, and on a new one: ",
    ),
}


@contextlib.asynccontextmanager
async def serve(behaviour: Behaviour) -> AsyncIterator[int]:
    tasks: set[asyncio.Task[None]] = set()
    holder: list[asyncio.Server] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                await behaviour(reader, writer, holder[0])
        finally:
            writer.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    holder.append(server)
    port: int = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


def values(observations: tuple[Observation, ...] | list[Observation], field: str) -> list[str]:
    return [o.value for o in observations if o.field == field]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_probe_says_describe_failed_and_keeps_what_options_yielded(case: str) -> None:
    behaviour, cause, _status, reason = CASES[case]

    async def probe() -> None:
        async with serve(behaviour) as port:
            await RtspProbe().run(HostProbeContext("127.0.0.1", port, LIMITS))

    with pytest.raises(ProbePartial) as raised:
        asyncio.run(probe())
    partial = raised.value
    assert isinstance(partial.cause, cause)
    message = str(partial)
    assert message.startswith("OPTIONS answered (RTSP/1.0 200 OK); DESCRIBE failed: ")
    assert reason in message
    # what OPTIONS yielded is all there, and nothing of a DESCRIBE reply
    assert values(partial.observations, "rtsp.status_line") == ["RTSP/1.0 200 OK"]
    assert {o.detail for o in partial.observations} == {"OPTIONS"}
    assert values(partial.observations, "rtsp.server") == ["Dahua Rtsp Server"]
    assert values(partial.observations, "rtsp.public") == [
        "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"
    ]


class _RtspOn(RtspProbe):
    """The RTSP probe on the test server's ephemeral port."""

    def __init__(self, port: int) -> None:
        self.default_ports = frozenset({port})


def _scan(behaviour: Behaviour) -> ProbeAttempt:
    seen: list[HostEvidence] = []

    def identify(evidence: HostEvidence) -> Device:
        seen.append(evidence)
        return Device(ip=evidence.address, open_ports=evidence.open_ports)

    async def scan() -> None:
        async with serve(behaviour) as port:
            request = ScanRequest(
                targets=build_targets(["127.0.0.1"]),
                target_specs=("127.0.0.1",),
                ports=(port,),
                policies=(),
                total_hosts=1,
                limits=LIMITS,
            )
            await Scanner([_RtspOn(port)], identify).run(request)

    asyncio.run(scan())
    (evidence,) = seen
    (attempt,) = [a for a in evidence.attempts if a.probe == "rtsp"]
    return attempt


@pytest.mark.parametrize("case", ["closes", "garbage"])
def test_a_scan_attempt_has_the_describe_failure_and_the_options_observations(case: str) -> None:
    behaviour, _cause, status, reason = CASES[case]
    attempt = _scan(behaviour)
    assert attempt.status is status
    assert attempt.error.startswith("OPTIONS answered (RTSP/1.0 200 OK); DESCRIBE failed: ")
    assert reason in attempt.error
    assert values(attempt.observations, "rtsp.server") == ["Dahua Rtsp Server"]
    assert values(attempt.observations, "rtsp.status_line") == ["RTSP/1.0 200 OK"]


async def _answers_both(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: asyncio.Server
) -> None:
    if await _answer_options(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\n"
            b'WWW-Authenticate: Basic realm="device"\r\n\r\n'
        )
        await writer.drain()


def test_a_scan_attempt_whose_describe_was_answered_stays_ok() -> None:
    attempt = _scan(_answers_both)
    assert attempt.status is AttemptStatus.OK
    assert attempt.error == ""
    assert values(attempt.observations, "rtsp.status_line") == [
        "RTSP/1.0 200 OK",
        "RTSP/1.0 401 Unauthorized",
    ]
    assert values(attempt.observations, "rtsp.realm") == ["device"]
