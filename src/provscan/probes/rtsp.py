"""RTSP probe: OPTIONS then DESCRIBE on the stream root, read-only.

Request bytes (CSeq 1 then 2; ``<host>`` is the target address, port as scanned)::

    OPTIONS rtsp://<host>:<port>/ RTSP/1.0\\r\\nCSeq: 1\\r\\nUser-Agent: provscan\\r\\n\\r\\n
    DESCRIBE rtsp://<host>:<port>/ RTSP/1.0\\r\\nCSeq: 2\\r\\nUser-Agent: provscan\\r\\n
        Accept: application/sdp\\r\\n\\r\\n

DESCRIBE goes on the same connection; if the device closed it after OPTIONS, on one new
connection. No credentials are sent: a 401 with its realm is the signal we want.

When OPTIONS was answered and DESCRIBE failed (closed, refused, silent, garbage), the probe
raises :class:`ProbePartial`: the attempt keeps what OPTIONS yielded, takes the DESCRIBE
failure's status, and its error says "OPTIONS answered (…); DESCRIBE failed: …".
"""

from __future__ import annotations

import contextlib

from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.observations import rtsp as observe
from provscan.probes._io import BufferedReader, host_header
from provscan.probes.interface import (
    Probe,
    ProbeClosed,
    ProbeContext,
    ProbeError,
    ProbeMalformed,
    ProbePartial,
    ProbeTimeout,
    Stream,
)
from provscan.wire import rtsp as wire

#: Cap on one response head and on the body we skip (SDP is a few hundred bytes).
MAX_HEAD_BYTES = 16 * 1024
MAX_BODY_BYTES = 16 * 1024
#: Characters of the OPTIONS status line quoted in a DESCRIBE failure (the attempt's error
#: is capped at 300: the failure's reason must fit after it).
MAX_STATUS_CHARS = 80


async def _exchange(reader: BufferedReader, request: bytes) -> wire.RtspResponse:
    await reader.stream.write(request)
    head = await reader.read_head(MAX_HEAD_BYTES)
    if not head:
        raise ProbeClosed("no RTSP response")
    try:
        response = wire.parse_response(head)
    except ProtocolError as exc:
        raise ProbeMalformed(f"not an RTSP response: {exc}") from exc
    length_text = response.header("Content-Length")
    if length_text and length_text.strip().isdigit():
        # Consume the body so that a second request on this connection stays in step.
        with contextlib.suppress(ProbeTimeout):
            await reader.read_upto(min(int(length_text.strip()), MAX_BODY_BYTES))
    return response


def _reason(exc: BaseException) -> str:
    """A failure in a few words: its message, else its kind."""
    text = str(exc)
    if isinstance(exc, ProbeError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class RtspProbe(Probe):
    name = "rtsp"
    default_ports = frozenset({554, 8554, 10554})
    order = 20

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        url = f"rtsp://{host_header(ctx.address, ctx.port)}/"
        observations: list[Observation] = []
        stream: Stream = await ctx.connect()
        try:
            reader = BufferedReader(stream)
            options = await _exchange(reader, wire.build_request("OPTIONS", url, 1))
            observations += self._observe(ctx.port, "OPTIONS", options, observations)
            describe_request = wire.build_request("DESCRIBE", url, 2)
            closed_after_options = False
            try:
                try:
                    describe = await _exchange(reader, describe_request)
                except ProbeClosed:
                    closed_after_options = True
                    await stream.close()
                    stream = await ctx.connect()
                    describe = await _exchange(BufferedReader(stream), describe_request)
            except (ProbeError, OSError, ValueError, UnicodeError, EOFError) as exc:
                # OPTIONS already answered: what it yielded stays, the failure is reported.
                cause = exc if isinstance(exc, ProbeError) else ProbeError(_reason(exc))
                reason = _reason(cause)
                if closed_after_options:
                    reason = f"the connection was closed after OPTIONS, and on a new one: {reason}"
                answered = options.status_line[:MAX_STATUS_CHARS]
                message = f"OPTIONS answered ({answered}); DESCRIBE failed: {reason}"
                raise ProbePartial(message, observations, cause) from exc
            observations += self._observe(ctx.port, "DESCRIBE", describe, observations)
        finally:
            await stream.close()
        return observations

    @staticmethod
    def _observe(
        port: int, method: str, response: wire.RtspResponse, seen: list[Observation]
    ) -> list[Observation]:
        """The reply's observations, less the fields and values an earlier reply gave."""
        found: list[Observation] = []
        for observation in observe.response_observations(port, method, response):
            known = [*seen, *found]
            repeated = any(
                o.field == observation.field and o.value == observation.value for o in known
            )
            if observation.field == "rtsp.status_line" or not repeated:
                found.append(observation)
        return found
