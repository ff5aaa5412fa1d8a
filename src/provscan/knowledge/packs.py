"""Knowledge packs: the version and as-of date of the knowledge in use, installing a pack from a
file the user brings (validated before an atomic switch), rolling back, and exporting one.

A pack is a ``.tar.gz`` of the data files (``*.yaml`` and ``fingerprints/*.yaml``) and a
``manifest.yaml`` holding the pack's version, as-of date, entry counts and a sha256 per file.
Installed packs live in :func:`~provscan.knowledge.base.knowledge_home` (one directory per
version); ``active.json`` there names the active one and the ones before it. Nothing here
opens a network connection: packs come from files.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import Field, ValidationError

if TYPE_CHECKING:
    # cryptography is imported where keys and signatures are handled: every command reads the
    # pack state at start-up, few check a signature (issue 14, start-up).
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

from provscan.errors import InputError, KnowledgeError
from provscan.knowledge.base import (
    BUNDLED_DATA_DIR,
    MANIFEST_FILE,
    POINTER_FILE,
    KnowledgeYamlLoader,
    PackPointer,
    StrictModel,
    active_selection,
    bundled_version,
    data_file_names,
    file_hash_problems,
    installed_pack_problems,
    knowledge_home,
    parse_pack_version,
    parse_partial_date,
    read_pointer,
)
from provscan.knowledge.verify import KNOWN_FILES, verify_knowledge

#: The one file a KEV import changes (``kev import`` edits only its ``kev`` mappings).
KEV_DATA_FILE = "vulnerabilities.yaml"
#: The name every provscan knowledge pack carries in its manifest.
PACK_NAME = "provscan-knowledge"
MANIFEST_FORMAT: Literal[1] = 1

#: Knowledge older than this (days since its as-of date) is reported as stale.
DEFAULT_MAX_AGE_DAYS = 180
#: ``knowledge status`` flags the oldest source check (the oldest ``checked`` date in the
#: data) when it is older than this: a source looked at over a year ago (a vendor page, a
#: registry, a measure's text) may have changed since, whatever the pack's as-of date says.
SOURCE_CHECK_MAX_AGE_DAYS = 365
MAX_AGE_ENV = "PROVSCAN_KNOWLEDGE_MAX_AGE_DAYS"

# Limits for reading a pack, which is hostile data until it is validated. The bundled data is
# well under 2 MB in some 60 files.
MAX_ARCHIVE_BYTES = 16 * 1024 * 1024
MAX_MEMBER_BYTES = 8 * 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 1000
#: How many earlier active versions ``active.json`` remembers for ``--rollback``.
MAX_HISTORY = 20

#: A detached Ed25519 signature over the exact bytes of ``manifest.yaml`` (base64).
SIGNATURE_FILE = "manifest.sig"
#: Public keys (PEM files, separated like PATH) whose signatures ``knowledge update`` trusts.
TRUSTED_KEYS_ENV = "PROVSCAN_KNOWLEDGE_TRUSTED_KEYS"
#: Public keys of provscan's own releases: the ``*.pem`` files here, outside the data
#: directory (a pack never brings its own trust). None yet: ``trusted_keys/README.md`` says how
#: a maintainer makes the release key and adds it; once one is here, every pack installed with
#: ``knowledge update`` must carry a trusted signature.
BUNDLED_KEYS_DIR = Path(__file__).resolve().parent / "trusted_keys"

_MEMBER_NAME = re.compile(r"^(?:fingerprints/)?[a-z0-9][a-z0-9_.-]{0,100}\.yaml$")
_VERSION_TEXT = re.compile(r"^[0-9][0-9A-Za-z.+-]{0,63}$")
_AS_OF = re.compile(r"^\d{4}-\d{2}-\d{2}$")

#: Entry counts shown per kind of knowledge: (kind, file or "fingerprints/", list key).
COUNTED_KINDS: tuple[tuple[str, str, str], ...] = (
    ("vendors", "vendors.yaml", "vendors"),
    ("families", "families.yaml", "families"),
    ("relations", "relations.yaml", "relations"),
    ("policies", "policies.yaml", "policies"),
    ("fingerprint_rules", "fingerprints/", "rules"),
    ("model_grammars", "model_grammars.yaml", "grammars"),
    ("vulnerabilities", "vulnerabilities.yaml", "vulnerabilities"),
    ("default_accounts", "default_accounts.yaml", "accounts"),
    ("end_of_life", "eol.yaml", "entries"),
    ("cloud_endpoints", "cloud_endpoints.yaml", "endpoints"),
    ("http_endpoints", "http_endpoints.yaml", "endpoints"),
    ("oui_owners", "oui_owners.yaml", "owners"),
    ("device_api_requests", "device_api.yaml", "requests"),
)


class PackRefused(InputError):
    """A pack (or KEV feed) that is not installed: damaged, tampered, unsafe or older."""


class KevCatalogStamp(StrictModel):
    """The CISA KEV catalog a pack's KEV flags were imported from."""

    version: str
    released: str


class KevFeedRecord(StrictModel):
    """A KEV feed file applied to a pack, kept in the knowledge home (``kev-feeds/FILE``) so
    the import can be applied again on top of a newer pack (``knowledge update``)."""

    file: str = Field(pattern=r"^[0-9a-f]{16,64}\.json$")
    catalog_version: str
    released: str
    #: Applied with ``--partial``: only the CVEs the file lists were touched.
    partial: bool = False


class BaseRecord(StrictModel):
    """The pack a KEV import was made on top of: its ``manifest.yaml`` byte for byte and its
    ``manifest.sig`` when it was signed, so that the import (which is not signed) can be
    checked against a signed base: every file but ``vulnerabilities.yaml`` must be the base's."""

    manifest: str
    signature: str | None = None


