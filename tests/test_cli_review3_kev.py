"""`provscan kev import` after `provscan knowledge update --rollback`, and the width of the
`kev import --dry-run` and `knowledge status` lines, through the real commands.

A third newcomer review found a KEV import refused after a rollback ("a different pack ... is
already installed"): the rollback left the KEV pack it went back from installed, and a KEV
pack's content depends on the knowledge it was made from, so importing the catalog again on
top of other knowledge made a different pack of the same version. Such a leftover, which
nothing points to any more, is now replaced; a different pack of the same version that is
active or that a rollback can go back to is still refused. It also found `kev import
--dry-run` and `knowledge status` lines ignoring COLUMNS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from provscan.knowledge.base import (
    BUNDLED_DATA_DIR,
    KNOWLEDGE_DIR_ENV,
    MANIFEST_FILE,
    KnowledgeYamlLoader,
)
from provscan.knowledge.packs import MAX_AGE_ENV, build_manifest, pack_bytes, read_manifest

BASE_VERSION = "2999.1.0"
NEW_CATALOG = "2026.11.27"
OLD_CATALOG = "2026.11.20"


def _cli(home: Path, *args: str, width: int | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, KNOWLEDGE_DIR_ENV: str(home)}
    environment.pop(MAX_AGE_ENV, None)
    environment.pop("LINES", None)
    if width is None:
        environment.pop("COLUMNS", None)
    else:
        environment |= {"COLUMNS": str(width), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=environment,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def _entry(cve: str, vendor: str, product: str, added: str, due: str) -> dict[str, Any]:
    return {
        "cveID": cve,
        "vendorProject": vendor,
        "product": product,
        "vulnerabilityName": f"{vendor} {product} Improper Authentication Vulnerability",
        "dateAdded": added,
        "shortDescription": "An attacker can bypass authentication.",
        "requiredAction": "Apply mitigations per vendor instructions or discontinue use.",
        "dueDate": due,
        "knownRansomwareCampaignUse": "Unknown",
        "notes": f"https://nvd.nist.gov/vuln/detail/{cve}",
        "cwes": ["CWE-287"],
    }


def _feed(path: Path, version: str, entries: list[dict[str, Any]]) -> Path:
    """A KEV feed file in the shape CISA publishes (known_exploited_vulnerabilities.json),
    the size of a whole catalog (entries of a vendor provscan does not know fill it)."""
    entries = [
        *entries,
        *(
            _entry(f"CVE-2000-{90000 + n}", "Examplesoft", "Widget", "2022-01-10", "2022-01-24")
            for n in range(1000)
        ),
    ]
    document = {
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": version,
        "dateReleased": f"{version.replace('.', '-')}T17:01:32.6281Z",
        "count": len(entries),
        "vulnerabilities": entries,
    }
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A knowledge home whose active pack is a copy of the bundled data (``BASE_VERSION``),
    installed with the real command."""
    directory = tmp_path / "knowledge-home"
    data_dir = tmp_path / "base-data"
    shutil.copytree(BUNDLED_DATA_DIR, data_dir, ignore=shutil.ignore_patterns(MANIFEST_FILE))
    manifest = build_manifest(data_dir, version=BASE_VERSION, as_of=date.today().isoformat())
    archive = tmp_path / "base.tar.gz"
    archive.write_bytes(pack_bytes(data_dir, manifest))
    _ok(_cli(directory, "knowledge", "update", "--from", str(archive)))
    return directory


