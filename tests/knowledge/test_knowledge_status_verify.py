"""``provscan knowledge status`` re-verifies the active knowledge (issue 12).

Every file is checked against the manifest's sha256 and, when the pack is signed and a key is
trusted, the manifest against its signature. A pack changed after it was installed makes status
exit 1 with one line on stderr. The keys are throwaway keys made in the test's temporary
directory; PROVSCAN_KNOWLEDGE_DIR points at a temporary knowledge home.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provscan.knowledge import packs
from provscan.knowledge.base import (
    BUNDLED_DATA_DIR,
    KNOWLEDGE_DIR_ENV,
    MANIFEST_FILE,
    bundled_version,
)
from provscan.knowledge.packs import (
    MAX_AGE_ENV,
    SIGNATURE_FILE,
    TRUSTED_KEYS_ENV,
    build_manifest,
    install_pack,
    key_fingerprint,
    pack_bytes,
    render_manifest,
    verify_active_pack,
)


@pytest.fixture
def no_bundled_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test decides which keys are trusted, whatever provscan ships with."""
    empty = tmp_path / "no-bundled-keys"
    empty.mkdir()
    monkeypatch.setattr(packs, "BUNDLED_KEYS_DIR", empty)


def next_version() -> str:
    parts = bundled_version().split("+")[0].split(".")
    parts[-1] = str(int(parts[-1]) + 1)
    return ".".join(parts)


def public_key_file(key: Ed25519PrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def install(tmp_path: Path, sign_with: Ed25519PrivateKey | None, key_file: Path | None) -> Path:
    """Install a copy of the bundled data as the next version; the installed directory."""
    data_dir = tmp_path / "data"
    shutil.copytree(BUNDLED_DATA_DIR, data_dir, ignore=shutil.ignore_patterns(MANIFEST_FILE))
    manifest = build_manifest(data_dir, version=next_version(), as_of=date.today().isoformat())
    archive = tmp_path / "pack.tar.gz"
    archive.write_bytes(pack_bytes(data_dir, manifest, sign_with=sign_with))
    result = install_pack(archive, trusted_keys=[key_file] if key_file else [])
    assert result.changed and result.version == next_version()
    return result.path


def edit_a_title(installed: Path) -> None:
    """What tampering looks like: one CVE title changed in the installed pack."""
    path = installed / "vulnerabilities.yaml"
    text = path.read_text(encoding="utf-8")
    assert "title: " in text
    path.write_text(text.replace("title: ", "title: Harmless ", 1), encoding="utf-8")


def status(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, KNOWLEDGE_DIR_ENV: str(home)}
    for name in (MAX_AGE_ENV, TRUSTED_KEYS_ENV):
        environment.pop(name, None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "provscan", "knowledge", "status", "--max-age-days", "10000", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
    )


def test_the_bundled_knowledge_verifies_against_its_manifest(home: Path) -> None:
    result = status(home)
    assert result.returncode == 0, result.stderr
    assert (
        "Verification:        verified: every file matches the manifest's sha256" in result.stdout
    )
    assert "bundled with provscan" in result.stdout
    document = json.loads(status(home, "--format", "json").stdout)
    assert document["verified"] is True and document["files_match_manifest"] is True
    assert document["source"] == "bundled"


def test_an_installed_pack_changed_on_disk_fails_status_with_one_line(
    home: Path, tmp_path: Path, no_bundled_keys: None
) -> None:
    installed = install(tmp_path, sign_with=None, key_file=None)
    clean = status(home)
    assert clean.returncode == 0, clean.stderr
    assert "an unsigned pack" in clean.stdout

    edit_a_title(installed)
    result = status(home)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "vulnerabilities.yaml: hash differs from the manifest" in result.stderr
    assert "--rollback" in result.stderr and "Traceback" not in result.stderr
    assert "Files:               1 differ from the manifest" in result.stdout

    document = json.loads(status(home, "--format", "json").stdout)
    assert document["verified"] is False
    assert document["manifest_problems"] == ["vulnerabilities.yaml: hash differs from the manifest"]


def test_a_signed_pack_is_checked_against_the_trusted_key(
    home: Path, tmp_path: Path, no_bundled_keys: None
) -> None:
    key = Ed25519PrivateKey.generate()
    key_file = public_key_file(key, tmp_path / "ours.pub")
    install(tmp_path, sign_with=key, key_file=key_file)
    fingerprint = key_fingerprint(key.public_key())

    by_option = status(home, "--trust-key", str(key_file))
    assert by_option.returncode == 0, by_option.stderr
    assert f"the manifest is signed by {fingerprint}" in by_option.stdout
    by_env = json.loads(
        status(home, "--format", "json", **{TRUSTED_KEYS_ENV: str(key_file)}).stdout
    )
    assert by_env["signature"] == "valid" and by_env["signed_by"] == fingerprint
    # Without a trusted key the signature cannot be checked, and status says so
    unchecked = status(home)
    assert unchecked.returncode == 0
    assert "signed, not checked: no trusted key" in unchecked.stdout
    # A key that did not sign it is not accepted
    other = public_key_file(Ed25519PrivateKey.generate(), tmp_path / "other.pub")
    wrong = status(home, "--trust-key", str(other))
    assert wrong.returncode == 1
    assert "does not match its manifest under any trusted key" in wrong.stderr


def test_a_rewritten_manifest_is_caught_by_the_signature(
    home: Path, tmp_path: Path, no_bundled_keys: None
) -> None:
    # Given a signed pack whose data and manifest were both rewritten after installation
    key = Ed25519PrivateKey.generate()
    key_file = public_key_file(key, tmp_path / "ours.pub")
    installed = install(tmp_path, sign_with=key, key_file=key_file)
    edit_a_title(installed)
    forged = build_manifest(installed, version=next_version(), as_of=date.today().isoformat())
    (installed / MANIFEST_FILE).write_text(render_manifest(forged), encoding="utf-8")

    # Then the hashes match the forged manifest, but its signature does not
    verification = verify_active_pack(trusted_keys=[key_file])
    assert verification.problems == () and verification.signature == "invalid"
    assert not verification.ok
    result = status(home, "--trust-key", str(key_file))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "does not verify" in result.stderr


def test_a_damaged_signature_file_fails_status(
    home: Path, tmp_path: Path, no_bundled_keys: None
) -> None:
    key = Ed25519PrivateKey.generate()
    key_file = public_key_file(key, tmp_path / "ours.pub")
    installed = install(tmp_path, sign_with=key, key_file=key_file)
    (installed / SIGNATURE_FILE).write_text("not base64 at all!\n")
    result = status(home, "--trust-key", str(key_file))
    assert result.returncode == 1
    assert "manifest.sig is not base64" in result.stderr


def test_an_unreadable_trust_key_is_a_one_line_usage_error(home: Path, tmp_path: Path) -> None:
    (tmp_path / "junk.pub").write_text("not a key\n")
    result = status(home, "--trust-key", str(tmp_path / "junk.pub"))
    assert result.returncode == 2
    assert "is not a PEM public key" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
