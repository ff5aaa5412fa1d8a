"""Normalising real-world product strings and cutting them into candidates."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

#: Unicode dashes and minus signs people paste from datasheets, folded to '-'.
_DASHES = dict.fromkeys(
    map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-"
)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_SPLIT = re.compile(r"[\s,;|]+")
_EDGE_PUNCTUATION = "\"'`.:!?*[]{}<>"
#: Longest run of adjacent tokens tried as one model number ("SS 3530 MF FACE W").
MAX_WINDOW = 5


def normalise(text: str) -> str:
    """NFKC, unicode dashes folded to '-', invisible characters dropped, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text).translate(_DASHES).translate(_INVISIBLE)
    return " ".join(folded.split())


def _strip_token(token: str) -> str:
    token = token.strip(_EDGE_PUNCTUATION)
    # A bracket is part of a model ("IPC-D140H(C)") only when it is balanced.
    while token.endswith(")") and token.count("(") < token.count(")"):
        token = token[:-1]
    while token.startswith("(") and token.count("(") > token.count(")"):
        token = token[1:]
    return token.strip(_EDGE_PUNCTUATION)


def tokens(text: str) -> list[str]:
    """The words of a normalised string, edge punctuation removed."""
    return [t for t in (_strip_token(raw) for raw in _SPLIT.split(normalise(text))) if t]


@dataclass(frozen=True)
class Candidate:
    """A run of adjacent tokens that may be a model number."""

    text: str
    start: int
    length: int
    #: True when the words were joined with '-' rather than a space (a reconstruction).
    dash_joined: bool = False


def candidates(words: Sequence[str], max_window: int = MAX_WINDOW) -> Iterator[Candidate]:
    """Every run of 1..max_window tokens that contains a digit, joined by a space and by '-'."""
    for start in range(len(words)):
        for length in range(1, min(max_window, len(words) - start) + 1):
            window = words[start : start + length]
            if not any(character.isdigit() for word in window for character in word):
                continue
            yield Candidate(" ".join(window), start, length)
            if length > 1 and length <= 3:
                # "DS 2CD2143G0 I" as typed from a label -> "DS-2CD2143G0-I"
                yield Candidate("-".join(window), start, length, dash_joined=True)


def looks_like_model(word: str) -> bool:
    """A token with letters and digits, at least 4 characters: worth naming when nothing matched."""
    return (
        len(word) >= 4
        and any(c.isdigit() for c in word)
        and any(c.isalpha() for c in word)
        and not re.fullmatch(r"\d+(?:[.,]\d+)?(?:MM|MP|TB|GB|M|K|CH|P|W|V)?", word, re.IGNORECASE)
    )
