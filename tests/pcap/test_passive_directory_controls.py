"""A 401 on Dahua's /cgi-bin/magicBox.cgi seen in a capture names Dahua only beside a control
in /cgi-bin/ itself, as in a live scan (``directory_control`` in ``http_endpoints.yaml``).

lighttpd's ``auth.require`` and BusyBox httpd's ``/cgi-bin:user:pass`` ask a password for
every URL under /cgi-bin/ while ``/`` is answered 404: a root control does not tell such a
router from a Dahua. The capture must show the same server answering another request in
/cgi-bin/ with 200 or "no such page"; else the value gets " (whole directory)" and only the
shared rule reads it (a possible Dahua, for review).

The addresses below are data in capture files: nothing is sent anywhere.
"""

from __future__ import annotations

from pathlib import Path

from pcap_builders import ACK, FIN, PSH, SYN, pcap_bytes, tcp

from provscan.knowledge import load_knowledge
from provscan.model import Device, Evidence
from provscan.passive.cloud import CloudMatcher
from provscan.passive.hosts import HostTable
from provscan.passive.streams import DirectoryControls, StreamAnalyser
from provscan.passive.worker import CallRecorder, _apply
from provscan.pipeline import run_passive
from provscan.report.contract import verdict_of

SCANNER, ROUTER = "10.20.0.5", "10.20.0.1"
SCANNER_MAC = "02:00:00:00:20:05"
ROUTER_MAC = "02:00:00:00:20:01"  # locally administered: no maker from the OUI
MAGICBOX = "/cgi-bin/magicBox.cgi?action=getMachineName"
ANSWER = f"GET {MAGICBOX} -> 401"
WHOLE = f"{ANSWER} (whole directory)"
DIRECTORY_CANARY = "/cgi-bin/provscan-canary-0f3a9c.cgi"
DENIED = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
PAGE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {ROUTER}\r\n\r\n".encode()


def _conversation(client_port: int, request: bytes, reply: bytes) -> list[bytes]:
    def to_router(seq: int, flags: int, payload: bytes = b"") -> bytes:
        return tcp(SCANNER, ROUTER, client_port, 80, seq, flags, payload, SCANNER_MAC, ROUTER_MAC)

    def to_scanner(seq: int, flags: int, payload: bytes = b"") -> bytes:
        return tcp(ROUTER, SCANNER, 80, client_port, seq, flags, payload, ROUTER_MAC, SCANNER_MAC)

    return [
        to_router(100, SYN),
        to_scanner(900, SYN | ACK),
        to_router(101, ACK | PSH, request),
        to_scanner(901, ACK | PSH, reply),
        to_scanner(901 + len(reply), ACK | FIN),
        to_router(101 + len(request), ACK | FIN),
    ]


def _router(tmp_path: Path, conversations: list[list[tuple[str, bytes]]]) -> Device:
    """The router's device from a capture of ``conversations``: each one connection, its
    (path, reply) exchanges on it in order (keep-alive)."""
    frames: list[bytes] = []
    for index, exchanges in enumerate(conversations):
        request = b"".join(_request(path) for path, _ in exchanges)
        reply = b"".join(answer for _, answer in exchanges)
        frames += _conversation(41000 + index, request, reply)
    capture = tmp_path / "mirror.pcap"
    capture.write_bytes(pcap_bytes(frames))
    result = run_passive([str(capture)], posture=False)
    return next(device for device in result.devices if device.ip == ROUTER)


def _answer(device: Device) -> Evidence:
    (answer,) = [e for e in device.evidence if e.observed_field == "http.endpoint"]
    return answer


def _each(*exchanges: tuple[str, bytes]) -> list[list[tuple[str, bytes]]]:
    """One connection per exchange."""
    return [[exchange] for exchange in exchanges]


def _assert_whole_directory(device: Device) -> Evidence:
    context = (device.manufacturer, device.notes, device.evidence)
    assert device.restricted is False, context
    assert device.manufacturer is None, context
    assert verdict_of(device.restricted, device.notes, device.manufacturer) == "review", context
    assert any(n.startswith("review:") and "Dahua" in n for n in device.notes), context
    answer = _answer(device)
    assert answer.observed == WHOLE
    assert answer.rule_id == "dahua.http_endpoint.magicbox_auth_whole_directory"
    assert answer.detail.endswith(
        "; no other request in /cgi-bin/ answered 200 or 404 in the capture, "
        "so it may answer 401 to all of /cgi-bin/"
    )
    return answer


def test_a_router_protecting_all_of_cgi_bin_is_neither_dahua_nor_restricted(
    tmp_path: Path,
) -> None:
    # '/' answered 404 is a root control: before the directory control this was Dahua
    device = _router(
        tmp_path,
        _each((MAGICBOX, DENIED), ("/cgi-bin/x.cgi", DENIED), ("/", NOT_FOUND)),
    )
    answer = _assert_whole_directory(device)
    assert "; control GET / -> 404 (packet " in answer.detail


