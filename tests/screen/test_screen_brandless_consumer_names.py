"""Consumer product names without the brand (issue 11, point 7): EZVIZ and Imou.

Procurement and camera lists often give a consumer camera's marketing name and a kind word
("C8C, ptz", "Ranger 2, indoor camera") with the brand in a column that is sometimes missing.
Grammars with ``brandless_kinds`` let such a name count without the brand, only when the row
names a camera, ptz or doorbell, no brand and no other part number, and nothing but product
words stand before the name (docs/decisions/0024-brandless-consumer-names.md). Every positive
name here is one the grammar's cited catalogue lists; every negative is another maker's real
product, a vehicle or an ordinary word. None is copied from a held-out list.
"""

from __future__ import annotations

import pytest

from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.policy.evaluate import RESTRICTED_MIN_CONFIDENCE
from provscan.screening.identify import BRANDLESS_FACTOR
from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import ScreenRow, judge_product

IDENTIFIER = bundled_identifier()
POLICIES = IDENTIFIER.knowledge.select_policies(None)
GRAMMARS = load_grammar_knowledge()
BRANDLESS = [grammar for grammar in GRAMMARS.grammars if grammar.brandless_kinds]


def screen(text: str = "", *, brand: str | None = None, model: str | None = None) -> ScreenRow:
    return judge_product(IDENTIFIER.identify(text, brand=brand, model=model), POLICIES)


# (description cell, model cell, maker, grammar): brand-free rows with a kind word
RESTRICTED = [
    ("ptz", "C8C", "Hikvision", "ezviz.brandless_names"),
    ("C8C, ptz", None, "Hikvision", "ezviz.brandless_names"),
    ("H8c Pro 2K+, ptz", None, "Hikvision", "ezviz.brandless_names"),
    ("H8c 2K⁺ outdoor pan/tilt camera", None, "Hikvision", "ezviz.brandless_names"),
    ("Outdoor Wi-Fi camera H9c", None, "Hikvision", "ezviz.brandless_names"),
    ("indoor camera", "C6W(EU)", "Hikvision", "ezviz.brandless_names"),
    ("C3W Pro (LATAM) outdoor camera", None, "Hikvision", "ezviz.brandless_names"),
    ("battery camera BC1C 2K+", None, "Hikvision", "ezviz.brandless_names"),
    ("video doorbell", "DB2", "Hikvision", "ezviz.brandless_names"),
    ("Ranger 2, indoor camera", None, "Dahua", "imou.brandless_names"),
    ("Ranger 2C Wi-Fi camera", None, "Dahua", "imou.brandless_names"),
    ("Cruiser 2 5MP, outdoor ptz camera", None, "Dahua", "imou.brandless_names"),
    ("Cruiser SE+ 4MP camera", None, "Dahua", "imou.brandless_names"),
    ("Bullet 2E 5MP camera", None, "Dahua", "imou.brandless_names"),
    ("Cell Go battery camera", None, "Dahua", "imou.brandless_names"),
    ("Rex 3D indoor camera", None, "Dahua", "imou.brandless_names"),
    ("Looc V2 camera", None, "Dahua", "imou.brandless_names"),
]


@pytest.mark.parametrize(("text", "model", "maker", "grammar"), RESTRICTED)
def test_a_consumer_name_with_a_kind_word_is_restricted(
    text: str, model: str | None, maker: str, grammar: str
) -> None:
    identification = IDENTIFIER.identify(text, model=model)
    assert identification.grammar_id == grammar, identification.reasons
    row = judge_product(identification, POLICIES)
    assert row.maker == maker, row.reason
    assert row.status == "restricted", row.reason
    # weaker than a part number or a stated brand, and says why
    weight = {"high": 0.95, "medium": 0.75, "low": 0.45}[GRAMMARS.grammar(grammar).confidence]
    assert row.confidence == pytest.approx(weight * BRANDLESS_FACTOR, abs=0.001)
    assert any("read without the brand" in reason for reason in identification.reasons)


# Names that are ordinary words, other makers' too (low grammars): a person looks at them.
REVIEW = [
    "Ranger camera",
    "Knight 4K outdoor camera",
    "Bullet 2 camera",
    "H3c 2K+ camera",  # EZVIZ's H3c, spelt like the maker H3C
    "HB8 battery ptz camera",
]


@pytest.mark.parametrize("text", REVIEW)
def test_a_name_that_is_also_a_word_is_a_review(text: str) -> None:
    row = screen(text)
    assert row.status == "review", row.reason
    assert row.confidence < RESTRICTED_MIN_CONFIDENCE
    assert row.maker in ("Hikvision", "Dahua")


