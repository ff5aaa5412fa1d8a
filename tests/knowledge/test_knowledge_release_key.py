"""The release key of knowledge packs (decision 0020), tested with a throwaway key in its place.

provscan bundles no real release key yet (a maintainer must make and hold it); these tests put
a test key where the release key goes and check what it must do: make signatures mandatory,
accept only packs it signed, and refuse tampered ones. Every test uses a temporary knowledge
home: the real user data directory is never read or written.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
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
    POINTER_FILE,
    bundled_version,
)
from provscan.knowledge.packs import (
    MAX_AGE_ENV,
    SIGNATURE_FILE,
    TRUSTED_KEYS_ENV,
    PackRefused,
    active_pack,
    build_manifest,
    install_pack,
    key_fingerprint,
    pack_bytes,
    trusted_public_keys,
)


@pytest.fixture
def release_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ed25519PrivateKey:
    """A throwaway key whose public half sits where provscan's release key goes."""
    key = Ed25519PrivateKey.generate()
    directory = tmp_path / "trusted_keys"
    directory.mkdir()
    (directory / "provscan-release-test.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    monkeypatch.setattr(packs, "BUNDLED_KEYS_DIR", directory)
    return key


def next_version(step: int = 1) -> str:
    parts = bundled_version().split("+")[0].split(".")
    parts[-1] = str(int(parts[-1]) + step)
    return ".".join(parts)


def data_copy(tmp_path: Path, name: str = "data") -> Path:
    target = tmp_path / name
    shutil.copytree(BUNDLED_DATA_DIR, target, ignore=shutil.ignore_patterns(MANIFEST_FILE))
    return target


def write_pack(
    data_dir: Path, archive: Path, version: str, sign_with: Ed25519PrivateKey | None
) -> Path:
    manifest = build_manifest(data_dir, version=version, as_of=date.today().isoformat())
    archive.write_bytes(pack_bytes(data_dir, manifest, sign_with=sign_with))
    return archive


def test_the_bundled_key_directory_holds_only_ed25519_public_keys() -> None:
    # The directory ships with provscan; a private key committed there would be a disaster.
    assert packs.BUNDLED_KEYS_DIR.is_dir()
    assert (packs.BUNDLED_KEYS_DIR / "README.md").is_file()
    for path in packs.BUNDLED_KEYS_DIR.iterdir():
        assert b"PRIVATE KEY" not in path.read_bytes(), f"{path} holds a private key"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(TRUSTED_KEYS_ENV, raising=False)
        # each bundled file loads as an Ed25519 public key (or trusted_public_keys raises)
        assert len(trusted_public_keys()) == len(packs.bundled_key_files())


def test_a_bundled_release_key_makes_a_signature_mandatory(
    home: Path, tmp_path: Path, release_key: Ed25519PrivateKey
) -> None:
    # Given provscan with a release key and no key of the user's
    data_dir = data_copy(tmp_path)
    unsigned = write_pack(data_dir, tmp_path / "unsigned.tar.gz", next_version(), None)
    by_other = write_pack(
        data_dir, tmp_path / "other.tar.gz", next_version(), Ed25519PrivateKey.generate()
    )
    # Then a pack without a signature, or signed by a key nobody trusts, is refused
    with pytest.raises(PackRefused, match="not signed"):
        install_pack(unsigned)
    with pytest.raises(PackRefused, match="does not match its manifest under any trusted key"):
        install_pack(by_other)
    assert not (home / POINTER_FILE).exists()
    assert active_pack().source == "bundled"

    # And a pack the release key signed installs, naming that key
    signed = write_pack(data_dir, tmp_path / "signed.tar.gz", next_version(), release_key)
    result = install_pack(signed)
    assert result.signed_by == key_fingerprint(release_key.public_key())
    assert active_pack().version == next_version()


def test_a_signed_pack_changed_after_signing_is_refused(
    home: Path, tmp_path: Path, release_key: Ed25519PrivateKey
) -> None:
    data_dir = data_copy(tmp_path)
    signed = write_pack(data_dir, tmp_path / "signed.tar.gz", next_version(), release_key)
    # One data file edited inside the signed archive (the signature and manifest kept)
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(signed) as original, tarfile.open(tampered, "w:gz") as copy:
        for member in original.getmembers():
            handle = original.extractfile(member)
            assert handle is not None
            content = handle.read()
            if member.name == "vendors.yaml":
                content += b"\n# edited after signing\n"
                member.size = len(content)
            copy.addfile(member, io.BytesIO(content))
    with pytest.raises(PackRefused, match=r"vendors\.yaml: hash differs from the manifest"):
        install_pack(tampered)
    # The manifest itself edited (its description): the signature no longer matches it
    resigned = tmp_path / "manifest-edited.tar.gz"
    with tarfile.open(signed) as original, tarfile.open(resigned, "w:gz") as copy:
        for member in original.getmembers():
            handle = original.extractfile(member)
            assert handle is not None
            content = handle.read()
            if member.name == MANIFEST_FILE:
                content = content.replace(b"description:", b"description: edited.", 1)
                member.size = len(content)
            copy.addfile(member, io.BytesIO(content))
    with pytest.raises(PackRefused, match="signature does not match"):
        install_pack(resigned)
    assert not (home / POINTER_FILE).exists()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_key_made_as_the_procedure_says_signs_packs_provscan_installs(
    home: Path, tmp_path: Path
) -> None:
    # Given a key pair made with openssl, as decision 0020 tells the maintainer to
    private, public = tmp_path / "release.key.pem", tmp_path / "release.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(private)],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["openssl", "pkey", "-in", str(private), "-pubout", "-out", str(public)],
        check=True,
        capture_output=True,
    )
    environment = {**os.environ, KNOWLEDGE_DIR_ENV: str(home)}
    environment.pop(MAX_AGE_ENV, None)
    environment.pop(TRUSTED_KEYS_ENV, None)

    def provscan(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "provscan", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=environment,
        )

    # When a release pack is exported and signed with it (step 3)
    archive = tmp_path / "provscan-knowledge.tar.gz"
    exported = provscan(
        "knowledge",
        "export",
        "--data-dir",
        str(data_copy(tmp_path)),
        "--version",
        next_version(),
        "--as-of",
        date.today().isoformat(),
        "--sign-key",
        str(private),
        "--output",
        str(archive),
    )
    assert exported.returncode == 0, exported.stderr
    with tarfile.open(archive) as tar:
        assert SIGNATURE_FILE in tar.getnames()
    # Then it installs where that public key is trusted, under the key's fingerprint
    installed = provscan("knowledge", "update", "--from", str(archive), "--trust-key", str(public))
    assert installed.returncode == 0, installed.stderr
    fingerprint = key_fingerprint(trusted_public_keys([public])[-1])
    assert f"signed by {fingerprint}" in installed.stdout