class Manifest(StrictModel):
    """``manifest.yaml``: what a knowledge directory is and the sha256 of each data file."""

    format: Literal[1]
    name: str
    version: str = Field(pattern=_VERSION_TEXT.pattern)
    as_of: str = Field(pattern=_AS_OF.pattern)
    description: str = ""
    #: The pack this one was made from (e.g. by ``provscan kev import``).
    derived_from: str | None = None
    kev_catalog: KevCatalogStamp | None = None
    #: The KEV feed files applied on top of ``base``, in order (``kev import``).
    kev_feeds: list[KevFeedRecord] | None = None
    #: The pack a KEV import was made on top of (the first one, for imports on imports).
    base: BaseRecord | None = None
    #: The oldest ``checked`` date in the data (when a source was last looked at), if any.
    oldest_source_check: str | None = None
    counts: dict[str, int]
    #: Relative path (``vendors.yaml``, ``fingerprints/sadp.yaml``) -> sha256 hex digest.
    files: dict[str, str]


# --- reading a knowledge directory -----------------------------------------------------------


def data_files(data_dir: Path) -> list[str]:
    """The data files of a directory as relative paths, sorted (the manifest excluded)."""
    return data_file_names(data_dir)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=KnowledgeYamlLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def count_entries(data_dir: Path) -> dict[str, int]:
    """How many entries each kind of knowledge has (a kind whose file is absent is left out)."""
    counts: dict[str, int] = {}
    for kind, name, key in COUNTED_KINDS:
        if name.endswith("/"):
            paths = sorted((data_dir / name).glob("*.yaml"))
            if not paths:
                continue
        elif (data_dir / name).is_file():
            paths = [data_dir / name]
        else:
            continue
        total = 0
        for path in paths:
            data = _load_yaml(path)
            entries = data.get(key) if isinstance(data, dict) else None
            total += len(entries) if isinstance(entries, list) else 0
        counts[kind] = total
    return counts


