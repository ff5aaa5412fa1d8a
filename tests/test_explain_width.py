"""`provscan explain` is wrapped to the terminal it is shown on (60 to 120 columns), at 80
columns when written to a file or a pipe, and never splits "maker NAME" across lines.

A newcomer found the view wrapped at a hard-coded 80 columns whatever the terminal, and the
header ending "... the default) - maker" with the maker's name alone on the next line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import run_in_terminal

from provscan.commands import explain
from provscan.commands.explain import build_explanation, render
from provscan.knowledge.loader import load_knowledge

#: A saved scan report (two devices on documentation addresses): explained with --from,
#: nothing is sent on the network.
REPORT = Path(__file__).parent / "report" / "golden" / "scan_v1_2.json"
ADDRESS = "192.0.2.10"


def _explanation() -> explain.Explanation:
    device, observations, judged_as = explain._from_report(REPORT, ADDRESS)
    assert device is not None
    return build_explanation(device, observations, load_knowledge(), acting_as=judged_as)


def _explain_command() -> list[str]:
    return [sys.executable, "-m", "provscan", "explain", "--from", str(REPORT), ADDRESS]


def _in_terminal(columns: int) -> list[str]:
    """The human view as shown on a terminal (stdout a pseudo-terminal) of ``columns``."""
    return run_in_terminal(_explain_command(), columns, timeout=60)


def _piped(columns: int) -> list[str]:
    environment = os.environ | {"COLUMNS": str(columns)}
    result = subprocess.run(
        _explain_command(), capture_output=True, text=True, timeout=60, env=environment
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize(("columns", "width"), [(100, 100), (200, 120), (40, 60)])
def test_a_terminal_view_takes_the_terminal_width_within_bounds(columns: int, width: int) -> None:
    lines = _in_terminal(columns)
    assert lines[0].startswith(f"{ADDRESS}: RESTRICTED")
    assert max(len(line) for line in lines) <= width
    # the width is used, not only respected: the view is laid out differently from 80
    assert lines != _piped(columns)


def test_a_piped_view_stays_at_80_columns_whatever_the_terminal() -> None:
    assert _piped(100) == _piped(200)
    lines = _piped(200)
    assert max(len(line) for line in lines) <= 80
    assert any(len(line) > 76 for line in lines)


def test_view_width_follows_the_console_within_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    monkeypatch.setenv("COLUMNS", "100")
    assert explain.view_width() == explain.WIDTH == 80
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    for columns, expected in [(100, 100), (80, 80), (500, 120), (20, 60)]:
        monkeypatch.setenv("COLUMNS", str(columns))
        assert explain.view_width() == expected


@pytest.mark.parametrize(
    ("judged_for", "maker"),
    [
        (None, None),
        # the newcomer's header: "(as a national government body, the default) - maker" then
        # "Huawei" alone on the next line at 80 columns
        ("a national government body, the default", "Huawei"),
        ("anyone (every measure counts)", "Zhejiang Dahua Technology"),
    ],
)
def test_maker_and_its_name_stay_on_one_line(judged_for: str | None, maker: str | None) -> None:
    result = _explanation()
    if judged_for is not None:
        result = replace(result, judged_for=judged_for, manufacturer=maker)
    name = result.manufacturer
    for width in range(60, 121):
        lines = render(result, width)
        assert max(len(line) for line in lines) <= width, width
        (head,) = [line for line in lines[:3] if " - maker" in line or line.startswith("maker")]
        assert f"maker {name}" in head, (width, lines[:3])
    header = render(result, 80)
    assert " ".join(" ".join(header[:2]).split()).startswith(
        f"{ADDRESS}: RESTRICTED (as {result.judged_for}) - maker {name}"
    )
