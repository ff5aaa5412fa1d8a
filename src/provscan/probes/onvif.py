"""ONVIF probe: the two device-service calls a device answers without credentials.

Request bytes (one connection each; ``<host>`` is ``address:port``, the body is the SOAP
1.2 envelope from :mod:`provscan.wire.onvif`, with no WS-Security header)::

    POST /onvif/device_service HTTP/1.1\\r\\nHost: <host>\\r\\n
    Content-Type: application/soap+xml; charset=utf-8\\r\\nConnection: close\\r\\n
    User-Agent: provscan\\r\\nContent-Length: <n>\\r\\n\\r\\n
    <s:Envelope ...><s:Body><tds:GetSystemDateAndTime/></s:Body></s:Envelope>

then the same with ``<tds:GetDeviceInformation/>``. The second call is only made when the
first one came back as SOAP, so an ordinary web server on port 80 gets a single POST.
"""

from __future__ import annotations

from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.observations import onvif as observe
from provscan.probes._io import host_header
from provscan.probes.interface import (
    Probe,
    ProbeClosed,
    ProbeContext,
    ProbeError,
    ProbeMalformed,
    ProbeTimeout,
)
from provscan.wire import http1
from provscan.wire import onvif as wire

#: Cap on one HTTP response (a device-information reply is ~1 KiB).
MAX_RESPONSE_BYTES = 128 * 1024


async def _post(ctx: ProbeContext, body: bytes) -> http1.HttpResponse:
    request = http1.build_request(
        "POST",
        wire.DEVICE_SERVICE_PATH,
        host_header(ctx.address, ctx.port),
        headers=(
            ("Content-Type", wire.CONTENT_TYPE),
            ("Connection", "close"),
            ("User-Agent", "provscan"),
        ),
        body=body,
    )
    stream = await ctx.connect()
    try:
        await stream.write(request)
        data = b""
        while len(data) < MAX_RESPONSE_BYTES:
            try:
                chunk = await stream.read_some(min(65536, MAX_RESPONSE_BYTES - len(data)))
            except ProbeTimeout:
                if data:
                    break  # partial data is data
                raise
            if not chunk:
                break
            data += chunk
            try:
                response = http1.parse_response(data)
            except ProtocolError:
                continue  # maybe the status line is not complete yet
            if response.complete and response.framing != http1.FRAMING_CLOSE:
                return response
    finally:
        await stream.close()
    if not data:
        raise ProbeClosed("no HTTP response to the ONVIF POST")
    try:
        return http1.parse_response(data)
    except ProtocolError as exc:
        raise ProbeMalformed(f"not an HTTP response: {exc}") from exc


def _soap(response: http1.HttpResponse) -> wire.OnvifResponse | None:
    """The SOAP reply, or None when the body is not SOAP (not an ONVIF endpoint)."""
    if b"Envelope" not in response.body[:4096]:
        return None
    try:
        return wire.parse_response(response.body)
    except ProtocolError as exc:
        if "refused" in str(exc):
            raise ProbeMalformed(str(exc)) from exc
        return None


class OnvifProbe(Probe):
    name = "onvif"
    default_ports = frozenset({80, 8080, 8899, 81, 88})
    order = 40

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        port = ctx.port
        first = await _post(ctx, wire.build_get_system_date_and_time())
        reply = _soap(first)
        if reply is None:
            return []  # not ONVIF: an ordinary web page or a 404
        observations = observe.response_observations(
            port, "GetSystemDateAndTime", first.status, reply
        )
        try:
            second = await _post(ctx, wire.build_get_device_information())
            info_reply = _soap(second)
        except ProbeError:
            return observations  # partial results are returned, not raised
        if info_reply is not None:
            observations += observe.response_observations(
                port, "GetDeviceInformation", second.status, info_reply
            )
        return observations
