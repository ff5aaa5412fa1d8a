"""Load the knowledge files and check that they agree with each other.

Schema errors are caught by the pydantic models in ``schema``; this module adds the checks that
span entries and files: controlled-vocabulary spelling, duplicate ids, dated relations that
contradict each other. Every problem found is reported at once, so a contributor can fix a
broken file in one pass.
"""

from __future__ import annotations

import calendar
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from provscan.errors import KnowledgeError
from provscan.knowledge.schema import (
    DefaultAccount,
    DefaultAccountFile,
    EndOfLifeEntry,
    EndOfLifeFile,
    Family,
    FamilyFile,
    FingerprintFile,
    HttpEndpointFile,
    Measure,
    Policy,
    PolicyFile,
    Relation,
    RelationFile,
    Vendor,
    VendorFile,
    VulnerabilityEntry,
    VulnerabilityFile,
)

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"
VENDORS_FILE = "vendors.yaml"
FAMILIES_FILE = "families.yaml"
RELATIONS_FILE = "relations.yaml"
POLICIES_FILE = "policies.yaml"
HTTP_ENDPOINTS_FILE = "http_endpoints.yaml"
FINGERPRINTS_DIR = "fingerprints"

#: Claim fields whose values must be canonical vendor names.
VOCABULARY_CLAIM_FIELDS = ("manufacturer", "brand")
#: Every vendor endpoint costs one request per host.
MAX_HTTP_ENDPOINTS = 8
#: Fragments of known exploit paths; an endpoint containing one is refused outright.
FORBIDDEN_ENDPOINT_FRAGMENTS = ("auth=", "/sdk/weblanguage")

_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")

_ModelT = TypeVar("_ModelT", bound=BaseModel)


@dataclass(frozen=True)
class LoadedFingerprints:
    """One fingerprint file: where it came from (relative to the data dir) and its rules."""

    path: str
    spec: FingerprintFile


def vendor_key(name: str) -> str:
    """The matching key of a vendor spelling: case, space and punctuation are ignored."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(character for character in folded if character.isalnum())


def period_bounds(since: str | None, until: str | None) -> tuple[date, date]:
    """Inclusive first and last day of a ``since``..``until`` period of partial ISO dates.

    ``"2021-04"`` as ``until`` means through 30 Apr 2021; a missing end is open.
    Raises ValueError for a malformed date.
    """
    start = _parse_partial_date(since, last_day=False) if since else date.min
    end = _parse_partial_date(until, last_day=True) if until else date.max
    return start, end


def _parse_partial_date(text: str, *, last_day: bool) -> date:
    match = _PARTIAL_DATE.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year = int(match.group(1))
    month_text, day_text = match.group(2), match.group(3)
    if month_text is None:
        return date(year, 12, 31) if last_day else date(year, 1, 1)
    month = int(month_text)
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r} has no month {month}")
    if day_text is None:
        return date(year, month, calendar.monthrange(year, month)[1] if last_day else 1)
    return date(year, month, int(day_text))  # ValueError on an impossible day


@dataclass(frozen=True, eq=False)
class Knowledge:
    """The validated knowledge base: vocabulary, families, relations, policies, fingerprints."""

    vendors: dict[str, Vendor]
    families: dict[str, Family]
    relations: tuple[Relation, ...]
    policies: dict[str, Policy]
    fingerprints: tuple[LoadedFingerprints, ...]
    http_endpoints: HttpEndpointFile | None = None
    _vendor_by_key: dict[str, str] = field(init=False, repr=False)
    _family_by_current_member: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        vendor_by_key: dict[str, str] = {}
        for vendor in self.vendors.values():
            for spelling in _spellings(vendor):
                vendor_by_key.setdefault(vendor_key(spelling), vendor.name)
        family_by_member: dict[str, str] = {}
        for family in self.families.values():
            for member in family.members:
                # Former members (with an end date) are dated facts for relations.yaml; they
                # must not make every later product of that brand part of the family.
                if member.until is None:
                    family_by_member.setdefault(member.name, family.id)
        object.__setattr__(self, "_vendor_by_key", vendor_by_key)
        object.__setattr__(self, "_family_by_current_member", family_by_member)

    def canonical_vendor(self, name: str) -> str | None:
        """The canonical vendor name for any spelling of a name, alias or legal name."""
        key = vendor_key(name)
        return self._vendor_by_key.get(key) if key else None

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


def load_knowledge(data_dir: Path | None = None) -> Knowledge:
    """Load and validate the knowledge in ``data_dir`` (default: the bundled data, cached).

    Raises KnowledgeError listing every problem, each with its file and entry.
    """
    if data_dir is None:
        return _load_bundled_knowledge()
    return _load(Path(data_dir))


@functools.lru_cache(maxsize=1)
def _load_bundled_knowledge() -> Knowledge:
    return _load(DEFAULT_DATA_DIR)


# --- reading -----------------------------------------------------------------------------


class _Problems:
    """Collects problems as ``file: entry: message`` lines."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.lines: list[str] = []

    def add(self, file: str, entry: str, message: str) -> None:
        self.lines.append(f"{file}: {entry}: {message}" if entry else f"{file}: {message}")

    def raise_if_any(self) -> None:
        if self.lines:
            count = len(self.lines)
            listing = "\n".join(f"  - {line}" for line in self.lines)
            raise KnowledgeError(
                f"{count} problem{'s' if count != 1 else ''} in knowledge data "
                f"at {self.data_dir}:\n{listing}"
            )


