"""The knowledge the rest of provscan uses, composed from the per-kind loaders.

Each kind of data file has its own module (schema, cross-checks, typed result): vocabulary,
families, relations, policies, fingerprints, http_endpoints, mention_words, screening_words,
vulnerabilities, accounts, eol, cloud_endpoints, device_api, exposure, remediation,
observation_fields, and grammars with oui_owners. This module reads them into
:class:`Knowledge` and :class:`PostureKnowledge`; every problem is reported at once, each with
its file, entry and line.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from provscan.errors import KnowledgeError
from provscan.knowledge.accounts import DEFAULT_ACCOUNTS_FILE, DefaultAccount, read_default_accounts
from provscan.knowledge.base import (
    BUNDLED_DATA_DIR,
    DEFAULT_DATA_DIR,
    Parsed,
    Problems,
    active_data_dir,
    parse_partial_date,
    period_bounds,
)
from provscan.knowledge.cache import cached
from provscan.knowledge.cloud_endpoints import (
    CLOUD_ENDPOINTS_FILE,
    CloudEndpoint,
    read_cloud_endpoints,
)
from provscan.knowledge.device_api import DEVICE_API_FILE, load_device_api, read_device_api
from provscan.knowledge.eol import END_OF_LIFE_FILE, EndOfLifeEntry, read_end_of_life
from provscan.knowledge.exposure import EXPOSURE_FILE, ExposureRules, read_exposure_rules
from provscan.knowledge.families import (
    FAMILIES_FILE,
    Family,
    current_family_by_member,
    read_families,
)
from provscan.knowledge.fingerprints import (
    FINGERPRINTS_DIR,
    VOCABULARY_CLAIM_FIELDS,
    FingerprintFile,
    LoadedFingerprints,
    read_fingerprints,
)
from provscan.knowledge.http_endpoints import (
    FORBIDDEN_ENDPOINT_FRAGMENTS,
    HTTP_ENDPOINTS_FILE,
    MAX_HTTP_ENDPOINTS,
    HttpEndpointFile,
    read_http_endpoints,
)
from provscan.knowledge.policies import NOT_BINDING_PREFIX, POLICIES_FILE, Policy, read_policies
from provscan.knowledge.relations import RELATIONS_FILE, Relation, read_relations
from provscan.knowledge.remediation import REMEDIATION_FILE, RemediationTexts, read_remediation
from provscan.knowledge.vocabulary import (
    VENDORS_FILE,
    Vendor,
    read_vendors,
    spellings,
    vendor_key,
)
from provscan.knowledge.vulnerabilities import (
    VULNERABILITIES_FILE,
    VulnerabilityEntry,
    read_vulnerabilities,
)

if TYPE_CHECKING:
    from provscan.knowledge.mention_words import MentionWords
    from provscan.knowledge.screening_words import ScreeningWords

__all__ = [
    "CLOUD_ENDPOINTS_FILE",
    "DEFAULT_ACCOUNTS_FILE",
    "DEFAULT_DATA_DIR",
    "END_OF_LIFE_FILE",
    "FAMILIES_FILE",
    "FINGERPRINTS_DIR",
    "FORBIDDEN_ENDPOINT_FRAGMENTS",
    "HTTP_ENDPOINTS_FILE",
    "MAX_HTTP_ENDPOINTS",
    "NOT_BINDING_PREFIX",
    "POLICIES_FILE",
    "RELATIONS_FILE",
    "VENDORS_FILE",
    "VOCABULARY_CLAIM_FIELDS",
    "VULNERABILITIES_FILE",
    "CoreRead",
    "Knowledge",
    "LoadedFingerprints",
    "PostureKnowledge",
    "load_cloud_endpoints",
    "load_knowledge",
    "load_posture_knowledge",
    "parse_partial_date",
    "period_bounds",
    "read_knowledge",
    "vendor_key",
]


@dataclass(frozen=True, eq=False)
class Knowledge:
    """The validated knowledge base: vocabulary, families, relations, policies, fingerprints."""

    vendors: dict[str, Vendor]
    families: dict[str, Family]
    relations: tuple[Relation, ...]
    policies: dict[str, Policy]
    fingerprints: tuple[LoadedFingerprints, ...]
    http_endpoints: HttpEndpointFile | None = None
    #: Words that make a vendor name next to them a mention ("for Hikvision", "华为 专用").
    mention_words: MentionWords = field(kw_only=True)
    #: Product listings' vocabulary screening reads ("camera", "nvr", "mp"): never a brand.
    screening_words: ScreeningWords = field(kw_only=True)
    _vendor_by_key: dict[str, str] = field(init=False, repr=False)
    _vendor_by_line: dict[str, str] = field(init=False, repr=False)
    _family_by_current_member: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        vendor_by_key: dict[str, str] = {}
        for vendor in self.vendors.values():
            for spelling in spellings(vendor):
                vendor_by_key.setdefault(vendor_key(spelling), vendor.name)
        object.__setattr__(self, "_vendor_by_key", vendor_by_key)
        object.__setattr__(
            self,
            "_vendor_by_line",
            {
                _line_key(line): vendor.name
                for vendor in self.vendors.values()
                for line in vendor.product_lines
            },
        )
        object.__setattr__(
            self, "_family_by_current_member", current_family_by_member(self.families)
        )

    def canonical_vendor(self, name: str) -> str | None:
        """The canonical vendor name for any spelling of a name, alias or legal name."""
        key = vendor_key(name)
        return self._vendor_by_key.get(key) if key else None

    def vendor_of_product_line(self, name: str) -> str | None:
        """The vendor whose product line ``name`` is (``vendors.yaml`` ``product_lines``), as
        written apart from case and spacing: "Back-UPS" is APC's, the word "backups" is not."""
        key = _line_key(name)
        return self._vendor_by_line.get(key) if key else None

    def family_of(self, vendor: str) -> str | None:
        """The family id a vendor currently belongs to, or None (former members: None)."""
        canonical = self.canonical_vendor(vendor)
        if canonical is None:
            return None
        declared = self.vendors[canonical].family
        return declared or self._family_by_current_member.get(canonical)

    def relations_for_brand(self, brand: str) -> tuple[Relation, ...]:
        """Every brand -> maker relation of a brand (any spelling), in file order."""
        canonical = self.canonical_vendor(brand)
        if canonical is None:
            return ()
        return tuple(relation for relation in self.relations if relation.brand == canonical)

    def select_policies(self, ids: Sequence[str] | None) -> tuple[Policy, ...]:
        """The policies with these ids, in the order given; None or empty selects all."""
        if not ids:
            return tuple(self.policies.values())
        unknown = [policy_id for policy_id in ids if policy_id not in self.policies]
        if unknown:
            raise KnowledgeError(
                f"unknown policy id(s): {', '.join(unknown)}; valid ids: {', '.join(self.policies)}"
            )
        return tuple(self.policies[policy_id] for policy_id in dict.fromkeys(ids))


