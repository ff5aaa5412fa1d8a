"""The stream analyser splits each HTTP response head once (issue 14): what it parses must be
what :func:`provscan.wire.http1.parse_response` makes of the same span, odd heads included."""

from __future__ import annotations

import pytest

from provscan.observations.http import request_observations
from provscan.passive.streams import (
    _parsed_http_responses,
    _parsed_responses,
    parse_requests,
)
from provscan.wire.http1 import build_response, parse_response, parse_split_response

STREAMS = [
    # two keep-alive answers, CRLF heads
    build_response(200, "OK", [("Server", "a")], b"hello\n\nworld")
    + build_response(404, "Not Found", [("Content-Type", "text/html")], b"<p>no</p>"),
    # bare LF lines then a CRLF blank line (split_head ends at the first "\n\r\n")
    b"HTTP/1.1 200 OK\nContent-Length: 5\nX-A: b\n\r\nhello"
    + b"HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=x\r\n\r\n",
    # an LF head whose body holds a CRLF blank line, and a later "\n\r\n"
    b"HTTP/1.1 200 OK\nContent-Length: 9\n\nab\r\n\r\ncd\n\r\nHTTP/1.1 204 No Content\n\n",
    # whitespace before a response, a chunked last one, a head without an end
    b"HTTP/1.1 100 Continue\r\n\r\n  \tHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\n0\r\n\r\n",
    b"HTTP/1.1 302 Found\r\nLocation: /x\r\nSet-Cookie: a=b",
    # a malformed second response: the first is kept, the error named alike
    build_response(200, "OK", [], b"x") + b"garbage\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nContent-Length: 2\r\n\n\r\nok",
]


@pytest.mark.parametrize("stream", STREAMS)
def test_one_split_parses_as_parse_response(stream: bytes) -> None:
    assert _parsed_http_responses(stream) == _parsed_responses(stream, parse_response)


def test_split_response_is_the_response_parsed() -> None:
    raw = build_response(200, "OK", [("Content-Length", "3"), ("X-Y", "z")], b"abcdef")
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert parse_split_response(head, rest) == parse_response(raw)
    assert parse_split_response(head, b"", terminated=False) == parse_response(head)


def test_request_lookup_is_the_first_header_case_insensitively() -> None:
    client = (
        b"GET / HTTP/1.1\r\nhost: one\r\nUser-Agent: ua1\r\nHOST: two\r\nuser-agent: ua2\r\n\r\n"
    )
    (request,) = parse_requests(client)
    assert request.first["host"] == "one"
    given = request_observations(request.headers, 80, "d", request.first)
    assert [(o.field, o.value) for o in given] == [
        ("http.user_agent", "ua1"),
        ("http.host", "one"),
    ]
    assert request_observations(request.headers, 80, "d") == given


def test_a_non_ascii_digit_length_is_a_protocol_error_not_a_crash() -> None:
    """'²' (byte 0xB2, read as Latin-1) is a digit to str.isdigit but not to int(): a reply
    saying ``Content-Length: ²`` is malformed, named as such, and a stream holding it still
    yields what came before it (it raised ValueError, reported as an unexpected error)."""
    from provscan.wire.http1 import ProtocolError

    bad = b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\nabc"
    with pytest.raises(ProtocolError, match="bad Content-Length"):
        parse_response(bad)
    stream = build_response(200, "OK", [("Server", "a")], b"ok") + bad
    parsed = _parsed_http_responses(stream)
    assert parsed == _parsed_responses(stream, parse_response)
    responses, error = parsed
    assert [response.headers for _, response in responses] == [
        [("Server", "a"), ("Content-Length", "2")]
    ]
    assert error is not None and "bad Content-Length" in error
