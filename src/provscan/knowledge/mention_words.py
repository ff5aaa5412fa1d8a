"""``mention_words.yaml``: words that make a maker's name a mention, not the product's label.

"Camera mount for Hikvision", "works with Ring", "Hikvision-compatible NVR", "适用于 华为" name
what a product fits, runs on or replaces, not who made it. Name finding (``NameFinder``) and
product identification (``ProductIdentifier``) compare the single word right before a name with
the ``before`` words and the single word right after it with the ``after`` words, ignoring case.
So every word must be one run of letters or digits (how both split text into words), written
in lower case and NFKC form, and listed once per position. Read into :class:`Knowledge` with
the vocabulary (``loader.py``); a data directory without the file uses the bundled one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from provscan.knowledge.base import Confidence, Problems, StrictModel, check_sources, read_file

MENTION_WORDS_FILE = "mention_words.yaml"
#: One word as the name finders split text: letters and digits, no space or punctuation.
_SINGLE_WORD = re.compile(r"[^\W_]+")
_GROUP_ID = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
#: Where a group's words stand: before the name ("for Hikvision") or after it
#: ("Hikvision compatible").
MentionPosition = Literal["before", "after"]
MentionLanguage = Literal["en", "zh"]


class MentionWordGroup(StrictModel):
    """Words of one language that make a name next to them a mention, with why."""

    id: str
    language: MentionLanguage
    position: MentionPosition
    words: list[str] = Field(min_length=1)
    #: Why these words mark a mention, and which near words were left out and why.
    rationale: str
    confidence: Confidence
    sources: list[str] = Field(min_length=1)


class MentionWordFile(StrictModel):
    description: str
    groups: list[MentionWordGroup] = Field(min_length=1)


@dataclass(frozen=True)
class MentionWords:
    """The words, lower case, by position: compare ``word.casefold()`` (or ``lower()``)."""

    #: A name right after one of these is a mention ("for", "with", "适用于").
    before: frozenset[str]
    #: A name right before one of these is a mention ("compatible", "专用").
    after: frozenset[str]


def _word_problem(word: str, language: MentionLanguage) -> str | None:
    """Why ``word`` cannot be matched as the finders match words, or None."""
    if not word.strip():
        return "an empty word never matches"
    if unicodedata.normalize("NFKC", word) != word:
        return f"{word!r} is not in NFKC form (text is compared after NFKC)"
    if _SINGLE_WORD.fullmatch(word) is None:
        return (
            f"{word!r} is not a single word (letters or digits only, no space or punctuation): "
            "only the one word before or after a name is compared"
        )
    if word != word.casefold() or word != word.lower():
        return f"{word!r} must be written in lower case (words are compared case-insensitively)"
    if language == "en" and not word.isascii():
        return f"{word!r} is tagged en but is not ASCII"
    if language == "zh" and not all(unicodedata.name(c, "").startswith("CJK ") for c in word):
        return f"{word!r} is tagged zh but is not written in Chinese characters"
    return None


def read_mention_words(data_dir: Path, problems: Problems) -> MentionWords | None:
    """Load ``mention_words.yaml``: single lower-case words, each once per position, sources."""
    parsed = read_file(data_dir, MENTION_WORDS_FILE, MentionWordFile, problems, "groups")
    if parsed is None:
        return None
    document = parsed.document
    seen_ids: set[str] = set()
    first_group: dict[tuple[str, str], str] = {}
    for index, group in parsed.indexed(parsed.model.groups):
        at = ("groups", index)
        check_sources(problems, document, at, group.sources)
        if not _GROUP_ID.match(group.id):
            problems.add(document, f"group id {group.id!r} is not like 'en_before'", at)
        if group.id in seen_ids:
            problems.add(document, f"duplicate group id {group.id!r}", at)
        seen_ids.add(group.id)
        if not group.rationale.strip():
            problems.add(document, "rationale must say why these words mark a mention", at)
        for word_index, word in enumerate(group.words):
            word_at = (*at, "words", word_index)
            why = _word_problem(word, group.language)
            if why is not None:
                problems.add(document, why, word_at, entry=document.describe(at))
                continue
            first = first_group.setdefault((group.position, word), group.id)
            if first != group.id or group.words.index(word) != word_index:
                problems.add(
                    document,
                    f"{word!r} is listed twice among the words {group.position} a name "
                    f"(first in group {first!r})",
                    word_at,
                    entry=document.describe(at),
                )
    return MentionWords(
        before=frozenset(word for (position, word) in first_group if position == "before"),
        after=frozenset(word for (position, word) in first_group if position == "after"),
    )
