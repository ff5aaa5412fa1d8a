"""CISA's Known Exploited Vulnerabilities catalog (the JSON feed file as published) applied to
the ``kev`` status of the CVEs in ``vulnerabilities.yaml``.

Only the ``kev`` mapping of each entry changes, edited in place in the YAML text (comments and
every other field stay byte for byte). A CVE the data does not describe is never invented —
it has no affected-product ranges — but KEV entries naming a maker of the vocabulary are
listed so a maintainer can add them. Listings are never removed by an import: a catalog older
than the data may not yet list a CVE; such CVEs are reported instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from provscan.errors import InputError
from provscan.knowledge.base import (
    MANIFEST_FILE,
    KnowledgeYamlLoader,
    active_selection,
    knowledge_home,
    parse_pack_version,
    parse_partial_date,
)
from provscan.knowledge.loader import Knowledge, load_knowledge
from provscan.knowledge.packs import (
    InstallResult,
    KevCatalogStamp,
    PackRefused,
    build_manifest,
    install_directory,
    manifest_fix,
    manifest_mismatches,
    read_manifest,
    render_manifest,
    staging_directory,
)
from provscan.knowledge.vulnerabilities import VULNERABILITIES_FILE

#: The published feed is about 1.5 MB; a file far larger is not the KEV feed.
MAX_FEED_BYTES = 64 * 1024 * 1024
_CATALOG_VERSION = re.compile(r"^[0-9][0-9A-Za-z.]{0,39}$")
_KEV_KEY_ORDER = ("listed", "date_added", "due_date", "checked", "note")


class KevFeedProblem(InputError):
    """A KEV feed file that cannot be used (nothing is changed)."""


class KevVulnerability(BaseModel):
    """One catalog entry: the fields the published schema requires (others are ignored, so a
    field CISA adds later does not break the import)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    cveID: str = Field(pattern=r"^CVE-[0-9]{4}-[0-9]{4,19}$")
    vendorProject: str
    product: str
    vulnerabilityName: str
    dateAdded: str
    shortDescription: str
    requiredAction: str
    dueDate: str
    knownRansomwareCampaignUse: str = ""

    @field_validator("dateAdded", "dueDate")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        date.fromisoformat(value)  # ValueError -> a validation error naming the field
        return value


