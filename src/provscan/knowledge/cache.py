"""A compiled copy of the active knowledge in the user's cache directory.

Reading and validating the YAML (schemas, cross-checks, every example and negative of every
pattern) costs a command 0.3-0.5 s; a scan of an empty range spends more on that than on its
sweep (issue 14). The loaders keep the YAML as the only source: what they built from it is
pickled here, under a key made of everything it was built from — the knowledge directory's
path and the contents of every file in it, the knowledge loaders' own source files, and the
versions of provscan, Python and pydantic. Anything changed gives a new key,
so the copy is made again from the YAML; a copy that cannot be read is made again too.

A pickle runs code when it is read, so a copy is only read from a directory and a file owned
by the user that nobody else can write (the directory is made 0700, the files 0600).
``PROVSCAN_CACHE_DIR`` moves the cache (tests point it at a temporary directory);
``PROVSCAN_CACHE_DIR=off`` turns it off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

CACHE_DIR_ENV = "PROVSCAN_CACHE_DIR"
#: Copies kept per kind (bundled knowledge, installed packs, test directories); older go.
MAX_COPIES_PER_KIND = 4

T = TypeVar("T")


def cached(kind: str, data_dir: Path, build: Callable[[], T]) -> T:
    """``build()``'s value for the knowledge in ``data_dir``, from the cache when it holds a
    copy made from the same files by the same code, else built and stored."""
    if cache_dir() is None:
        return build()
    try:
        key = source_key(kind, data_dir)
    except OSError:
        return build()
    return cached_by_key(kind, key, build)


def cached_by_key(kind: str, key: str, build: Callable[[], T]) -> T:
    """``build()``'s value stored under ``key`` (the caller's digest of everything the value
    is made from), from the cache when it holds it, else built and stored."""
    directory = cache_dir()
    if directory is None:
        return build()
    path = directory / f"{kind}-{key}.pickle"
    value = _read(path)
    if value is not None:
        return cast(T, value)
    built = build()
    _write(directory, path, built)
    return built


def cache_dir() -> Path | None:
    """Where the copies live (None: the cache is off)."""
    override = os.environ.get(CACHE_DIR_ENV, "").strip()
    if override.lower() == "off":
        return None
    if override:
        return Path(override) / "knowledge"
    import platformdirs

    return Path(platformdirs.user_cache_dir("provscan", appauthor=False)) / "knowledge"


def source_key(kind: str, data_dir: Path) -> str:
    """A digest of everything a copy of ``kind`` read from ``data_dir`` is made from."""
    import pydantic

    from provscan import __version__

    digest = hashlib.sha256()
    for part in (kind, __version__, sys.version, pydantic.VERSION, str(data_dir.resolve())):
        digest.update(part.encode() + b"\0")
    from provscan.knowledge.base import BUNDLED_DATA_DIR

    code_dir = Path(__file__).parent
    # The bundled files count even for a pack: a pack without device_api.yaml, exposure.yaml
    # or remediation.yaml is read with the bundled ones.
    sources = [(data_dir, sorted(data_dir.rglob("*"))), (code_dir, sorted(code_dir.glob("*.py")))]
    if data_dir.resolve() != BUNDLED_DATA_DIR.resolve():
        sources.append((BUNDLED_DATA_DIR, sorted(BUNDLED_DATA_DIR.rglob("*"))))
    # The files' contents, not their times: ~1 MB, hashed in about 4 ms.
    for root, files in sources:
        for path in files:
            if path.is_file():
                name = path.relative_to(root).as_posix()
                digest.update(f"{name}\0".encode() + hashlib.sha256(path.read_bytes()).digest())
        digest.update(b"\1")
    return digest.hexdigest()[:32]


def _private(status: os.stat_result) -> bool:
    return status.st_uid == os.getuid() and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(path: Path) -> object | None:
    try:
        if not _private(path.parent.stat()):
            return None
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        with os.fdopen(descriptor, "rb") as file:
            status = os.fstat(file.fileno())
            if not (stat.S_ISREG(status.st_mode) and _private(status)):
                return None
            value: object = pickle.loads(file.read())
            return value
    except Exception:  # a damaged or foreign copy is made again from the YAML
        return None


def _write(directory: Path, path: Path, value: object) -> None:
    """Store ``value`` atomically; the cache is an optimisation, so every failure is ignored."""
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(directory.stat()):
            return
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(descriptor, "wb") as file:  # mkstemp makes it 0600
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _prune(directory, path)
    except Exception:
        return


def _prune(directory: Path, kept: Path) -> None:
    kind = kept.name.rsplit("-", 1)[0]
    copies = sorted(
        (p for p in directory.glob(f"{kind}-*.pickle") if p != kept),
        key=lambda p: p.stat().st_mtime_ns,
    )
    for old in copies[: max(0, len(copies) - (MAX_COPIES_PER_KIND - 1))]:
        old.unlink(missing_ok=True)
