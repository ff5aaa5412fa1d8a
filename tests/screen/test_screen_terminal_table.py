"""``provscan screen`` shows a table to a person at a terminal (the CSV's 300-character
reasons do not fit a screen, a newcomer found); piped or written to a file, the default stays
the CSV, byte for byte what scripts read; ``-f table`` asks for the table anywhere."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_in_terminal

LIST = "Manufacturer,Model,Description\nHikvision,DS-2CD2143G0-I,dome camera\nAxis,P3245-LV,dome\n"


def command(path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "provscan", "screen", str(path), "-q", *extra]


@pytest.fixture
def purchase(tmp_path: Path) -> Path:
    path = tmp_path / "purchase.csv"
    path.write_text(LIST)
    return path


@pytest.mark.parametrize("columns", [80, 100])
def test_a_terminal_gets_a_table_that_fits(purchase: Path, columns: int) -> None:
    lines = run_in_terminal(command(purchase), columns)
    assert lines[0].split() == ["Row", "Verdict", "Maker", "Brand", "Model", "Conf.", "Why"]
    body = "\n".join(lines)
    assert "RESTRICTED  Hikvision" in body and "clear       Axis" in body
    # the brand the columns show is not repeated in the reason
    assert "own brand - restricted by" in " ".join(body.split())
    assert max(len(line) for line in lines) <= columns
    assert not any(line != line.rstrip() for line in lines)


def test_piped_output_stays_csv(purchase: Path) -> None:
    done = subprocess.run(command(purchase), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0][:3] == ["Manufacturer", "Model", "Description"]
    assert "maker" in rows[0] and rows[1][rows[0].index("maker")] == "Hikvision"


def test_the_table_on_request_to_a_pipe_and_a_file(purchase: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        command(purchase, "-f", "table"), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].split()[:2] == ["Row", "Verdict"]
    output = tmp_path / "screened.txt"
    written = subprocess.run(
        command(purchase, "-f", "table", "-o", str(output)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert written.returncode == 0, written.stderr
    assert output.read_text().splitlines()[0].split()[:2] == ["Row", "Verdict"]
