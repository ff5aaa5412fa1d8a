"""What counts as a source in a fingerprint rule's ``source`` text (docs/knowledge-sources.md).

A rule's ``source`` is one line of citations separated by ``;`` (a ``;`` inside parentheses
belongs to its citation). Each citation must name something a reader can find again: a URL,
a repository or file path, a registry or dataset by name (Recog, nmap, Greenbone, nuclei,
IANA, IEEE, an RFC...), public code by its search-index id, or a key of the list in
docs/knowledge-sources.md (``S71``, ``X9``). A cross-reference to provscan's own data
(``vendors.yaml``, another rule) or to the project's unpublished research notes
(``knowledge: fingerprint-signals §3``) is allowed beside them but is no public source, and
free words ("my notes", "project brief", "vendor naming") are no source at all.

:func:`read_sources` returns the independent public sources a text cites (one per citation,
plus each ``S``/``X`` key) and the citations that look like no source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

#: Registries, datasets, scanners and standards cited by name (lower case, matched as words).
NAMED_SOURCES = (
    "recog",
    "nmap",
    "greenbone",
    "nuclei",
    "nuclei-templates",
    "iana",
    "ieee",
    "wireshark",
    "whatweb",
    "ztag",
    "zmap",
    "house of keys",
    "censys",
    "shodan",
    "onvif",
    "upnp",
    "whatwg",
    "ndaa",
    "fcc",
    "cvelistv5",
    "nvd",
    "wikipedia",
    "gns3",
    "noc project",
)
_NAMED = re.compile(
    r"\b(" + "|".join(re.escape(name) for name in NAMED_SOURCES) + r")\b", re.IGNORECASE
)
_URL = re.compile(r"https?://([^\s/)]+)(/[^\s)\"',]*)?", re.IGNORECASE)
#: A key of docs/knowledge-sources.md (S1..S95, X1..).
_DOC_KEY = re.compile(r"\b([SX]\d{1,3})\b")
_STANDARD = re.compile(r"\b(RFC\s?\d+|CVE-\d{4}-\d+|ISO(?:/IEC)?\s?\d+)\b", re.IGNORECASE)
#: owner/name, or a path with a directory: ``rroller/dahua``, ``xml/http_servers.xml``.
_REPO_PATH = re.compile(r"(?<![\w./@-])([A-Za-z0-9][\w.-]*/[\w.-]+)")
_FILE = re.compile(
    r"\b[\w-]+\.(?:xml|py|yaml|yml|lua|txt|json|js|ts|go|c|h|md|nasl|sc|tsv|csv|java|rs|rb|php|cgi)\b"
)
#: Public code found by the project's code search: named by its index id.
_CODE_ID = re.compile(r"\b(?:public github code|ids?)\b[^;]*?\b(\d{6,})\b", re.IGNORECASE)
#: Public code whose repository the search index could not name (docs: a source type).
_CODE = re.compile(r"\bpublic github code\b", re.IGNORECASE)
#: A web site named by its domain ("support.huawei.com").
_DOMAIN = re.compile(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|gov|edu|cn|de|uk)\b")
#: Manuals, guides and datasheets cited by title.
_DOCUMENT = re.compile(
    r"\b(manual|developer guide|datasheet|data sheet|user guide|advisory|standard|"
    r"documentation|readme|support notes|wiki|catalog|catalogue|brochure|annual report|patch)\b",
    re.IGNORECASE,
)
#: The project's own data and unpublished notes: allowed beside sources, never one.
_INTERNAL = re.compile(
    r"(\bknowledge:|fingerprint-signals|policy-families-oem-cve|\b[\w/]+\.yaml\b|"
    r"\bthe maker name of\b|\bsame (?:rule|source) as\b)",
    re.IGNORECASE,
)
#: Files of provscan's own data directory: a path naming one is a cross-reference.
_OWN_DATA = re.compile(r"(?:^|/)(?:fingerprints/)?[\w-]+\.yaml$")


@dataclass(frozen=True)
class SourceReading:
    """What one ``source`` text cites."""

    #: One key per independent public source of a maker claim (a citation, an S/X key): a
    #: web site, a repository, a registry or a document, each once however often it is cited.
    public: frozenset[str]
    #: Citations that name nothing a reader could find again.
    not_sources: tuple[str, ...]
    #: Bare standard, RFC or CVE ids ("RFC 2616", "CVE-2099-0001"): a reader can find them,
    #: so they are no free words, but they say nothing about who makes a product, so they are
    #: no source of a maker claim (not in ``public``).
    standards: frozenset[str] = frozenset()


def split_citations(text: str) -> list[str]:
    """The ``;``-separated citations of ``text`` (``;`` inside brackets does not split)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}" and depth:
            depth -= 1
        if char == ";" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