def _checked_dates(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "checked" and isinstance(value, str):
                yield value
            else:
                yield from _checked_dates(value)
    elif isinstance(node, list):
        for item in node:
            yield from _checked_dates(item)


def oldest_source_check(data_dir: Path) -> str | None:
    """The oldest ``checked`` date (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``) in any data file."""
    oldest: tuple[date, str] | None = None
    for name in data_files(data_dir):
        for text in _checked_dates(_load_yaml(data_dir / name)):
            try:
                day = parse_partial_date(text, last_day=False)
            except ValueError:
                continue
            if oldest is None or day < oldest[0]:
                oldest = (day, text)
    return oldest[1] if oldest else None


def build_manifest(
    data_dir: Path,
    *,
    version: str,
    as_of: str,
    description: str = "",
    derived_from: str | None = None,
    kev_catalog: KevCatalogStamp | None = None,
    kev_feeds: list[KevFeedRecord] | None = None,
    base: BaseRecord | None = None,
) -> Manifest:
    """A manifest describing ``data_dir`` as it is now (hashes, counts, oldest check)."""
    try:
        return Manifest(
            format=MANIFEST_FORMAT,
            name=PACK_NAME,
            version=version,
            as_of=as_of,
            description=description,
            derived_from=derived_from,
            kev_catalog=kev_catalog,
            kev_feeds=kev_feeds,
            base=base,
            oldest_source_check=oldest_source_check(data_dir),
            counts=count_entries(data_dir),
            files={name: sha256_of(data_dir / name) for name in data_files(data_dir)},
        )
    except ValidationError as exc:
        raise InputError(f"bad manifest value: {_first_error(exc)}") from None


def render_manifest(manifest: Manifest) -> str:
    """The manifest as YAML, with a header saying how it is made."""
    header = (
        "# The version, as-of date, entry counts and file hashes of this knowledge pack.\n"
        "# Generated: after editing any data file run  .venv/bin/python scripts/gen_manifest.py\n"
    )
    body = yaml.safe_dump(
        manifest.model_dump(mode="json", exclude_none=True),
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return header + body


def read_manifest(data_dir: Path) -> Manifest:
    """The manifest of a knowledge directory; InputError (one line) when absent or malformed."""
    path = data_dir / MANIFEST_FILE
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=KnowledgeYamlLoader)
    except FileNotFoundError:
        raise PackRefused(f"no {MANIFEST_FILE} in {data_dir}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PackRefused(f"{path} cannot be read: {' '.join(str(exc).split())}") from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise PackRefused(f"{path} is not a valid manifest: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def manifest_mismatches(data_dir: Path, manifest: Manifest) -> list[str]:
    """What differs between a directory's files and its manifest (empty: they match)."""
    return file_hash_problems(data_dir, manifest.files)


def source_checkout() -> bool:
    """Whether the bundled knowledge is read from a source checkout (a maintainer's, with
    ``scripts/gen_manifest.py`` next to ``src/``) rather than an installed provscan."""
    return (BUNDLED_DATA_DIR.parents[3] / "scripts" / "gen_manifest.py").is_file()


def manifest_fix(source: Literal["bundled", "installed"]) -> str:
    """How to mend knowledge whose files do not match its manifest (or do not load)."""
    if source == "installed":
        return (
            "repair it with `provscan knowledge update --from FILE` (the same pack file), or "
            "go back with `provscan knowledge update --rollback`"
        )
    if source_checkout():
        return "in this source checkout run `.venv/bin/python scripts/gen_manifest.py`"
    return "reinstall provscan"


# --- what is active ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PackInfo:
    """The knowledge in use: what reports and ``knowledge status`` show."""

    name: str
    version: str
    as_of: str
    source: Literal["bundled", "installed"]
    path: Path
    counts: dict[str, int]
    oldest_source_check: str | None
    kev_catalog: KevCatalogStamp | None = None
    derived_from: str | None = None
    #: The bundled version (equal to ``version`` when the bundled knowledge is active).
    bundled_version: str = ""
    #: Why an installed pack named by the pointer is not used, if it is not.
    note: str = ""
    #: Whether the files still match the manifest's hashes (None: not checked).
    intact: bool | None = None
    problems: tuple[str, ...] = field(default=())

    def age_days(self, today: date | None = None) -> int:
        """Days since the as-of date."""
        return ((today or date.today()) - date.fromisoformat(self.as_of)).days

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (what ``knowledge status --format json`` and reports carry)."""
        return {
            "name": self.name,
            "version": self.version,
            "as_of": self.as_of,
            "source": self.source,
            "path": str(self.path),
            "bundled_version": self.bundled_version,
            "derived_from": self.derived_from,
            "kev_catalog": self.kev_catalog.model_dump() if self.kev_catalog else None,
            "oldest_source_check": self.oldest_source_check,
            "counts": dict(self.counts),
            "note": self.note,
        }


def active_pack(*, check_hashes: bool = False) -> PackInfo:
    """The version, as-of date, counts and origin of the knowledge every loader reads.

    With ``check_hashes``, also whether the files still match the manifest (``intact``).
    Raises KnowledgeError when the pointer to an installed pack is damaged, or (unless
    ``check_hashes``, which reports it in ``problems``) when the pack's files were changed.
    """
    selection = active_selection(verify=not check_hashes)
    manifest = read_manifest(selection.data_dir)
    bundled = manifest if selection.source == "bundled" else read_manifest(BUNDLED_DATA_DIR)
    problems = tuple(manifest_mismatches(selection.data_dir, manifest)) if check_hashes else ()
    return PackInfo(
        name=manifest.name,
        version=manifest.version,
        as_of=manifest.as_of,
        source=selection.source,
        path=selection.data_dir,
        counts=dict(manifest.counts),
        oldest_source_check=manifest.oldest_source_check,
        kev_catalog=manifest.kev_catalog,
        derived_from=manifest.derived_from,
        bundled_version=bundled.version,
        note=selection.note,
        intact=(not problems) if check_hashes else None,
        problems=problems,
    )


def max_age_days_from_env(default: int = DEFAULT_MAX_AGE_DAYS) -> int:
    """``PROVSCAN_KNOWLEDGE_MAX_AGE_DAYS`` (a whole number of days ≥ 1), else ``default``."""
    from provscan.config import whole_number_problem

    text = os.environ.get(MAX_AGE_ENV, "").strip()
    if not text:
        return default
    problem = whole_number_problem(MAX_AGE_ENV, text, 1, None, "days")
    if problem is not None:
        raise InputError(problem)
    return int(text)


def staleness_warning(
    pack: PackInfo | None = None, *, max_age_days: int | None = None, today: date | None = None
) -> str | None:
    """One line saying the knowledge is older than the allowed age, or None when it is not.

    ``max_age_days`` defaults to ``PROVSCAN_KNOWLEDGE_MAX_AGE_DAYS`` or 180. Never raises:
    a bad setting or pack file becomes the warning itself; None when the active knowledge
    cannot be used at all (a damaged pointer, a pack changed on disk), which the command's
    own error then says once.
    """
    try:
        limit = max_age_days if max_age_days is not None else max_age_days_from_env()
        info = pack or active_pack()
    except KnowledgeError:
        return None
    except InputError as exc:  # a bad PROVSCAN_KNOWLEDGE_MAX_AGE_DAYS: said, and the default used
        bad = f"{exc}: ignored, using the default, {DEFAULT_MAX_AGE_DAYS} days"
        stale = staleness_warning(pack, max_age_days=DEFAULT_MAX_AGE_DAYS, today=today)
        return bad if stale is None else f"{bad}; {stale}"
    age = info.age_days(today)
    if age <= limit:
        return None
    # What the warning measures is the as-of date: only a newer pack moves it. A KEV import
    # refreshes the KEV flags alone (measures, rules and CVE ranges stay as reviewed), so it
    # is named for what it does, and an import already made is said (issue: review point 6).
    kev = (
        f"; its KEV flags are from catalog {info.kev_catalog.version} (released "
        f"{info.kev_catalog.released}), which does not renew the rest"
        if info.kev_catalog is not None
        else ""
    )
    return (
        f"knowledge {info.version} is {age} day{'' if age == 1 else 's'} old (as of "
        f"{info.as_of}; limit {limit} day{'' if limit == 1 else 's'}){kev}: "
        "measures and CVEs may have changed; install a newer pack with "
        "`provscan knowledge update --from FILE` (`provscan kev import FILE` refreshes only "
        "the KEV flags, not the as-of date this counts from)"
    )


def source_check_age_days(pack: PackInfo, today: date | None = None) -> int | None:
    """Days since the oldest source check (a partial date counts from its last day); None
    when the data records none."""
    if not pack.oldest_source_check:
        return None
    try:
        checked = parse_partial_date(pack.oldest_source_check, last_day=True)
    except ValueError:
        return None
    return ((today or date.today()) - checked).days


# --- installing, rolling back -----------------------------------------------------------------


@dataclass(frozen=True)
class InstallResult:
    version: str
    previous: str | None
    path: Path
    #: False when this exact pack was already the active one (nothing changed).
    changed: bool = True
    #: The fingerprint of the trusted key that signed the pack (None: not checked).
    signed_by: str | None = None
    #: An installed copy of this pack whose files had been changed or damaged was replaced.
    repaired: bool = False
    #: The pack has the bundled knowledge's version but other content, and now takes its
    #: place (``--replace``): no installed pack was replaced.
    over_bundled: bool = False


def installed_versions(home: Path | None = None) -> list[str]:
    """The pack versions installed in ``home`` (directories holding a manifest), sorted."""
    home = home or knowledge_home()
    if not home.is_dir():
        return []
    found = [
        path.name
        for path in home.iterdir()
        if path.is_dir() and not path.name.startswith(".") and (path / MANIFEST_FILE).is_file()
    ]
    return sorted(found, key=lambda name: (parse_pack_version(name) is None, str(name)))


def install_pack(
    archive: Path,
    *,
    allow_downgrade: bool = False,
    trusted_keys: Iterable[Path] = (),
    require_signature: bool = False,
    replace: bool = False,
) -> InstallResult:
    """Validate the pack in ``archive`` and make it the active knowledge.

    Refused (PackRefused, nothing changed) when the archive is unsafe or damaged, a hash does
    not match, a file fails its schema or the knowledge self-tests, its version is older
    than the active one without ``allow_downgrade`` (or older than the bundled knowledge), a
    different pack of its version is installed without ``replace``, or its signature is bad.
    An installed copy of the same pack that was changed on disk is repaired. A signature is
    required when ``require_signature`` or when any trusted key is given (here, in
    ``PROVSCAN_KNOWLEDGE_TRUSTED_KEYS`` or bundled).
    """
    keys = trusted_public_keys(trusted_keys)
    home = knowledge_home()
    with staging_directory(home) as staging:
        extract_pack(archive, staging)
        signed_by = check_signature(staging, keys, required=require_signature or bool(keys))
        result = install_directory(staging, allow_downgrade=allow_downgrade, replace=replace)
    return dataclasses.replace(result, signed_by=signed_by)


# --- signatures -------------------------------------------------------------------------------


def key_fingerprint(key: Ed25519PublicKey) -> str:
    """``ed25519:`` and the first 16 hex digits of the sha256 of the raw public key."""
    from cryptography.hazmat.primitives import serialization

    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def _public_key(text: bytes, where: str) -> Ed25519PublicKey:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(text)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InputError(f"{where} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{where} is not an Ed25519 public key")
    return key


def bundled_key_files() -> list[Path]:
    """The release keys shipped with provscan (``*.pem`` in :data:`BUNDLED_KEYS_DIR`)."""
    if not BUNDLED_KEYS_DIR.is_dir():
        return []
    return sorted(BUNDLED_KEYS_DIR.glob("*.pem"))


def trusted_public_keys(extra: Iterable[Path] = ()) -> list[Ed25519PublicKey]:
    """The bundled keys, the files in ``PROVSCAN_KNOWLEDGE_TRUSTED_KEYS`` and ``extra``."""
    keys: list[Ed25519PublicKey] = []
    from_env = [Path(part) for part in os.environ.get(TRUSTED_KEYS_ENV, "").split(os.pathsep)]
    for path in [
        *bundled_key_files(),
        *(path for path in from_env if str(path) not in ("", ".")),
        *extra,
    ]:
        try:
            text = path.read_bytes()[:MAX_MEMBER_BYTES]
        except OSError as exc:
            raise InputError(f"cannot read key {path}: {exc.strerror or exc}") from None
        keys.append(_public_key(text, str(path)))
    return keys


def check_signature(data_dir: Path, keys: list[Ed25519PublicKey], *, required: bool) -> str | None:
    """The fingerprint of the trusted key whose signature ``manifest.sig`` is, or None when
    the pack is unsigned (or no key is trusted) and no signature is required."""
    from cryptography.exceptions import InvalidSignature

    signature_path = data_dir / SIGNATURE_FILE
    if not signature_path.is_file():
        if required:
            raise PackRefused("the pack is not signed, and a signature is required")
        return None
    if not keys:
        if required:
            raise PackRefused("a signature is required but no trusted key is configured")
        return None
    try:
        signature = base64.b64decode(signature_path.read_bytes().strip(), validate=True)
    except (ValueError, binascii.Error):
        raise PackRefused(f"{SIGNATURE_FILE} is not base64: the signature is damaged") from None
    manifest_bytes = (data_dir / MANIFEST_FILE).read_bytes()
    for key in keys:
        try:
            key.verify(signature, manifest_bytes)
        except InvalidSignature:
            continue
        return key_fingerprint(key)
    raise PackRefused(
        "the pack's signature does not match its manifest under any trusted key "
        "(tampered, or signed by a key you do not trust)"
    )


#: What re-checking a pack's signature found: ``valid`` (a trusted key signed this manifest),
#: ``unsigned`` (no ``manifest.sig``), ``unchecked`` (signed, but no key is trusted here),
#: ``invalid`` (the signature matches no trusted key, or ``manifest.sig`` is damaged).
SignatureState = Literal["valid", "unsigned", "unchecked", "invalid"]


@dataclass(frozen=True)
class PackVerification:
    """``knowledge status``'s re-check of the active knowledge: every file against the
    manifest's hashes, and the manifest against its signature when the pack is signed."""

    version: str
    source: Literal["bundled", "installed"]
    #: Differences between the files and the manifest (empty: every hash matches).
    problems: tuple[str, ...]
    signature: SignatureState
    #: The trusted key that signed the manifest (``signature == "valid"``).
    signed_by: str | None = None
    #: Why the signature is ``invalid``.
    signature_problem: str | None = None
    #: Whether any key is trusted here (bundled, environment or ``--trust-key``).
    keys_trusted: bool = False
    #: A KEV import made here: the version of the pack it was made on top of.
    base_version: str | None = None
    #: The trusted key that signed that base pack's manifest (None: unsigned or unchecked).
    base_signed_by: str | None = None
    #: How the KEV import differs from its base beyond the KEV data (tampering after it).
    base_problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True unless a file differs from the manifest, the signature does not verify, or a
        KEV import made here differs from the (signed) pack it was made on top of beyond
        its KEV data."""
        return not self.problems and self.signature != "invalid" and not self.base_problems

    def warning(self) -> str | None:
        """One line when a key is trusted but the active pack is unsigned (exit code stays 0:
        every file matches; the line says what, if anything, vouches for them)."""
        if not (self.ok and self.keys_trusted and self.signature == "unsigned"):
            return None
        if self.source == "bundled":
            return None
        head = f"the active knowledge {self.version} is not signed although a key is trusted"
        if self.base_version is not None and self.base_signed_by is not None:
            return (
                f"{head}: it is a KEV import made here on top of signed pack "
                f"{self.base_version} (signed by {self.base_signed_by}); every file but "
                f"{KEV_DATA_FILE} matches that pack's signed manifest, and {KEV_DATA_FILE} is "
                "vouched for by nothing but this machine"
            )
        if self.base_version is not None:
            return (
                f"{head}: it is a KEV import made here on top of pack {self.base_version}, "
                "which is not signed either: nothing vouches for who made it; install a signed "
                "pack with `provscan knowledge update --from FILE`"
            )
        return (
            f"{head} (installed before the key was trusted?): nothing vouches for who made "
            "it; install a signed pack with `provscan knowledge update --from FILE`"
        )

    def summary(self) -> str:
        """One line: what was checked and what it showed."""
        if self.problems:
            more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            return (
                f"the active knowledge {self.version} is damaged or was changed after it was "
                f"installed: {self.problems[0]}{more}"
            )
        if self.signature == "invalid":
            return f"the active knowledge {self.version} does not verify: {self.signature_problem}"
        if self.base_problems:
            more = (
                f" (and {len(self.base_problems) - 1} more)" if len(self.base_problems) > 1 else ""
            )
            return (
                f"the active knowledge {self.version} does not verify: it is a KEV import made "
                f"on top of pack {self.base_version or '(unreadable)'}, and "
                f"{self.base_problems[0]}{more}: changed after the import"
            )
        files = "every file matches the manifest's sha256"
        if self.signature == "valid":
            return f"verified: {files}, and the manifest is signed by {self.signed_by}"
        if self.signature == "unchecked":
            return (
                f"verified: {files}; signed, not checked: no trusted key (give one with "
                "--trust-key FILE)"
            )
        origin = "bundled with provscan" if self.source == "bundled" else "an unsigned pack"
        if self.base_version is not None:
            signed = f"signed by {self.base_signed_by}" if self.base_signed_by else "not checked"
            origin = (
                f"an unsigned KEV import made here on top of pack {self.base_version}, whose "
                f"other files it matches; that pack's signature: {signed}"
            )
        return (
            f"verified: {files} ({origin}: the hashes show the files are as the manifest lists "
            "them, not who made them)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "verified": self.ok,
            "summary": self.summary(),
            "files_match_manifest": not self.problems,
            "manifest_problems": list(self.problems),
            "signature": self.signature,
            "signed_by": self.signed_by,
            "signature_problem": self.signature_problem,
            "signature_warning": self.warning(),
            "kev_import_base": (
                None
                if self.base_version is None
                else {
                    "version": self.base_version,
                    "signed_by": self.base_signed_by,
                    "problems": list(self.base_problems),
                }
            ),
        }


def verify_active_pack(
    pack: PackInfo | None = None, *, trusted_keys: Iterable[Path] = ()
) -> PackVerification:
    """Re-check the active knowledge as ``knowledge update`` checked it when it was installed:
    each file's sha256 against the manifest, and ``manifest.sig`` against the trusted keys
    (bundled, ``PROVSCAN_KNOWLEDGE_TRUSTED_KEYS`` and ``trusted_keys``) when the pack has one.

    Raises InputError for an unreadable trusted key and KnowledgeError for a damaged pointer.
    """
    keys = trusted_public_keys(trusted_keys)
    info = pack if pack is not None and pack.intact is not None else active_pack(check_hashes=True)
    signed_by: str | None = None
    problem: str | None = None
    state: SignatureState
    if not (info.path / SIGNATURE_FILE).is_file():
        state = "unsigned"
    elif not keys:
        state = "unchecked"
    else:
        try:
            signed_by = check_signature(info.path, keys, required=True)
            state = "valid"
        except PackRefused as exc:
            state, problem = "invalid", str(exc).removeprefix("the pack's ")
        except OSError as exc:
            state, problem = "invalid", f"{SIGNATURE_FILE} cannot be read: {exc.strerror or exc}"
    base_version: str | None = None
    base_signed_by: str | None = None
    base_problems: tuple[str, ...] = ()
    if info.source == "installed" and not info.problems:
        with contextlib.suppress(PackRefused):
            manifest = read_manifest(info.path)
            if manifest.base is not None:
                base_version, base_signed_by, base_problems = check_against_base(manifest, keys)
    return PackVerification(
        version=info.version,
        source=info.source,
        problems=info.problems,
        signature=state,
        signed_by=signed_by,
        signature_problem=problem,
        keys_trusted=bool(keys),
        base_version=base_version,
        base_signed_by=base_signed_by,
        base_problems=base_problems,
    )


def check_against_base(
    manifest: Manifest, keys: list[Ed25519PublicKey]
) -> tuple[str | None, str | None, tuple[str, ...]]:
    """A KEV import against the pack it was made on top of (``manifest.base``): the base's
    version, the trusted key that signed its manifest (None when it is unsigned or no key is
    trusted), and what does not agree: the base's signature, or any file other than the KEV
    data whose hash is not the base's (an edit after the import whose hash was written into
    the import's manifest; the import's own hashes catch one that was not)."""
    from cryptography.exceptions import InvalidSignature

    assert manifest.base is not None
    try:
        base = Manifest.model_validate(
            yaml.load(manifest.base.manifest, Loader=KnowledgeYamlLoader)
        )
    except (yaml.YAMLError, ValidationError):
        return None, None, ("the recorded base manifest cannot be read",)
    signed_by: str | None = None
    if manifest.base.signature is not None and keys:
        try:
            signature = base64.b64decode(manifest.base.signature.strip(), validate=True)
        except (ValueError, binascii.Error):
            return base.version, None, ("the recorded base signature is not base64",)
        for key in keys:
            try:
                key.verify(signature, manifest.base.manifest.encode())
            except InvalidSignature:
                continue
            signed_by = key_fingerprint(key)
            break
        else:
            return (
                base.version,
                None,
                (
                    f"the recorded manifest of {base.version} does not match its signature under "
                    "any trusted key",
                ),
            )
    problems = tuple(
        f"{name} differs from {base.version}'s"
        + (" signed" if signed_by else "")
        + f" manifest (a KEV import changes only {KEV_DATA_FILE})"
        for name in sorted(set(base.files) | set(manifest.files))
        if name != KEV_DATA_FILE and base.files.get(name) != manifest.files.get(name)
    )
    return base.version, signed_by, problems


def knowledge_check_problems(data_dir: Path) -> tuple[str, ...]:
    """What ``knowledge verify`` finds in ``data_dir`` (empty: the knowledge loads and passes
    every check), each as ``file: entry: message (line N)``. The answer is kept in the
    compiled-knowledge cache under the files' contents (verifying costs ~1.4 s; a cached
    answer a few milliseconds), so ``knowledge status`` can afford it every time."""
    from provscan.knowledge.cache import cached

    def check() -> tuple[str, ...]:
        return tuple(str(problem) for problem in verify_knowledge(data_dir).problems)

    return cached("verify", data_dir, check)


def load_signing_key(private_key_file: Path) -> Ed25519PrivateKey:
    """An unencrypted PEM (PKCS#8) Ed25519 private key; InputError (one line) otherwise."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(private_key_file.read_bytes(), password=None)
    except OSError as exc:
        raise InputError(f"cannot read key {private_key_file}: {exc.strerror or exc}") from None
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InputError(f"{private_key_file} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{private_key_file} is not an Ed25519 private key")
    return key


def sign_manifest(manifest_text: str, key: Ed25519PrivateKey) -> bytes:
    """``manifest.sig`` for a manifest: the base64 Ed25519 signature of its bytes."""
    return base64.b64encode(key.sign(manifest_text.encode())) + b"\n"


@contextlib.contextmanager
def staging_directory(home: Path) -> Iterator[Path]:
    """A fresh private directory inside ``home`` (same file system, so the final move is one
    rename), removed on exit unless it was moved into place."""
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = Path(tempfile.mkdtemp(prefix=".incoming-", dir=home))
    except OSError as exc:
        raise KnowledgeError(f"cannot write to {home}: {exc.strerror or exc}") from None
    try:
        yield path
    finally:
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)


