"""Which columns of a procurement list hold the brand, the model and the description."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
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
        # a reseller's or supplier's part number: after the maker's, which ranks first
        "vendorpartnumber",
        "supplierpartnumber",
        "distributorpartnumber",
        "skunumber",
        "artnr",
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
        "numerodarticle",
        "ndarticle",
        "nodarticle",
        "codearticle",
        "codeproduit",
        "refarticle",
        "referencearticle",
        "refproduit",
        "referenceproduit",
        "numerodepieza",
        "nodepieza",
        "numerodeparte",
        "referencia",
        "artikelnummer",
        "artikelnr",
        "teilenummer",
        "herstellerteilenummer",
        "herstellernummer",
        # "Mfr. #" (a distributor's export: the maker's part number), as spelled out
        "manufacturernumber",
    ),
    "brand": (
        "brand",
        "brandname",
        "manufacturer",
        "manufacturername",
        "make",
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
#: Header spellings of a column that names who sells the product (a vendor, supplier,
#: reseller or distributor), not who makes it: such a column is never read as the brand or as
#: product text (a distributor's name before a part number is no relabel: "Anixter",
#: "DS-2CD2143G2-I" is Hikvision's camera sold by Anixter); the output keeps it as it is.
#: "Vendor Part Number", "Supplier Part No." stay the model (:data:`HEADER_ALIASES`).
SELLER_ALIASES: tuple[str, ...] = (
    "vendor",
    "vendorname",
    "supplier",
    "suppliername",
    "reseller",
    "resellername",
    "distributor",
    "distributorname",
    "seller",
    "sellername",
    "dealer",
    "dealername",
    # French, Spanish and German lists
    "fournisseur",
    "revendeur",
    "distributeur",
    "proveedor",
    "revendedor",
    "distribuidor",
    "lieferant",
    "handler",
    "haendler",
)
#: Words that make a longer header name the seller ("Preferred Supplier", "Authorised
#: Distributor").
_SELLER_WORDS = frozenset(
    {"vendor", "supplier", "reseller", "distributor", "seller", "dealer", *SELLER_ALIASES}
)
#: The other words such a header may have (any other word, "Part", "Code", "#", makes it no
#: seller's: "Vendor Part" is a part number).
_SELLER_QUALIFIERS = frozenset(
    {"name", "preferred", "approved", "authorised", "authorized", "main", "primary", "company"}
)
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
#: The role of a column that names the seller (:data:`SELLER_ALIASES`): recognised in a
#: header row, never screened.
SELLER = "seller"
#: Abbreviations in headers, spelled out before a header is compared with the aliases: "Mfr
#: Part #" is "manufacturer part number", "Cat. No." "catalog number", "Item #" "item number".
_HEADER_WORDS = {
    "#": "number",
    "no": "number",
    "nr": "number",
    "nbr": "number",
    "num": "number",
    "pn": "partnumber",
    "mn": "modelnumber",
    "sn": "serialnumber",
    "cat": "catalog",
    "catalogue": "catalog",
    "mfr": "manufacturer",
    "mfrs": "manufacturer",
    "mfg": "manufacturer",
    "mfgr": "manufacturer",
    "manuf": "manufacturer",
    "manufacturers": "manufacturer",
    "ref": "reference",
}
#: "P/N", "M/N", "S/N" (part, model, serial number), and "N°"/"Nº" (number) before folding.
_SLASHED = re.compile(r"\b([pms])\s*/\s*n\b")
_NUMERO = re.compile(r"\bn\s*[°º]")
#: A word that makes a header name a number ("#", "No.", "Nr", "N°"): "Vendor #" is a vendor's
#: number, not the vendor.
_NUMBER_MARKS = frozenset({"#", "no", "nr", "nbr", "num"})
_WHOLE_NUMBER = re.compile(r"[0-9]+")
#: What joins the two names of a combined header: "/", "&", "+", "and"/"et"/"y"/"und"
#: ("P/N", "M/N" are read as one word before it is split: see :func:`_role_of`).
_COMBINED_SPLIT = re.compile(r"\s*(?:/|&|\+|\b(?:and|et|y|und)\b)\s*", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")


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
    #: With no model column: the other columns that hold words, read as more text after the
    #: description (a part number under a header that was not recognised).
    extra_text: tuple[int, ...] = ()
    #: The columns that name the seller (:data:`SELLER_ALIASES`): never screened, not even
    #: with ``all_text``.
    seller: tuple[int, ...] = ()

    def names(self, header: Sequence[str]) -> dict[str, str | None]:
        def name(index: int | None) -> str | None:
            return header[index] if index is not None and index < len(header) else None

        names: dict[str, str | None]
        if self.all_text:
            names = {"brand": None, "model": None, "description": "(all columns)"}
        else:
            names = {
                "brand": name(self.brand),
                "model": name(self.model),
                "description": name(self.description),
            }
        if self.extra_text and not self.all_text:
            names["text"] = ", ".join(filter(None, (name(index) for index in self.extra_text)))
        if self.seller:
            # shown, not read: who sells the product says nothing of who made it
            names[SELLER] = ", ".join(filter(None, (name(index) for index in self.seller)))
        return names


def is_header_row(cells: Sequence[str], names: Sequence[str] = ()) -> bool:
    """A row is a header when one of its cells names a role or a column the user named."""
    wanted = {header_key(name) for name in names} - {""}
    return any(_role_of(cell) is not None or header_key(cell) in wanted for cell in cells)


def header_strength(cells: Sequence[str], names: Sequence[str] = ()) -> tuple[int, int, int]:
    """How strongly a row reads as the header: how many of its cells are columns the user
    named (by a name, not a number or a letter: a quantity of 2 is no column "2"), how many
    name the maker or the part number, and how many name any role. A quote's title or its
    group labels above the header ("Product", "Pricing") name fewer than the header itself
    ("Manufacturer", "Part Number")."""
    wanted = {
        key
        for name in names
        if (key := header_key(name))
        and not name.strip().isdigit()
        and not re.fullmatch(r"[A-Za-z]{1,2}", name.strip())
    }
    roles = [_role_of(cell) for cell in cells]
    return (
        sum(header_key(cell) in wanted for cell in cells if cell),
        # the seller counts as the brand did ("Vendor" was read as the brand)
        sum(role in ("brand", "model", SELLER) for role in roles),
        sum(role is not None for role in roles),
    )


def _header_words(header: str) -> list[str]:
    """``Mfr. Part #`` -> ``mfr``, ``part``, ``#``: lower case, accents off, "P/N" and "N°"
    kept as one word each."""
    lowered = _NUMERO.sub(" no ", header.lower())
    lowered = _SLASHED.sub(lambda match: f" {match.group(1)}n ", lowered)
    folded = unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode("ascii")
    return re.findall(r"[a-z0-9]+|#", folded)


def spelled_key(header: str) -> str:
    """``Mfr Part #`` -> ``manufacturerpartnumber``, ``Cat. No.`` -> ``catalognumber``: the
    header's words with their abbreviations spelled out (:data:`_HEADER_WORDS`), joined."""
    return "".join(_HEADER_WORDS.get(word, word) for word in _header_words(header))


