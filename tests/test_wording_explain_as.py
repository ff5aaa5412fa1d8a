"""``provscan explain --as``: the verdict line says whom it was judged for, as ``lookup`` and
``scan`` do; a saved report keeps the party it was judged for at scan time. Also the small
wordings of ``discover`` and ``knowledge status``. Real runs over the session lab."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import SESSION_DEVICES

from provscan.lab.server import Lab

HIKVISION = next(d.address for d in SESSION_DEVICES if d.id == "hik-ipc-g2")
SADP_ONLY = next(d.address for d in SESSION_DEVICES if d.id == "hik-nvr-sadp-only")
PORTS = ["--ports", "80,554"]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, "COLUMNS": "80", **env},
    )


def explained(*args: str) -> dict[str, Any]:
    result = run("explain", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def first_line(*args: str) -> str:
    result = run("explain", *args)
    assert result.returncode == 0, result.stderr
    return " ".join(result.stdout.split("\n\n")[0].split())


@pytest.mark.parametrize(
    ("acting_as", "verdict", "judged_for"),
    [
        ([], "RESTRICTED", "a national government body, the default"),
        (["--as", "ca:individual"], "CLEAR", "ca:individual"),
        (["--as", "us:federal-contractor"], "RESTRICTED", "us:federal-contractor"),
        (["--as", "all"], "RESTRICTED", "anyone (every measure counts)"),
    ],
)
def test_the_verdict_line_says_whom_it_was_judged_for(
    lab: Lab, acting_as: list[str], verdict: str, judged_for: str
) -> None:
    line = first_line(HIKVISION, *PORTS, *acting_as)
    assert line.startswith(f"{HIKVISION}: {verdict} (as {judged_for}) - maker Hikvision")
    data = explained(HIKVISION, *PORTS, *acting_as)
    assert data["judged_for"] == judged_for
    assert data["acting_as"] == acting_as[1:]
    binding = {measure["binding"] for measure in data["measures"]}
    assert binding == ({None} if acting_as == ["--as", "all"] else {True, False})


def test_measures_that_do_not_bind_you_are_marked(lab: Lab) -> None:
    result = run("explain", HIKVISION, *PORTS, "--as", "ca:individual")
    measures = result.stdout.split("\nMeasures\n")[1].split("\n\n")[0]
    text = " ".join(measures.split())
    barred = "Federal government purchase and use of Hikvision products barred"
    assert f"{barred} (use-ban, does not bind you)" in text
    assert "(advisory, restricts nothing)" in text
    assert "does not restrict you" not in text


def test_a_report_keeps_the_party_it_was_judged_for(lab: Lab, tmp_path: Path) -> None:
    # Given a scan saved as JSON, judged for a Canadian individual
    report = tmp_path / "scan.json"
    scanned = run(
        "scan", HIKVISION, *PORTS, "--as", "ca:individual", "--no-db", "-q", "--no-discovery",
        "-f", "json", "-o", str(report),
    )  # fmt: skip
    assert scanned.returncode == 0, scanned.stderr
    # Then explain --from says so, with or without the same --as
    for extra in ([], ["--as", "ca:individual"]):
        line = first_line("--from", str(report), HIKVISION, *extra)
        assert line.startswith(f"{HIKVISION}: CLEAR (as ca:individual)")
    # And another --as is refused in one line: a report is not judged again
    other = run("explain", "--from", str(report), HIKVISION, "--as", "ca:federal-institution")
    assert other.returncode == 2 and other.stdout == ""
    assert "judged as ca:individual when it was scanned" in other.stderr
    assert other.stderr.count("\n") == 1 and "Traceback" not in other.stderr


def test_a_bad_as_value_is_one_line_and_exit_2() -> None:
    result = run("explain", "127.0.0.1", "--as", "ca:mayor")
    assert result.returncode == 2 and result.stdout == ""
    assert "ca:mayor" in result.stderr and result.stderr.count("\n") == 1


# --- small wordings -------------------------------------------------------------------------


def test_one_host_answered_discovery_in_the_singular(lab: Lab) -> None:
    result = run("discover", SADP_ONLY, "--timeout", "0.5", "-f", "json", "--no-db")
    assert result.returncode == 0, result.stderr
    notes = json.loads(result.stdout)["scan"]["notes"]
    assert "discovery: 1 host answered (sadp 1)" in notes


@pytest.mark.parametrize(("days", "said"), [(1, "1 day ago"), (2, "2 days ago")])
def test_knowledge_status_says_day_in_the_singular(tmp_path: Path, days: int, said: str) -> None:
    from provscan.knowledge.base import (
        BUNDLED_DATA_DIR,
        KNOWLEDGE_DIR_ENV,
        MANIFEST_FILE,
        bundled_version,
    )
    from provscan.knowledge.packs import MAX_AGE_ENV, build_manifest, pack_bytes

    # Given an installed pack (the bundled data) as of `days` days ago
    data = tmp_path / "data"
    shutil.copytree(BUNDLED_DATA_DIR, data, ignore=shutil.ignore_patterns(MANIFEST_FILE))
    parts = bundled_version().split("+")[0].split(".")
    parts[-1] = str(int(parts[-1]) + 1)
    as_of = (date.today() - timedelta(days=days)).isoformat()
    manifest = build_manifest(data, version=".".join(parts), as_of=as_of)
    archive = tmp_path / "pack.tar.gz"
    archive.write_bytes(pack_bytes(data, manifest))
    home = {KNOWLEDGE_DIR_ENV: str(tmp_path / "home"), MAX_AGE_ENV: "180"}
    assert run("knowledge", "update", "--from", str(archive), **home).returncode == 0
    # Then its age is said as people say it
    status = run("knowledge", "status", **home)
    assert status.returncode == 0, status.stderr
    assert f"As of:               {as_of} ({said}; warn after 180 days)" in status.stdout
