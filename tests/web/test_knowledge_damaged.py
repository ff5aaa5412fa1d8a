"""A server whose installed knowledge pack was changed after it was installed refuses to
judge with it (decision 0011): the API and the console answer 503 with one line naming
what to run, never a 500 or a page built on knowledge nobody chose."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from webtools import TestClient

from provscan.knowledge.base import BUNDLED_DATA_DIR, KNOWLEDGE_DIR_ENV, MANIFEST_FILE
from provscan.knowledge.cache import CACHE_DIR_ENV
from provscan.knowledge.packs import TRUSTED_KEYS_ENV, bundled_version
from provscan.web.app import create_app


def _provscan(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr


def test_a_damaged_installed_pack_is_a_503_not_a_500(
    tmp_path: Path, store_url: str, token_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, cache = tmp_path / "knowledge-home", tmp_path / "cache"
    env = {**os.environ, KNOWLEDGE_DIR_ENV: str(home), CACHE_DIR_ENV: str(cache)}
    env.pop(TRUSTED_KEYS_ENV, None)
    parts = bundled_version().split("+")[0].split(".")
    parts[-1] = str(int(parts[-1]) + 1)
    version = ".".join(parts)
    data = tmp_path / "data"
    shutil.copytree(BUNDLED_DATA_DIR, data, ignore=shutil.ignore_patterns(MANIFEST_FILE))
    archive = tmp_path / "pack.tar.gz"
    today = date.today().isoformat()
    _provscan(env, "knowledge", "export", "--data-dir", str(data), "--version", version,
              "--as-of", today, "-o", str(archive))  # fmt: skip
    _provscan(env, "knowledge", "update", "--from", str(archive))
    for name, value in ((KNOWLEDGE_DIR_ENV, str(home)), (CACHE_DIR_ENV, str(cache))):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(TRUSTED_KEYS_ENV, raising=False)

    with TestClient(create_app(store_url), raise_server_exceptions=False) as client:
        viewer = token_for("viewer")
        assert client.get("/api/v1/summary", headers=viewer).status_code == 200
        # When a file of the installed pack is changed
        vulnerabilities = home / version / "vulnerabilities.yaml"
        text = vulnerabilities.read_text(encoding="utf-8")
        vulnerabilities.write_text(text.replace("title: ", "title: Harmless ", 1), "utf-8")
        # Then the API says so in one line, without the server's paths
        for path in ("/api/v1/summary", "/api/v1/knowledge"):
            answer = client.get(path, headers=viewer)
            assert answer.status_code == 503, (path, answer.text)
            detail = answer.json()["detail"]
            assert "provscan knowledge status" in detail and str(home) not in detail