class KevCatalog(BaseModel):
    """The feed file: ``catalogVersion``, ``dateReleased``, ``count`` and the entries."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    title: str = ""
    catalogVersion: str = Field(pattern=_CATALOG_VERSION.pattern)
    dateReleased: str
    count: int = Field(ge=0)
    vulnerabilities: list[KevVulnerability]

    @field_validator("dateReleased")
    @classmethod
    def _iso_datetime(cls, value: str) -> str:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value

    @property
    def released(self) -> str:
        """The release date, ``YYYY-MM-DD``."""
        return datetime.fromisoformat(self.dateReleased.replace("Z", "+00:00")).date().isoformat()


def read_kev_feed(path: Path) -> KevCatalog:
    """Parse a KEV feed file; KevFeedProblem (one line) when it is not one."""
    try:
        size = path.stat().st_size
        if size > MAX_FEED_BYTES:
            raise KevFeedProblem(f"{path} is {size} bytes: too large for a KEV feed file")
        data = json.loads(path.read_bytes())
    except KevFeedProblem:
        raise
    except OSError as exc:
        raise KevFeedProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise KevFeedProblem(f"{path} is not UTF-8 JSON: not a KEV feed file") from None
    except json.JSONDecodeError as exc:
        raise KevFeedProblem(
            f"{path} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    try:
        catalog = KevCatalog.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise KevFeedProblem(
            f"{path} is not a KEV feed file: {where}: {first['msg']}{more}"
        ) from None
    if catalog.count != len(catalog.vulnerabilities):
        raise KevFeedProblem(
            f"{path}: count says {catalog.count} entries but the file holds "
            f"{len(catalog.vulnerabilities)} (truncated or edited?)"
        )
    return catalog


@dataclass(frozen=True)
class KevChange:
    cve: str
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True)
class KevImport:
    """What an import found and changed."""

    catalog_version: str
    released: str
    catalog_count: int
    #: CVEs of our data the catalog lists.
    listed: tuple[str, ...]
    changes: tuple[KevChange, ...]
    #: CVEs our data marks as listed that this catalog does not list (left as they are).
    listed_here_not_in_catalog: tuple[str, ...]
    #: Catalog entries naming a maker we know, for CVEs our data does not describe.
    not_in_our_data: tuple[KevVulnerability, ...] = field(default=())


def apply_catalog(
    text: str, catalog: KevCatalog
) -> tuple[str, list[KevChange], list[str], list[str]]:
    """``vulnerabilities.yaml`` text with each CVE's ``kev`` mapping set from the catalog.

    Returns the new text, the changes, the CVEs listed, and the CVEs our data lists but the
    catalog does not. Only the text of changed ``kev`` mappings is replaced.
    """
    by_cve: dict[str, KevVulnerability] = {}
    for item in catalog.vulnerabilities:
        by_cve.setdefault(item.cveID, item)
    released = catalog.released
    edits: list[tuple[int, int, str]] = []
    changes: list[KevChange] = []
    listed: list[str] = []
    kept: list[str] = []
    for cve, node, values in _kev_nodes(text):
        # An unquoted YAML date reads as a date: compare as the ISO text the catalog gives,
        # so that an unchanged date is not reported (and rewritten) as a change.
        before = {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}
        entry = by_cve.get(cve)
        after = dict(before)
        if entry is not None:
            listed.append(cve)
            if not before.get("listed"):
                after["note"] = (
                    f"Listed in the CISA KEV catalog {catalog.catalogVersion} "
                    f"(released {released}); imported with provscan kev import."
                )
            after.update(listed=True, date_added=entry.dateAdded, due_date=entry.dueDate)
            after["checked"] = _later(before.get("checked"), released)
        elif before.get("listed"):
            kept.append(cve)
        else:
            after["checked"] = _later(before.get("checked"), released)
        if after != before:
            changes.append(KevChange(cve, before, after))
            edits.extend(_replacements(text, node, before, after))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text, changes, listed, kept


def _later(current: object, released: str) -> str:
    """The later of an existing ``checked`` date and the catalog's release date."""
    if not isinstance(current, str):
        return released
    try:
        if parse_partial_date(current, last_day=True) >= date.fromisoformat(released):
            return current
    except ValueError:
        pass
    return released


def _kev_nodes(text: str) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """``(cve, kev mapping node, kev values)`` for every entry of vulnerabilities.yaml."""
    loader = KnowledgeYamlLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    if root is None or not isinstance(data, dict):
        return
    entries_node = next(
        (value for key, value in root.value if key.value == "vulnerabilities"), None
    )
    if entries_node is None:
        return
    for entry_node, entry in zip(entries_node.value, data["vulnerabilities"], strict=True):
        kev_node = next((value for key, value in entry_node.value if key.value == "kev"), None)
        if kev_node is not None and isinstance(entry.get("kev"), dict):
            yield str(entry["cve"]), kev_node, dict(entry["kev"])


