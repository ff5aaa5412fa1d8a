"""Points a newcomer found in `provscan screen` and `provscan lookup`:

1. the CSV/XLSX ``maker`` cell named only the first possible maker ("Hikvision") where the
   table and the JSON say "Hikvision/Dahua"; it now carries every one, and ``policies`` the
   restricting measures of every candidate;
2. confidence went down when more was recognised ("Axis" 0.90, "Axis M3106-L Mk II" 0.75): a
   grammar that agrees with the stated brand never leaves a row below the brand alone, and a
   number that follows no grammar does not raise it; "Cisco is a maker" read as a fragment;
3. "Honeywell sells Hikvision-made some lines": one sentence for every partial relation;
4. `lookup` listed an advisory measure under "binds a national government body";
5. the JSON said ``acting_as: []`` where the table said "as a national government body":
   every row and summary says ``judged_for``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest

from provscan.model import MakerCandidate
from provscan.screening.identify import Identification
from provscan.screening.run import bundled_identifier
from provscan.screening.tables import ADDED_COLUMNS, result_cells
from provscan.screening.verdict import ScreenRow, judge_product

HONEYWELL = b"Brand,Model\nHoneywell,HEN04102\nHikvision,DS-2CD2143G0-I\n"


@pytest.fixture()
def honeywell(tmp_path: Path) -> Path:
    path = tmp_path / "list.csv"
    path.write_bytes(HONEYWELL)
    return path


def _json_rows(cli, path: Path) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    result = cli("screen", str(path), "-f", "json", "-q")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)["rows"]
    return rows


def test_the_csv_and_xlsx_maker_cell_names_every_possible_maker(
    cli, honeywell: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # Given a relabel brand both Hikvision and Dahua make for, and a Hikvision camera
    rows = _json_rows(cli, honeywell)
    assert rows[0]["makers"] == ["Hikvision", "Dahua"]
    # When the list is screened to CSV and to XLSX
    result = cli("screen", str(honeywell), "-f", "csv", "-q")
    assert result.exit_code == 0, result.output
    written = list(csv.DictReader(io.StringIO(result.stdout)))
    output = tmp_path / "out.xlsx"
    assert cli("screen", str(honeywell), "-o", str(output), "-q").exit_code == 0
    sheet = openpyxl.load_workbook(output).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    maker_at = header.index("maker")
    policies_at = header.index("policies")
    xlsx = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    # Then both say every maker the JSON lists, as the table does; one maker stays one name
    # (a "?" ends the makers of a possible relabel: only possibly made by them)
    assert rows[0]["relation"] == "possible_relabel"
    assert [row["maker"] for row in written] == ["Hikvision/Dahua?", "Hikvision"]
    assert [row[maker_at] for row in xlsx] == ["Hikvision/Dahua?", "Hikvision"]
    for json_row, csv_row, xlsx_row in zip(rows, written, xlsx, strict=True):
        assert csv_row["maker"].removesuffix("?").split("/") == json_row["makers"]
        # and the policies are those of every candidate's restricting findings, once each
        findings = json_row["findings"]
        assert isinstance(findings, list)
        restricting = [
            f["policy"]
            for f in findings
            if f["effect"] not in ("advisory", "context")
            and f["binding"] is not False
            # a condition the row cannot settle (the UK statement's sensitive site) makes
            # a review, not a restriction
            and not f.get("condition")
        ]
        assert csv_row["policies"] == ";".join(dict.fromkeys(restricting))
        assert xlsx_row[policies_at] == csv_row["policies"]
    # The column set is unchanged
    assert list(written[0])[2:] == [
        name if name != "brand" else "provscan_brand" for name in ADDED_COLUMNS
    ]


def test_the_policies_cell_lists_the_second_candidate_s_own_measures() -> None:
    # Given a product whose first possible maker (Dahua) is named by fewer measures than the
    # second (Hikvision: the Canadian federal ban, the European Parliament's removal)
    identifier = bundled_identifier()
    policies = identifier.knowledge.select_policies(None)
    identification = Identification(
        input="Example Relabel X1",
        brand="Example Relabel",
        maker="Dahua",
        model=None,
        device_type=None,
        relation="possible_relabel",
        family="dahua",
        confidence=0.4,
        alternatives=("Hikvision",),
        candidates=(MakerCandidate("Dahua", "dahua"), MakerCandidate("Hikvision", "hikvision")),
        established=False,
    )
    alone = judge_product(
        Identification(
            input="Dahua",
            brand="Dahua",
            maker="Dahua",
            model=None,
            device_type=None,
            relation="own_brand",
            family="dahua",
            confidence=0.95,
            candidates=(MakerCandidate("Dahua", "dahua"),),
        ),
        policies,
    )
    # When it is judged and written as cells
    judged = judge_product(identification, policies)
    cells = dict(zip(ADDED_COLUMNS, result_cells(judged), strict=True))
    dahua_only = result_cells(alone)[ADDED_COLUMNS.index("policies")].split(";")
    # Then the maker cell names both (only possible: "?") and the policies cell has
    # Hikvision's measures too
    assert cells["maker"] == "Dahua/Hikvision?"
    listed = cells["policies"].split(";")
    assert set(dahua_only) < set(listed)
    assert {"ca"} <= set(listed) - set(dahua_only)


# A grammar match agreeing with the stated brand, next to the brand alone.
AGREEING = [
    ("Axis", "Axis M3106-L Mk II"),
    ("Uniview", "Uniview IPC322LB-SF28-A"),
    ("Hikvision", "Hikvision DS-2CD2143G0-I"),
    ("Honeywell", "Honeywell HEN04102"),
    ("Annke", "Annke C800"),
    ("LTS", "LTS CMIP7442W-28M"),
]


@pytest.mark.parametrize(("brand", "product"), AGREEING)
def test_a_grammar_that_agrees_with_the_brand_never_lowers_confidence(
    brand: str, product: str
) -> None:
    identifier = bundled_identifier()
    alone = identifier.identify(brand)
    matched = identifier.identify(product)
    # the number follows a grammar (the evidence says which) and names the brand's maker
    assert any(
        item.startswith("model ") and " follows grammar " in item for item in matched.evidence
    )
    assert matched.maker == alone.maker
    assert matched.confidence >= alone.confidence, (product, matched.confidence, alone.confidence)


def test_axis_with_its_model_number_is_as_sure_as_axis_alone(cli) -> None:  # type: ignore[no-untyped-def]
    def confidence(text: str) -> float:
        result = cli("lookup", text, "-f", "json")
        assert result.exit_code == 0, result.output
        value = json.loads(result.stdout)["confidence"]
        assert isinstance(value, float)
        return value

    assert confidence("Axis M3106-L Mk II") >= confidence("Axis") == 0.9


@pytest.mark.parametrize("brand", ["Cisco", "Axis", "Hikvision"])
def test_a_number_that_follows_no_grammar_does_not_raise_confidence(brand: str) -> None:
    identifier = bundled_identifier()
    alone = identifier.identify(brand)
    unmatched = identifier.identify(f"{brand} XQ-77Z9")
    assert "'XQ-77Z9' matches no known model-number grammar" in unmatched.reasons
    assert unmatched.maker == alone.maker
    assert unmatched.confidence == alone.confidence


def test_a_maker_brand_reads_as_one_sentence(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("lookup", "Cisco XQ-77Z9")
    assert result.exit_code == 0, result.output
    why = _section(result.stdout, "why")
    assert "- Cisco makes its own products (no relation to another maker is recorded)" in why
    assert not any(line.endswith("is a maker") for line in why)


def test_every_partial_relation_reads_as_a_sentence() -> None:
    # Given every brand whose relation covers only some lines of its maker
    identifier = bundled_identifier()
    knowledge = identifier.knowledge
    partial = {
        (relation.brand, relation.maker, relation.relation)
        for vendor in knowledge.vendors
        for relation in knowledge.relations_for_brand(vendor)
        if relation.partial
    }
    assert partial
    seen, dated = set(), set()
    for brand, _, _ in sorted(partial):
        reasons = identifier.identify(brand=brand).reasons
        assert not any("-made some lines" in reason for reason in reasons), reasons
        if any(reason.startswith("possibly made by ") for reason in reasons):
            dated.add(brand)  # a dated relation of the brand is the stronger one (Lorex)
        for reason in reasons:
            if reason.startswith(f"only some {brand} lines are made by "):
                seen.add(brand)
                assert reason.endswith("; this product's line was not identified")
    # Then each such brand alone says it in the one template
    assert seen == {brand for brand, _, _ in partial} - dated
    assert len(seen) > 10


def test_honeywell_sentence(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("lookup", "Honeywell HEN04102", "-f", "json")
    reason = json.loads(result.stdout)["reason"]
    assert "only some Honeywell lines are made by Hikvision (oem_relabel)" in reason
    assert "Hikvision-made some lines" not in reason


def _section(text: str, heading: str) -> list[str]:
    """The lines under one of lookup's two-space headings, up to the next one."""
    lines = text.splitlines()
    start = lines.index(f"  {heading}")
    body = []
    for line in lines[start + 1 :]:
        if line.startswith("  ") and not line.startswith("   "):
            break
        body.append(line.strip())
    return body


