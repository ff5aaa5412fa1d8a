"""A procurement officer's review (third round): look-alike wording and missing makers.

"Hikvision-style camera housing (generic)" came back restricted as a Hikvision product;
Motorola MOTOTRBO and Kenwood radios, Skydio and Parrot drones came back unknown although
their makers are named in no restriction; "Honeywell CT40", a handheld mobile computer, went
to review as a possible Hikvision relabel (the brand alone, with no line named, falls under
Honeywell's video relabel relations).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from provscan.errors import KnowledgeError
from provscan.knowledge.loader import DEFAULT_DATA_DIR, load_knowledge
from provscan.knowledge.mention_words import MENTION_WORDS_FILE
from provscan.screening.run import bundled_identifier


def lookup(text: str) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [sys.executable, "-m", "provscan", "lookup", text, "-f", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "text",
    [
        "Hikvision-style camera housing (generic)",
        "Dahua style junction box",
        "Hikvision equivalent bracket",
        "generic Hikvision camera housing",
        "aftermarket Dahua bracket",
        "Hikvision generic housing",
    ],
)
def test_a_look_alike_or_generic_part_is_not_the_makers_product(text: str) -> None:
    result = lookup(text)
    assert result["verdict"] == "unknown", result
    assert result["maker"] is None
    assert "mention" in result["reason"]


@pytest.mark.parametrize(
    "text", ["Hikvision DS-2CD2143G0-I", "Hikvision 4MP dome camera", "Dahua IPC-HDW2431T"]
)
def test_the_makers_own_product_is_still_restricted(text: str) -> None:
    assert lookup(text)["verdict"] == "restricted"


@pytest.mark.parametrize(
    ("text", "maker", "model"),
    [
        ("Motorola MOTOTRBO R7", "Motorola Solutions", None),
        ("Kenwood NX-1300", "JVCKENWOOD", "NX-1300"),
        ("Kenwood TK-3402U16P radio", "JVCKENWOOD", "TK-3402U16P"),
        ("Skydio X10", "Skydio", None),
        ("Parrot Anafi USA", "Parrot", None),
        ("Honeywell CT40", "Honeywell", "CT40"),
        ("Honeywell CT40 mobile computer", "Honeywell", "CT40"),
        ("Honeywell EDA51K-1", "Honeywell", "EDA51K-1"),
    ],
)
def test_unrestricted_makers_read_as_clear(text: str, maker: str, model: str | None) -> None:
    result = lookup(text)
    assert result["verdict"] == "clear", result
    assert result["maker"] == maker
    if model is not None:
        assert result["model"] == model


def test_honeywell_cameras_and_the_bare_brand_are_unchanged() -> None:
    # the Performance-series camera is still the relabel, the brand alone still a review
    assert lookup("Honeywell HBW4PER1")["verdict"] == "restricted"
    alone = lookup("Honeywell")
    assert alone["verdict"] == "review"
    # a row that says it is a handheld computer is outside the video relabel relations
    handheld = bundled_identifier().identify("Honeywell handheld computer")
    assert handheld.maker == "Honeywell"
    assert any("covers camera" in reason for reason in handheld.reasons), handheld.reasons


def test_a_short_honeywell_number_needs_the_brand() -> None:
    # CT40 alone is also a current transformer or a toner size: no maker from it
    assert bundled_identifier().identify("CT40").maker is None


def test_the_bare_kenwood_names_both_of_its_makers() -> None:
    identification = bundled_identifier().identify("Kenwood Chef stand mixer")
    assert {identification.maker, *identification.alternatives} == {
        "JVCKENWOOD",
        "Kenwood Limited",
    }


def test_motorola_alone_is_never_only_motorola_solutions() -> None:
    # Motorola Mobility (phones) is Lenovo's; only MOTOTRBO names Motorola Solutions. Since the
    # procurement officer's review "Motorola" is a brand of its own (as Kenwood is): a Moto
    # phone is Lenovo's, and the bare name names both makers.
    assert bundled_identifier().identify("Motorola Moto G").maker == "Lenovo"
    alone = bundled_identifier().identify("Motorola")
    assert {alone.maker, *alone.alternatives} == {"Motorola Solutions", "Lenovo"}


def test_new_vocabulary_has_two_sources_and_a_specificity_note() -> None:
    knowledge = load_knowledge()
    for name in ("Skydio", "Parrot", "Kenwood", "Kenwood Limited", "Motorola Solutions"):
        vendor = knowledge.vendors[name]
        assert len(vendor.sources) >= 2, name
    for name in ("Skydio", "Parrot", "Kenwood", "Motorola Solutions"):
        assert "Specificity" in knowledge.vendors[name].note, name
    assert knowledge.vendor_of_product_line("MOTOTRBO") == "Motorola Solutions"
    assert knowledge.vendor_of_product_line("ANAFI") == "Parrot"


def test_every_new_mention_group_has_two_sources() -> None:
    document = yaml.safe_load((DEFAULT_DATA_DIR / MENTION_WORDS_FILE).read_text("utf-8"))
    new = {
        "en_after_lookalike",
        "en_generic",
        "en_after_generic",
        "fr_before_fits",
        "es_before_fits",
        "de_before_fits",
        "de_after_compatibility",
    }
    groups = {group["id"]: group for group in document["groups"]}
    assert new <= set(groups)
    for group_id in new:
        assert len(groups[group_id]["sources"]) >= 2, group_id
    # "like" after a name stays out: "Hikvision like new" is a used Hikvision camera
    assert "like" not in load_knowledge().mention_words.after


def test_a_word_not_in_its_languages_letters_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data)
    path = data / MENTION_WORDS_FILE
    document = yaml.safe_load(path.read_text("utf-8"))
    group = next(entry for entry in document["groups"] if entry["id"] == "fr_before_fits")
    group["words"].append("为了")
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
    with pytest.raises(KnowledgeError, match="is tagged fr but is not written in Latin letters"):
        load_knowledge(data)
