"""CISA's Known Exploited Vulnerabilities catalog (the JSON feed file as published) applied to
the ``kev`` status of the CVEs in ``vulnerabilities.yaml``.

Only the ``kev`` mapping of each entry changes, edited in place in the YAML text (comments and
every other field stay byte for byte). A CVE the data does not describe is never invented —
it has no affected-product ranges — but KEV entries naming a maker of the vocabulary are
listed so a maintainer can add them. Listings are never removed by an import: a catalog older
than the data may not yet list a CVE; such CVEs are reported instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from provscan.errors import InputError, KnowledgeError, ProvscanError
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
    SIGNATURE_FILE,
    BaseRecord,
    InstallResult,
    KevCatalogStamp,
    KevFeedRecord,
    Manifest,
    PackRefused,
    build_manifest,
    install_directory,
    install_pack,
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
#: A feed with fewer entries is not CISA's whole catalog (over 1,400 entries since 2025; it
#: only grows): refused unless ``--partial``, as a whole catalog moves the ``checked`` date of
#: every CVE it does not list, which a 3-entry file must not do.
MIN_WHOLE_CATALOG = 1000
#: Where the KEV feed files applied here are kept, in the knowledge home, so an import can
#: be applied again on top of a newer pack (``knowledge update``).
FEEDS_DIR = "kev-feeds"


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
    #: Applied with ``--partial``: CVEs the file does not list were left as they are.
    partial: bool = False


def apply_catalog(
    text: str, catalog: KevCatalog, *, partial: bool = False
) -> tuple[str, list[KevChange], list[str], list[str]]:
    """``vulnerabilities.yaml`` text with each CVE's ``kev`` mapping set from the catalog.

    Returns the new text, the changes, the CVEs listed, and the CVEs our data lists but the
    catalog does not. Only the text of changed ``kev`` mappings is replaced. With
    ``partial`` (a file holding part of the catalog) a CVE the file does not list is not
    touched: its absence says nothing.
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
        if entry is None and partial:
            continue
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


def check_whole_catalog(catalog: KevCatalog, feed: Path, *, partial: bool) -> None:
    """KevFeedProblem when a file far smaller than CISA's catalog is applied as the whole
    catalog (it would mark every CVE it does not list as checked and not listed)."""
    if not partial and catalog.count < MIN_WHOLE_CATALOG:
        raise KevFeedProblem(
            f"{feed} holds {catalog.count} entries: not the whole KEV catalog (CISA's has over "
            "1,400), and applying it as the whole catalog would mark every CVE it does not "
            "list as checked; give --partial to set only the CVEs it lists"
        )


def feeds_directory(home: Path | None = None) -> Path:
    return (home or knowledge_home()) / FEEDS_DIR


def keep_feed(feed: Path, catalog: KevCatalog, *, partial: bool) -> KevFeedRecord:
    """Copy the feed file into the knowledge home (named by its sha256) and describe it."""
    try:
        content = feed.read_bytes()
    except OSError as exc:
        raise KevFeedProblem(f"cannot read {feed}: {exc.strerror or exc}") from None
    name = hashlib.sha256(content).hexdigest()[:32] + ".json"
    directory = feeds_directory()
    target = directory / name
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not target.is_file() or target.read_bytes() != content:
            descriptor, temporary = tempfile.mkstemp(prefix=".feed-", dir=directory)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
            os.replace(temporary, target)
    except OSError as exc:
        raise KnowledgeError(
            f"cannot keep the KEV feed in {directory}: {exc.strerror or exc}"
        ) from None
    return KevFeedRecord(
        file=name,
        catalog_version=catalog.catalogVersion,
        released=catalog.released,
        partial=partial,
    )


def import_kev(
    feed: Path, *, dry_run: bool = False, allow_downgrade: bool = False, partial: bool = False
) -> tuple[KevImport, InstallResult | None]:
    """Apply a KEV feed file to the active knowledge and install the result as a new pack
    (``<version>+kev.<catalogVersion>``) through the same validation and atomic switch as
    ``knowledge update``. With ``dry_run``, only report. A file far smaller than the whole
    catalog is refused unless ``partial`` (then only the CVEs it lists are touched)."""
    catalog = read_kev_feed(feed)
    # Not verified here: a changed pack is refused below, as a PackRefused naming the repair.
    selection = active_selection(verify=False)
    source = selection.data_dir
    manifest = read_manifest(source)
    if not dry_run:
        mismatches = manifest_mismatches(source, manifest)
        if mismatches:
            raise PackRefused(
                f"the active knowledge at {source} does not match its manifest "
                f"({mismatches[0]}); {manifest_fix(selection.source)}"
            )
    check_whole_catalog(catalog, feed, partial=partial)
    original = (source / VULNERABILITIES_FILE).read_text(encoding="utf-8")
    updated, changes, listed, kept = apply_catalog(original, catalog, partial=partial)
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
        partial=partial,
    )
    if dry_run:
        return report, None
    record = keep_feed(feed, catalog, partial=partial)
    result = _install_kev_pack(
        source, manifest, updated, [*(manifest.kev_feeds or ()), record], allow_downgrade
    )
    return report, result


