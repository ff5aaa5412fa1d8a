"""Contract 1.5: the scan says whom its verdicts were judged for (``judged_for``), in the
words the table uses; ``acting_as: []`` alone did not say it (newcomer review)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from provscan.cli import app
from provscan.report.contract import SCHEMA_VERSION, from_contract, load_schema, upgrade_document

GOLDEN = Path(__file__).parent / "golden"


def _document(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    return data


def test_a_1_4_document_reads_as_1_5_with_judged_for_not_recorded() -> None:
    old = _document("scan_v1_4.json")
    assert old["schema_version"] == "1.4" and "judged_for" not in old["scan"]
    before = copy.deepcopy(old)
    for source in (json.dumps(old), json.dumps(old).encode(), old):
        document = from_contract(source)
        assert document.schema_version == SCHEMA_VERSION == "1.8"
        # null: an empty acting_as did not say whether every measure counted
        assert document.scan.judged_for is None
        # (the 1.6 golden: 1.4 did not record an exposure's port either)
        current = from_contract(_document("scan_v1_6.json"))
        assert document == current.model_copy(
            update={"scan": current.scan.model_copy(update={"judged_for": None})}
        )
    jsonschema.Draft202012Validator(load_schema()).validate(upgrade_document(old))
    assert old == before, "the input is not changed"


def test_the_schema_describes_judged_for() -> None:
    scan = load_schema()["$defs"]["ScanSection"]["properties"]
    assert "judged_for" in scan
    assert "a national government body" in scan["judged_for"]["description"]


@pytest.mark.parametrize(
    ("options", "acting_as", "judged_for"),
    [
        ((), [], "a national government body"),
        (("--as", "all"), ["all"], "anyone"),
        (("--as", "ca:individual"), ["ca:individual"], "ca:individual"),
        # acting_as stays [] for a selection of policies that declares no national
        # government body, yet every measure counts: judged_for tells the two apart
        (("--policy", "us-tx"), [], "anyone"),
    ],
)
def test_an_imported_list_says_whom_it_was_judged_for(
    tmp_path: Path, options: tuple[str, ...], acting_as: list[str], judged_for: str
) -> None:
    # Given a CMDB list with one Hikvision camera (addresses are data: nothing is sent)
    listing = tmp_path / "cmdb.csv"
    listing.write_text("ip,manufacturer,model\n127.0.0.5,Hikvision,DS-2CD2143G0-I\n")
    # When it is imported as JSON
    result = CliRunner().invoke(
        app, ["import", str(listing), "-f", "json", "--no-db", *options], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    # Then the contract document says whom, next to the ids given
    jsonschema.Draft202012Validator(load_schema()).validate(document)
    assert document["schema_version"] == "1.8"
    assert (document["scan"]["acting_as"], document["scan"]["judged_for"]) == (
        acting_as,
        judged_for,
    )
