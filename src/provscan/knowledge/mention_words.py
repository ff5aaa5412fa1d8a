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

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from provscan.knowledge.base import (
    Problems,
    StrictModel,
    WordGroup,
    accepted_words,
    check_word_group,
    read_file,
)

MENTION_WORDS_FILE = "mention_words.yaml"
#: One word as the name finders split text: letters and digits, no space or punctuation.
_SINGLE_WORD = re.compile(r"[^\W_]+")
#: Where a group's words stand: before the name ("for Hikvision") or after it
#: ("Hikvision compatible").
MentionPosition = Literal["before", "after"]
#: en, and the other languages procurement lists are written in: fr, es, de (Latin letters,
#: accents allowed: "für") and zh (Chinese characters).
MentionLanguage = Literal["en", "fr", "es", "de", "zh"]


class MentionWordGroup(WordGroup):
    """Words of one language that make a name next to them a mention, with why."""

    language: MentionLanguage
    position: MentionPosition


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
    if _SINGLE_WORD.fullmatch(word) is None:
        return (
            f"{word!r} is not a single word (letters or digits only, no space or punctuation): "
            "only the one word before or after a name is compared"
        )
    if word != word.casefold() or word != word.lower():
        return f"{word!r} must be written in lower case (words are compared case-insensitively)"
    if language == "en" and not word.isascii():
        return f"{word!r} is tagged en but is not ASCII"
    if language in ("fr", "es", "de") and not all(
        unicodedata.name(c, "").startswith("LATIN ") for c in word
    ):
        return f"{word!r} is tagged {language} but is not written in Latin letters"
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
        check_word_group(
            problems,
            document,
            at,
            group,
            seen_ids,
            example_id="en_before",
            purpose="mark a mention",
        )
        accepted_words(
            problems,
            document,
            at,
            group,
            first_group,
            part=group.position,
            among=f"the words {group.position} a name",
            word_problem=functools.partial(_word_problem, language=group.language),
        )
    return MentionWords(
        before=frozenset(word for (position, word) in first_group if position == "before"),
        after=frozenset(word for (position, word) in first_group if position == "after"),
    )
