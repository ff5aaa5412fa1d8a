"""Finding vendor names in product strings: exact spellings first, then typo-tolerant matching.

Fuzzy matching uses rapidfuzz's Damerau-Levenshtein distance on the vocabulary's matching keys,
with limits chosen so that no confident false positive comes out of it: short words are never
matched fuzzily ("Axis" is not "Annke"), a misspelling keeps the first letter (typing errors
rarely change it, while other names two edits away often do: "ThinkVision" is not
"Hikvision", "Exchange" not "Lechange", "AirWatch" not "HiWatch"), the best candidate must be
unique, and words that are ordinary product vocabulary (``screening_words.yaml``) are
skipped. A misspelt brand of a restricted family never establishes the maker alone
(``identify``: it needs the family's model number next to it, else the row is for review).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from provscan.knowledge.loader import Knowledge, vendor_key

#: Longest vendor spelling, in tokens, tried as an exact n-gram ("Hangzhou Hikvision Digital …").
MAX_BRAND_TOKENS = 6
#: Spellings whose canonical vendor is remembered.
CANONICAL_CACHE_SIZE = 65_536
#: Words shorter than this are only matched exactly.
MIN_FUZZY_LENGTH = 5
#: Edits allowed: one for 5-7 characters, two from 8 characters.
LONG_WORD_LENGTH = 8
#: Product words a brand is sometimes written glued to, without a separator ("Wyzecam").
GLUED_KIND_SUFFIXES = ("cameras", "camera", "cams", "cam", "doorbell", "nvr", "dvr")
#: Shortest brand prefix split off a glued product word.
MIN_GLUED_BRAND_CHARS = 3


def split_glued_kind(word: str, is_brand: Callable[[str], bool]) -> list[str]:
    """``Wyzecam`` -> ``Wyze``, ``cam`` and ``Huawei.S5735-L24T4S-A`` -> ``Huawei``,
    ``S5735-L24T4S-A`` when the prefix is a vocabulary brand and the word itself is not one;
    any other word unchanged (one-element list)."""
    if "." in word and not is_brand(word):
        prefix, rest = word.split(".", 1)
        if any(c.isdigit() for c in rest) and any(c.isalpha() for c in rest) and is_brand(prefix):
            return [prefix, rest]
    lowered = word.lower()
    for suffix in GLUED_KIND_SUFFIXES:
        prefix = word[: len(word) - len(suffix)]
        if (
            lowered.endswith(suffix)
            and len(prefix) >= MIN_GLUED_BRAND_CHARS
            and prefix.isalpha()
            and not is_brand(word)
            and is_brand(prefix)
        ):
            return [prefix, word[len(prefix) :]]
    return [word]


@dataclass(frozen=True)
class BrandMatch:
    vendor: str
    written: str
    exact: bool
    start: int = 0
    length: int = 1
    #: The words of the cell the name was found among (``start`` indexes them): what stands
    #: next to it tells a label from a mention ("bracket for Dahua camera"). Empty when the
    #: whole cell is the name.
    words: tuple[str, ...] = field(default=(), compare=False, repr=False)


class BrandFinder:
    """Vendor names from the controlled vocabulary, found in text or in a brand cell."""

    def __init__(self, knowledge: Knowledge) -> None:
        self._knowledge = knowledge
        #: Words never read as a misspelt vendor name ("camera", "thermostat").
        self._product_words = knowledge.screening_words.product
        self._kind_words = knowledge.screening_words.kind_words
        fuzzy: dict[str, str] = {}
        max_tokens = 1
        for vendor in knowledge.vendors.values():
            for spelling in [vendor.name, *vendor.aliases, *vendor.legal_names]:
                max_tokens = max(max_tokens, len(spelling.split()))
            for spelling in [vendor.name, *vendor.aliases]:
                key = vendor_key(spelling)
                if len(key) >= MIN_FUZZY_LENGTH:
                    fuzzy.setdefault(key, vendor.name)
        self._fuzzy_keys = fuzzy
        #: The keys by their first letter: a misspelling is compared with those only.
        self._fuzzy_choices: dict[str, list[str]] = {}
        for key in fuzzy:
            self._fuzzy_choices.setdefault(key[0], []).append(key)
        self._max_tokens = min(max_tokens, MAX_BRAND_TOKENS)
        #: Spellings already looked up: the same words come back on row after row.
        self._canonical = lru_cache(maxsize=CANONICAL_CACHE_SIZE)(self._vendor_named)

    def _vendor_named(self, text: str) -> str | None:
        """The vendor a spelling or one of its product lines ("FortiGate") names."""
        return self._knowledge.canonical_vendor(text) or self._knowledge.vendor_of_product_line(
            text
        )

    def exact(self, text: str) -> str | None:
        return self._canonical(text)

    def find_exact(self, words: Sequence[str]) -> list[BrandMatch]:
        """Vendor spellings that are whole runs of words, longest first, not overlapping."""
        found: list[BrandMatch] = []
        taken: set[int] = set()
        among = tuple(words)
        for length in range(min(self._max_tokens, len(words)), 0, -1):
            for start in range(len(words) - length + 1):
                span = set(range(start, start + length))
                if span & taken:
                    continue
                written = " ".join(words[start : start + length])
                vendor = self._canonical(written)
                if vendor is not None:
                    found.append(BrandMatch(vendor, written, True, start, length, among))
                    taken |= span
        return sorted(found, key=lambda match: match.start)

    def fuzzy(self, word: str) -> str | None:
        """The one vendor a misspelt word most likely names, or None when unsure."""
        key = vendor_key(word)
        if (
            len(key) < MIN_FUZZY_LENGTH
            or not key.isalpha()
            or key in self._product_words
            or word.lower() in self._product_words
            or word.lower() in self._kind_words
        ):
            return None
        allowed = 1 if len(key) < LONG_WORD_LENGTH else 2
        results = process.extract(
            key,
            self._fuzzy_choices.get(key[0], []),
            scorer=DamerauLevenshtein.distance,
            score_cutoff=allowed,
            limit=5,
        )
        if not results:
            return None
        best_distance = min(distance for _, distance, _ in results)
        vendors = {
            self._fuzzy_keys[choice] for choice, distance, _ in results if distance == best_distance
        }
        if len(vendors) != 1:
            return None
        return vendors.pop()

    def find_fuzzy(self, words: Sequence[str], skip: set[int]) -> list[BrandMatch]:
        found = []
        among = tuple(words)
        for index, word in enumerate(words):
            if index in skip:
                continue
            vendor = self.fuzzy(word)
            if vendor is not None:
                found.append(BrandMatch(vendor, word, False, index, 1, among))
        return found
