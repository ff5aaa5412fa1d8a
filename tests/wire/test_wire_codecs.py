"""Round trips and hostile inputs for the pure wire codecs (no I/O)."""

from __future__ import annotations

import contextlib
import json
import random
import struct
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from provscan.errors import ProtocolError
from provscan.wire import dahua, hik_sdk, http1, onvif, rtsp, xiongmai

# --- HTTP/1.x ---------------------------------------------------------------------------


def test_http_request_is_exact() -> None:
    request = http1.build_request(
        "POST",
        "/onvif/device_service",
        "127.0.0.1:80",
        headers=[("Content-Type", "application/soap+xml"), ("Connection", "close")],
        body=b"<x/>",
    )
    assert request == (
        b"POST /onvif/device_service HTTP/1.1\r\nHost: 127.0.0.1:80\r\n"
        b"Content-Type: application/soap+xml\r\nConnection: close\r\nContent-Length: 4\r\n\r\n<x/>"
    )
    assert http1.build_request("GET", "/", "h").endswith(b"Host: h\r\n\r\n")


@pytest.mark.parametrize(
    "args",
    [
        ("GET", "/a\r\nX: y", "h"),
        ("GET", "/", "h\r\nX: y"),
        ("GET", "nopath", "h"),
        ("G ET", "/", "h"),
    ],
)
def test_http_request_refuses_injection(args: tuple[str, str, str]) -> None:
    with pytest.raises(ValueError):
        http1.build_request(*args)


def test_http_round_trip_content_length_keeps_order_and_case() -> None:
    headers = [("CONNECTION", "close"), ("CONTENT-TYPE", "text/html"), ("Server", "App-webs/")]
    raw = http1.build_response(401, "Unauthorized", headers, b"denied")
    response = http1.parse_response(raw)
    assert (response.version, response.status, response.reason) == ("HTTP/1.1", 401, "Unauthorized")
    assert response.headers[:3] == headers
    assert response.header("server") == "App-webs/"
    assert response.body == b"denied"
    assert response.complete and response.framing == http1.FRAMING_LENGTH
    assert response.status_line == "HTTP/1.1 401 Unauthorized"


def test_http_chunked_close_delimited_and_truncated() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;x=1\r\npedia\r\n0\r\n\r\n"
    response = http1.parse_response(chunked)
    assert response.body == b"Wikipedia" and response.complete
    partial = http1.parse_response(chunked[:-12])
    assert partial.body.startswith(b"Wiki") and not partial.complete

    closed = http1.parse_response(b"HTTP/1.0 200 OK\nServer: x\n\nbody until close")
    assert closed.body == b"body until close" and closed.framing == http1.FRAMING_CLOSE

    short = http1.parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    assert short.body == b"abc" and not short.complete

    no_end = http1.parse_response(b"HTTP/1.1 200 OK\r\nServer: half")
    assert not no_end.complete and no_end.header("Server") == "half"

    assert http1.parse_response(b"HTTP/1.1 204 No Content\r\n\r\nleftover").body == b""


