"""A knowledge maintainer's review of packs and KEV imports: an import is carried over onto a
newer pack, a partial feed touches only what it lists, a KEV import records the signed pack it
was made on, export refuses a taken version and a future as-of, and the hints say how packs
are made. Every test uses a temporary knowledge home and its own key."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provscan.knowledge.base import (
    BUNDLED_DATA_DIR,
    KNOWLEDGE_DIR_ENV,
    MANIFEST_FILE,
    KnowledgeYamlLoader,
    bundled_version,
)
from provscan.knowledge.kev import KevFeedProblem, import_kev, update_keeping_kev
from provscan.knowledge.packs import (
    MAX_AGE_ENV,
    TRUSTED_KEYS_ENV,
    KevCatalogStamp,
    PackRefused,
    active_pack,
    build_manifest,
    export_directory,
    extract_pack,
    install_pack,
    manifest_out_of_date,
    pack_bytes,
    read_manifest,
    render_manifest,
    staleness_warning,
    verify_active_pack,
)

TODAY = date.today()
CATALOG = "2026.12.05"
RELEASED = (TODAY - timedelta(days=2)).isoformat()
OLD_AS_OF = (TODAY - timedelta(days=20)).isoformat()


def version_above_bundled(step: int) -> str:
    parts = bundled_version().split("+")[0].split(".")
    parts[-1] = str(int(parts[-1]) + step)
    return ".".join(parts)


def data_copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(BUNDLED_DATA_DIR, target, ignore=shutil.ignore_patterns(MANIFEST_FILE))
    return target


def signing_key(tmp_path: Path) -> tuple[Ed25519PrivateKey, Path]:
    key = Ed25519PrivateKey.generate()
    public = tmp_path / "ours.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key, public


def signed_pack(
    data_dir: Path, archive: Path, version: str, key: Ed25519PrivateKey, as_of: str = OLD_AS_OF
) -> Path:
    manifest = build_manifest(data_dir, version=version, as_of=as_of)
    archive.write_bytes(pack_bytes(data_dir, manifest, sign_with=key))
    return archive


def cves(directory: Path) -> list[dict[str, Any]]:
    text = (directory / "vulnerabilities.yaml").read_text(encoding="utf-8")
    return list(yaml.load(text, Loader=KnowledgeYamlLoader)["vulnerabilities"])


def entry(cve: str, vendor: str) -> dict[str, Any]:
    return {
        "cveID": cve,
        "vendorProject": vendor,
        "product": "Widget",
        "vulnerabilityName": f"{vendor} Widget Improper Authentication Vulnerability",
        "dateAdded": "2026-11-30",
        "shortDescription": "An attacker can bypass authentication.",
        "requiredAction": "Apply mitigations per vendor instructions or discontinue use.",
        "dueDate": "2026-12-21",
    }


def feed(path: Path, listed: list[tuple[str, str]], *, whole: bool) -> Path:
    """A feed listing ``listed`` (cve, vendor); ``whole`` fills it to a whole catalog's size
    with a vendor provscan does not know."""
    entries = [entry(cve, vendor) for cve, vendor in listed]
    if whole:
        entries += [entry(f"CVE-2000-{90000 + n}", "Examplesoft") for n in range(1400)]
    document = {
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": CATALOG,
        "dateReleased": f"{RELEASED}T17:01:32.6281Z",
        "count": len(entries),
        "vulnerabilities": entries,
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture
def trusted(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ed25519PrivateKey:
    """A signing key whose public key is trusted (PROVSCAN_KNOWLEDGE_TRUSTED_KEYS), and a
    signed pack of it installed as the active knowledge."""
    key, public = signing_key(tmp_path)
    monkeypatch.setenv(TRUSTED_KEYS_ENV, str(public))
    base = signed_pack(
        data_copy(tmp_path, "base"), tmp_path / "base.tar.gz", version_above_bundled(1), key
    )
    install_pack(base)
    return key


def first_unlisted(directory: Path) -> dict[str, Any]:
    return next(item for item in cves(directory) if not item["kev"]["listed"])


def kev_of(directory: Path, cve: str) -> dict[str, Any]:
    return dict(next(item for item in cves(directory) if item["cve"] == cve)["kev"])


# --- 1. a newer pack keeps the KEV import ----------------------------------------------------------


def test_a_newer_pack_older_than_the_kev_import_gets_the_import_applied_again(
    trusted: Ed25519PrivateKey, home: Path, tmp_path: Path
) -> None:
    target = first_unlisted(active_pack().path)
    import_kev(feed(tmp_path / "kev.json", [(target["cve"], target["vendors"][0])], whole=True))
    assert kev_of(active_pack().path, target["cve"])["listed"] is True
    newer = version_above_bundled(2)
    archive = signed_pack(data_copy(tmp_path, "newer"), tmp_path / "newer.tar.gz", newer, trusted)

    result, carried = update_keeping_kev(archive)

    assert result.version == newer and result.signed_by
    assert carried is not None and not carried.dropped, carried
    active = active_pack()
    assert active.version == f"{newer}+kev.{CATALOG}"
    assert active.kev_catalog == KevCatalogStamp(version=CATALOG, released=RELEASED)
    assert kev_of(active.path, target["cve"])["listed"] is True
    assert "--rollback" in carried.message and newer in carried.message
    # the carried-over import is checked against the new signed pack, not the old one
    verification = verify_active_pack()
    assert verification.ok and verification.base_version == newer


def test_a_pack_reviewed_after_the_catalog_replaces_the_import_with_a_warning_naming_the_command(
    trusted: Ed25519PrivateKey, home: Path, tmp_path: Path
) -> None:
    target = first_unlisted(active_pack().path)
    import_kev(feed(tmp_path / "kev.json", [(target["cve"], target["vendors"][0])], whole=True))
    newer = version_above_bundled(2)
    archive = signed_pack(
        data_copy(tmp_path, "newer"), tmp_path / "n.tar.gz", newer, trusted, as_of=TODAY.isoformat()
    )

    _result, carried = update_keeping_kev(archive)

    assert carried is not None and carried.dropped
    assert CATALOG in carried.message and "provscan kev import FILE" in carried.message
    assert active_pack().version == newer


# --- 2. a partial feed ------------------------------------------------------------------------------


def test_a_small_feed_is_refused_as_not_the_whole_catalog_and_partial_touches_only_its_cves(
    trusted: Ed25519PrivateKey, home: Path, tmp_path: Path
) -> None:
    base = active_pack().path
    target = first_unlisted(base)
    small = feed(tmp_path / "three.json", [(target["cve"], target["vendors"][0])], whole=False)
    with pytest.raises(KevFeedProblem, match=r"not the whole KEV catalog.*--partial"):
        import_kev(small)
    assert active_pack().path == base

    report, result = import_kev(small, partial=True)

    assert result is not None and report.partial
    assert [change.cve for change in report.changes] == [target["cve"]]
    after = {item["cve"]: item["kev"] for item in cves(active_pack().path)}
    before = {item["cve"]: item["kev"] for item in cves(base)}
    assert {cve for cve in before if before[cve] != after[cve]} == {target["cve"]}


# --- 3. an unsigned KEV import on a signed pack, and tampering after it -----------------------------


def test_a_kev_import_is_checked_against_its_signed_base_and_an_edit_after_it_is_caught(
    trusted: Ed25519PrivateKey, home: Path, tmp_path: Path
) -> None:
    base_version = active_pack().version
    target = first_unlisted(active_pack().path)
    import_kev(feed(tmp_path / "kev.json", [(target["cve"], target["vendors"][0])], whole=True))
    verification = verify_active_pack()
    assert verification.ok and verification.signature == "unsigned"
    warning = verification.warning()
    assert (
        warning is not None
        and f"KEV import made here on top of signed pack {base_version}" in warning
    )

    # a maintainer edits policies.yaml of the installed import and rewrites its hash
    pack_dir = active_pack().path
    policies = pack_dir / "policies.yaml"
    policies.write_text(policies.read_text(encoding="utf-8") + "# loosened\n", encoding="utf-8")
    manifest = read_manifest(pack_dir)
    files = {
        **manifest.files,
        "policies.yaml": hashlib.sha256(policies.read_bytes()).hexdigest(),
    }
    (pack_dir / MANIFEST_FILE).write_text(
        render_manifest(manifest.model_copy(update={"files": files})), encoding="utf-8"
    )

    tampered = verify_active_pack()
    assert not tampered.ok
    assert tampered.base_problems and "policies.yaml" in tampered.base_problems[0]
    assert "does not verify" in tampered.summary()


# --- 4, 5. export refuses a taken version and a future as-of ---------------------------------------


def test_export_refuses_the_bundled_version_for_other_content(home: Path, tmp_path: Path) -> None:
    edited = tmp_path / "mydata"
    shutil.copytree(BUNDLED_DATA_DIR, edited)
    (edited / "eol.yaml").write_text(
        (edited / "eol.yaml").read_text(encoding="utf-8") + "# edited\n", encoding="utf-8"
    )
    with pytest.raises(Exception, match=r"give --version \(e\.g\. "):
        export_directory(edited, version=None, as_of=None)


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, KNOWLEDGE_DIR_ENV: str(home)}
    environment.pop(MAX_AGE_ENV, None)
    environment.pop(TRUSTED_KEYS_ENV, None)
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=environment,
    )


def test_export_refuses_a_future_as_of_in_one_line(home: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.tar.gz"
    future = (TODAY + timedelta(days=365)).isoformat()
    done = cli(
        home,
        "knowledge",
        "export",
        "--data-dir",
        str(data_copy(tmp_path, "d")),
        "--version",
        version_above_bundled(3),
        "--as-of",
        future,
        "--output",
        str(output),
    )
    assert done.returncode == 2
    assert "in the future" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr and not output.exists()


def test_replacing_the_bundled_version_says_no_installed_pack_was_replaced(
    home: Path, tmp_path: Path
) -> None:
    edited = data_copy(tmp_path, "same-name")
    (edited / "eol.yaml").write_text(
        (edited / "eol.yaml").read_text(encoding="utf-8") + "# edited\n", encoding="utf-8"
    )
    archive = tmp_path / "p.tar.gz"
    archive.write_bytes(
        pack_bytes(edited, build_manifest(edited, version=bundled_version(), as_of=OLD_AS_OF))
    )
    done = cli(home, "knowledge", "update", "--from", str(archive), "--replace")
    assert done.returncode == 0, done.stderr
    assert "in place of the bundled knowledge" in done.stdout
    assert not done.stdout.startswith("replaced")


# --- 6. the staleness warning's advice ---------------------------------------------------------------


def test_the_staleness_warning_does_not_promise_that_a_kev_import_renews_the_pack(
    home: Path,
) -> None:
    old = dataclasses.replace(
        active_pack(),
        as_of=(TODAY - timedelta(days=400)).isoformat(),
        kev_catalog=KevCatalogStamp(version=CATALOG, released=RELEASED),
    )
    warning = staleness_warning(old, max_age_days=180)
    assert warning is not None
    assert "knowledge update --from FILE" in warning
    assert "refreshes only the KEV flags" in warning and f"catalog {CATALOG}" in warning


# --- 7. how packs are made ------------------------------------------------------------------------


def test_a_directory_and_a_hand_made_tar_are_told_how_packs_are_made(
    home: Path, tmp_path: Path
) -> None:
    directory = data_copy(tmp_path, "dir")
    staging = tmp_path / "staging"
    staging.mkdir()
    with pytest.raises(
        PackRefused, match=r"is a directory: a knowledge pack is a \.tar\.gz made by"
    ):
        extract_pack(directory, staging)
    # a manifest made, then a file edited, then tarred by hand
    manifest = build_manifest(directory, version=version_above_bundled(4), as_of=OLD_AS_OF)
    (directory / MANIFEST_FILE).write_text(render_manifest(manifest), encoding="utf-8")
    (directory / "eol.yaml").write_text(
        (directory / "eol.yaml").read_text(encoding="utf-8") + "# edited\n", encoding="utf-8"
    )
    archive = tmp_path / "hand.tar.gz"
    subprocess.run(["tar", "-czf", str(archive), "-C", str(directory), "."], check=True)
    with pytest.raises(PackRefused, match=r"damaged or tampered.*knowledge export --data-dir"):
        install_pack(archive)


def test_gen_manifest_data_dir_mends_a_stale_manifest(tmp_path: Path) -> None:
    directory = data_copy(tmp_path, "mydata")
    manifest = build_manifest(directory, version=version_above_bundled(5), as_of=OLD_AS_OF)
    (directory / MANIFEST_FILE).write_text(render_manifest(manifest), encoding="utf-8")
    (directory / "eol.yaml").write_text(
        (directory / "eol.yaml").read_text(encoding="utf-8") + "# edited\n", encoding="utf-8"
    )
    stale = manifest_out_of_date(directory)
    assert stale is not None and f"gen_manifest.py --data-dir {directory}" in stale
    script = Path(__file__).resolve().parents[2] / "scripts" / "gen_manifest.py"
    check = [sys.executable, str(script), "--data-dir", str(directory), "--check"]
    assert subprocess.run(check, capture_output=True, check=False).returncode == 1
    done = subprocess.run(check[:-1], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout
    assert manifest_out_of_date(directory) is None
    assert read_manifest(directory).version == version_above_bundled(5)
    assert subprocess.run(check, capture_output=True, check=False).returncode == 0
