"""A kit led by an unrestricted maker's number with a restricted maker's component.

The number before the slash stays the row's product (components rank after the head), so
the row is not restricted on the component's numbering alone - but it is not cleared
either: the restricted component asks for a review and the reason names it.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from helpers import screened_rows


def test_an_unrestricted_head_with_a_restricted_component_asks_a_review(
    cli: Any, tmp_path: Path
) -> None:
    path = tmp_path / "kit.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Item"])
        # a Hanwha recorder sold with four cameras of Dahua's bare numbering (a glued count
        # after the slash marks the kit)
        writer.writerow(["XRN-1610S-4TB/4-HFW1230S"])
        # the same recorder alone: clear of any kit note
        writer.writerow(["XRN-1610S-4TB"])
    kit, alone = screened_rows(cli, path)
    assert kit["verdict"] == "review"
    assert kit["maker"] == "Hanwha Vision"
    assert "kit component HFW1230S follows Dahua's numbering" in kit["reason"]
    assert "kit with components of other makers: HFW1230S (Dahua)" in kit["reason"]
    assert alone["maker"] == "Hanwha Vision"
    assert alone["verdict"] != "review", alone["reason"]
    assert "kit" not in alone["reason"]


def test_a_component_of_a_restricted_line_without_a_maker_counts(cli: Any, tmp_path: Path) -> None:
    """A line whose maker a relation names (Honeywell's Performance series: Hikvision or
    Dahua) is a restricted component like a line that names its maker: it leads a kit of
    another maker's recorder, and under that maker's brand column the kit asks a review
    (both were "clear", the camera unmentioned)."""
    path = tmp_path / "kits.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Brand", "Item"])
        writer.writerow(["", "KIT/XRN-1610S/4-HBW4PER1"])
        writer.writerow(["Hanwha", "KIT/XRN-1610S/4-HBW4PER1"])
        writer.writerow(["Hanwha", "KIT/XRN-1610S/4-CP-UNC-DA21PL3-Y"])
    unbranded, hanwha, cp_plus = screened_rows(cli, path)
    assert (unbranded["verdict"], unbranded["model"]) == ("restricted", "HBW4PER1")
    assert "XRN-1610S (Hanwha Vision)" in unbranded["reason"]
    assert hanwha["verdict"] == "review"
    assert "kit component HBW4PER1 follows Honeywell's numbering" in hanwha["reason"]
    assert cp_plus["verdict"] == "review"
    assert "kit component CP-UNC-DA21PL3-Y" in cp_plus["reason"]
