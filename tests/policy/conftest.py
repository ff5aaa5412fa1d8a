"""Fixtures of the policy tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from provscan.knowledge.loader import DEFAULT_DATA_DIR


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A copy of the bundled knowledge to edit (no fingerprints and no manifest: the loader
    then checks the edited files without their hashes)."""
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    shutil.rmtree(target / "fingerprints")
    (target / "fingerprints").mkdir()
    (target / "manifest.yaml").unlink(missing_ok=True)
    return target