@pytest.fixture
def feeds(tmp_path: Path) -> tuple[Path, Path]:
    """An older and a newer catalog, as CISA's grow: the newer lists what the older did,
    and more."""
    data = yaml.load(
        (BUNDLED_DATA_DIR / "vulnerabilities.yaml").read_text(encoding="utf-8"),
        Loader=KnowledgeYamlLoader,
    )
    unlisted = [entry for entry in data["vulnerabilities"] if not entry["kev"]["listed"]]
    first, second = unlisted[0], unlisted[1]
    older = [
        _entry("CVE-2014-0160", "OpenSSL", "OpenSSL", "2022-05-04", "2022-05-25"),
        _entry(first["cve"], first["vendors"][0], "IP cameras", "2026-11-18", "2026-12-09"),
    ]
    newer = [
        *older,
        _entry(second["cve"], second["vendors"][0], "NVR", "2026-11-26", "2026-12-17"),
    ]
    return (
        _feed(tmp_path / "kev-old.json", OLD_CATALOG, older),
        _feed(tmp_path / "known_exploited_vulnerabilities.json", NEW_CATALOG, newer),
    )


def _pointer(home: Path) -> dict[str, Any]:
    pointer: dict[str, Any] = json.loads((home / "active.json").read_text(encoding="utf-8"))
    return pointer


def test_a_kev_import_after_a_rollback_installs_again(home: Path, feeds: tuple[Path, Path]) -> None:
    old, new = feeds
    new_pack = f"{BASE_VERSION}+kev.{NEW_CATALOG}"
    # Given the newer catalog imported, then rolled back
    _ok(_cli(home, "kev", "import", str(new)))
    assert _pointer(home)["active"] == new_pack
    made_from_base = read_manifest(home / new_pack).files
    back = _ok(_cli(home, "knowledge", "update", "--rollback"))
    assert f"to {BASE_VERSION}" in back
    # and the older catalog imported in its place
    _ok(_cli(home, "kev", "import", str(old)))
    assert _pointer(home)["active"] == f"{BASE_VERSION}+kev.{OLD_CATALOG}"
    # When the newer catalog is imported again (now on top of the older one)
    result = _cli(home, "kev", "import", str(new))
    # Then it is installed, not refused as "a different pack ... already installed"
    output = _ok(result)
    assert f"installed knowledge {new_pack}" in output
    assert _pointer(home)["active"] == new_pack
    status = json.loads(_ok(_cli(home, "knowledge", "status", "-f", "json")))
    assert status["version"] == new_pack and status["kev_catalog"]["version"] == NEW_CATALOG
    # the pack on disk is the one just made (its files match its new manifest), not the
    # leftover of the first import
    assert read_manifest(home / new_pack).files != made_from_base
    assert _ok(_cli(home, "knowledge", "status")).count("match the manifest") == 1
    assert not [p.name for p in home.iterdir() if p.name.startswith(".")]  # nothing left over
    # and rolling back goes to the older catalog's pack, which is still whole
    assert f"to {BASE_VERSION}+kev.{OLD_CATALOG}" in _ok(
        _cli(home, "knowledge", "update", "--rollback")
    )


def test_a_different_kev_pack_that_a_rollback_can_go_back_to_is_still_refused(
    home: Path, tmp_path: Path
) -> None:
    data = yaml.load(
        (BUNDLED_DATA_DIR / "vulnerabilities.yaml").read_text(encoding="utf-8"),
        Loader=KnowledgeYamlLoader,
    )
    first, second = [entry for entry in data["vulnerabilities"] if not entry["kev"]["listed"]][:2]
    # A newer catalog that no longer lists what an older one did (CISA removes an entry now
    # and then): listings are never removed by an import, so the newer catalog applied on
    # top of the older one makes another pack than applied alone.
    old = _feed(
        tmp_path / "old.json",
        OLD_CATALOG,
        [_entry(first["cve"], first["vendors"][0], "cameras", "2026-11-18", "2026-12-09")],
    )
    new = _feed(
        tmp_path / "new.json",
        NEW_CATALOG,
        [_entry(second["cve"], second["vendors"][0], "NVR", "2026-11-26", "2026-12-17")],
    )
    new_pack = f"{BASE_VERSION}+kev.{NEW_CATALOG}"
    _ok(_cli(home, "kev", "import", str(new)))
    _ok(_cli(home, "kev", "import", str(old), "--allow-downgrade"))
    pointer = _pointer(home)
    assert pointer["active"] == f"{BASE_VERSION}+kev.{OLD_CATALOG}"
    assert pointer["history"][-1] == new_pack  # what a rollback goes back to
    before = (home / new_pack / "vulnerabilities.yaml").read_bytes()
    # When the newer catalog is imported again, on top of the older one
    refused = _cli(home, "kev", "import", str(new))
    # Then it is refused in one line (exit 2): the pack a rollback goes back to is not changed
    assert refused.returncode == 2, refused.stdout
    (line,) = refused.stderr.strip().splitlines()
    assert f"a different pack {new_pack} is already installed" in line and "--rollback" in line
    assert _pointer(home) == pointer
    assert (home / new_pack / "vulnerabilities.yaml").read_bytes() == before
    assert f"to {new_pack}" in _ok(_cli(home, "knowledge", "update", "--rollback"))


