"""What every knowledge loader shares: strict models, YAML with line numbers, the problem list.

Each kind of data file has its own module (schema, cross-checks, typed result); they all read
through :func:`read_document` and :func:`validate`, and report through :class:`Problems`, so a
problem always names its file, its entry and the entry's line.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import json
import os
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import yaml
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from provscan.errors import KnowledgeError

try:  # libyaml parses the data about eight times faster; the pure parser is the fallback
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

#: The knowledge bundled with provscan. The knowledge in use may be an installed pack instead:
#: :func:`active_data_dir` says which directory to read.
DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"
BUNDLED_DATA_DIR = DEFAULT_DATA_DIR

Confidence = Literal["high", "medium", "low"]
CONFIDENCE_WEIGHT: dict[str, float] = {"high": 0.95, "medium": 0.75, "low": 0.45}

#: A path into a YAML document: mapping keys and list indexes, e.g. ``("rules", 3, "source")``.
Location = tuple[int | str, ...]

_ModelT = TypeVar("_ModelT", bound=BaseModel)
_ItemT = TypeVar("_ItemT")


class StrictModel(BaseModel):
    """A frozen model that refuses unknown keys (a typo in a data file is an error).

    Its validators are built when a model first validates (``defer_build``): a command that
    reads the compiled knowledge (knowledge/cache.py) never validates, and building the
    validators of ~80 models at import was about a fifth of importing the knowledge loader
    (issue 14, start-up)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# --- problems ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem in one data file: where (file, line, entry) and what."""

    file: str
    line: int
    entry: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.entry}" if self.entry else self.file
        return f"{where}: {self.message} (line {self.line})"

    def located(self, data_dir: Path) -> str:
        """``path:line: entry: message``, the form editors and CI annotations understand."""
        where = f"{self.entry}: " if self.entry else ""
        return f"{data_dir / self.file}:{self.line}: {where}{self.message}"


class Problems:
    """Every problem found while loading or verifying one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.items: list[Problem] = []

    def add(
        self,
        where: YamlDocument | str,
        message: str,
        at: Location = (),
        *,
        entry: str | None = None,
        line: int | None = None,
    ) -> None:
        """Record a problem at ``at`` in a document (or in a file that could not be parsed)."""
        if isinstance(where, YamlDocument):
            self.items.append(
                Problem(
                    where.name,
                    line if line is not None else where.line_at(at),
                    entry if entry is not None else where.describe(at),
                    message,
                )
            )
        else:
            self.items.append(Problem(where, line or 1, entry or "", message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            count = len(self.items)
            listing = "\n".join(f"  - {problem}" for problem in self.items)
            raise KnowledgeError(
                f"{count} problem{'s' if count != 1 else ''} in knowledge data "
                f"at {self.data_dir}:\n{listing}"
            )


# --- YAML with positions -------------------------------------------------------------------


class KnowledgeYamlLoader(_SafeLoader):
    """Safe YAML without timestamp conversion (dates stay text) and without duplicate keys."""


KnowledgeYamlLoader.yaml_implicit_resolvers = {
    first_character: [
        (tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"
    ]
    for first_character, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_unique_mapping(
    loader: KnowledgeYamlLoader, node: yaml.MappingNode
) -> dict[Any, Any]:
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


KnowledgeYamlLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


@dataclass(frozen=True)
class YamlDocument:
    """A parsed data file: its values and the YAML node tree they came from (for line numbers)."""

    name: str
    data: dict[str, Any]
    root: yaml.Node

    def node_at(self, location: Iterable[int | str]) -> yaml.Node:
        """The deepest node along ``location`` (a missing key stops at its parent)."""
        node = self.root
        for step in location:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(step):
                        child = value_node
                        break
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(step, int)
                and 0 <= step < len(node.value)
            ):
                child = node.value[step]
            if child is None:
                break
            node = child
        return node

    def line_at(self, location: Iterable[int | str]) -> int:
        return int(self.node_at(location).start_mark.line) + 1

    def describe(self, location: Iterable[int | str]) -> str:
        """``families[1] (id=dahua).members[3] (name=Lorex).sources`` for a location."""
        parts: list[str] = []
        node: object = self.data
        for step in location:
            if isinstance(step, int):
                node = node[step] if isinstance(node, list) and 0 <= step < len(node) else None
                label = f"[{step}]"
                name = entry_name(node)
                if name:
                    label += f" ({name})"
                if parts:
                    parts[-1] += label
                else:
                    parts.append(label)
            else:
                node = node.get(step) if isinstance(node, dict) else None
                parts.append(step)
        return ".".join(parts)


def entry_name(node: object) -> str:
    """How an entry is named in messages: its id, name, CVE or registry name."""
    if not isinstance(node, dict):
        return ""
    for key in ("id", "name", "kind", "field", "prefix"):
        if isinstance(node.get(key), str):
            return f"{key}={node[key]}"
    for key in ("cve", "registry_name"):
        if isinstance(node.get(key), str):
            return str(node[key])
    if "brand" in node or "maker" in node:
        return f"brand={node.get('brand')}, maker={node.get('maker')}"
    return ""


def _one_line(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError):
        parts = [part for part in (error.context, error.problem) if part]
        if parts:
            return ": ".join(parts)
    return " ".join(str(error).split())


def read_document(data_dir: Path, name: str, problems: Problems) -> YamlDocument | None:
    """Parse ``data_dir/name``; on failure record why (with the line) and return None."""
    try:
        text = (data_dir / name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(name, f"cannot be read: {exc}")
        return None
    loader = KnowledgeYamlLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = int(mark.line) + 1 if mark is not None else 1
        problems.add(name, f"YAML parse error: {_one_line(exc)}", line=line)
        return None
    finally:
        loader.dispose()
    if root is None or not isinstance(data, dict):
        problems.add(name, "must be a YAML mapping at the top level")
        return None
    return YamlDocument(name, data, root)


# --- schema validation ---------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed(Generic[_ModelT]):
    """A validated file. With schema errors in some entries, ``model`` holds only the others;
    ``positions`` gives each kept entry's index in the file, so later messages point at it."""

    document: YamlDocument
    model: _ModelT
    entries_key: str | None = None
    positions: tuple[int, ...] | None = None

    def indexed(self, items: Sequence[_ItemT]) -> list[tuple[int, _ItemT]]:
        """``(index in the file, entry)`` for the entries of ``entries_key``."""
        if self.positions is None:
            return list(enumerate(items))
        return list(zip(self.positions, items, strict=True))