#: Repositories, owners and web sites that are a named source under another name: one
#: source however a rule cites it (Recog by its name, its repository or a URL into it).
_SAME_REPO = {
    "rapid7/recog": "named:recog",
    "nmap/nmap": "named:nmap",
    "projectdiscovery/nuclei-templates": "named:nuclei",
    "projectdiscovery/nuclei": "named:nuclei",
    "wireshark/wireshark": "named:wireshark",
    "urbanadventurer/whatweb": "named:whatweb",
    "cveproject/cvelistv5": "named:cvelistv5",
}
_SAME_OWNER = {"greenbone": "named:greenbone"}
_SAME_SITE = {
    "nmap.org": "named:nmap",
    "svn.nmap.org": "named:nmap",
    "iana.org": "named:iana",
    "standards-oui.ieee.org": "named:ieee",
    "regauth.standards.ieee.org": "named:ieee",
    "wireshark.org": "named:wireshark",
    "gitlab.com/wireshark": "named:wireshark",
    "nvd.nist.gov": "named:nvd",
}
_SAME_NAME = {"nuclei-templates": "nuclei"}
_GITHUB_HOSTS = ("github.com", "raw.githubusercontent.com")


def _repo_key(path: str) -> str:
    """``repo:owner/name``, or the named source that repository is."""
    owner, _, name = path.lower().partition("/")
    repo = f"{owner}/{name.partition('/')[0]}"
    if repo.endswith(".git"):
        repo = repo[:-4]
    return _SAME_REPO.get(repo) or _SAME_OWNER.get(owner) or f"repo:{repo}"


#: Hosts whose sub-domains are different publishers (``a.github.io`` is not ``b.github.io``).
_SHARED_HOSTING = ("github.io", "gitlab.io", "blogspot.com", "wordpress.com", "medium.com")
#: Second-level labels under a country code that are not a publisher (``gov.uk``, ``com.au``).
_PUBLIC_SECOND_LEVEL = frozenset({"co", "com", "gov", "org", "net", "ac", "edu", "or", "ne", "go"})


def site_key(host: str) -> str:
    """``site:<publisher domain>``: two pages of one web site are one source (decision in
    docs/knowledge-sources.md §3). ``docs.fcc.gov`` and ``www.fcc.gov`` are ``fcc.gov``;
    ``a.github.io`` and ``b.github.io`` stay apart; ``bbc.co.uk`` keeps three labels."""
    host = host.lower().rstrip(".").removeprefix("www.").partition(":")[0]
    if host in _SAME_SITE:
        return _SAME_SITE[host]
    labels = host.split(".")
    keep = 2
    if any(host.endswith("." + shared) for shared in _SHARED_HOSTING) or (
        len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _PUBLIC_SECOND_LEVEL
    ):
        keep = 3
    domain = ".".join(labels[-keep:])
    return _SAME_SITE.get(domain) or f"site:{domain}"


#: Top-level names reserved for examples and tests (RFC 2606, RFC 6761): nothing to find
#: there, so ``https://exampleton.example/...`` is no source.
_RESERVED_TLDS = ("example", "test", "invalid", "localhost", "local")


def _reserved(host: str) -> bool:
    return host.lower().rstrip(".").partition(":")[0].rpartition(".")[2] in _RESERVED_TLDS


def _url_key(host: str, path: str) -> str:
    host = host.lower().removeprefix("www.")
    parts = [part for part in path.lower().split("/") if part]
    if host in _GITHUB_HOSTS and len(parts) >= 2:
        return _repo_key(f"{parts[0]}/{parts[1]}")
    return site_key(host)


