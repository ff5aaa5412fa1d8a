"""``provscan scan --credentials`` / ``--check-default-credentials`` through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
from posture_devices import POSTURE_DEVICES

from provscan.lab.server import Lab
from provscan.report.contract import load_schema

FAST = ["--timeout", "2", "--host-timeout", "15", "--quiet", "--no-db"]
SECRET = "lab-Passw0rd"
DAHUA = next(d for d in POSTURE_DEVICES if d.id == "dahua-fw-33044-vulnerable")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env=env,
    )


def test_help_lists_the_posture_options() -> None:
    result = run("scan", "--help")
    assert "--credentials" in result.stdout and "--check-default-credentials" in result.stdout


def test_credentials_file_warns_when_world_readable_and_never_echoes(
    posture_lab: Lab, tmp_path: Path
) -> None:
    creds = tmp_path / "creds.yaml"
    creds.write_text(f'default: {{username: admin, password: "{SECRET}"}}\n', encoding="utf-8")
    os.chmod(creds, 0o644)
    result = run("scan", DAHUA.address, "--credentials", str(creds), "--format", "json", *FAST)
    assert result.returncode == 0, result.stderr
    assert "readable by every user" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, load_schema())
    (device,) = document["devices"]
    assert device["firmware"] == "2.800.0000000.28.R,build:2021-06-29"
    assert [v["cve"] for v in device["vulnerabilities"]] == ["CVE-2021-33044"]
    assert device["vulnerabilities"][0]["kev"] is True


def test_a_broken_credentials_file_is_a_usage_error_without_its_content(tmp_path: Path) -> None:
    creds = tmp_path / "creds.yaml"
    creds.write_text(
        f'default: {{username: admin, password: "{SECRET}", extra: 1}}\n', encoding="utf-8"
    )
    result = run("scan", "127.0.0.1", "--credentials", str(creds), *FAST)
    assert result.returncode == 2
    assert "unknown keys" in result.stderr and SECRET not in result.stderr + result.stdout
