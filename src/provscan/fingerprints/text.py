"""Normalising real-world product strings and cutting them into candidates."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

#: Unicode dashes and minus signs people paste from datasheets, folded to '-'.
_DASHES = dict.fromkeys(
    map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-"
)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_SPLIT = re.compile(r"[\s,;|]+")
_EDGE_PUNCTUATION = "\"'`.:!?*[]{}<>"
#: Longest run of adjacent tokens tried as one model number ("SS 3530 MF FACE W").
MAX_WINDOW = 5
#: A brand glued to the model with '-', '_' or '/' ("Huawei-S5720-28X", "Huawei_AR2220",
#: "HUAWEI/AR6120"). Three characters at least: two-letter prefixes are part of model numbers
#: (Dahua's "DH-...").
_GLUED = re.compile(r"(?P<brand>[^\W\d_][\w&+.]{2,}?)[-_/](?P<rest>[^\W_].*)")
#: Trailing lens focal length glued to a part number: "-2.8mm", "(2.8MM)", "/4mm", "_6MM".
_LENS_SUFFIX = re.compile(r"[-_/(]\d{1,2}(?:[.,]\d{1,2})?\s?mm\)?$", re.IGNORECASE)
#: Trailing housing colour glued to a part number: "-W", "-WHITE", "(Black)", "/GRY".
_COLOUR_SUFFIX = re.compile(
    r"[-_/(](?:white|black|grey|gray|silver|wht|blk|gry|w|b)\)?$", re.IGNORECASE
)
#: Brackets around, or after, a part number: "(DS-2CD2143G0-I)", "Camera(DS-2CD2143G0-I)".
_WRAPPED = re.compile(r"[(\[](?P<inner>[^()\[\]]+)[)\]]")
#: A field label glued to the part number: "P/N:S5735-L24T4S-A1", "PN#DS-2CD2143G0-I",
#: "Model:IPC-HFW2431S-S-S2". The label has no digit.
_LABELLED = re.compile(r"(?P<label>[^\W\d_][^\W\d]{0,7}(?:/[^\W\d_]{1,3})?)[:#](?P<rest>.*\d.*)")
#: A region or option code after '#' at the end of a part number, the catalogue convention of
#: regional variants and factory options ("DS-7316HQI-K4#USA", HP's "#ABA"): one to four
#: letters or digits. A label before '#' ("PN#...") is :data:`_LABELLED`'s.
_OPTION_SUFFIX = re.compile(r"#[A-Za-z0-9]{1,4}$")
#: A quantity glued after the part number: "IPC-HDW1230T1-S5*4", "DS-2CD2143G0-I×2".
_QUANTITY = re.compile(r"[*\u00d7]\d{1,4}$")
#: The count before a kit component after a slash: the "4-" of "KIT/NVR.../4-HFW1320SP".
_KIT_COUNT = re.compile(r"^\d{1,2}[-xX*\u00d7](?=[^\W\d_])")
#: A kit's part number before its components: "KIT/...", "EZIP-KIT/...", "Amcrest-KIT/...".
_KIT_HEAD = re.compile(r"(?:^|[-_ ])kit$", re.IGNORECASE)


def normalise(text: str) -> str:
    """NFKC, unicode dashes folded to '-', invisible characters dropped, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text).translate(_DASHES).translate(_INVISIBLE)
    return " ".join(folded.split())


def _strip_token(token: str) -> str:
    token = token.strip(_EDGE_PUNCTUATION)
    # A bracket is part of a model ("IPC-D140H(C)") only when it is balanced.
    while token.endswith(")") and token.count("(") < token.count(")"):
        token = token[:-1]
    while token.startswith("(") and token.count("(") > token.count(")"):
        token = token[1:]
    return token.strip(_EDGE_PUNCTUATION)


def tokens(text: str) -> list[str]:
    """The words of a normalised string, edge punctuation removed."""
    return [t for t in (_strip_token(raw) for raw in _SPLIT.split(normalise(text))) if t]


def split_glued(words: Sequence[str], is_brand: Callable[[str], bool]) -> list[str]:
    """Words with a brand glued to the model split off: ``Huawei-S5720-28X`` -> ``Huawei``,
    ``S5720-28X``. Only a prefix of three characters or more that ``is_brand`` knows is split
    (``DS-2CD...`` and Dahua's ``DH-...`` stay whole), and never a word that is itself a brand
    spelling (``Hik-Vision``)."""
    out: list[str] = []
    for word in words:
        match = _GLUED.fullmatch(word)
        if match is not None and not is_brand(word) and is_brand(match["brand"]):
            out.extend((match["brand"], match["rest"]))
        else:
            out.append(word)
    return out


