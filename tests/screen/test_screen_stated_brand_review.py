"""A restricted maker's own numbering under another maker's brand asks a review.

Issue 11: a brand stated in the row is never overridden by another maker's pattern (the row
stays the stated brand's). But a number that follows a restricted maker's maker-specific
numbering under a brand that no relation links to it is a wrong brand cell, a wrong number
or an unrecorded relabel: a newcomer's ``Axis,DS-2CD2386G2-IU`` was "clear". A shape other
makers share, or the brand's own number, stays clear.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from helpers import screened_rows


def test_a_restricted_makers_numbering_under_another_brand_is_reviewed(
    cli: Any, tmp_path: Path
) -> None:
    path = tmp_path / "brands.csv"
    rows = [
        ("Axis", "DS-2CD2386G2-IU"),  # Hikvision's DS-2CD numbering
        ("Hanwha", "IPC-HFW2431S-S-S2"),  # Dahua's IPC-HFW numbering
        ("Axis", "P3245-LVE"),  # the brand's own number
        ("Vivotek", "SD9364-EHL"),  # Vivotek's own SD numbering, a shape Dahua's skips
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Brand", "Model"])
        writer.writerows(rows)
    axis_hik, hanwha_dahua, axis_own, vivotek = screened_rows(cli, path)
    assert (axis_hik["verdict"], axis_hik["maker"]) == ("review", "Axis")
    assert axis_hik["restricted"] is not True  # not restricted: the row is the brand's
    assert "follows Hikvision's maker-specific numbering" in axis_hik["reason"]
    assert "confirm who made it" in axis_hik["reason"]
    assert (hanwha_dahua["verdict"], hanwha_dahua["maker"]) == ("review", "Hanwha Vision")
    assert "follows Dahua's maker-specific numbering" in hanwha_dahua["reason"]
    assert axis_own["verdict"] == "clear", axis_own["reason"]
    assert vivotek["verdict"] == "clear", vivotek["reason"]