def _replacements(
    text: str, node: Any, before: dict[str, Any], after: dict[str, Any]
) -> list[tuple[int, int, str]]:
    """Text edits turning a ``kev`` mapping node from ``before`` into ``after``.

    A flow mapping (``{listed: false, ...}``) is rewritten whole, in flow style. In a block
    mapping only the changed values are replaced and new keys follow the last one, so the
    unchanged lines (a folded note, say) stay as they were written.
    """

    def rendered(key: str) -> str:
        return json.dumps(after[key], ensure_ascii=False)

    keys = [key for key in _KEV_KEY_ORDER if key in after] + [
        key for key in after if key not in _KEV_KEY_ORDER
    ]
    if node.flow_style:
        pairs = ", ".join(f"{key}: {rendered(key)}" for key in keys)
        return [(node.start_mark.index, node.end_mark.index, "{" + pairs + "}")]
    indent = "\n" + " " * node.start_mark.column
    added = "".join(f"{indent}{key}: {rendered(key)}" for key in keys if key not in before)
    edits: list[tuple[int, int, str]] = []
    last = len(node.value) - 1
    for position, (key_node, value_node) in enumerate(node.value):
        key = key_node.value
        start, end = value_node.start_mark.index, value_node.end_mark.index
        old = text[start:end]
        trailing = old[len(old.rstrip()) :]  # a block scalar's span ends after its line break
        changed = key in after and after[key] != before.get(key)
        if changed or (position == last and added):
            value = rendered(key) if changed else old.rstrip()
            tail = added if position == last else ""
            edits.append((start, end, value + tail + trailing))
    return edits


def makers_not_in_data(
    catalog: KevCatalog, knowledge: Knowledge, known_cves: set[str]
) -> list[KevVulnerability]:
    """Catalog entries whose vendorProject is a maker of the vocabulary but whose CVE our
    vulnerability data does not describe, in catalog order."""
    return [
        entry
        for entry in catalog.vulnerabilities
        if entry.cveID not in known_cves and knowledge.canonical_vendor(entry.vendorProject)
    ]


def kev_pack_version(base_version: str, catalog_version: str) -> str:
    """``2026.12.0`` + catalog ``2026.08.07`` -> ``2026.12.0+kev.2026.08.07``."""
    parsed = parse_pack_version(base_version)
    public = parsed.public if parsed is not None else base_version
    return f"{public}+kev.{catalog_version}"


def import_kev(
    feed: Path, *, dry_run: bool = False, allow_downgrade: bool = False
) -> tuple[KevImport, InstallResult | None]:
    """Apply a KEV feed file to the active knowledge and install the result as a new pack
    (``<version>+kev.<catalogVersion>``) through the same validation and atomic switch as
    ``knowledge update``. With ``dry_run``, only report."""
    catalog = read_kev_feed(feed)
    # Not verified here: a changed pack is refused below, as a PackRefused naming the repair.
    selection = active_selection(verify=False)
    source = selection.data_dir
    manifest = read_manifest(source)
    original = (source / VULNERABILITIES_FILE).read_text(encoding="utf-8")
    updated, changes, listed, kept = apply_catalog(original, catalog)
    knowledge = load_knowledge(source)
    known_cves = {cve for cve, _node, _kev in _kev_nodes(original)}
    report = KevImport(
        catalog_version=catalog.catalogVersion,
        released=catalog.released,
        catalog_count=catalog.count,
        listed=tuple(listed),
        changes=tuple(changes),
        listed_here_not_in_catalog=tuple(kept),
        not_in_our_data=tuple(makers_not_in_data(catalog, knowledge, known_cves)),
    )
    if dry_run:
        return report, None
    mismatches = manifest_mismatches(source, manifest)
    if mismatches:
        raise PackRefused(
            f"the active knowledge at {source} does not match its manifest ({mismatches[0]}); "
            f"{manifest_fix(selection.source)}"
        )
    with staging_directory(knowledge_home()) as staging:
        for name in manifest.files:
            target = staging / name
            target.parent.mkdir(exist_ok=True)
            target.write_bytes((source / name).read_bytes())
        (staging / VULNERABILITIES_FILE).write_text(updated, encoding="utf-8")
        new_manifest = build_manifest(
            staging,
            version=kev_pack_version(manifest.version, catalog.catalogVersion),
            as_of=manifest.as_of,
            description=manifest.description,
            derived_from=manifest.version,
            kev_catalog=KevCatalogStamp(version=catalog.catalogVersion, released=catalog.released),
        )
        (staging / MANIFEST_FILE).write_text(render_manifest(new_manifest), encoding="utf-8")
        result = install_directory(staging, allow_downgrade=allow_downgrade)
    return report, result
