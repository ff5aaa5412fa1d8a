"""``-o FILE`` without ``-f``: the file's suffix chooses the format (a newcomer's
``provscan scan ... -o x.json`` used to write the text table into x.json, silently), a suffix
only ``provscan report`` writes is refused before any work, and a line on stderr says what was
written where."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: One empty loopback address of this test (nothing listens: the scan finds no device).
TARGET = f"127.86.{os.getpid() % 200}.1"


def scan(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "provscan",
            "scan",
            TARGET,
            "-p",
            "9",
            "--no-discovery",
            "--no-db",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_a_json_name_gets_json(tmp_path: Path) -> None:
    output = tmp_path / "scan.json"
    done = scan("-o", str(output))
    assert done.returncode == 0, done.stderr
    document = json.loads(output.read_text())
    assert document["devices"] == []
    assert f"wrote json report to {output}: 0 devices, 0 restricted" in done.stderr


def test_a_csv_name_gets_csv_and_jsonl_lines(tmp_path: Path) -> None:
    output = tmp_path / "scan.csv"
    assert scan("-o", str(output)).returncode == 0
    header = next(csv.reader(output.read_text().splitlines()))
    assert header[:4] == ["ip", "mac", "open_ports", "manufacturer"]
    lines = tmp_path / "scan.jsonl"
    assert scan("-o", str(lines)).returncode == 0
    for line in lines.read_text().splitlines():
        json.loads(line)


def test_an_explicit_format_wins_over_the_suffix(tmp_path: Path) -> None:
    output = tmp_path / "scan.json"
    assert scan("-f", "table", "-o", str(output)).returncode == 0
    with pytest.raises(json.JSONDecodeError):
        json.loads(output.read_text())


@pytest.mark.parametrize("suffix", [".pdf", ".html", ".xlsx"])
def test_a_report_suffix_is_refused_before_any_work(tmp_path: Path, suffix: str) -> None:
    output = tmp_path / f"scan{suffix}"
    done = scan("-o", str(output))
    assert done.returncode == 2
    assert "provscan report" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not output.exists()
