"""Knowledge packs: the bundled manifest, installing, refusing, rolling back, exporting, status.

Every test points PROVSCAN_KNOWLEDGE_DIR at a temporary directory: the real user data
directory is never read or written.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from provscan.knowledge.base import (
    BUNDLED_DATA_DIR,
    KNOWLEDGE_DIR_ENV,
    MANIFEST_FILE,
    POINTER_FILE,
    active_data_dir,
    bundled_version,
)
from provscan.knowledge.loader import load_knowledge, load_posture_knowledge
from provscan.knowledge.packs import (
    MAX_AGE_ENV,
    PackRefused,
    active_pack,
    build_manifest,
    count_entries,
    export_active,
    install_pack,
    manifest_mismatches,
    pack_bytes,
    read_manifest,
    render_manifest,
    rollback,
    staleness_warning,
)

GEN_MANIFEST = "run `.venv/bin/python scripts/gen_manifest.py`"


def test_the_bundled_manifest_matches_the_data() -> None:
    manifest = read_manifest(BUNDLED_DATA_DIR)
    problems = manifest_mismatches(BUNDLED_DATA_DIR, manifest)
    assert not problems, (
        f"the knowledge data changed but its manifest did not: {GEN_MANIFEST}\n"
        + "\n".join(problems)
    )
    assert count_entries(BUNDLED_DATA_DIR) == manifest.counts, (
        f"entry counts differ from the manifest: {GEN_MANIFEST}"
    )
    assert date.fromisoformat(manifest.as_of) <= date.today()


# --- helpers ---------------------------------------------------------------------------------


def next_version(step: int = 1) -> str:
    """A version above the bundled one (``2026.12.0`` -> ``2026.12.1``)."""
    parts = bundled_version().split("+")[0].split(".")
    parts[-1] = str(int(parts[-1]) + step)
    return ".".join(parts)


def knowledge_copy(tmp_path: Path, name: str = "edited") -> Path:
    """A copy of the bundled data files (a maintainer's working directory)."""
    target = tmp_path / name
    shutil.copytree(BUNDLED_DATA_DIR, target, ignore=shutil.ignore_patterns(MANIFEST_FILE))
    return target


def make_pack(data_dir: Path, archive: Path, version: str, as_of: str | None = None) -> Path:
    manifest = build_manifest(data_dir, version=version, as_of=as_of or date.today().isoformat())
    archive.write_bytes(pack_bytes(data_dir, manifest))
    return archive


def retitle_first_cve(data_dir: Path, title: str) -> str:
    """Change one CVE title in a copy (a visible difference between two packs)."""
    path = data_dir / "vulnerabilities.yaml"
    text = path.read_text(encoding="utf-8")
    entry = yaml.safe_load(text)["vulnerabilities"][0]
    old = f"title: {entry['title']}"
    assert old in text
    path.write_text(text.replace(old, f"title: {title}", 1), encoding="utf-8")
    return str(entry["cve"])


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under a directory (what "nothing changed" is checked against)."""
    if not directory.exists():
        return {}
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, KNOWLEDGE_DIR_ENV: str(home)}
    environment.pop(MAX_AGE_ENV, None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
    )


def tar_with(archive: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        for info, content in members:
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return archive


def file_member(name: str, content: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    return info, content


# --- installing and rolling back -------------------------------------------------------------


def test_an_installed_pack_is_what_every_loader_reads_and_rollback_restores_the_bundled(
    home: Path, tmp_path: Path
) -> None:
    # Given a pack whose first CVE has another title
    data_dir = knowledge_copy(tmp_path)
    cve = retitle_first_cve(data_dir, "Retitled in pack")
    archive = make_pack(data_dir, tmp_path / "pack.tar.gz", next_version())
    bundled_titles = {v.cve: v.title for v in load_posture_knowledge().vulnerabilities}

    # When it is installed
    result = install_pack(archive)

    # Then it is active, and the default loaders read it
    assert result.version == next_version() and result.previous == bundled_version()
    assert active_data_dir() == home / next_version()
    pack = active_pack(check_hashes=True)
    assert (pack.source, pack.version, pack.intact) == ("installed", next_version(), True)
    titles = {v.cve: v.title for v in load_posture_knowledge().vulnerabilities}
    assert titles[cve] == "Retitled in pack" != bundled_titles[cve]
    assert set(load_knowledge().vendors) == set(load_knowledge(BUNDLED_DATA_DIR).vendors)
    assert json.loads((home / POINTER_FILE).read_text()) == {
        "active": next_version(),
        "history": [None],
    }

    # When rolled back, the bundled knowledge is active again
    back = rollback()
    assert (back.left, back.now, back.source) == (next_version(), bundled_version(), "bundled")
    assert active_data_dir() == BUNDLED_DATA_DIR
    titles = {v.cve: v.title for v in load_posture_knowledge().vulnerabilities}
    assert titles[cve] == bundled_titles[cve]
    with pytest.raises(PackRefused, match="nothing to roll back"):
        rollback()


def test_rollback_goes_back_one_pack_at_a_time(home: Path, tmp_path: Path) -> None:
    data_dir = knowledge_copy(tmp_path)
    first = install_pack(make_pack(data_dir, tmp_path / "a.tar.gz", next_version(1)))
    second = install_pack(make_pack(data_dir, tmp_path / "b.tar.gz", next_version(2)))
    assert second.previous == first.version
    assert rollback().now == first.version
    assert active_pack().version == first.version
    assert rollback().now == bundled_version()


def test_an_older_pack_needs_allow_downgrade(home: Path, tmp_path: Path) -> None:
    data_dir = knowledge_copy(tmp_path)
    install_pack(make_pack(data_dir, tmp_path / "new.tar.gz", next_version(2)))
    older = make_pack(data_dir, tmp_path / "old.tar.gz", next_version(1))
    with pytest.raises(PackRefused, match="older than the active knowledge"):
        install_pack(older)
    assert active_pack().version == next_version(2)
    assert install_pack(older, allow_downgrade=True).version == next_version(1)


def test_the_same_pack_twice_changes_nothing(home: Path, tmp_path: Path) -> None:
    archive = make_pack(knowledge_copy(tmp_path), tmp_path / "p.tar.gz", next_version())
    install_pack(archive)
    before = snapshot(home)
    assert install_pack(archive).changed is False
    assert snapshot(home) == before


def test_an_installed_pack_older_than_the_bundled_knowledge_is_not_used(
    home: Path, tmp_path: Path
) -> None:
    # A pack installed before provscan was upgraded: the newer bundled data wins. (Installing
    # one older than the bundled knowledge is refused, so the state is made as an upgrade
    # leaves it: the pack's directory and a pointer naming it.)
    old = knowledge_copy(tmp_path)
    (old / MANIFEST_FILE).write_text(
        render_manifest(build_manifest(old, version="2000.1.0", as_of="2000-01-01")),
        encoding="utf-8",
    )
    shutil.copytree(old, home / "2000.1.0")
    (home / POINTER_FILE).write_text(json.dumps({"active": "2000.1.0", "history": [None]}))
    assert active_data_dir() == BUNDLED_DATA_DIR
    pack = active_pack()
    assert pack.source == "bundled" and "older than the bundled" in pack.note


# --- refusing --------------------------------------------------------------------------------


def test_a_tampered_pack_is_refused_with_one_line_and_exit_2(home: Path, tmp_path: Path) -> None:
    # Given a pack whose vendors.yaml was edited after the manifest was made
    data_dir = knowledge_copy(tmp_path)
    manifest = build_manifest(data_dir, version=next_version(), as_of=date.today().isoformat())
    vendors = data_dir / "vendors.yaml"
    vendors.write_text(vendors.read_text() + "\n# edited\n")
    archive = tmp_path / "tampered.tar.gz"
    archive.write_bytes(pack_bytes(data_dir, manifest))
    before = snapshot(home)

    result = cli(home, "knowledge", "update", "--from", str(archive))

    assert result.returncode == 2, result.stderr
    assert "vendors.yaml: hash differs from the manifest" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert snapshot(home) == before  # nothing installed, no pointer, no leftovers
    assert active_data_dir() == BUNDLED_DATA_DIR


def test_a_pack_that_fails_the_knowledge_checks_is_refused(home: Path, tmp_path: Path) -> None:
    # Hashes match, but a relation names a vendor the vocabulary does not have.
    data_dir = knowledge_copy(tmp_path)
    relations = data_dir / "relations.yaml"
    text = relations.read_text()
    maker = yaml.safe_load(text)["relations"][0]["maker"]
    relations.write_text(text.replace(f"maker: {maker}", "maker: Nobody Such Vendor", 1))
    archive = make_pack(data_dir, tmp_path / "bad.tar.gz", next_version())
    with pytest.raises(PackRefused, match="fails the knowledge checks"):
        install_pack(archive)
    assert [path.name for path in home.iterdir()] == []


def test_a_pack_missing_a_file_its_manifest_lists_is_refused(home: Path, tmp_path: Path) -> None:
    data_dir = knowledge_copy(tmp_path)
    manifest = build_manifest(data_dir, version=next_version(), as_of=date.today().isoformat())
    members = [file_member(MANIFEST_FILE, render_manifest(manifest).encode())]
    members += [
        file_member(name, (data_dir / name).read_bytes())
        for name in manifest.files
        if name != "eol.yaml"
    ]
    with pytest.raises(PackRefused, match=r"eol\.yaml: listed in the manifest but missing"):
        install_pack(tar_with(tmp_path / "p.tar.gz", members))
    assert [path.name for path in home.iterdir()] == []


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (file_member("../escape.yaml", b"x: 1\n"), "not a knowledge file name"),
        (file_member("/etc/escape.yaml", b"x: 1\n"), "not a knowledge file name"),
        (file_member("fingerprints/../../escape.yaml", b"x: 1\n"), "not a knowledge file name"),
        (file_member("notes.txt", b"hello\n"), "not a knowledge file name"),
    ],
)
def test_unsafe_names_are_refused_and_nothing_is_written_outside(
    home: Path, tmp_path: Path, member: tuple[tarfile.TarInfo, bytes], message: str
) -> None:
    archive = tar_with(tmp_path / "evil.tar.gz", [member])
    with pytest.raises(PackRefused, match=message):
        install_pack(archive)
    assert not (tmp_path / "escape.yaml").exists()
    assert [path.name for path in home.iterdir()] == []


@pytest.mark.parametrize(
    "kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE]
)
def test_links_and_special_files_are_refused(home: Path, tmp_path: Path, kind: bytes) -> None:
    info = tarfile.TarInfo("vendors.yaml")
    info.type = kind
    info.linkname = "/etc/passwd"
    archive = tar_with(
        tmp_path / "links.tar.gz", [file_member(MANIFEST_FILE, b"{}\n"), (info, None)]
    )
    with pytest.raises(PackRefused, match="not a regular file"):
        install_pack(archive)
    assert [path.name for path in home.iterdir()] == []


def test_oversized_duplicate_and_non_archive_input_are_refused(home: Path, tmp_path: Path) -> None:
    big = tarfile.TarInfo("vendors.yaml")
    big.size = 512 * 1024 * 1024  # announced, never stored: refused from the header
    with pytest.raises(PackRefused, match="larger than"):
        install_pack(tar_with(tmp_path / "big.tar.gz", [(big, None)]))
    twice = [file_member("eol.yaml", b"a: 1\n"), file_member("eol.yaml", b"a: 2\n")]
    with pytest.raises(PackRefused, match="appears twice"):
        install_pack(tar_with(tmp_path / "twice.tar.gz", twice))
    (tmp_path / "plain.yaml").write_text("not: an archive\n")
    with pytest.raises(PackRefused, match=r"not a readable \.tar\.gz"):
        install_pack(tmp_path / "plain.yaml")
    with pytest.raises(PackRefused, match=r"no manifest\.yaml"):
        install_pack(tar_with(tmp_path / "nomanifest.tar.gz", [file_member("eol.yaml", b"a: 1\n")]))
    assert [path.name for path in home.iterdir()] == []


def test_a_damaged_pointer_is_one_line_naming_the_fix(home: Path) -> None:
    home.mkdir()
    (home / POINTER_FILE).write_text("{not json")
    result = cli(home, "knowledge", "status")
    assert result.returncode == 1
    assert "delete it to use the bundled knowledge" in result.stderr
    assert "Traceback" not in result.stderr


# --- export, status and staleness --------------------------------------------------------------


def test_export_of_the_active_knowledge_round_trips_byte_for_byte(
    home: Path, tmp_path: Path
) -> None:
    archive = make_pack(knowledge_copy(tmp_path), tmp_path / "p.tar.gz", next_version())
    install_pack(archive)
    result = cli(home, "knowledge", "export", "--output", str(tmp_path / "again.tar.gz"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "again.tar.gz").read_bytes() == archive.read_bytes()
    manifest, data = export_active()
    assert data == archive.read_bytes() and manifest.version == next_version()


def test_export_of_a_directory_refuses_knowledge_that_fails_its_checks(
    home: Path, tmp_path: Path
) -> None:
    data_dir = knowledge_copy(tmp_path)
    (data_dir / "families.yaml").write_text("families: not-a-list\n")
    result = cli(
        home,
        "knowledge",
        "export",
        "--data-dir",
        str(data_dir),
        "--version",
        next_version(),
        "--as-of",
        date.today().isoformat(),
        "--output",
        str(tmp_path / "p.tar.gz"),
    )
    assert result.returncode == 2 and "fails the knowledge checks" in result.stderr
    assert not (tmp_path / "p.tar.gz").exists()


def test_status_reports_version_dates_counts_and_the_active_pack(
    home: Path, tmp_path: Path
) -> None:
    bundled = json.loads(cli(home, "knowledge", "status", "--format", "json").stdout)
    manifest = read_manifest(BUNDLED_DATA_DIR)
    assert bundled["source"] == "bundled" and bundled["version"] == manifest.version
    assert bundled["as_of"] == manifest.as_of
    assert bundled["counts"] == manifest.counts and manifest.counts["vendors"] > 0
    assert bundled["oldest_source_check"] == manifest.oldest_source_check
    assert bundled["installed_packs"] == []

    archive = make_pack(knowledge_copy(tmp_path), tmp_path / "p.tar.gz", next_version())
    assert cli(home, "knowledge", "update", "--from", str(archive)).returncode == 0
    result = cli(home, "knowledge", "status")
    assert result.returncode == 0
    assert f"Active knowledge:    {next_version()} (an installed pack)" in result.stdout
    assert f"Bundled version:     {manifest.version}" in result.stdout
    assert "Files:               match the manifest" in result.stdout


def test_stale_knowledge_warns_on_status_and_lookup(home: Path, tmp_path: Path) -> None:
    old_day = (date.today() - timedelta(days=400)).isoformat()
    data_dir = knowledge_copy(tmp_path)
    archive = make_pack(data_dir, tmp_path / "p.tar.gz", next_version(), as_of=old_day)
    install_pack(archive)
    pack = active_pack()

    assert staleness_warning(pack, max_age_days=500) is None
    warning = staleness_warning(pack, max_age_days=180)
    assert warning is not None and "400 days old" in warning and old_day in warning

    status = cli(home, "knowledge", "status", "--format", "json")
    assert json.loads(status.stdout)["stale"] is True
    assert status.stderr.count("\n") == 1 and "400 days old" in status.stderr
    fresh = cli(home, "knowledge", "status", "--max-age-days", "1000")
    assert fresh.returncode == 0 and "warning" not in fresh.stderr
    lookup = cli(home, "lookup", "Hikvision DS-2CD2347G2-LU", "--format", "json")
    assert lookup.returncode == 0 and json.loads(lookup.stdout)
    assert lookup.stderr.count("\n") == 1 and "400 days old" in lookup.stderr
    quiet = cli(home, "lookup", "Hikvision DS-2CD2347G2-LU", **{MAX_AGE_ENV: "1000"})
    assert "warning" not in quiet.stderr


def test_a_bad_max_age_setting_is_a_one_line_error(home: Path) -> None:
    result = cli(home, "knowledge", "status", **{MAX_AGE_ENV: "soon"})
    assert result.returncode == 2 and MAX_AGE_ENV in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_manifest_renders_and_reads_back(tmp_path: Path) -> None:
    data_dir = knowledge_copy(tmp_path)
    manifest = build_manifest(data_dir, version=next_version(), as_of="2026-01-31")
    (data_dir / MANIFEST_FILE).write_text(render_manifest(manifest))
    assert read_manifest(data_dir) == manifest
    assert manifest_mismatches(data_dir, manifest) == []


# --- signatures ------------------------------------------------------------------------------


def write_key_pair(directory: Path, name: str) -> tuple[Path, Path]:
    """An Ed25519 key pair as PEM files (private: PKCS#8, public: SubjectPublicKeyInfo)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = directory / f"{name}.pem"
    public = directory / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def test_a_signed_pack_installs_under_its_key_and_a_forged_one_is_refused(
    home: Path, tmp_path: Path
) -> None:
    from provscan.knowledge.packs import SIGNATURE_FILE

    ours_private, ours_public = write_key_pair(tmp_path, "ours")
    other_private, _other_public = write_key_pair(tmp_path, "other")
    data_dir = knowledge_copy(tmp_path)
    manifest = build_manifest(data_dir, version=next_version(), as_of=date.today().isoformat())
    signed = tmp_path / "signed.tar.gz"
    signed.write_bytes(pack_bytes(data_dir, manifest, sign_with=ours_private))

    # A pack rebuilt after an edit, with a fresh manifest (hashes consistent) and the old
    # signature: only the signature can tell.
    retitle_first_cve(data_dir, "Forged title")
    forged_manifest = build_manifest(
        data_dir, version=next_version(), as_of=date.today().isoformat()
    )
    with tarfile.open(signed) as original:
        member = original.getmember(SIGNATURE_FILE)
        handle = original.extractfile(member)
        assert handle is not None
        old_signature = handle.read()
    members = [
        file_member(MANIFEST_FILE, render_manifest(forged_manifest).encode()),
        file_member(SIGNATURE_FILE, old_signature),
        *(file_member(name, (data_dir / name).read_bytes()) for name in forged_manifest.files),
    ]
    forged = tar_with(tmp_path / "forged.tar.gz", members)
    by_other = tmp_path / "other.tar.gz"
    by_other.write_bytes(pack_bytes(data_dir, forged_manifest, sign_with=other_private))
    unsigned = make_pack(data_dir, tmp_path / "unsigned.tar.gz", next_version())

    for refused, message in (
        (forged, "signature does not match"),
        (by_other, "signature does not match"),
        (unsigned, "not signed"),
    ):
        result = cli(
            home, "knowledge", "update", "--from", str(refused), "--trust-key", str(ours_public)
        )
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert not home.exists() or not (home / POINTER_FILE).exists()

    # Trusted through the environment, the genuine pack installs and names its key
    ok = cli(
        home,
        "knowledge",
        "update",
        "--from",
        str(signed),
        PROVSCAN_KNOWLEDGE_TRUSTED_KEYS=str(ours_public),
    )
    assert ok.returncode == 0, ok.stderr
    assert "signed by ed25519:" in ok.stdout
    assert json.loads((home / POINTER_FILE).read_text())["active"] == next_version()


def test_without_a_trusted_key_an_unsigned_pack_installs_unless_a_signature_is_required(
    home: Path, tmp_path: Path
) -> None:
    archive = make_pack(knowledge_copy(tmp_path), tmp_path / "p.tar.gz", next_version())
    with pytest.raises(PackRefused, match="not signed"):
        install_pack(archive, require_signature=True)
    assert install_pack(archive).signed_by is None


def test_a_bad_key_file_is_a_one_line_error(home: Path, tmp_path: Path) -> None:
    archive = make_pack(knowledge_copy(tmp_path), tmp_path / "p.tar.gz", next_version())
    install_pack(archive)
    archive = make_pack(knowledge_copy(tmp_path, "newer"), tmp_path / "n.tar.gz", next_version(2))
    (tmp_path / "bad.pub").write_text("not a key\n")
    result = cli(
        home,
        "knowledge",
        "update",
        "--from",
        str(archive),
        "--trust-key",
        str(tmp_path / "bad.pub"),
    )
    assert result.returncode == 2 and "is not a PEM public key" in result.stderr
    result = cli(
        home,
        "knowledge",
        "export",
        "--sign-key",
        str(tmp_path / "bad.pub"),
        "-o",
        str(tmp_path / "x.tar.gz"),
    )
    assert result.returncode == 2 and "not an unencrypted PEM private key" in result.stderr
    assert not (tmp_path / "x.tar.gz").exists()