class _KnowledgeYamlLoader(yaml.SafeLoader):
    """Safe YAML without timestamp conversion (dates stay text) and without duplicate keys."""


_KnowledgeYamlLoader.yaml_implicit_resolvers = {
    first_character: [
        (tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"
    ]
    for first_character, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node)


_KnowledgeYamlLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _read_model(
    path: Path, display_name: str, model: type[_ModelT], problems: _Problems
) -> _ModelT | None:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_KnowledgeYamlLoader)
    except OSError as exc:
        problems.add(display_name, "", f"cannot be read: {exc}")
        return None
    except yaml.YAMLError as exc:
        problems.add(display_name, "", f"YAML parse error: {exc}")
        return None
    if not isinstance(raw, dict):
        problems.add(display_name, "", "must be a YAML mapping at the top level")
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            problems.add(display_name, _describe_location(raw, error["loc"]), error["msg"])
        return None


def _describe_location(raw: object, location: Iterable[int | str]) -> str:
    """``families[1] (id=dahua).members[3] (name=Lorex).sources`` for a pydantic error loc."""
    parts: list[str] = []
    node: object = raw
    for step in location:
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and 0 <= step < len(node) else None
            label = f"[{step}]"
            name = _entry_name(node)
            if name:
                label += f" ({name})"
            if parts:
                parts[-1] += label
            else:
                parts.append(label)
        else:
            node = node.get(step) if isinstance(node, dict) else None
            parts.append(step)
    return ".".join(parts) or "top level"


def _entry_name(node: object) -> str:
    if not isinstance(node, dict):
        return ""
    for key in ("id", "name"):
        if isinstance(node.get(key), str):
            return f"{key}={node[key]}"
    if "brand" in node or "maker" in node:
        return f"brand={node.get('brand')}, maker={node.get('maker')}"
    return ""


# --- loading and cross-checking ------------------------------------------------------------


def _load(data_dir: Path) -> Knowledge:
    problems = _Problems(data_dir)
    if not data_dir.is_dir():
        raise KnowledgeError(f"knowledge data directory not found: {data_dir}")

    vendor_file = _read_model(data_dir / VENDORS_FILE, VENDORS_FILE, VendorFile, problems)
    family_file = _read_model(data_dir / FAMILIES_FILE, FAMILIES_FILE, FamilyFile, problems)
    relation_file = _read_model(data_dir / RELATIONS_FILE, RELATIONS_FILE, RelationFile, problems)
    policy_file = _read_model(data_dir / POLICIES_FILE, POLICIES_FILE, PolicyFile, problems)
    endpoint_file: HttpEndpointFile | None = None
    if (data_dir / HTTP_ENDPOINTS_FILE).exists():
        endpoint_file = _read_model(
            data_dir / HTTP_ENDPOINTS_FILE, HTTP_ENDPOINTS_FILE, HttpEndpointFile, problems
        )
    fingerprints: list[LoadedFingerprints] = []
    fingerprint_dir = data_dir / FINGERPRINTS_DIR
    if fingerprint_dir.is_dir():
        for path in sorted(fingerprint_dir.glob("*.yaml"), key=lambda p: p.name):
            display_name = f"{FINGERPRINTS_DIR}/{path.name}"
            spec = _read_model(path, display_name, FingerprintFile, problems)
            if spec is not None:
                fingerprints.append(LoadedFingerprints(path=display_name, spec=spec))
    problems.raise_if_any()
    # raise_if_any() guarantees every required file parsed; this narrows the types for mypy.
    assert vendor_file and family_file and relation_file and policy_file

    vendors = _check_vendors(vendor_file, problems)
    families = _check_families(family_file, vendors, problems)
    _check_vendor_family_membership(vendors, families, problems)
    _check_relations(relation_file, vendors, problems)
    policies = _check_policies(policy_file, families, problems)
    _check_fingerprints(fingerprints, vendors, problems)
    if endpoint_file is not None:
        _check_http_endpoints(endpoint_file, problems)
    problems.raise_if_any()

    return Knowledge(
        vendors=vendors,
        families=families,
        relations=tuple(relation_file.relations),
        policies=policies,
        fingerprints=tuple(fingerprints),
        http_endpoints=endpoint_file,
    )