def test_another_cgi_answered_404_keeps_dahua_and_is_named(tmp_path: Path) -> None:
    device = _router(
        tmp_path,
        _each(("/", NOT_FOUND), (MAGICBOX, DENIED), ("/cgi-bin/x.cgi", NOT_FOUND)),
    )
    assert device.manufacturer == "Dahua"
    assert device.restricted is True
    answer = _answer(device)
    assert answer.observed == ANSWER
    assert answer.rule_id == "dahua.http_endpoint.magicbox_auth"
    root, directory = answer.detail.split("; control ", 1)[1].split("; directory control ")
    assert root.startswith("GET / -> 404 (packet ")
    assert directory.startswith("GET /cgi-bin/x.cgi -> 404 (packet ")


def test_the_directory_request_of_a_captured_live_scan_is_named_first(tmp_path: Path) -> None:
    device = _router(
        tmp_path,
        _each(
            ("/cgi-bin/status.cgi", PAGE),
            (MAGICBOX, DENIED),
            ("/provscan-canary-0f3a9c", NOT_FOUND),
            (DIRECTORY_CANARY, NOT_FOUND),
        ),
    )
    assert device.manufacturer == "Dahua"
    detail = _answer(device).detail
    assert "; control GET /provscan-canary-0f3a9c -> 404 (packet " in detail
    assert f"; directory control GET {DIRECTORY_CANARY} -> 404 (packet " in detail


def test_a_directory_request_later_on_a_kept_alive_connection_counts(tmp_path: Path) -> None:
    # The conversation's 404 to '/' came first: its 404 in /cgi-bin/ is a control all the same
    device = _router(
        tmp_path,
        [[("/", NOT_FOUND), (MAGICBOX, DENIED), ("/cgi-bin/x.cgi", NOT_FOUND)]],
    )
    assert device.manufacturer == "Dahua"
    detail = _answer(device).detail
    assert "; control GET / -> 404 (packet " in detail
    assert "; directory control GET /cgi-bin/x.cgi -> 404 (packet " in detail


def test_what_is_no_control_of_the_directory(tmp_path: Path) -> None:
    # Another action of the vendor's own CGI, a path that leaves /cgi-bin/ once resolved,
    # a request outside it: each is a root control, none a control of /cgi-bin/
    device = _router(
        tmp_path,
        _each(
            (MAGICBOX, DENIED),
            ("/cgi-bin/magicBox.cgi?action=getSystemInfo", PAGE),
            ("/cgi-bin/../index.html", NOT_FOUND),
            ("/cgi-bin/%2e%2e/index.html", NOT_FOUND),
            ("/cgi-binx/a.cgi", NOT_FOUND),
        ),
    )
    _assert_whole_directory(device)


def _table() -> HostTable:
    table = HostTable(CloudMatcher([]))
    table.sender(ROUTER, ROUTER_MAC, 1, 0.0)
    return table


def _endpoints() -> dict[str, object]:
    http = load_knowledge().http_endpoints
    assert http is not None
    return {e.path: e for e in http.endpoints}


def test_the_table_keeps_one_control_per_port_and_directory() -> None:
    table = _table()
    endpoints = _endpoints()
    StreamAnalyser(table, endpoints, {})  # tells the table which directories have one
    for index in range(100):
        table.control(ROUTER, 80, f"GET /cgi-bin/{index}.cgi", 200, 10 + index, 1.0)
    table.control(ROUTER, 80, "GET /cgi-bin/a.cgi", 404, 200, 2.0)
    table.control(ROUTER, 80, f"GET {DIRECTORY_CANARY}", 400, 201, 3.0)
    table.control(ROUTER, 80, "GET /cgi-bin/b.cgi", 404, 202, 4.0)
    table.control(ROUTER, 8080, "GET /cgi-bin/c.cgi", 410, 203, 5.0)
    assert table.hosts[ROUTER].directory_controls == {
        (80, "/cgi-bin/"): (f"GET {DIRECTORY_CANARY}", 400, 201, 3.0),
        (8080, "/cgi-bin/"): ("GET /cgi-bin/c.cgi", 410, 203, 5.0),
    }


def test_the_stream_worker_carries_directory_controls() -> None:
    """Answers read in the second process (``provscan pcap --workers 2``) reach the table's
    directory controls as if read in place."""
    request = _request("/") + _request("/cgi-bin/x.cgi")
    item = (
        SCANNER,
        41000,
        ROUTER,
        80,
        (request, [(0, 3, 1.0)], 3, 1.0, False, False),
        (NOT_FOUND + NOT_FOUND, [(0, 4, 2.0)], 4, 2.0, False, False),
    )
    endpoints = _endpoints()
    table = _table()
    table.directory_controls(DirectoryControls.of(endpoints))
    _apply(table, CallRecorder(endpoints, {}).read(item))
    assert table.hosts[ROUTER].controls == {80: {404: ("GET /", 4, 2.0)}}
    assert table.hosts[ROUTER].directory_controls == {
        (80, "/cgi-bin/"): ("GET /cgi-bin/x.cgi", 404, 4, 2.0)
    }
