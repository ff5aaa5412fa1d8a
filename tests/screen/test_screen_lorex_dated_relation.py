"""A Lorex part number alone is a possible Dahua product, for review (newcomer review, point 7).

Dahua owned Lorex from 2018-02-06 to 2022-11-24 (relations.yaml, former_subsidiary, dated).
Lorex's own LNB/LNE/LNR numbering says neither the model year nor which line a product is, so
it cannot establish Dahua: before, the grammar named Dahua as the maker and every LNB... row
came out RESTRICTED (0.75) with no date check, while an Annke row got "review". A Lorex row
with a Dahua-made numbering (Dahua's own model number) is still restricted, and so is any
Lorex grammar documented as a Dahua numbering (none is: the one source found, Dahua's price
list, is a single source).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import judge_product

IDENTIFIER = bundled_identifier()
POLICIES = IDENTIFIER.knowledge.select_policies(None)


def screen(text: str = "", *, brand: str | None = None, model: str | None = None):  # type: ignore[no-untyped-def]
    return judge_product(IDENTIFIER.identify(text, brand=brand, model=model), POLICIES)


@pytest.mark.parametrize(
    "cells",
    [
        {"model": "LNB8005-C"},
        {"model": "LNE8964AB"},
        {"model": "LNR6100"},
        {"brand": "Lorex", "model": "LNB8005-C"},
        {"text": "Lorex LNB8005-C"},
        {"text": "Lorex LNE9242B 4K IP dome"},
    ],
)
def test_a_lorex_part_number_alone_is_for_review(cells: dict[str, str]) -> None:
    row = screen(cells.pop("text", ""), **cells)
    assert (row.status, row.restricted) == ("review", None), row.reason
    assert (row.maker, row.brand, row.relation) == ("Dahua", "Lorex", "possible_relabel")
    assert row.confidence < 0.5
    assert "possibly made by Dahua: Lorex belonged to Dahua in 2018-02-06..2022-11-24" in row.reason
    assert "nothing in the row shows this product's date or line" in row.reason
    # the evidence still shows the numbering and the dated relation, with their sources
    assert any("grammar lorex.ln_ip" in line for line in row.evidence)
    assert any("relation Lorex -> Dahua: former_subsidiary" in line for line in row.evidence)


def test_lorex_is_read_like_annke_and_sepura() -> None:
    # relations that cover some lines or a dated period give a review, never an established maker
    for text in ("Annke C800", "Sepura SC20", "Lorex LNB8005-C"):
        row = screen(text)
        assert row.status == "review" and row.restricted is None, (text, row.reason)
    assert "Sepura belonged to Hytera in 2017-05-25..2022-07" in screen("Sepura SC20").reason


@pytest.mark.parametrize(
    "cells",
    [
        {"brand": "Lorex", "model": "IPC-HFW2320RN-ZS"},  # Dahua's own numbering under Lorex
        {"text": "Lorex IPC-HFW2431S-S-S2 bullet"},
    ],
)
def test_a_lorex_row_with_a_dahua_numbering_stays_restricted(cells: dict[str, str]) -> None:
    row = screen(cells.pop("text", ""), **cells)
    assert (row.status, row.maker, row.brand) == ("restricted", "Dahua", "Lorex"), row.reason


def test_no_lorex_grammar_names_dahua_without_two_documented_sources() -> None:
    # A Lorex numbering may name Dahua as its maker only when it is documented as a
    # Dahua-made numbering, with two sources; none is today.
    grammars = load_grammar_knowledge(knowledge=IDENTIFIER.knowledge).grammars
    lorex = [grammar for grammar in grammars if grammar.brand == "Lorex"]
    assert {grammar.id for grammar in lorex} >= {"lorex.ln_ip", "lorex.series_letters"}
    for grammar in lorex:
        if grammar.maker is not None:
            assert grammar.documented and len(grammar.sources) >= 2, grammar.id


def test_screen_lists_a_lorex_row_for_review(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listing = tmp_path / "list.csv"
    listing.write_text(
        "Manufacturer,Part Number,Description\n"
        ",LNB8005-C,4K IP bullet\n"
        "Lorex,LNR6100,NVR\n"
        "Lorex,IPC-HFW2320RN-ZS,bullet\n",
        encoding="utf-8",
    )
    output = tmp_path / "screened.json"
    assert cli("screen", str(listing), "-o", str(output)).exit_code == 0
    rows = json.loads(output.read_text(encoding="utf-8"))["rows"]
    assert [(row["status"], row["restricted"], row["maker"]) for row in rows] == [
        ("review", None, "Dahua"),
        ("review", None, "Dahua"),
        ("restricted", True, "Dahua"),
    ]