def test_advice_is_never_listed_under_binds(cli) -> None:  # type: ignore[no-untyped-def]
    # Given a product named by a Canadian advisory measure (restricts nothing) that the
    # default reading counts as binding
    document = json.loads(cli("lookup", "Honeywell HEN04102", "-f", "json").stdout)
    advisory = [f for f in document["findings"] if f["effect"] == "advisory"]
    assert advisory and advisory[0]["binding"] is True
    # When it is looked up, every measure listed
    result = cli("lookup", "Honeywell HEN04102", "--all")
    assert result.exit_code == 0, result.output
    binds = " ".join(_section(result.stdout, "binds a national government body"))
    nothing = " ".join(_section(result.stdout, "restricts nothing (advisory or context only)"))
    # Then the advice is under a heading that says it restricts nothing, not under "binds"
    assert "The public is encouraged" in nothing
    assert "The public is encouraged" not in binds
    assert "restricts nothing" not in binds
    assert "Federal government purchase and use of Hikvision products" in binds
    # And with --as all (no "binds" heading at all) context measures are still set apart
    everyone = cli("lookup", "Hikvision DS-2CD2143G0-I", "--as", "all", "--all").stdout
    apart = " ".join(_section(everyone, "restricts nothing (advisory or context only)"))
    assert "Danish authorities phase out" in apart


