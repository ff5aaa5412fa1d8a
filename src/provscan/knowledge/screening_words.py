"""``screening_words.yaml``: the vocabulary of product listings that product screening reads.

A product list names more than brands and model numbers: what the product is ("bullet
camera", "NVR", "thermostat"), its features ("varifocal", "PoE") and sizes ("4 MP", "8 ch").
Screening (``provscan.screening``) must never read such a word as a label brand, exact or
misspelt, and reads the kind of product a row names from it. Each group has a ``role``:

- ``product``: words that are never a label brand ("camera", "bracket", "PoE");
- ``kind``: words and two-word phrases that say what kind of product a row is, with that
  ``kind`` (``relations.yaml`` device types, and kinds no relation covers); their single words
  are product words too;
- ``brandless_leading``: words that may stand before a consumer product name read without its
  brand besides product and kind words ("Wi-Fi", "PIR"; decision 0024);
- ``size_unit``: a unit that makes a bare number before it a size ("2 MP", "8 ch");
- ``summary_label``: a word that makes a list's line a total, a tax or a charge, not a product
  ("Total", "Sous-total", "TPS/GST 5%", "Shipping"), when only amounts stand beside it;
- ``summary_qualifier``: a word that may stand in such a line's label beside a summary label
  ("Total *partiel*", "*Frais de* livraison", "Total *HT*") and names nothing on its own.

Summary words are compared with each run of letters and digits of a cell, lower case and
without accents ("Sous-total / Subtotal" is sous, total, subtotal), so each is one such run.

Screening compares ``word.lower()`` with these, and kind phrases as two adjacent words, so
every entry is lower case, NFKC, and cut as screening cuts text. Read into :class:`Knowledge`
with the vocabulary (``loader.py``); a data directory without the file uses the bundled one.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field

from provscan.knowledge.base import (
    WORD_GROUP_ID,
    Problems,
    StrictModel,
    WordGroup,
    accepted_words,
    check_word_group,
    read_file,
)

SCREENING_WORDS_FILE = "screening_words.yaml"
ScreeningRole = Literal[
    "product", "kind", "brandless_leading", "size_unit", "summary_label", "summary_qualifier"
]
#: Roles whose words are compared with runs of letters and digits, accents off.
SUMMARY_ROLES = ("summary_label", "summary_qualifier")
_RUN = re.compile(r"[^\W_]+")
#: One word as screening cuts text: a letter or digit at each end, and inside only letters,
#: digits and the joining marks people write within a word ("wi-fi", "pan/tilt", "t-stat").
_WORD = re.compile(r"[^\W_](?:(?:[^\W_]|[-/.])*[^\W_])?")
#: Longest kind phrase: screening compares single words and pairs of adjacent words.
MAX_KIND_PHRASE_WORDS = 2


class ScreeningWordGroup(WordGroup):
    """Words of one role (and, for ``kind`` groups, one kind of product), with why."""

    role: ScreeningRole
    #: The kind of product a ``kind`` group's words name ("camera", "hvac"); other roles: none.
    kind: str | None = None


class ScreeningWordFile(StrictModel):
    description: str
    groups: list[ScreeningWordGroup] = Field(min_length=1)


@dataclass(frozen=True)
class ScreeningWords:
    """The words, lower case, by role: compare ``word.lower()``."""

    #: Product vocabulary: never a label brand, exact or misspelt ("camera", "bracket").
    product: frozenset[str]
    #: A word or two-word phrase (one space) -> the kind of product it names.
    kinds: dict[str, str] = field(hash=False)
    #: The single words of ``kinds``: product vocabulary too ("nvr", "thermostat").
    kind_words: frozenset[str]
    #: Words that may stand before a product name read without its brand ("wi-fi", "pir").
    brandless_leading: frozenset[str]
    #: Units that make a bare number before them a size ("mp", "ch").
    size_units: frozenset[str]
    #: Words that make a line a total, a tax or a charge ("total", "tps", "shipping"), and
    #: words that may stand beside them in its label ("partiel", "de", "ht"): accents off.
    summary_labels: frozenset[str] = frozenset()
    summary_qualifiers: frozenset[str] = frozenset()

    def kinds_named(self, words: Sequence[str]) -> frozenset[str]:
        """The kinds of product a row's words name (empty: the words do not say)."""
        lowered = [word.lower() for word in words]
        kinds = {self.kinds[word] for word in lowered if word in self.kinds}
        for first, second in itertools.pairwise(lowered):
            kind = self.kinds.get(f"{first} {second}")
            if kind is not None:
                kinds.add(kind)
        return frozenset(kinds)


