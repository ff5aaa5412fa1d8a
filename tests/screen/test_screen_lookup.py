"""`provscan lookup`: the same row object as `screen`, readable text, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from provscan.screening.verdict import ScreenRow


def test_lookup_json_is_the_screen_row_object(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("lookup", "4MP turret camera LTS CMIP7442W-28M", "--format", "json")
    assert result.exit_code == 0
    row = ScreenRow.model_validate(json.loads(result.stdout))
    assert (row.maker, row.brand, row.relation, row.restricted) == (
        "Hikvision",
        "LTS",
        "oem_relabel",
        True,
    )
    assert {
        "row",
        "input",
        "maker",
        "brand",
        "relation",
        "restricted",
        "findings",
        "confidence",
        "reason",
    } <= set(json.loads(result.stdout))
    path = tmp_path / "one.csv"
    path.write_text("Description\n4MP turret camera LTS CMIP7442W-28M\n", encoding="utf-8")
    document = json.loads(cli("screen", str(path), "-f", "json").stdout)
    screened = document["rows"][0]
    # the same row, but for its findings' text: screen's rows refer to the document's
    # measures (by policy and title) for the citation and scope note, given there once
    looked_up = json.loads(result.stdout)
    referred = [
        {**{k: v for k, v in finding.items() if k != "scope_note"}, "citation": ""}
        for finding in looked_up["findings"]
    ]
    assert {k: v for k, v in screened.items() if k != "row"} == {
        **{k: v for k, v in looked_up.items() if k != "row"},
        "findings": referred,
    }
    citations = {(m["policy"], m["title"]): m["citation"] for m in document["measures"]}
    for finding in looked_up["findings"]:
        assert citations[(finding["policy"], finding["measure"])] == finding["citation"]


def test_lookup_text_names_maker_policies_and_reasons(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("lookup", "Amcrest", "IP8M-2496EB", "--policy", "us")
    assert result.exit_code == 0
    for expected in ("Dahua", "oem_relabel", "YES", "Pub. L. 115-232", "amcrest.ip", "why"):
        assert expected in result.stdout


def test_lookup_exit_codes(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("lookup", "Hikvision DS-2CD2143G0-I", "--fail-on-restricted").exit_code == 3
    assert cli("lookup", "Axis M3045-V", "--fail-on-restricted").exit_code == 0
    bad = cli("lookup", "Axis", "--policy", "xx")
    assert bad.exit_code == 2 and "unknown policy" in bad.output


def test_lookup_unknown_says_why(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("lookup", "Frobnicator QZ-77")
    assert result.exit_code == 0
    assert "unknown" in result.stdout and "matches no known model-number grammar" in result.stdout