def _spellings(vendor: Vendor) -> list[str]:
    return [vendor.name, *vendor.aliases, *vendor.legal_names]


def _check_sources(file: str, entry: str, sources: Sequence[str], problems: _Problems) -> None:
    if not sources or any(not source.strip() for source in sources):
        problems.add(file, entry, "every entry needs at least one non-blank source")


def _unknown_vendor_message(name: str, vendors: dict[str, Vendor], role: str) -> str:
    """Explain an unknown name, suggesting the canonical spelling when one matches."""
    key = vendor_key(name)
    for vendor in vendors.values():
        if any(vendor_key(spelling) == key for spelling in _spellings(vendor)):
            return (
                f"{role} {name!r} is not a canonical vendor name; "
                f"use {vendor.name!r} (see {VENDORS_FILE})"
            )
    return f"{role} {name!r} is not in the vendor vocabulary ({VENDORS_FILE})"


def _check_vendors(vendor_file: VendorFile, problems: _Problems) -> dict[str, Vendor]:
    vendors: dict[str, Vendor] = {}
    owner_by_key: dict[str, str] = {}
    for index, vendor in enumerate(vendor_file.vendors):
        entry = f"vendors[{index}] (name={vendor.name})"
        if vendor.name in vendors:
            problems.add(VENDORS_FILE, entry, f"duplicate vendor name {vendor.name!r}")
            continue
        vendors[vendor.name] = vendor
        _check_sources(VENDORS_FILE, entry, vendor.sources, problems)
        for spelling in _spellings(vendor):
            key = vendor_key(spelling)
            if not key:
                problems.add(VENDORS_FILE, entry, f"spelling {spelling!r} has no letters or digits")
                continue
            owner = owner_by_key.setdefault(key, vendor.name)
            if owner != vendor.name:
                problems.add(
                    VENDORS_FILE,
                    entry,
                    f"spelling {spelling!r} collides with vendor {owner!r} "
                    "(names, aliases and legal names must be unique across vendors)",
                )
    return vendors


def _check_families(
    family_file: FamilyFile, vendors: dict[str, Vendor], problems: _Problems
) -> dict[str, Family]:
    families: dict[str, Family] = {}
    for index, family in enumerate(family_file.families):
        entry = f"families[{index}] (id={family.id})"
        if family.id in families:
            problems.add(FAMILIES_FILE, entry, f"duplicate family id {family.id!r}")
            continue
        families[family.id] = family
        _check_sources(FAMILIES_FILE, entry, family.sources, problems)
        seen_members: set[str] = set()
        for member_index, member in enumerate(family.members):
            member_entry = f"{entry}.members[{member_index}] (name={member.name})"
            if member.name not in vendors:
                problems.add(
                    FAMILIES_FILE,
                    member_entry,
                    _unknown_vendor_message(member.name, vendors, "member"),
                )
            if member.name in seen_members:
                problems.add(FAMILIES_FILE, member_entry, f"{member.name!r} is listed twice")
            seen_members.add(member.name)
            _check_period(FAMILIES_FILE, member_entry, member.since, member.until, problems)
            _check_sources(FAMILIES_FILE, member_entry, member.sources, problems)
    return families


