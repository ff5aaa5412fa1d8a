"""Only a real Dahua RPC2 login answer is a login page: a web server that answers the probe's
``POST /RPC2_Login`` with 501 or 405 serves no login (it was flagged "serves a login page over
plain HTTP" because the probe's own record of the request matched the marker).

Real servers on loopback, a real scan, the bundled knowledge.
"""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator

import pytest
from helpers import TEST_LIMITS

from provscan.knowledge.loader import load_posture_knowledge
from provscan.lab.server import load_devices, run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.model import AttemptStatus, Device, Observation, ProbeAttempt
from provscan.pipeline import run_scan
from provscan.posture.assess import assess_device
from provscan.targets import build_targets

PLAIN_SERVER = "127.166.0.9"
METHOD_NOT_ALLOWED_SERVER = "127.166.0.10"
LAB_DAHUA = "127.166.0.11"
LAB_DAHUA_API_ONLY = "127.166.0.12"
PORT = 8080


class _MethodNotAllowed(http.server.SimpleHTTPRequestHandler):
    """A page server that refuses POST with 405 (as many frameworks do)."""

    def do_POST(self) -> None:
        self.send_error(405, "Method Not Allowed")

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """``python3 -m http.server``: GET serves files, POST is answered 501."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    root = tmp_path_factory.mktemp("www")
    (root / "index.html").write_text(
        "<html><head><title>Files</title></head><body>hi</body></html>"
    )
    running = []
    for address, handler in (
        (PLAIN_SERVER, _Quiet),
        (METHOD_NOT_ALLOWED_SERVER, _MethodNotAllowed),
    ):

        def make(*args: object, handler: type = handler) -> http.server.BaseHTTPRequestHandler:
            return handler(*args, directory=str(root))

        server = http.server.ThreadingHTTPServer((address, PORT), make)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        running.append(server)
    try:
        yield
    finally:
        for server in running:
            server.shutdown()
            server.server_close()


def _scan(address: str) -> Device:
    result = asyncio.run(
        run_scan(build_targets([address]), [address], [PORT], limits=TEST_LIMITS, discovery=None)
    )
    return next(device for device in result.devices if device.ip == address)


def _endpoint_lines(device: Device) -> list[str]:
    return [
        o.value
        for attempt in device.attempts
        for o in attempt.observations
        if o.field == "http.endpoint" and "RPC2_Login" in o.value
    ]


@pytest.mark.parametrize(
    ("address", "status"), [(PLAIN_SERVER, "501"), (METHOD_NOT_ALLOWED_SERVER, "405")]
)
def test_a_server_refusing_the_rpc2_post_serves_no_login(
    servers: None, address: str, status: str
) -> None:
    # Given a plain page server that refuses POST /RPC2_Login (501 or 405)
    # When it is scanned
    device = _scan(address)
    # Then the probe did record its refusal, and no plain-HTTP login is reported
    assert _endpoint_lines(device) == [f"POST /RPC2_Login -> {status}"]
    assert "plain_http_login" not in {e.kind for e in device.exposure}


def _lab_dahua(address: str, *, root_page: bool) -> DeviceSpec:
    """The lab's Dahua camera on ``PORT``; without its root page only the RPC2 answer is left."""
    spec = next(d for d in load_devices(["dahua"]) if d.id == "dahua-ipc")
    services = []
    for service in spec.services:
        if service.port != 80:
            continue
        options = dict(service.options)
        if not root_page:
            options["routes"] = [r for r in options["routes"] if r["path"] == "/RPC2_Login"]
        services.append(service.model_copy(update={"port": PORT, "options": options}))
    return spec.model_copy(update={"address": address, "services": services})


@pytest.mark.parametrize(
    ("address", "root_page", "evidence"),
    [(LAB_DAHUA, True, "http.body (/)"), (LAB_DAHUA_API_ONLY, False, "dahua.rpc2.error")],
)
def test_the_lab_dahua_login_is_still_a_plain_http_login(
    address: str, root_page: bool, evidence: str
) -> None:
    # Given the lab's Dahua camera, which answers POST /RPC2_Login with the login challenge
    # (with its web UI's root page, and with the login API alone)
    with run_lab_in_thread([_lab_dahua(address, root_page=root_page)]):
        # When it is scanned
        device = _scan(address)
    # Then the port is a login over plain HTTP, shown by the page or by the challenge
    found = [e for e in device.exposure if e.kind == "plain_http_login"]
    assert _endpoint_lines(device) == ["POST /RPC2_Login -> 200"]
    assert [e.port for e in found] == [PORT]
    assert "plain HTTP" in found[0].detail
    assert found[0].evidence.startswith(evidence)
    challenges = [
        o.value
        for attempt in device.attempts
        for o in attempt.observations
        if o.field == "dahua.rpc2.error"
    ]
    assert challenges == ["Component error: login challenge!"]


def test_a_challenge_read_over_https_is_not_a_plain_http_login() -> None:
    # Given a Dahua answering the challenge over HTTPS on 443: the endpoint reader labels
    # what it extracts "http", the HTTPS probe's own observations say "https"
    attempt = ProbeAttempt(
        "https",
        443,
        AttemptStatus.OK,
        (
            Observation("https", 443, "http.endpoint", "POST /RPC2_Login -> 200"),
            Observation("http", 443, "dahua.rpc2.error", "Component error: login challenge!"),
        ),
    )
    device = Device(ip="127.166.0.13", open_ports=(443,), attempts=(attempt,))
    # When posture assesses it
    kinds = {e.kind for e in assess_device(device, load_posture_knowledge()).exposure}
    # Then the TLS port is no plain-HTTP login
    assert "plain_http_login" not in kinds