def test_http_tolerates_junk_header_lines() -> None:
    raw = b"\r\nHTTP/1.1 200\r\nno colon here\r\n: empty name\r\nX-Ok: 1\r\n folded\r\n\r\n"
    response = http1.parse_response(raw)
    assert response.reason == ""
    assert response.anomalies == 2
    assert response.headers == [("X-Ok", "1 folded")]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\x01\x02garbage",
        b"SSH-2.0-OpenSSH_8.9\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 400 + b"\r\n",
    ],
)
def test_http_refuses_garbage_and_absurd_values(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        http1.parse_response(raw)


# --- RTSP -------------------------------------------------------------------------------


def test_rtsp_requests_are_exact() -> None:
    assert rtsp.build_request("OPTIONS", "rtsp://127.0.0.1:554/", 1) == (
        b"OPTIONS rtsp://127.0.0.1:554/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: provscan\r\n\r\n"
    )
    assert rtsp.build_request("DESCRIBE", "rtsp://127.0.0.1:554/", 2) == (
        b"DESCRIBE rtsp://127.0.0.1:554/ RTSP/1.0\r\nCSeq: 2\r\nUser-Agent: provscan\r\n"
        b"Accept: application/sdp\r\n\r\n"
    )
    method, url, headers = rtsp.parse_request_head(rtsp.build_request("OPTIONS", "rtsp://h/", 7))
    assert (method, url, dict(headers)["CSeq"]) == ("OPTIONS", "rtsp://h/", "7")
    with pytest.raises(ValueError):
        rtsp.build_request("SETUP", "rtsp://h/", 1)  # provscan never starts a media session


def test_rtsp_round_trip_with_several_challenges() -> None:
    raw = rtsp.build_response(
        401,
        "Unauthorized",
        "2",
        [
            ("WWW-Authenticate", rtsp.build_challenge("Digest", "Hikvision", nonce="abc")),
            ("WWW-Authenticate", rtsp.build_challenge("Basic", "/")),
            ("Date", " Thu, May 14 2020 16:45:35 GMT"),
        ],
    )
    response = rtsp.parse_response(raw)
    assert response.status_line == "RTSP/1.0 401 Unauthorized"
    assert response.cseq == "2"
    assert [(c.scheme, c.realm) for c in response.challenges] == [
        ("Digest", "Hikvision"),
        ("Basic", "/"),
    ]
    assert response.challenges[0].param("nonce") == "abc"
    assert response.www_authenticate == ['Digest realm="Hikvision", nonce="abc"', 'Basic realm="/"']
    assert response.date == " Thu, May 14 2020 16:45:35 GMT"  # Hikvision's two spaces survive
    assert response.server is None


def test_rtsp_challenge_parsing_is_tolerant() -> None:
    challenges = rtsp.parse_challenges(
        'Digest qop="auth", realm="IP Camera(C2183)", nonce="a\\"b", stale="FALSE", Basic realm=device'
    )
    assert [(c.scheme, c.realm) for c in challenges] == [
        ("Digest", "IP Camera(C2183)"),
        ("Basic", "device"),
    ]
    assert challenges[0].param("nonce") == 'a"b'
    assert rtsp.parse_challenges('Basic realm="unterminated')[0].realm == "unterminated"
    assert rtsp.parse_challenges("=== ,,, \x00") == []
    quoted = rtsp.build_challenge("Digest", 'a"b\\c')
    assert rtsp.parse_challenges(quoted)[0].realm == 'a"b\\c'


def test_rtsp_body_and_junk() -> None:
    raw = b"\r\nRTSP/1.0 200 OK\r\nCSeq: 1\r\njunk line\r\nContent-Length: 5\r\n\r\nv=0\r\n"
    response = rtsp.parse_response(raw)
    assert response.body == b"v=0\r\n" and response.anomalies == 1 and response.complete


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"HTTP/1.1 200 OK\r\n\r\n",
        b"\xff\xfe\x00garbage",
        b"RTSP/1.0 abc OK\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nContent-Length: 9999999\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nContent-Length: x\r\n\r\n",
    ],
)
def test_rtsp_refuses_garbage(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        rtsp.parse_response(raw)


# --- ONVIF ------------------------------------------------------------------------------


def test_onvif_requests_are_unauthenticated_soap12() -> None:
    for build, name in (
        (onvif.build_get_system_date_and_time, "GetSystemDateAndTime"),
        (onvif.build_get_device_information, "GetDeviceInformation"),
    ):
        envelope = build()
        assert onvif.SOAP12_NS.encode() in envelope
        assert b"Security" not in envelope and b"Password" not in envelope
        assert onvif.parse_response(envelope).body_element == name


def test_onvif_round_trips() -> None:
    info = onvif.DeviceInformation(
        "HIKVISION", "DS-2CD2143G0-I", "V5.5.0", "DS-2CD2143G0-I2019", "88"
    )
    assert (
        onvif.parse_response(onvif.build_device_information_response(info)).device_information
        == info
    )
    when = datetime(2020, 5, 14, 16, 45, 35, tzinfo=UTC)
    reply = onvif.parse_response(onvif.build_system_date_and_time_response(when))
    assert reply.has_system_date_and_time and reply.utc_date_time == when
    fault = onvif.parse_response(
        onvif.build_fault("env:Sender", "ter:NotAuthorized", "Sender not Authorized")
    )
    assert fault.fault == onvif.SoapFault(
        "env:Sender", "ter:NotAuthorized", "Sender not Authorized"
    )


def test_onvif_soap11_fault_and_bad_date() -> None:
    soap11 = (
        b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><e:Fault>'
        b"<faultcode>e:Client</faultcode><faultstring>nope</faultstring></e:Fault></e:Body></e:Envelope>"
    )
    assert onvif.parse_response(soap11).fault == onvif.SoapFault("e:Client", None, "nope")
    bad = onvif.build_system_date_and_time_response(datetime(2020, 5, 14, tzinfo=UTC)).replace(
        b"<tt:Month>5</tt:Month>", b"<tt:Month>13</tt:Month>"
    )
    reply = onvif.parse_response(bad)
    assert reply.has_system_date_and_time and reply.utc_date_time is None


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&lol3;</s:Body></s:Envelope>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&xxe;</s:Body></s:Envelope>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?><!DOCTYPE e SYSTEM "http://127.0.0.1:1/evil.dtd"><e/>"""


@pytest.mark.parametrize("raw", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_onvif_refuses_entity_expansion(raw: bytes) -> None:
    with pytest.raises(ProtocolError, match="XML entity expansion refused"):
        onvif.parse_response(raw)


@pytest.mark.parametrize(
    "raw",
    [
        EXTERNAL_DTD,
        b"",
        b"not xml at all",
        b"<a><b></a>",
        b"<html><body>404</body></html>",
        b'<s:Envelope xmlns:s="x"/>',
        b"<a>" * 50_000,
        b"<?xml version='1.0' encoding='bogus-enc'?><a/>",
        b"<x>" + b"a" * (onvif.MAX_XML_BYTES + 1) + b"</x>",
    ],
)
def test_onvif_refuses_garbage(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        onvif.parse_response(raw)


# --- Hikvision SDK ----------------------------------------------------------------------


def test_hik_sdk_round_trip_and_nmap_reply() -> None:
    assert hik_sdk.HELLO == b""
    reply = hik_sdk.parse_reply(hik_sdk.build_reply())
    assert reply.declared_length == 16 and reply.words == (0x1E, 0x1E, 0)
    assert reply.matches_nmap_control_port
    assert hik_sdk.build_reply() == bytes.fromhex("000000100000001e0000001e00000000")
    longer = hik_sdk.parse_reply(hik_sdk.build_reply((1, 2, 3), b"body") + b"next message")
    assert longer.raw.endswith(b"body") and not longer.matches_nmap_control_port


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\x00\x00\x10", struct.pack(">4I", 4, 0, 0, 0), struct.pack(">4I", 2**31, 0, 0, 0)],
)
def test_hik_sdk_refuses_bad_headers(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        hik_sdk.parse_reply(raw)


# --- Dahua ------------------------------------------------------------------------------


def test_dahua_challenge_request_carries_no_credential() -> None:
    request = dahua.build_login_challenge_request()
    header = dahua.parse_dhip_header(request)
    assert request[:8] == b"\x20\x00\x00\x00DHIP"
    assert header.payload_length == header.total_length == len(request) - 32
    message = json.loads(request[32:])
    assert message["method"] == "global.login" and message["params"]["password"] == ""
    assert set(message["params"]) == {"userName", "password", "clientType", "loginType"}


def test_dahua_challenge_round_trip() -> None:
    raw = dahua.build_login_challenge_reply(
        realm="Login to 4M0747EPAA1D284", mac="3CEF8C6101C0", random="3734299", session=1005027323
    )
    header = dahua.parse_dhip_header(raw)
    assert header.session_id == 1005027323
    reply = dahua.parse_login_reply(raw[32 : 32 + header.payload_length])
    assert reply.is_challenge and reply.error_code == 268632079
    assert (reply.realm, reply.mac, reply.encryption, reply.random, reply.session) == (
        "Login to 4M0747EPAA1D284",
        "3CEF8C6101C0",
        "Default",
        "3734299",
        "1005027323",
    )
    assert reply.result is False


def test_dahua_reply_tolerates_odd_json() -> None:
    text = b'\x00{"error":{"code":"x","message":7},"params":[1],"session":"2f1ce2"}\n{"more":1}\x00'
    reply = dahua.parse_login_reply(text)
    assert reply.error_code is None and reply.error_message == "7" and reply.realm is None
    assert reply.session == "2f1ce2"


def test_dvrip_header_round_trip() -> None:
    header = dahua.parse_dvrip_header(dahua.build_dvrip_header(0xB0, 0x01, 0x20))
    assert (header.command, header.subcode, header.payload_length) == (0xB0, 1, 0x20)
    assert header.command_name == "reply"


@pytest.mark.parametrize(
    ("parse", "raw"),
    [
        (dahua.parse_dhip_header, b"\x20\x00\x00\x00DHIP"),
        (dahua.parse_dhip_header, b"\x20\x00\x00\x00NOPE" + bytes(24)),
        (
            dahua.parse_dhip_header,
            b"\x20\x00\x00\x00DHIP" + struct.pack("<6I", 0, 0, 2**31, 0, 0, 0),
        ),
        (dahua.parse_dvrip_header, b"\xb0\x00"),
        (dahua.parse_dvrip_header, b"\xb0\x00\x00\x00" + struct.pack("<I", 2**31) + bytes(24)),
        (dahua.parse_dvrip_header, dahua.build_login_challenge_request()),
        (dahua.parse_login_reply, b""),
        (dahua.parse_login_reply, b"[1,2,3]"),
        (dahua.parse_login_reply, b"{" * 10 + b"garbage"),
        (dahua.parse_login_reply, b'{"a":' + b"[" * 20000 + b"]" * 20000 + b"}"),
        (dahua.parse_login_reply, b"{}" + b" " * (dahua.MAX_PAYLOAD_BYTES + 1)),
    ],
)
def test_dahua_refuses_bad_input(parse: Callable[[bytes], object], raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse(raw)


# --- Xiongmai ---------------------------------------------------------------------------


def test_xiongmai_keepalive_is_exact_and_round_trips() -> None:
    request = xiongmai.build_keepalive_request()
    assert request[:20].hex() == "ff00000000000000000000000000ee032f000000"
    message = xiongmai.parse_message(request)
    assert message.header.message_id == xiongmai.MSG_KEEPALIVE_REQUEST
    assert message.complete
    assert json.loads(message.json_text() or "") == {"Name": "KeepAlive", "SessionID": "0x00000000"}
    assert b"PassWord" not in request and b"UserName" not in request


def test_xiongmai_header_fields() -> None:
    raw = xiongmai.build_header(
        1001, 5, session_id=0x1234, sequence=7, version=1, channel=2, end_flag=1
    )
    header = xiongmai.parse_header(raw)
    assert header == xiongmai.SofiaHeader(0xFF, 1, 0x1234, 7, 2, 1, 1001, 5)
    partial = xiongmai.parse_message(raw + b"ab")
    assert partial.data == b"ab" and not partial.complete and partial.json_text() is None


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\x00",
        b"\x00" * 20,
        struct.pack("<BBxxIIBBHI", 0xFF, 0, 0, 0, 0, 0, 1001, 2**31),
    ],
)
def test_xiongmai_refuses_bad_headers(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        xiongmai.parse_message(raw)


# --- property-style: random and mutated input raises only ProtocolError ------------------

PARSERS: list[Callable[[bytes], object]] = [
    http1.parse_response,
    rtsp.parse_response,
    onvif.parse_response,
    hik_sdk.parse_reply,
    dahua.parse_dhip_header,
    dahua.parse_dvrip_header,
    dahua.parse_login_reply,
    xiongmai.parse_message,
]

SEEDS = [
    http1.build_response(
        200,
        "OK",
        [("Transfer-Encoding", "chunked")],
        b"4\r\nWiki\r\n0\r\n\r\n",
        add_content_length=False,
    ),
    rtsp.build_response(
        401, "Unauthorized", "1", [("WWW-Authenticate", 'Digest realm="x", nonce="y"')]
    ),
    onvif.build_device_information_response(onvif.DeviceInformation("A", "B", "C", "D", "E")),
    hik_sdk.build_reply(),
    dahua.build_login_challenge_reply(realm="Login to X", mac="AA", random="1", session=1),
    xiongmai.build_keepalive_request(),
]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        choice = rng.random()
        position = rng.randrange(len(buffer) + 1)
        if choice < 0.4 and buffer:
            buffer[min(position, len(buffer) - 1)] = rng.randrange(256)
        elif choice < 0.7:
            buffer[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
        else:
            del buffer[position : position + rng.randint(1, 8)]
    return bytes(buffer[: rng.randint(0, len(buffer))]) if rng.random() < 0.3 else bytes(buffer)


def test_random_and_mutated_bytes_raise_only_protocol_error() -> None:
    rng = random.Random(0)
    inputs = [bytes(rng.randrange(256) for _ in range(rng.randint(0, 96))) for _ in range(300)]
    inputs += [_mutate(rng, rng.choice(SEEDS)) for _ in range(600)]
    for data in inputs:
        for parse in PARSERS:
            with contextlib.suppress(ProtocolError):
                parse(data)
