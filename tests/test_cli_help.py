"""A first hour that reads well (issue 9, point 9): one-line errors for bad option values,
help that names types in words with examples and exit codes, JSON policies, one set of
format names, shell completion."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

COMMANDS = [
    "scan",
    "demo",
    "discover",
    "pcap",
    "lookup",
    "screen",
    "policies",
    "knowledge verify",
    "inventory",
    "scans",
    "diff",
    "cases list",
    "cases show",
    "cases update",
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["scan", "127.0.0.1", "--rate", "abc"], "--rate"),
        (["scan", "127.0.0.1", "-f", "xml"], "'xml' is not one of"),
        (["scan"], "Missing argument 'TARGET'"),
        (["scan", "127.0.0.1", "--bogus"], "No such option: --bogus"),
        (["bogus"], "No such command 'bogus'"),
        (["lookup"], "Missing argument"),
    ],
)
def test_a_bad_option_value_is_one_short_line(args: list[str], words: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("provscan: error: ") and words in lines[0]
    assert "╭" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_types_in_words_examples_and_exit_codes(command: str) -> None:
    result = run(*command.split(), "--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Examples:" in text and f"provscan {command}" in text
    assert "Exit codes:" in text and "130" in text
    assert "<str>" not in text and "<float" not in text and "<bool>" not in text
    assert "╭" not in text


def test_scan_help_names_option_types() -> None:
    text = run("scan", "--help").stdout
    for option in ("--rate PER_SECOND", "--timeout SECONDS", "--output FILE", "--db FILE|URL"):
        assert option in text


def test_policies_as_json() -> None:
    result = run("policies", "--format", "json")
    assert result.returncode == 0, result.stderr
    policies = json.loads(result.stdout)["policies"]
    measures = [m for p in policies for m in p["measures"]]
    assert {m["effect"] for m in measures} >= {"use-ban", "procurement-ban", "advisory", "context"}
    assert all(m["citation"] and m["sources"] for m in measures)


def test_lookup_uses_the_same_format_names_as_scan() -> None:
    table = run("lookup", "Hikvision DS-2CD2143G0-I", "-f", "table")
    assert table.returncode == 0 and "maker" in table.stdout
    legacy = run("lookup", "Hikvision DS-2CD2143G0-I", "-f", "text")
    assert legacy.stdout == table.stdout


def test_shell_completion_is_offered() -> None:
    assert "--install-completion" in run("--help").stdout
