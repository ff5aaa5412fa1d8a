"""The console's /screen page, as a procurement officer hands a screening to an auditor.

Found in a newcomer review: the form said "Sheet (default: the first)" although the product
sheet is picked; there was no way to say whom the verdicts are judged for (``--as``), and the
result said neither that nor the knowledge version, nor any citation; the Measures column
showed "–" for a row restricted only on a condition. The real app over a real store.
"""

from __future__ import annotations

import csv
import io
import re

import openpyxl
from pagetools import accessibility_problems, inline, page_log_in
from webtools import TestClient

from provscan.knowledge.packs import active_pack

UK = "uk:central-government"
CROWN = "ca:crown-corporation"


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


LIST = _csv(
    [
        ["Item", "Brand", "Model", "Qty"],
        ["1", "Hikvision", "DS-2CD2143G0-I", "4"],
        ["2", "Dahua", "IPC-HFW2431S-S-S2", "2"],
        ["3", "Lorex", "E892AB", "6"],
        ["4", "Axis", "P3245-LVE", "2"],
    ]
)


def _screen(client: TestClient, token: str, acting_as: str) -> tuple[int, str]:
    files = {"file": ("list.csv", LIST, "text/csv")}
    data = {"csrf_token": token, "acting_as": acting_as}
    response = client.post("/screen", data=data, files=files)
    return response.status_code, response.text


def _row(page: str, model: str) -> str:
    found = re.search(
        r"<tr class=\"verdict-\w+\">(?:(?!</tr>).)*" + re.escape(model) + r".*?</tr>", page, re.S
    )
    assert found is not None, model
    return found.group(0)


def test_the_form_offers_whom_to_judge_for_and_says_which_sheet(client: TestClient) -> None:
    page_log_in(client, "analyst")
    page = client.get("/screen").text
    assert "default: the first" not in page
    assert "the sheet that looks like the product table" in page
    assert '<select id="acting_as" name="acting_as"' in page
    for value in ("", "all", UK, CROWN, "ca:federal-institution"):
        assert f'<option value="{value}"' in page, value
    assert accessibility_problems(page) == [] and inline(page) == []


def test_a_row_restricted_only_on_a_condition_shows_the_condition(client: TestClient) -> None:
    token = page_log_in(client, "analyst")
    status, page = _screen(client, token, UK)
    assert status == 200, page
    # whom the verdicts were judged for, and the knowledge they were judged with
    pack = active_pack()
    assert f'<strong id="screen-judged-for">{UK}</strong>' in page
    assert f"{pack.version} (as of {pack.as_of})" in page
    # the Hikvision row is restricted for a UK central-government body only on a site
    hikvision = _row(page, "DS-2CD2143G0-I")
    assert "<td>review</td>" in hikvision
    assert "<strong>uk</strong>: Written Ministerial Statement" in hikvision
    assert "<em>only if it is on (or to be deployed on) a sensitive government site" in hikvision
    # Lorex is only possibly made by Dahua
    assert "<td>Dahua?</td>" in _row(page, "E892AB")
    # the measures the rows rest on, with their citations
    assert 'id="screen-measures"' in page and "HCWS386" in page
    assert accessibility_problems(page) == [] and inline(page) == []
    # and the kept result's page says the same
    kept = re.search(r'href="(/screen/results/[A-Za-z0-9_-]+)">this result', page)
    assert kept is not None
    again = client.get(kept.group(1)).text
    assert f'<strong id="screen-judged-for">{UK}</strong>' in again
    assert "<em>only if it is on" in _row(again, "DS-2CD2143G0-I")
    # the XLSX download carries the same context and the measures
    book = openpyxl.load_workbook(io.BytesIO(client.get(kept.group(1) + "/xlsx").content))
    assert book.sheetnames[-2:] == ["provscan screening", "provscan measures"]
    context = {row[0].value: row[1].value for row in book["provscan screening"].iter_rows()}
    assert context["Verdicts judged for"] == UK
    assert context["Knowledge version"] == pack.version
    assert context["Input file"] == "the upload"  # the client's file name is never kept
    # the CSV download names each measure a verdict rests on
    lines = list(csv.reader(io.StringIO(client.get(kept.group(1) + "/csv").text)))
    assert lines[0][-1] == "measures"
    assert "(only if it is on" in lines[1][-1]


def test_a_crown_corporation_is_told_why_dahua_is_clear(client: TestClient) -> None:
    token = page_log_in(client, "analyst")
    status, page = _screen(client, token, CROWN)
    assert status == 200, page
    dahua = _row(page, "IPC-HFW2431S-S-S2")
    assert "<td>clear</td>" in dahua
    assert f"not restricted for {CROWN}: named by" in dahua and "(do not bind you)" in dahua
    # the selection is kept for the next list
    assert f'<option value="{CROWN}" selected>' in page


def test_an_unknown_party_is_refused_in_words(client: TestClient) -> None:
    token = page_log_in(client, "analyst")
    status, page = _screen(client, token, "xx:nobody")
    assert status == 400
    assert "xx:nobody" in page and "Traceback" not in page
