"""`provscan screen` points a newcomer found: an --output suffix screen cannot write, and the
reason wording "a EZVIZ product name".

- `screen FILE -o out.pdf` exited 0 with CSV inside out.pdf: a suffix of a format screen does
  not write is refused before any work (exit 2, one line), as `provscan scan` refuses one;
  without -f the suffix picks csv, xlsx or json, and any other name is CSV.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import openpyxl
import pytest

from provscan.screening.run import bundled_identifier
from provscan.screening.verdict import judge_product

LIST = b"Brand,Model\nHikvision,DS-2CD2143G0-I\nAxis,M3045-V\n"


@pytest.fixture()
def listing(tmp_path: Path) -> Path:
    path = tmp_path / "purchase.csv"
    path.write_bytes(LIST)
    return path


# (.pdf and .html are written since: tests/screen/test_screen_document.py)
@pytest.mark.parametrize("name", ["out.xls", "out.XLS", "out.ods", "out.jsonl"])
def test_a_suffix_screen_cannot_write_is_refused_before_any_work(
    cli, tmp_path: Path, name: str
) -> None:  # type: ignore[no-untyped-def]
    output = tmp_path / name
    # the input does not even exist: the refusal comes first
    result = cli("screen", str(tmp_path / "missing.csv"), "-o", str(output))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("provscan: error: --output ")
    assert ".csv, .xlsx, .json, .html or .pdf" in lines[0]
    assert not output.exists()


def test_the_suffix_picks_the_format_without_f(cli, listing: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    as_json = tmp_path / "screened.JSON"
    assert cli("screen", str(listing), "-o", str(as_json)).exit_code == 0
    assert [row["maker"] for row in json.loads(as_json.read_text())["rows"]] == [
        "Hikvision",
        "Axis",
    ]
    as_xlsx = tmp_path / "screened.xlsx"
    assert cli("screen", str(listing), "-o", str(as_xlsx)).exit_code == 0
    assert openpyxl.load_workbook(as_xlsx).active["C1"].value == "maker"
    # any other name is the CSV, in the input's own dialect
    for name in ("screened.csv", "screened.txt", "screened"):
        path = tmp_path / name
        assert cli("screen", str(listing), "-o", str(path)).exit_code == 0
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        assert rows[0][:3] == ["Brand", "Model", "maker"]


def test_format_wins_over_the_suffix(cli, listing: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # -f is the user's explicit choice, as for `provscan scan -f`
    output = tmp_path / "screened.txt"
    assert cli("screen", str(listing), "-f", "json", "-o", str(output)).exit_code == 0
    assert json.loads(output.read_text())["summary"]


def test_a_brandless_reason_needs_no_article_before_the_brand() -> None:
    identifier = bundled_identifier()
    policies = identifier.knowledge.select_policies(None)
    for text, model in [("ptz", "C8C"), ("Ranger 2, indoor camera", None)]:
        row = judge_product(identifier.identify(text, model=model), policies)
        assert row.maker is not None
        reason = row.reason
        # "'C8C' is a EZVIZ product name" read wrong: the brand follows no article now
        assert not re.search(r"\ba (EZVIZ|Imou)\b", reason), reason
        assert re.search(r"is a product name of (EZVIZ|Imou)\b", reason), reason