def extract_pack(archive: Path, destination: Path) -> None:
    """Extract a ``.tar.gz`` pack into an empty ``destination``, reading it as hostile data:
    only regular files with data-file names, no links, no paths outside, bounded sizes."""
    if archive.is_dir():
        raise PackRefused(
            f"{archive} is a directory: a knowledge pack is a .tar.gz made by `provscan "
            f"knowledge export` (for this directory: `provscan knowledge export --data-dir "
            f"{archive} --version VERSION --output FILE`)"
        )
    try:
        size = archive.stat().st_size
    except OSError as exc:
        raise PackRefused(f"cannot read {archive}: {exc.strerror or exc}") from None
    if size > MAX_ARCHIVE_BYTES:
        raise PackRefused(
            f"{archive} is {size} bytes; a knowledge pack is at most {MAX_ARCHIVE_BYTES} bytes"
        )
    import tarfile  # here: only pack commands need it (start-up, issue 14)

    seen: set[str] = set()
    total = 0
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for count, member in enumerate(tar, start=1):
                if count > MAX_MEMBERS:
                    raise PackRefused(f"{archive} holds more than {MAX_MEMBERS} entries")
                name = member.name.removeprefix("./")
                if member.isdir() and name.rstrip("/") in ("", ".", "fingerprints"):
                    continue
                if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                    raise PackRefused(
                        f"{archive}: entry {member.name!r} is not a regular file (links, devices "
                        "and directories other than fingerprints/ are refused)"
                    )
                if name not in (MANIFEST_FILE, SIGNATURE_FILE) and not _MEMBER_NAME.match(name):
                    raise PackRefused(
                        f"{archive}: entry {member.name!r} is not a knowledge file name "
                        "(NAME.yaml or fingerprints/NAME.yaml)"
                    )
                if name in seen:
                    raise PackRefused(f"{archive}: entry {name!r} appears twice")
                seen.add(name)
                if member.size > MAX_MEMBER_BYTES:
                    raise PackRefused(f"{archive}: {name} is larger than {MAX_MEMBER_BYTES} bytes")
                total += member.size
                if total > MAX_TOTAL_BYTES:
                    raise PackRefused(f"{archive} unpacks to more than {MAX_TOTAL_BYTES} bytes")
                handle = tar.extractfile(member)
                content = handle.read(MAX_MEMBER_BYTES + 1) if handle is not None else b""
                if len(content) != member.size:
                    raise PackRefused(f"{archive}: {name} is truncated")
                target = destination / name
                target.parent.mkdir(exist_ok=True)
                with open(target, "xb") as out:
                    out.write(content)
    except PackRefused:
        raise
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise PackRefused(f"{archive} is not a readable .tar.gz knowledge pack ({exc})") from None
    except OSError as exc:
        raise PackRefused(f"cannot read {archive}: {exc.strerror or exc}") from None
    if MANIFEST_FILE not in seen:
        raise PackRefused(f"{archive} has no {MANIFEST_FILE}: not a knowledge pack")


