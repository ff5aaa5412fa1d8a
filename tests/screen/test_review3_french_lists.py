"""A procurement officer's review (third round): French, Spanish and German purchase lists.

Their headers ("Numéro de pièce", "Désignation", "Référence", "Modèle", "No de pièce",
"Fabricant", "Marque") were not read as columns, so a list screened its brand column alone and
rows such as Amcrest IP8M-2496EB-28MM dropped from restricted to review; and an accessory
written in French ("Support mural pour Hikvision ...") came back as the camera itself while
"Wall mount for ..." did not.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from provscan.screening.columns import choose_columns, is_header_row
from provscan.screening.run import bundled_identifier

#: The officer's list: French headers, products whose model number names the maker.
ACHATS = (
    "Fabricant,Numéro de pièce,Désignation,Quantité\n"
    "Amcrest,IP8M-2496EB-28MM,Caméra IP 4K,4\n"
    "LTS,CMIP7442W-28M,Caméra tourelle,2\n"
    "Honeywell,HBW4PER1,Caméra bullet,3\n"
    "Axis,P3245-LV,Caméra dôme,1\n"
)


def screen_csv(path: Path, *extra: str) -> tuple[list[dict[str, str]], str]:
    """The screened list as CSV rows (header -> cell), and what the command said on stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "provscan", "screen", str(path), "-f", "csv", *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout))), done.stderr


def test_a_french_list_is_read_by_its_headers(tmp_path: Path) -> None:
    # Given the officer's French list
    path = tmp_path / "achats_fr.csv"
    path.write_text(ACHATS, encoding="utf-8")
    # When it is screened
    rows, said = screen_csv(path)
    # Then the part number and description columns are read, not the brand alone
    assert "model='Numéro de pièce'" in said and "description='Désignation'" in said, said
    by_model = {row["Numéro de pièce"]: row for row in rows}
    # And the relabels the model numbers identify are restricted again, not to review
    for model, maker in (
        ("IP8M-2496EB-28MM", "Dahua"),
        ("CMIP7442W-28M", "Hikvision"),
        ("HBW4PER1", "Hikvision/Dahua"),
    ):
        assert by_model[model]["verdict"] == "restricted", by_model[model]
        assert by_model[model]["maker"] == maker
    assert by_model["P3245-LV"]["verdict"] == "clear"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # accents, case and spacing do not matter
        (["Marque", "Référence", "Description"], (0, 1, 2)),
        (["MARQUE", "REFERENCE", "DESCRIPTION"], (0, 1, 2)),
        (["fabricant", "numero de piece", "designation"], (0, 1, 2)),
        (["Fabricant", "No de pièce", "Libellé"], (0, 1, 2)),
        (["Fabricant", "N° de pièce", "Désignation"], (0, 1, 2)),
        (["Constructeur", "Réf. fabricant", "Désignation"], (0, 1, 2)),
        # "Modèle" ranks before "No de pièce" as "Model" does before "Part Number"
        (["Fabricant", "No de pièce", "Modèle", "Désignation"], (0, 2, 3)),
        (["Fabricante", "Número de pieza", "Descripción"], (0, 1, 2)),
        (["Marca", "Referencia", "Denominación"], (0, 1, 2)),
        (["Hersteller", "Artikelnummer", "Bezeichnung"], (0, 1, 2)),
        (["Marke", "Modell", "Artikelbezeichnung"], (0, 1, 2)),
    ],
)
def test_other_languages_headers_name_their_roles(
    header: list[str], expected: tuple[int, int, int]
) -> None:
    chosen = choose_columns(header)
    assert (chosen.brand, chosen.model, chosen.description) == expected
    assert is_header_row(header)


def test_a_quantity_or_a_price_header_names_no_role() -> None:
    chosen = choose_columns(["Quantité", "Prix unitaire", "Désignation"])
    assert (chosen.brand, chosen.model, chosen.description) == (None, None, 2)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Support mural pour Hikvision DS-2CD2143G0-I", "pour"),
        ("Support mural compatible avec Dahua IPC-HDW2431T", "avec"),
        ("Batterie adaptable Hikvision DS-2CD2143G0-I", "adaptable"),
        ("Soporte de pared para Hikvision DS-2CD2143G0-I", "para"),
        ("Soporte compatible con Dahua IPC-HDW2431T", "con"),
        ("Wandhalterung für Hikvision DS-2CD2143G0-I", "für"),
        ("Halterung kompatibel mit Dahua IPC-HDW2431T", "mit"),
    ],
)
def test_an_accessory_for_a_camera_is_not_the_camera(text: str, word: str) -> None:
    identification = bundled_identifier().identify(text)
    assert identification.maker is None, identification
    assert any(f"follows {word!r}" in reason for reason in identification.reasons), (
        identification.reasons
    )


def test_the_french_rows_read_as_the_english_ones(tmp_path: Path) -> None:
    # Given the same accessories in English and in French in one list
    path = tmp_path / "supports.csv"
    path.write_text(
        "Désignation\n"
        "Wall mount for Hikvision DS-2CD2143G0-I\n"
        "Support mural pour Hikvision DS-2CD2143G0-I\n"
        "Support mural compatible avec Dahua IPC-HDW2431T\n"
        "Hikvision-kompatible Halterung\n",
        encoding="utf-8",
    )
    rows, _ = screen_csv(path)
    # Then none is read as the camera it fits
    assert [row["verdict"] for row in rows] == ["unknown"] * 4, rows
    assert all(row["maker"] == "" for row in rows)


@pytest.mark.parametrize(
    "text",
    [
        "Caméra Hikvision DS-2CD2143G0-I pour extérieur",
        "Hikvision DS-2CD2143G0-I avec support",
        "Cámara Dahua IPC-HDW2431T para exterior",
        "Hikvision DS-2CD2143G0-I mit Wandhalterung",
    ],
)
def test_the_camera_itself_stays_restricted(text: str) -> None:
    # "pour", "para", "avec", "mit" after the product's own brand and number say nothing
    # about what it fits: the camera is still the maker's
    identification = bundled_identifier().identify(text)
    assert identification.maker in ("Hikvision", "Dahua"), identification
    assert identification.relation == "own_brand"
