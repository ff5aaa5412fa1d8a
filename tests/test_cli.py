"""The CLI contract: formats, exit codes, and clear messages (never a traceback)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
from helpers import SESSION_DEVICES, run_provscan

from provscan.lab.server import Lab
from provscan.report.contract import load_schema

FAST = ["--timeout", "2", "--host-timeout", "15", "--quiet"]
RESTRICTED = next(d for d in SESSION_DEVICES if d.expect.restricted and not d.expect.hostile)
CLEAN = next(d for d in SESSION_DEVICES if d.expect.restricted is False and d.expect.manufacturer)


def run(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return run_provscan(*args, unset=(), timeout=timeout)


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    assert result.returncode == code, result.stderr
    assert message in (result.stderr + result.stdout)
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["scan", "not_a target!"], 2, "not an address"),
        (["scan", "8.8.8.8"], 2, "public address"),
        (["scan", "127.0.0.1", "--ports", "99999"], 2, "between 1 and 65535"),
        (["scan", "127.0.0.1", "--policy", "xx"], 2, "xx"),
        (["scan", "127.0.0.1", "--format", "bogus"], 2, "bogus"),
        (["scan", "@/nonexistent/list.txt"], 2, "not found"),
        (["scan"], 2, "Missing argument"),
        (["scan", "127.0.0.1", "--rate", "-1"], 2, "rate"),
    ],
)
def test_bad_arguments_give_a_clear_message(args: list[str], code: int, message: str) -> None:
    assert_clean_failure(run(*args), code, message)


def test_json_output_follows_the_contract(lab: Lab, tmp_path: Path) -> None:
    result = run("scan", RESTRICTED.address, CLEAN.address, "--format", "json", "--no-db", *FAST)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, load_schema())
    by_ip = {d["ip"]: d for d in document["devices"]}
    assert by_ip[RESTRICTED.address]["restricted"] is True
    assert by_ip[RESTRICTED.address]["findings"]
    assert by_ip[CLEAN.address]["restricted"] is False
    assert document["scan"]["hosts_scanned"] == 2


def test_fail_on_restricted_exit_code_and_csv_file(lab: Lab, tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    result = run(
        "scan",
        RESTRICTED.address,
        "--format",
        "csv",
        "--output",
        str(report),
        "--fail-on-restricted",
        "--no-db",
        *FAST,
    )
    assert result.returncode == 3, result.stderr
    rows = list(csv.DictReader(io.StringIO(report.read_text())))
    assert rows[0]["ip"] == RESTRICTED.address
    assert rows[0]["restricted"].lower() == "true"


def test_clean_host_exits_zero_with_fail_on_restricted(lab: Lab, tmp_path: Path) -> None:
    result = run(
        "scan",
        CLEAN.address,
        "--format",
        "jsonl",
        "--fail-on-restricted",
        "--db",
        str(tmp_path / "scans.db"),
        *FAST,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert lines[0]["type"] == "scan"
    assert (tmp_path / "scans.db").exists()


def test_table_output_names_the_policy(lab: Lab) -> None:
    result = run("scan", RESTRICTED.address, "--no-db", *FAST)
    assert result.returncode == 0, result.stderr
    assert RESTRICTED.address in result.stdout
    assert "RESTRICTED" in result.stdout.upper()


def test_unwritable_database_is_a_clear_error(lab: Lab, tmp_path: Path) -> None:
    not_a_db = tmp_path / "file.db"
    not_a_db.write_bytes(b"this is not sqlite" * 100)
    result = run("scan", CLEAN.address, "--db", str(not_a_db), *FAST)
    # refused as a bad argument before the scan (a store the result could not be saved in)
    assert_clean_failure(result, 2, "not a provscan database")
    assert not_a_db.read_bytes() == b"this is not sqlite" * 100


def test_version_and_policies() -> None:
    assert run("--version").stdout.startswith("provscan ")
    listing = run("policies")
    assert listing.returncode == 0
    assert "Canada" in listing.stdout
