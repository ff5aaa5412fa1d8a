"""Check a whole knowledge directory and list every problem, Recog's ``recog_verify`` for provscan.

Beyond what loading checks (schemas, duplicate ids, vendor names, sources, dated relations,
policy effect quoted from the measure text, grammar examples), verification runs each
fingerprint's examples and negatives, compares capture groups with captures, looks for
earlier rules shadowing later ones, and names files that belong to no kind of knowledge.
It never raises for a problem in the data: it reports it with its file and line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from provscan.errors import KnowledgeError
from provscan.knowledge.accounts import DEFAULT_ACCOUNTS_FILE
from provscan.knowledge.base import (
    MANIFEST_FILE,
    Problem,
    Problems,
    YamlDocument,
    read_document,
)
from provscan.knowledge.cloud_endpoints import CLOUD_ENDPOINTS_FILE, read_cloud_endpoints
from provscan.knowledge.device_api import DEVICE_API_FILE
from provscan.knowledge.eol import END_OF_LIFE_FILE
from provscan.knowledge.exposure import EXPOSURE_FILE
from provscan.knowledge.families import FAMILIES_FILE
from provscan.knowledge.fingerprints import fingerprint_files, verify_fingerprints
from provscan.knowledge.grammars import GRAMMARS_FILE, read_grammars
from provscan.knowledge.http_endpoints import HTTP_ENDPOINTS_FILE
from provscan.knowledge.loader import Knowledge, read_knowledge, read_posture_knowledge
from provscan.knowledge.mention_words import MENTION_WORDS_FILE
from provscan.knowledge.observation_fields import (
    OBSERVATION_FIELDS_FILE,
    read_observation_fields,
)
from provscan.knowledge.oui_owners import OUI_OWNERS_FILE, read_oui_owners
from provscan.knowledge.policies import POLICIES_FILE
from provscan.knowledge.relations import RELATIONS_FILE
from provscan.knowledge.remediation import REMEDIATION_FILE
from provscan.knowledge.screening_words import SCREENING_WORDS_FILE
from provscan.knowledge.sources import claim_source_problems, internal_only
from provscan.knowledge.vocabulary import VENDORS_FILE
from provscan.knowledge.vulnerabilities import VULNERABILITIES_FILE

#: Every top-level data file provscan reads.
KNOWN_FILES = frozenset(
    {
        VENDORS_FILE,
        FAMILIES_FILE,
        RELATIONS_FILE,
        POLICIES_FILE,
        HTTP_ENDPOINTS_FILE,
        VULNERABILITIES_FILE,
        DEFAULT_ACCOUNTS_FILE,
        END_OF_LIFE_FILE,
        CLOUD_ENDPOINTS_FILE,
        GRAMMARS_FILE,
        OUI_OWNERS_FILE,
        OBSERVATION_FIELDS_FILE,
        EXPOSURE_FILE,
        REMEDIATION_FILE,
        DEVICE_API_FILE,
        MENTION_WORDS_FILE,
        SCREENING_WORDS_FILE,
    }
)


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of verifying one data directory."""

    data_dir: Path
    files: tuple[str, ...]
    problems: tuple[Problem, ...]
    #: Not problems (verification still passes): entries whose sources are only references
    #: an auditor cannot check (provscan's research notes, unnamed public code).
    warnings: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def by_file(self) -> Counter[str]:
        return Counter(problem.file for problem in self.problems)

    def summary(self) -> str:
        count, files = len(self.problems), len(self.by_file())
        if not count:
            return f"{len(self.files)} knowledge files checked: no problems"
        return (
            f"{count} problem{'s' if count != 1 else ''} in {files} of "
            f"{len(self.files)} knowledge files"
        )


def verify_knowledge(data_dir: Path) -> VerifyReport:
    """Verify every data file in ``data_dir``. Raises KnowledgeError only if it is no directory."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise KnowledgeError(f"knowledge data directory not found: {data_dir}")
    problems = Problems(data_dir)
    core = read_knowledge(data_dir, problems)
    verify_fingerprints(
        core.fingerprint_files,
        problems,
        _same_party(core.knowledge),
        _restricted(core.knowledge),
    )
    if core.knowledge is not None:
        verify_claim_sources(data_dir, core.knowledge, problems)
    read_posture_knowledge(data_dir, problems, core.vendors)
    read_cloud_endpoints(data_dir, problems, core.vendors)
    read_grammars(data_dir, problems, core.knowledge, core.vendors)
    read_oui_owners(data_dir, problems, core.vendors)
    read_observation_fields(data_dir, problems)
    files = sorted(path.name for path in data_dir.glob("*.yaml"))
    for name in files:
        if name not in KNOWN_FILES and name != MANIFEST_FILE:
            problems.add(
                name, "not a knowledge file provscan reads (misspelt name, or a leftover copy?)"
            )
    # The data files, as the manifest lists them: manifest.yaml is read, not counted.
    checked = tuple(sorted({*files, *fingerprint_files(data_dir)} - {MANIFEST_FILE}))
    ordered = sorted(problems.items, key=lambda problem: (problem.file, problem.line))
    warnings = internal_source_warnings(data_dir, checked)
    return VerifyReport(data_dir, checked, tuple(ordered), warnings)


#: The warning for a source made only of references an auditor cannot check.
INTERNAL_ONLY_WARNING = (
    "warning: cites only internal references an auditor cannot check (research notes, note "
    "keys, public code by search id or unnamed repository): cite 'owner/repo path' or a URL"
)


def internal_source_warnings(data_dir: Path, files: Iterable[str]) -> tuple[Problem, ...]:
    """Every ``source``/``sources`` in ``files`` that cites only internal references
    (:func:`~provscan.knowledge.sources.internal_only`), as a warning at its line. Files
    that cannot be read were reported as problems already."""
    found = Problems(data_dir)
    scratch = Problems(data_dir)

    def walk(document: YamlDocument, node: object, at: tuple[str | int, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("source", "sources") and _sources_text(value):
                    if internal_only(_sources_text(value)):
                        found.add(document, INTERNAL_ONLY_WARNING, (*at, key))
                else:
                    walk(document, value, (*at, key))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(document, item, (*at, index))

    for name in files:
        document = read_document(data_dir, name, scratch)
        if document is not None:
            walk(document, document.data, ())
    return tuple(sorted(found.items, key=lambda problem: (problem.file, problem.line)))


def _sources_text(value: object) -> list[str]:
    """A ``source`` string or a list of ``sources`` strings, as a list (else empty)."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return []