# Not the restricted families' products: never restricted, and never read as EZVIZ or Imou.
NOT_RESTRICTED = [
    "Ford Ranger",
    "Ford Ranger backup camera",
    "Land Cruiser",
    "Land Cruiser rear view camera",
    "Toyota Land Cruiser 200 camera kit",
    "Arlo Go camera",
    "Arlo Go 2 LTE camera",
    "Wyze Cam v3",
    "Ring Stick Up Cam",
    "Reolink Argus 3 Pro camera",
    "TP-Link Tapo C200 camera",
    "Tapo C310 outdoor camera",
    "C200 camera",  # Tapo or Xiaomi: not an EZVIZ name
    "C300 camera",  # Canon EOS C300 or Xiaomi
    "Canon C300 cinema camera",
    "Reolink C2 Pro camera",
    "Foscam C2M camera",
    "H3C S5130",
    "H3C S5130-28S-EI switch",
    "H3C camera",  # the maker's spelling
    "Bullet camera 4MP",
    "4MP bullet camera",
    "Bullet 2 MP camera",  # a size, not Imou's Bullet 2
    "Turret camera 2.8mm",
    "Video doorbell",
    "IBM DB2 license",
    "DB2",  # no kind word
    "C8C",  # no kind word: the short name alone
    "Ranger 2",  # no kind word
    "Cruiser 2 5MP",  # no kind word
    "Ranger 2 camera for ABC-1234 kit",  # another part number in the row
    "Compatible with Ranger 2 camera",  # words before the name
    "Cell 4G trail camera",
    "Go Pro camera",
    "H4 SL dome camera",  # Avigilon's H4 line, written as EZVIZ's H4 is
    "Bullet 2E",  # the name alone names its own kind: no kind word besides it
    "Stealth Cam Ranger trail camera",
]


@pytest.mark.parametrize("text", NOT_RESTRICTED)
def test_look_alikes_are_not_restricted(text: str) -> None:
    identification = IDENTIFIER.identify(text)
    row = judge_product(identification, POLICIES)
    assert row.status != "restricted", row.reason
    assert row.status != "review", row.reason
    assert identification.grammar_id not in {grammar.id for grammar in BRANDLESS}


def test_another_brand_stated_wins_over_the_name() -> None:
    for brand in ("Axis", "Bosch", "Reolink"):
        row = screen("Ranger 2 camera", brand=brand)
        assert row.maker == brand, row.reason
        assert row.status == "clear"


def test_the_name_next_to_its_brand_is_confirmed_by_it() -> None:
    for brand, model, maker in (
        ("EZVIZ", "C8C", "Hikvision"),
        ("EZVIZ", "H3c", "Hikvision"),
        ("EZVIZ", "HB8", "Hikvision"),
        ("Imou", "Ranger 2", "Dahua"),
        ("Imou", "Bullet 2", "Dahua"),
    ):
        row = screen(brand=brand, model=model)
        assert row.maker == maker and row.status == "restricted", row.reason
        # stronger than without the brand
        assert row.confidence > 0.9


# The same products' part numbers (catalogue sources of the grammars) need no kind word.
PART_NUMBERS = [
    ("IPC-A22EP", "imou.ipc"),  # Ranger 2
    ("IPC-S42FP", "imou.ipc"),  # Cruiser
    ("IPC-F42P", "imou.ipc"),
    ("IPC-S21FEP", "imou.ipc"),  # Cruiser SE+
    ("IPC-S3EP-5M0WE", "imou.ipc"),  # Bullet 3
    ("IPC-F88FIP-V2", "imou.ipc"),  # Knight
    ("CS-H8c-R100-1K3WKFL", "ezviz.cs"),
    ("CS-DB2-A0-2C3WPB", "ezviz.cs"),
    ("PTZ-N2C400I-W", "hilook.thc_ptz"),
    ("IPC-PDW3849-A180-AS-PV", "dahua.ipc_special"),
    ("IPC-Color4K-T180", "dahua.ipc_color4k"),
]


@pytest.mark.parametrize(("model", "grammar"), PART_NUMBERS)
def test_part_numbers_of_the_same_lines(model: str, grammar: str) -> None:
    identification = IDENTIFIER.identify(model=model)
    assert identification.grammar_id == grammar
    assert screen(model=model).status == "restricted"


@pytest.mark.parametrize("grammar", BRANDLESS, ids=lambda g: g.id)
def test_every_brandless_grammar_example_counts_with_a_kind_word(grammar) -> None:  # type: ignore[no-untyped-def]
    kind = "doorbell" if grammar.brandless_kinds == ["doorbell"] else grammar.brandless_kinds[0]
    for example in grammar.examples:
        identification = IDENTIFIER.identify(f"{example} {kind}")
        assert identification.grammar_id is not None, (example, identification.reasons)
        assert identification.maker == grammar.maker, (example, identification.reasons)
        # and never without one
        assert IDENTIFIER.identify(example).grammar_id not in {g.id for g in BRANDLESS}


@pytest.mark.parametrize("grammar", BRANDLESS, ids=lambda g: g.id)
def test_brandless_grammars_say_their_specificity(grammar) -> None:  # type: ignore[no-untyped-def]
    assert grammar.requires_brand
    assert grammar.negatives, grammar.id
    assert grammar.note.startswith("Specificity"), grammar.id