def _line_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def load_knowledge(data_dir: Path | None = None) -> Knowledge:
    """Load and validate the knowledge in ``data_dir`` (default: the active knowledge, the
    bundled data or an installed pack, cached).

    Raises KnowledgeError listing every problem, each with its file, entry and line.
    """
    if data_dir is None:
        return _load_active_knowledge(active_data_dir())
    return _load(Path(data_dir))


@functools.lru_cache(maxsize=2)
def _load_active_knowledge(data_dir: Path) -> Knowledge:
    # Read once per process, and across processes from the compiled copy (knowledge/cache.py).
    return cached("core", data_dir, lambda: _load(data_dir))


def _load(data_dir: Path) -> Knowledge:
    if not data_dir.is_dir():
        raise KnowledgeError(f"knowledge data directory not found: {data_dir}")
    problems = Problems(data_dir)
    knowledge = read_knowledge(data_dir, problems).knowledge
    problems.raise_if_any()
    assert knowledge is not None  # raise_if_any() said why otherwise
    return knowledge


@dataclass(frozen=True)
class CoreRead:
    """What :func:`read_knowledge` could read: the knowledge (None when a core file is
    unusable), the vocabulary on its own, and the parsed fingerprint files (with lines)."""

    knowledge: Knowledge | None
    vendors: dict[str, Vendor] | None
    fingerprint_files: list[Parsed[FingerprintFile]]


def read_knowledge(data_dir: Path, problems: Problems) -> CoreRead:
    """Read the core files (vocabulary to fingerprints), recording every problem."""
    vendors = read_vendors(data_dir, problems)
    names = vendors.vendors if vendors is not None else None
    families = read_families(data_dir, problems, vendors)
    relations = read_relations(data_dir, problems, names)
    policies = read_policies(data_dir, problems, families)
    fingerprint_files = read_fingerprints(data_dir, problems, names)
    http_endpoints = read_http_endpoints(data_dir, problems, names)
    # imported here, not at the top: importing the name finder must stay as quick as it was
    from provscan.knowledge.mention_words import MENTION_WORDS_FILE, read_mention_words
    from provscan.knowledge.screening_words import SCREENING_WORDS_FILE, read_screening_words

    mention_words = read_mention_words(_own_or_bundled(data_dir, MENTION_WORDS_FILE), problems)
    screening_words = read_screening_words(
        _own_or_bundled(data_dir, SCREENING_WORDS_FILE), problems
    )
    if (
        names is None
        or families is None
        or relations is None
        or policies is None
        or mention_words is None
        or screening_words is None
    ):
        return CoreRead(None, names, fingerprint_files)
    knowledge = Knowledge(
        vendors=names,
        families=families,
        relations=relations,
        policies=policies,
        fingerprints=tuple(
            LoadedFingerprints(parsed.document.name, parsed.model) for parsed in fingerprint_files
        ),
        http_endpoints=http_endpoints,
        mention_words=mention_words,
        screening_words=screening_words,
    )
    return CoreRead(knowledge, names, fingerprint_files)


