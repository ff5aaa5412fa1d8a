"""Model-number grammars and IEEE registry owners: loading and cross-checks (issue 4).

Kept beside ``loader`` rather than inside ``Knowledge`` so the core knowledge object stays
unchanged for its other users. Every problem is reported at once, each with its file and entry.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from provscan.knowledge.loader import (
    DEFAULT_DATA_DIR,
    Knowledge,
    _check_sources,
    _Problems,
    _read_model,
    _unknown_vendor_message,
    load_knowledge,
)
from provscan.knowledge.schema import ModelGrammar, ModelGrammarFile, OuiOwner, OuiOwnerFile

GRAMMARS_FILE = "model_grammars.yaml"
OUI_OWNERS_FILE = "oui_owners.yaml"

#: Hex digits of a prefix in each IEEE registry block size.
PREFIX_DIGITS = {"MA-L": 6, "MA-M": 7, "MA-S": 9}
_HEX = re.compile(r"^[0-9A-F]+$")


@dataclass(frozen=True)
class GrammarKnowledge:
    """The model-number grammars (in file order) and the IEEE registry owner names."""

    fields: tuple[str, ...]
    grammars: tuple[ModelGrammar, ...]
    label_fields: tuple[str, ...]
    generic_labels: tuple[str, ...]
    oui_snapshot: str
    oui_owners: tuple[OuiOwner, ...]

    def grammar(self, grammar_id: str) -> ModelGrammar:
        for grammar in self.grammars:
            if grammar.id == grammar_id:
                return grammar
        raise KeyError(grammar_id)

    def registry_names(self, vendors: set[str]) -> list[OuiOwner]:
        """The registry owner entries of these vendors (e.g. every member of a family)."""
        return [owner for owner in self.oui_owners if owner.vendor in vendors]


def load_grammar_knowledge(
    data_dir: Path | None = None, knowledge: Knowledge | None = None
) -> GrammarKnowledge:
    """Load and cross-check ``model_grammars.yaml`` and ``oui_owners.yaml``.

    Default: the bundled data, cached. Raises KnowledgeError listing every problem.
    """
    if data_dir is None and knowledge is None:
        return _load_bundled()
    return _load(Path(data_dir or DEFAULT_DATA_DIR), knowledge or load_knowledge(data_dir))


@functools.lru_cache(maxsize=1)
def _load_bundled() -> GrammarKnowledge:
    return _load(DEFAULT_DATA_DIR, load_knowledge())


def full_match(grammar: ModelGrammar, value: str) -> bool:
    return re.fullmatch(grammar.pattern, value, re.IGNORECASE) is not None


def _load(data_dir: Path, knowledge: Knowledge) -> GrammarKnowledge:
    problems = _Problems(data_dir)
    grammar_file = _read_model(data_dir / GRAMMARS_FILE, GRAMMARS_FILE, ModelGrammarFile, problems)
    owner_file = _read_model(data_dir / OUI_OWNERS_FILE, OUI_OWNERS_FILE, OuiOwnerFile, problems)
    problems.raise_if_any()
    assert grammar_file is not None and owner_file is not None
    _check_grammars(grammar_file, knowledge, problems)
    _check_owners(owner_file, knowledge, problems)
    problems.raise_if_any()
    return GrammarKnowledge(
        fields=tuple(grammar_file.fields),
        grammars=tuple(grammar_file.grammars),
        label_fields=tuple(grammar_file.label_fields),
        generic_labels=tuple(grammar_file.generic_labels),
        oui_snapshot=owner_file.snapshot,
        oui_owners=tuple(owner_file.owners),
    )


def _related(knowledge: Knowledge, brand: str, maker: str) -> bool:
    if brand == maker:
        return True
    return any(relation.maker == maker for relation in knowledge.relations_for_brand(brand))


def _check_grammars(
    grammar_file: ModelGrammarFile, knowledge: Knowledge, problems: _Problems
) -> None:
    vendors = knowledge.vendors
    by_id: dict[str, ModelGrammar] = {}
    for index, grammar in enumerate(grammar_file.grammars):
        entry = f"grammars[{index}] (id={grammar.id})"
        if grammar.id in by_id:
            problems.add(GRAMMARS_FILE, entry, f"duplicate grammar id {grammar.id!r}")
        by_id.setdefault(grammar.id, grammar)
        _check_sources(GRAMMARS_FILE, entry, grammar.sources, problems)
        if not grammar.basis.strip():
            problems.add(GRAMMARS_FILE, entry, "basis must say what is documented or inferred")
        for role, name in (("brand", grammar.brand), ("maker", grammar.maker)):
            if name is not None and name not in vendors:
                problems.add(GRAMMARS_FILE, entry, _unknown_vendor_message(name, vendors, role))
        if grammar.brand not in vendors or (grammar.maker and grammar.maker not in vendors):
            continue
        if grammar.maker is None:
            if grammar.transform == "none":
                problems.add(GRAMMARS_FILE, entry, "a grammar without a maker needs a transform")
            if not knowledge.relations_for_brand(grammar.brand):
                problems.add(
                    GRAMMARS_FILE,
                    entry,
                    f"maker is open but brand {grammar.brand!r} has no relations to resolve it",
                )
        elif not _related(knowledge, grammar.brand, grammar.maker):
            problems.add(
                GRAMMARS_FILE,
                entry,
                f"contradicts relations.yaml: no relation {grammar.brand} -> {grammar.maker}",
            )
        if grammar.transform == "none" and grammar.maker not in (None, grammar.brand):
            relation_kinds = {
                relation.relation
                for relation in knowledge.relations_for_brand(grammar.brand)
                if relation.maker == grammar.maker
            }
            if "oem_relabel" in relation_kinds:
                problems.add(GRAMMARS_FILE, entry, "an OEM relabel line needs a transform")
        for example in grammar.examples:
            if not full_match(grammar, example):
                problems.add(GRAMMARS_FILE, entry, f"example {example!r} does not match")
        for negative in grammar.negatives:
            if full_match(grammar, negative):
                problems.add(GRAMMARS_FILE, entry, f"negative {negative!r} matches")
    for index, grammar in enumerate(grammar_file.grammars):
        entry = f"grammars[{index}] (id={grammar.id})"
        if grammar.derived_from is not None:
            parent = by_id.get(grammar.derived_from)
            if parent is None:
                problems.add(GRAMMARS_FILE, entry, f"derived_from {grammar.derived_from!r} unknown")
            elif grammar.maker is not None and parent.maker != grammar.maker:
                problems.add(
                    GRAMMARS_FILE,
                    entry,
                    f"derived_from {parent.id!r} is a {parent.maker} grammar, not {grammar.maker}",
                )
        # Recog habit: an example must not also be claimed by a grammar of another
        # brand/maker, or the answer would depend on file order.
        for other in grammar_file.grammars:
            if other is grammar or (other.brand, other.maker) == (grammar.brand, grammar.maker):
                continue
            if other.requires_brand or grammar.requires_brand:
                continue
            for example in grammar.examples:
                if full_match(other, example):
                    problems.add(
                        GRAMMARS_FILE,
                        entry,
                        f"example {example!r} is also matched by grammar {other.id!r} "
                        f"({other.brand}/{other.maker})",
                    )


def _check_owners(owner_file: OuiOwnerFile, knowledge: Knowledge, problems: _Problems) -> None:
    vendors = knowledge.vendors
    seen_prefixes: dict[str, str] = {}
    seen_names: set[str] = set()
    for index, owner in enumerate(owner_file.owners):
        entry = f"owners[{index}] ({owner.registry_name})"
        _check_sources(OUI_OWNERS_FILE, entry, owner.sources, problems)
        if owner.registry_name in seen_names:
            problems.add(OUI_OWNERS_FILE, entry, "duplicate registry name")
        seen_names.add(owner.registry_name)
        if owner.vendor is not None and owner.vendor not in vendors:
            problems.add(
                OUI_OWNERS_FILE, entry, _unknown_vendor_message(owner.vendor, vendors, "vendor")
            )
        if owner.vendor is None:
            if owner.false_friend_of is None:
                problems.add(OUI_OWNERS_FILE, entry, "vendor: null needs false_friend_of")
            elif owner.false_friend_of not in vendors:
                problems.add(
                    OUI_OWNERS_FILE,
                    entry,
                    _unknown_vendor_message(owner.false_friend_of, vendors, "false_friend_of"),
                )
        digits = PREFIX_DIGITS[owner.registry]
        for prefix in owner.prefixes:
            if len(prefix) != digits or not _HEX.match(prefix):
                problems.add(
                    OUI_OWNERS_FILE,
                    entry,
                    f"prefix {prefix!r} is not {digits} upper-case hex digits ({owner.registry})",
                )
            first = seen_prefixes.setdefault(prefix, owner.registry_name)
            if first != owner.registry_name:
                problems.add(OUI_OWNERS_FILE, entry, f"prefix {prefix} also listed for {first!r}")