def validate_directory(data_dir: Path) -> Manifest:
    """Check a staged pack completely: manifest, every hash, every known file present, counts,
    and the knowledge self-tests (schemas, cross-checks, fingerprint examples)."""
    manifest = read_manifest(data_dir)
    if manifest.name != PACK_NAME:
        raise PackRefused(f"not a provscan knowledge pack (name {manifest.name!r})")
    if parse_pack_version(manifest.version) is None:
        raise PackRefused(f"pack version {manifest.version!r} is not a version (PEP 440)")
    try:
        date.fromisoformat(manifest.as_of)
    except ValueError:
        raise PackRefused(f"pack as_of {manifest.as_of!r} is not a date") from None
    mismatches = manifest_mismatches(data_dir, manifest)
    if mismatches:
        more = f" (and {len(mismatches) - 1} more)" if len(mismatches) > 1 else ""
        raise PackRefused(
            f"pack {manifest.version} is damaged or tampered: {mismatches[0]}{more}; {EXPORT_HINT}"
        )
    missing = sorted(name for name in KNOWN_FILES if not (data_dir / name).is_file())
    if missing:
        raise PackRefused(f"pack {manifest.version} is incomplete: no {', '.join(missing)}")
    if count_entries(data_dir) != manifest.counts:
        raise PackRefused(f"pack {manifest.version}: the manifest's counts do not match the data")
    report = verify_knowledge(data_dir)
    if not report.ok:
        first = report.problems[0]
        more = f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        raise PackRefused(f"pack {manifest.version} fails the knowledge checks: {first}{more}")
    return manifest


