"""Banners: what a service says unasked (telnet, FTP, SSH, DVR consoles) -> observations."""

from __future__ import annotations

from provscan.model import Observation

PROTOCOL = "banner"
MAX_BANNER_CHARS = 200


def printable(data: bytes, limit: int) -> str:
    """Latin-1 text with control characters removed, whitespace collapsed, capped."""
    text = data.decode("latin-1")
    kept = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(kept.split())[:limit]


def banner_observations(port: int, data: bytes, detail: str) -> list[Observation]:
    """``banner.text``: the printable part of the first line (``detail``: how much was seen)."""
    first_line = data.replace(b"\r", b"\n").split(b"\n", 1)[0]
    text = printable(first_line, MAX_BANNER_CHARS)
    return [Observation(PROTOCOL, port, "banner.text", text, detail)] if text else []
