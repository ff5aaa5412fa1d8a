"""Matching model-number grammars (data) against candidates cut from a string."""

from __future__ import annotations

import functools
import re
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from provscan.fingerprints.text import MAX_WINDOW, Candidate, candidates
from provscan.knowledge.grammars import GrammarKnowledge
from provscan.knowledge.schema import ModelGrammar

#: Word sequences whose grammar hits are remembered (oldest forgotten first).
FIND_CACHE_SIZE = 50_000


@dataclass(frozen=True)
class GrammarHit:
    grammar: ModelGrammar
    model: str
    start: int
    length: int
    #: Position of the grammar in the file: earlier (more specific) grammars win ties.
    order: int
    dash_joined: bool = False
    #: Read from one component of a kit (``Candidate.component``): ranks after other readings.
    component: bool = False


class GrammarIndex:
    """Every grammar compiled once, with one combined pattern as a fast first filter."""

    def __init__(self, grammar_knowledge: GrammarKnowledge) -> None:
        self.grammars = grammar_knowledge.grammars
        #: Brands whose grammars need the brand named (``requires_brand``).
        self._gated = frozenset(g.brand for g in self.grammars if g.requires_brand)
        #: Oldest first: forgetting one is O(1) (a dict's first key, after many deletions,
        #: is found by scanning past every deleted slot: issue 14)
        self._found: OrderedDict[tuple[tuple[str, ...], frozenset[str]], tuple[GrammarHit, ...]] = (
            OrderedDict()
        )

    # The patterns are compiled when first used: a scan that finds no device (an empty
    # range) does not pay for them at start-up (issue 14).
    @functools.cached_property
    def _compiled(self) -> list[tuple[int, ModelGrammar, re.Pattern[str]]]:
        return [
            (order, grammar, re.compile(grammar.pattern, re.IGNORECASE))
            for order, grammar in enumerate(self.grammars)
        ]

    @functools.cached_property
    def _any(self) -> re.Pattern[str]:
        return re.compile(
            "|".join(f"(?:{grammar.pattern})" for grammar in self.grammars), re.IGNORECASE
        )

    def match(self, value: str, brands: Collection[str] = ()) -> list[GrammarHit]:
        """Grammars matching the whole of ``value`` (brand-only grammars need the brand)."""
        return self._match(Candidate(value.strip(), 0, 1), brands)

    def _match(self, candidate: Candidate, brands: Collection[str]) -> list[GrammarHit]:
        if self._any.fullmatch(candidate.text) is None:
            return []
        hits = []
        for order, grammar, pattern in self._compiled:
            if grammar.requires_brand and grammar.brand not in brands:
                continue
            if pattern.fullmatch(candidate.text):
                hits.append(
                    GrammarHit(
                        grammar,
                        candidate.text,
                        candidate.start,
                        candidate.length,
                        order,
                        candidate.dash_joined,
                        candidate.component,
                    )
                )
        return hits

    def _names_without_digit(
        self, words: Sequence[str], brands: Collection[str]
    ) -> tuple[GrammarHit, ...]:
        """Hits of grammars whose names may hold no digit ("Autel EVO II Pro"), on runs of
        words without one, only when the row names the grammar's brand."""
        wordy = [
            (order, grammar, pattern)
            for order, grammar, pattern in self._compiled
            if grammar.names_without_digit and grammar.brand in brands
        ]
        if not wordy:
            return ()
        hits = []
        for start in range(len(words)):
            for length in range(1, min(MAX_WINDOW, len(words) - start) + 1):
                window = words[start : start + length]
                if any(character.isdigit() for word in window for character in word):
                    continue  # read by candidates() already
                text = " ".join(window)
                for order, grammar, pattern in wordy:
                    if pattern.fullmatch(text):
                        hits.append(GrammarHit(grammar, text, start, length, order))
        return tuple(hits)

    def find(self, words: Sequence[str], brands: Collection[str] = ()) -> list[GrammarHit]:
        """Every grammar hit on every candidate run of ``words``.

        Results are remembered per (words, brands that unlock a grammar): the same model cell
        comes back on many rows of a list, under descriptions that differ.
        """
        key = (tuple(words), frozenset(brand for brand in brands if brand in self._gated))
        found = self._found.get(key)
        if found is None:
            found = tuple(
                hit for candidate in candidates(words) for hit in self._match(candidate, brands)
            ) + self._names_without_digit(words, brands)
            if FIND_CACHE_SIZE > 0:
                if len(self._found) >= FIND_CACHE_SIZE:
                    self._found.popitem(last=False)  # the oldest entry
                self._found[key] = found
        return list(found)