#: How a refused pack whose files do not match its manifest names the way packs are made (a
#: hand-made tar of an edited directory carries a stale manifest).
EXPORT_HINT = (
    "a pack made by hand needs a fresh manifest: build it with `provscan knowledge export "
    "--data-dir DIR --version VERSION --output FILE`"
)


#: How a refusal names the way to put another pack of the same version in place.
REPLACE_HINT = "to put this pack in its place run `provscan knowledge update --from FILE --replace`"


def install_directory(
    staging: Path, *, allow_downgrade: bool = False, replace: bool = False
) -> InstallResult:
    """Validate a staged pack directory inside the knowledge home and switch to it atomically.

    An installed copy of the same version whose files were changed or damaged is replaced by
    the pack (a repair); one with other, intact content only with ``replace``."""
    home = staging.parent
    manifest = validate_directory(staging)
    new_version = parse_pack_version(manifest.version)
    assert new_version is not None  # validate_directory checked it
    bundled = parse_pack_version(bundled_version())
    if bundled is not None and new_version < bundled:
        raise PackRefused(
            f"pack {manifest.version} is older than the knowledge bundled with this provscan "
            f"({bundled_version()}), and provscan never uses an installed pack older than its "
            "bundled knowledge (its loaders may not read it): installing it would change "
            "nothing. Older knowledge needs the provscan release that bundled it"
        )
    selection = active_selection(verify=False)
    active_manifest = read_manifest(selection.data_dir)
    active_version = parse_pack_version(active_manifest.version)
    active_damaged = bool(manifest_mismatches(selection.data_dir, active_manifest))
    if active_version is not None and new_version == active_version and not active_damaged:
        if active_manifest.files == manifest.files:
            return InstallResult(manifest.version, manifest.version, selection.data_dir, False)
        if not replace:
            raise PackRefused(
                f"pack {manifest.version} differs from the active knowledge of the same "
                f"version; a changed pack needs a new version ({REPLACE_HINT})"
            )
    if active_version is not None and new_version < active_version and not allow_downgrade:
        raise PackRefused(
            f"pack {manifest.version} is older than the active knowledge "
            f"{active_manifest.version}; add --allow-downgrade to install it anyway"
        )
    target = home / manifest.version
    pointer = read_pointer(home)
    repaired = False
    if target.exists():
        existing = read_manifest(target) if (target / MANIFEST_FILE).is_file() else None
        damaged = existing is None or bool(manifest_mismatches(target, existing))
        if existing is not None and existing.files == manifest.files and not damaged:
            pass  # the same pack, intact: only the pointer changes
        elif (
            damaged
            or replace
            or (existing is not None and _stale_kev_pack(manifest, existing, pointer))
        ):
            repaired = damaged and existing is not None and existing.files == manifest.files
            _replace_directory(staging, target)
        else:
            again = " (`provscan knowledge update --rollback` can go back to it)"
            raise PackRefused(
                f"a different pack {manifest.version} is already installed at {target}"
                + (again if manifest.version in pointer.history else "")
                + f"; {REPLACE_HINT}"
            )
    else:
        try:
            os.rename(staging, target)
        except OSError as exc:  # e.g. another install of the same version just finished
            raise KnowledgeError(f"cannot install into {target}: {exc.strerror or exc}") from None
    if pointer.active == manifest.version and selection.source == "installed":
        # The active pack repaired or replaced in place: the pointer and history stay.
        return InstallResult(manifest.version, manifest.version, target, repaired=repaired)
    previous = pointer.active if selection.source == "installed" else None
    history = (*pointer.history, previous)[-MAX_HISTORY:]
    write_pointer(home, PackPointer(manifest.version, history))
    return InstallResult(
        manifest.version,
        active_manifest.version,
        target,
        repaired=repaired,
        over_bundled=selection.source == "bundled" and new_version == active_version,
    )


