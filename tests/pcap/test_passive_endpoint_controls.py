"""A vendor endpoint's 401 seen in a capture claims its maker only beside a control answer.

A live scan asks a path no device has before the vendor paths (the canary), so a server that
answers 401 to every path is not taken for a Hikvision or a Dahua. A capture has that check
only when the same server answered some other path with 200 or "no such page"; without one,
``GET /ISAPI/System/deviceInfo -> 401`` (a vulnerability scanner or a video-management system
asking a password-protected router, seen on a mirror port) is evidence that claims nothing.
With one, the claim stands and its detail names the control.

The addresses below are data in capture files: nothing is sent anywhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pcap_builders import ACK, FIN, PSH, SYN, pcap_bytes, tcp

from provscan.identify import Identifier
from provscan.knowledge import load_knowledge
from provscan.model import Device, HostEvidence
from provscan.passive import analyse_captures
from provscan.passive.cloud import CloudMatcher
from provscan.passive.hosts import HostTable
from provscan.passive.worker import CallRecorder, _apply
from provscan.pipeline import run_passive

SCANNER, ROUTER = "10.20.0.5", "10.20.0.1"
SCANNER_MAC = "02:00:00:00:20:05"
ROUTER_MAC = "02:00:00:00:20:01"  # locally administered: no maker from the OUI
ISAPI = "/ISAPI/System/deviceInfo"
MAGICBOX = "/cgi-bin/magicBox.cgi?action=getMachineName"
DENIED = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
PAGE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _request(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {ROUTER}", *headers, "", ""]
    return "\r\n".join(lines).encode()


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


def _router(tmp_path: Path, exchanges: list[tuple[bytes, bytes]]) -> Device:
    frames: list[bytes] = []
    for index, (request, reply) in enumerate(exchanges):
        frames += _conversation(41000 + index, request, reply)
    capture = tmp_path / "mirror.pcap"
    capture.write_bytes(pcap_bytes(frames))
    result = run_passive([str(capture)], posture=False)
    return next(device for device in result.devices if device.ip == ROUTER)


def _endpoint_evidence(device: Device) -> dict[str, tuple[str | None, float, str]]:
    return {
        e.observed: (e.rule_id, e.certainty, e.detail)
        for e in device.evidence
        if e.observed_field == "http.endpoint"
    }


VENDOR_PATHS_DENIED = [(_request(ISAPI), DENIED), (_request(MAGICBOX), DENIED)]


def test_401_to_vendor_paths_without_a_control_claims_no_maker(tmp_path: Path) -> None:
    device = _router(tmp_path, VENDOR_PATHS_DENIED)
    assert device.manufacturer is None
    assert not device.restricted
    evidence = _endpoint_evidence(device)
    for path in (ISAPI, MAGICBOX):
        rule, certainty, detail = evidence[f"GET {path} -> 401"]
        assert rule is None and certainty == 0.0
        assert detail.endswith(
            "401 to a vendor path; the capture shows no control request, "
            "so it may answer 401 to every path"
        )
    assert any(note.startswith("port 80 answered 2 vendor paths with 401") for note in device.notes)


@pytest.mark.parametrize(
    ("control", "answer", "status"),
    [("/nothing-here.html", NOT_FOUND, 404), ("/", PAGE, 200)],
    ids=["404", "200"],
)
def test_a_control_answer_of_the_same_server_keeps_the_claim_and_is_named(
    tmp_path: Path, control: str, answer: bytes, status: int
) -> None:
    # The control comes after the vendor paths in the capture: where it is does not matter.
    device = _router(tmp_path, [*VENDOR_PATHS_DENIED, (_request(control), answer)])
    evidence = _endpoint_evidence(device)
    rule, certainty, detail = evidence[f"GET {ISAPI} -> 401"]
    assert rule == "hikvision.http_endpoint.isapi_deviceinfo" and certainty > 0
    assert f"; control GET {control} -> {status} (packet " in detail
    # magicBox.cgi needs a control in /cgi-bin/ too (test_passive_directory_controls.py)
    rule, _, detail = evidence[f"GET {MAGICBOX} -> 401 (whole directory)"]
    assert rule == "dahua.http_endpoint.magicbox_auth_whole_directory"
    assert f"; control GET {control} -> {status} (packet " in detail
    assert not any("no control request" in note for note in device.notes)


def test_provscan_canary_is_the_control_named_when_the_capture_holds_it(tmp_path: Path) -> None:
    device = _router(
        tmp_path,
        [
            (_request("/"), PAGE),
            (_request(ISAPI), DENIED),
            (_request("/provscan-canary-0f3a9c"), NOT_FOUND),
        ],
    )
    detail = _endpoint_evidence(device)[f"GET {ISAPI} -> 401"][2]
    assert "; control GET /provscan-canary-0f3a9c -> 404 (packet " in detail


@pytest.mark.parametrize(
    "credentials", ["Authorization: Basic YWRtaW46YWRtaW4=", "Cookie: session=1"]
)
def test_an_answer_to_a_request_with_credentials_is_no_control(
    tmp_path: Path, credentials: str
) -> None:
    # A video-management system that holds the router's password: its other requests are
    # answered, but an anonymous request for any path might still get 401.
    device = _router(tmp_path, [(_request(ISAPI), DENIED), (_request("/", credentials), PAGE)])
    assert device.manufacturer is None
    rule, certainty, _ = _endpoint_evidence(device)[f"GET {ISAPI} -> 401"]
    assert rule is None and certainty == 0.0


def test_a_401_to_another_path_is_no_control(tmp_path: Path) -> None:
    device = _router(tmp_path, [*VENDOR_PATHS_DENIED, (_request("/index.html"), DENIED)])
    assert device.manufacturer is None


def _table() -> HostTable:
    table = HostTable(CloudMatcher([]))
    table.sender(ROUTER, ROUTER_MAC, 1, 0.0)
    return table


def test_the_stream_worker_carries_control_answers() -> None:
    """The second process's sink writes control answers down and they reach the host
    table as if read in place (``provscan pcap --workers 2``)."""
    request, reply = _request("/nothing-here.html"), NOT_FOUND
    item = (
        SCANNER,
        41000,
        ROUTER,
        80,
        (request, [(0, 3, 1.0)], 3, 1.0, False, False),
        (reply, [(0, 4, 2.0)], 4, 2.0, False, False),
    )
    table = _table()
    _apply(table, CallRecorder({}, {}).read(item))
    assert table.hosts[ROUTER].controls == {80: {404: ("GET /nothing-here.html", 4, 2.0)}}


def test_the_table_keeps_the_first_control_per_status_or_the_canary() -> None:
    table = _table()
    table.control(ROUTER, 80, "GET /a", 404, 10, 1.0)
    table.control(ROUTER, 80, "GET /b", 404, 11, 2.0)
    table.control(ROUTER, 80, "GET /provscan-canary-0f3a9c", 404, 12, 3.0)
    table.control(ROUTER, 80, "GET /c", 404, 13, 4.0)
    table.control(ROUTER, 80, "GET /d", 200, 14, 5.0)
    assert table.hosts[ROUTER].controls == {
        80: {404: ("GET /provscan-canary-0f3a9c", 12, 3.0), 200: ("GET /d", 14, 5.0)}
    }


def test_identification_sees_no_uncontrolled_401(tmp_path: Path) -> None:
    """What the identify stage is handed: no ``http.endpoint`` 401 without a control."""
    seen: list[HostEvidence] = []
    knowledge = load_knowledge()
    identifier = Identifier(knowledge, knowledge.select_policies(None), posture=False)

    def identify(evidence: HostEvidence) -> Device:
        seen.append(evidence)
        return identifier.device(evidence)

    frames: list[bytes] = []
    for index, (request, reply) in enumerate(VENDOR_PATHS_DENIED):
        frames += _conversation(41000 + index, request, reply)
    capture = tmp_path / "mirror.pcap"
    capture.write_bytes(pcap_bytes(frames))
    analyse_captures([str(capture)], identify, knowledge=knowledge)
    router = next(evidence for evidence in seen if evidence.address == ROUTER)
    assert [o for o in router.observations if o.field == "http.endpoint"] == []
