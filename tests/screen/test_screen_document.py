"""``provscan screen LIST -o x.pdf`` and ``-o x.html``: a screening to hand over.

Found in a newcomer review (a procurement officer handing her screening to an auditor):
``-o x.pdf`` and ``-o x.html`` were refused, and the console's printed /screen page cut the
Confidence and Reason columns off the right edge. The document has a title block (who, when,
what knowledge, judged for whom), the counts, the restricted and to-review rows first, then
the unknown and clear ones, and an appendix of the measures with citations and links; no
word may lie beyond the page's right edge. Real files in temporary directories; the PDF is
read back with pdftotext.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import run_provscan

from provscan.knowledge.packs import active_pack

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is needed"
)

#: Long names and numbers (a subsidiary's brand, a part number with its options, a model
#: cell of free text), a relabel that is only possible (Lorex), and every verdict.
LIST = (
    "Item,Manufacturer,Part Number,Description,Qty\n"
    "1,Axis,P3245-LV,dome,8\n"
    "2,Northwind,,camera pole,2\n"
    "3,Prama Hikvision India,DS-2CD2346G2-ISU/SL,4MP AcuSense turret,3\n"
    "4,Annke,DS-2CD2T47G2-LSU/SL(C)(2.8mm)(O-STD)-EXTRA-LONG-SUFFIX,bullet,1\n"
    "5,Lorex,E892AB,4K camera,6\n"
    "6,Motorola Solutions,MOTOTRBO R7 UHF 403-527 MHz portable radio,radio,4\n"
    "7,Dahua,IPC-HFW2431S-S-S2,bullet,2\n"
)


def _env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "config")}


def _screen(tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_provscan(
        "screen", *args, env=_env(tmp_path), unset=("LINES", "PROVSCAN_CONFIG"), timeout=300
    )


@pytest.fixture(scope="module")
def listing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("doc") / "quote.csv"
    path.write_text(LIST, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pdf(listing: Path) -> Path:
    out = listing.parent / "screened.pdf"
    done = _screen(listing.parent, str(listing), "-o", str(out))
    assert done.returncode == 0, done.stderr
    return out


def _text(path: Path, *options: str) -> str:
    return subprocess.run(
        ["pdftotext", *options, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_the_pdf_says_who_when_what_knowledge_and_for_whom(pdf: Path, listing: Path) -> None:
    assert pdf.read_bytes()[:5] == b"%PDF-"
    # read as laid out: each label on the line of its value
    text = " ".join(_text(pdf, "-layout").split())
    pack = active_pack()
    assert "Screening of" in text and listing.name in text
    for said in (
        "Screened by provscan",
        "Screened at (UTC)",
        f"Knowledge version {pack.version}",
        f"Knowledge as of {pack.as_of}",
        "Verdicts judged for a national government body",
        "Input sha256",
    ):
        assert said in text, said
    # the counts: 3 restricted (Prama, Annke's Hikvision number, Dahua), Lorex to review
    assert "3 1 1 2 7 restricted to review unknown clear rows screened" in text


def test_the_rows_to_act_on_come_first_then_the_others_then_the_measures(pdf: Path) -> None:
    text = " ".join(_text(pdf).split())
    acted = text.index("Restricted and to review (4)")
    unknown = text.index("Unknown (1)")
    clear = text.index("Clear (2)")
    appendix = text.index("Appendix: the measures named")
    assert acted < unknown < clear < appendix
    rows_part = text[acted:unknown]
    # (pdftotext joins a part number broken after a hyphen without it)
    joined = rows_part.replace(" ", "").replace("-", "")
    for model in ("DS-2CD2346G2-ISU/SL", "E892AB", "IPC-HFW2431S-S-S2"):
        assert model in rows_part or model.replace("-", "") in joined, model
    # Lorex's maker is only possible: "Dahua?" and "possibly made by"
    assert "Dahua?" in rows_part and "possibly made by Dahua" in rows_part
    assert "P3245-LV" in text[clear:appendix]
    # the appendix quotes each measure's citation and official link
    measures = text[appendix:]
    assert "Federal government purchase and use of Hikvision products barred" in measures
    assert "Pub. L. 115-232" in measures
    assert "https://www.acquisition.gov/far/52.204-25" in measures.replace(" ", "")


def test_no_word_lies_beyond_the_right_edge_of_the_a4_page(pdf: Path) -> None:
    # pdftotext -bbox gives each word's box; A4 is 595.28 x 841.89 points
    boxes = _text(pdf, "-bbox")
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">', boxes)
    assert pages and all(abs(float(w) - 595.28) < 1 for w, _ in pages)
    right = [
        float(x) for x in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"', boxes)
    ]
    assert right
    # the right margin is 12 mm (34 points): every word ends inside it
    assert max(right) <= 595.28 - 30, max(right)
    # and every column's text is there: the confidence and the measures of each row
    text = _text(pdf)
    for confidence in ("0.95", "0.47"):
        assert confidence in text
    assert "[1]" in text


def test_html_is_one_self_contained_file(listing: Path, tmp_path: Path) -> None:
    out = tmp_path / "screened.html"
    done = _screen(tmp_path, str(listing), "-o", str(out))
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "<link" not in html and " src=" not in html
    assert 'href="https://www.acquisition.gov/far/52.204-25"' in html
    assert 'id="measure-1"' in html and 'href="#measure-1"' in html
    # written to standard output too
    printed = _screen(tmp_path, str(listing), "-f", "html", "-q")
    assert printed.returncode == 0 and printed.stdout.startswith("<!DOCTYPE html>")


def test_list_text_is_escaped(tmp_path: Path) -> None:
    path = tmp_path / "hostile.csv"
    path.write_text('Brand,Model\n"<script>alert(1)</script>",DS-2CD2143G0-I\n', encoding="utf-8")
    done = _screen(tmp_path, str(path), "-f", "html", "-q")
    assert done.returncode == 0, done.stderr
    assert "<script>" not in done.stdout and "&lt;script&gt;" in done.stdout


def test_a_pdf_needs_an_output_file_and_never_replaces_one(listing: Path, tmp_path: Path) -> None:
    done = _screen(tmp_path, str(listing), "-f", "pdf")
    assert done.returncode == 2
    assert "--format pdf needs --output FILE" in done.stderr and "Traceback" not in done.stderr
    existing = tmp_path / "kept.pdf"
    existing.write_bytes(b"the user's own file")
    done = _screen(tmp_path, str(listing), "-o", str(existing))
    assert done.returncode == 2 and "already exists" in done.stderr
    assert existing.read_bytes() == b"the user's own file"
    # the list itself is never an output
    done = _screen(tmp_path, str(listing), "-f", "html", "-o", str(listing))
    assert done.returncode == 2
    assert listing.read_text(encoding="utf-8") == LIST


def test_a_product_listed_again_points_to_its_first_row(tmp_path: Path) -> None:
    # Given a list that repeats the same camera (real lists do), 60 times
    path = tmp_path / "repeat.csv"
    path.write_text(
        "Brand,Model\n" + "".join("Hikvision,DS-2CD2143G0-I\n" for _ in range(60)),
        encoding="utf-8",
    )
    out = tmp_path / "repeat.html"
    done = _screen(tmp_path, str(path), "-o", str(out))
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    # Then its reason is printed once, and the other rows say which row they are like
    # (in words: "own brand", the restricting policies by jurisdiction)
    assert html.count("the maker&#39;s own brand - restricted by") == 1
    assert "own_brand" not in html
    assert html.count("as row 2<") == 59
