"""A procurement officer's wrong verdicts (rip-and-replace quotes, bare series codes, supplier
columns, lookup's maker text and the next step of a review).

The rows are written for this test in the shapes quotes use; none is copied from a held-out
list. Screened as ``--as ca:federal-institution,us:federal-grantee``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import (
    CONDITION_NEXT_STEP,
    NEXT_STEP_PREFIX,
    REVIEW_NEXT_STEP,
    ScreenRow,
    judge_product,
)

IDENTIFIER = bundled_identifier()
POLICIES = IDENTIFIER.knowledge.select_policies(None)
AS = ("ca:federal-institution", "us:federal-grantee")


def screen(text: str = "", *, brand: str | None = None, model: str | None = None) -> ScreenRow:
    return judge_product(
        IDENTIFIER.identify(text, brand=brand, model=model), POLICIES, acting_as=AS
    )


# --- 1. the gear a quote removes or replaces is a mention -------------------------------------


def test_the_switch_bought_is_judged_not_the_huawei_it_replaces() -> None:
    row = screen("Switch to replace Huawei S5735-L24T4X (Cisco C9200L)")
    assert (row.maker, row.brand, row.restricted) == ("Cisco", "Cisco", False), row.reason
    assert "follows 'replace': read as a mention" in row.reason


def test_the_ont_installed_is_judged_not_the_zte_removed() -> None:
    row = screen("Migration service: remove ZTE F670L, install Nokia G-010G-Q")
    assert (row.maker, row.brand, row.restricted) == ("Nokia", "Nokia", False), row.reason
    assert "F670L follows ZTE, which follows 'remove'" in row.reason


@pytest.mark.parametrize(
    "text",
    [
        "Labour to replace Huawei S5735-L24T4X",
        "Replacing Huawei S5735-L24T4X",
        "Replacement of Huawei S5735-L24T4X",
        "Replacement for Huawei S5735-L24T4X",
        "Remove Huawei S5735-L24T4X",
        "Removal of Huawei S5735-L24T4X",
        "Decommission Huawei S5735-L24T4X",
        "Swap out Huawei S5735-L24T4X",
        "Migrate from Huawei S5735-L24T4X",
        "Rip and replace Huawei S5735-L24T4X",
        "Remplacement de Huawei S5735-L24T4X",
        "Retrait de Huawei S5735-L24T4X",
        "Main d'oeuvre pour remplacer Huawei S5735-L24T4X",
        "Removal of S5735-L24T4X",
    ],
)
def test_a_row_naming_only_what_it_removes_is_not_that_product(text: str) -> None:
    row = screen(text)
    # as every mention is judged: the row names no product of its own (unknown, not cleared)
    assert row.restricted is None and row.maker is None and row.status == "unknown", row.reason
    assert "read as a mention (what the product works with, replaces or removes)" in row.reason


@pytest.mark.parametrize(
    "text",
    [
        "Like new Hikvision DS-2CD2143G2-I",  # a used Hikvision camera: "like" reaches no further
        "Camera from Hikvision DS-2CD2143G2-I",  # "from" alone names the maker
        "Set of Hikvision DS-2CD2143G2-I",  # "of" alone is no mention
        "Hikvision DS-2CD2143G2-I replacement camera",  # the word after the name is no mention
    ],
)
def test_look_alike_wording_keeps_the_product_restricted(text: str) -> None:
    row = screen(text)
    assert row.maker == "Hikvision" and row.restricted is True, row.reason


# --- 2. a bare Huawei series code is no proof ------------------------------------------------


def test_a_bare_series_code_is_not_a_verdict() -> None:
    row = screen("S5700 pole mount kit")
    assert row.maker is None and row.restricted is not True, row.reason
    assert "counts only next to the brand Huawei" in row.reason


@pytest.mark.parametrize("text", ["S5735-L24T4X", "S5700-28C-EI", "S5735 L24T4X switch"])
def test_a_full_huawei_part_number_stays_restricted_without_the_brand(text: str) -> None:
    row = screen(text)
    assert row.maker == "Huawei" and row.restricted is True and row.confidence >= 0.9


@pytest.mark.parametrize("text", ["Huawei S5700", "Huawei S12708 chassis", "华为 S5735"])
def test_a_series_code_next_to_the_brand_is_huawei(text: str) -> None:
    row = screen(text)
    assert row.maker == "Huawei" and row.restricted is True, row.reason


@pytest.mark.parametrize("text", ["Galaxy Pocket S5300", "Samsung S5300", "Samsung GT-S5300"])
def test_look_alikes_of_the_series_codes_are_not_huawei(text: str) -> None:
    row = screen(text)
    assert row.maker != "Huawei" and row.restricted is not True, row.reason


@pytest.mark.parametrize("text", ["S5735-L", "S12708", "S7706"])
def test_a_sub_series_or_chassis_code_alone_needs_the_brand(text: str) -> None:
    row = screen(text)
    assert row.maker is None and row.restricted is not True, row.reason


# --- 3. a supplier read before the part number is no relabel ----------------------------------


def test_a_supplier_column_read_as_text_makes_no_relabel(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "quote.csv"
    path.write_text("Supplier,Item #,Vendor Part,Qty\nACME,1001,DS-2CD2143G2-I,2\n", "utf-8")
    result = cli("screen", str(path), "-f", "json", "--as", ",".join(AS))
    (row,) = json.loads(result.stdout)["rows"]
    assert (row["maker"], row["brand"], row["relation"]) == ("Hikvision", "Hikvision", "own_brand")
    assert row["restricted"] is True
    assert "ACME" not in row["reason"] and "relabel" not in row["reason"]


def test_an_unknown_label_right_before_the_number_is_still_a_relabel() -> None:
    row = screen("Acme DS-2CD2143G0-I")
    assert (row.maker, row.brand, row.relation) == ("Hikvision", "Acme", "probable_relabel")
    row = screen("", brand="Acme Security", model="DS-2CD2143G0-I")
    assert row.relation == "probable_relabel" and row.restricted is True


# --- 4. lookup shows the screen's maker text; a review says what to do next --------------------


def test_lookup_shows_the_possible_makers_as_the_table_does(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("lookup", "Annke C800")
    assert result.exit_code == 0
    maker_line = next(line for line in result.stdout.splitlines() if "maker" in line)
    assert maker_line.split() == ["maker", "Hikvision/Dahua?"]


def test_a_review_says_what_to_do_next_in_screen_and_lookup(cli) -> None:  # type: ignore[no-untyped-def]
    row = screen("Annke C800")
    assert row.status == "review"
    assert row.reason.endswith(REVIEW_NEXT_STEP)
    shown = " ".join(cli("lookup", "Annke C800").stdout.split())
    assert f"next step {REVIEW_NEXT_STEP.removeprefix(NEXT_STEP_PREFIX)}" in shown
    assert shown.count("manufacturer of record") == 1  # not repeated under "why"


def test_a_conditional_review_says_to_check_the_condition() -> None:
    # a drone measure names DJI, and the row does not say whether this DJI product is a drone
    row = judge_product(IDENTIFIER.identify("DJI RS 4"), POLICIES)
    assert row.status == "review", row.reason
    assert row.reason.endswith(CONDITION_NEXT_STEP)


def test_rows_that_are_not_reviews_have_no_next_step() -> None:
    for text in ("Hikvision DS-2CD2143G2-I", "Axis M3106-L Mk II", "bracket for Dahua"):
        assert NEXT_STEP_PREFIX not in screen(text).reason
