"""Vendor names and product lines a device prints about itself (issue 11).

Server strings, page titles, realms, banners, certificate names, ``sysDescr`` and discovery
names often carry the maker's own name ("TP-LINK HTTPD/1.0", "Crestron Webserver") or one of
its product lines ("FortiGate", "NetVanta"). :class:`NameFinder` finds them as whole runs of
words, with the controlled vocabulary (``vendors.yaml``: names, aliases, legal names and
``product_lines``) as its only source of names:

- a spelling matches only as whole words, compared case- and punctuation-insensitively
  ("TP-LINK" is the spelling "TP-Link", "FRITZ!Box" is "Fritz Box"), or glued into one word
  ("TPLINK") when the spelling joins its words with punctuation ("TP-Link", not "Check
  Point": "checkpoint" is a word); a name inside a longer word never matches ("ChaiServer"
  holds no "HP");
- two-letter spellings ("HP", "LG") match only when written in capitals;
- the names of vendors whose name is an ordinary word or a software name
  (``names_itself: false``) are never found this way (their product lines are: "iPhone"),
  nor an alias that begins another vendor's name ("Samsung", Hanwha Vision's alias, begins
  "Samsung Electronics"); glued spellings are read for vendor names, not product lines
  ("Back-UPS" glued is the word "backups");
- a name after a word that makes it a mention ("for", "with", "compatible") or before one
  ("Hikvision-compatible") is skipped, with every shorter name inside it: a title "Viewer for
  Prama Hikvision India cameras" is not Hikvision's; a two-letter alias ("DH") is never read.
  The words are data (``mention_words.yaml``, in :class:`Knowledge`); "by" is not among them:
  "camera by Hikvision" names the maker.

The finder says nothing about how much a name proves: attribution treats what it finds as a
shared signal (any maker's firmware can print any name), never as a maker-specific one.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

from provscan.knowledge.loader import Knowledge
from provscan.knowledge.vocabulary import spellings, vendor_key

#: Longest spelling tried, in words.
MAX_NAME_WORDS = 6
#: Spellings shorter than this (in letters and digits) match only when written in capitals.
MIN_ANY_CASE_LENGTH = 3
#: Spellings of a single character never match.
MIN_LENGTH = 2
#: Texts whose names are remembered (a fleet prints the same Server string, realm and title
#: on every device; issue 14); past the bound the oldest text is forgotten first. Texts longer
#: than ``FIND_MEMO_CHARS`` are read afresh each time.
FIND_MEMO_SIZE = 8_192
FIND_MEMO_CHARS = 512

_WORD = re.compile(r"[^\W_]+")
#: Words joined by punctuation ("TP-Link", "FRITZ!Box"): also written glued ("TPLINK").
_PUNCTUATION_JOINED = re.compile(r"[^\W_][^\w\s]+[^\W_]")


@dataclass(frozen=True)
class NameHit:
    """One vendor name or product line found in a text."""

    vendor: str
    written: str
    #: True when the words are one of the vendor's product lines, not its name.
    product_line: bool


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _ambiguous_aliases(knowledge: Knowledge) -> dict[str, set[str]]:
    """Aliases that are the first words of another vendor's name ("Samsung", an alias of
    Hanwha Vision for old Samsung Techwin cameras, begins "Samsung Electronics"): in free text
    they say nothing about which of the two made the device."""
    # every proper leading run of words of every spelling -> the vendors spelled that way
    # (one pass over the spellings instead of comparing each alias with each of them)
    leading: dict[tuple[str, ...], set[str]] = {}
    for vendor in knowledge.vendors.values():
        for spelling in spellings(vendor):
            words = tuple(w.casefold() for w in _words(spelling))
            for end in range(1, len(words)):
                leading.setdefault(words[:end], set()).add(vendor.name)
    result: dict[str, set[str]] = {}
    for vendor in knowledge.vendors.values():
        for alias in vendor.aliases:
            words = tuple(w.casefold() for w in _words(alias))
            if leading.get(words, set()) - {vendor.name}:
                result.setdefault(vendor.name, set()).add(alias)
    return result


class NameFinder:
    """Vocabulary names and product lines, found as whole words in free text."""

    def __init__(self, knowledge: Knowledge) -> None:
        #: lower-cased word tuple -> (vendor, is a product line)
        self._names: dict[tuple[str, ...], tuple[str, bool]] = {}
        longest = 1
        ambiguous = _ambiguous_aliases(knowledge)
        for vendor in knowledge.vendors.values():
            # a vendor whose name is an ordinary word is still named by its product lines
            entries = [
                (s, False)
                for s in spellings(vendor)
                if vendor.names_itself
                and s not in ambiguous.get(vendor.name, ())
                # a two-letter alias ("DH" for Dahua's model prefix) is ordinary text
                and (s == vendor.name or len(vendor_key(s)) >= MIN_ANY_CASE_LENGTH)
            ]
            entries += [(line, True) for line in vendor.product_lines]
            for spelling, is_line in entries:
                words = tuple(word.casefold() for word in _words(spelling))
                joined = "".join(words)
                if len(joined) < MIN_LENGTH:
                    continue
                keys = {words}
                # glued vendor names only: a glued product line is often a word ("Back-UPS")
                if not is_line and _PUNCTUATION_JOINED.search(spelling) and " " not in spelling:
                    keys.add((joined,))
                for key in keys:
                    self._names.setdefault(key, (vendor.name, is_line))
                longest = max(longest, len(words))
        self._longest = min(longest, MAX_NAME_WORDS)
        self._mention_before = knowledge.mention_words.before
        self._mention_after = knowledge.mention_words.after
        self._found: OrderedDict[str, tuple[NameHit, ...]] = OrderedDict()

    def find(self, text: str) -> list[NameHit]:
        """Every vendor named in ``text``, longest spelling first, in text order, once each
        (a pure function of the text and the knowledge: remembered within the bounds above)."""
        found = self._found.get(text)
        if found is None:
            found = tuple(self._find(text))
            if len(text) <= FIND_MEMO_CHARS and FIND_MEMO_SIZE > 0:
                if len(self._found) >= FIND_MEMO_SIZE:
                    self._found.popitem(last=False)  # the oldest text
                self._found[text] = found
        return list(found)

    def _find(self, text: str) -> list[NameHit]:
        words = _words(text)
        folded = [word.casefold() for word in words]
        taken: set[int] = set()
        hits: list[tuple[int, NameHit]] = []
        for length in range(min(self._longest, len(words)), 0, -1):
            for start in range(len(words) - length + 1):
                span = range(start, start + length)
                if taken.intersection(span):
                    continue
                found = self._names.get(tuple(folded[start : start + length]))
                if found is None:
                    continue
                written = " ".join(words[start : start + length])
                letters = "".join(words[start : start + length])
                if len(letters) < MIN_ANY_CASE_LENGTH and not letters.isupper():
                    continue
                taken.update(span)  # a mention covers the name's words too
                mentioned = (start > 0 and folded[start - 1] in self._mention_before) or (
                    start + length < len(folded) and folded[start + length] in self._mention_after
                )
                if mentioned:
                    continue
                vendor, is_line = found
                hits.append((start, NameHit(vendor, written, is_line)))
        seen: set[str] = set()
        result: list[NameHit] = []
        for _, hit in sorted(hits, key=lambda item: item[0]):
            if hit.vendor not in seen:
                seen.add(hit.vendor)
                result.append(hit)
        return result
