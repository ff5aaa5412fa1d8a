"""A newcomer's review of the command line, the targets and --db parts.

- `provscan scan 127.77.1.1O` (a letter O for a zero) asked DNS, then said "cannot resolve
  host name": text shaped like an IPv4 address with a letter for a digit is refused with a
  hint, and never looked up.
- The refusal of a public address told someone running `provscan scan` that "only
  `provscan scan` ... with --allow-public" may: it says what to add. The web console and the
  sensors, which never scan public space, keep their words.
- `--db notes.txt` was a usage error (2) for `scan` but a runtime error (1) for the commands
  that read the store: it is 2 everywhere.

Nothing here leaves loopback: host names are never resolved (``getaddrinfo`` fails the test),
and public addresses reach no scan (``run_scan`` and ``run_interruptibly`` fail the test).
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import run_provscan
from typer.testing import CliRunner

from provscan import pipeline
from provscan.cli import app
from provscan.errors import TargetError
from provscan.sensors.scope import OutsideAllowList, request_targets
from provscan.store.db import open_store
from provscan.targets import PublicTarget, build_targets, mistyped_address
from provscan.web.scans import ScanRefused, check_targets

RUNNER = CliRunner()


@pytest.fixture
def nothing_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """No name is resolved and no scan starts: either fails the test."""

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a target reached DNS or the scan")

    monkeypatch.setattr(socket, "getaddrinfo", never)
    monkeypatch.setattr(pipeline, "run_scan", never)
    monkeypatch.setattr(pipeline, "run_interruptibly", never)


def _one_error(result: Any, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("provscan: error: "), lines
    assert "Traceback" not in result.output
    return str(lines[0])


# -- a mistyped address --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "shown", "letters"),
    [
        ("127.77.1.1O", "127.77.1.1O", "O"),
        ("127.77.1.1o", "127.77.1.1o", "o"),
        ("127.77.l.10", "127.77.l.10", "l"),
        ("1O.0.0.I", "1O.0.0.I", "I or O"),
        ("127.77.1.1O-20", "127.77.1.1O", "O"),  # a range's start
        ("127.77.1.O/24", "127.77.1.O", "O"),  # a network's address
    ],
)
def test_a_letter_for_a_digit_is_refused_with_a_hint_and_never_resolved(
    nothing_sent: None, spec: str, shown: str, letters: str
) -> None:
    with pytest.raises(TargetError) as refused:
        build_targets([spec])
    assert str(refused.value) == (
        f"{shown} looks like a mistyped address (letter {letters}?): not looked up as a host name"
    )
    line = _one_error(RUNNER.invoke(app, ["scan", spec, "--no-db", "--no-discovery"]))
    assert f"{shown} looks like a mistyped address (letter {letters}?)" in line
    assert "cannot resolve" not in line


@pytest.mark.parametrize(
    "name",
    [
        "cam-01.example.org",  # a host name
        "lo.example.com",  # letters only where a label is not all O, o, l, I and digits
        "10.0.0.1.example",  # five labels
        "OIl.lo.Ol.lI",  # no digit at all: a name, however odd
        "1O.0.0.300",  # no address even with the letters read as digits
    ],
)
def test_names_that_are_not_mistyped_addresses_are_left_to_the_resolver(name: str) -> None:
    assert mistyped_address(name) is None


# -- the public-address refusal ------------------------------------------------------------


def test_scan_of_a_public_address_says_to_add_allow_public(
    nothing_sent: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the scope interlock (the refusal comes before anything is sent; nothing is)
    monkeypatch.delenv("PROVSCAN_ALLOWED_TARGETS")
    for target in ("8.8.8.8", "127.0.0.1,100.64.0.1"):
        line = _one_error(RUNNER.invoke(app, ["scan", target, "--no-db", "--no-discovery"]))
        refused = target.split(",")[-1]
        assert line == (
            f"provscan: error: refusing target {refused}: public address; refused unless you "
            'own it (README "Safety model" explains --allow-public)'
        )


def test_scan_of_a_public_address_outside_the_interlock_does_not_offer_allow_public(
    nothing_sent: None,
) -> None:
    line = _one_error(RUNNER.invoke(app, ["scan", "8.8.8.8", "--no-db", "--no-discovery"]))
    assert line == (
        "provscan: error: refusing target 8.8.8.8: public address, and outside "
        "PROVSCAN_ALLOWED_TARGETS (the scope interlock set in this environment; "
        "--allow-public does not lift it)"
    )


def test_the_console_and_the_sensors_keep_their_words_for_a_public_address(
    nothing_sent: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROVSCAN_ALLOWED_TARGETS")
    old = "only `provscan scan` or `provscan discover` with --allow-public"
    with pytest.raises(PublicTarget) as library:
        build_targets(["8.8.8.8"])
    assert old in str(library.value) and not library.value.interlocked
    with pytest.raises(ScanRefused, match=old):
        check_targets(["8.8.8.8"])
    with pytest.raises(OutsideAllowList, match=f"refusing target 8.8.8.8: public address .*{old}"):
        request_targets(["8.8.8.8"])


# -- a --db that is no provscan database: 2 for every command ------------------------------


@pytest.fixture
def not_a_store(tmp_path: Path) -> Path:
    notes = tmp_path / "notes.txt"
    notes.write_text("call the vendor on Monday\n")
    return notes


def _refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("provscan: error: "), lines
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize(
    "command",
    [
        ["scan", "127.0.0.2", "--no-discovery", "--quiet"],
        ["inventory"],
        ["scans"],
        ["report", "-o", "{out}"],
        ["cases", "list"],
        ["diff", "a", "b"],
    ],
    ids=lambda command: command[0] if command[0] != "cases" else "cases-list",
)
def test_a_db_that_is_not_a_database_is_a_usage_error_everywhere(
    not_a_store: Path, tmp_path: Path, command: list[str]
) -> None:
    before = not_a_store.read_bytes()
    args = [part.replace("{out}", str(tmp_path / "r.html")) for part in command]
    _refused(
        run_provscan(*args, "--db", str(not_a_store)),
        f"--db {not_a_store} is not a provscan database (not a SQLite file)",
    )
    assert not_a_store.read_bytes() == before  # never touched
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("content", [b"", None], ids=["empty file", "SQLite, no tables"])
def test_a_db_with_nothing_stored_is_refused_by_the_commands_that_read_it(
    tmp_path: Path, content: bytes | None
) -> None:
    # A new, empty store would report "0 restricted devices": a clean bill of health
    database = tmp_path / "blank.db"
    if content is None:
        import sqlite3

        connection = sqlite3.connect(database)
        connection.execute("PRAGMA user_version = 1")
        connection.commit()
        connection.close()
    else:
        database.write_bytes(content)
    before = database.read_bytes()
    _refused(run_provscan("inventory", "--db", str(database)), "nothing was stored there")
    assert database.read_bytes() == before


def test_a_provscan_database_is_read_as_before(tmp_path: Path) -> None:
    database = tmp_path / "x.db"
    with open_store(f"sqlite:///{database}"):
        pass
    done = run_provscan("inventory", "--db", str(database), "-f", "json")
    assert done.returncode == 0, done.stderr
