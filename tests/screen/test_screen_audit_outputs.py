"""A procurement officer hands her screening to an auditor (newcomer review, output side).

Found: the CSV and XLSX carried no citation (the CSV only policy ids, ``ca;us``, and no
reason naming the measure) and no audit context (knowledge version and as-of date, when it
was screened, provscan's version, whom it was judged for, which file), nor did the JSON
summary; the XLSX's result columns had no widths. Now the CSV keeps the input's bytes and
columns and appends ``measures`` (each measure a verdict rests on, by policy and title); the
XLSX adds sheets "provscan screening" (the audit context) and "provscan measures" (each
measure with its citation and official link), under names the workbook does not have, and
sets widths and wrapping on the result columns only; the JSON's summary records the audit
context and the document lists the measures. Real files in temporary directories.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from helpers import run_provscan

from provscan import __version__
from provscan.knowledge.loader import load_knowledge
from provscan.knowledge.packs import active_pack

QUOTE = (
    "Item,Manufacturer,Model,Description,Qty\r\n"
    "1,Hikvision,DS-2CD2143G0-I,dome camera,4\r\n"
    "2,Dahua,IPC-HFW2431S-S-S2,bullet camera,2\r\n"
    "3,Axis,P3245-LV,dome,8\r\n"
    '4,Lorex,E892AB,"4K camera, outdoor",6\r\n'
    "5,Northwind,,camera pole,2\r\n"
)


def _env(tmp_path: Path) -> dict[str, str]:
    # no configuration file: verdicts judged by the default reading unless --as says
    return {"XDG_CONFIG_HOME": str(tmp_path / "config")}


def _screen(tmp_path: Path, *args: str) -> str:
    done = run_provscan("screen", *args, env=_env(tmp_path), unset=("LINES", "PROVSCAN_CONFIG"))
    assert done.returncode == 0, done.stderr
    return done.stderr


def _measure_titles() -> dict[tuple[str, str], Any]:
    knowledge = load_knowledge()
    return {
        (policy.id, measure.title): measure
        for policy in knowledge.policies.values()
        for measure in policy.measures
    }


@pytest.fixture
def quote(tmp_path: Path) -> Path:
    path = tmp_path / "quote.csv"
    path.write_bytes(QUOTE.encode("utf-8"))
    return path


def test_the_csv_keeps_the_input_and_appends_quotable_measures(quote: Path, tmp_path: Path) -> None:
    # Given the officer's quote, screened to CSV
    out = tmp_path / "screened.csv"
    _screen(tmp_path, str(quote), "-o", str(out))
    written = out.read_bytes().decode("utf-8")
    # Then every input line comes back as it was, the results appended after it
    for before, after in zip(QUOTE.split("\r\n"), written.split("\r\n"), strict=True):
        assert after.startswith(before)
    rows = list(csv.DictReader(io.StringIO(written)))
    header = next(csv.reader(io.StringIO(written)))
    assert header[:5] == ["Item", "Manufacturer", "Model", "Description", "Qty"]
    # the verdict keeps its place; the measures follow it
    assert header[-2:] == ["verdict", "measures"]
    titles = _measure_titles()
    by_model = {row["Model"]: row for row in rows}
    hikvision = by_model["DS-2CD2143G0-I"]
    assert hikvision["verdict"] == "restricted"
    # And each measure a restricted row rests on is named, by policy and title, one for
    # each policy its policies column cites
    cited = [part.split(": ", 1) for part in hikvision["measures"].split(" | ")]
    assert {policy for policy, _ in cited} == set(hikvision["policies"].split(";"))
    for policy, title in cited:
        assert (policy, title) in titles, (policy, title)
    assert (
        "ca: Federal government purchase and use of Hikvision products barred"
        in (hikvision["measures"])
    )
    # a clear and an unknown row rest on no measure
    assert by_model["P3245-LV"]["measures"] == "" and by_model[""]["measures"] == ""


def test_the_xlsx_has_the_audit_context_and_the_measures(quote: Path, tmp_path: Path) -> None:
    out = tmp_path / "screened.xlsx"
    before = datetime.now(UTC).replace(microsecond=0)
    _screen(tmp_path, str(quote), "--as", "ca:crown-corporation", "-o", str(out))
    book = openpyxl.load_workbook(out)
    # Then after the list's sheet come the screening's context and the measures
    assert book.sheetnames == ["screened", "provscan screening", "provscan measures"]
    context = {row[0].value: row[1].value for row in book["provscan screening"].iter_rows()}
    pack = active_pack()
    assert context["Screened by"] == f"provscan {__version__}"
    assert context["Knowledge version"] == pack.version
    assert context["Knowledge as of"] == pack.as_of
    assert context["Verdicts judged for"] == "ca:crown-corporation"
    assert context["Input file"] == str(quote)
    assert context["Input sha256"] == hashlib.sha256(quote.read_bytes()).hexdigest()
    screened_at = datetime.fromisoformat(context["Screened at (UTC)"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= screened_at <= datetime.now(UTC)
    assert context["Result"].startswith("5 rows: 1 restricted")
    assert "columns F:N of sheet 'screened'" in context["Result columns"]
    # And every measure the rows name is listed with its citation and official link
    sheet = book["provscan measures"]
    header = [cell.value for cell in sheet[1]]
    listed = [
        dict(zip(header, (cell.value for cell in row), strict=True))
        for row in sheet.iter_rows(min_row=2)
    ]
    titles = _measure_titles()
    assert listed, "no measure listed"
    for entry in listed:
        measure = titles[(entry["policy"], entry["title"])]
        assert entry["measure id"] == measure.id
        assert entry["citation"] == measure.citation
        assert (entry["official link"] or None) == measure.link
        if measure.link:
            assert sheet.cell(row=listed.index(entry) + 2, column=len(header)).hyperlink
    # for a Crown corporation only the federal Hikvision measure restricts a row
    restricting = [e for e in listed if e["rows restricted"]]
    assert [(e["policy"], e["rows restricted"]) for e in restricting] == [("ca", 1)]
    assert restricting[0]["#"] == 1
    # measures binding others are listed, and say so
    us = [e for e in listed if e["policy"] == "us"]
    assert us and all(e["what it does here"].startswith("binds others") for e in us)
    # And the result columns have widths, the reason and the measures wrapped
    screened = book["screened"]
    widths = {
        screened.cell(row=1, column=c).value: screened.column_dimensions[
            openpyxl.utils.get_column_letter(c)
        ].width
        for c in range(6, 15)
    }
    assert widths["reason"] >= 50 and widths["measures"] >= 50 and widths["maker"] >= 16
    reason_at = [cell.value for cell in screened[1]].index("reason") + 1
    assert screened.cell(row=2, column=reason_at).alignment.wrap_text


def test_an_xlsx_input_keeps_its_sheets_and_the_added_ones_do_not_clash(tmp_path: Path) -> None:
    # Given a workbook with a cover sheet, and a sheet already named "provscan screening"
    path = tmp_path / "bom.xlsx"
    book = openpyxl.Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "Cover"
    cover["A1"] = "Project X"
    lines = book.create_sheet("Lignes")
    for row in (
        ["Marque", "Modèle", "Qté"],
        ["Hikvision", "DS-2CD2143G0-I", 4],
        ["Axis", "P3245-LV", 2],
    ):
        lines.append(row)
    lines.column_dimensions["A"].width = 21
    book.create_sheet("provscan screening")["A1"] = "an earlier run, kept by the user"
    book.save(path)
    out = tmp_path / "out.xlsx"
    said = _screen(tmp_path, str(path), "-o", str(out))
    after = openpyxl.load_workbook(out)
    # Then the workbook's sheets are all there, as they were, and the added ones follow
    assert after.sheetnames == [
        "Cover",
        "Lignes",
        "provscan screening",
        "provscan screening (2)",
        "provscan measures",
    ]
    assert after["provscan screening"]["A1"].value == "an earlier run, kept by the user"
    assert "'provscan screening (2)' and 'provscan measures'" in " ".join(said.split())
    sheet = after["Lignes"]
    assert sheet.column_dimensions["A"].width == 21  # the user's column, untouched
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["Marque", "Modèle", "Qté"] and header[-1] == "measures"
    maker_letter = openpyxl.utils.get_column_letter(header.index("maker") + 1)
    assert sheet.column_dimensions[maker_letter].width == 18
    context = {row[0].value: row[1].value for row in after["provscan screening (2)"].iter_rows()}
    assert context["Sheet screened"] == "Lignes"
    assert context["Input sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_json_summary_records_the_audit_context(quote: Path, tmp_path: Path) -> None:
    out = tmp_path / "screened.json"
    _screen(tmp_path, str(quote), "-o", str(out))
    document = json.loads(out.read_text(encoding="utf-8"))
    summary = document["summary"]
    pack = active_pack()
    assert summary["provscan_version"] == __version__
    assert (summary["knowledge_version"], summary["knowledge_as_of"]) == (pack.version, pack.as_of)
    assert summary["input_sha256"] == hashlib.sha256(quote.read_bytes()).hexdigest()
    assert summary["judged_for"] == "a national government body"
    assert summary["screened_at"].endswith("Z")
    # And the measures the rows name, each once, numbered, restricting ones first
    measures = document["measures"]
    assert [m["number"] for m in measures] == list(range(1, len(measures) + 1))
    keys = [(m["policy"], m["title"]) for m in measures]
    assert len(keys) == len(set(keys))
    restricting = [bool(m["restricts_rows"]) for m in measures]
    assert restricting == sorted(restricting, reverse=True)
    titles = _measure_titles()
    for measure in measures:
        assert measure["id"] == titles[(measure["policy"], measure["title"])].id
    # every measure a row's measures cell names is among them
    for row in document["rows"]:
        for finding in row["findings"]:
            assert (finding["policy"], finding["measure"]) in keys


def test_standard_input_is_fingerprinted_too(quote: Path, tmp_path: Path) -> None:
    with quote.open("rb") as handle:
        done = run_provscan(
            "screen",
            "-",
            "-f",
            "json",
            "-q",
            env=_env(tmp_path),
            stdin=handle,
            unset=("LINES", "PROVSCAN_CONFIG"),
        )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)["summary"]
    assert summary["source"] == "-"
    assert summary["input_sha256"] == hashlib.sha256(quote.read_bytes()).hexdigest()
