"""Header-block helpers shared by the HTTP/1.x and RTSP/1.0 codecs (same text grammar)."""

from __future__ import annotations

from provscan.errors import ProtocolError

#: Most header lines a response may carry before it is refused as absurd.
MAX_HEADER_LINES = 256


def split_head(data: bytes) -> tuple[bytes, bytes, bool]:
    """Split ``data`` at the first blank line.

    Returns ``(head, rest, terminated)``; ``terminated`` is False when no blank line was
    found (the whole input is then taken as the head). Bare ``\\n`` line ends are tolerated
    because embedded servers send them.
    """
    ends = [(i, 4) for i in (data.find(b"\r\n\r\n"),) if i >= 0]
    ends += [(i, 2) for i in (data.find(b"\n\n"),) if i >= 0]
    ends += [(i, 3) for i in (data.find(b"\n\r\n"),) if i >= 0]
    if not ends:
        return data, b"", False
    index, width = min(ends)
    return data[:index], data[index + width :], True


def head_lines(head: bytes) -> list[str]:
    """Decode a head as latin-1 (never fails) and split it into lines without line ends."""
    text = head.decode("latin-1")
    return [line.rstrip("\r") for line in text.split("\n")]


def parse_header_lines(lines: list[str]) -> tuple[list[tuple[str, str]], int]:
    """Parse ``Name: value`` lines, keeping order and the original case of names.

    Lines without a colon or with an empty/space-containing name are skipped and counted
    as anomalies; obsolete line folding (a line starting with space or tab) continues the
    previous value. Raises ProtocolError past :data:`MAX_HEADER_LINES`.
    """
    headers: list[tuple[str, str]] = []
    anomalies = 0
    if len(lines) > MAX_HEADER_LINES:
        raise ProtocolError(f"too many header lines ({len(lines)} > {MAX_HEADER_LINES})")
    for line in lines:
        if not line.strip():
            continue
        if line[0] in " \t":
            if headers:
                name, value = headers[-1]
                headers[-1] = (name, f"{value} {line.strip()}".strip())
            else:
                anomalies += 1
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or " " in name.strip() or "\t" in name:
            anomalies += 1
            continue
        headers.append((name.strip(), value.strip()))
    return headers, anomalies


def first_header(headers: list[tuple[str, str]], name: str) -> str | None:
    """The first value of header ``name`` (case-insensitive), or None."""
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


def all_headers(headers: list[tuple[str, str]], name: str) -> list[str]:
    """Every value of header ``name`` (case-insensitive), in order."""
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def check_token(value: str, what: str) -> str:
    """Refuse CR, LF and NUL in a value we are about to put on the wire (header injection)."""
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError(f"{what} must not contain CR, LF or NUL: {value!r}")
    return value


#: Characters of a head kept by :func:`format_head` (enough for any status line and headers
#: a device sends; a longer head is cut, not refused).
MAX_HEAD_CHARS = 4096


def format_head(status_line: str, headers: list[tuple[str, str]]) -> str:
    """A parsed head written back as text: the status line and every header in the order and
    case sent, ``Name: value`` with one space, CRLF line ends, the blank line after it.

    What a parser dropped as malformed is not in it; at most :data:`MAX_HEAD_CHARS`."""
    lines = [status_line, *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n")[:MAX_HEAD_CHARS]
