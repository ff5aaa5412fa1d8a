"""Finding vendor names in product strings: exact spellings first, then typo-tolerant matching.

Fuzzy matching uses rapidfuzz's Damerau-Levenshtein distance on the vocabulary's matching keys,
with limits chosen so that no confident false positive comes out of it: short words are never
matched fuzzily ("Axis" is not "Annke"), a misspelling keeps the first letter (typing errors
rarely change it, while other names two edits away often do: "ThinkVision" is not
"Hikvision", "Exchange" not "Lechange", "AirWatch" not "HiWatch"), the best candidate must be
unique, and words that are ordinary product vocabulary are skipped. A misspelt brand of a
restricted family never establishes the maker alone (``identify``: it needs the family's
model number next to it, else the row is for review).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from provscan.knowledge.loader import Knowledge, vendor_key

#: Longest vendor spelling, in tokens, tried as an exact n-gram ("Hangzhou Hikvision Digital …").
MAX_BRAND_TOKENS = 6
#: Spellings whose canonical vendor is remembered.
CANONICAL_CACHE_SIZE = 65_536
#: Words shorter than this are only matched exactly.
MIN_FUZZY_LENGTH = 5
#: Edits allowed: one for 5-7 characters, two from 8 characters.
LONG_WORD_LENGTH = 8
#: Product vocabulary that must never be read as a misspelt vendor name.
PRODUCT_WORDS = frozenset(
    {
        "camera",
        "cameras",
        "bullet",
        "turret",
        "dome",
        "domes",
        "network",
        "video",
        "recorder",
        "switch",
        "bracket",
        "mount",
        "license",
        "licence",
        "system",
        "outdoor",
        "indoor",
        "wireless",
        "doorbell",
        "station",
        "reader",
        "control",
        "access",
        "storage",
        "thermal",
        "monitor",
        "cable",
        "power",
        "supply",
        "adapter",
        "module",
        "series",
        "starter",
        "security",
        "lens",
        "fixed",
        "zoom",
        "motorized",
        "varifocal",
        "mini",
        "pro",
        "kit",
        "junction",
        "box",
        "panel",
        "hybrid",
        "analog",
        "digital",
        "color",
        "colour",
        "night",
        "vision",
        "smart",
        "audio",
        "alarm",
        "speaker",
        "intercom",
        "door",
        "gate",
        "wall",
        "ceiling",
        "pole",
        "corner",
        "other",
        "general",
        "generic",
        "unknown",
        "various",
        "misc",
        "spare",
        "parts",
        "service",
        "install",
        "installation",
        "labour",
        "labor",
        # words around a part number that are no label ("IP Camera(IPC-...)", "WiFi cam")
        "ip",
        "wifi",
        "hd",
        "ir",
        "usb",
        # network equipment (issue 11): kinds and Huawei/ZTE line names, never a label brand
        "ont",
        "onu",
        "olt",
        "gpon",
        "epon",
        "server",
        "rack",
        "gateway",
        "firewall",
        "repeater",
        "radio",
        "port",
        "ports",
        "gigabit",
        "managed",
        "unmanaged",
        "poe",
        "layer",
        "core",
        "echolife",
        "fusionserver",
        "cloudengine",
        "netengine",
        "smartax",
        "optixstar",
        "quidway",
        "taishan",
    }
)

#: Words and two-word phrases that say what kind of product a row is. Kinds are the device
#: types of the knowledge data (relations.yaml ``device_types``: camera, nvr, access_control…)
#: plus kinds that no relabel relation covers (building systems). A relation whose scope names
#: none of the kinds a product is said to be does not apply to it: a Honeywell thermostat is
#: not one of Honeywell's Hikvision-made video series. Ambiguous words ("controller", "sensor",
#: "meter", "thermal", "kit", "switch", "monitor") are left out: they name no kind.
PRODUCT_KINDS: dict[str, str] = {
    # video surveillance
    "camera": "camera",
    "cameras": "camera",
    "cam": "camera",
    "dome": "camera",
    "domes": "camera",
    "bullet": "camera",
    "turret": "camera",
    "eyeball": "camera",
    "fisheye": "camera",
    "cctv": "camera",
    "ipc": "camera",
    "webcam": "camera",
    "ptz": "ptz",
    "speed dome": "ptz",
    "nvr": "nvr",
    "nvrs": "nvr",
    "dvr": "dvr",
    "dvrs": "dvr",
    "xvr": "dvr",
    "hvr": "dvr",
    "recorder": "recorder",
    "recorders": "recorder",
    "doorbell": "doorbell",
    "encoder": "encoder",
    # access control, intercom, intrusion
    "access control": "access_control",
    "access controller": "access_control",
    "door controller": "access_control",
    "card reader": "access_control",
    "turnstile": "access_control",
    "intercom": "intercom",
    "door station": "intercom",
    "indoor station": "intercom",
    "door phone": "intercom",
    "alarm panel": "alarm",
    "alarm hub": "alarm",
    "intrusion": "alarm",
    # building systems: no relabel relation covers these
    "thermostat": "thermostat",
    "thermostats": "thermostat",
    "tstat": "thermostat",
    "t-stat": "thermostat",
    "hvac": "hvac",
    "heat pump": "hvac",
    "furnace": "hvac",
    "boiler": "hvac",
    "chiller": "hvac",
    "air handler": "hvac",
    "ahu": "hvac",
    "rooftop unit": "hvac",
    "fan coil": "hvac",
    "damper": "hvac",
    "actuator": "hvac",
    "valve": "hvac",
    "vav": "hvac",
    "humidifier": "hvac",
    "dehumidifier": "hvac",
    "ventilator": "hvac",
    "lighting": "lighting",
    "luminaire": "lighting",
    "troffer": "lighting",
    "light fixture": "lighting",
    "light bulb": "lighting",
    "dimmer": "lighting",
    "ballast": "lighting",
    "led driver": "lighting",
    "bacnet": "building_control",
    "modbus": "building_control",
    "knx": "building_control",
    "building automation": "building_control",
    "automation station": "building_control",
    "room controller": "building_control",
    "zone controller": "building_control",
    "plant controller": "building_control",
    "ddc controller": "building_control",
    "co2 sensor": "building_sensor",
    "temperature sensor": "building_sensor",
    "humidity sensor": "building_sensor",
    "occupancy sensor": "building_sensor",
    "pressure sensor": "building_sensor",
    "energy meter": "meter",
    "power meter": "meter",
    "submeter": "meter",
    "smoke detector": "fire",
    "heat detector": "fire",
    "gas detector": "fire",
    "fire alarm": "fire",
    "fire panel": "fire",
    "sprinkler": "fire",
    "printer": "printer",
    "router": "router",
    "modem": "router",
    "ip phone": "phone",
}
#: Single words of PRODUCT_KINDS: product vocabulary, never a label brand.
KIND_WORDS = frozenset(phrase for phrase in PRODUCT_KINDS if " " not in phrase)

#: Product words a brand is sometimes written glued to, without a separator ("Wyzecam").
GLUED_KIND_SUFFIXES = ("cameras", "camera", "cams", "cam", "doorbell", "nvr", "dvr")
#: Shortest brand prefix split off a glued product word.
MIN_GLUED_BRAND_CHARS = 3


def split_glued_kind(word: str, is_brand: Callable[[str], bool]) -> list[str]:
    """``Wyzecam`` -> ``Wyze``, ``cam`` and ``Huawei.S5735-L24T4S-A`` -> ``Huawei``,
    ``S5735-L24T4S-A`` when the prefix is a vocabulary brand and the word itself is not one;
    any other word unchanged (one-element list)."""
    if "." in word and not is_brand(word):
        prefix, rest = word.split(".", 1)
        if any(c.isdigit() for c in rest) and any(c.isalpha() for c in rest) and is_brand(prefix):
            return [prefix, rest]
    lowered = word.lower()
    for suffix in GLUED_KIND_SUFFIXES:
        prefix = word[: len(word) - len(suffix)]
        if (
            lowered.endswith(suffix)
            and len(prefix) >= MIN_GLUED_BRAND_CHARS
            and prefix.isalpha()
            and not is_brand(word)
            and is_brand(prefix)
        ):
            return [prefix, word[len(prefix) :]]
    return [word]


def product_kinds(words: Sequence[str]) -> frozenset[str]:
    """The kinds of product a row's words name (empty: the words do not say)."""
    lowered = [word.lower() for word in words]
    kinds = {PRODUCT_KINDS[word] for word in lowered if word in PRODUCT_KINDS}
    for first, second in itertools.pairwise(lowered):
        kind = PRODUCT_KINDS.get(f"{first} {second}")
        if kind is not None:
            kinds.add(kind)
    return frozenset(kinds)


