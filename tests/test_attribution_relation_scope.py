"""A brand with several relations (Annke, Honeywell: Hikvision-made lines and Dahua-made
lines): a model number of a line one relation's scope names leads to that relation's maker
only, never to every maker of the brand; a line outside every scope leaves the maker open
(a review naming the possible makers). Checked through a real scan over loopback, the
``lookup`` command and a screened CSV, against what the knowledge data says.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import onvif_only_device, run_provscan, scan_addresses

from provscan.attribution.attribute import Attributor
from provscan.fingerprints.grammars import GrammarIndex
from provscan.knowledge import load_knowledge
from provscan.knowledge.grammars import GrammarKnowledge, load_grammar_knowledge
from provscan.knowledge.schema import ModelGrammar
from provscan.lab.server import run_lab_in_thread
from provscan.model import Device

KNOWLEDGE = load_knowledge()
GRAMMARS = load_grammar_knowledge()
INDEX = GrammarIndex(GRAMMARS)

#: On their own 127.N.147.x (N = 120-219 per test process), apart from other labs.
BASE = f"127.{120 + os.getpid() % 100}.147"

#: (brand, model, kind of product) of lines in and outside the brands' relation scopes.
PRODUCTS = [
    ("Honeywell", "H4W4PER3", "camera"),  # Performance series: both relations name it
    ("Honeywell", "HC30W45R3", "camera"),  # another Honeywell video line: outside
    ("Annke", "I81EM", "camera"),  # an Annke line whose grammar names its maker
    ("Annke", "C800", "camera"),  # an Annke line of no known maker
    ("Amcrest", "IP8M-2496EB", "camera"),
    ("Lorex", "LNB8005", "camera"),  # dated relations, line not placed in time
    ("Interlogix", "TVB-5401", "camera"),
    ("Kenwood", "NX-5300", "radio"),  # a JVCKENWOOD radio, not a Kenwood Limited kettle
]
#: The video products: a scan reads their ONVIF Manufacturer as the label brand (no
#: fingerprint rule reads "Kenwood" there; a radio answers no ONVIF anyway).
CAMERAS = [product for product in PRODUCTS if product[2] == "camera"]


def _line(brand: str, model: str, *, scanned: bool) -> ModelGrammar | None:
    """The grammar the model number follows (a scan reads a brand-only grammar when the
    device states the brand in a label field, as its ONVIF Manufacturer here)."""
    del scanned  # the same in a scan and on a list row naming the brand
    hits = [hit for hit in INDEX.find([model], (brand,)) if hit.grammar.brand == brand]
    return hits[0].grammar if hits else None


def _covering_makers(brand: str, kind: str | None) -> set[str]:
    return {
        relation.maker
        for relation in KNOWLEDGE.relations_for_brand(brand)
        if not relation.device_types or kind is None or kind in relation.device_types
    }


def _established(brand: str, model: str, kind: str | None, *, scanned: bool) -> set[str]:
    """The makers the data establishes: the line's maker; the makers of the relations whose
    scope names the line; otherwise none (a relation of some lines names a possible maker)."""
    grammar = _line(brand, model, scanned=scanned)
    if grammar is not None and grammar.maker is not None:
        return {grammar.maker}
    relations = KNOWLEDGE.relations_for_brand(brand)
    kind = (grammar.device_type if grammar else None) or kind
    if grammar is not None and grammar.in_relation_scope:
        return _covering_makers(brand, kind)
    if all(not r.partial and r.until is None for r in relations):
        return _covering_makers(brand, kind)
    return set()


SPECS = [
    onvif_only_device(f"relation-scope-{index}", f"{BASE}.{10 + index}", brand, model)
    for index, (brand, model, _) in enumerate(PRODUCTS)
]


@pytest.fixture(scope="module")
def scanned() -> Iterator[dict[tuple[str, str], Device]]:
    with run_lab_in_thread(SPECS):
        result = scan_addresses([spec.address for spec in SPECS], ports=[80])
    by_address = {device.ip: device for device in result.devices}
    yield {
        (brand, model): by_address[spec.address]
        for spec, (brand, model, _) in zip(SPECS, PRODUCTS, strict=True)
    }


def _makers(device: Device) -> set[str]:
    if device.manufacturer is None:
        return set()
    return {device.manufacturer, *(candidate.maker for candidate in device.alternatives)}


@pytest.mark.parametrize(("brand", "model", "kind"), CAMERAS)
def test_a_scanned_device_names_only_the_makers_whose_relation_covers_its_line(
    scanned: dict[tuple[str, str], Device], brand: str, model: str, kind: str
) -> None:
    device = scanned[(brand, model)]
    expected = _established(brand, model, None, scanned=True)
    assert _makers(device) == expected, (device.manufacturer, device.notes, device.conflicts)
    if not expected:
        review = [note for note in device.notes if note.startswith("review: possibly made by")]
        assert review, device.notes
        for maker in _covering_makers(brand, None):
            assert maker in review[0]
    else:
        # another maker of the brand is no conflicting evidence against the line's maker
        assert not any(
            maker in conflict
            for conflict in device.conflicts
            for maker in _covering_makers(brand, None) - expected
        ), device.conflicts


@pytest.mark.parametrize(("brand", "model", "kind"), PRODUCTS)
def test_lookup_names_only_the_makers_whose_relation_covers_the_line(
    brand: str, model: str, kind: str
) -> None:
    process = run_provscan("lookup", f"{brand} {model}", "--format", "json")
    assert process.returncode == 0, process.stderr
    row = json.loads(process.stdout)
    expected = _established(brand, model, kind, scanned=False)
    if expected:
        assert set(row["makers"]) == expected, row["reason"]
        assert row["relation"] != "possible_relabel"
    else:
        assert row["relation"] == "possible_relabel", row["reason"]
        assert set(row["makers"]) == _covering_makers(brand, kind)


def test_a_screened_list_names_only_the_makers_whose_relation_covers_the_line(
    tmp_path: Path,
) -> None:
    source = tmp_path / "products.csv"
    with source.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["Brand", "Model", "Description"])
        writer.writerows(PRODUCTS)
    process = run_provscan("screen", str(source), "--format", "json", "--quiet")
    assert process.returncode == 0, process.stderr
    rows = json.loads(process.stdout)["rows"]
    assert len(rows) == len(PRODUCTS)
    for row, (brand, model, kind) in zip(rows, PRODUCTS, strict=True):
        expected = _established(brand, model, kind, scanned=False)
        if expected:
            assert set(row["makers"]) == expected, (brand, model, row["reason"])
            assert row["relation"] != "possible_relabel", (brand, model)
        else:
            assert row["relation"] == "possible_relabel", (brand, model, row["reason"])
            assert set(row["makers"]) == _covering_makers(brand, kind), (brand, model)


def _with(grammar_id: str, **changes: object) -> GrammarKnowledge:
    """The bundled grammars with one grammar changed."""
    return dataclasses.replace(
        GRAMMARS,
        grammars=tuple(
            grammar.model_copy(update=changes) if grammar.id == grammar_id else grammar
            for grammar in GRAMMARS.grammars
        ),
    )


@pytest.mark.parametrize(
    ("brand", "model", "grammar_id", "changes"),
    [
        # the Annke -> Hikvision scope names I81EM / NCPT500; Annke -> Dahua names no line
        ("Annke", "I81EM", "annke.sadp_lines", {"in_relation_scope": True}),
        # a Kenwood radio number, read as a scan would if the brand unlocked it
        ("Kenwood", "NX-5300", "kenwood.radios", {"requires_brand": False}),
    ],
)
def test_a_line_in_one_relations_scope_does_not_establish_the_brands_other_makers(
    scanned: dict[tuple[str, str], Device],
    brand: str,
    model: str,
    grammar_id: str,
    changes: dict[str, object],
) -> None:
    # Given a grammar of a line in the scope of the brand's relation to the line's maker
    grammars = _with(grammar_id, **changes)
    grammar = grammars.grammar(grammar_id)
    assert grammar.in_relation_scope and grammar.maker is not None
    others = _covering_makers(brand, grammar.device_type) - {grammar.maker}
    assert others, f"{brand} needs a relation to another maker for this test"
    # When the device a real scan saw is attributed with it
    seen = scanned[(brand, model)]
    device = (
        Attributor(KNOWLEDGE, grammars=grammars)
        .attribute(seen.ip, seen.open_ports, seen.attempts)
        .device
    )
    # Then the line's maker alone is named; the brand's other makers are no alternative
    assert _makers(device) == {grammar.maker}, (device.notes, device.conflicts)
    assert not any(maker in conflict for conflict in device.conflicts for maker in others)