def validate(
    document: YamlDocument,
    model: type[_ModelT],
    problems: Problems,
    entries_key: str | None = None,
) -> Parsed[_ModelT] | None:
    """Validate a document against its schema, reporting every error with its entry and line.

    With ``entries_key``, entries that fail are reported and left out, so the cross-checks
    still run on the others (a contributor sees every problem in one pass).
    """
    try:
        return Parsed(document, model.model_validate(document.data), entries_key)
    except ValidationError as exc:
        errors = exc.errors()
    bad_entries: set[int] = set()
    file_level = False
    for error in errors:
        location = tuple(error["loc"])
        problems.add(document, _plain_message(error["msg"]), location)
        if (
            entries_key is not None
            and len(location) >= 2
            and location[0] == entries_key
            and isinstance(location[1], int)
        ):
            bad_entries.add(location[1])
        else:
            file_level = True
    entries = document.data.get(entries_key) if entries_key is not None else None
    if file_level or not isinstance(entries, list):
        return None
    positions = tuple(index for index in range(len(entries)) if index not in bad_entries)
    try:
        kept = model.model_validate(
            {**document.data, entries_key: [entries[index] for index in positions]}
        )
    except ValidationError:
        return None  # e.g. no valid entry left in a list that needs one: already reported
    return Parsed(document, kept, entries_key, positions)


#: What pydantic puts before the message of a validator's ValueError / AssertionError.
_VALIDATOR_PREFIXES = ("Value error, ", "Assertion failed, ")


def _plain_message(message: str) -> str:
    """A validation message without pydantic's "Value error, " prefix (one plain line)."""
    for prefix in _VALIDATOR_PREFIXES:
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def load_checked(data_dir: Path, read: Callable[[Path, Problems], _ItemT | None]) -> _ItemT:
    """Run one reader on ``data_dir``; raise KnowledgeError listing every problem it found."""
    problems = Problems(data_dir)
    value = read(data_dir, problems)
    problems.raise_if_any()
    assert value is not None  # a reader returns None only after recording why
    return value