def _check_vendor_family_membership(
    vendors: dict[str, Vendor], families: dict[str, Family], problems: _Problems
) -> None:
    current_family: dict[str, str] = {}
    for family in families.values():
        for member in family.members:
            if member.until is not None:
                continue
            other = current_family.setdefault(member.name, family.id)
            if other != family.id:
                problems.add(
                    FAMILIES_FILE,
                    f"family {family.id!r}",
                    f"{member.name!r} is a current member of both {other!r} and {family.id!r}",
                )
    for vendor in vendors.values():
        if vendor.family is None:
            continue
        entry = f"vendor {vendor.name!r}"
        if vendor.family not in families:
            problems.add(
                VENDORS_FILE,
                entry,
                f"family {vendor.family!r} is not a family id in {FAMILIES_FILE}",
            )
            continue
        current = current_family.get(vendor.name)
        if current != vendor.family:
            problems.add(
                VENDORS_FILE,
                entry,
                f"declares family {vendor.family!r} but is not a current member of it in "
                f"{FAMILIES_FILE}" + (f" (current family: {current!r})" if current else ""),
            )


def _check_period(
    file: str, entry: str, since: str | None, until: str | None, problems: _Problems
) -> tuple[date, date] | None:
    try:
        start, end = period_bounds(since, until)
    except ValueError as exc:
        problems.add(file, entry, f"bad since/until date: {exc}")
        return None
    if start > end:
        problems.add(file, entry, f"since {since} is after until {until}")
        return None
    return start, end


def _check_relations(
    relation_file: RelationFile, vendors: dict[str, Vendor], problems: _Problems
) -> None:
    checked: list[tuple[int, Relation, tuple[date, date]]] = []
    for index, relation in enumerate(relation_file.relations):
        entry = f"relations[{index}] (brand={relation.brand}, maker={relation.maker})"
        for role, name in (("brand", relation.brand), ("maker", relation.maker)):
            if name not in vendors:
                problems.add(RELATIONS_FILE, entry, _unknown_vendor_message(name, vendors, role))
        if relation.relation != "own_brand" and relation.brand == relation.maker:
            problems.add(
                RELATIONS_FILE, entry, f"brand == maker needs own_brand, not {relation.relation}"
            )
        if relation.partial and relation.scope.strip().lower() == "all":
            problems.add(RELATIONS_FILE, entry, "partial: true needs a scope saying which lines")
        if not relation.evidence.strip():
            problems.add(RELATIONS_FILE, entry, "evidence must not be blank")
        _check_sources(RELATIONS_FILE, entry, relation.sources, problems)
        period = _check_period(RELATIONS_FILE, entry, relation.since, relation.until, problems)
        if period is not None:
            checked.append((index, relation, period))

    for position, (index, relation, (start, end)) in enumerate(checked):
        for other_index, other, (other_start, other_end) in checked[position + 1 :]:
            if (other.brand, other.maker) != (relation.brand, relation.maker):
                continue
            if start > other_end or other_start > end:
                continue
            entry = f"relations[{other_index}] (brand={other.brand}, maker={other.maker})"
            if other.relation != relation.relation:
                problems.add(
                    RELATIONS_FILE,
                    entry,
                    f"contradicts relations[{index}]: {other.relation} vs {relation.relation} "
                    "for the same brand and maker in overlapping periods",
                )
            elif other.scope == relation.scope:
                problems.add(RELATIONS_FILE, entry, f"duplicates relations[{index}]")


def _check_policies(
    policy_file: PolicyFile, families: dict[str, Family], problems: _Problems
) -> dict[str, Policy]:
    policies: dict[str, Policy] = {}
    measure_owner: dict[str, str] = {}  # measure id -> policy id; unique across all policies
    for index, policy in enumerate(policy_file.policies):
        entry = f"policies[{index}] (id={policy.id})"
        if policy.id in policies:
            problems.add(POLICIES_FILE, entry, f"duplicate policy id {policy.id!r}")
            continue
        policies[policy.id] = policy
        for measure_index, measure in enumerate(policy.measures):
            measure_entry = f"{entry}.measures[{measure_index}] (id={measure.id})"
            if measure.id in measure_owner:
                problems.add(
                    POLICIES_FILE,
                    measure_entry,
                    f"duplicate measure id {measure.id!r} (first in policy {measure_owner[measure.id]!r})",
                )
            measure_owner.setdefault(measure.id, policy.id)
            for family_id in measure.families:
                if family_id not in families:
                    problems.add(
                        POLICIES_FILE,
                        measure_entry,
                        f"family {family_id!r} is not a family id in {FAMILIES_FILE}",
                    )
            for field_name in ("title", "measure", "binds", "citation"):
                if not str(getattr(measure, field_name)).strip():
                    problems.add(POLICIES_FILE, measure_entry, f"{field_name} must not be blank")
            _check_measure_effect(measure, measure_entry, problems)
            _check_sources(POLICIES_FILE, measure_entry, measure.sources, problems)
    return policies


