"""Generated tests: every fingerprint example and negative (Rapid7 Recog's self-test model)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provscan.fingerprints.matcher import CompiledRule, Matcher
from provscan.knowledge import load_knowledge

KNOWLEDGE = load_knowledge()
MATCHER = Matcher(KNOWLEDGE)


def _compiled() -> Iterator[tuple[str, CompiledRule]]:
    seen: set[str] = set()
    for field_name in MATCHER.fields:
        for compiled in MATCHER.rules_for(field_name):
            if compiled.rule.id not in seen:
                seen.add(compiled.rule.id)
                yield field_name, compiled


RULES = list(_compiled())
EXAMPLES = [
    pytest.param(compiled, index, id=f"{compiled.rule.id}[{index}]")
    for _, compiled in RULES
    for index in range(len(compiled.rule.examples))
]
NEGATIVES = [
    pytest.param(compiled, index, id=f"{compiled.rule.id}[-{index}]")
    for _, compiled in RULES
    for index in range(len(compiled.rule.negatives))
]


def test_there_are_rules_for_the_core_fields() -> None:
    fields = set(MATCHER.fields)
    for required in ("http.server", "http.realm", "http.title", "rtsp.server", "tls.subject"):
        assert required in fields
    assert len(RULES) >= 100


@pytest.mark.parametrize(("compiled", "index"), EXAMPLES)
def test_example_yields_expected_values(compiled: CompiledRule, index: int) -> None:
    example = compiled.rule.examples[index]
    values = compiled.match_values(example.value)
    assert values is not None, f"{compiled.rule.id} does not match its example {example.value!r}"
    for key, expected in example.expect.items():
        assert values.get(key) == expected, f"{key}: {values.get(key)!r} != {expected!r}"
    # Every captured field must be stated in the example so that captures are checked.
    for key in compiled.rule.captures:
        if key in values:
            assert key in example.expect, f"capture {key} is not checked by the example"


@pytest.mark.parametrize(("compiled", "index"), NEGATIVES)
def test_negative_does_not_match(compiled: CompiledRule, index: int) -> None:
    negative = compiled.rule.negatives[index]
    assert compiled.match_values(negative) is None, f"{compiled.rule.id} matches {negative!r}"


@pytest.mark.parametrize(("compiled", "index"), EXAMPLES)
def test_no_other_rule_contradicts_the_example(compiled: CompiledRule, index: int) -> None:
    example = compiled.rule.examples[index]
    mine = compiled.match_values(example.value) or {}
    for field_name in MATCHER.fields:
        for other in MATCHER.rules_for(field_name):
            if other.rule.id == compiled.rule.id or other.source_file != compiled.source_file:
                continue
            theirs = other.match_values(example.value)
            if theirs is None:
                continue
            for key in ("manufacturer", "brand"):
                if key in mine and key in theirs:
                    assert KNOWLEDGE.family_of(mine[key]) == KNOWLEDGE.family_of(theirs[key]) or (
                        mine[key] == theirs[key]
                    ), f"{other.rule.id} says {key}={theirs[key]} for {example.value!r}"


def test_asserted_names_are_in_the_vocabulary() -> None:
    for _, compiled in RULES:
        for key in ("manufacturer", "brand"):
            value = compiled.rule.asserts.get(key)
            if value is not None:
                assert value in KNOWLEDGE.vendors, f"{compiled.rule.id}: unknown {key} {value!r}"