class FileLoader(Generic[_ItemT]):
    """``load(data_dir=None)`` for a single-file kind: a directory's copy, checked each time, or
    the active knowledge (bundled or an installed pack), read and checked once per directory
    (the four single-file kinds share this)."""

    def __init__(self, read: Callable[[Path, Problems], _ItemT | None]) -> None:
        self._read = read
        self._active: dict[Path, _ItemT] = {}

    def __call__(self, data_dir: Path | None = None) -> _ItemT:
        if data_dir is not None:
            return load_checked(Path(data_dir), self._read)
        directory = active_data_dir()
        if directory not in self._active:
            self._active[directory] = load_checked(directory, self._read)
        return self._active[directory]


def read_file(
    data_dir: Path,
    name: str,
    model: type[_ModelT],
    problems: Problems,
    entries_key: str | None = None,
) -> Parsed[_ModelT] | None:
    """Parse and validate one data file (None when it cannot be used; problems say why)."""
    document = read_document(data_dir, name, problems)
    if document is None:
        return None
    return validate(document, model, problems, entries_key)


# --- which knowledge is active: bundled, or an installed pack ---------------------------------

#: Where installed packs live instead of ``platformdirs.user_data_dir("provscan")/knowledge``
#: (tests point it at a temporary directory).
KNOWLEDGE_DIR_ENV = "PROVSCAN_KNOWLEDGE_DIR"
#: The manifest of a knowledge directory (version, as-of date, a sha256 per data file).
MANIFEST_FILE = "manifest.yaml"
#: The pointer to the active installed pack, replaced atomically (``os.replace``).
POINTER_FILE = "active.json"


def knowledge_home() -> Path:
    """The directory that holds installed packs and the pointer to the active one."""
    override = os.environ.get(KNOWLEDGE_DIR_ENV, "").strip()
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("provscan")) / "knowledge"


