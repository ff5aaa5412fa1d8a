"""Making device-supplied strings safe to show on a terminal."""

from __future__ import annotations


def printable(value: str, limit: int | None = None) -> str:
    """Escape control and format characters (ANSI escapes, bidi overrides) and clip to ``limit``.

    Values observed on the wire come from devices that may be hostile; shown raw, an escape
    sequence could rewrite the terminal or hide a RESTRICTED marker.
    """
    text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in value)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
