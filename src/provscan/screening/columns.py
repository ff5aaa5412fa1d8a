"""Which columns of a procurement list hold the brand, the model and the description."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from provscan.errors import InputError

#: Header spellings per role, compared without case, accents, spaces or punctuation. Order
#: matters: the first role a header matches exactly wins, and within a role the earlier
#: spelling ranks first ("Model" over "Part Number", "Modèle" over "No de pièce"). Besides
#: English, the French, Spanish and German words of purchase lists for the part number
#: ("Numéro de pièce", "Référence", "Modèle"; "Número de pieza", "Referencia", "Modelo";
#: "Artikelnummer", "Teilenummer", "Modell"), the maker ("Fabricant", "Marque", "Constructeur";
#: "Fabricante", "Marca"; "Hersteller", "Marke") and the description ("Désignation",
#: "Libellé"; "Descripción", "Denominación"; "Bezeichnung", "Beschreibung").
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "model": (
        "model",
        "modele",
        "modelo",
        "modell",
        "modelnumber",
        "modelno",
        "modelnr",
        "modelname",
        "partnumber",
        "partno",
        "part",
        "mpn",
        "manufacturerpartnumber",
        "mfrpartnumber",
        "mfrpartno",
        "mfgpartnumber",
        "sku",
        "itemnumber",
        "itemno",
        "productcode",
        "productnumber",
        "catalognumber",
        "catalogueno",
        "cataloguenumber",
        "catalogno",
        "article",
        "articlenumber",
        "reference",
        "ordercode",
        # French, Spanish and German lists ("Numéro de pièce", "N° de pièce", "Réf. fabricant",
        # "Número de pieza", "Artikelnummer")
        "numerodepiece",
        "nodepiece",
        "ndepiece",
        "numpiece",
        "refpiece",
        "referencepiece",
        "reffabricant",
        "referencefabricant",
        "ref",
        "numerodepieza",
        "nodepieza",
        "numerodeparte",
        "referencia",
        "artikelnummer",
        "artikelnr",
        "teilenummer",
        "herstellerteilenummer",
        "herstellernummer",
    ),
    "brand": (
        "brand",
        "brandname",
        "manufacturer",
        "manufacturername",
        "make",
        "vendor",
        "mfr",
        "mfg",
        "maker",
        "oem",
        "label",
        # the same words in French, Spanish and German lists (maker, brand)
        "fabricant",
        "marque",
        "constructeur",
        "fabricante",
        "marca",
        "hersteller",
        "marke",
    ),
    "description": (
        "description",
        "desc",
        "itemdescription",
        "productdescription",
        "product",
        "productname",
        "item",
        "itemname",
        "name",
        "details",
        "lineitem",
        "title",
        "equipment",
        "descripcion",
        "beschreibung",
        "designation",
        "libelle",
        "denominacion",
        "bezeichnung",
        "artikelbezeichnung",
    ),
}
#: Substrings that reveal a role in longer headers ("Manufacturer Part Number" is a model).
HEADER_HINTS: tuple[tuple[str, str], ...] = (
    ("partnumber", "model"),
    ("partno", "model"),
    ("model", "model"),
    # "Numéro de pièce fabricant", "Référence constructeur": the part number, not the maker
    ("depiece", "model"),
    ("reference", "model"),
    ("manufacturer", "brand"),
    ("brand", "brand"),
    ("fabricant", "brand"),
    ("hersteller", "brand"),
    ("description", "description"),
    ("designation", "description"),
    ("bezeichnung", "description"),
)
ROLES = ("brand", "model", "description")


class ColumnError(InputError):
    """A column named on the command line is not in the file."""


def header_key(header: str) -> str:
    """``Modèle`` -> ``modele``: without case, accents, spaces or punctuation."""
    folded = unicodedata.normalize("NFKD", header.lower()).encode("ascii", "ignore")
    return re.sub(r"[^a-z0-9]", "", folded.decode("ascii"))


@dataclass(frozen=True)
class ColumnChoice:
    """Column index per role (None: absent). With no role found every column is text."""

    brand: int | None
    model: int | None
    description: int | None
    all_text: bool = False

    def names(self, header: Sequence[str]) -> dict[str, str | None]:
        def name(index: int | None) -> str | None:
            return header[index] if index is not None and index < len(header) else None

        if self.all_text:
            return {"brand": None, "model": None, "description": "(all columns)"}
        return {
            "brand": name(self.brand),
            "model": name(self.model),
            "description": name(self.description),
        }


def is_header_row(cells: Sequence[str], names: Sequence[str] = ()) -> bool:
    """A row is a header when one of its cells names a role or a column the user named."""
    wanted = {header_key(name) for name in names} - {""}
    return any(_role_of(cell) is not None or header_key(cell) in wanted for cell in cells)


def _role_of(cell: str) -> str | None:
    key = header_key(cell)
    if not key:
        return None
    for role, aliases in HEADER_ALIASES.items():
        if key in aliases:
            return role
    return None


def resolve_column(spec: str, header: Sequence[str]) -> int:
    """A column given as a header name (any case), a 1-based number, or a letter (A, B, …, AA)."""
    wanted = header_key(spec)
    for index, name in enumerate(header):
        if header_key(name) == wanted and wanted:
            return index
    if spec.strip().isdigit():
        number = int(spec)
        if 1 <= number <= len(header):
            return number - 1
    if re.fullmatch(r"[A-Za-z]{1,3}", spec.strip()):
        index = 0
        for character in spec.strip().upper():
            index = index * 26 + (ord(character) - ord("A") + 1)
        if 1 <= index <= len(header):
            return index - 1
    listing = ", ".join(f"{i + 1}={name!r}" for i, name in enumerate(header))
    raise ColumnError(f"column {spec!r} is not in the file; columns are: {listing}")


def choose_columns(
    header: Sequence[str],
    *,
    brand: str | None = None,
    model: str | None = None,
    description: str | None = None,
) -> ColumnChoice:
    """Detect columns from the header; explicit choices (name, number or letter) win."""
    chosen: dict[str, int | None] = {role: None for role in ROLES}
    overrides = {"brand": brand, "model": model, "description": description}
    for role, spec in overrides.items():
        if spec is not None:
            chosen[role] = resolve_column(spec, header)
    used = {index for index in chosen.values() if index is not None}
    for role in ROLES:
        if chosen[role] is not None:
            continue
        # The most specific spelling wins ("Description" over "Item"), then the leftmost.
        ranked = sorted(
            (HEADER_ALIASES[role].index(header_key(cell)), index)
            for index, cell in enumerate(header)
            if index not in used and _role_of(cell) == role
        )
        if ranked:
            chosen[role] = ranked[0][1]
            used.add(ranked[0][1])
    for index, cell in enumerate(header):
        if index in used:
            continue
        key = header_key(cell)
        for hint, role in HEADER_HINTS:
            if hint in key and chosen[role] is None:
                chosen[role] = index
                used.add(index)
                break
    if all(value is None for value in chosen.values()):
        return ColumnChoice(None, None, None, all_text=True)
    return ColumnChoice(chosen["brand"], chosen["model"], chosen["description"])
