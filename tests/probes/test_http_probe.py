"""The HTTP probe against real servers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from provscan.engine.connection import HostProbeContext
from provscan.knowledge import load_knowledge
from provscan.model import Observation
from provscan.observations.http import favicon_hashes, html_title, realms
from provscan.probes.http import HttpProbe
from provscan.transport.limits import ScanLimits

LIMITS = ScanLimits(connect_timeout_s=1.0, read_timeout_s=1.0, per_connection_deadline_s=2.0)
Handler = Callable[[bytes], bytes]


async def serve_and_probe(handler: Handler) -> tuple[list[Observation], list[bytes]]:
    seen: list[bytes] = []

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.read(65536)
        seen.append(request)
        writer.write(handler(request))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    endpoints = load_knowledge().http_endpoints
    assert endpoints is not None
    probe = HttpProbe(endpoints.endpoints)
    try:
        observations = await probe.run(HostProbeContext("127.0.0.1", port, LIMITS))
    finally:
        server.close()
        await server.wait_closed()
    return observations, seen


def run(handler: Handler) -> tuple[list[Observation], list[bytes]]:
    result: tuple[list[Observation], list[bytes]] = asyncio.run(serve_and_probe(handler))
    return result


def response(status: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def test_catch_all_server_yields_no_endpoint_evidence() -> None:
    # Given a server that answers 200 to every path
    observations, requests = run(
        lambda _: response("200 OK", [("Server", "tiny")], b"<title>x</title>")
    )
    endpoint_values = [o.value for o in observations if o.field == "http.endpoint"]
    # Then only the canary is reported: vendor paths prove nothing there
    assert len(endpoint_values) == 1 and "canary" in endpoint_values[0]
    assert any(o.field == "http.server" and o.value == "tiny" for o in observations)
    assert len(requests) >= 3


def test_vendor_endpoint_statuses_are_reported_when_paths_differ() -> None:
    def handler(request: bytes) -> bytes:
        if request.startswith(b"GET /ISAPI/"):
            return response(
                "401 Unauthorized",
                [("WWW-Authenticate", 'Digest qop="auth", realm="IP Camera(C1234)", nonce="ab"')],
            )
        return response("404 Not Found", [])

    observations, _ = run(handler)
    values = {(o.field, o.value) for o in observations}
    assert ("http.realm", "IP Camera(C1234)") in values
    assert ("http.endpoint", "GET /ISAPI/System/deviceInfo -> 401") in values


def test_requests_carry_no_credentials_and_no_exploit_paths() -> None:
    _, requests = run(lambda _: response("404 Not Found", []))
    text = b"\n".join(requests).lower()
    assert b"authorization:" not in text
    assert b"auth=" not in text and b"/sdk/weblanguage" not in text
    # The Dahua login challenge asks with an empty password, never a guessed one.
    rpc2 = [r for r in requests if r.startswith(b"POST /RPC2_Login")]
    assert rpc2 and b'"password":""' in rpc2[0].replace(b" ", b"")


def test_pure_helpers() -> None:
    assert realms('Digest realm="Login to 4M0747EPAA1D284", nonce="x"') == [
        "Login to 4M0747EPAA1D284"
    ]
    assert realms("Basic realm=hikvision") == ["hikvision"]
    assert html_title(b"<html><TITLE> WEB &amp; SERVICE\n</title>") == "WEB & SERVICE"
    assert html_title(b"<html>no title") is None
    md5, murmur = favicon_hashes(b"\x00\x01icon")
    assert len(md5) == 32 and murmur.lstrip("-").isdigit()


def test_hostile_certificates_are_malformed_not_crashes() -> None:
    import random

    import pytest
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from provscan.errors import ProtocolError
    from provscan.observations.tls import certificate_observations
    from provscan.wire.tls import parse_certificate

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.hikvision.com")])
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    observed = {o.field: o.value for o in certificate_observations(parse_certificate(der), 443)}
    assert observed["tls.subject"] == "CN=www.hikvision.com"
    assert observed["tls.self_signed"] == "true"
    rng = random.Random(0)
    for _ in range(300):
        damaged = bytearray(der)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        with contextlib.suppress(ProtocolError):
            certificate = parse_certificate(bytes(damaged[: rng.randint(1, len(damaged))]))
            certificate_observations(certificate, 443)
    with pytest.raises(ProtocolError):
        parse_certificate(b"\x30\x03garbage")