def parse_pack_version(text: str) -> Version | None:
    """A pack version (PEP 440, e.g. ``2026.12.0`` or ``2026.12.0+kev.2026.08.07``), or None."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


@functools.lru_cache(maxsize=1)
def bundled_version() -> str:
    """The version in the bundled manifest ("0" when it cannot be read)."""
    try:
        data = yaml.load(
            (BUNDLED_DATA_DIR / MANIFEST_FILE).read_text(encoding="utf-8"),
            Loader=KnowledgeYamlLoader,
        )
    except (OSError, yaml.YAMLError):
        return "0"
    version = data.get("version") if isinstance(data, dict) else None
    return str(version) if version is not None else "0"


@dataclass(frozen=True)
class PackPointer:
    """What ``active.json`` says: the active installed version (None: bundled) and the
    versions that were active before it, most recent last (None: bundled)."""

    active: str | None
    history: tuple[str | None, ...] = ()


def read_pointer(home: Path) -> PackPointer:
    """The pointer in ``home`` (no file: the bundled knowledge). KnowledgeError when damaged."""
    path = home / POINTER_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return PackPointer(None)
    except OSError as exc:
        raise KnowledgeError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
        active = data["active"]
        history = tuple(data.get("history", ()))
        if not all(item is None or isinstance(item, str) for item in (active, *history)):
            raise TypeError("versions must be strings or null")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KnowledgeError(
            f"{path} is damaged ({exc}); delete it to use the bundled knowledge"
        ) from None
    return PackPointer(active, history)


@dataclass(frozen=True)
class ActiveSelection:
    """Which knowledge directory is read, and why."""

    data_dir: Path
    source: Literal["bundled", "installed"]
    #: The installed pack the pointer names (even when it is not used).
    installed_version: str | None = None
    #: Why an installed pack is not used (older than the bundled knowledge).
    note: str = ""


def active_selection(*, verify: bool = True) -> ActiveSelection:
    """The installed pack the pointer names, unless it is older than the bundled knowledge
    (a newer provscan brings newer data, and its loaders may not read an old pack).

    With ``verify`` (what every loader gets), an installed pack whose files no longer match
    its manifest's sha256 is refused: KnowledgeError, one line naming the repair. provscan
    never judges devices with knowledge changed after it was checked, nor silently with other
    knowledge than the one chosen (docs/decisions/0011). ``knowledge status`` and ``update``
    pass ``verify=False`` to report and repair it."""
    home = knowledge_home()
    pointer = read_pointer(home)
    if pointer.active is None:
        return ActiveSelection(BUNDLED_DATA_DIR, "bundled")
    installed = parse_pack_version(pointer.active)
    if installed is None or "/" in pointer.active or "\\" in pointer.active:
        raise KnowledgeError(
            f"{home / POINTER_FILE} names {pointer.active!r}, not a pack version; "
            "run `provscan knowledge update --rollback` or delete the file"
        )
    directory = home / pointer.active
    if not (directory / MANIFEST_FILE).is_file():
        raise KnowledgeError(
            f"the active knowledge pack {pointer.active} is missing from {directory}; "
            "run `provscan knowledge update --rollback` or delete "
            f"{home / POINTER_FILE} to use the bundled knowledge"
        )
    bundled = parse_pack_version(bundled_version())
    if bundled is not None and installed < bundled:
        return ActiveSelection(
            BUNDLED_DATA_DIR,
            "bundled",
            pointer.active,
            f"installed pack {pointer.active} is older than the bundled knowledge "
            f"{bundled_version()}: the bundled knowledge is used",
        )
    if verify:
        problems = installed_pack_problems(directory)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise KnowledgeError(
                f"the active knowledge pack {pointer.active} at {directory} was changed or "
                f"damaged after it was installed ({problems[0]}{more}); provscan does not use "
                "it: repair it with `provscan knowledge update --from FILE` (the same pack "
                "file), or go back with `provscan knowledge update --rollback`"
            )
    return ActiveSelection(directory, "installed", pointer.active)


def data_file_names(data_dir: Path) -> list[str]:
    """The data files of a directory as relative paths, sorted (the manifest excluded)."""
    names = [path.name for path in data_dir.glob("*.yaml") if path.name != MANIFEST_FILE]
    names += [f"fingerprints/{path.name}" for path in (data_dir / "fingerprints").glob("*.yaml")]
    return sorted(names)


def file_hash_problems(data_dir: Path, listed: dict[str, str]) -> list[str]:
    """What differs between a directory's data files and ``listed`` (relative path -> sha256
    from its manifest); empty when they match."""
    present = set(data_file_names(data_dir))
    problems = []
    for name in sorted(present & set(listed)):
        try:
            digest = hashlib.sha256((data_dir / name).read_bytes()).hexdigest()
        except OSError as exc:
            problems.append(f"{name}: cannot be read ({exc.strerror or exc})")
            continue
        if digest != listed[name]:
            problems.append(f"{name}: hash differs from the manifest")
    problems += [
        f"{name}: listed in the manifest but missing" for name in sorted(set(listed) - present)
    ]
    problems += [f"{name}: not listed in the manifest" for name in sorted(present - set(listed))]
    return problems


#: The last check of each installed pack directory: the size, time and inode of its files,
#: and what the check found. Hashing ~70 files (~1 MB) costs a few milliseconds; a process
#: asks for the active directory many times, so a directory whose files have not changed
#: since the last check is not hashed again.
_CHECKED: dict[Path, tuple[tuple[tuple[str, int, int, int], ...], tuple[str, ...]]] = {}


def installed_pack_problems(directory: Path) -> tuple[str, ...]:
    """What differs between an installed pack's files and its manifest's sha256 (empty: they
    match), checked again whenever a file's size, time or inode changed."""
    try:
        names = [MANIFEST_FILE, *data_file_names(directory)]
        stamp = tuple(
            (name, status.st_size, status.st_mtime_ns, status.st_ino)
            for name in names
            for status in [os.stat(directory / name)]
        )
    except OSError as exc:
        return (f"cannot be read ({exc.strerror or exc})",)
    known = _CHECKED.get(directory)
    if known is not None and known[0] == stamp:
        return known[1]
    try:
        data = yaml.load(
            (directory / MANIFEST_FILE).read_text(encoding="utf-8"), Loader=KnowledgeYamlLoader
        )
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        data = None
    listed = data.get("files") if isinstance(data, dict) else None
    if not isinstance(listed, dict) or not all(
        isinstance(name, str) and isinstance(digest, str) for name, digest in listed.items()
    ):
        problems: tuple[str, ...] = (f"{MANIFEST_FILE}: cannot be read or lists no files",)
    else:
        problems = tuple(file_hash_problems(directory, listed))
    _CHECKED[directory] = (stamp, problems)
    return problems


def active_data_dir() -> Path:
    """The knowledge directory every loader reads by default (bundled or an installed pack)."""
    return active_selection().data_dir


# --- shared checks -------------------------------------------------------------------------