def _own_or_bundled(data_dir: Path, name: str) -> Path:
    """``data_dir`` when it holds ``name``; else the bundled data (an older pack or a test's
    partial copy without the file reads the bundled one)."""
    return data_dir if (data_dir / name).exists() else BUNDLED_DATA_DIR


# --- security posture knowledge (issue 6) --------------------------------------------------


@dataclass(frozen=True)
class PostureKnowledge:
    """Vulnerabilities, documented factory accounts, end-of-life statements, exposure rules
    and remediation advice (the last two default to the bundled files)."""

    vulnerabilities: tuple[VulnerabilityEntry, ...]
    default_accounts: tuple[DefaultAccount, ...]
    end_of_life: tuple[EndOfLifeEntry, ...]
    exposure: ExposureRules | None = None
    remediation: RemediationTexts | None = None


def load_posture_knowledge(
    data_dir: Path | None = None, knowledge: Knowledge | None = None
) -> PostureKnowledge:
    """Load and cross-check the posture files (default: the active knowledge, cached).

    Vendor names must be in the vocabulary, model patterns must compile, every firmware
    bound must parse in the range's basis, every account's check must be a known read-only
    request, and every entry needs a source. Raises KnowledgeError listing every problem.
    """
    if data_dir is None and knowledge is None:
        return _load_active_posture(active_data_dir())
    return _load_posture(Path(data_dir or active_data_dir()), knowledge or load_knowledge(data_dir))


@functools.lru_cache(maxsize=2)
def _load_active_posture(data_dir: Path) -> PostureKnowledge:
    # The active core knowledge from its cache: reading it again costs ~0.13 s per command.
    return cached(
        "posture", data_dir, lambda: _load_posture(data_dir, _load_active_knowledge(data_dir))
    )


def read_posture_knowledge(
    data_dir: Path, problems: Problems, vendors: dict[str, Vendor] | None
) -> PostureKnowledge:
    """Read the posture files, recording every problem. Absent files are empty (or, for
    device_api, exposure and remediation, the bundled ones)."""
    if (data_dir / DEVICE_API_FILE).exists():
        api = read_device_api(data_dir, problems, vendors)
    else:
        api = load_device_api()
    exposure = (
        read_exposure_rules(data_dir, problems) if (data_dir / EXPOSURE_FILE).exists() else None
    )
    remediation = (
        read_remediation(data_dir, problems) if (data_dir / REMEDIATION_FILE).exists() else None
    )
    return PostureKnowledge(
        vulnerabilities=read_vulnerabilities(data_dir, problems, vendors),
        default_accounts=read_default_accounts(data_dir, problems, vendors, api),
        end_of_life=read_end_of_life(data_dir, problems, vendors),
        exposure=exposure,
        remediation=remediation,
    )


def _load_posture(data_dir: Path, knowledge: Knowledge) -> PostureKnowledge:
    problems = Problems(data_dir)
    posture = read_posture_knowledge(data_dir, problems, knowledge.vendors)
    problems.raise_if_any()
    return posture


# --- vendor cloud endpoints (passive phone-home detection, issue 5) ---------------------


def load_cloud_endpoints(
    data_dir: Path | None = None, knowledge: Knowledge | None = None
) -> tuple[CloudEndpoint, ...]:
    """The reviewed vendor cloud/P2P/update endpoints (``cloud_endpoints.yaml``), in file order.

    Checks ids, vendor names against the vocabulary and sources; raises KnowledgeError
    listing every problem.
    """
    if data_dir is None and knowledge is None:
        return _load_active_cloud_endpoints(active_data_dir())
    directory = Path(data_dir) if data_dir is not None else active_data_dir()
    return _load_cloud_endpoints(directory, knowledge or load_knowledge(data_dir))


@functools.lru_cache(maxsize=2)
def _load_active_cloud_endpoints(data_dir: Path) -> tuple[CloudEndpoint, ...]:
    return cached(
        "cloud", data_dir, lambda: _load_cloud_endpoints(data_dir, load_knowledge(data_dir))
    )


def _load_cloud_endpoints(data_dir: Path, knowledge: Knowledge) -> tuple[CloudEndpoint, ...]:
    problems = Problems(data_dir)
    endpoints = read_cloud_endpoints(data_dir, problems, knowledge.vendors)
    problems.raise_if_any()
    assert endpoints is not None  # raise_if_any() said why otherwise
    return endpoints
