"""The compiled copy of the knowledge (knowledge/cache.py, issue 14): the same knowledge as
the YAML gives, made again whenever a file it was made from changes, and never read from a
place others can write."""

from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
from pathlib import Path

import pytest

from provscan.knowledge import cache
from provscan.knowledge.base import BUNDLED_DATA_DIR
from provscan.knowledge.grammars import _load as load_grammars
from provscan.knowledge.loader import _load, _load_posture


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "knowledge"


class Counting:
    """A build function that says how often it ran."""

    def __init__(self, value: object) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        return self.value


def same(first: object, second: object) -> bool:
    """Equal field by field (Knowledge compares by identity: it is a cache key)."""
    if dataclasses.is_dataclass(first) and type(first) is type(second):
        return all(
            getattr(first, item.name) == getattr(second, item.name)
            for item in dataclasses.fields(first)
        )
    return first == second


def test_the_copy_is_the_knowledge_the_yaml_gives(cache_home: Path) -> None:
    # Given the bundled knowledge read from its YAML
    core = _load(BUNDLED_DATA_DIR)
    posture = _load_posture(BUNDLED_DATA_DIR, core)
    grammars = load_grammars(BUNDLED_DATA_DIR, core)
    for kind, value in (("core", core), ("posture", posture), ("grammars", grammars)):
        # When it goes through the cache twice (stored, then read back)
        stored = cache.cached(kind, BUNDLED_DATA_DIR, lambda value=value: value)
        read_back = cache.cached(kind, BUNDLED_DATA_DIR, Counting(None))
        # Then what comes back equals what the YAML gave, and is a copy from the file
        assert stored is value
        assert same(read_back, value)
        assert read_back is not value
    assert sorted(path.name.split("-")[0] for path in cache_home.iterdir()) == [
        "core",
        "grammars",
        "posture",
    ]
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in cache_home.iterdir())
    assert cache_home.stat().st_mode & 0o777 == 0o700


def test_a_changed_data_file_makes_the_copy_again(cache_home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(BUNDLED_DATA_DIR, data)
    first = Counting({"made": 1})
    assert cache.cached("core", data, first) == {"made": 1}
    assert cache.cached("core", data, first) == {"made": 1}
    assert first.calls == 1  # the second time it came from the copy
    # A data file edited: the YAML is read again.
    policies = data / "policies.yaml"
    policies.write_text(policies.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    second = Counting({"made": 2})
    assert cache.cached("core", data, second) == {"made": 2}
    assert second.calls == 1
    # The same size and modification time, one byte different: still a change.
    status = policies.stat()
    text = policies.read_bytes()
    policies.write_bytes(text[:-1] + (b" " if text[-1:] != b" " else b"\t"))
    os.utime(policies, ns=(status.st_atime_ns, status.st_mtime_ns))
    same_size = Counting({"made": "same size"})
    assert cache.cached("core", data, same_size) == {"made": "same size"}
    # A new file in the directory counts too.
    (data / "extra.yaml").write_text("x: 1\n", encoding="utf-8")
    third = Counting({"made": 3})
    assert cache.cached("core", data, third) == {"made": 3}


def test_a_copy_others_can_write_is_never_read(cache_home: Path) -> None:
    build = Counting("from the yaml")
    cache.cached("core", BUNDLED_DATA_DIR, build)
    (copy,) = cache_home.iterdir()
    # Someone replaces the copy with their own pickle and makes it group-writable.
    copy.write_bytes(pickle.dumps("planted"))
    os.chmod(copy, 0o664)
    assert cache.cached("core", BUNDLED_DATA_DIR, build) == "from the yaml"
    assert build.calls == 2
    # The same for a directory others can write to.
    os.chmod(cache_home, 0o777)
    copy.write_bytes(pickle.dumps("planted"))
    os.chmod(copy, 0o600)
    assert cache.cached("core", BUNDLED_DATA_DIR, build) == "from the yaml"


def test_a_damaged_copy_is_made_again(cache_home: Path) -> None:
    cache.cached("core", BUNDLED_DATA_DIR, Counting("good"))
    (copy,) = cache_home.iterdir()
    copy.write_bytes(b"\x80\x05not a pickle")
    rebuilt = Counting("good again")
    assert cache.cached("core", BUNDLED_DATA_DIR, rebuilt) == "good again"
    assert cache.cached("core", BUNDLED_DATA_DIR, Counting("unused")) == "good again"


def test_the_cache_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(cache.CACHE_DIR_ENV, "off")
    build = Counting("fresh")
    cache.cached("core", BUNDLED_DATA_DIR, build)
    cache.cached("core", BUNDLED_DATA_DIR, build)
    assert build.calls == 2