def check_sources(
    problems: Problems, document: YamlDocument, at: Location, sources: Sequence[str]
) -> None:
    """Every entry carries at least one non-blank source."""
    if not sources or any(not source.strip() for source in sources):
        problems.add(document, "every entry needs at least one non-blank source", at)


#: The id of a group of words: lower-case words joined by '_' ("en_before_fits").
WORD_GROUP_ID = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")


class WordGroup(StrictModel):
    """One group of a word file (``mention_words.yaml``, ``screening_words.yaml``): words
    that play one part, with why they are there and where that is written."""

    id: str
    words: list[str] = Field(min_length=1)
    #: Why these words play their part, and which near words were left out and why.
    rationale: str
    confidence: Confidence
    sources: list[str] = Field(min_length=1)


def check_word_group(
    problems: Problems,
    document: YamlDocument,
    at: Location,
    group: WordGroup,
    seen_ids: set[str],
    *,
    example_id: str,
    purpose: str,
) -> None:
    """What every group of a word file needs: sources, a unique id like ``example_id``, and
    a rationale that says why its words ``purpose``."""
    check_sources(problems, document, at, group.sources)
    if not WORD_GROUP_ID.match(group.id):
        problems.add(document, f"group id {group.id!r} is not like {example_id!r}", at)
    if group.id in seen_ids:
        problems.add(document, f"duplicate group id {group.id!r}", at)
    seen_ids.add(group.id)
    if not group.rationale.strip():
        problems.add(document, f"rationale must say why these words {purpose}", at)


def _word_form_problem(word: str) -> str | None:
    """What no word list accepts: an empty word, or one not in NFKC form (the finders compare
    text after NFKC)."""
    if not word.strip():
        return "an empty word never matches"
    if unicodedata.normalize("NFKC", word) != word:
        return f"{word!r} is not in NFKC form (text is compared after NFKC)"
    return None


def accepted_words(
    problems: Problems,
    document: YamlDocument,
    at: Location,
    group: WordGroup,
    first_listed: dict[tuple[str, str], str],
    *,
    part: str,
    among: str,
    word_problem: Callable[[str], str | None],
) -> list[str]:
    """The words of ``group`` that can match (``word_problem`` says why one cannot) and are
    listed for the first time for their ``part`` ("before", "product"); a problem for each
    other one (and for an empty word or one not in NFKC form, in every list). ``first_listed``
    maps (part, word) to the group listing it first, across groups."""
    accepted = []
    for word_index, word in enumerate(group.words):
        word_at = (*at, "words", word_index)
        why = _word_form_problem(word) or word_problem(word)
        if why is not None:
            problems.add(document, why, word_at, entry=document.describe(at))
            continue
        first = first_listed.setdefault((part, word), group.id)
        if first != group.id or group.words.index(word) != word_index:
            problems.add(
                document,
                f"{word!r} is listed twice among {among} (first in group {first!r})",
                word_at,
                entry=document.describe(at),
            )
            continue
        accepted.append(word)
    return accepted


def compile_pattern(
    problems: Problems, document: YamlDocument, at: Location, pattern: str, flags: int = 0
) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        problems.add(document, f"pattern {pattern!r} does not compile: {exc}", at)
        return None


def template_fields(template: str) -> set[str]:
    """The ``{placeholders}`` of a text template; ValueError when it is malformed."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


# --- partial ISO dates ---------------------------------------------------------------------

_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def period_bounds(since: str | None, until: str | None) -> tuple[date, date]:
    """Inclusive first and last day of a ``since``..``until`` period of partial ISO dates.

    ``"2021-04"`` as ``until`` means through 30 Apr 2021; a missing end is open.
    Raises ValueError for a malformed date.
    """
    start = parse_partial_date(since, last_day=False) if since else date.min
    end = parse_partial_date(until, last_day=True) if until else date.max
    return start, end


def parse_partial_date(text: str, *, last_day: bool) -> date:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as its first (or last) day."""
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


def check_period(
    problems: Problems,
    document: YamlDocument,
    at: Location,
    since: str | None,
    until: str | None,
) -> tuple[date, date] | None:
    try:
        start, end = period_bounds(since, until)
    except ValueError as exc:
        problems.add(document, f"bad since/until date: {exc}", at)
        return None
    if start > end:
        problems.add(document, f"since {since} is after until {until}", at)
        return None
    return start, end
