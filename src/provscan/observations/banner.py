"""Banners: what a service says unasked (telnet, FTP, SSH, DVR consoles) -> observations.

Telnet option negotiation (``IAC`` sequences, RFC 854/855) is removed before anything is
read as text, so a telnet greeting is matched by its words, not by the negotiation bytes
that precede it (``ÿû\\x01`` in Latin-1 would otherwise look printable).
"""

from __future__ import annotations

from provscan.model import Observation

PROTOCOL = "banner"
MAX_BANNER_CHARS = 200
#: ``banner.lines`` keeps at most this many non-empty lines, and this many characters.
MAX_LINES = 5
MAX_LINES_CHARS = 400
#: How ``banner.lines`` joins the lines.
LINE_SEPARATOR = " | "
#: Bytes of a banner kept as received in ``banner.raw`` (for matchers of whole replies).
MAX_RAW_BYTES = 2048

IAC, SB, SE = 0xFF, 0xFA, 0xF0
#: WILL, WONT, DO, DONT: a three-byte negotiation (IAC, verb, option).
_NEGOTIATION_VERBS = frozenset({0xFB, 0xFC, 0xFD, 0xFE})


def strip_telnet(data: bytes) -> bytes:
    """``data`` without telnet commands: ``IAC IAC`` stays one 0xFF byte, subnegotiations
    (``IAC SB … IAC SE``) and ``IAC WILL/WONT/DO/DONT <option>`` go, as does any other
    two-byte ``IAC <command>``. A sequence cut off at the end of ``data`` is dropped."""
    if IAC not in data:
        return data
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        byte = data[i]
        if byte != IAC:
            out.append(byte)
            i += 1
            continue
        command = data[i + 1] if i + 1 < n else None
        if command is None:
            break
        if command == IAC:
            out.append(IAC)
            i += 2
        elif command in _NEGOTIATION_VERBS:
            i += 3
        elif command == SB:
            end = data.find(bytes((IAC, SE)), i + 2)
            i = n if end < 0 else end + 2
        else:
            i += 2
    return bytes(out)


def printable(data: bytes, limit: int) -> str:
    """Latin-1 text with control characters removed, whitespace collapsed, capped."""
    text = data.decode("latin-1")
    kept = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(kept.split())[:limit]


def banner_lines(data: bytes) -> list[str]:
    """The non-empty printable lines of a banner, telnet commands removed."""
    raw = strip_telnet(data).replace(b"\r", b"\n").split(b"\n")
    return [line for line in (printable(part, MAX_BANNER_CHARS) for part in raw) if line]


def banner_observations(port: int, data: bytes, detail: str) -> list[Observation]:
    """``banner.text``: the first non-empty printable line; ``banner.lines``: the first
    :data:`MAX_LINES` non-empty lines joined by `` | `` when there are two or more (a
    telnet greeting and its ``Login:`` prompt); ``banner.raw``: the first
    :data:`MAX_RAW_BYTES` as received, telnet negotiation and all (Latin-1, so every byte is
    one character), for matchers that read a whole reply (nmap's service probes).
    ``detail``: how much was seen."""
    if not data:
        return []
    found = [
        Observation(PROTOCOL, port, "banner.raw", data[:MAX_RAW_BYTES].decode("latin-1"), detail)
    ]
    lines = banner_lines(data)
    if lines:
        found.append(Observation(PROTOCOL, port, "banner.text", lines[0], detail))
    if len(lines) > 1:
        joined = LINE_SEPARATOR.join(lines[:MAX_LINES])[:MAX_LINES_CHARS]
        found.append(Observation(PROTOCOL, port, "banner.lines", joined, detail))
    return found
