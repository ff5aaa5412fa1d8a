"""Mention words are reviewed data (issue 11): ``mention_words.yaml`` reaches the name finder
and product identification through :class:`Knowledge`, and a bad file is refused clearly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from provscan.errors import KnowledgeError
from provscan.fingerprints.names import NameFinder
from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.knowledge.loader import DEFAULT_DATA_DIR, Knowledge, load_knowledge
from provscan.knowledge.mention_words import MENTION_WORDS_FILE
from provscan.knowledge.verify import verify_knowledge
from provscan.screening.identify import ProductIdentifier


def edit_groups(data_dir: Path, change: Callable[[list[dict[str, Any]]], None]) -> None:
    path = data_dir / MENTION_WORDS_FILE
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document["groups"])
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


def group(groups: list[dict[str, Any]], group_id: str) -> dict[str, Any]:
    return next(entry for entry in groups if entry["id"] == group_id)


def problem_lines(data_dir: Path) -> list[str]:
    """The problems a load reports, one line each (the header line dropped)."""
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(data_dir)
    header, *lines = str(caught.value).splitlines()
    assert header.startswith(("1 problem in knowledge data", "2 problems in knowledge data"))
    return lines


# --- the bundled file ----------------------------------------------------------------------


def test_bundled_words_are_read_by_position() -> None:
    words = load_knowledge().mention_words
    assert {"for", "with", "compatible", "适用于", "兼容"} <= words.before
    assert {"compatible", "supported", "专用", "兼容"} <= words.after
    # "camera by Hikvision" names the maker; "专用" (made for) only follows a name
    assert "by" not in words.before
    assert "专用" not in words.before
    assert "for" not in words.after


def test_every_group_has_a_language_a_rationale_and_a_source() -> None:
    document = yaml.safe_load((DEFAULT_DATA_DIR / MENTION_WORDS_FILE).read_text("utf-8"))
    languages = {entry["language"] for entry in document["groups"]}
    assert languages == {"en", "fr", "es", "de", "zh"}
    for entry in document["groups"]:
        assert entry["rationale"].strip() and entry["sources"], entry["id"]


def test_the_bundled_file_verifies_clean() -> None:
    report = verify_knowledge(DEFAULT_DATA_DIR)
    assert MENTION_WORDS_FILE in report.files
    assert not [p for p in report.problems if p.file == MENTION_WORDS_FILE]


# --- the words reach their users through Knowledge -----------------------------------------


def test_a_word_added_to_the_data_makes_names_after_it_mentions(data_copy: Path) -> None:
    text = "wall bracket fits Hikvision DS-2CD2143G2-I"
    bundled = load_knowledge()
    assert [hit.vendor for hit in NameFinder(bundled).find(text)] == ["Hikvision"]

    edit_groups(data_copy, lambda groups: group(groups, "en_before_fits")["words"].append("fits"))
    edited = load_knowledge(data_copy)
    assert "fits" in edited.mention_words.before
    assert NameFinder(edited).find(text) == []

    grammars = load_grammar_knowledge()
    before = ProductIdentifier(bundled, grammars).identify("wall bracket fits Hikvision")
    after = ProductIdentifier(edited, grammars).identify("wall bracket fits Hikvision")
    assert before.maker == "Hikvision"
    assert after.maker is None
    assert any("Hikvision follows 'fits'" in reason for reason in after.reasons), after.reasons


def test_a_word_removed_from_the_data_no_longer_makes_a_mention(data_copy: Path) -> None:
    def drop_compatible_after(groups: list[dict[str, Any]]) -> None:
        group(groups, "en_after_compatibility")["words"].remove("compatible")

    edit_groups(data_copy, drop_compatible_after)
    knowledge: Knowledge = load_knowledge(data_copy)
    assert "compatible" not in knowledge.mention_words.after
    assert NameFinder(load_knowledge()).find("Hikvision compatible NVR") == []
    assert [hit.vendor for hit in NameFinder(knowledge).find("Hikvision compatible NVR")] == [
        "Hikvision"
    ]


def test_a_directory_without_the_file_uses_the_bundled_words(data_copy: Path) -> None:
    (data_copy / MENTION_WORDS_FILE).unlink()
    assert load_knowledge(data_copy).mention_words == load_knowledge().mention_words


# --- a bad file is refused, one line per problem ---------------------------------------------


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("", "an empty word never matches"),
        ("  ", "an empty word never matches"),
        ("works with", "'works with' is not a single word"),
        ("plug-in", "'plug-in' is not a single word"),
        ("For", "'For' must be written in lower case"),
        ("für", "'für' is tagged en but is not ASCII"),
        ("ｆｏｒ", "'ｆｏｒ' is not in NFKC form"),
    ],
)
def test_a_word_that_cannot_match_is_refused(data_copy: Path, word: str, message: str) -> None:
    edit_groups(data_copy, lambda groups: group(groups, "en_before_fits")["words"].append(word))
    [line] = problem_lines(data_copy)
    assert f"{MENTION_WORDS_FILE}: groups[0] (id=en_before_fits): {message}" in line, line
    assert "(line " in line


def test_a_latin_word_tagged_chinese_is_refused(data_copy: Path) -> None:
    edit_groups(data_copy, lambda groups: group(groups, "zh_before_fits")["words"].append("for"))
    [line] = problem_lines(data_copy)
    assert "'for' is tagged zh but is not written in Chinese characters" in line, line


def test_a_word_listed_twice_in_one_position_is_refused(data_copy: Path) -> None:
    # "for" again in another group of words before a name
    edit_groups(
        data_copy, lambda groups: group(groups, "en_before_replacement")["words"].append("for")
    )
    [line] = problem_lines(data_copy)
    assert "'for' is listed twice among the words before a name" in line, line
    assert "(first in group 'en_before_fits')" in line


def test_a_word_listed_twice_in_one_group_is_refused(data_copy: Path) -> None:
    edit_groups(data_copy, lambda groups: group(groups, "zh_after_fits")["words"].append("专用"))
    [line] = problem_lines(data_copy)
    assert "'专用' is listed twice among the words after a name" in line, line


def test_the_same_word_before_and_after_a_name_is_allowed(data_copy: Path) -> None:
    # "compatible Hikvision NVR" and "Hikvision compatible NVR" are both mentions
    words = load_knowledge(data_copy).mention_words
    assert "compatible" in words.before & words.after


def test_a_group_without_a_source_or_language_is_refused(data_copy: Path) -> None:
    def break_group(groups: list[dict[str, Any]]) -> None:
        group(groups, "en_before_fits")["sources"] = [" "]
        group(groups, "zh_after_fits")["language"] = "chinese"

    edit_groups(data_copy, break_group)
    lines = problem_lines(data_copy)
    assert len(lines) == 2, lines
    assert any("groups[0] (id=en_before_fits): every entry needs" in line for line in lines)
    assert any("groups[5]" in line and ".language" in line for line in lines), lines


def test_a_duplicate_group_id_is_refused(data_copy: Path) -> None:
    def duplicate(groups: list[dict[str, Any]]) -> None:
        copy = dict(group(groups, "en_after_compatibility"))
        copy["position"] = "before"
        copy["words"] = ["alongside"]
        groups.append(copy)

    edit_groups(data_copy, duplicate)
    [line] = problem_lines(data_copy)
    assert "duplicate group id 'en_after_compatibility'" in line, line
