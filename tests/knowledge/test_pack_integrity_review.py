"""A knowledge maintainer's review of packs, status and staleness, through the real commands.

Packs are real ``.tar.gz`` files made with ``provscan knowledge export --data-dir`` from a copy
of the bundled data in the test's temporary directory; PROVSCAN_KNOWLEDGE_DIR and
PROVSCAN_CACHE_DIR point into it, so the user's own directories are never read or written.
Scans go only to a small HTTP server on a loopback address.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provscan.knowledge.base import (
    BUNDLED_DATA_DIR,
    KNOWLEDGE_DIR_ENV,
    MANIFEST_FILE,
    POINTER_FILE,
    bundled_version,
    parse_partial_date,
)
from provscan.knowledge.cache import CACHE_DIR_ENV
from provscan.knowledge.packs import (
    MAX_AGE_ENV,
    SOURCE_CHECK_MAX_AGE_DAYS,
    TRUSTED_KEYS_ENV,
    build_manifest,
    read_manifest,
    render_manifest,
)

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ["Hikvision", "DS-2CD2347G2-LU"]
ALL_MATCH = "the knowledge loads and passes `provscan knowledge verify`"


def version_above_bundled(step: int) -> str:
    parts = bundled_version().split("+")[0].split(".")
    parts[-1] = str(int(parts[-1]) + step)
    return ".".join(parts)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {
        **os.environ,
        KNOWLEDGE_DIR_ENV: str(tmp_path / "knowledge-home"),
        CACHE_DIR_ENV: str(tmp_path / "cache"),
        MAX_AGE_ENV: "100000",
    }
    environment.pop(TRUSTED_KEYS_ENV, None)
    return environment


def run(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**env, **extra},
    )


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single error line of a refused command (no traceback, nothing else)."""
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr
    return errors[0]


def data_copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(BUNDLED_DATA_DIR, target, ignore=shutil.ignore_patterns(MANIFEST_FILE))
    return target


def export(
    env: dict[str, str],
    data_dir: Path,
    archive: Path,
    version: str,
    as_of: str | None = None,
    *sign: str,
) -> Path:
    done = run(
        env,
        "knowledge",
        "export",
        "--data-dir",
        str(data_dir),
        "--version",
        version,
        "--as-of",
        as_of or date.today().isoformat(),
        "-o",
        str(archive),
        *sign,
    )
    assert done.returncode == 0, done.stderr
    return archive