#: How a measure that binds nobody starts its ``binds`` (see policies.yaml); it cannot restrict.
NOT_BINDING_PREFIX = "Not binding"


def _check_measure_effect(measure: Measure, entry: str, problems: _Problems) -> None:
    """``effect`` is read from the measure's own text: its basis must be quoted from it."""
    basis = " ".join(measure.effect_basis.split())
    if not basis:
        problems.add(POLICIES_FILE, entry, "effect_basis must quote the words that decide effect")
    elif basis.casefold() not in measure.own_text().casefold():
        problems.add(
            POLICIES_FILE,
            entry,
            f"effect_basis {basis!r} is not in the measure's title, measure, binds or scope_note",
        )
    if measure.binds.startswith(NOT_BINDING_PREFIX) and measure.effect != "context":
        problems.add(
            POLICIES_FILE,
            entry,
            f"binds says {NOT_BINDING_PREFIX!r}: effect must be 'context', not {measure.effect!r}",
        )


def _check_fingerprints(
    fingerprints: Sequence[LoadedFingerprints], vendors: dict[str, Vendor], problems: _Problems
) -> None:
    rule_location: dict[str, str] = {}
    for loaded in fingerprints:
        for index, rule in enumerate(loaded.spec.rules):
            entry = f"rules[{index}] (id={rule.id})"
            location = f"{loaded.path} rules[{index}]"
            first = rule_location.setdefault(rule.id, location)
            if first != location:
                problems.add(
                    loaded.path, entry, f"duplicate rule id {rule.id!r} (first in {first})"
                )
            if not rule.source.strip():
                problems.add(loaded.path, entry, "source must not be blank")
            for claim_field in VOCABULARY_CLAIM_FIELDS:
                value = rule.asserts.get(claim_field)
                if value is not None and value not in vendors:
                    problems.add(
                        loaded.path,
                        entry,
                        _unknown_vendor_message(value, vendors, f"asserts.{claim_field}"),
                    )
            for example_index, example in enumerate(rule.examples):
                for claim_field in VOCABULARY_CLAIM_FIELDS:
                    value = example.expect.get(claim_field)
                    if value is not None and value not in vendors:
                        problems.add(
                            loaded.path,
                            f"{entry}.examples[{example_index}]",
                            _unknown_vendor_message(value, vendors, f"expect.{claim_field}"),
                        )


def _check_http_endpoints(endpoint_file: HttpEndpointFile, problems: _Problems) -> None:
    if len(endpoint_file.endpoints) > MAX_HTTP_ENDPOINTS:
        problems.add(
            HTTP_ENDPOINTS_FILE,
            "",
            f"{len(endpoint_file.endpoints)} endpoints; at most {MAX_HTTP_ENDPOINTS} "
            "(each costs a request per host)",
        )
    seen: set[str] = set()
    for index, endpoint in enumerate(endpoint_file.endpoints):
        entry = f"endpoints[{index}] (id={endpoint.id})"
        if endpoint.id in seen:
            problems.add(HTTP_ENDPOINTS_FILE, entry, f"duplicate endpoint id {endpoint.id!r}")
        seen.add(endpoint.id)
        if not endpoint.path.startswith("/"):
            problems.add(HTTP_ENDPOINTS_FILE, entry, "path must start with '/'")
        lowered = endpoint.path.lower()
        for fragment in FORBIDDEN_ENDPOINT_FRAGMENTS:
            if fragment in lowered:
                problems.add(
                    HTTP_ENDPOINTS_FILE, entry, f"path contains exploit fragment {fragment!r}"
                )
        if endpoint.method == "GET" and endpoint.body:
            problems.add(HTTP_ENDPOINTS_FILE, entry, "a GET endpoint must not have a body")
        if not endpoint.purpose.strip():
            problems.add(HTTP_ENDPOINTS_FILE, entry, "purpose must not be blank")
        _check_sources(HTTP_ENDPOINTS_FILE, entry, endpoint.sources, problems)


