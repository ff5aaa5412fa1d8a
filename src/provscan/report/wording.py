"""Small pieces of wording shared by the reports, the progress bars and the CLI's messages."""

from __future__ import annotations

__all__ = ["plural"]


def plural(count: int, noun: str) -> str:
    """``"1 device"``, ``"2 devices"``, ``"0 devices"`` (nouns with a plain plural ``s``)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
