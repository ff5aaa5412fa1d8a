"""Protocol probes against real loopback servers: the lab responders, plus small hostile
servers written here. Every socket is on 127.0.0.1 with an ephemeral port."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from provscan.lab.responders import get_responder
from provscan.lab.spec import DeviceSpec, Expectation, Identity, ServiceSpec
from provscan.model import Observation
from provscan.probes.banner import BannerProbe
from provscan.probes.dahua import DahuaDvripProbe
from provscan.probes.hik_sdk import HikSdkProbe
from provscan.probes.interface import Probe, ProbeClosed, ProbeError, ProbeMalformed
from provscan.probes.onvif import OnvifProbe
from provscan.probes.registry import all_probes
from provscan.probes.rtsp import RtspProbe
from provscan.probes.xiongmai import XiongmaiProbe
from provscan.transport.limits import ScanLimits
from provscan.wire import dahua as dahua_wire
from provscan.wire import http1, onvif

with warnings.catch_warnings():
    # engine/connection.py (not ours) sets TLS 1.0 as minimum, which Python 3.11 flags as
    # deprecated at import time; the suite turns warnings into errors.
    warnings.simplefilter("ignore", DeprecationWarning)
    from provscan.engine.connection import HostProbeContext

LIMITS = ScanLimits(
    connect_timeout_s=0.5,
    read_timeout_s=0.5,
    per_connection_deadline_s=1.2,
    per_host_deadline_s=5.0,
)
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
SERIAL = "4M0747EPAA1D284"


@contextlib.asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[int]:
    tasks: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


def lab_device(protocol: str, options: dict[str, Any]) -> tuple[DeviceSpec, ServiceSpec]:
    service = ServiceSpec(port=1, protocol=protocol, options=options)
    device = DeviceSpec(
        id="test-device",
        address="127.0.0.1",
        description="test",
        identity=Identity(manufacturer="Dahua", serial=SERIAL, mac="3c:ef:8c:61:01:c0"),
        expect=Expectation(),
        sources=["test"],
        services=[service],
    )
    return device, service


def responder(protocol: str, options: dict[str, Any] | None = None) -> Handler:
    device, service = lab_device(protocol, options or {})
    respond = get_responder(protocol)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await respond(reader, writer, device, service)

    return handler


async def _run(probe: Probe, handler: Handler, limits: ScanLimits = LIMITS) -> list[Observation]:
    async with serve(handler) as port:
        return await probe.run(HostProbeContext("127.0.0.1", port, limits))


def run(probe: Probe, handler: Handler, limits: ScanLimits = LIMITS) -> list[Observation]:
    return asyncio.run(_run(probe, handler, limits))


def values(observations: list[Observation], field: str) -> list[str]:
    return [o.value for o in observations if o.field == field]


# --- RTSP -------------------------------------------------------------------------------


def test_rtsp_hikvision_style_dvr() -> None:
    # Given an old Hikvision DVR: no Server header, Digest then Basic, two-space Date
    handler = responder(
        "rtsp",
        {
            "server": None,
            "date_style": "hikvision",
            "auth": [{"scheme": "Digest", "realm": "Hikvision"}, {"scheme": "Basic", "realm": "/"}],
        },
    )
    # When the probe runs
    observations = run(RtspProbe(), handler)
    # Then both replies and both realms are observed, and the Date keeps its quirks
    assert values(observations, "rtsp.status_line") == [
        "RTSP/1.0 200 OK",
        "RTSP/1.0 401 Unauthorized",
    ]
    assert values(observations, "rtsp.realm") == ["Hikvision", "/"]
    (www,) = values(observations, "rtsp.www_authenticate")
    assert www.startswith('Digest realm="Hikvision", nonce="') and www.endswith(
        ' | Basic realm="/"'
    )
    assert values(observations, "rtsp.server") == []
    assert values(observations, "rtsp.public") == [
        "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, SET_PARAMETER, GET_PARAMETER"
    ]
    (date,) = values(observations, "rtsp.date")
    assert re.fullmatch(r" \w{3}, \w{3} \d{2} \d{4} \d\d:\d\d:\d\d GMT", date)


def test_rtsp_dahua_realm_template() -> None:
    handler = responder(
        "rtsp",
        {"server": "Rtsp Server/3.0", "auth": [{"scheme": "Digest", "realm": "Login to {serial}"}]},
    )
    observations = run(RtspProbe(), handler)
    assert values(observations, "rtsp.server") == ["Rtsp Server/3.0"]
    assert values(observations, "rtsp.realm") == [f"Login to {SERIAL}"]
    (date,) = values(observations, "rtsp.date")
    assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d\d:\d\d:\d\d GMT", date)


def test_rtsp_reconnects_when_device_closes_after_each_reply() -> None:
    async def one_reply_per_connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        cseq = re.search(rb"CSeq: (\d+)", head)
        status = b"200 OK" if head.startswith(b"OPTIONS") else b"401 Unauthorized"
        writer.write(
            b"RTSP/1.0 " + status + b"\r\nCSeq: " + (cseq.group(1) if cseq else b"0") + b"\r\n"
            b'Server: Dahua Rtsp Server\r\nWWW-Authenticate: Basic realm="device"\r\n\r\n'
        )
        await writer.drain()

    observations = run(RtspProbe(), one_reply_per_connection)
    assert values(observations, "rtsp.status_line") == [
        "RTSP/1.0 200 OK",
        "RTSP/1.0 401 Unauthorized",
    ]
    assert values(observations, "rtsp.server") == ["Dahua Rtsp Server"]
    assert values(observations, "rtsp.realm") == ["device"]


def test_rtsp_on_an_http_server_is_malformed() -> None:
    async def http_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(http1.build_response(400, "Bad Request"))
        await writer.drain()

    with pytest.raises(ProbeMalformed):
        run(RtspProbe(), http_server)


# --- Hikvision SDK, Dahua, Xiongmai -----------------------------------------------------


def test_hik_sdk_reply_from_lab() -> None:
    observations = run(HikSdkProbe(), responder("hik-sdk"))
    assert values(observations, "hik.sdk.reply") == ["000000100000001e0000001e00000000"]
    assert "nmap" in observations[0].detail


def test_dahua_dhip_challenge_from_lab() -> None:
    observations = run(DahuaDvripProbe(), responder("dahua-dvrip"))
    (reply,) = values(observations, "dahua.dvrip.reply")
    assert reply.startswith("2000000044484950") and len(reply) == 64
    assert values(observations, "dahua.dhip.realm") == [f"Login to {SERIAL}"]
    assert values(observations, "dahua.dhip.mac") == ["3CEF8C6101C0"]
    assert values(observations, "dahua.dhip.error") == ["Component error: login challenge!"]
    error = next(o for o in observations if o.field == "dahua.dhip.error")
    assert "268632079" in error.detail and "Default" in error.detail


def test_dahua_lab_answers_binary_dvrip_hello_with_b0() -> None:
    async def exchange() -> bytes:
        async with serve(responder("dahua-dvrip")) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(dahua_wire.build_dvrip_header(0xA0, 0x01))
            await writer.drain()
            data = await asyncio.wait_for(reader.readexactly(32), 1.0)
            writer.close()
            await writer.wait_closed()
            return data

    header = dahua_wire.parse_dvrip_header(asyncio.run(exchange()))
    assert header.command == 0xB0


def test_dahua_probe_reports_old_dvrip_reply_as_hex() -> None:
    async def old_dvr(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(dahua_wire.build_dvrip_header(0xB0, 0x00))
        await writer.drain()

    observations = run(DahuaDvripProbe(), old_dvr)
    assert [(o.field, o.value[:4]) for o in observations] == [("dahua.dvrip.reply", "b000")]
    assert "dvrip" in observations[0].detail and "0xb0" in observations[0].detail


def test_xiongmai_keepalive_from_lab() -> None:
    observations = run(XiongmaiProbe(), responder("xiongmai"))
    (reply,) = values(observations, "xiongmai.reply")
    assert reply.startswith("ff01") and reply[28:32] == "ef03"  # msg id 1007, little-endian
    (text,) = values(observations, "xiongmai.json")
    assert '"Ret":103' in text and '"Name":"KeepAlive"' in text


# --- ONVIF ------------------------------------------------------------------------------


def onvif_server(device_info_allowed: bool) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
        body = await reader.readexactly(length)
        assert b"Connection: close" in head and b"application/soap+xml; charset=utf-8" in head
        if b"GetSystemDateAndTime" in body:
            reply = onvif.build_system_date_and_time_response(
                datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
            )
            status = 200
        elif device_info_allowed:
            info = onvif.DeviceInformation("Dahua", "DH-IPC-HDW1230T2", "2.800", SERIAL, "1.00")
            reply, status = onvif.build_device_information_response(info), 200
        else:
            reply = onvif.build_fault("env:Sender", "ter:NotAuthorized", "Sender not Authorized")
            status = 400
        writer.write(
            http1.build_response(status, "OK", [("Content-Type", "application/soap+xml")], reply)
        )
        await writer.drain()

    return handler


def test_onvif_device_information() -> None:
    observations = run(OnvifProbe(), onvif_server(device_info_allowed=True))
    assert values(observations, "onvif.system_date_time") == ["ok"]
    assert observations[0].detail == "2024-01-02T03:04:05+00:00"
    assert values(observations, "onvif.manufacturer") == ["Dahua"]
    assert values(observations, "onvif.model") == ["DH-IPC-HDW1230T2"]
    assert values(observations, "onvif.firmware") == ["2.800"]
    assert values(observations, "onvif.serial") == [SERIAL]
    assert values(observations, "onvif.hardware_id") == ["1.00"]


def test_onvif_fault_when_not_authorized() -> None:
    observations = run(OnvifProbe(), onvif_server(device_info_allowed=False))
    assert values(observations, "onvif.system_date_time") == ["ok"]
    assert values(observations, "onvif.fault") == ["ter:NotAuthorized"]
    assert values(observations, "onvif.model") == []


def test_onvif_on_a_plain_web_server_is_empty() -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.0 404 Not Found\r\nServer: Webs\r\n\r\n<html>404</html>")
        await writer.drain()

    assert run(OnvifProbe(), plain) == []


def test_onvif_xml_bomb_is_malformed() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&b;</s:Body></s:Envelope>'
    )

    async def hostile(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(http1.build_response(200, "OK", [], bomb))
        await writer.drain()

    with pytest.raises(ProbeMalformed, match="XML entity expansion refused"):
        run(OnvifProbe(), hostile)


# --- banner -----------------------------------------------------------------------------


def test_banner_reads_first_printable_line() -> None:
    async def ftp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 \x1b[1mAXIS P3225 Network Camera\x00 ready\r\nsecond line\r\n")
        await writer.drain()
        await reader.read(10)

    observations = run(BannerProbe(), ftp)
    assert values(observations, "banner.text") == ["220 [1mAXIS P3225 Network Camera ready"]
    assert BannerProbe().applies_to(12345)


def test_banner_silent_server_returns_nothing_quickly() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(10)

    started = time.monotonic()
    slow_limits = ScanLimits(
        connect_timeout_s=0.5, read_timeout_s=5.0, per_connection_deadline_s=5.0
    )
    assert run(BannerProbe(), silent, slow_limits) == []
    assert time.monotonic() - started < 1.6


async def _close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


def test_banner_on_immediate_close_returns_nothing() -> None:
    assert run(BannerProbe(), _close_at_once) == []


@pytest.mark.parametrize(
    "probe",
    [RtspProbe(), HikSdkProbe(), DahuaDvripProbe(), XiongmaiProbe(), OnvifProbe()],
    ids=lambda p: p.name,
)
def test_immediate_close_is_probe_closed(probe: Probe) -> None:
    with pytest.raises(ProbeClosed):
        run(probe, _close_at_once)


# --- hostile servers: only ProbeError or observations, within the deadline --------------


async def _garbage_flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    chunk = bytes(range(256)) * 64
    for _ in range(200):
        writer.write(chunk)
        await writer.drain()


async def _drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    for _ in range(100):
        writer.write(b"\xff")
        await writer.drain()
        await asyncio.sleep(0.1)


async def _lying_lengths(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(0.05)
    writer.write(
        b"\xff\x01\x00\x00"
        + b"\x00" * 10
        + b"\xef\x03"
        + b"\xff\xff\xff\x7f"  # Sofia, 2 GiB data
        + b"RTSP/1.0 200 OK\r\nContent-Length: 99999999999\r\n\r\n"
    )
    await writer.drain()


async def _dhip_lies(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1024)
    writer.write(dahua_wire.build_dhip(b'{"params":' + b"[" * 5000))
    await writer.drain()


HOSTILE = {"flood": _garbage_flood, "drip": _drip, "lengths": _lying_lengths, "dhip": _dhip_lies}
PROBES = [
    RtspProbe(),
    HikSdkProbe(),
    DahuaDvripProbe(),
    XiongmaiProbe(),
    OnvifProbe(),
    BannerProbe(),
]


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.name)
@pytest.mark.parametrize("hostile", sorted(HOSTILE))
def test_hostile_servers_never_crash_probes(probe: Probe, hostile: str) -> None:
    limits = ScanLimits(
        connect_timeout_s=0.5,
        read_timeout_s=0.3,
        per_connection_deadline_s=0.8,
        read_byte_cap=64 * 1024,
    )
    started = time.monotonic()
    try:
        observations = run(probe, HOSTILE[hostile], limits)
    except ProbeError:
        observations = []
    assert all(isinstance(o, Observation) for o in observations)
    assert time.monotonic() - started < 1.9


# --- registry ---------------------------------------------------------------------------


def test_registry_lists_every_probe_once() -> None:
    names = [probe.name for probe in all_probes()]
    assert {
        "http",
        "https",
        "tls",
        "rtsp",
        "onvif",
        "hik-sdk",
        "dahua-dvrip",
        "xiongmai",
        "tr069",
        "banner",
    } == set(names)
    assert len(names) == len(set(names))
    assert names[-1] == "banner"


def test_registry_hands_the_vendor_endpoints_to_the_http_probes() -> None:
    from provscan.knowledge import load_knowledge
    from provscan.probes.http import HttpProbe

    endpoints = load_knowledge().http_endpoints
    assert endpoints is not None
    http_probes = [p for p in all_probes(endpoints.endpoints) if isinstance(p, HttpProbe)]
    assert len(http_probes) == 2
    assert all(p.endpoints == tuple(endpoints.endpoints) for p in http_probes)
