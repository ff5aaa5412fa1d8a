"""Fixtures shared by the knowledge-pack tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from provscan.knowledge.base import KNOWLEDGE_DIR_ENV
from provscan.knowledge.loader import DEFAULT_DATA_DIR
from provscan.knowledge.packs import MAX_AGE_ENV, TRUSTED_KEYS_ENV


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty knowledge home for this test (never the user's), with no age limit and no
    trusted keys from the environment (a test module may define its own ``home``)."""
    directory = tmp_path / "knowledge-home"
    monkeypatch.setenv(KNOWLEDGE_DIR_ENV, str(directory))
    monkeypatch.delenv(MAX_AGE_ENV, raising=False)
    monkeypatch.delenv(TRUSTED_KEYS_ENV, raising=False)
    return directory


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled data, without the fingerprint files (a test file may
    define its own ``data_copy`` with other contents)."""
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    shutil.rmtree(target / "fingerprints")
    (target / "fingerprints").mkdir()
    return target