# --- security posture knowledge (issue 6) --------------------------------------------------

VULNERABILITIES_FILE = "vulnerabilities.yaml"
DEFAULT_ACCOUNTS_FILE = "default_accounts.yaml"
END_OF_LIFE_FILE = "eol.yaml"


@dataclass(frozen=True)
class PostureKnowledge:
    """Vulnerabilities, documented factory accounts and end-of-life statements."""

    vulnerabilities: tuple[VulnerabilityEntry, ...]
    default_accounts: tuple[DefaultAccount, ...]
    end_of_life: tuple[EndOfLifeEntry, ...]


def load_posture_knowledge(
    data_dir: Path | None = None, knowledge: Knowledge | None = None
) -> PostureKnowledge:
    """Load and cross-check the posture files (default: the bundled data, cached).

    Vendor names must be in the vocabulary, model patterns must compile, every firmware
    bound must parse in the range's basis, and every entry needs a source.
    Raises KnowledgeError listing every problem.
    """
    if data_dir is None and knowledge is None:
        return _load_bundled_posture()
    return _load_posture(Path(data_dir or DEFAULT_DATA_DIR), knowledge or load_knowledge(data_dir))


@functools.lru_cache(maxsize=1)
def _load_bundled_posture() -> PostureKnowledge:
    return _load_posture(DEFAULT_DATA_DIR, load_knowledge())


def _load_posture(data_dir: Path, knowledge: Knowledge) -> PostureKnowledge:
    from provscan.posture.versions import parse_firmware

    problems = _Problems(data_dir)
    files = (
        (VULNERABILITIES_FILE, VulnerabilityFile),
        (DEFAULT_ACCOUNTS_FILE, DefaultAccountFile),
        (END_OF_LIFE_FILE, EndOfLifeFile),
    )
    loaded: dict[str, BaseModel] = {}
    for name, model in files:
        if (data_dir / name).exists():
            parsed = _read_model(data_dir / name, name, model, problems)
            if parsed is not None:
                loaded[name] = parsed
    problems.raise_if_any()
    vulnerability_file = loaded.get(VULNERABILITIES_FILE)
    account_file = loaded.get(DEFAULT_ACCOUNTS_FILE)
    eol_file = loaded.get(END_OF_LIFE_FILE)
    vulnerabilities = (
        vulnerability_file.vulnerabilities
        if isinstance(vulnerability_file, VulnerabilityFile)
        else []
    )
    accounts = account_file.accounts if isinstance(account_file, DefaultAccountFile) else []
    eol = eol_file.entries if isinstance(eol_file, EndOfLifeFile) else []

    def check_vendors(file: str, entry: str, names: Iterable[str]) -> None:
        for name in names:
            if name not in knowledge.vendors:
                problems.add(
                    file, entry, _unknown_vendor_message(name, knowledge.vendors, "vendor")
                )

    def check_patterns(file: str, entry: str, patterns: Iterable[str | None]) -> None:
        for pattern in patterns:
            if pattern is None:
                continue
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                problems.add(file, entry, f"pattern {pattern!r} does not compile: {exc}")

    seen_cves: set[str] = set()
    for index, vulnerability in enumerate(vulnerabilities):
        entry = f"vulnerabilities[{index}] ({vulnerability.cve})"
        if vulnerability.cve in seen_cves:
            problems.add(VULNERABILITIES_FILE, entry, "duplicate CVE")
        seen_cves.add(vulnerability.cve)
        check_vendors(VULNERABILITIES_FILE, entry, vulnerability.vendors)
        _check_sources(VULNERABILITIES_FILE, entry, vulnerability.sources, problems)
        if vulnerability.kev.listed and not vulnerability.kev.date_added:
            problems.add(VULNERABILITIES_FILE, entry, "a KEV-listed CVE needs kev.date_added")
        for range_index, affected in enumerate(vulnerability.affected):
            range_entry = f"{entry}.affected[{range_index}]"
            check_patterns(
                VULNERABILITIES_FILE, range_entry, [*affected.products, affected.firmware_pattern]
            )
            bounds = (affected.introduced, affected.last_affected, affected.fixed)
            if affected.versions_published and not any(bounds):
                problems.add(
                    VULNERABILITIES_FILE,
                    range_entry,
                    "no bound given: set versions_published: false if the advisory has none",
                )
            if not affected.fixed_in and not affected.note and not vulnerability.uncertain:
                problems.add(
                    VULNERABILITIES_FILE,
                    range_entry,
                    "no fixed_in: say in a note or in 'uncertain' why none is published",
                )
            for bound in bounds:
                if bound is None:
                    continue
                bound_firmware = parse_firmware(bound)
                if bound_firmware is None:
                    problems.add(
                        VULNERABILITIES_FILE,
                        range_entry,
                        f"firmware bound {bound!r} does not parse",
                    )
                elif affected.basis == "build_date" and bound_firmware.build is None:
                    problems.add(
                        VULNERABILITIES_FILE,
                        range_entry,
                        f"bound {bound!r} has no build date but the basis is build_date",
                    )
                elif affected.basis == "version" and not bound_firmware.numbers:
                    problems.add(
                        VULNERABILITIES_FILE,
                        range_entry,
                        f"bound {bound!r} has no version numbers but the basis is version",
                    )
    seen_ids: set[str] = set()
    for index, account in enumerate(accounts):
        entry = f"accounts[{index}] (id={account.id})"
        if account.id in seen_ids:
            problems.add(DEFAULT_ACCOUNTS_FILE, entry, "duplicate id")
        seen_ids.add(account.id)
        check_vendors(DEFAULT_ACCOUNTS_FILE, entry, account.vendors)
        _check_sources(DEFAULT_ACCOUNTS_FILE, entry, account.sources, problems)
        if account.firmware_before is not None and parse_firmware(account.firmware_before) is None:
            problems.add(DEFAULT_ACCOUNTS_FILE, entry, "firmware_before does not parse")
    for index, eol_entry in enumerate(eol):
        entry = f"entries[{index}] (id={eol_entry.id})"
        check_vendors(END_OF_LIFE_FILE, entry, eol_entry.vendors)
        check_patterns(END_OF_LIFE_FILE, entry, eol_entry.products)
        _check_sources(END_OF_LIFE_FILE, entry, eol_entry.sources, problems)
        try:
            _parse_partial_date(eol_entry.effective, last_day=False)
        except ValueError as exc:
            problems.add(END_OF_LIFE_FILE, entry, f"bad effective date: {exc}")
    problems.raise_if_any()
    return PostureKnowledge(tuple(vulnerabilities), tuple(accounts), tuple(eol))