def _alias_rank(cell: str, role: str) -> int | None:
    """Where the header's spelling stands among ``role``'s aliases (earlier ranks first), or
    None when it is not one of them."""
    aliases = HEADER_ALIASES[role]
    for key in (spelled_key(cell), header_key(cell)):
        if key in aliases:
            return aliases.index(key)
    return None


def _role_of(cell: str) -> str | None:
    """The role a header names: its words spelled out first ("Item #" is an item number, a
    part number), then as written ("N° de pièce"). A header that is a number ("Vendor #",
    "PO No.") names the model only: the number of a maker or a line item is neither its brand
    nor its description."""
    spelled = spelled_key(cell)
    if not spelled:
        return None
    for role, aliases in HEADER_ALIASES.items():
        if spelled in aliases:
            return role
    if spelled in SELLER_ALIASES:
        return SELLER
    key = header_key(cell)
    numbered = bool(_NUMBER_MARKS.intersection(_header_words(cell)))
    for role, aliases in HEADER_ALIASES.items():
        if key in aliases and (role == "model" or not numbered):
            return role
    if key in SELLER_ALIASES and not numbered:
        return SELLER
    return _combined_role(cell)


def _names_seller(cell: str) -> bool:
    """Whether a header names the seller: a seller's header ("Vendor", "Supplier",
    "Distributeur"), or a longer one with a seller's word that names no other role and holds
    no brand or part-number word ("Preferred Supplier"; not "Supplier Part No.")."""
    role = _role_of(cell)
    if role is not None:
        return role == SELLER
    words = _header_words(cell)
    return any(word in _SELLER_WORDS for word in words) and all(
        word in _SELLER_WORDS or word in _SELLER_QUALIFIERS for word in words
    )


