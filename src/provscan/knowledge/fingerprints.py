"""``fingerprints/*.yaml``: rules that turn one observed value into claims (Recog's model).

Loading checks ids, sources and vendor names. :func:`verify_fingerprints` adds Recog's
self-test: every example matches and yields its expected values, capture groups and
captures agree, no negative matches, and no earlier rule shadows a later one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from provscan.knowledge.base import Parsed, Problems, StrictModel, read_file
from provscan.knowledge.sources import (
    FEW_SOURCES,
    MIN_RESTRICTED_SOURCES,
    NO_NEGATIVE,
    NOT_A_SOURCE,
    SOURCE_SHORTFALLS,
    read_sources,
)
from provscan.knowledge.vocabulary import Vendor, check_vendor_name
from provscan.model import CLAIM_FIELDS

FINGERPRINTS_DIR = "fingerprints"
#: Claim fields whose values must be canonical vendor names.
VOCABULARY_CLAIM_FIELDS = ("manufacturer", "brand")
#: Values longer than this are cut before matching: rules look at banners, not documents.
MAX_MATCH_CHARS = 64 * 1024


class Example(StrictModel):
    value: str
    expect: dict[str, str] = Field(default_factory=dict)
    note: str = ""


class Specificity(StrictModel):
    """Which makers are known to produce the value a rule matches.

    ``maker_specific: true``: only the rule's maker (or its relabels, which it makes) emits the
    value - the maker's own name, realm, model pattern, namespace, API path, protocol.
    ``false``: a habit several makers share (date formats, generic server strings, titles);
    ``shared_with`` names the makers known to produce it too. A shared rule can support but
    never by itself establish a restricted maker (attribution's verdict rule).
    """

    maker_specific: bool
    shared_with: list[str] = Field(default_factory=list)
    note: str = ""
    #: False when the rule had no ``specificity`` block: loaded as shared, reported by verify.
    declared: bool = Field(default=True, exclude=True)

    @model_validator(mode="after")
    def _shared_with_needs_shared(self) -> Specificity:
        if self.maker_specific and self.shared_with:
            raise ValueError("maker_specific: true contradicts a non-empty shared_with")
        return self


#: The loader's default for a rule without a ``specificity`` block: shared (it can never
#: establish a restricted maker on its own); ``provscan knowledge verify`` reports it.
UNDECLARED_SPECIFICITY = Specificity(
    maker_specific=False, note="not declared: treated as shared", declared=False
)


class Rule(StrictModel):
    id: str
    description: str
    pattern: str
    ignore_case: bool = False
    certainty: float = Field(gt=0.0, le=1.0)
    specificity: Specificity = Field(default_factory=lambda: UNDECLARED_SPECIFICITY)
    asserts: dict[str, str] = Field(default_factory=dict)
    #: claim field -> capture group (index as int, or name)
    captures: dict[str, int | str] = Field(default_factory=dict)
    source: str
    note: str = ""
    examples: list[Example] = Field(min_length=1)
    negatives: list[str] = Field(default_factory=list)

    @field_validator("asserts", "captures")
    @classmethod
    def _known_fields(cls, value: dict[str, object]) -> dict[str, object]:
        unknown = set(value) - set(CLAIM_FIELDS)
        if unknown:
            raise ValueError(f"unknown claim fields {sorted(unknown)}; allowed: {CLAIM_FIELDS}")
        return value

    @model_validator(mode="after")
    def _pattern_compiles(self) -> Rule:
        try:
            compiled = self.compile()
        except re.error as exc:
            raise ValueError(f"rule {self.id}: pattern does not compile: {exc}") from exc
        for field_name, group in self.captures.items():
            if isinstance(group, int) and group > compiled.groups:
                raise ValueError(
                    f"rule {self.id}: capture {field_name} uses group {group} "
                    f"but the pattern has {compiled.groups}"
                )
            if isinstance(group, str) and group not in compiled.groupindex:
                raise ValueError(f"rule {self.id}: capture {field_name} uses unknown group {group}")
        if not self.asserts and not self.captures:
            raise ValueError(f"rule {self.id}: asserts nothing")
        return self

    def compile(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE if self.ignore_case else 0)


class FingerprintFile(StrictModel):
    #: Observation fields this file's rules apply to, e.g. ["http.server"].
    fields: list[str] = Field(min_length=1)
    description: str
    rules: list[Rule]


@dataclass(frozen=True)
class LoadedFingerprints:
    """One fingerprint file: where it came from (relative to the data dir) and its rules."""

    path: str
    spec: FingerprintFile


#: No-break and figure spaces read as a plain space: a device that separates the words of its
#: maker's legal name with U+00A0 in a certificate says the same name (rules are written with
#: plain spaces). The observation itself keeps the bytes as seen.
_SPACE_FOLD = str.maketrans({"\u00a0": " ", "\u2007": " ", "\u202f": " "})


def match_values(rule: Rule, regex: re.Pattern[str], value: str) -> dict[str, str] | None:
    """The claimed field values if ``rule`` matches ``value``, else None."""
    text = value[:MAX_MATCH_CHARS]
    if not text.isascii():
        text = text.translate(_SPACE_FOLD)
    found = regex.search(text)
    if found is None:
        return None
    values = dict(rule.asserts)
    for field_name, group in rule.captures.items():
        captured = found.group(group)
        if captured:
            values[field_name] = captured.strip()
    return values


def fingerprint_files(data_dir: Path) -> list[str]:
    """The fingerprint files of a data directory, relative to it, in load (name) order."""
    directory = data_dir / FINGERPRINTS_DIR
    if not directory.is_dir():
        return []
    return [
        f"{FINGERPRINTS_DIR}/{path.name}"
        for path in sorted(directory.glob("*.yaml"), key=lambda p: p.name)
    ]


def read_fingerprints(
    data_dir: Path, problems: Problems, vendors: dict[str, Vendor] | None
) -> list[Parsed[FingerprintFile]]:
    """Load every fingerprint file: unique rule ids, sources, vendor names in the vocabulary."""
    parsed_files: list[Parsed[FingerprintFile]] = []
    rule_location: dict[str, str] = {}
    for name in fingerprint_files(data_dir):
        parsed = read_file(data_dir, name, FingerprintFile, problems, "rules")
        if parsed is None:
            continue
        parsed_files.append(parsed)
        document = parsed.document
        for index, rule in parsed.indexed(parsed.model.rules):
            at = ("rules", index)
            location = f"{name} rules[{index}]"
            first = rule_location.setdefault(rule.id, location)
            if first != location:
                problems.add(document, f"duplicate rule id {rule.id!r} (first in {first})", at)
            if not rule.source.strip():
                problems.add(document, "source must not be blank", (*at, "source"))
            for shared_index, name in enumerate(rule.specificity.shared_with):
                check_vendor_name(
                    problems,
                    document,
                    (*at, "specificity", "shared_with", shared_index),
                    name,
                    vendors,
                    "specificity.shared_with",
                )
            for claim_field in VOCABULARY_CLAIM_FIELDS:
                value = rule.asserts.get(claim_field)
                if value is not None:
                    check_vendor_name(
                        problems, document, at, value, vendors, f"asserts.{claim_field}"
                    )
            for example_index, example in enumerate(rule.examples):
                for claim_field in VOCABULARY_CLAIM_FIELDS:
                    value = example.expect.get(claim_field)
                    if value is not None:
                        check_vendor_name(
                            problems,
                            document,
                            (*at, "examples", example_index),
                            value,
                            vendors,
                            f"expect.{claim_field}",
                        )
    return parsed_files


# --- Recog's self-test ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Placed:
    """A rule with its file, its index there and its compiled pattern."""

    parsed: Parsed[FingerprintFile]
    index: int
    rule: Rule
    regex: re.Pattern[str]
    order: int

    @property
    def where(self) -> str:
        return f"{self.parsed.document.name}:{self.parsed.document.line_at(('rules', self.index))}"


def verify_fingerprints(
    parsed_files: Sequence[Parsed[FingerprintFile]],
    problems: Problems,
    same_vendor: Callable[[str, str], bool] | None = None,
    restricted: Callable[[str], bool] | None = None,
) -> None:
    """Run every example and negative, check capture groups and shadowing between rules,
    and the contribution rules for sources and negatives (:func:`_verify_sources`).

    ``same_vendor`` says when two maker names are one party (e.g. members of one family);
    without it only equal names are. ``restricted`` says whether a maker or brand belongs to
    a restricted family (without it no rule is held to the restricted rules).
    """
    placed: list[_Placed] = []
    by_field: dict[str, list[_Placed]] = defaultdict(list)
    for parsed in parsed_files:
        for index, rule in parsed.indexed(parsed.model.rules):
            item = _Placed(parsed, index, rule, rule.compile(), len(placed))
            placed.append(item)
            for field_name in parsed.model.fields:
                by_field[field_name].append(item)
    listed = set()
    for item in placed:
        _verify_rule(item, problems)
        listed |= _verify_sources(item, problems, restricted)
        _verify_shadowing(item, by_field, problems, same_vendor)
    if restricted is not None:
        for item in placed:
            for reason in sorted(SOURCE_SHORTFALLS.get(item.rule.id, frozenset())):
                if (item.rule.id, reason) not in listed:
                    problems.add(
                        item.parsed.document,
                        f"knowledge/sources.py SOURCE_SHORTFALLS lists this rule for "
                        f"{reason!r}, which it now meets: remove it from the list",
                        ("rules", item.index),
                    )


def _rule_makers(rule: Rule) -> set[str]:
    """The makers and brands a rule can name: asserted, or captured in its examples."""
    names = {rule.asserts[key] for key in VOCABULARY_CLAIM_FIELDS if key in rule.asserts}
    for example in rule.examples:
        names |= {example.expect[key] for key in VOCABULARY_CLAIM_FIELDS if key in example.expect}
    return names


def _verify_sources(
    item: _Placed, problems: Problems, restricted: Callable[[str], bool] | None
) -> set[tuple[str, str]]:
    """Every citation names a source; a rule that can by itself establish a restricted maker
    (maker-specific, naming a restricted maker or brand) has at least
    :data:`MIN_RESTRICTED_SOURCES` independent public sources and a negative (a look-alike
    maker's value). Shortfalls listed in ``SOURCE_SHORTFALLS`` are not reported; the pairs
    (rule id, reason) that were skipped are returned."""
    rule, document, at = item.rule, item.parsed.document, ("rules", item.index)
    listed = SOURCE_SHORTFALLS.get(rule.id, frozenset())
    skipped: set[tuple[str, str]] = set()

    def report(reason: str, message: str, where: tuple[str | int, ...]) -> None:
        if reason in listed:
            skipped.add((rule.id, reason))
        else:
            problems.add(document, message, where)

    reading = read_sources(rule.source)
    for citation in reading.not_sources:
        report(
            NOT_A_SOURCE,
            f"source {citation[:80]!r} names no source: cite a URL, a repository and path, or "
            "a dataset or document a reader can find (docs/knowledge-sources.md)",
            (*at, "source"),
        )
    if restricted is None or not rule.specificity.maker_specific:
        return skipped
    if not any(restricted(name) for name in _rule_makers(rule)):
        return skipped
    if len(reading.public) < MIN_RESTRICTED_SOURCES:
        report(
            FEW_SOURCES,
            f"can establish a restricted maker on its own but cites {len(reading.public)} "
            f"independent public source(s); it needs {MIN_RESTRICTED_SOURCES} "
            "(separate them with ';')",
            (*at, "source"),
        )
    if not rule.negatives:
        report(
            NO_NEGATIVE,
            "can establish a restricted maker on its own but has no negatives: add a "
            "look-alike maker's value it must not match",
            at,
        )
    return skipped


def _verify_rule(item: _Placed, problems: Problems) -> None:
    rule, document, at = item.rule, item.parsed.document, ("rules", item.index)
    if not rule.specificity.declared:
        problems.add(
            document,
            "no specificity: say whether the value is maker_specific and which makers "
            "(shared_with) produce it too; until then it is treated as shared",
            at,
        )
    used_groups = {
        group if isinstance(group, int) else item.regex.groupindex[group]
        for group in rule.captures.values()
    }
    if item.regex.groups != len(used_groups):
        problems.add(
            document,
            f"pattern has {item.regex.groups} capture group(s) but captures use "
            f"{len(used_groups)}; make the others non-capturing with (?:...)",
            (*at, "pattern"),
        )
    for example_index, example in enumerate(rule.examples):
        example_at = (*at, "examples", example_index)
        values = match_values(rule, item.regex, example.value)
        if values is None:
            problems.add(
                document, f"example {example.value!r} does not match the pattern", example_at
            )
            continue
        for key, expected in example.expect.items():
            if values.get(key) != expected:
                problems.add(
                    document,
                    f"example {example.value!r} yields {key}={values.get(key)!r}, "
                    f"expected {expected!r}",
                    example_at,
                )
        for key in rule.captures:
            if key in values and key not in example.expect:
                problems.add(
                    document,
                    f"example {example.value!r} does not check capture {key!r} (add it to expect)",
                    example_at,
                )
    for negative_index, negative in enumerate(rule.negatives):
        if item.regex.search(negative[:MAX_MATCH_CHARS]) is not None:
            problems.add(
                document,
                f"negative {negative!r} matches the pattern",
                (*at, "negatives", negative_index),
            )


def _verify_shadowing(
    item: _Placed,
    by_field: dict[str, list[_Placed]],
    problems: Problems,
    same_vendor: Callable[[str, str], bool] | None,
) -> None:
    """An earlier rule that matches an example of this one and says otherwise shadows it.

    Every rule of a field is applied, and for one claim field the best-scored value wins,
    the earlier on a tie: an earlier rule as certain as this one decides the example's value.
    """
    others = {
        other.order: other
        for field_name in item.parsed.model.fields
        for other in by_field[field_name]
        if other.order != item.order
    }
    document, at = item.parsed.document, ("rules", item.index)
    for example_index, example in enumerate(item.rule.examples):
        for other in sorted(others.values(), key=lambda placed: placed.order):
            theirs = match_values(other.rule, other.regex, example.value)
            if theirs is None:
                continue
            for key, expected in example.expect.items():
                said = theirs.get(key)
                if said is None or said == expected:
                    continue
                if key in VOCABULARY_CLAIM_FIELDS and same_vendor and same_vendor(said, expected):
                    continue
                if other.order < item.order and other.rule.certainty >= item.rule.certainty:
                    message = (
                        f"example {example.value!r} is shadowed by earlier rule "
                        f"{other.rule.id!r} ({other.where}): it says {key}={said!r} "
                        f"with certainty {other.rule.certainty} >= {item.rule.certainty}"
                    )
                elif key in VOCABULARY_CLAIM_FIELDS:
                    message = (
                        f"example {example.value!r} is contradicted by rule "
                        f"{other.rule.id!r} ({other.where}): it says {key}={said!r}"
                    )
                else:
                    continue
                problems.add(document, message, (*at, "examples", example_index))
