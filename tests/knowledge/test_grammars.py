"""Model-number grammars and IEEE registry owners: every entry's examples are checked (Recog style)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from provscan.attribution.mac import oui_owner, vendor_for_registry_name
from provscan.errors import KnowledgeError
from provscan.fingerprints.grammars import GrammarIndex
from provscan.knowledge.grammars import GRAMMARS_FILE, OUI_OWNERS_FILE, load_grammar_knowledge
from provscan.knowledge.loader import DEFAULT_DATA_DIR, load_knowledge, vendor_key
from provscan.knowledge.schema import ModelGrammar, Relation
from provscan.screening.run import bundled_identifier

KNOWLEDGE = load_knowledge()
GRAMMARS = load_grammar_knowledge()
INDEX = GrammarIndex(GRAMMARS)
IDENTIFIER = bundled_identifier()


@pytest.mark.parametrize("grammar", GRAMMARS.grammars, ids=lambda g: g.id)
def test_every_grammar_example_is_attributed_to_its_brand_and_maker(grammar: ModelGrammar) -> None:
    context = {grammar.brand} if grammar.requires_brand else set()
    for example in grammar.examples:
        hits = INDEX.match(example, context)
        assert hits, f"{example!r} matched nothing"
        # Next to its brand, a brand's own grammar wins (as in the identifier's ranking).
        first = min(hits, key=lambda hit: (hit.grammar.brand not in context, hit.order))
        assert (first.grammar.brand, first.grammar.maker) == (grammar.brand, grammar.maker), (
            f"{example!r} is claimed first by {first.grammar.id}"
        )
    for negative in grammar.negatives:
        assert not any(hit.grammar.id == grammar.id for hit in INDEX.match(negative, context))


@pytest.mark.parametrize("grammar", GRAMMARS.grammars, ids=lambda g: g.id)
def test_every_grammar_example_gives_a_verdict_through_lookup(grammar: ModelGrammar) -> None:
    brand = grammar.brand if grammar.requires_brand or grammar.maker is None else None
    identification = IDENTIFIER.identify(grammar.examples[0], brand=brand)
    assert identification.grammar_id is not None
    if grammar.maker is not None:
        assert identification.maker == grammar.maker
    else:
        makers = {r.maker for r in KNOWLEDGE.relations_for_brand(grammar.brand)}
        assert identification.maker in makers
    assert grammar.id in " ".join(identification.evidence)


def _relation_id(relation: Relation) -> str:
    return f"{relation.brand}->{relation.maker}:{relation.relation}"


@pytest.mark.parametrize("relation", KNOWLEDGE.relations, ids=_relation_id)
def test_every_relation_has_a_working_example(relation: Relation) -> None:
    # Given only the brand, the relation's maker is the answer or a named alternative, and
    # the relation (with its sources) is in the evidence.
    identification = IDENTIFIER.identify(relation.brand)
    assert identification.brand == relation.brand
    candidates = {identification.maker, *identification.alternatives}
    same_family = {
        maker
        for maker in candidates
        if maker and KNOWLEDGE.family_of(maker) == KNOWLEDGE.family_of(relation.maker)
    }
    assert relation.maker in candidates or same_family, candidates
    assert identification.evidence and relation.brand in identification.evidence[0]


def test_grammars_agree_with_the_model_fingerprints() -> None:
    """An example of fingerprints/model.yaml that a grammar matches names the same family."""
    checked = 0
    for loaded in KNOWLEDGE.fingerprints:
        if not loaded.path.endswith("model.yaml"):
            continue
        for rule in loaded.spec.rules:
            maker = rule.asserts.get("manufacturer")
            if maker is None:
                continue
            for example in rule.examples:
                for hit in INDEX.match(example.value):
                    if hit.grammar.maker is None:
                        continue
                    checked += 1
                    assert KNOWLEDGE.family_of(hit.grammar.maker) == KNOWLEDGE.family_of(
                        maker
                    ) and (KNOWLEDGE.family_of(maker) is not None or hit.grammar.maker == maker), (
                        f"{example.value}: rule {rule.id} says {maker}, grammar {hit.grammar.id} says {hit.grammar.maker}"
                    )
    assert checked > 20


@pytest.mark.parametrize("owner", GRAMMARS.oui_owners, ids=lambda o: o.registry_name)
def test_registry_owner_names_match_the_ieee_registry(owner: Any) -> None:
    if owner.registry == "MA-L":
        for prefix in owner.prefixes:
            mac = ":".join([prefix[i : i + 2] for i in range(0, 6, 2)] + ["00", "00", "01"])
            registered = oui_owner(mac)
            assert registered is not None and vendor_key(registered) == vendor_key(
                owner.registry_name
            )
    spellings = {n: [n, *v.aliases, *v.legal_names] for n, v in KNOWLEDGE.vendors.items()}
    # Attribution may not know every registry name, but must never map one to the wrong vendor.
    # A false friend may share a vendor's whole name (legal form aside: "Teltronic AG" and
    # "Teltronic S.A.U."); attribution reads it with the reviewed registry, as here.
    registry = (
        {o.registry_name: o.vendor for o in GRAMMARS.oui_owners} if owner.false_friend_of else None
    )
    mapped = vendor_for_registry_name(spellings, owner.registry_name, registry)
    assert mapped in (None, owner.vendor)
    if owner.false_friend_of:
        assert mapped != owner.false_friend_of
        for other in GRAMMARS.oui_owners:  # and the vendor it looks like keeps its own name
            if other.vendor == owner.false_friend_of:
                assert vendor_for_registry_name(spellings, other.registry_name, registry) == (
                    other.vendor
                )


def test_every_family_has_registry_names() -> None:
    for family in ("hikvision", "dahua"):
        members = {m.name for m in KNOWLEDGE.families[family].members if m.until is None}
        assert GRAMMARS.registry_names(members), family


# --- broken copies are refused with the entry named ----------------------------------------


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    # Only the two files under test; the vocabulary and relations are the bundled ones.
    target = tmp_path / "data"
    target.mkdir()
    for name in (GRAMMARS_FILE, OUI_OWNERS_FILE):
        shutil.copy(DEFAULT_DATA_DIR / name, target / name)
    return target


def _edit(path: Path, change: Any) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _problem(data_dir: Path) -> str:
    with pytest.raises(KnowledgeError) as caught:
        load_grammar_knowledge(data_dir, KNOWLEDGE)
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["grammars"][0].update(brand="HIKVISION"), "not a canonical vendor name"),
        (lambda d: d["grammars"][0].update(maker="Acme"), "not in the vendor vocabulary"),
        (lambda d: d["grammars"][0].update(sources=[" "]), "non-blank source"),
        (lambda d: d["grammars"][0]["examples"].append("XYZ-1"), "does not match"),
        (lambda d: d["grammars"][0]["negatives"].append("DS-2CD2143G0-I"), "negative"),
        (lambda d: d["grammars"].append(dict(d["grammars"][0])), "duplicate grammar id"),
        (lambda d: d["grammars"][0].update(brand="Axis"), "contradicts relations.yaml"),
        (
            lambda d: d["grammars"].append(
                {
                    **d["grammars"][-1],
                    "id": "x.shadow",
                    "pattern": "DS-2CD.*",
                    "requires_brand": False,
                }
            ),
            "also matched by grammar",
        ),
        (lambda d: d["grammars"][0].update(pattern="(unclosed"), "does not compile"),
        (
            lambda d: d["grammars"][0].update(brandless_kinds=["camera"], requires_brand=False),
            "brandless_kinds needs requires_brand",
        ),
        (lambda d: d["grammars"][0].update(brandless_kinds=["car"]), "brandless_kinds"),
    ],
)
def test_broken_grammar_files_are_refused(data_copy: Path, change: Any, message: str) -> None:
    _edit(data_copy / GRAMMARS_FILE, change)
    assert message in _problem(data_copy)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["owners"][0].update(vendor="Hik Vision"), "not a canonical vendor name"),
        (lambda d: d["owners"][0]["prefixes"].append("3CEF8C"), "also listed"),
        (lambda d: d["owners"][0]["prefixes"].append("12345"), "upper-case hex"),
        (lambda d: d["owners"][0].update(vendor=None), "false_friend_of"),
    ],
)
def test_broken_owner_files_are_refused(data_copy: Path, change: Any, message: str) -> None:
    _edit(data_copy / OUI_OWNERS_FILE, change)
    assert message in _problem(data_copy)