@dataclass(frozen=True)
class BrandMatch:
    vendor: str
    written: str
    exact: bool
    start: int = 0
    length: int = 1


class BrandFinder:
    """Vendor names from the controlled vocabulary, found in text or in a brand cell."""

    def __init__(self, knowledge: Knowledge) -> None:
        self._knowledge = knowledge
        fuzzy: dict[str, str] = {}
        max_tokens = 1
        for vendor in knowledge.vendors.values():
            for spelling in [vendor.name, *vendor.aliases, *vendor.legal_names]:
                max_tokens = max(max_tokens, len(spelling.split()))
            for spelling in [vendor.name, *vendor.aliases]:
                key = vendor_key(spelling)
                if len(key) >= MIN_FUZZY_LENGTH:
                    fuzzy.setdefault(key, vendor.name)
        self._fuzzy_keys = fuzzy
        #: The keys by their first letter: a misspelling is compared with those only.
        self._fuzzy_choices: dict[str, list[str]] = {}
        for key in fuzzy:
            self._fuzzy_choices.setdefault(key[0], []).append(key)
        self._max_tokens = min(max_tokens, MAX_BRAND_TOKENS)
        #: Spellings already looked up: the same words come back on row after row.
        self._canonical = lru_cache(maxsize=CANONICAL_CACHE_SIZE)(self._vendor_named)

    def _vendor_named(self, text: str) -> str | None:
        """The vendor a spelling or one of its product lines ("FortiGate") names."""
        return self._knowledge.canonical_vendor(text) or self._knowledge.vendor_of_product_line(
            text
        )

    def exact(self, text: str) -> str | None:
        return self._canonical(text)

    def find_exact(self, words: Sequence[str]) -> list[BrandMatch]:
        """Vendor spellings that are whole runs of words, longest first, not overlapping."""
        found: list[BrandMatch] = []
        taken: set[int] = set()
        for length in range(min(self._max_tokens, len(words)), 0, -1):
            for start in range(len(words) - length + 1):
                span = set(range(start, start + length))
                if span & taken:
                    continue
                written = " ".join(words[start : start + length])
                vendor = self._canonical(written)
                if vendor is not None:
                    found.append(BrandMatch(vendor, written, True, start, length))
                    taken |= span
        return sorted(found, key=lambda match: match.start)

    def fuzzy(self, word: str) -> str | None:
        """The one vendor a misspelt word most likely names, or None when unsure."""
        key = vendor_key(word)
        if (
            len(key) < MIN_FUZZY_LENGTH
            or not key.isalpha()
            or key in PRODUCT_WORDS
            or word.lower() in PRODUCT_WORDS
            or word.lower() in KIND_WORDS
        ):
            return None
        allowed = 1 if len(key) < LONG_WORD_LENGTH else 2
        results = process.extract(
            key,
            self._fuzzy_choices.get(key[0], []),
            scorer=DamerauLevenshtein.distance,
            score_cutoff=allowed,
            limit=5,
        )
        if not results:
            return None
        best_distance = min(distance for _, distance, _ in results)
        vendors = {
            self._fuzzy_keys[choice] for choice, distance, _ in results if distance == best_distance
        }
        if len(vendors) != 1:
            return None
        return vendors.pop()

    def find_fuzzy(self, words: Sequence[str], skip: set[int]) -> list[BrandMatch]:
        found = []
        for index, word in enumerate(words):
            if index in skip:
                continue
            vendor = self.fuzzy(word)
            if vendor is not None:
                found.append(BrandMatch(vendor, word, False, index, 1))
        return found