def _stale_kev_pack(new: Manifest, existing: Manifest, pointer: PackPointer) -> bool:
    """Whether an installed pack of ``new``'s version may be replaced by ``new``: both are
    KEV imports made here (``<version>+kev.<catalog>``, whose content depends on the
    knowledge the catalog was applied to: after a rollback the same catalog applied again
    can make another pack of the same version), and nothing points to it any more (neither
    active nor in the rollback history; a rollback leaves the pack it went back from
    installed). A published pack's version names its content: another one of the same
    version is refused, like a KEV pack that is active or that a rollback can go back to."""
    made_here = all(m.kev_catalog is not None and m.derived_from for m in (new, existing))
    return made_here and new.version != pointer.active and new.version not in pointer.history


def _replace_directory(staging: Path, target: Path) -> None:
    """Put ``staging`` in place of the directory ``target`` (both in the knowledge home):
    the old one is moved aside first, and back when the new one cannot take its place."""
    aside = Path(tempfile.mkdtemp(prefix=".replaced-", dir=target.parent)) / target.name
    try:
        os.rename(target, aside)
    except OSError as exc:
        shutil.rmtree(aside.parent, ignore_errors=True)
        raise KnowledgeError(f"cannot replace {target}: {exc.strerror or exc}") from None
    try:
        os.rename(staging, target)
    except OSError as exc:
        os.rename(aside, target)
        shutil.rmtree(aside.parent, ignore_errors=True)
        raise KnowledgeError(f"cannot install into {target}: {exc.strerror or exc}") from None
    shutil.rmtree(aside.parent, ignore_errors=True)


