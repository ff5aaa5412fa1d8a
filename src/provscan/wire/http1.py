"""A small, tolerant HTTP/1.x codec (pure: bytes in, values out).

Shared by the ONVIF probe and the HTTP probe. The public API is:

``build_request(method, path, host, headers=(), body=b"") -> bytes``
    An HTTP/1.1 request. ``Host`` comes first; ``headers`` are sent in the given order and
    case; ``Content-Length`` is added when there is a body (or the method is POST/PUT) and
    the caller did not set it. CR/LF/NUL in any field raises ValueError (no injection).

``parse_response(data: bytes) -> HttpResponse``
    Parses what a device sent: status line, headers as an ordered list of
    ``(name, value)`` with the names' original case, and the body framed by
    ``Transfer-Encoding: chunked``, ``Content-Length`` or the connection close.
    Header lines without a colon are skipped and counted in ``anomalies``. A body cut
    short (fewer bytes than announced, no final chunk) is returned with
    ``complete=False`` rather than raised. Garbage (no ``HTTP/x.y NNN`` status line) and
    absurd values (negative/huge/conflicting Content-Length, bad chunk sizes, too many
    headers) raise :class:`provscan.errors.ProtocolError`.

``build_response(...)`` is the device side, used by the lab and by tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from provscan.errors import ProtocolError
from provscan.wire._headers import (
    all_headers,
    check_token,
    first_header,
    head_lines,
    parse_header_lines,
    split_head,
)

#: Bodies announced larger than this are refused as absurd (we never read that much).
MAX_CONTENT_LENGTH = 64 * 1024 * 1024
#: A head (status line + headers) larger than this is refused.
MAX_HEAD_BYTES = 64 * 1024
#: Most chunks a chunked body may have.
MAX_CHUNKS = 10_000

_STATUS_LINE = re.compile(r"^(HTTP/\d\.\d)[ \t]+(\d{3})(?:[ \t]+(.*))?$")
_METHOD = re.compile(r"^[A-Z][A-Z_-]{0,31}$")

#: How the body of a response was delimited.
FRAMING_NONE = "none"  # 1xx, 204, 304: no body by definition
FRAMING_LENGTH = "content-length"
FRAMING_CHUNKED = "chunked"
FRAMING_CLOSE = "close"  # read until the peer closes


@dataclass(frozen=True)
class HttpResponse:
    status: int
    reason: str
    version: str
    #: (name, value) in the order and case sent.
    headers: list[tuple[str, str]]
    body: bytes
    #: Header lines skipped as malformed (no colon, bad name, stray continuation).
    anomalies: int = 0
    #: False when the body (or the head) was cut short of what the framing announced.
    complete: bool = True
    #: How the body was delimited: one of the ``FRAMING_*`` constants.
    framing: str = FRAMING_CLOSE

    @property
    def status_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}".rstrip()

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), or None."""
        return first_header(self.headers, name)

    def header_all(self, name: str) -> list[str]:
        """All values of header ``name`` (case-insensitive), in order."""
        return all_headers(self.headers, name)