def _primary(citation: str) -> str | None:
    """The key of the public source a citation names, or None. One source has one key
    however it is cited (a URL into a repository is that repository; Recog's repository is
    Recog), and public code named by its search id is that code, not a scanner or registry
    its description mentions."""
    if url := _URL.search(citation):
        if _reserved(url.group(1)):
            return None
        return _url_key(url.group(1), url.group(2) or "")
    if code := _CODE_ID.search(citation):
        return f"code:{code.group(1)}"
    if named := _NAMED.search(citation):
        name = named.group(1).lower()
        return f"named:{_SAME_NAME.get(name, name)}"
    if standard := _STANDARD.search(citation):
        return f"standard:{standard.group(1).upper().replace(' ', '')}"
    for path in _REPO_PATH.findall(citation):
        host = path.partition("/")[0]
        if _DOMAIN.fullmatch(host.lower()):  # "docs.fcc.gov/public/...": a web site
            return site_key(host)
        if not _OWN_DATA.search(path):
            return _repo_key(path)
    if _CODE.search(citation):
        return f"code:{' '.join(citation.lower().split())}"
    for found in _FILE.finditer(citation):
        if not _OWN_DATA.search(found.group(0)):
            return f"file:{found.group(0).lower()}"
    if (domain := _DOMAIN.search(citation)) and not _reserved(domain.group(0)):
        return site_key(domain.group(0))
    if _DOCUMENT.search(citation):
        return f"document:{' '.join(citation.lower().split())}"
    return None


def read_sources(text: str | Sequence[str]) -> SourceReading:
    """What a ``source`` text, or an entry's list of ``sources``, cites: the one definition
    of a source every check of the knowledge uses. In a list each item is one citation
    however it is worded: an item that names a source anywhere (a URL, a repository, a key)
    is a source, its other words describe it; ``;`` inside an item separates further
    sources of it."""
    items = [text] if isinstance(text, str) else list(text)
    public: set[str] = set()
    standards: set[str] = set()
    not_sources: list[str] = []
    for item in items:
        citations = split_citations(item)
        # A rule's source text: every citation stands alone. A list item: as a whole.
        groups = [[citation] for citation in citations] if isinstance(text, str) else [citations]
        for group in groups:
            found: set[str] = set()
            internal = False
            for citation in group:
                # A citation that names list keys ("S70 (Achelics/...)") is those sources:
                # the rest of it describes them and is not a second source.
                keys = {f"key:{key}" for key in _DOC_KEY.findall(citation)}
                primary = _primary(citation)
                if primary is not None and not keys:
                    keys.add(primary)
                found |= keys
                internal = internal or bool(_INTERNAL.search(citation))
            if not found and not internal and group:
                not_sources.append("; ".join(group))
            standards |= {key for key in found if key.startswith(_STANDARD_KEY)}
            public |= {key for key in found if not key.startswith(_STANDARD_KEY)}
    return SourceReading(frozenset(public), tuple(not_sources), frozenset(standards))


_STANDARD_KEY = "standard:"


def claim_source_problems(
    sources: str | Sequence[str],
    *,
    restricting: bool,
    confidence: str = "high",
    supporting: Sequence[str] = (),
) -> list[str]:
    """What is wrong with the sources of an entry that can lead to a restricted maker (a
    relation, a family or member, a vendor's spellings, a model grammar) or of a policy
    measure: each citation must name a source, at least one must be public, and an entry
    that by itself makes a brand restricted (``restricting``) needs
    :data:`MIN_RESTRICTED_SOURCES` independent public sources unless its confidence is low
    (a low entry may rest on provscan's own notes, never on free words).
    ``supporting``: sources the entry rests on cited elsewhere (the measures naming a family,
    for the family's parent): they count, but their wording is checked where they stand."""
    reading = read_sources(sources)
    if supporting:
        own = [sources] if isinstance(sources, str) else list(sources)
        reading = SourceReading(
            read_sources([*own, *supporting]).public, reading.not_sources, reading.standards
        )
    messages = [
        f"source {citation[:80]!r} names no source: cite a URL, a repository and path, or a "
        "registry or document by title a reader can find (docs/knowledge-sources.md)"
        for citation in reading.not_sources
    ]
    count = len(reading.public)
    if not count and confidence != "low":
        messages.append(
            "cites no public source (a bare standard, RFC or CVE id, or provscan's own notes, "
            "is none)"
        )
    elif restricting and confidence != "low" and count < MIN_RESTRICTED_SOURCES:
        messages.append(
            f"makes a brand restricted but cites {count} independent public source: it needs "
            f"{MIN_RESTRICTED_SOURCES} (two pages of one site or one repository are one), or "
            "confidence: low"
        )
    return messages


