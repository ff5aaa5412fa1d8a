"""A product listed again is judged once and its result cells are made once (issue 14:
100,000 rows), with the same output as judging and writing every row on its own."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from provscan.policy import evaluate
from provscan.screening import tables
from provscan.screening.identify import Identification
from provscan.screening.run import bundled_identifier, screen_table, table_columns
from provscan.screening.tables import read_table, render_csv, result_cells
from provscan.screening.verdict import PerJudgement, ScreenRow, judge_product

# Repeated products in every form a CSV record takes: plain, quoted, a quote inside, a line
# break inside, a formula to guard, a short row, a row wider than the header.
LIST = (
    "Item,Brand,Model,Description,Qty\r\n"
    "1,Hikvision,DS-2CD2143G2-I,4MP dome,4\r\n"
    "2,Hikvision,DS-2CD2143G2-I,4MP dome,9\r\n"
    '3,"Hikvision","DS-2CD2143G2-I","4MP dome",2\r\n'
    '4,Axis,P3265-LVE,"dome, outdoor ""vandal""",1\r\n'
    '5,Axis,P3265-LVE,"dome, outdoor ""vandal""",3\r\n'
    '6,Dahua,IPC-HFW2431S-S-S2,"bullet\nline two",5\r\n'
    "7,Dahua,IPC-HFW2431S-S-S2,=HYPERLINK(1),5\r\n"
    "8,Axis,P3265-LVE\r\n"
    "9,Hikvision,DS-2CD2143G2-I,4MP dome,4,extra,cells\r\n"
    "10,Hikvision,DS-2CD2143G2-I,4MP dome,4\r\n"
)


def _screened(path: Path) -> tuple[tables.InputTable, list[ScreenRow]]:
    identifier = bundled_identifier()
    table = read_table(path)
    columns = table_columns(table, identifier)
    policies = identifier.knowledge.select_policies(None)
    return table, screen_table(table, columns, identifier, policies)


def test_every_output_record_reads_back_as_its_cells_and_results(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(LIST.encode())
    table, rows = _screened(path)
    out = render_csv(table, rows).decode()
    records = list(csv.reader(io.StringIO(out, newline="")))
    width = max(len(table.records[index].cells) for index in table.data_records)
    assert len(records) == 1 + len(rows)
    for index, row, record in zip(table.data_records, rows, records[1:], strict=True):
        cells = [tables.guard_formula(cell) for cell in table.records[index].cells]
        padding = [""] * (width - len(cells))
        added = [tables.guard_formula(cell) for cell in result_cells(row)]
        assert record == [*cells, *padding, *added]
    # a plain record keeps its bytes: what it was, then the results
    lines = out.split("\r\n")
    assert lines[1].startswith("1,Hikvision,DS-2CD2143G2-I,4MP dome,4,")
    assert lines[3].startswith('3,"Hikvision","DS-2CD2143G2-I","4MP dome",2,')


def test_result_cells_are_made_once_per_judgement(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(LIST.encode())
    _, rows = _screened(path)
    expected = [result_cells(row) for row in rows]
    made: list[ScreenRow] = []

    def counting(row: ScreenRow) -> list[str]:
        made.append(row)
        return result_cells(row)

    cells_of = PerJudgement(counting)
    assert [cells_of(row) for row in rows] == expected
    # items 2, 3, 9 and 10 repeat item 1 (the same brand, model and description cells), 5
    # repeats 4: 10 rows, 5 judgements, one set of result cells each
    assert len({id(row.findings) for row in rows}) == 5
    assert len(made) == 5


def test_a_row_that_equals_another_by_value_only_gets_its_own_cells() -> None:
    identification = Identification(
        input="XQ-1234",
        brand=None,
        maker=None,
        model=None,
        device_type=None,
        relation="unknown",
        family=None,
        confidence=0.0,
    )
    first = judge_product(identification, [], row=1)
    other = judge_product(identification, [], row=2)
    cells_of = PerJudgement(result_cells)
    assert cells_of(first) == cells_of(other) == result_cells(first)
    assert cells_of(first) is not cells_of(other)  # not the same objects: made for each


def test_findings_are_made_once_per_maker_in_a_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(LIST.encode())
    _, without_memo = _screened(path)
    calls: list[tuple[object, ...]] = []
    real = evaluate.findings_for_candidate

    def counting(candidate, policies, **kwargs):  # type: ignore[no-untyped-def]
        calls.append((candidate, kwargs.get("device_type"), kwargs.get("country")))
        return real(candidate, policies, **kwargs)

    monkeypatch.setattr(evaluate, "findings_for_candidate", counting)
    _, rows = _screened(path)
    assert [row.model_dump() for row in rows] == [row.model_dump() for row in without_memo]
    # five judgements (Hikvision once, Axis twice: a dome and a row that names no kind,
    # Dahua twice: both cameras), each candidate and kind's findings made once for the
    # list: the second Dahua judgement finds its made
    assert len(calls) == len(set(calls)) == 4