def build_request(
    method: str,
    path: str,
    host: str,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> bytes:
    """Build an HTTP/1.1 request (see the module docstring)."""
    if not _METHOD.match(method):
        raise ValueError(f"bad HTTP method {method!r}")
    if not path.startswith("/") and path != "*":
        raise ValueError(f"request path must start with '/': {path!r}")
    check_token(path, "path")
    if " " in path:
        raise ValueError(f"request path must not contain spaces: {path!r}")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {check_token(host, 'host')}"]
    names: set[str] = set()
    for name, value in headers:
        check_token(name, "header name")
        if not name or ":" in name or " " in name:
            raise ValueError(f"bad header name {name!r}")
        lines.append(f"{name}: {check_token(value, 'header value')}")
        names.add(name.lower())
    if "content-length" not in names and (body or method in ("POST", "PUT")):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def build_response(
    status: int,
    reason: str,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    version: str = "HTTP/1.1",
    add_content_length: bool = True,
) -> bytes:
    """Build a response (the device side). Headers are sent verbatim, in order."""
    lines = [f"{version} {status} {check_token(reason, 'reason')}".rstrip()]
    names: set[str] = set()
    for name, value in headers:
        lines.append(f"{check_token(name, 'header name')}: {check_token(value, 'header value')}")
        names.add(name.lower())
    if add_content_length and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def parse_status_line(line: str) -> tuple[str, int, str]:
    """``HTTP/1.1 200 OK`` -> ("HTTP/1.1", 200, "OK"). Raises ProtocolError."""
    match = _STATUS_LINE.match(line.strip())
    if match is None:
        raise ProtocolError(f"not an HTTP status line: {line[:80]!r}")
    status = int(match.group(2))
    if status < 100:
        raise ProtocolError(f"HTTP status out of range: {status}")
    return match.group(1), status, (match.group(3) or "").strip()


def _content_length(values: list[str]) -> int:
    lengths: set[int] = set()
    for value in values:
        for part in value.split(","):
            text = part.strip()
            if not (text.isascii() and text.isdigit()):  # '²' is a digit to isdigit only
                raise ProtocolError(f"bad Content-Length {value[:40]!r}")
            if len(text) > 12 or int(text) > MAX_CONTENT_LENGTH:
                raise ProtocolError(f"absurd Content-Length {text[:20]}")
            lengths.add(int(text))
    if len(lengths) != 1:
        raise ProtocolError(f"conflicting Content-Length values {sorted(lengths)[:4]}")
    return lengths.pop()


def decode_chunked(data: bytes) -> tuple[bytes, bool]:
    """Decode a chunked body. Returns ``(body, complete)``; complete once the last chunk
    (size 0) was seen. Raises ProtocolError on a bad or absurd chunk size."""
    body = bytearray()
    position = 0
    for _ in range(MAX_CHUNKS):
        line_end = data.find(b"\n", position)
        if line_end < 0:
            if len(data) - position > 64:
                raise ProtocolError("chunk size line too long")
            return bytes(body), False
        size_text = data[position:line_end].split(b";", 1)[0].strip()
        if not size_text or len(size_text) > 8:
            raise ProtocolError(f"bad chunk size {size_text[:16]!r}")
        try:
            size = int(size_text, 16)
        except ValueError as exc:
            raise ProtocolError(f"bad chunk size {size_text[:16]!r}") from exc
        if size < 0 or size > MAX_CONTENT_LENGTH or len(body) + size > MAX_CONTENT_LENGTH:
            raise ProtocolError(f"absurd chunk size {size}")
        position = line_end + 1
        if size == 0:
            return bytes(body), True
        chunk = data[position : position + size]
        body += chunk
        if len(chunk) < size:
            return bytes(body), False
        position += size
        # The CRLF after the chunk data; tolerate a bare LF or its absence at the end.
        if data[position : position + 2] == b"\r\n":
            position += 2
        elif data[position : position + 1] == b"\n":
            position += 1
    raise ProtocolError(f"more than {MAX_CHUNKS} chunks")


def parse_response(data: bytes) -> HttpResponse:
    """Parse an HTTP/1.x response (see the module docstring). Raises ProtocolError."""
    if not isinstance(data, bytes | bytearray):
        raise ProtocolError("response must be bytes")
    data = bytes(data)
    stripped = data.lstrip(b"\r\n\t ")
    if not stripped:
        raise ProtocolError("empty response")
    head, rest, terminated = split_head(stripped)
    return parse_split_response(head, rest, terminated)


def parse_split_response(head: bytes, rest: bytes, terminated: bool = True) -> HttpResponse:
    """:func:`parse_response` of a response its caller already split at its blank line as
    :func:`~provscan.wire._headers.split_head` does (``head``: the status line and headers,
    no leading whitespace; ``rest``: what follows the blank line; ``terminated``: whether
    there was one). The stream analyser finds each head's end once; this spares the search
    over the body again. Raises ProtocolError."""
    if len(head) > MAX_HEAD_BYTES:
        raise ProtocolError(f"response head larger than {MAX_HEAD_BYTES} bytes")
    lines = head_lines(head)
    version, status, reason = parse_status_line(lines[0])
    headers, anomalies = parse_header_lines(lines[1:])
    if not terminated:
        return HttpResponse(
            status,
            reason,
            version,
            headers,
            b"",
            anomalies,
            complete=False,
            framing=FRAMING_NONE,
        )

    if 100 <= status < 200 or status in (204, 304):
        return HttpResponse(status, reason, version, headers, b"", anomalies, True, FRAMING_NONE)

    # Each name lowercased once for both framing headers (all_headers twice did it twice).
    framing: dict[str, list[str]] = {"transfer-encoding": [], "content-length": []}
    for name, value in headers:
        found = framing.get(name.lower())
        if found is not None:
            found.append(value)
    transfer_encoding = ",".join(framing["transfer-encoding"]).lower()
    if "chunked" in transfer_encoding:
        body, complete = decode_chunked(rest)
        return HttpResponse(
            status, reason, version, headers, body, anomalies, complete, FRAMING_CHUNKED
        )
    length_values = framing["content-length"]
    if length_values:
        length = _content_length(length_values)
        body = rest[:length]
        return HttpResponse(
            status,
            reason,
            version,
            headers,
            body,
            anomalies,
            len(body) == length,
            FRAMING_LENGTH,
        )
    return HttpResponse(status, reason, version, headers, rest, anomalies, True, FRAMING_CLOSE)
