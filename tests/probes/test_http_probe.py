"""The HTTP probe against real servers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from provscan.engine.connection import HostProbeContext
from provscan.knowledge import load_knowledge
from provscan.knowledge.http_endpoints import HttpEndpoint
from provscan.model import Observation
from provscan.observations.http import CANARY_PATH, favicon_hashes, html_title, realms
from provscan.probes.http import HttpProbe
from provscan.transport.limits import ScanLimits

LIMITS = ScanLimits(connect_timeout_s=1.0, read_timeout_s=1.0, per_connection_deadline_s=2.0)
Handler = Callable[[bytes], bytes]


async def serve_and_probe(
    handler: Handler, endpoints: Sequence[HttpEndpoint] | None = None
) -> tuple[list[Observation], list[bytes]]:
    seen: list[bytes] = []

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.read(65536)
        seen.append(request)
        writer.write(handler(request))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    if endpoints is None:
        bundled = load_knowledge().http_endpoints
        assert bundled is not None
        endpoints = bundled.endpoints
    probe = HttpProbe(endpoints)
    try:
        observations = await probe.run(HostProbeContext("127.0.0.1", port, LIMITS))
    finally:
        server.close()
        await server.wait_closed()
    return observations, seen


def run(
    handler: Handler, endpoints: Sequence[HttpEndpoint] | None = None
) -> tuple[list[Observation], list[bytes]]:
    result: tuple[list[Observation], list[bytes]] = asyncio.run(serve_and_probe(handler, endpoints))
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


def _endpoints(observations: list[Observation]) -> dict[str, str]:
    """``http.endpoint`` value -> detail."""
    return {o.value: o.detail for o in observations if o.field == "http.endpoint"}


def test_a_vendor_endpoint_answer_names_the_control_it_claims_beside() -> None:
    # Given a camera that answers 401 on its ISAPI paths and 404 to a path no device has
    def handler(request: bytes) -> bytes:
        if request.startswith(b"GET /ISAPI/"):
            return response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="x"')])
        return response("404 Not Found", [])

    endpoints = _endpoints(run(handler)[0])
    # Then the answer's detail names the endpoint and the control request with its status
    assert endpoints["GET /ISAPI/System/deviceInfo -> 401"] == (
        "hikvision-isapi-deviceinfo; control GET /provscan-canary-0f3a9c -> 404"
    )
    # and a "no such page" answer, which claims nothing, stands without a control
    assert endpoints["GET /doc/page/login.asp -> 404"] == "hikvision-login-page"


def test_no_endpoint_answer_when_the_canary_fails_and_every_path_is_the_same_page() -> None:
    # Given a server that answers the same page to every path but drops the canary request
    def handler(request: bytes) -> bytes:
        if b"provscan-canary" in request.split(b"\r\n", 1)[0]:
            return b""
        return response("200 OK", [("Content-Type", "text/html")], b"<title>App</title>")

    # Then no vendor path's 200 is reported: / and /favicon.ico answered 200 as well
    assert _endpoints(run(handler)[0]) == {}


def test_no_endpoint_answer_from_a_server_that_asks_every_get_for_a_password() -> None:
    # Given a server that answers 401 to every GET (canary included) and 200 to every POST
    def handler(request: bytes) -> bytes:
        if request.startswith(b"POST "):
            return response("200 OK", [("Content-Type", "application/json")], b"{}")
        return response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="x"')])

    # Then the POST /RPC2_Login 200 claims nothing: no path answered 404 or a page
    assert _endpoints(run(handler)[0]) == {"GET /provscan-canary-0f3a9c -> 401": "canary"}


def test_a_redirect_is_no_control_but_a_missing_favicon_is() -> None:
    # Given a router that redirects every path to its login and protects /cgi-bin/
    def router(favicon: bytes) -> Handler:
        def handler(request: bytes) -> bytes:
            if request.startswith(b"GET /cgi-bin/"):
                return response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="x"')])
            if request.startswith(b"GET /favicon.ico ") and favicon:
                return favicon
            return response("302 Found", [("Location", "/login.html")])

        return handler

    # Then its /cgi-bin/ 401 claims nothing when every other path answered 302 ...
    assert _endpoints(run(router(b""))[0]) == {"GET /provscan-canary-0f3a9c -> 302": "canary"}
    # ... and names the favicon's 404 as its control when that is missing (its directory
    # control, answered 401 like the rest of /cgi-bin/, then keeps it from naming Dahua)
    endpoints = _endpoints(run(router(response("404 Not Found", [])))[0])
    magicbox = endpoints["GET /cgi-bin/magicBox.cgi?action=getMachineName -> 401 (whole directory)"]
    assert magicbox == (
        "dahua-magicbox-machinename; control GET /favicon.ico -> 404; "
        f"directory control GET {DIRECTORY_CONTROL} -> 401"
    )


DIRECTORY_CONTROL = "/cgi-bin/provscan-canary-0f3a9c.cgi"
MAGICBOX = "GET /cgi-bin/magicBox.cgi?action=getMachineName"


def _requests_for(requests: list[bytes], path: str) -> int:
    return sum(1 for r in requests if r.split(b"\r\n", 1)[0].split(b" ")[1] == path.encode())


def test_the_bundled_directory_control_is_a_canary_in_cgi_bin() -> None:
    bundled = load_knowledge().http_endpoints
    assert bundled is not None
    controlled = {e.id: e.directory_control for e in bundled.endpoints if e.directory_control}
    assert controlled == {"dahua-magicbox-machinename": DIRECTORY_CONTROL}
    assert CANARY_PATH.lstrip("/") in DIRECTORY_CONTROL


def test_a_whole_cgi_bin_asking_for_a_password_is_recorded_as_such() -> None:
    # Given a router that asks a password for every path under /cgi-bin/ and 404s the rest
    def router(request: bytes) -> bytes:
        if request.startswith(b"GET /cgi-bin/"):
            return response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="x"')])
        return response("404 Not Found", [])

    observations, requests = run(router)
    endpoints = _endpoints(observations)
    # Then the magicBox 401 is recorded as possibly the whole directory's, naming both controls
    assert f"{MAGICBOX} -> 401" not in endpoints
    assert endpoints[f"{MAGICBOX} -> 401 (whole directory)"] == (
        f"dahua-magicbox-machinename; control GET {CANARY_PATH} -> 404; "
        f"directory control GET {DIRECTORY_CONTROL} -> 401"
    )
    # and the directory control was asked once
    assert _requests_for(requests, DIRECTORY_CONTROL) == 1


def test_a_cgi_bin_that_answers_an_unknown_cgi_otherwise_keeps_the_claim() -> None:
    # Given a camera whose magicBox.cgi asks a password and whose unknown CGIs are not found
    def camera(request: bytes) -> bytes:
        if request.startswith(b"GET /cgi-bin/magicBox.cgi?"):
            return response("401 Unauthorized", [("WWW-Authenticate", 'Digest realm="x"')])
        return response("404 Not Found", [])

    observations, requests = run(camera)
    endpoints = _endpoints(observations)
    # Then the answer stands as before and its detail names the directory control
    assert f"{MAGICBOX} -> 401 (whole directory)" not in endpoints
    assert endpoints[f"{MAGICBOX} -> 401"] == (
        f"dahua-magicbox-machinename; control GET {CANARY_PATH} -> 404; "
        f"directory control GET {DIRECTORY_CONTROL} -> 404"
    )
    assert _requests_for(requests, DIRECTORY_CONTROL) == 1


def test_an_unanswered_directory_control_controls_nothing() -> None:
    # Given a server that protects /cgi-bin/ and drops the directory control's connection
    def router(request: bytes) -> bytes:
        if DIRECTORY_CONTROL.encode() in request.split(b"\r\n", 1)[0]:
            return b""
        if request.startswith(b"GET /cgi-bin/"):
            return response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="x"')])
        return response("404 Not Found", [])

    endpoints = _endpoints(run(router)[0])
    assert endpoints[f"{MAGICBOX} -> 401 (whole directory)"].endswith(
        f"; directory control GET {DIRECTORY_CONTROL} unanswered"
    )


def _answering(status: str, prefix: bytes) -> Handler:
    def handler(request: bytes) -> bytes:
        if request.startswith(prefix):
            return response(status, [("WWW-Authenticate", 'Basic realm="x"')])
        return response("404 Not Found", [])

    return handler


def test_the_directory_control_is_asked_only_after_a_protected_answer_under_it() -> None:
    # Not asked: magicBox.cgi not found, only ISAPI (a vendor directory) protected,
    # magicBox.cgi a page, or every path asking a password (no root control: nothing claimed)
    assert _requests_for(run(lambda _: response("404 Not Found", []))[1], DIRECTORY_CONTROL) == 0
    assert (
        _requests_for(run(_answering("401 Unauthorized", b"GET /ISAPI/"))[1], DIRECTORY_CONTROL)
        == 0
    )
    assert _requests_for(run(_answering("200 OK", b"GET /cgi-bin/"))[1], DIRECTORY_CONTROL) == 0
    assert _requests_for(run(_answering("401 Unauthorized", b"GET "))[1], DIRECTORY_CONTROL) == 0
    # Asked once: magicBox.cgi answered 403 (or 401, above)
    assert (
        _requests_for(run(_answering("403 Forbidden", b"GET /cgi-bin/"))[1], DIRECTORY_CONTROL) == 1
    )


def test_a_directory_control_is_asked_once_per_host_and_port() -> None:
    # Given two endpoints under /cgi-bin/ that share one directory control, both answered 401
    def endpoint(action: str) -> HttpEndpoint:
        return HttpEndpoint(
            id=f"magicbox-{action}",
            method="GET",
            path=f"/cgi-bin/magicBox.cgi?action={action}",
            extractor="none",
            directory_control=DIRECTORY_CONTROL,
            purpose="test",
            sources=["test"],
        )

    observations, requests = run(
        _answering("401 Unauthorized", b"GET /cgi-bin/"),
        [endpoint("getMachineName"), endpoint("getSystemInfo")],
    )
    # Then the control was asked once, and both answers are recorded as the directory's
    assert _requests_for(requests, DIRECTORY_CONTROL) == 1
    assert sorted(_endpoints(observations)) == [
        "GET /cgi-bin/magicBox.cgi?action=getMachineName -> 401 (whole directory)",
        "GET /cgi-bin/magicBox.cgi?action=getSystemInfo -> 401 (whole directory)",
    ]


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
