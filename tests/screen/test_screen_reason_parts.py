"""A screened row's reason is built from parts (verdict.py's ``ReasonClause``: the kind of
clause, the brand, makers, relation codes, policy ids, the identification's own words): the
CSV/JSON ``reason`` text and the screening document's plain words are both made from them,
so that a change of wording in verdict.py cannot silently break the document (it used to
rewrite the reason text with regular expressions). Every kind of clause verdict.py can write
(read from its code) renders in both forms."""

from __future__ import annotations

import ast
import inspect
import json
from collections.abc import Sequence
from typing import get_args

import pytest

from provscan.compliance.screening import RELATION_WORDS, plain_clause, plain_reason
from provscan.knowledge.loader import load_knowledge
from provscan.policy.evaluate import assess, maker_countries
from provscan.screening import verdict
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import (
    CONTEXT_CLAUSES,
    ClauseKind,
    Policies,
    ReasonClause,
    ScreenRow,
    judge_product,
)

#: Products (brand, model, the policies selected: None for all) that between them give every
#: kind of clause; a kind added to verdict.py without a product here fails the first test.
PRODUCTS: list[tuple[str, str, Sequence[str] | None]] = [
    ("Hikvision", "DS-2CD2143G2-I", None),  # restricted; measures that do not bind
    ("Annke", "DS-2CD2T47G2-LSU/SL", None),  # several possible makers
    ("Lorex", "N4K2-84", None),  # review: the maker is not established; next step
    ("DJI", "RS 4", None),  # restricted only on a condition the row leaves open
    ("IndigoVision", "DS-7608NXI-K2", None),  # a relabeller's brand on Hikvision's numbering
    ("TP-Link", "Tapo C200", None),  # clear: named by measures that do not bind
    ("Hikvision", "DS-2CD2143G2-I", ["dk"]),  # named only by a context measure
    ("Axis", "P3245-LV", None),  # a maker in no restricted family
    ("Lorex", "N4K2-84", ["ca"]),  # a family no selected policy names
    ("Zorblax", "ZX-900", None),  # unknown: the identification's clauses only
]


def _row(brand: str, model: str, policy_ids: Sequence[str] | None) -> ScreenRow:
    identifier = bundled_identifier()
    policies = identifier.knowledge.select_policies(list(policy_ids) if policy_ids else None)
    return judge_product(identifier.identify("", brand=brand, model=model), policies)


@pytest.fixture(scope="module")
def rows() -> list[ScreenRow]:
    return [_row(*product) for product in PRODUCTS]


@pytest.fixture(scope="module")
def jurisdictions() -> dict[str, str]:
    return {policy.id: policy.jurisdiction for policy in load_knowledge().policies.values()}


def _kinds_in_code() -> set[str]:
    """The kinds verdict.py gives its clauses, read from its source (``ReasonClause("...",``)."""
    tree = ast.parse(inspect.getsource(verdict))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "ReasonClause"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def test_every_kind_of_clause_verdict_writes_is_declared_and_produced(
    rows: list[ScreenRow],
) -> None:
    declared = set(get_args(ClauseKind))
    assert _kinds_in_code() == declared
    produced = {clause.kind for row in rows for clause in row.reason_parts}
    assert declared - produced == set(), "add a product that gives it to PRODUCTS"


def test_every_clause_renders_as_the_reason_text_and_in_plain_words(
    rows: list[ScreenRow], jurisdictions: dict[str, str]
) -> None:
    for row in rows:
        assert row.reason_parts, row.reason
        # the CSV/JSON reason is the clauses' text, in order, joined by "; "
        assert row.reason == "; ".join(clause.text for clause in row.reason_parts)
        plain = plain_reason(row, jurisdictions)
        for clause in row.reason_parts:
            assert clause.text and clause.text in row.reason
            words = plain_clause(clause, jurisdictions)
            assert words.strip(), clause
            if clause.kind in CONTEXT_CLAUSES:
                assert words not in plain  # said once, above the document's rows
                continue
            assert words in plain, clause
            for part in clause.parts:
                if isinstance(part, Policies):
                    # policies by jurisdiction, never by id
                    assert ", ".join(jurisdictions[p] for p in part.ids) in words, clause
        for code in RELATION_WORDS:
            # "subsidiary" and "unrelated" are words too: as codes they are in parentheses
            assert (code if "_" in code else f"({code})") not in plain, (code, plain)
        if row.brand:
            assert not plain.startswith(f"{row.brand}: "), plain  # the table shows the brand


def test_the_document_reads_the_parts_not_the_reason_text(
    rows: list[ScreenRow], jurisdictions: dict[str, str]
) -> None:
    for row in rows:
        reworded = row.model_copy(update={"reason": "reworded; restricted by xx (own_brand)"})
        assert plain_reason(reworded, jurisdictions) == plain_reason(row, jurisdictions)


def test_identify_clauses_give_their_relation_codes_in_words(
    rows: list[ScreenRow], jurisdictions: dict[str, str]
) -> None:
    lorex = rows[2]
    assert "(former_subsidiary)" in lorex.reason
    plain = plain_reason(lorex, jurisdictions)
    assert f"({RELATION_WORDS['former_subsidiary']})" in plain
    assert plain.startswith(f"possibly made by Dahua ({RELATION_WORDS['possible_relabel']})")


def test_the_parts_say_what_the_assessment_says() -> None:
    """The parts of "restricted by", "each is restricted" and a condition read as the policy
    assessment's own texts (``restricted_by_text``, ``which``, ``conditions_text``)."""
    identifier = bundled_identifier()
    policies = list(identifier.knowledge.policies.values())
    countries = maker_countries(identifier.knowledge.vendors)
    checked = 0
    for brand, model, _ in PRODUCTS:
        found = identifier.identify("", brand=brand, model=model)
        assessment = assess(
            found.candidates,
            policies,
            device_type=found.device_type,
            countries=countries,
            installed=False,
        )
        pairs = [
            (verdict._restricted_by(assessment), assessment.restricted_by_text()),
            (verdict._which(assessment), assessment.which()),
            (verdict._conditions(assessment), assessment.conditions_text()),
        ]
        for parts, text in pairs:
            assert ReasonClause("identification", parts).text == text
            checked += bool(text)
    assert checked >= 5


def test_the_json_and_its_schema_carry_no_parts(rows: list[ScreenRow]) -> None:
    row = rows[0]
    written = row.model_dump_json()
    assert "reason_parts" not in json.loads(written)
    assert "reason_parts" not in json.dumps(ScreenRow.model_json_schema())
    # a row read back has the same reason and no parts: the document gives it as written
    read = ScreenRow.model_validate_json(written)
    assert read.reason == row.reason and read.reason_parts == ()
    assert plain_reason(read, {}) == row.reason
