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

    def rules_for(self, field_name: str) -> list[CompiledRule]:
        return self._by_field.get(field_name, [])

    @property
    def fields(self) -> list[str]:
        return sorted(self._by_field)

    def match(self, observation: Observation) -> list[Claim]:
        claims: list[Claim] = []
        for compiled in self._by_field.get(observation.field, ()):
            values = compiled.match_values(observation.value)
            if values is None:
                continue
            for field_name, value in values.items():
                claims.append(
                    Claim(field_name, value, compiled.rule.certainty, compiled.rule.id, observation)
                )
        return claims

    def match_all(self, observations: Iterable[Observation]) -> list[Claim]:
        claims: list[Claim] = []
        for observation in observations:
            claims.extend(self.match(observation))
        return claims
