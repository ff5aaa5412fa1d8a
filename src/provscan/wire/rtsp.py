"""RTSP/1.0 codec (RFC 2326 text framing), pure.

Requests are the two read-only methods a player sends first: ``OPTIONS`` and
``DESCRIBE`` (no SETUP/PLAY, so no media session is ever started). Responses are parsed
tolerantly: junk header lines are skipped and counted, several ``WWW-Authenticate``
headers (and several challenges in one header) are all kept, and a body cut short is
returned as far as it came. Anything that does not start with an ``RTSP/x.y NNN`` status
line raises :class:`provscan.errors.ProtocolError`.
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

USER_AGENT = "provscan"
#: Longest WWW-Authenticate value we tokenize (longer ones are cut, not refused).
MAX_CHALLENGE_CHARS = 4096
MAX_BODY_BYTES = 64 * 1024
MAX_HEAD_BYTES = 32 * 1024

_STATUS_LINE = re.compile(r"^(RTSP/\d\.\d)[ \t]+(\d{3})(?:[ \t]+(.*))?$")
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_METHODS = ("OPTIONS", "DESCRIBE")


@dataclass(frozen=True)
class AuthChallenge:
    """One challenge of a ``WWW-Authenticate`` header."""

    scheme: str
    realm: str | None
    #: Every auth-param as (lower-case name, value), quotes removed.
    params: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> str | None:
        for key, value in self.params:
            if key == name.lower():
                return value
        return None


@dataclass(frozen=True)
class RtspResponse:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    anomalies: int = 0
    #: False when the head had no terminating blank line or the body was cut short.
    complete: bool = True
    #: The Date header with only the one conventional space after the colon removed, so
    #: Hikvision's ``Date:  Thu, May 14 2020 ...`` (two spaces) keeps a leading space.
    raw_date: str | None = None

    @property
    def status_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}".rstrip()

    def header(self, name: str) -> str | None:
        return first_header(self.headers, name)

    @property
    def server(self) -> str | None:
        return self.header("Server")

    @property
    def public(self) -> str | None:
        return self.header("Public")

    @property
    def date(self) -> str | None:
        """The raw Date value (see :attr:`raw_date`)."""
        return self.raw_date if self.raw_date is not None else self.header("Date")

    @property
    def cseq(self) -> str | None:
        return self.header("CSeq")

    @property
    def www_authenticate(self) -> list[str]:
        """Raw WWW-Authenticate values, in order."""
        return all_headers(self.headers, "WWW-Authenticate")

    @property
    def challenges(self) -> list[AuthChallenge]:
        found: list[AuthChallenge] = []
        for value in self.www_authenticate:
            found.extend(parse_challenges(value))
        return found


def build_request(
    method: str,
    url: str,
    cseq: int,
    headers: Iterable[tuple[str, str]] = (),
) -> bytes:
    """``OPTIONS``/``DESCRIBE`` request with ``CSeq`` and ``User-Agent: provscan``."""
    if method not in _METHODS:
        raise ValueError(f"provscan only sends {_METHODS}, not {method!r}")
    check_token(url, "url")
    if " " in url or not url.startswith(("rtsp://", "*")):
        raise ValueError(f"bad RTSP url {url!r}")
    if not 0 <= cseq < 2**31:
        raise ValueError(f"CSeq out of range: {cseq}")
    lines = [f"{method} {url} RTSP/1.0", f"CSeq: {cseq}", f"User-Agent: {USER_AGENT}"]
    if method == "DESCRIBE":
        lines.append("Accept: application/sdp")
    for name, value in headers:
        lines.append(f"{check_token(name, 'header name')}: {check_token(value, 'header value')}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def parse_request_head(data: bytes) -> tuple[str, str, list[tuple[str, str]]]:
    """``(method, url, headers)`` of a request head (the device side). Raises ProtocolError."""
    head, _, _ = split_head(data.lstrip(b"\r\n"))
    lines = head_lines(head[:MAX_HEAD_BYTES])
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("RTSP/") or not _TOKEN.fullmatch(parts[0]):
        raise ProtocolError(f"not an RTSP request line: {lines[0][:80]!r}")
    headers, _ = parse_header_lines(lines[1:])
    return parts[0], parts[1], headers


def build_response(
    status: int,
    reason: str,
    cseq: str | None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    version: str = "RTSP/1.0",
) -> bytes:
    """A response (the device side). Headers are written verbatim, in the given order;
    a header name may carry its own separator spacing, e.g. ``("Date", " Thu, ...")``."""
    lines = [f"{version} {status} {check_token(reason, 'reason')}".rstrip()]
    if cseq is not None:
        lines.append(f"CSeq: {check_token(cseq, 'CSeq')}")
    for name, value in headers:
        lines.append(f"{check_token(name, 'header name')}: {check_token(value, 'header value')}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def build_challenge(scheme: str, realm: str, **params: str) -> str:
    """A ``WWW-Authenticate`` value such as ``Digest realm="x", nonce="y"``."""
    if not _TOKEN.fullmatch(scheme):
        raise ValueError(f"bad auth scheme {scheme!r}")
    items = [("realm", realm), *params.items()]
    rendered = ", ".join(f'{name}="{_quote(check_token(value, name))}"' for name, value in items)
    return f"{scheme} {rendered}"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _read_quoted(text: str, position: int) -> tuple[str, int]:
    """Read a quoted-string starting after the opening quote; tolerate a missing end."""
    out: list[str] = []
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            out.append(text[position + 1])
            position += 2
            continue
        if char == '"':
            return "".join(out), position + 1
        out.append(char)
        position += 1
    return "".join(out), position


def parse_challenges(value: str) -> list[AuthChallenge]:
    """Every challenge in one ``WWW-Authenticate`` value (RFC 7235 grammar, tolerant).

    ``Digest realm="a", nonce="b", Basic realm="c"`` gives two challenges. Never raises on
    odd input: unparseable fragments are skipped.
    """
    text = value[:MAX_CHALLENGE_CHARS]
    challenges: list[tuple[str, list[tuple[str, str]]]] = []
    position = 0
    while position < len(text):
        while position < len(text) and text[position] in " \t,":
            position += 1
        match = _TOKEN.match(text, position)
        if match is None:
            position += 1  # junk character: skip it
            continue
        token = match.group(0)
        position = match.end()
        look = position
        while look < len(text) and text[look] in " \t":
            look += 1
        if look < len(text) and text[look] == "=" and challenges:
            look += 1
            while look < len(text) and text[look] in " \t":
                look += 1
            if look < len(text) and text[look] == '"':
                param_value, position = _read_quoted(text, look + 1)
            else:
                end = look
                while end < len(text) and text[end] != ",":
                    end += 1
                param_value, position = text[look:end].strip(), end
            challenges[-1][1].append((token.lower(), param_value))
        elif look < len(text) and text[look] == "=":
            position = look + 1  # token68 or a param before any scheme: skip
        else:
            challenges.append((token, []))
    return [
        AuthChallenge(scheme, dict(params).get("realm"), tuple(params))
        for scheme, params in challenges
    ]


def parse_response(data: bytes) -> RtspResponse:
    """Parse the first RTSP response in ``data``. Raises ProtocolError on garbage."""
    if not isinstance(data, bytes | bytearray):
        raise ProtocolError("response must be bytes")
    stripped = bytes(data).lstrip(b"\r\n\t ")
    if not stripped:
        raise ProtocolError("empty RTSP response")
    head, rest, terminated = split_head(stripped)
    if len(head) > MAX_HEAD_BYTES:
        raise ProtocolError(f"RTSP head larger than {MAX_HEAD_BYTES} bytes")
    lines = head_lines(head)
    match = _STATUS_LINE.match(lines[0].strip())
    if match is None:
        raise ProtocolError(f"not an RTSP status line: {lines[0][:80]!r}")
    version, status, reason = match.group(1), int(match.group(2)), (match.group(3) or "").strip()
    if status < 100:
        raise ProtocolError(f"RTSP status out of range: {status}")
    headers, anomalies = parse_header_lines(lines[1:])
    raw_date = _raw_value(lines[1:], "date")
    body = b""
    complete = terminated
    length_text = first_header(headers, "Content-Length")
    if terminated and length_text is not None:
        text = length_text.strip()
        if not text.isdigit() or len(text) > 12:
            raise ProtocolError(f"bad RTSP Content-Length {length_text[:20]!r}")
        length = int(text)
        if length > MAX_BODY_BYTES:
            raise ProtocolError(f"absurd RTSP Content-Length {length}")
        body = rest[:length]
        complete = len(body) == length
    return RtspResponse(version, status, reason, headers, body, anomalies, complete, raw_date)


def _raw_value(lines: list[str], name: str) -> str | None:
    for line in lines:
        key, colon, rest = line.partition(":")
        if colon and key.strip().lower() == name:
            return (rest[1:] if rest[:1] in (" ", "\t") else rest).rstrip()
    return None
