"""``model_grammars.yaml``: how each maker and label brand numbers its products (issue 4).

Kept beside ``Knowledge`` rather than inside it, with the IEEE registry owners
(``oui_owners.py``), as :class:`GrammarKnowledge`. Loading checks every example and negative
and that no example is also claimed by a grammar of another brand or maker.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from provscan.knowledge.base import (
    Confidence,
    Location,
    Problems,
    StrictModel,
    YamlDocument,
    active_data_dir,
    check_sources,
    read_file,
)
from provscan.knowledge.cache import cached
from provscan.knowledge.loader import Knowledge, load_knowledge
from provscan.knowledge.oui_owners import (
    OUI_OWNERS_FILE,
    PREFIX_DIGITS,
    OuiOwner,
    read_oui_owners,
)
from provscan.knowledge.relations import RELATIONS_FILE, RelationDeviceType
from provscan.knowledge.vocabulary import Vendor, check_vendor_name

GRAMMARS_FILE = "model_grammars.yaml"

__all__ = [
    "GRAMMARS_FILE",
    "OUI_OWNERS_FILE",
    "PREFIX_DIGITS",
    "GrammarKnowledge",
    "ModelGrammar",
    "ModelGrammarFile",
    "full_match",
    "load_grammar_knowledge",
    "read_grammars",
]

#: How a relabel brand's model numbers relate to the maker's.
GrammarTransform = Literal[
    #: the maker's own numbering (no relabel)
    "none",
    #: the label brand sells the maker's model number unchanged
    "keeps_maker_number",
    #: the label brand renumbers; the maker's firmware, protocols and OUIs stay
    "own_numbering",
]


class ModelGrammar(StrictModel):
    """How one maker or label brand numbers one product line.

    ``pattern`` is matched case-insensitively against the whole of one candidate string
    (a model-number-like token, or a few adjacent words). ``maker`` is who makes products
    of this line; ``None`` means the line identifies only the label brand and the maker comes
    from the brand's relations.
    """

    id: str
    brand: str
    maker: str | None
    line: str
    device_type: str | None = None
    pattern: str
    confidence: Confidence
    #: True when a cited source states this numbering (and, for relabels, its maker);
    #: False when it is inferred from catalog naming or technical evidence.
    documented: bool
    #: What is documented and what is inferred, in one or two sentences.
    basis: str
    transform: GrammarTransform = "none"
    #: The maker grammar whose numbers this line reuses or renames, when known.
    derived_from: str | None = None
    #: True when the brand's relation scope (relations.yaml) names exactly this line, so the
    #: relation applies in full rather than as "some lines".
    in_relation_scope: bool = False
    #: Only match when the row or device also names this brand (short, generic numbers).
    requires_brand: bool = False
    #: With ``requires_brand``: the line's names may hold no digit ("EVO II Pro"); runs of
    #: words without a digit are read against this grammar when the brand is named.
    names_without_digit: bool = False
    #: With ``requires_brand``: kinds of product (the screening's kind words: camera, ptz,
    #: doorbell...) under which a product-list row may give this name without the brand. Such
    #: a match counts only when the row names one of these kinds besides the name, no brand at
    #: all and no other part number, nothing but product words stands before the name, and at
    #: a lower confidence (docs/decisions/0024-brandless-consumer-names.md). Screening only: a
    #: scanned device's model string still needs the brand.
    brandless_kinds: list[RelationDeviceType] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)
    examples: list[str] = Field(min_length=1)
    negatives: list[str] = Field(default_factory=list)
    note: str = ""

    @model_validator(mode="after")
    def _pattern_compiles(self) -> ModelGrammar:
        try:
            re.compile(self.pattern, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"grammar {self.id}: pattern does not compile: {exc}") from exc
        if self.brandless_kinds and not self.requires_brand:
            raise ValueError(f"grammar {self.id}: brandless_kinds needs requires_brand: true")
        if self.names_without_digit and not self.requires_brand:
            raise ValueError(f"grammar {self.id}: names_without_digit needs requires_brand: true")
        return self


class ModelGrammarFile(StrictModel):
    #: Observation fields of a scan that carry a bare model string (ONVIF, ISAPI, SADP, UPnP…).
    fields: list[str] = Field(min_length=1)
    #: Observation fields that carry the label brand a device reports about itself; an
    #: unrecognised value there becomes the label of a probable relabel.
    label_fields: list[str] = Field(default_factory=list)
    #: Label values that name nobody (white-label placeholders).
    generic_labels: list[str] = Field(default_factory=list)
    description: str
    grammars: list[ModelGrammar] = Field(min_length=1)


@dataclass(frozen=True)
class GrammarKnowledge:
    """The model-number grammars (in file order) and the IEEE registry owner names."""

    fields: tuple[str, ...]
    grammars: tuple[ModelGrammar, ...]
    label_fields: tuple[str, ...]
    generic_labels: tuple[str, ...]
    oui_snapshot: str
    oui_owners: tuple[OuiOwner, ...]
    #: Registry names (prefixes) that name no device maker: module, chip, contract makers.
    not_device_makers: tuple[str, ...] = ()

    def grammar(self, grammar_id: str) -> ModelGrammar:
        for grammar in self.grammars:
            if grammar.id == grammar_id:
                return grammar
        raise KeyError(grammar_id)

    def registry_names(self, vendors: set[str]) -> list[OuiOwner]:
        """The registry owner entries of these vendors (e.g. every member of a family)."""
        return [owner for owner in self.oui_owners if owner.vendor in vendors]


def full_match(grammar: ModelGrammar, value: str) -> bool:
    return re.fullmatch(grammar.pattern, value, re.IGNORECASE) is not None


def load_grammar_knowledge(
    data_dir: Path | None = None, knowledge: Knowledge | None = None
) -> GrammarKnowledge:
    """Load and cross-check ``model_grammars.yaml`` and ``oui_owners.yaml``.

    Default: the bundled data, cached. Raises KnowledgeError listing every problem.
    """
    if data_dir is None and knowledge is None:
        return _load_bundled()
    return _load(Path(data_dir or active_data_dir()), knowledge or load_knowledge(data_dir))


@functools.lru_cache(maxsize=1)
def _load_bundled() -> GrammarKnowledge:
    data_dir = active_data_dir()
    return cached("grammars", data_dir, lambda: _load(data_dir, load_knowledge()))


def _load(data_dir: Path, knowledge: Knowledge) -> GrammarKnowledge:
    problems = Problems(data_dir)
    grammar_file = read_grammars(data_dir, problems, knowledge)
    owners = read_oui_owners(data_dir, problems, knowledge.vendors)
    problems.raise_if_any()
    assert grammar_file is not None and owners is not None  # raise_if_any() said why otherwise
    return GrammarKnowledge(
        fields=tuple(grammar_file.fields),
        grammars=tuple(grammar_file.grammars),
        label_fields=tuple(grammar_file.label_fields),
        generic_labels=tuple(grammar_file.generic_labels),
        oui_snapshot=owners.snapshot,
        oui_owners=owners.owners,
        not_device_makers=tuple(other.name for other in owners.not_device_makers),
    )


def _related(knowledge: Knowledge, brand: str, maker: str) -> bool:
    if brand == maker:
        return True
    return any(relation.maker == maker for relation in knowledge.relations_for_brand(brand))


def read_grammars(
    data_dir: Path,
    problems: Problems,
    knowledge: Knowledge | None,
    vendors: dict[str, Vendor] | None = None,
) -> ModelGrammarFile | None:
    """Load ``model_grammars.yaml``; relation checks need ``knowledge`` (skipped without it)."""
    parsed = read_file(data_dir, GRAMMARS_FILE, ModelGrammarFile, problems, "grammars")
    if parsed is None:
        return None
    document = parsed.document
    if knowledge is not None:
        vendors = knowledge.vendors
    indexed = parsed.indexed(parsed.model.grammars)
    by_id: dict[str, ModelGrammar] = {}
    for index, grammar in indexed:
        at = ("grammars", index)
        if grammar.id in by_id:
            problems.add(document, f"duplicate grammar id {grammar.id!r}", at)
        by_id.setdefault(grammar.id, grammar)
        check_sources(problems, document, at, grammar.sources)
        if not grammar.basis.strip():
            problems.add(document, "basis must say what is documented or inferred", at)
        known = check_vendor_name(problems, document, at, grammar.brand, vendors, "brand")
        if grammar.maker is not None:
            known &= check_vendor_name(problems, document, at, grammar.maker, vendors, "maker")
        if knowledge is not None and known:
            _check_relations(knowledge, grammar, problems, document, at)
        for example_index, example in enumerate(grammar.examples):
            if not full_match(grammar, example):
                problems.add(
                    document,
                    f"example {example!r} does not match",
                    (*at, "examples", example_index),
                    entry=document.describe(at),
                )
        for negative_index, negative in enumerate(grammar.negatives):
            if full_match(grammar, negative):
                problems.add(
                    document,
                    f"negative {negative!r} matches",
                    (*at, "negatives", negative_index),
                    entry=document.describe(at),
                )
    for index, grammar in indexed:
        at = ("grammars", index)
        if grammar.derived_from is not None:
            parent = by_id.get(grammar.derived_from)
            if parent is None:
                problems.add(document, f"derived_from {grammar.derived_from!r} unknown", at)
            elif grammar.maker is not None and parent.maker != grammar.maker:
                problems.add(
                    document,
                    f"derived_from {parent.id!r} is a {parent.maker} grammar, not {grammar.maker}",
                    at,
                )
        # Recog habit: an example must not also be claimed by a grammar of another
        # brand/maker, or the answer would depend on file order.
        for _, other in indexed:
            if other is grammar or (other.brand, other.maker) == (grammar.brand, grammar.maker):
                continue
            if other.requires_brand or grammar.requires_brand:
                continue
            for example_index, example in enumerate(grammar.examples):
                if full_match(other, example):
                    problems.add(
                        document,
                        f"example {example!r} is also matched by grammar {other.id!r} "
                        f"({other.brand}/{other.maker})",
                        (*at, "examples", example_index),
                        entry=document.describe(at),
                    )
    return parsed.model


def _check_relations(
    knowledge: Knowledge,
    grammar: ModelGrammar,
    problems: Problems,
    document: YamlDocument,
    at: Location,
) -> None:
    """A grammar's brand and maker must agree with relations.yaml."""
    if grammar.maker is None:
        if grammar.transform == "none":
            problems.add(document, "a grammar without a maker needs a transform", at)
        if not knowledge.relations_for_brand(grammar.brand):
            problems.add(
                document,
                f"maker is open but brand {grammar.brand!r} has no relations to resolve it",
                at,
            )
    elif not _related(knowledge, grammar.brand, grammar.maker):
        problems.add(
            document,
            f"contradicts {RELATIONS_FILE}: no relation {grammar.brand} -> {grammar.maker}",
            at,
        )
    if grammar.transform == "none" and grammar.maker not in (None, grammar.brand):
        relation_kinds = {
            relation.relation
            for relation in knowledge.relations_for_brand(grammar.brand)
            if relation.maker == grammar.maker
        }
        if "oem_relabel" in relation_kinds:
            problems.add(document, "an OEM relabel line needs a transform", at)
