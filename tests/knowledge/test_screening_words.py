"""Screening words are reviewed data (issue 11): ``screening_words.yaml`` reaches product
screening through :class:`Knowledge`, each role changes what screening reads, and a malformed
group is refused with its file, entry and line."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from provscan.errors import KnowledgeError
from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.knowledge.loader import DEFAULT_DATA_DIR, load_knowledge
from provscan.knowledge.screening_words import SCREENING_WORDS_FILE
from provscan.knowledge.verify import verify_knowledge
from provscan.screening.identify import Identification, ProductIdentifier


def edit_groups(data_dir: Path, change: Callable[[list[dict[str, Any]]], None]) -> None:
    path = data_dir / SCREENING_WORDS_FILE
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document["groups"])
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


def add_word(group_id: str, word: str) -> Callable[[list[dict[str, Any]]], None]:
    def change(groups: list[dict[str, Any]]) -> None:
        next(entry for entry in groups if entry["id"] == group_id)["words"].append(word)

    return change


def identify(data_dir: Path | None, text: str) -> Identification:
    knowledge = load_knowledge(data_dir) if data_dir is not None else load_knowledge()
    return ProductIdentifier(knowledge, load_grammar_knowledge()).identify(text)


def screening_problems(data_dir: Path) -> list[str]:
    """What ``provscan knowledge verify`` reports for the file, one line each."""
    report = verify_knowledge(data_dir)
    return [str(problem) for problem in report.problems if problem.file == SCREENING_WORDS_FILE]


# --- the bundled file ----------------------------------------------------------------------


def test_bundled_words_are_read_by_role() -> None:
    words = load_knowledge().screening_words
    assert {"camera", "bracket", "poe", "echolife", "labour"} <= words.product
    assert words.kinds["speed dome"] == "ptz"
    assert words.kinds["t-stat"] == "thermostat"
    assert {"nvr", "thermostat"} <= words.kind_words
    assert "speed dome" not in words.kind_words  # phrases are compared as word pairs only
    assert {"wi-fi", "pan/tilt"} <= words.brandless_leading
    assert {"mp", "ch", "mm"} <= words.size_units
    assert words.kinds_named(["4MP", "Speed", "Dome", "and", "NVR"]) == {"ptz", "camera", "nvr"}


def test_every_group_has_a_rationale_a_confidence_and_a_source() -> None:
    document = yaml.safe_load((DEFAULT_DATA_DIR / SCREENING_WORDS_FILE).read_text("utf-8"))
    roles = {entry["role"] for entry in document["groups"]}
    assert roles == {
        "product",
        "kind",
        "brandless_leading",
        "size_unit",
        "summary_label",
        "summary_qualifier",
    }
    for entry in document["groups"]:
        assert entry["rationale"].strip() and entry["sources"], entry["id"]
        assert entry["confidence"] in ("high", "medium", "low"), entry["id"]


def test_the_bundled_file_verifies_clean() -> None:
    report = verify_knowledge(DEFAULT_DATA_DIR)
    assert SCREENING_WORDS_FILE in report.files
    assert screening_problems(DEFAULT_DATA_DIR) == []


def test_a_directory_without_the_file_uses_the_bundled_words(data_copy: Path) -> None:
    (data_copy / SCREENING_WORDS_FILE).unlink()
    assert load_knowledge(data_copy).screening_words == load_knowledge().screening_words


# --- each role reaches screening through Knowledge -----------------------------------------


def test_a_product_word_added_to_the_data_is_no_longer_a_label(data_copy: Path) -> None:
    # Given a word before a Hikvision number that the data does not know
    text = "Refurbished DS-2CD2143G0-I"
    before = identify(None, text)
    assert (before.brand, before.relation) == ("Refurbished", "probable_relabel")

    # When the data lists it as product vocabulary
    edit_groups(data_copy, add_word("listing_qualifiers", "refurbished"))
    after = identify(data_copy, text)

    # Then it is no label: the number names Hikvision's own product
    assert (after.brand, after.maker, after.relation) == ("Hikvision", "Hikvision", "own_brand")


def test_a_kind_word_added_to_the_data_keeps_a_relation_out_of_scope(data_copy: Path) -> None:
    # Honeywell's relabel relations cover video products only; "stat" is not yet a kind word
    text = "Honeywell stat"
    before = identify(None, text)
    assert (before.maker, before.relation) == ("Hikvision", "possible_relabel")

    edit_groups(data_copy, add_word("kind_thermostat", "stat"))
    assert load_knowledge(data_copy).screening_words.kinds["stat"] == "thermostat"
    after = identify(data_copy, text)
    assert (after.maker, after.relation) == ("Honeywell", "unrelated")
    assert any("the row names a thermostat" in reason for reason in after.reasons), after.reasons


def test_a_leading_word_added_to_the_data_lets_a_brandless_name_count(data_copy: Path) -> None:
    text = "floodlight Ranger 2 camera"
    assert identify(None, text).maker is None

    edit_groups(data_copy, add_word("consumer_camera_features", "floodlight"))
    after = identify(data_copy, text)
    assert (after.brand, after.maker) == ("Imou", "Dahua")


def test_a_unit_added_to_the_data_makes_a_number_a_size(data_copy: Path) -> None:
    text = "Ranger 2 inch camera"
    assert identify(None, text).maker == "Dahua"

    edit_groups(data_copy, add_word("resolution_and_lens_units", "inch"))
    assert identify(data_copy, text).maker is None


def test_a_summary_word_added_to_the_data_makes_a_line_no_product(
    data_copy: Path, tmp_path: Path
) -> None:
    from provscan.screening.tables import read_table

    # Given a quote whose customs line the data does not name
    path = tmp_path / "quote.csv"
    path.write_text(
        "Description,Amount\nHikvision DS-2CD2143G0-I,100\nDouane / Customs,12.00\n",
        encoding="utf-8",
    )
    assert len(read_table(path).rows) == 2
    # When the data lists "customs" as a charge and "douane" as a qualifier
    edit_groups(data_copy, add_word("charges", "customs"))
    edit_groups(data_copy, add_word("summary_qualifiers", "douane"))
    words = load_knowledge(data_copy).screening_words
    assert {"customs", "tps", "total"} <= words.summary_labels
    # Then the customs line is no product, and the bundled words still read it as one
    table = read_table(path, screening_words=words)
    assert [row[0] for row in table.rows] == ["Hikvision DS-2CD2143G0-I"]
    assert table.skipped == ((3, "a total"),)
    assert len(read_table(path).rows) == 2


# --- a malformed group is refused, one line per problem --------------------------------------


@pytest.mark.parametrize(
    ("group_id", "word", "message"),
    [
        ("connectivity", "", "an empty word never matches"),
        ("connectivity", "PoE", "'PoE' must be written in lower case"),
        ("connectivity", "ｐｏｅ", "'ｐｏｅ' is not in NFKC form"),
        ("connectivity", "power over", "'power over' is not one word"),
        ("connectivity", "-poe", "'-poe' is not cut as screening cuts text"),
        ("kind_camera", "box  camera", "'box  camera' is not cut as screening cuts text"),
        ("kind_camera", "pan tilt zoom", "'pan tilt zoom' has more than 2 words"),
        ("connectivity", "wifi", "'wifi' is listed twice among the product words"),
        (
            "kind_hvac",
            "nvr",
            "'nvr' is listed twice among the kind words (first in group 'kind_nvr')",
        ),
        # summary words are compared per run of letters and digits, accents off
        ("charges", "sous-total", "'sous-total' is not one run of letters and digits"),
        ("summary_qualifiers", "général", "'général' is not one run of letters and digits"),
    ],
)
def test_a_word_that_cannot_match_or_is_listed_twice_is_refused(
    data_copy: Path, group_id: str, word: str, message: str
) -> None:
    edit_groups(data_copy, add_word(group_id, word))
    [line] = screening_problems(data_copy)
    assert f"(id={group_id}): {message}" in line, line
    assert "(line " in line
    with pytest.raises(KnowledgeError, match=re.escape(SCREENING_WORDS_FILE)):
        load_knowledge(data_copy)


def test_a_group_without_its_kind_sources_or_rationale_is_refused(data_copy: Path) -> None:
    def break_groups(groups: list[dict[str, Any]]) -> None:
        by_id = {entry["id"]: entry for entry in groups}
        del by_id["kind_printer"]["kind"]
        by_id["connectivity"]["kind"] = "camera"
        by_id["channel_counts"]["sources"] = [" "]
        by_id["quantities"]["rationale"] = " "
        by_id["kind_router"]["kind"] = "Network Router"

    edit_groups(data_copy, break_groups)
    lines = screening_problems(data_copy)
    expected = [
        "(id=kind_printer): a kind group needs a kind",
        "(id=connectivity): only kind groups name a kind (this one is product)",
        "(id=channel_counts): every entry needs at least one non-blank source",
        "(id=quantities): rationale must say why these words belong to product listings",
        "(id=kind_router): kind 'Network Router' is not like 'access_control'",
    ]
    assert len(lines) == len(expected), lines
    for message in expected:
        assert any(message in line for line in lines), (message, lines)


def test_an_unknown_role_and_a_duplicate_group_id_are_refused(data_copy: Path) -> None:
    def break_groups(groups: list[dict[str, Any]]) -> None:
        groups[0]["role"] = "brand"
        groups.append({**groups[1], "words": ["plinth"]})

    edit_groups(data_copy, break_groups)
    lines = screening_problems(data_copy)
    assert any("groups[0]" in line and ".role" in line for line in lines), lines
    assert any("duplicate group id 'connectivity'" in line for line in lines), lines