def install(env: dict[str, str], archive: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    done = run(env, "knowledge", "update", "--from", str(archive), *extra)
    assert done.returncode == 0, done.stderr
    return done


def retitle(path: Path, title: str = "Harmless ") -> None:
    text = path.read_text(encoding="utf-8")
    assert "title: " in text
    path.write_text(text.replace("title: ", f"title: {title}", 1), encoding="utf-8")


def key_pair(tmp_path: Path) -> tuple[Path, Path]:
    key = Ed25519PrivateKey.generate()
    private, public = tmp_path / "ours.pem", tmp_path / "ours.pub"
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


# --- 2. a pack changed after it was installed ---------------------------------------------------


def test_a_pack_edited_after_install_is_refused_when_loaded_and_repaired_by_the_same_pack(
    env: dict[str, str], tmp_path: Path
) -> None:
    version = version_above_bundled(1)
    archive = export(env, data_copy(tmp_path, "data"), tmp_path / "p.tar.gz", version)
    install(env, archive)
    assert run(env, "lookup", *PRODUCT).returncode == 0
    installed = Path(env[KNOWLEDGE_DIR_ENV]) / version

    # When a file of the installed pack is edited
    retitle(installed / "vulnerabilities.yaml")
    # Then a command that loads the knowledge refuses it in one line naming the repair
    refused = run(env, "lookup", *PRODUCT)
    assert refused.returncode != 0 and refused.stdout == ""
    line = one_error(refused)
    assert f"pack {version}" in line and "vulnerabilities.yaml: hash differs" in line
    assert "knowledge update --from FILE" in line and "--rollback" in line
    assert "gen_manifest" not in refused.stderr
    status = run(env, "knowledge", "status")
    assert status.returncode == 1
    assert "gen_manifest" not in status.stderr and "reinstall provscan" not in status.stderr

    # And the same pack again repairs it (no longer "already active; nothing changed")
    repaired = install(env, archive)
    assert f"repaired knowledge {version}" in repaired.stdout
    assert run(env, "lookup", *PRODUCT).returncode == 0
    assert run(env, "knowledge", "status").returncode == 0
    again = install(env, archive)
    assert "already active; nothing changed" in again.stdout


def test_a_rollback_to_a_damaged_pack_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    data = data_copy(tmp_path, "data")
    first, second = version_above_bundled(1), version_above_bundled(2)
    install(env, export(env, data, tmp_path / "a.tar.gz", first))
    install(env, export(env, data, tmp_path / "b.tar.gz", second))
    home = Path(env[KNOWLEDGE_DIR_ENV])
    retitle(home / first / "vulnerabilities.yaml")
    pointer = (home / POINTER_FILE).read_bytes()

    refused = run(env, "knowledge", "update", "--rollback")
    assert refused.returncode == 2
    line = one_error(refused)
    assert f"cannot roll back to {first}" in line and "knowledge update --from FILE" in line
    assert (home / POINTER_FILE).read_bytes() == pointer
    assert run(env, "lookup", *PRODUCT).returncode == 0  # the active pack is intact


def test_kev_import_on_a_damaged_installed_pack_names_the_pack_repair(
    env: dict[str, str], tmp_path: Path
) -> None:
    version = version_above_bundled(1)
    install(env, export(env, data_copy(tmp_path, "data"), tmp_path / "p.tar.gz", version))
    (Path(env[KNOWLEDGE_DIR_ENV]) / version / "eol.yaml").write_text(
        (BUNDLED_DATA_DIR / "eol.yaml").read_text(encoding="utf-8") + "\n# edited\n",
        encoding="utf-8",
    )
    feed = tmp_path / "kev.json"
    feed.write_text(
        json.dumps(
            {
                "title": "CISA Catalog of Known Exploited Vulnerabilities",
                "catalogVersion": "2026.12.01",
                "dateReleased": "2026-12-01T17:01:32.6281Z",
                "count": 0,
                "vulnerabilities": [],
            }
        ),
        encoding="utf-8",
    )
    refused = run(env, "kev", "import", str(feed))
    assert refused.returncode != 0
    line = one_error(refused)
    assert "eol.yaml: hash differs" in line and "knowledge update --from FILE" in line
    assert "gen_manifest" not in refused.stderr


# --- 3. a bad pack can be replaced --------------------------------------------------------------


def test_a_bad_pack_of_a_version_is_replaced_by_the_genuine_one_with_replace(
    env: dict[str, str], tmp_path: Path
) -> None:
    version = version_above_bundled(3)
    bad_data = data_copy(tmp_path, "bad")
    retitle(bad_data / "vulnerabilities.yaml")
    bad = export(env, bad_data, tmp_path / "bad.tar.gz", version)
    private, public = key_pair(tmp_path)
    good = export(
        env,
        data_copy(tmp_path, "good"),
        tmp_path / "good.tar.gz",
        version,
        None,
        "--sign-key",
        str(private),
    )
    assert "signature not checked" in install(env, bad).stdout
    assert run(env, "knowledge", "update", "--rollback").returncode == 0

    refused = run(env, "knowledge", "update", "--from", str(good), "--trust-key", str(public))
    assert refused.returncode == 2
    line = one_error(refused)
    assert f"a different pack {version} is already installed" in line
    assert "--replace" in line

    replaced = install(env, good, "--trust-key", str(public), "--replace")
    assert "signed by ed25519:" in replaced.stdout
    installed = Path(env[KNOWLEDGE_DIR_ENV]) / version
    assert (installed / "vulnerabilities.yaml").read_bytes() == (
        BUNDLED_DATA_DIR / "vulnerabilities.yaml"
    ).read_bytes()
    status = run(env, "knowledge", "status", "--format", "json", "--trust-key", str(public))
    document = json.loads(status.stdout)
    assert document["version"] == version and document["signature"] == "valid"


# --- 4. a downgrade below the bundled knowledge -------------------------------------------------


def test_a_pack_older_than_the_bundled_knowledge_is_refused_even_with_allow_downgrade(
    env: dict[str, str], tmp_path: Path
) -> None:
    old = export(
        env, data_copy(tmp_path, "data"), tmp_path / "old.tar.gz", "2000.1.0", "2000-01-01"
    )
    refused = run(env, "knowledge", "update", "--from", str(old), "--allow-downgrade")
    assert refused.returncode == 2
    line = one_error(refused)
    assert "older than the knowledge bundled" in line and bundled_version() in line
    assert "would change nothing" in line
    assert not (Path(env[KNOWLEDGE_DIR_ENV]) / "2000.1.0").exists()
    assert json.loads(run(env, "knowledge", "status", "-f", "json").stdout)["source"] == "bundled"


# --- 5. gen_manifest and status on data that does not load -------------------------------------


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of a source checkout's layout: scripts/gen_manifest.py and src/provscan."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / "scripts" / "gen_manifest.py", root / "scripts" / "gen_manifest.py")
    shutil.copytree(
        REPO / "src" / "provscan",
        root / "src" / "provscan",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return root


def test_gen_manifest_refuses_data_that_does_not_load_and_status_reports_it(
    env: dict[str, str], checkout: Path
) -> None:
    data = checkout / "src" / "provscan" / "knowledge" / "data"
    broken = sorted((data / "fingerprints").glob("*.yaml"))[0]
    broken.write_text(broken.read_text(encoding="utf-8") + "\n  : [unclosed\n", encoding="utf-8")
    manifest_before = (data / MANIFEST_FILE).read_bytes()
    checkout_env = {**env, "PYTHONPATH": str(checkout / "src")}

    # gen_manifest refuses, listing the problem, and leaves the manifest as it was
    refused = subprocess.run(
        [sys.executable, str(checkout / "scripts" / "gen_manifest.py")],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=checkout_env,
    )
    assert refused.returncode == 2, refused.stdout
    assert f"{broken.name}" in refused.stdout and "manifest was not written" in refused.stdout
    assert (data / MANIFEST_FILE).read_bytes() == manifest_before

    # A manifest made anyway (as the old gen_manifest did): status no longer says all is well
    current = read_manifest(data)
    forged = build_manifest(data, version=current.version, as_of=current.as_of)
    (data / MANIFEST_FILE).write_text(render_manifest(forged), encoding="utf-8")
    status = run(checkout_env, "knowledge", "status")
    assert status.returncode == 1
    assert "Knowledge checks:" in status.stdout and ALL_MATCH not in status.stdout
    line = one_error(status)
    assert "does not load or fails its checks" in line and broken.name in line
    # a maintainer in a checkout is told the maintainer's fix, not "reinstall provscan"
    assert "scripts/gen_manifest.py" in line and "reinstall provscan" not in line


# --- 6. staleness ---------------------------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A small HTTP server on an unusual loopback address (what the scans probe)."""
    (tmp_path / "www").mkdir()
    handler = lambda *a, **k: _Quiet(*a, directory=str(tmp_path / "www"), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.165.91.7", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.165.91.7", server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_every_command_that_judges_devices_warns_on_stale_knowledge(
    env: dict[str, str], tmp_path: Path, web_server: tuple[str, int]
) -> None:
    address, port = web_server
    as_of = (date.today() - timedelta(days=400)).isoformat()
    old = export(
        env, data_copy(tmp_path, "data"), tmp_path / "old.tar.gz", version_above_bundled(1), as_of
    )
    stale = {MAX_AGE_ENV: "180"}
    warning = "is 400 days old"
    # Installing a 400-day-old pack says so
    installed = run(env, "knowledge", "update", "--from", str(old), **stale)
    assert installed.returncode == 0 and warning in installed.stderr

    report = tmp_path / "scan.json"
    scan = run(
        env,
        "scan",
        address,
        "-p",
        str(port),
        "--no-discovery",
        "--no-db",
        "-f",
        "json",
        "-o",
        str(report),
        **stale,
    )
    assert scan.returncode == 0, scan.stderr
    assert warning in scan.stderr
    table = run(env, "scan", address, "-p", str(port), "--no-discovery", "--no-db", **stale)
    assert table.stdout.rstrip().splitlines()[-1].endswith("(stale: 400 days old, limit 180)")

    capture = REPO / "tests" / "pcap" / "fixtures" / "crafted_signals.pcapng"
    commands = {
        "pcap": ["pcap", str(capture), "--no-db"],
        "discover": ["discover", address, "--no-db", "--timeout", "0.5"],
        "explain": ["explain", address, "--from", str(report)],
    }
    for name, args in commands.items():
        result = run(env, *args, **stale)
        assert "Traceback" not in result.stderr, (name, result.stderr)
        assert warning in result.stderr, (name, result.stderr)
    # Within the limit, none of them warns
    quiet = run(env, "explain", address, "--from", str(report))
    assert "days old" not in quiet.stderr


# --- 1. the compliance report names the knowledge the scans recorded -----------------------------


def test_the_report_names_the_knowledge_each_scan_recorded(
    env: dict[str, str], tmp_path: Path, web_server: tuple[str, int]
) -> None:
    address, port = web_server
    version, as_of = version_above_bundled(4), "2025-11-01"
    install(env, export(env, data_copy(tmp_path, "data"), tmp_path / "p.tar.gz", version, as_of))
    db = str(tmp_path / "scans.db")

    def scan(output: Path) -> str:
        done = run(
            env,
            "scan",
            address,
            "-p",
            str(port),
            "--no-discovery",
            "--db",
            db,
            "-f",
            "json",
            "-o",
            str(output),
        )
        assert done.returncode == 0, done.stderr
        section = json.loads(output.read_text(encoding="utf-8"))["scan"]
        return str(section["id"])

    first = scan(tmp_path / "first.json")
    assert run(env, "knowledge", "update", "--rollback").returncode == 0
    bundled = read_manifest(BUNDLED_DATA_DIR)

    one = tmp_path / "one.md"
    assert run(env, "report", "--db", db, "--scan", first, "-o", str(one)).returncode == 0
    text = one.read_text(encoding="utf-8")
    headline = next(line for line in text.splitlines() if line.startswith("- Knowledge: "))
    assert headline.startswith(f"- Knowledge: {version}, as of {as_of} (recorded by the scan)")
    assert f"active now: bundled knowledge {bundled.version}, as of {bundled.as_of}" in headline

    scan(tmp_path / "second.json")
    both = tmp_path / "both.html"
    assert run(env, "report", "--db", db, "-o", str(both)).returncode == 0
    html = both.read_text(encoding="utf-8")
    assert f"2 versions across the scans: {version}, {bundled.version}" in html
    low, high = sorted([as_of, bundled.as_of])
    assert f"as of {low} to {high}" in html


# --- 7. minor ----------------------------------------------------------------------------------


def test_verify_counts_the_files_the_manifest_lists(env: dict[str, str]) -> None:
    result = run(env, "knowledge", "verify", "-f", "json")
    assert result.returncode == 0, result.stdout
    listed = read_manifest(BUNDLED_DATA_DIR).files
    assert json.loads(result.stdout)["files_checked"] == len(listed)


def test_status_says_an_unchecked_signature_is_not_checked_and_flags_old_source_checks(
    env: dict[str, str], tmp_path: Path
) -> None:
    private, _public = key_pair(tmp_path)
    archive = export(
        env,
        data_copy(tmp_path, "data"),
        tmp_path / "s.tar.gz",
        version_above_bundled(1),
        None,
        "--sign-key",
        str(private),
    )
    install(env, archive)
    status = run(env, "knowledge", "status")
    assert status.returncode == 0, status.stderr
    verification = next(line for line in status.stdout.splitlines() if "Verification:" in line)
    assert "signed, not checked: no trusted key" in verification
    assert "the manifest is signed" not in verification

    document = json.loads(run(env, "knowledge", "status", "-f", "json").stdout)
    oldest = read_manifest(BUNDLED_DATA_DIR).oldest_source_check
    assert oldest is not None
    assert document["oldest_source_check"] == oldest
    age = (date.today() - parse_partial_date(oldest, last_day=True)).days
    assert document["oldest_source_check_age_days"] == age
    assert document["oldest_source_check_stale"] is (age > SOURCE_CHECK_MAX_AGE_DAYS)
    assert document["knowledge_checks_ok"] is True
    line = next(line for line in status.stdout.splitlines() if "Oldest source check:" in line)
    assert (f"over {SOURCE_CHECK_MAX_AGE_DAYS} days" in line) is (age > SOURCE_CHECK_MAX_AGE_DAYS)