def _combined_role(cell: str) -> str | None:
    """The role of a header that joins two ("Make/Model", "Brand / Model", "Marque et
    modèle", "Manufacturer & Part No."): its cells hold the maker and the part number
    together, read as the model (a brand written before a part number is read from it). A
    part that names no role ("Model / Price") makes it no combined header."""
    parts = [part for part in _COMBINED_SPLIT.split(cell) if part.strip()]
    if len(parts) < 2:
        return None
    roles = [_role_of(part) for part in parts]
    if None in roles or "model" not in roles:
        return None
    return "model"


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
    rows: Sequence[Sequence[str]] | None = None,
    is_brand: Callable[[str], bool] | None = None,
) -> ColumnChoice:
    """Detect columns from the header; explicit choices (name, number or letter) win. A
    column that names the seller (:data:`SELLER_ALIASES`) is no role: never the brand, never
    read as text. "Vendor" alone is both a seller's and a maker's word (an asset register's
    "Vendor: Cisco"): with the data ``rows`` and ``is_brand`` (a known maker or brand), a
    "Vendor" column is the brand when no other column is and most of its cells name makers
    (:func:`vendor_names_makers`).

    With the data ``rows``: a column found by its header as the model whose cells are all
    whole numbers is a line counter ("Item #": 1, 2, 3), not a part number; and when no column
    is the model, the other columns that hold words are read as more text (``extra_text``), so
    that a part-number column under a header not recognised is screened, not dropped.
    """
    chosen: dict[str, int | None] = {role: None for role in ROLES}
    overrides = {"brand": brand, "model": model, "description": description}
    for role, spec in overrides.items():
        if spec is not None:
            chosen[role] = resolve_column(spec, header)
    used = {index for index in chosen.values() if index is not None}
    # Who sells the product is not who makes it: a seller's column is never the brand, nor
    # text read with the product's (unless named on the command line).
    sellers = tuple(
        index for index, cell in enumerate(header) if index not in used and _names_seller(cell)
    )
    if chosen["brand"] is None and rows is not None and is_brand is not None:
        makers = [
            index
            for index in sellers
            if spelled_key(header[index]) in _MAKER_OR_SELLER
            and vendor_names_makers(_column(rows, index), is_brand)
        ]
        if makers and not any(_role_of(cell) == "brand" for cell in header):
            chosen["brand"] = makers[0]
            used.add(makers[0])
            sellers = tuple(index for index in sellers if index != makers[0])
    used.update(sellers)

    def counter(index: int, role: str) -> bool:
        return role == "model" and rows is not None and _whole_numbers_only(rows, index)

    for role in ROLES:
        if chosen[role] is not None:
            continue
        # The most specific spelling wins ("Description" over "Item"), then the leftmost.
        ranked = sorted(
            (rank, index)
            for index, cell in enumerate(header)
            if index not in used
            and _role_of(cell) == role
            and (rank := _alias_rank(cell, role)) is not None
            and not counter(index, role)
        )
        if ranked:
            chosen[role] = ranked[0][1]
            used.add(ranked[0][1])
    for index, cell in enumerate(header):
        if index in used:
            continue
        keys = (spelled_key(cell), header_key(cell))
        for hint, role in HEADER_HINTS:
            if any(hint in key for key in keys) and chosen[role] is None:
                if not counter(index, role):
                    chosen[role] = index
                    used.add(index)
                break
    if all(value is None for value in chosen.values()):
        return ColumnChoice(None, None, None, all_text=True, seller=sellers)
    extra: tuple[int, ...] = ()
    if chosen["model"] is None and rows is not None:
        extra = tuple(
            index for index in range(len(header)) if index not in used and _holds_words(rows, index)
        )
    return ColumnChoice(
        chosen["brand"], chosen["model"], chosen["description"], extra_text=extra, seller=sellers
    )


