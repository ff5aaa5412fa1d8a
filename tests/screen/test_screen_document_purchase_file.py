"""``provscan screen QUOTE -o x.html|x.pdf|x.json``: outputs that fit a purchase file.

Found by a procurement officer with a 19-line quote (``Line No,Item / Description,...``):

- row 4, an NVR (DS-7608NXI-K2), showed "as row 3", a camera (DS-2CD2143G2-I), and an empty
  Measures cell: rows were linked by their verdict and reason, not by their product;
- the report's rows could not be found in the quote: a number and no text (unknown rows
  showed "– | –");
- every reason carried codes (``own_brand``, ``possible_relabel``) and the ids of every
  policy that names the maker without binding her (``ca-qc, us-tx, us-la, uk, ...``);
- the appendix gave 28 measures, 25 of which did not bind her (3 of 5 pages);
- the JSON repeated every measure's citation and scope note in every row (13.5 KB a row).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import run_provscan

from provscan.knowledge.loader import load_knowledge
from provscan.screening.verdict import ScreenDocument

QUOTE = (
    "Line No,Item / Description,Qty,Unit price\n"
    "1,Hikvision DS-2CD2143G2-I 4MP dome,12,89.00\n"
    "2,Hikvision DS-7608NXI-K2 NVR,2,210.00\n"
    "3,Axis P3245-LVE network dome camera,4,540.00\n"
    "4,Hikvision DS-2CD2143G2-I 4MP dome,6,89.00\n"
    "5,Zorblax ZX-900 camera,2,45.00\n"
    "6,Lorex 4K NVR N4K2-84,1,350.00\n"
    "7,Hikvision DS-7608NXI-K2 NVR,1,210.00\n"
    ",Total,,3000.00\n"
)


@pytest.fixture(scope="module")
def quote(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("purchase") / "quote.csv"
    path.write_text(QUOTE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def html(quote: Path) -> str:
    from typer.testing import CliRunner

    from provscan.cli import app

    out = quote.parent / "quote.html"
    done = CliRunner().invoke(app, ["screen", str(quote), "-o", str(out), "-q"])
    assert done.exit_code == 0, done.output
    return out.read_text(encoding="utf-8")


def _section(html: str, section: str) -> str:
    start = html.index(f'<section id="{section}">')
    return html[start : html.index("</section>", start)]


def _rows(part: str) -> dict[int, str]:
    """Each table row of ``part`` by its row number (the id of its first cell)."""
    found = {}
    for cells in re.findall(r"<tr>(.*?)</tr>", part, flags=re.S):
        number = re.search(r'id="row-(\d+)"', cells)
        if number:
            found[int(number.group(1))] = cells
    return found


def test_a_row_points_to_an_earlier_one_only_for_the_same_product(html: str) -> None:
    acted = _rows(_section(html, "acted"))
    # line 1 (file row 2) and line 4 (row 5): the same camera; line 2 (row 3) and line 7
    # (row 8): the same NVR, judged alike with the same reason as the camera
    assert "same product as row" not in acted[2] and "same product as row" not in acted[3]
    assert "same product as row 2<" in acted[5]
    assert "same product as row 3<" in acted[8]
    # and a restricted row always shows the measures that restrict it
    for cells in acted.values():
        if "RESTRICTED" in cells:
            assert 'href="#measure-' in cells, cells


def test_every_row_shows_what_it_says_in_the_quote(html: str) -> None:
    acted = _rows(_section(html, "acted"))
    assert "Hikvision DS-7608NXI-K2 NVR" in acted[3]
    unknown = _rows(_section(html, "unknown"))
    assert "Zorblax ZX-900 camera" in unknown[6]
    clear = _rows(_section(html, "clear"))
    assert "Axis P3245-LVE network dome camera" in clear[4]
    assert "As listed" in _section(html, "acted") and "As listed" in _section(html, "unknown")


def test_reasons_are_in_words_and_name_only_the_binding_measures(html: str) -> None:
    acted = _section(html, "acted")
    rows = _rows(acted)
    for code in ("own_brand", "possible_relabel", "former_subsidiary"):
        assert code not in acted, code
    # the restricting policies by jurisdiction, not by id
    assert "restricted by Canada, United States" in rows[2]
    # measures that do not bind a national government body: said once, above the rows
    for cells in rows.values():
        assert "ca-qc" not in cells and "Texas" not in cells and "restricting nothing" not in cells
    said = re.search(r'<p class="small" id="not-binding">(.*?)</p>', acted, flags=re.S)
    assert said is not None and "Texas" in said.group(1) and "(us-tx)" in said.group(1)
    # Lorex is only possibly made by Dahua, in words
    assert "possibly made by Dahua" in rows[7]


def test_the_appendix_is_about_this_purchase(html: str) -> None:
    appendix = _section(html, "measures")
    full = appendix[appendix.index('id="measure-list"') : appendix.index('id="other-measures"')]
    short = appendix[appendix.index('id="other-measures"') :]
    # the measures the rows cite, with their citations, first
    cited = set(re.findall(r'href="#measure-(\d+)"', _section(html, "acted")))
    listed = set(re.findall(r'<tr id="measure-(\d+)"', full))
    assert cited and listed == cited
    assert "Pub. L. 115-232" in full
    # the others in a short list: no citation, and where to find them
    assert "Pub. L." not in short and "<a " not in short
    assert re.findall(r'<tr id="measure-(\d+)"', short)
    assert "provscan policies" in appendix


def test_json_rows_refer_to_the_measures(quote: Path, cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("screen", str(quote), "-f", "json", "-q")
    assert done.exit_code == 0
    raw = json.loads(done.stdout)
    document = ScreenDocument.model_validate(raw)  # still the one JSON shape
    keys = {(m.policy, m.title): m for m in document.measures}
    findings = [finding for row in raw["rows"] for finding in row["findings"]]
    assert findings
    for finding in findings:
        # what identifies the finding stays in the row; its text is in measures, once
        assert {"policy", "measure", "effect", "binding", "condition"} <= set(finding)
        assert finding["citation"] == "" and "scope_note" not in finding
        assert keys[(finding["policy"], finding["measure"])].citation
    # a restricted row of eleven policies' findings: a few KB, not 13.5
    restricted = next(row for row in raw["rows"] if row["verdict"] == "restricted")
    assert len(json.dumps(restricted, indent=2)) < 9000


def test_the_json_keeps_each_measures_scope_note_once(tmp_path: Path) -> None:
    """The rows leave a measure's scope note to ``measures``; it must be there, or the JSON
    loses what the measure covers (a review found it in no place of the document)."""
    listed = tmp_path / "quote.csv"
    listed.write_text("Manufacturer,Model\nHikvision,DS-2CD2143G2-I\nDahua,IPC-HFW2431S\n")
    out = tmp_path / "quote.json"
    done = run_provscan("screen", str(listed), "-o", str(out), "-q")
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    rows_notes = [f.get("scope_note") for r in document["rows"] for f in r["findings"]]
    assert not any(rows_notes)
    policies = load_knowledge().policies
    for measure in document["measures"]:
        known = next(m for m in policies[measure["policy"]].measures if m.title == measure["title"])
        assert measure["scope_note"] == known.scope_note, measure["title"]
    assert any(measure["scope_note"] for measure in document["measures"])