#: Independent public sources a rule needs when it can establish a restricted maker alone.
MIN_RESTRICTED_SOURCES = 2
#: Shortfall reasons (the keys of :data:`SOURCE_SHORTFALLS`' values).
NOT_A_SOURCE = "not-a-source"
FEW_SOURCES = "few-sources"
NO_NEGATIVE = "no-negative"
#: The bundled rules that did not meet these rules when they were first enforced
#: (2026-12, measured with `provscan knowledge verify`): rule id -> the rules it falls short
#: of. This is a to-do list for the knowledge maintainers, not an exemption to grow: a rule
#: listed here for a reason it no longer has is reported ("remove it from the list"), a new
#: rule is never added, and docs/knowledge-sources.md says so. Fix a rule (a second public
#: source, a look-alike negative, a real citation for free words) and delete its line.
#: Emptied 2026-12: every listed rule was re-sourced, or made unable to establish a restricted
#: maker alone (``specificity.maker_specific: false``) where no second public source was found.
SOURCE_SHORTFALLS: dict[str, frozenset[str]] = {}


#: References an auditor outside the project cannot follow: provscan's unpublished research
#: notes (``knowledge: fingerprint-signals §2``, ``knowledge key S84``) and public code named
#: only by a search-index id or with its repository not named. Allowed beside a checkable
#: citation; a source made of nothing else is reported as a warning by ``knowledge verify``.
_SECTIONS = r"(?:\s*§\s*\d+(?:\.\d+)*(?:\s*[/,]\s*§?\s*\d+(?:\.\d+)*)*)?"
_NOTE_REFERENCE = re.compile(
    r"\bknowledge\s+keys?\s+[SX]\d{1,3}\b"
    r"|\bknowledge:\s*(?:[\w-]+" + _SECTIONS + r")?"
    r"|\b(?:fingerprint-signals|policy-families-oem-cve|policy-updates-[\w-]+)\b"
    + _SECTIONS
    + r"|§\s*\d+(?:\.\d+)*",
    re.IGNORECASE,
)
_UNNAMED_CODE = re.compile(
    r"\bpublic github code(?:\s+excerpts?)?(?:[\s,]*(?:ids?\s*)?\d{6,})*"
    r"|\b(?:code\s+)?ids?\s+\d{6,}(?:\s*(?:,|and)\s*\d{6,})*"
    r"|\brepository (?:could )?not (?:be )?named\b",
    re.IGNORECASE,
)


def uncheckable_reference(citation: str) -> bool:
    """Whether one citation is only a reference an auditor cannot check (see
    :data:`_NOTE_REFERENCE`): once the notes and unnamed code are taken out of it, nothing
    a reader could find again is left (a URL, a repository and path, a named registry, a
    document by title)."""
    stripped = _NOTE_REFERENCE.sub(" ", citation)
    had_code = bool(_UNNAMED_CODE.search(stripped))
    stripped = _UNNAMED_CODE.sub(" ", stripped)
    key = _primary(stripped)
    if key is None and not _DOC_KEY.search(stripped):
        return True
    # the words describing unnamed code ("sends <Types>inquiry</Types> from sadp.py") are
    # no file or document of their own
    return had_code and key is not None and key.startswith(("file:", "document:"))


def internal_only(text: str | Sequence[str]) -> bool:
    """Whether a ``source`` text (or list of ``sources``) cites only references an auditor
    cannot check: provscan's research notes, note keys, unnamed public code, cross-references
    to provscan's own data. (Free words alone are a different problem: no source at all.)"""
    items = [text] if isinstance(text, str) else list(text)
    citations = [citation for item in items for citation in split_citations(item)]
    referring = any(
        pattern.search(citation)
        for citation in citations
        for pattern in (_NOTE_REFERENCE, _UNNAMED_CODE, _INTERNAL)
    )
    return referring and all(uncheckable_reference(citation) for citation in citations)