def variants(text: str) -> list[str]:
    """Other readings of one part number: brackets removed, lens and colour suffixes cut.

    ``(DS-2CD2143G0-I)`` -> ``DS-2CD2143G0-I``; ``Camera(DS-2CD2143G0-I)`` -> the bracketed
    number and the word before it; ``DS-2CD2143G0-I-2.8mm`` -> ``DS-2CD2143G0-I``; a field
    label, a glued quantity and what follows a slash cut (``P/N:S5735-L24T4S-A1``,
    ``IPC-HDW1230T1-S5*4``, ``S5735-L24T4S-A1/24-port``) and a region or option code after
    '#' (``DS-7316HQI-K4#USA``). The reading itself is not among them; a kit's components
    are :func:`kit_components`.
    """
    found: list[str] = []

    def add(value: str) -> None:
        value = value.strip(_EDGE_PUNCTUATION + "-_/ ")
        if value and value != text and value not in found and any(c.isdigit() for c in value):
            found.append(value)

    for match in _WRAPPED.finditer(text):
        add(match["inner"])
        before = text[: match.start()]
        if before and not before.endswith(" "):
            add(before)
    labelled = _LABELLED.fullmatch(text)
    if labelled is not None:
        add(labelled["rest"])
    add(_QUANTITY.sub("", text))
    if "/" in text:
        # Words glued after a slash: "S5735-L24T4S-A1/24-port" (a grammar still has to match
        # the whole of what stands before it).
        add(text.split("/", 1)[0])
    stripped = text
    for _ in range(2):
        cut = _LENS_SUFFIX.sub("", stripped)
        cut = _COLOUR_SUFFIX.sub("", cut)
        cut = _OPTION_SUFFIX.sub("", cut)
        if cut == stripped:
            break
        stripped = cut
        add(stripped)
    return found


def kit_components(text: str) -> list[str]:
    """The components of a kit written as one part number: after "KIT/", or after a slash
    with a count glued before them (``KIT/NVR4104HS-P-4KS2-2T/4-HFW1320SP-0360B`` ->
    ``NVR4104HS-P-4KS2-2T``, ``HFW1320SP-0360B``). Other words after a slash are not
    components: an option or spare-part code (``BF4CP-XL/M0508``) is no model of the row.
    What stands before the first slash is a reading of :func:`variants`, not a component."""
    if "/" not in text:
        return []
    head, *rest = text.split("/")
    kit = _KIT_HEAD.search(head) is not None
    found: list[str] = []
    for component in rest:
        counted = _KIT_COUNT.sub("", component).strip(_EDGE_PUNCTUATION + "-_ ")
        if (
            (kit or counted != component)
            and any(c.isdigit() for c in counted)
            and counted not in found
        ):
            found.append(counted)
    return found


@dataclass(frozen=True)
class Candidate:
    """A run of adjacent tokens that may be a model number."""

    text: str
    start: int
    length: int
    #: True when the words were joined with '-' rather than a space (a reconstruction).
    dash_joined: bool = False
    #: True when brackets or a lens/colour suffix were cut from the written token.
    trimmed: bool = False
    #: True for one component of a kit written as one token (:func:`kit_components`): it
    #: ranks after a reading of the whole token or of what stands before its first slash.
    component: bool = False


def candidates(words: Sequence[str], max_window: int = MAX_WINDOW) -> Iterator[Candidate]:
    """Every run of 1..max_window tokens that contains a digit, joined by a space and by '-'."""
    for start in range(len(words)):
        for length in range(1, min(max_window, len(words) - start) + 1):
            window = words[start : start + length]
            if not any(character.isdigit() for word in window for character in word):
                continue
            yield Candidate(" ".join(window), start, length)
            if length == 1:
                for variant in variants(window[0]):
                    yield Candidate(variant, start, length, trimmed=True)
                for component in kit_components(window[0]):
                    yield Candidate(component, start, length, trimmed=True, component=True)
            if length > 1 and length <= 3:
                # "DS 2CD2143G0 I" as typed from a label -> "DS-2CD2143G0-I"
                yield Candidate("-".join(window), start, length, dash_joined=True)


def looks_like_model(word: str) -> bool:
    """A token with letters and digits, at least 4 characters: worth naming when nothing matched."""
    return (
        len(word) >= 4
        and any(c.isdigit() for c in word)
        and any(c.isalpha() for c in word)
        and not re.fullmatch(r"\d+(?:[.,]\d+)?(?:MM|MP|TB|GB|M|K|CH|P|W|V)?", word, re.IGNORECASE)
    )
