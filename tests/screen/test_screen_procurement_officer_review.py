"""A procurement officer's newcomer review of ``provscan screen`` and ``provscan lookup``.

Found: a part-number column under a header that was not recognised ("Mfr Part #") was
dropped, so Hikvision and Dahua rows came back unknown and ``--fail-on-restricted`` exited 0;
a brand glued to its model number ("HikvisionDS-2CD2043G2-I") was not read; a bare "Samsung"
was read as Hanwha Vision and a bare "Motorola" as an unknown brand without a word why; tax,
sub-total and shipping lines of a Canadian quote were counted as unknown products; a text file
named .xlsx, a PDF and an HTML page were screened with exit 0; a misspelt brand on a model
number did not say the number was recognised; and a file of 52,429,828 bytes was "50 MB, over
the 50 MB limit". Every test screens real files in a temporary directory.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from provscan.knowledge.loader import load_knowledge
from provscan.screening.columns import choose_columns, is_header_row
from provscan.screening.run import bundled_identifier

EXIT_RESTRICTED = 3
EXIT_USAGE = 2

IDENTIFIER = bundled_identifier()


def screen(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provscan", "screen", *args],
        capture_output=True,
        input=stdin.decode("utf-8") if stdin is not None else None,
        text=True,
        timeout=180,
    )


def fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- 1. part-number columns under headers that were not recognised ---------------------------

#: The officer's list: the part numbers under "Mfr Part #".
MFR_PART_LIST = "Item,Desc,Mfr Part #,Qty\n1,PTZ,DS-2DE4425IW-DE,1\n2,Bullet,IPC-HFW2431S-S-S2,1\n"


def test_a_mfr_part_column_is_read_and_fails_the_run(tmp_path: Path) -> None:
    # Given the officer's list, whose part numbers are under "Mfr Part #"
    path = tmp_path / "m.csv"
    path.write_text(MFR_PART_LIST, encoding="utf-8")
    # When it is screened to fail on restricted products
    done = screen(str(path), "-f", "json", "--fail-on-restricted")
    # Then the Hikvision and Dahua rows are restricted and the run fails
    assert done.returncode == EXIT_RESTRICTED, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert [(row["maker"], row["verdict"]) for row in rows] == [
        ("Hikvision", "restricted"),
        ("Dahua", "restricted"),
    ]
    assert "model='Mfr Part #'" in done.stderr
    assert "no part-number column recognised" not in done.stderr


@pytest.mark.parametrize(
    "header",
    [
        "Mfr Part #",
        "Vendor Part #",
        "Manufacturer P/N",
        "P/N",
        "Mfr P/N",
        "Mfr. #",
        "Catalog #",
        "Cat. No.",
        "Item #",
        "Part No.",
        "Model #",
        "N° de pièce",
        "Nº de pièce",
        "No de pièce",
        "Réf.",
        "Référence fabricant",
        "Réf. fabricant",
        "N° d'article",
        "Code article",
        "Art.-Nr.",
    ],
)
def test_part_number_headers_name_the_model_column(header: str) -> None:
    chosen = choose_columns(["Fabricant", header, "Désignation"])
    assert (chosen.brand, chosen.model, chosen.description) == (0, 1, 2), header
    assert is_header_row([header])


@pytest.mark.parametrize("header", ["#", "No.", "Vendor #", "PO #", "Line No.", "S/N", "Serial #"])
def test_a_number_that_is_no_part_number_names_no_model(header: str) -> None:
    chosen = choose_columns([header, "Description"])
    assert chosen.model is None and chosen.brand is None, header


def test_the_makers_part_number_ranks_before_the_vendors() -> None:
    chosen = choose_columns(["Vendor Part #", "Mfr Part #", "Description"])
    assert chosen.model == 1


def test_an_unrecognised_part_number_header_is_read_as_text_with_a_warning(
    tmp_path: Path,
) -> None:
    # Given a list whose part numbers sit under a header no alias names ("Code"), beside a
    # line counter "Item #" and a quantity
    path = tmp_path / "codes.csv"
    path.write_text(
        "Item #,Desc,Code,Qty\n"
        "1,PTZ,DS-2DE4425IW-DE,1\n"
        "2,Bullet,IPC-HFW2431S-S-S2,1\n"
        "3,Dome,P3245-LV,2\n",
        encoding="utf-8",
    )
    # When it is screened
    done = screen(str(path), "-f", "json", "--fail-on-restricted")
    # Then the part numbers are read and the run fails on the restricted ones
    assert done.returncode == EXIT_RESTRICTED, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert [row["maker"] for row in rows] == ["Hikvision", "Dahua", "Axis"]
    # And one warning (wrapped at the terminal's width) names the columns read as text, not
    # the counter nor the quantity
    flat = " ".join(done.stderr.split())
    assert flat.count("warning:") == 1, done.stderr
    warning = [flat.split("warning:", 1)[1].split(" note:")[0].split(" columns:")[0]]
    assert "no part-number column recognised; read Desc, Code as text" in warning[0]
    assert "--model-col" in warning[0] and "Item #" not in warning[0]
    assert "Qty" not in warning[0]


def test_an_item_counter_of_integers_produces_no_match(tmp_path: Path) -> None:
    # Given a list whose "Item #" is a line counter and whose products are named in words
    path = tmp_path / "counter.csv"
    path.write_text(
        "Item #,Description,Qty\n1,Patch cable 2 m,4\n2,Rack shelf,1\n1234,Label tape,2\n",
        encoding="utf-8",
    )
    # When it is screened
    done = screen(str(path), "-f", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    # Then the counter is no model column, and no row has a maker or a model from it
    assert document["summary"]["columns"]["model"] is None
    assert all(row["maker"] is None and row["model"] is None for row in document["rows"])
    assert "warning" not in done.stderr


def test_a_workbook_with_a_mfr_part_column_is_screened(tmp_path: Path) -> None:
    # Given the same list as an XLSX workbook
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in csv.reader(io.StringIO(MFR_PART_LIST)):
        sheet.append(row)
    path = tmp_path / "m.xlsx"
    workbook.save(path)
    # When it is screened
    done = screen(str(path), "-f", "json", "--fail-on-restricted")
    # Then it fails on the restricted rows as the CSV does
    assert done.returncode == EXIT_RESTRICTED, done.stderr
    assert [row["verdict"] for row in json.loads(done.stdout)["rows"]] == [
        "restricted",
        "restricted",
    ]


# --- 2. a brand glued to its model number ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "maker", "model"),
    [
        ("HikvisionDS-2CD2043G2-I", "Hikvision", "DS-2CD2043G2-I"),
        ("DahuaIPC-HFW2431S-S-S2", "Dahua", "IPC-HFW2431S-S-S2"),
        ("hikvisionds-2cd2043g2-i", "Hikvision", "ds-2cd2043g2-i"),
        ("AxisP1455-LE", "Axis", "P1455-LE"),
    ],
)
def test_a_brand_glued_to_its_model_reads_as_brand_and_model(
    text: str, maker: str, model: str
) -> None:
    found = IDENTIFIER.identify(text)
    assert (found.maker, found.brand, found.model) == (maker, maker, model), found


@pytest.mark.parametrize(
    "text",
    [
        # the rest follows no numbering of the glued brand: nothing is split off
        "AxisDS-2CD2043G2-I",
        "HikvisionXYZ-123",
        # a word that only begins like a brand ("Ring" + "o")
        "Ringo12345",
    ],
)
def test_a_glued_word_is_split_only_on_the_brands_own_numbering(text: str) -> None:
    found = IDENTIFIER.identify(text)
    assert found.maker is None and found.brand is None, found


def test_glued_brands_in_a_list_fail_the_run(tmp_path: Path) -> None:
    path = tmp_path / "glued.csv"
    path.write_text(
        "Description\nHikvisionDS-2CD2043G2-I\nDahuaIPC-HFW2431S-S-S2\n", encoding="utf-8"
    )
    done = screen(str(path), "-f", "json", "--fail-on-restricted")
    assert done.returncode == EXIT_RESTRICTED, done.stderr
    assert [row["maker"] for row in json.loads(done.stdout)["rows"]] == ["Hikvision", "Dahua"]


# --- 3. and 4. Samsung and Motorola: one name, two makers ------------------------------------


def test_a_samsung_phone_or_ssd_is_not_hanwha_vision() -> None:
    phone = IDENTIFIER.identify("Samsung Galaxy S24 smartphone")
    assert (phone.brand, phone.maker, phone.alternatives) == ("Samsung", "Samsung Electronics", ())
    assert any("covers camera" in reason for reason in phone.reasons), phone.reasons
    ssd = IDENTIFIER.identify("Samsung 870 EVO SSD")
    assert ssd.brand == "Samsung" and ssd.maker != "Hanwha Vision"
    # the name alone leaves the two makers open, and says so
    assert {ssd.maker, *ssd.alternatives} == {"Samsung Electronics", "Hanwha Vision"}
    assert any("which one per series" in reason for reason in ssd.reasons), ssd.reasons


@pytest.mark.parametrize("text", ["Samsung XNV-6080R", "Samsung SNO-6084R dome camera"])
def test_a_samsung_techwin_number_names_hanwha_vision(text: str) -> None:
    found = IDENTIFIER.identify(text)
    assert (found.brand, found.maker, found.alternatives) == ("Samsung", "Hanwha Vision", ())
    assert found.grammar_id == "hanwha.wisenet"


def test_samsung_names_no_maker_on_the_passive_side() -> None:
    from provscan.fingerprints.names import NameFinder

    knowledge = load_knowledge()
    names = NameFinder(knowledge)
    # a device that prints "Samsung" does not say which maker (issue 11, point 6)
    assert [hit.vendor for hit in names.find("Samsung SmartThings hub")] == []
    assert [hit.vendor for hit in names.find("Samsung Electronics Smart TV")] == [
        "Samsung Electronics"
    ]
    assert [hit.vendor for hit in names.find("Samsung Techwin SNB-5004")] == ["Hanwha Vision"]
    assert knowledge.canonical_vendor("Samsung") == "Samsung"
    assert knowledge.canonical_vendor("Samsung Techwin") == "Hanwha Vision"


@pytest.mark.parametrize("text", ["Motorola XPR 7550e", "Motorola SL300", "MOTOROLA DP4800e"])
def test_a_mototrbo_number_names_motorola_solutions(text: str) -> None:
    found = IDENTIFIER.identify(text)
    assert (found.brand, found.maker) == ("Motorola", "Motorola Solutions"), found
    assert found.grammar_id == "motorola.mototrbo"


def test_a_motorola_phone_is_lenovos_and_the_bare_name_is_open() -> None:
    phone = IDENTIFIER.identify("Motorola moto g54 smartphone")
    assert (phone.brand, phone.maker) == ("Motorola", "Lenovo"), phone
    bare = IDENTIFIER.identify("Motorola")
    assert bare.brand == "Motorola"
    assert {bare.maker, *bare.alternatives} == {"Motorola Solutions", "Lenovo"}
    assert not any("not in the vendor vocabulary" in reason for reason in bare.reasons)
    # the radio numbers count only next to the brand (short prefixes: Mercedes SL, DisplayPort)
    assert IDENTIFIER.identify("XPR 7550e").maker is None


# --- 5. tax, sub-total and shipping lines -------------------------------------------------------

QUOTE = (
    "Item,Description,Amount\n"
    "1,Hikvision DS-2CD2143G0-I,100.00\n"
    ",TPS/GST 5%,5.00\n"
    ",TVQ/QST 9.975%,9.98\n"
    ",Sous-total / Subtotal,114.98\n"
    ",Total partiel,114.98\n"
    ",Frais de livraison / Shipping,25.00\n"
    ",Écofrais,0.75\n"
    "2,8 port switch,1\n"
    "3,Total station TS16,1\n"
)


def test_tax_subtotal_and_shipping_lines_are_no_products(tmp_path: Path) -> None:
    # Given a Canadian quote with bilingual tax, sub-total and shipping lines
    path = tmp_path / "soumission.csv"
    path.write_text(QUOTE, encoding="utf-8")
    # When it is screened
    done = screen(str(path), "-f", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    # Then only the products are screened: the camera, the switch and the total station
    assert [row["row"] for row in document["rows"]] == [2, 9, 10]
    assert document["summary"]["unknown"] == 2
    flat = " ".join(done.stderr.split())
    assert "6 row(s) not screened, not products: row 3 (a total), row 4 (a total)" in flat


def test_tax_lines_of_a_workbook_are_no_products(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Fabricant", "Numéro de pièce", "Désignation", "Montant"])
    sheet.append(["Dahua", "IPC-HFW2431S-S-S2", "Caméra", 250])
    sheet.append([None, None, "TPS/GST 5%", 12.5])
    sheet.append([None, None, "TVQ/QST 9.975%", 24.94])
    sheet.append([None, None, "Total", "=SUM(D2:D4)"])
    path = tmp_path / "soumission.xlsx"
    workbook.save(path)
    done = screen(str(path), "-f", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert [(row["row"], row["maker"]) for row in rows] == [(2, "Dahua")]


# --- 6. files that are no list --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "notes.xlsx",
            b"Brand,Model\nHikvision,DS-2CD2143G0-I\n",
            "notes.xlsx is not an XLSX workbook",
        ),
        (
            "quote.pdf",
            b"%PDF-1.4\nBrand Model\nHikvision DS-2CD2143G0-I\nDahua IPC-HDW2431T\n%%EOF\n",
            "quote.pdf is a PDF, not a spreadsheet; export it as CSV or XLSX",
        ),
        (
            "page.html",
            b"\n  <!DOCTYPE html>\n<html><head><title>Hikvision</title></head>"
            b"<body>DS-2CD2143G0-I</body></html>\n",
            "page.html is an HTML page, not a spreadsheet; export it as CSV or XLSX",
        ),
        (
            "saved.csv",
            b'\xef\xbb\xbf<html lang="en"><body><table><tr><td>Dahua</td></tr></table>'
            b"</body></html>",
            "saved.csv is an HTML page, not a spreadsheet",
        ),
    ],
)
def test_a_file_that_is_no_list_is_refused(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    before = fingerprint(path)
    done = screen(str(path))
    assert done.returncode == EXIT_USAGE, done.stdout
    assert message in " ".join(done.stderr.split()) and "Traceback" not in done.stderr
    assert done.stdout == ""
    assert fingerprint(path) == before


def test_an_html_page_on_standard_input_is_refused() -> None:
    done = screen("-", stdin=b"<!doctype html>\n<html><body>Hikvision</body></html>\n")
    assert done.returncode == EXIT_USAGE
    assert "standard input is an HTML page, not a spreadsheet" in done.stderr


def test_a_csv_that_mentions_html_is_still_a_list(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("Description\n<html> cable tester DS-2CD2143G0-I\n", encoding="utf-8")
    done = screen(str(path), "-f", "json")
    assert done.returncode == 0, done.stderr


# --- 7. a misspelt brand on a recognised number --------------------------------------------------


def test_a_misspelt_brand_says_the_model_matched(tmp_path: Path) -> None:
    path = tmp_path / "axsi.csv"
    path.write_text("Brand,Model\nAxsi,P1455-LE\n", encoding="utf-8")
    done = screen(str(path), "-f", "json")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)["rows"]
    assert (row["maker"], row["brand"], row["verdict"]) == ("Axis", "Axsi", "clear")
    first = row["reason"].split("; ")[0]
    # the first clause (what a table shows) says both: the number matched, the brand did not
    assert "model P1455-LE matches Axis's numbering" in first, first
    assert "brand 'Axsi' is not in the vendor vocabulary" in first, first
    assert "a misspelling of Axis?" in first


# --- 8. sizes over the limit ------------------------------------------------------------------------


def test_a_file_just_over_the_limit_says_so_precisely(tmp_path: Path) -> None:
    path = tmp_path / "big50.csv"
    with path.open("wb") as handle:
        handle.write(b"Brand,Model\n")
        handle.truncate(52_429_828)
    done = screen(str(path))
    assert done.returncode == EXIT_USAGE
    flat = " ".join(done.stderr.split())
    assert "big50.csv is 52,429,828 bytes, over the 52,428,800 bytes limit" in flat, flat


def test_sizes_far_apart_are_in_mebibytes(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    with path.open("wb") as handle:
        handle.write(b"Brand,Model\n")
        handle.truncate(3 * 1_048_576 + 400_000)
    done = screen(str(path), "--max-bytes", str(2 * 1_048_576))
    assert done.returncode == EXIT_USAGE
    assert "list.csv is 3.4 MiB, over the 2.0 MiB limit" in " ".join(done.stderr.split())


# --- 9. the EZVIZ relation's sources --------------------------------------------------------------


def test_the_ezviz_relation_cites_filings_not_a_wiki_mirror() -> None:
    (relation,) = [
        relation
        for relation in load_knowledge().relations
        if (relation.brand, relation.maker) == ("EZVIZ", "Hikvision")
    ]
    sources = " ".join(relation.sources)
    assert "hubbry" not in sources
    assert "yicaiglobal.com" in sources
    assert "002415" in sources and "688475" in sources
