"""Apply fingerprint rules (data) to observations, producing claims."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from provscan.knowledge.fingerprints import MAX_MATCH_CHARS, Rule, match_values
from provscan.knowledge.loader import Knowledge
from provscan.model import Claim, Observation

__all__ = ["MAX_MATCH_CHARS", "CompiledRule", "Matcher"]

#: Rule matches are remembered per distinct (field, value) — a fleet of one model repeats its
#: headers, realms and certificate names on every device (issue 14) — for at most this many
#: values of at most ``CACHED_VALUE_CHARS`` characters (about 6 MiB when full); past the
#: bound values are matched afresh, with the same result.
MATCH_CACHE_SIZE = 16_384
CACHED_VALUE_CHARS = 256

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
        self._matched: dict[tuple[str, str], _Matched] = {}

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
        key = (field, value)
        found = self._matched.get(key)
        if found is None:
            found = tuple(
                (field_name, claimed, compiled.rule.certainty, compiled.rule.id)
                for compiled in self._by_field.get(field, ())
                if (values := compiled.match_values(value)) is not None
                for field_name, claimed in values.items()
            )
            if len(value) <= CACHED_VALUE_CHARS and len(self._matched) < MATCH_CACHE_SIZE:
                self._matched[key] = found
        return found

    def match_all(self, observations: Iterable[Observation]) -> list[Claim]:
        claims: list[Claim] = []
        for observation in observations:
            claims.extend(self.match(observation))
        return claims
