"""Apply fingerprint rules (data) to observations, producing claims."""

from __future__ import annotations

import functools
import hashlib
import re
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from provscan.knowledge.fingerprints import MAX_MATCH_CHARS, Rule, match_values
from provscan.knowledge.loader import Knowledge
from provscan.model import Claim, Observation

__all__ = ["MAX_MATCH_CHARS", "CompiledRule", "Matcher"]

#: Rule matches are remembered per distinct (field, value) — a fleet of one model repeats its
#: headers, realms and certificate names on every device (issue 14) — for at most this many
#: values (about 6 MiB when full); past the bound the oldest value is forgotten first (a
#: stream of values seen once, such as per-device host names, does not keep a model's Server
#: string seen later from being remembered). Values of fields no rule reads are not kept.
MATCH_CACHE_SIZE = 16_384
#: A value longer than this (a page body of up to ``MAX_MATCH_CHARS``: the same login page on
#: every camera of a model) is remembered by a 16-byte BLAKE2b digest of the text the rules
#: read, never by the text itself.
CACHED_VALUE_CHARS = 256
DIGEST_BYTES = 16

#: What the rules of one field claim from one value: (field, value, certainty, rule id).
_Matched = tuple[tuple[str, str, float, str], ...]


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    source_file: str

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        """Compiled when first used: a scan that sees none of a field's values (an empty
        range) does not pay for its ~400 patterns (issue 14)."""
        return self.rule.compile()

    def match_values(self, value: str) -> dict[str, str] | None:
        """Return the claimed field values if the rule matches ``value``, else None."""
        return match_values(self.rule, self.regex, value)


class Matcher:
    """Index of compiled rules by observation field."""

    def __init__(self, knowledge: Knowledge) -> None:
        self._by_field: dict[str, list[CompiledRule]] = defaultdict(list)
        for loaded in knowledge.fingerprints:
            for rule in loaded.spec.rules:
                compiled = CompiledRule(rule, loaded.path)
                for field_name in loaded.spec.fields:
                    self._by_field[field_name].append(compiled)
        #: (field, value) or, for a value longer than ``CACHED_VALUE_CHARS``, (field, digest)
        self._matched: OrderedDict[tuple[str, str | bytes], _Matched] = OrderedDict()

    def rules_for(self, field_name: str) -> list[CompiledRule]:
        return self._by_field.get(field_name, [])

    @property
    def fields(self) -> list[str]:
        return sorted(self._by_field)

    def match(self, observation: Observation) -> list[Claim]:
        return [
            Claim(field_name, value, certainty, rule_id, observation)
            for field_name, value, certainty, rule_id in self._matches(
                observation.field, observation.value
            )
        ]

    def _matches(self, field: str, value: str) -> _Matched:
        """What the rules of ``field`` claim from ``value``, in rule order (a pure function
        of the two: remembered within the bounds above)."""
        rules = self._by_field.get(field)
        if not rules:
            return ()  # most fields a device gives have no rule: nothing to remember
        key: tuple[str, str | bytes] = (field, value)
        if len(value) > CACHED_VALUE_CHARS:
            # the rules read no further than MAX_MATCH_CHARS (match_values): a digest of
            # that text stands for the value
            text = value[:MAX_MATCH_CHARS].encode("utf-8", "surrogatepass")
            key = (field, hashlib.blake2b(text, digest_size=DIGEST_BYTES).digest())
        found = self._matched.get(key)
        if found is None:
            found = tuple(
                (field_name, claimed, compiled.rule.certainty, compiled.rule.id)
                for compiled in rules
                if (values := compiled.match_values(value)) is not None
                for field_name, claimed in values.items()
            )
            if MATCH_CACHE_SIZE > 0:
                if len(self._matched) >= MATCH_CACHE_SIZE:
                    self._matched.popitem(last=False)  # the oldest value
                self._matched[key] = found
        return found

    def match_all(self, observations: Iterable[Observation]) -> list[Claim]:
        claims: list[Claim] = []
        for observation in observations:
            found = self._matches(observation.field, observation.value)
            if found:
                claims.extend(
                    Claim(field_name, value, certainty, rule_id, observation)
                    for field_name, value, certainty, rule_id in found
                )
        return claims