def fold_accents(text: str) -> str:
    """``Général`` -> ``general``: lower case, accents off (how summary words are compared)."""
    if text.isascii():
        return text.lower()  # no ASCII character decomposes or combines
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def _entry_problem(entry: str, role: ScreeningRole) -> str | None:
    """Why ``entry`` can never match a word as screening compares words, or None."""
    if entry != entry.lower():
        return f"{entry!r} must be written in lower case (words are compared lower-cased)"
    parts = entry.split(" ")
    if len(parts) > 1 and role != "kind":
        return f"{entry!r} is not one word: only kind groups list two-word phrases"
    if any(_WORD.fullmatch(part) is None for part in parts):
        return (
            f"{entry!r} is not cut as screening cuts text (one space between words; a "
            "letter or digit at each end of a word; inside only letters, digits, '-', "
            "'/' and '.')"
        )
    if role in SUMMARY_ROLES and (_RUN.fullmatch(entry) is None or entry != fold_accents(entry)):
        return (
            f"{entry!r} is not one run of letters and digits without accents (summary words "
            "are compared with each such run of a cell, accents off)"
        )
    if len(parts) > MAX_KIND_PHRASE_WORDS:
        return (
            f"{entry!r} has more than {MAX_KIND_PHRASE_WORDS} words: only single words and "
            "pairs of adjacent words are compared"
        )
    return None


def read_screening_words(data_dir: Path, problems: Problems) -> ScreeningWords | None:
    """Load ``screening_words.yaml``: lower-case words, each once per role (a kind phrase
    once among all kinds), every group with a rationale and sources."""
    parsed = read_file(data_dir, SCREENING_WORDS_FILE, ScreeningWordFile, problems, "groups")
    if parsed is None:
        return None
    document = parsed.document
    seen_ids: set[str] = set()
    #: (role, word) -> the group that lists it first, in file order.
    first_group: dict[tuple[str, str], str] = {}
    kinds: dict[str, str] = {}
    for index, group in parsed.indexed(parsed.model.groups):
        at = ("groups", index)
        check_word_group(
            problems,
            document,
            at,
            group,
            seen_ids,
            example_id="camera_forms",
            purpose="belong to product listings",
        )
        if group.role == "kind" and group.kind is None:
            problems.add(document, "a kind group needs a kind (the kind its words name)", at)
        if group.role != "kind" and group.kind is not None:
            problems.add(document, f"only kind groups name a kind (this one is {group.role})", at)
        if group.kind is not None and not WORD_GROUP_ID.match(group.kind):
            problems.add(document, f"kind {group.kind!r} is not like 'access_control'", at)
        words = accepted_words(
            problems,
            document,
            at,
            group,
            first_group,
            part=group.role,
            among=f"the {group.role} words",
            word_problem=functools.partial(_entry_problem, role=group.role),
        )
        if group.kind is not None:
            kinds.update(dict.fromkeys(words, group.kind))

    def words_of(role: ScreeningRole) -> frozenset[str]:
        return frozenset(word for (of_role, word) in first_group if of_role == role)

    return ScreeningWords(
        product=words_of("product"),
        kinds=kinds,
        kind_words=frozenset(phrase for phrase in kinds if " " not in phrase),
        brandless_leading=words_of("brandless_leading"),
        size_units=words_of("size_unit"),
        summary_labels=words_of("summary_label"),
        summary_qualifiers=words_of("summary_qualifier"),
    )