@pytest.mark.parametrize(
    ("options", "acting_as", "judged_for"),
    [
        ((), [], "a national government body"),
        (("--as", "all"), ["all"], "anyone"),
        (("--as", "ca:federal-institution"), ["ca:federal-institution"], "ca:federal-institution"),
        # a selection of policies that declares no national government body: every measure
        (("--policy", "us-tx"), ["all"], "anyone"),
    ],
)
def test_the_json_says_whom_the_verdict_was_judged_for(
    cli, honeywell: Path, options: tuple[str, ...], acting_as: list[str], judged_for: str
) -> None:  # type: ignore[no-untyped-def]
    looked_up = cli("lookup", "Honeywell HEN04102", "-f", "json", *options)
    assert looked_up.exit_code == 0, looked_up.output
    row = json.loads(looked_up.stdout)
    assert (row["acting_as"], row["judged_for"]) == (acting_as, judged_for)
    screened = cli("screen", str(honeywell), "-f", "json", "-q", *options)
    assert screened.exit_code == 0, screened.output
    document = json.loads(screened.stdout)
    assert document["summary"]["judged_for"] == judged_for
    assert {row["judged_for"] for row in document["rows"]} == {judged_for}
    if not options:
        # the table says the same words
        assert f"as {judged_for}" in cli("lookup", "Honeywell HEN04102").stdout


def test_a_row_written_before_judged_for_reads_with_it() -> None:
    identifier = bundled_identifier()
    policies = identifier.knowledge.select_policies(None)
    row = judge_product(identifier.identify("Axis"), policies).model_dump(mode="json")
    for acting_as, expected in (
        ([], "a national government body"),
        (["all"], "anyone"),
        (["ca:individual"], "ca:individual"),
    ):
        old = {key: value for key, value in row.items() if key != "judged_for"}
        assert ScreenRow.model_validate({**old, "acting_as": acting_as}).judged_for == expected
