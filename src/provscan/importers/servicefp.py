"""nmap service fingerprints (``servicefp``): the raw replies of services nmap could not name.

nmap prints each reply as ``r(PROBE,LENGTH,"escaped bytes")`` after a header
``SF-Port80-TCP:V=7.93%I=7%D=…``, cut into lines that start with ``SF:``. The escaping
(nmap's service_scan.cc, ``addToServiceFingerprint``): letters and digits as they are;
``\\0``, ``\\r``, ``\\n``, ``\\t``; ``\\`` before any of ``\\?"[]().*+$^|``; other
punctuation as it is; every other byte as ``\\xHH``. Pure: text in, bytes out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Most responses read from one fingerprint (nmap sends a few dozen probes at most).
MAX_RESPONSES = 64
_RESPONSE = re.compile(r'r\(([A-Za-z0-9_-]{1,64}),([0-9A-Fa-f]{1,8}),"')
_SIMPLE_ESCAPES = {"0": 0, "r": 13, "n": 10, "t": 9}


@dataclass(frozen=True)
class ProbeResponse:
    """One reply in a fingerprint: the nmap probe that drew it and the bytes (as far as nmap
    kept them; ``length`` is what the service sent)."""

    probe: str
    length: int
    data: bytes


def unfold(fingerprint: str) -> str:
    """The fingerprint as one string: the ``SF:`` line prefixes removed, lines joined."""
    parts = []
    for line in fingerprint.splitlines():
        line = line.strip()
        parts.append(line[3:] if line.startswith("SF:") else line)
    return "".join(parts)


def unescape(text: str, start: int) -> tuple[bytes, int]:
    """The bytes of an escaped string starting at ``start`` (after its opening quote), and
    the index after its closing quote (the end of ``text`` when the quote is missing)."""
    out = bytearray()
    i, n = start, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            return bytes(out), i + 1
        if ch != "\\" or i + 1 >= n:
            out.extend(ch.encode("latin-1", errors="replace"))
            i += 1
            continue
        escaped = text[i + 1]
        if escaped == "x" and i + 4 <= n:
            digits = text[i + 2 : i + 4]
            try:
                out.append(int(digits, 16))
                i += 4
                continue
            except ValueError:
                pass
        if escaped in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[escaped])
        else:
            out.extend(escaped.encode("latin-1", errors="replace"))
        i += 2
    return bytes(out), n


def responses(fingerprint: str) -> list[ProbeResponse]:
    """Every ``r(PROBE,LENGTH,"…")`` of a fingerprint, in order."""
    text = unfold(fingerprint)
    found: list[ProbeResponse] = []
    position = 0
    while len(found) < MAX_RESPONSES:
        match = _RESPONSE.search(text, position)
        if match is None:
            break
        data, position = unescape(text, match.end())
        found.append(ProbeResponse(match.group(1), int(match.group(2), 16), data))
    return found