def write_pointer(home: Path, pointer: PackPointer) -> None:
    """Replace ``active.json`` in one rename (a reader sees the old or the new, never half)."""
    document = json.dumps(
        {"active": pointer.active, "history": list(pointer.history)}, indent=2
    ).encode()
    descriptor, temporary = tempfile.mkstemp(prefix=".active.", suffix=".tmp", dir=home)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(document + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, home / POINTER_FILE)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise KnowledgeError(f"cannot write {home / POINTER_FILE}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class RollbackResult:
    left: str
    now: str
    source: Literal["bundled", "installed"]


def rollback() -> RollbackResult:
    """Make the previously active knowledge active again (the bundled one when no earlier pack
    was installed). PackRefused when there is nothing to go back to."""
    home = knowledge_home()
    pointer = read_pointer(home)
    if pointer.active is None:
        raise PackRefused("nothing to roll back: the bundled knowledge is active")
    left = pointer.active
    previous = pointer.history[-1] if pointer.history else None
    if previous is not None and not (home / previous / MANIFEST_FILE).is_file():
        raise PackRefused(f"cannot roll back to {previous}: it is no longer installed in {home}")
    if previous is not None:
        damage = installed_pack_problems(home / previous)
        if damage:
            raise PackRefused(
                f"cannot roll back to {previous}: its files at {home / previous} were changed "
                f"or damaged after it was installed ({damage[0]}); reinstall it with "
                "`provscan knowledge update --from FILE` (its pack file) instead"
            )
    write_pointer(home, PackPointer(previous, pointer.history[:-1]))
    if previous is None:
        return RollbackResult(left, read_manifest(BUNDLED_DATA_DIR).version, "bundled")
    return RollbackResult(left, previous, "installed")


# --- exporting --------------------------------------------------------------------------------


def check_as_of(as_of: str, *, today: date | None = None) -> None:
    """InputError (one line) unless ``as_of`` is a date, not after today: the as-of date is
    the day the data was reviewed, and one in the future would silence the staleness warning."""
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        raise InputError(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
    today = today or date.today()
    if day > today:
        raise InputError(
            f"--as-of {as_of} is in the future (today is {today.isoformat()}): the as-of date "
            "is the day the data was reviewed"
        )


def version_taken_by(version: str, files: dict[str, str]) -> str | None:
    """``"bundled"`` or ``"installed"`` when the bundled knowledge or an installed pack has
    ``version`` with other files than ``files`` (relative path -> sha256), else None."""
    wanted = parse_pack_version(version)
    candidates: list[tuple[str, Path]] = [("bundled", BUNDLED_DATA_DIR)]
    home = knowledge_home()
    candidates += [("installed", home / name) for name in installed_versions(home)]
    for where, directory in candidates:
        try:
            other = read_manifest(directory)
        except PackRefused:
            continue
        same = other.version == version or (
            wanted is not None and parse_pack_version(other.version) == wanted
        )
        if same and other.files != files:
            return where
    return None


def next_free_version(version: str) -> str:
    """A version above ``version``, the bundled one and every installed pack, made by adding
    one to the last number of the highest (``2026.12.0`` -> ``2026.12.1``)."""
    names = [version, bundled_version(), *installed_versions()]
    parsed = [v for v in (parse_pack_version(name) for name in names) if v is not None]
    if not parsed:
        return "2026.12.1"
    release = list(max(parsed).release)
    release[-1] += 1
    return ".".join(str(part) for part in release)


def pack_bytes(
    data_dir: Path, manifest: Manifest, *, sign_with: Path | Ed25519PrivateKey | None = None
) -> bytes:
    """A reproducible ``.tar.gz`` of ``data_dir``'s data files and ``manifest`` (fixed times,
    owners and modes, sorted names: the same knowledge always gives the same bytes), signed
    with the Ed25519 private key file ``sign_with`` if given."""
    import tarfile

    manifest_text = render_manifest(manifest)
    if isinstance(sign_with, Path):
        sign_with = load_signing_key(sign_with)
    signature = [(SIGNATURE_FILE, sign_manifest(manifest_text, sign_with))] if sign_with else []
    stamp = int(datetime.fromisoformat(manifest.as_of).replace(tzinfo=UTC).timestamp())
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=stamp) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        entries: Iterable[tuple[str, bytes]] = [
            (MANIFEST_FILE, manifest_text.encode()),
            *signature,
            *((name, (data_dir / name).read_bytes()) for name in sorted(manifest.files)),
        ]
        for name, content in entries:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = stamp
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def export_active(*, sign_with: Path | None = None) -> tuple[Manifest, bytes]:
    """The active knowledge as a pack; refused when its files no longer match its manifest."""
    key = load_signing_key(sign_with) if sign_with is not None else None
    selection = active_selection(verify=False)
    manifest = read_manifest(selection.data_dir)
    mismatches = manifest_mismatches(selection.data_dir, manifest)
    if mismatches:
        raise PackRefused(
            f"the knowledge at {selection.data_dir} does not match its manifest "
            f"({mismatches[0]}); {manifest_fix(selection.source)}"
        )
    return manifest, pack_bytes(selection.data_dir, manifest, sign_with=key)


def export_directory(
    data_dir: Path,
    *,
    version: str | None,
    as_of: str | None,
    description: str = "",
    sign_with: Path | None = None,
) -> tuple[Manifest, bytes]:
    """A pack of a maintainer's knowledge directory, with a fresh manifest; refused unless the
    directory passes the knowledge checks. Version and as-of default to its manifest's."""
    key = load_signing_key(sign_with) if sign_with is not None else None
    if not data_dir.is_dir():
        raise InputError(f"knowledge data directory not found: {data_dir}")
    existing = read_manifest(data_dir) if (data_dir / MANIFEST_FILE).is_file() else None
    version = version or (existing.version if existing else None)
    as_of = as_of or (existing.as_of if existing else None)
    if version is None or as_of is None:
        raise InputError(f"{data_dir} has no {MANIFEST_FILE}: give --version and --as-of")
    if parse_pack_version(version) is None:
        raise InputError(f"--version {version!r} is not a version (e.g. 2026.12.1)")
    check_as_of(as_of)
    taken = version_taken_by(
        version, {name: sha256_of(data_dir / name) for name in data_files(data_dir)}
    )
    if taken is not None:
        raise InputError(
            f"{data_dir} differs from the {taken} knowledge {version}, and a version names one "
            f"content: give --version (e.g. {next_free_version(version)})"
        )
    report = verify_knowledge(data_dir)
    if not report.ok:
        raise PackRefused(f"{data_dir} fails the knowledge checks: {report.problems[0]}")
    manifest = build_manifest(
        data_dir,
        version=version,
        as_of=as_of,
        description=description or (existing.description if existing else ""),
        derived_from=existing.derived_from if existing else None,
        kev_catalog=existing.kev_catalog if existing else None,
    )
    return manifest, pack_bytes(data_dir, manifest, sign_with=key)


def manifest_out_of_date(data_dir: Path) -> str | None:
    """One line when ``data_dir``'s ``manifest.yaml`` no longer describes its files (hashes,
    counts), naming both ways to make it again; None when it does, or when there is none.
    (``knowledge verify --data-dir`` checks the data, not the manifest: this is its check.)"""
    if not (data_dir / MANIFEST_FILE).is_file():
        return None
    try:
        manifest = read_manifest(data_dir)
    except PackRefused as exc:
        first = str(exc)
    else:
        mismatches = manifest_mismatches(data_dir, manifest)
        if not mismatches and count_entries(data_dir) == manifest.counts:
            return None
        first = mismatches[0] if mismatches else "the entry counts differ from the data"
    return (
        f"manifest out of date ({first}): run scripts/gen_manifest.py --data-dir {data_dir}, "
        f"or `provscan knowledge export --data-dir {data_dir} --version VERSION --output FILE`"
    )