def test_a_different_published_pack_of_an_installed_version_is_still_refused(
    home: Path, tmp_path: Path
) -> None:
    # Packs from files are published: their version names their content, even when the
    # installed one is no longer used (left by a rollback).
    def pack(name: str, title: str) -> Path:
        data_dir = tmp_path / name
        shutil.copytree(BUNDLED_DATA_DIR, data_dir, ignore=shutil.ignore_patterns(MANIFEST_FILE))
        eol = data_dir / "eol.yaml"
        eol.write_text(eol.read_text(encoding="utf-8") + f"# {title}\n", encoding="utf-8")
        manifest = build_manifest(data_dir, version="3000.1.0", as_of=date.today().isoformat())
        archive = tmp_path / f"{name}.tar.gz"
        archive.write_bytes(pack_bytes(data_dir, manifest))
        return archive

    _ok(_cli(home, "knowledge", "update", "--from", str(pack("one", "first"))))
    _ok(_cli(home, "knowledge", "update", "--rollback"))
    refused = _cli(home, "knowledge", "update", "--from", str(pack("two", "second")))
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert "a different pack 3000.1.0 is already installed" in line
    assert _pointer(home)["active"] == BASE_VERSION


# -- widths ------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 100])
def test_kev_dry_run_lines_fit_columns(home: Path, feeds: tuple[Path, Path], width: int) -> None:
    _old, new = feeds
    whole = _ok(_cli(home, "kev", "import", str(new), "--dry-run"))
    assert max(len(line) for line in whole.splitlines()) > width  # the case the review met
    lines = _ok(_cli(home, "kev", "import", str(new), "--dry-run", width=width)).splitlines()
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, too_wide[:3]
    # the same words in the same order: only the line breaks moved, no CVE id split
    assert " ".join(whole.split()) == " ".join(" ".join(lines).split())
    document = json.loads(_ok(_cli(home, "kev", "import", str(new), "--dry-run", "-f", "json")))
    words = " ".join(lines).split()
    for cve in document["listed_in_our_data_not_in_catalog"]:
        assert cve in words or f"{cve}," in words
    # a continued line hangs under its first: it is not read as a new entry
    head = next(i for i, line in enumerate(lines) if line.startswith("Listed in our data"))
    assert lines[head + 1].startswith("  ")
    assert lines[-1] == "dry run: nothing installed"


@pytest.mark.parametrize("width", [80, 100])
def test_knowledge_status_lines_fit_columns_into_a_pipe(home: Path, width: int) -> None:
    lines = _ok(_cli(home, "knowledge", "status", width=width)).splitlines()
    status = json.loads(_ok(_cli(home, "knowledge", "status", "-f", "json")))
    long_words = [line for line in lines if len(line) > width and len(line.split()) > 1]
    assert not long_words, long_words[:3]
    text = " ".join(" ".join(lines).split())
    assert f"Verification: {' '.join(status['summary'].split())}" in text
    assert status["path"] in text.split()
    # without COLUMNS, into a pipe, each value stays on its line, whole for grep
    piped = _ok(_cli(home, "knowledge", "status")).splitlines()
    assert f"Verification:        {status['summary']}" in piped