def _install_kev_pack(
    source: Path,
    manifest: Manifest,
    vulnerabilities: str,
    feeds: list[KevFeedRecord],
    allow_downgrade: bool,
) -> InstallResult:
    """Install ``source``'s knowledge with ``vulnerabilities`` as its KEV data: a pack
    recording the feeds applied and the pack they were applied on top of (the first one,
    for an import on an import: every other file is still that pack's)."""
    last = feeds[-1]
    base = manifest.base
    if base is None:
        signature = source / SIGNATURE_FILE
        base = BaseRecord(
            manifest=(source / MANIFEST_FILE).read_bytes().decode("utf-8"),
            signature=signature.read_text(encoding="ascii") if signature.is_file() else None,
        )
    suffix = ".partial" if last.partial else ""
    with staging_directory(knowledge_home()) as staging:
        for name in manifest.files:
            target = staging / name
            target.parent.mkdir(exist_ok=True)
            target.write_bytes((source / name).read_bytes())
        (staging / VULNERABILITIES_FILE).write_text(vulnerabilities, encoding="utf-8")
        new_manifest = build_manifest(
            staging,
            version=kev_pack_version(manifest.version, last.catalog_version + suffix),
            as_of=manifest.as_of,
            description=manifest.description,
            derived_from=manifest.version,
            kev_catalog=KevCatalogStamp(version=last.catalog_version, released=last.released),
            kev_feeds=feeds,
            base=base,
        )
        (staging / MANIFEST_FILE).write_text(render_manifest(new_manifest), encoding="utf-8")
        return install_directory(staging, allow_downgrade=allow_downgrade)


# --- carrying a KEV import over onto a newer pack ----------------------------------------------


@dataclass(frozen=True)
class CarryOver:
    """What became of the KEV import of the knowledge active before ``knowledge update``."""

    #: The catalog the import was made from (``2026.12.05``).
    catalog: str
    #: The KEV pack installed on top of the new pack (None: the import was not carried over).
    result: InstallResult | None
    #: One line for the user: what was done, or why not and the command that redoes it.
    message: str

    @property
    def dropped(self) -> bool:
        return self.result is None


def update_keeping_kev(
    archive: Path,
    *,
    allow_downgrade: bool = False,
    trusted_keys: Iterable[Path] = (),
    require_signature: bool = False,
    replace: bool = False,
) -> tuple[InstallResult, CarryOver | None]:
    """``knowledge update --from FILE``: install the pack, then apply again the KEV import of
    the knowledge that was active (its kept feed files, in order) when the new pack's own
    data is older than that catalog, so the active knowledge has both. None when the active
    knowledge had no KEV import or nothing was installed."""
    previous: Manifest | None = None
    with contextlib.suppress(ProvscanError):
        previous = read_manifest(active_selection(verify=False).data_dir)
    result = install_pack(
        archive,
        allow_downgrade=allow_downgrade,
        trusted_keys=trusted_keys,
        require_signature=require_signature,
        replace=replace,
    )
    if previous is None or previous.kev_catalog is None or not result.changed:
        return result, None
    return result, carry_over(previous, result)


def carry_over(previous: Manifest, installed: InstallResult) -> CarryOver | None:
    """Apply ``previous``'s KEV feeds on top of the pack just installed (see
    :func:`update_keeping_kev`)."""
    stamp = previous.kev_catalog
    assert stamp is not None
    new = read_manifest(installed.path)
    if new.kev_catalog is not None and new.kev_catalog.released >= stamp.released:
        return None  # the new pack brings the same catalog or a newer one
    redo = (
        f"redo it with `provscan kev import FILE` (the catalog file {stamp.version}, or a "
        "newer one)"
    )
    what = f"the KEV import of catalog {stamp.version} (released {stamp.released})"
    if new.as_of >= stamp.released:
        return CarryOver(
            stamp.version,
            None,
            f"{what} was not carried over: pack {new.version} was reviewed on {new.as_of}, "
            f"after that catalog; to apply it anyway {redo}",
        )
    home = knowledge_home()
    feeds = list(previous.kev_feeds or ())
    missing = [feed.file for feed in feeds if not (feeds_directory(home) / feed.file).is_file()]
    if not feeds or missing:
        return CarryOver(
            stamp.version,
            None,
            f"{what} was dropped: pack {new.version} does not have it and its feed file was "
            f"not kept (an import by an older provscan, or {FEEDS_DIR}/ was cleaned); {redo}",
        )
    try:
        text = (installed.path / VULNERABILITIES_FILE).read_text(encoding="utf-8")
        for record in feeds:
            catalog = read_kev_feed(feeds_directory(home) / record.file)
            text = apply_catalog(text, catalog, partial=record.partial)[0]
        result = _install_kev_pack(installed.path, new, text, feeds, allow_downgrade=False)
    except ProvscanError as exc:
        return CarryOver(stamp.version, None, f"{what} could not be carried over ({exc}); {redo}")
    return CarryOver(
        stamp.version,
        result,
        f"carried over {what}: installed {result.version} ({new.version} with that "
        f"catalog's KEV flags); `provscan knowledge update --rollback` goes back to "
        f"{new.version} without them",
    )