def verify_claim_sources(data_dir: Path, knowledge: Knowledge, problems: Problems) -> None:
    """The sources of every entry that can lead to a restricted maker, and of every policy
    measure, name sources (``knowledge/sources.py``): relations to a restricted maker, the
    families and their members, the spellings of a restricted vendor or of a brand related to
    one, model grammars of those, and measures. A relation or current member that by itself
    makes a brand restricted needs two independent public sources unless its confidence is
    low (docs/knowledge-sources.md §3)."""
    scratch = Problems(data_dir)  # the files were read already: their problems are reported

    def check(
        document: YamlDocument | None,
        at: tuple[str | int, ...],
        sources: list[str],
        *,
        restricting: bool = False,
        confidence: str = "high",
        about: str | None = None,
    ) -> None:
        if document is None:
            return
        supporting = named_by.get(parents.get(about or "", ""), [])
        for message in claim_source_problems(
            sources, restricting=restricting, confidence=confidence, supporting=supporting
        ):
            problems.add(document, message, (*at, "sources"))

    def restricted(name: str | None) -> bool:
        return name is not None and knowledge.family_of(name) is not None

    # A family's parent (and the family itself) is restricted because measures name the
    # family: those measures' sources are its sources too.
    named_by: dict[str, list[str]] = {}
    for policy in knowledge.policies.values():
        for measure in policy.measures:
            for family_id in measure.families:
                named_by.setdefault(family_id, []).extend(measure.sources)
    parents = {
        member.name: family.id
        for family in knowledge.families.values()
        for member in family.members
        if member.relationship == "parent" and member.until is None
    }
    # Spellings and model grammars that name a restricted family's vendor directly. (Brands
    # related to one lead there through a relation, which is checked above.)
    leads: set[str] = {name for name in knowledge.vendors if restricted(name)}
    relations = read_document(data_dir, RELATIONS_FILE, scratch)
    for index, relation in enumerate(knowledge.relations):
        if not restricted(relation.maker):
            continue
        maker_family = knowledge.family_of(relation.maker)
        check(
            relations,
            ("relations", index),
            relation.sources,
            restricting=knowledge.family_of(relation.brand) != maker_family,
            confidence=relation.confidence,
            about=relation.brand if relation.brand == relation.maker else None,
        )
    families = read_document(data_dir, FAMILIES_FILE, scratch)
    for index, family in enumerate(knowledge.families.values()):
        parent = next((name for name, of in parents.items() if of == family.id), None)
        check(families, ("families", index), family.sources, about=parent)
        for member_index, member in enumerate(family.members):
            is_parent = parents.get(member.name) == family.id
            check(
                families,
                ("families", index, "members", member_index),
                member.sources,
                # the parent is what the measures name; a current member makes its name
                # restricted too, on its own sources
                restricting=member.until is None and not is_parent,
                confidence=member.confidence,
                about=member.name if is_parent else None,
            )
    vendors = read_document(data_dir, VENDORS_FILE, scratch)
    for index, vendor in enumerate(knowledge.vendors.values()):
        if vendor.name in leads:
            check(vendors, ("vendors", index), vendor.sources, about=vendor.name)
    grammars_document = read_document(data_dir, GRAMMARS_FILE, scratch)
    grammars = read_grammars(data_dir, scratch, knowledge)
    for index, grammar in enumerate(grammars.grammars if grammars is not None else []):
        # a grammar that needs the brand named beside the number leads nowhere the brand
        # does not; any other grammar of a restricted vendor names that vendor by itself
        if grammar.requires_brand:
            continue
        if grammar.maker in leads or (grammar.maker is None and grammar.brand in leads):
            check(
                grammars_document,
                ("grammars", index),
                grammar.sources,
                confidence=grammar.confidence,
            )
    policies = read_document(data_dir, POLICIES_FILE, scratch)
    for index, policy in enumerate(knowledge.policies.values()):
        for measure_index, measure in enumerate(policy.measures):
            check(policies, ("policies", index, "measures", measure_index), measure.sources)


def _restricted(knowledge: Knowledge | None) -> Callable[[str], bool] | None:
    """Whether a maker or brand belongs to a restricted family (the verdict rule's makers)."""
    if knowledge is None:
        return None
    return lambda name: knowledge.family_of(name) is not None


def _same_party(knowledge: Knowledge | None) -> Callable[[str, str], bool] | None:
    """Two maker names that are one party for shadowing: the same current family."""
    if knowledge is None:
        return None

    def same(left: str, right: str) -> bool:
        family = knowledge.family_of(left)
        return family is not None and family == knowledge.family_of(right)

    return same