#: Seller headers that may name the maker instead ("Vendor: Cisco" in an asset register);
#: "Supplier", "Distributor" and the others always name who sells.
_MAKER_OR_SELLER = frozenset({"vendor", "vendorname"})
#: The share of a "Vendor" column's filled cells that must name known makers or brands for it
#: to be read as the brand (and at least :data:`VENDOR_MAKERS_MIN` of them).
VENDOR_MAKERS_SHARE = 0.6
VENDOR_MAKERS_MIN = 2


def vendor_column(header: Sequence[str], choice: ColumnChoice) -> int | None:
    """The seller column of ``choice`` headed "Vendor" ("Vendor Name"), if any: in an asset
    register (``provscan import``) the vendor of a device is its maker, not who sold it."""
    return next((i for i in choice.seller if spelled_key(header[i]) in _MAKER_OR_SELLER), None)


def vendor_names_makers(cells: Sequence[str], is_brand: Callable[[str], bool]) -> bool:
    """Whether a "Vendor" column's ``cells`` name makers (most of them known makers or
    brands) rather than distributors ("Anixter", "ADI Global" are no makers)."""
    distinct = {cell.strip() for cell in cells if cell.strip()}
    known = sum(1 for cell in distinct if is_brand(cell))
    return known >= VENDOR_MAKERS_MIN and known >= VENDOR_MAKERS_SHARE * len(distinct)


def _column(rows: Sequence[Sequence[str]], index: int) -> list[str]:
    return [cells[index].strip() for cells in rows if index < len(cells) and cells[index].strip()]


def _whole_numbers_only(rows: Sequence[Sequence[str]], index: int) -> bool:
    """Every filled cell of the column is a whole number (a line counter, a quantity)."""
    cells = _column(rows, index)
    return bool(cells) and all(_WHOLE_NUMBER.fullmatch(cell) for cell in cells)


def _holds_words(rows: Sequence[Sequence[str]], index: int) -> bool:
    """Some cell of the column has a letter: text, not only numbers, amounts or dates."""
    return any(_LETTER.search(cell) for cell in _column(rows, index))


def unread_model_warning(choice: ColumnChoice, header: Sequence[str]) -> str | None:
    """The warning for a list screened without a part-number column, whose other columns were
    read as text (``extra_text``); None when a model column was found or nothing was added."""
    if not choice.extra_text:
        return None
    read = [
        header[index] for index in (choice.description, *choice.extra_text) if index is not None
    ]
    if choice.description is not None and choice.description < len(header):
        # The part numbers may well be in the description ("Hikvision DS-2CD2143G0-I 4MP
        # dome"): said so, rather than asking for a column the list may not have.
        others = ", ".join(read[1:])
        return (
            f"no part-number column recognised; read {', '.join(read)} as text: part numbers "
            f"are read from the description column {header[choice.description]!r}"
            f"{f' (and {others})' if others else ''}; if another column holds them, name it "
            "with --model-col"
        )
    return (
        f"no part-number column recognised; read {', '.join(read)} as text; "
        "use --model-col to name it"
    )