# --- vendor cloud endpoints (passive phone-home detection, issue 5) ---------------------

CLOUD_ENDPOINTS_FILE = "cloud_endpoints.yaml"


def load_cloud_endpoints(
    data_dir: Path | None = None, knowledge: Knowledge | None = None
) -> tuple[Any, ...]:
    """The reviewed vendor cloud/P2P/update endpoints (``cloud_endpoints.yaml``).

    Checks ids, vendor names against the vocabulary and sources; raises KnowledgeError
    listing every problem. Returns ``CloudEndpoint`` entries in file order.
    """
    from provscan.knowledge.schema import CloudEndpointFile

    directory = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    knowledge = knowledge or load_knowledge(data_dir)
    problems = _Problems(directory)
    endpoint_file = _read_model(
        directory / CLOUD_ENDPOINTS_FILE, CLOUD_ENDPOINTS_FILE, CloudEndpointFile, problems
    )
    problems.raise_if_any()
    assert endpoint_file is not None  # _read_model reported why otherwise
    seen_ids: set[str] = set()
    seen_names: dict[str, str] = {}
    for index, endpoint in enumerate(endpoint_file.endpoints):
        entry = f"endpoints[{index}] (id={endpoint.id})"
        if endpoint.id in seen_ids:
            problems.add(CLOUD_ENDPOINTS_FILE, entry, f"duplicate id {endpoint.id!r}")
        seen_ids.add(endpoint.id)
        if endpoint.vendor not in knowledge.vendors:
            problems.add(
                CLOUD_ENDPOINTS_FILE,
                entry,
                _unknown_vendor_message(endpoint.vendor, knowledge.vendors, "vendor"),
            )
        for name in [*endpoint.names, *endpoint.domains]:
            first = seen_names.setdefault(name, endpoint.id)
            if first != endpoint.id:
                problems.add(CLOUD_ENDPOINTS_FILE, entry, f"{name!r} is also listed by {first}")
        _check_sources(CLOUD_ENDPOINTS_FILE, entry, endpoint.sources, problems)
    problems.raise_if_any()
    return tuple(endpoint_file.endpoints)
