"""``-o -`` is standard output, as every Unix tool reads it. ``scan``, ``pcap``, ``screen``
and ``report`` used to write a file named ``-`` in the working directory (replacing one the
user had, without ``--force``, since ``-`` was taken for standard output by the guard)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from helpers import run_provscan

FIXTURES = Path(__file__).parent / "pcap" / "fixtures"
CAPTURE = FIXTURES / "lab_scan.pcap.gz"
#: One empty loopback address of this test (nothing listens there).
TARGET = f"127.87.{os.getpid() % 200}.1"
SAFE = {"PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"}
USERS_DASH = b"the user's own file named '-'\n"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A working directory holding a file of the user's named ``-`` (never to be touched)."""
    (tmp_path / "-").write_bytes(USERS_DASH)
    return tmp_path


def _untouched(workdir: Path) -> None:
    assert (workdir / "-").read_bytes() == USERS_DASH
    assert sorted(p.name for p in workdir.iterdir() if p.name != "-" and p.suffix != ".db") == []


def test_scan_dash_writes_csv_to_standard_output(workdir: Path) -> None:
    done = run_provscan(
        "scan", TARGET, "-p", "9", "--no-discovery", "--no-db", "-f", "csv", "-o", "-",
        cwd=workdir, env=SAFE,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    header = next(csv.reader(io.StringIO(done.stdout)))
    assert header[:2] == ["ip", "mac"]
    _untouched(workdir)


def test_pcap_dash_writes_json_to_standard_output_and_still_stores(workdir: Path) -> None:
    db = workdir / "s.db"
    done = run_provscan(
        "pcap", str(CAPTURE), "--db", str(db), "-f", "json", "-o", "-", cwd=workdir, env=SAFE
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["devices"], "the capture's devices are on standard output"
    assert db.exists()
    _untouched(workdir)


def test_screen_dash_writes_csv_to_standard_output(workdir: Path) -> None:
    products = workdir / "list.csv"
    products.write_text("Manufacturer,Model\nHikvision,DS-2CD2043G2-I\nAxis,M3106-L\n")
    done = run_provscan("screen", str(products), "-o", "-", cwd=workdir, env=SAFE)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [row["Model"] for row in rows] == ["DS-2CD2043G2-I", "M3106-L"]
    assert rows[0]["restricted"] == "yes"
    assert products.read_text().startswith("Manufacturer,Model\n")
    (workdir / "list.csv").unlink()
    _untouched(workdir)


def test_report_dash_needs_a_format_and_then_writes_standard_output(workdir: Path) -> None:
    db = workdir / "r.db"
    stored = run_provscan("pcap", str(CAPTURE), "--db", str(db), "-q", cwd=workdir, env=SAFE)
    assert stored.returncode == 0, stored.stderr

    guessed = run_provscan("report", "--db", str(db), "-o", "-", cwd=workdir, env=SAFE)
    assert guessed.returncode == 2
    assert "--output - writes the report to standard output" in guessed.stderr
    assert guessed.stdout == ""

    done = run_provscan(
        "report", "--db", str(db), "--format", "md", "-o", "-", cwd=workdir, env=SAFE
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("#")
    assert "restricted" in done.stdout.lower()
    assert "wrote md report to standard output" in done.stderr
    _untouched(workdir)
