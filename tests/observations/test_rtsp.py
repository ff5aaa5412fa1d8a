"""RTSP: OPTIONS and DESCRIBE replies, the same observations from a probe and a capture.

Passive analysis frames the replies of one connection by Content-Length; a reply without one
is read as the last (so the OPTIONS reply here declares its empty body).
"""

from __future__ import annotations

from observed import CLIENT, SERVER, Converse, RunProbe, distinct, keys

from provscan.observations import rtsp as observe
from provscan.probes.rtsp import RtspProbe
from provscan.wire import rtsp

PORT = 554
CHALLENGES = [
    ("WWW-Authenticate", rtsp.build_challenge("Digest", "IP Camera(C2183)", nonce="abc")),
    ("WWW-Authenticate", rtsp.build_challenge("Basic", "IP Camera(C2183)")),
]
OPTIONS = rtsp.build_response(
    200,
    "OK",
    "1",
    [
        ("Public", "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"),
        ("Server", "Hikvision-Webs"),
        # passive framing needs it to find the next reply (see the module docstring)
        ("Content-Length", "0"),
    ],
)
DESCRIBE = rtsp.build_response(
    401, "Unauthorized", "2", [*CHALLENGES, ("Date", "  Thu, Jan 01 2026 00:00:00 GMT")]
)


def test_a_response_maps_status_server_public_date_and_realms() -> None:
    response = rtsp.parse_response(DESCRIBE)
    found = observe.response_observations(PORT, "DESCRIBE", response)
    assert keys(found) == [
        ("rtsp", PORT, "rtsp.status_line", "RTSP/1.0 401 Unauthorized"),
        ("rtsp", PORT, "rtsp.date", "  Thu, Jan 01 2026 00:00:00 GMT"),
        ("rtsp", PORT, "rtsp.www_authenticate", " | ".join(value for _, value in CHALLENGES)),
        ("rtsp", PORT, "rtsp.realm", "IP Camera(C2183)"),
        ("rtsp", PORT, "rtsp.realm", "IP Camera(C2183)"),
    ]
    assert [o.detail for o in found if o.field == "rtsp.realm"] == [
        "DESCRIBE Digest",
        "DESCRIBE Basic",
    ]


def test_the_head_of_an_options_reply_is_kept_as_sent() -> None:
    response = rtsp.parse_response(DESCRIBE)
    heads = [
        o.value
        for o in observe.response_observations(PORT, "OPTIONS", response)
        if o.field == "rtsp.head"
    ]
    # the status line, then each header in order, CRLF line ends and the blank line
    lines = ["RTSP/1.0 401 Unauthorized", *(f"{name}: {value}" for name, value in response.headers)]
    assert heads == ["\r\n".join(lines) + "\r\n\r\n"]
    assert "CSeq: 2\r\n" in heads[0]


def test_the_probe_and_a_capture_read_the_replies_alike(
    run_probe: RunProbe, converse: Converse
) -> None:
    def device(request: bytes) -> bytes:
        return OPTIONS if request.startswith(b"OPTIONS ") else DESCRIBE

    active = run_probe(RtspProbe(), PORT, device)
    url = f"rtsp://{SERVER}:{PORT}/"
    requests = rtsp.build_request("OPTIONS", url, 1) + rtsp.build_request("DESCRIBE", url, 2)
    passive = converse(PORT, requests, OPTIONS + DESCRIBE)
    # the probe leaves out what its first reply said already; a host table keeps each once
    assert distinct(active) == distinct(passive[SERVER])
    assert keys(passive[CLIENT]) == [("rtsp", PORT, "rtsp.user_agent", "provscan")] * 2
