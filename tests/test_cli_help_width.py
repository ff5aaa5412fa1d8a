"""Every ``--help`` fits an 80-column terminal, and lists only the exit codes of its command.

A newcomer found the Examples and Exit codes at the end of 15 of 23 commands' help wider
than 80 columns (`provscan sensor --help`: a 172-character example), and `explain --help`
and `policies --help` promising exit 3 for a `--fail-on-restricted` they do not have and
a scan "printed and stored" they never run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from provscan.cli import app
from provscan.commands.common import wrap_example

WIDTH = 80


def _command_paths() -> Iterator[tuple[str, ...]]:
    def walk(command: object, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, (*path, name))

    yield from walk(typer.main.get_command(app), ())


COMMANDS = list(_command_paths())
RUNNER = CliRunner()


def _help(path: tuple[str, ...]) -> str:
    result = RUNNER.invoke(app, [*path, "--help"], env={"COLUMNS": str(WIDTH)})
    assert result.exit_code == 0, result.output
    return result.output


def _section(text: str, heading: str) -> str:
    """The lines under ``heading`` up to the next blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == heading)
    rest = lines[start + 1 :]
    end = next((i for i, line in enumerate(rest) if not line.strip()), len(rest))
    return "\n".join(rest[:end])


def test_every_command_is_checked() -> None:
    # the walk reaches the nested commands too (lab, knowledge, cases, sensor keygen, ...)
    assert len(COMMANDS) > 40
    for path in [("sensor",), ("sensor", "keygen"), ("knowledge", "export"), ("lab", "up")]:
        assert path in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "provscan")
def test_help_fits_80_columns(path: tuple[str, ...]) -> None:
    text = _help(path)
    too_wide = [line for line in text.splitlines() if len(line) > WIDTH]
    assert not too_wide, too_wide


def test_sensor_help_fits_80_columns_in_a_real_terminal_width() -> None:
    # The same as a user sees it: a child process with COLUMNS=80, stdout a pipe.
    result = subprocess.run(
        [sys.executable, "-m", "provscan", "sensor", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=os.environ | {"COLUMNS": str(WIDTH)},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= WIDTH
    # the long example is continued as a shell would read it, none of it lost
    examples = _section(result.stdout, "Examples:")
    joined = " ".join(examples.replace("\\\n", " ").split())
    assert (
        "provscan sensor --site plant-3 --broker amqp://user:pw@central/ --allow SITE_CIDR "
        "--key /etc/provscan/plant-3.key --captures /var/lib/provscan/captures --interface eth1"
    ) in joined


@pytest.mark.parametrize(
    "example",
    [
        "provscan schedule add --site plant-3 --kind pcap --captures 'mirror/*.pcapng' "
        "--every 1h --note 'a quoted value with spaces that must stay whole'",
        'provscan lookup "a very long product description that goes on and on" --policy ca,us '
        "--as us:federal-contractor --format json",
    ],
)
def test_a_long_example_is_continued_between_words_outside_quotes(example: str) -> None:
    lines = wrap_example(example)
    assert len(lines) > 1 and all(len(line) <= WIDTH - 2 for line in lines)
    assert all(line.endswith(" \\") for line in lines[:-1])
    # joined as a shell joins continued lines, it is the example again
    assert " ".join(line.removesuffix("\\").strip() for line in lines) == example
    # an option is never separated from its value
    for line in lines[1:]:
        first = line.split()[0]
        assert first.startswith("--"), line


def test_exit_codes_are_those_of_the_command() -> None:
    for path in COMMANDS:
        text = _help(path)
        if "Exit codes:" not in text:
            continue  # a group: its commands have them
        codes = _section(text, "Exit codes:")
        options = text.split("Exit codes:")[0].split("Examples:")[0]
        name = " ".join(path)
        # exit 3 only where some option makes it
        fails_on = "--fail-on-restricted" in options or "--fail-on-new-restricted" in options
        assert (" 3 " in f" {codes}".replace("\n", " ")) is fails_on, name
        # "stored" only for commands that store what they scanned
        assert "stored" not in codes or "--no-db" in options, name
    for name in ("explain", "policies"):
        codes = _section(_help((name,)), "Exit codes:")
        assert "--fail-on-restricted" not in codes and "scan" not in codes
        assert ["130", "interrupted", "(Ctrl-C)"] in [line.split() for line in codes.splitlines()]
    scan = _section(_help(("scan",)), "Exit codes:")
    assert "--fail-on-restricted" in scan and "marked incomplete" in " ".join(scan.split())


@pytest.mark.parametrize("width", [WIDTH, 100])
def test_every_command_summary_is_shown_whole(width: int) -> None:
    # A newcomer found every summary of `provscan --help` cut with "..." at 80 and 100
    # columns (click's limit is the help width less the longest command name).
    groups = [path for path in COMMANDS if "Commands:" in _help(path)]
    assert () in groups and ("cases",) in groups
    for path in groups:
        result = RUNNER.invoke(app, [*path, "--help"], env={"COLUMNS": str(width)})
        listing = result.output.split("Commands:", 1)[1].strip().splitlines()
        assert listing, path
        for line in listing:
            assert not line.rstrip().endswith("..."), (path, line)
            assert len(line) <= width, (path, line)


def test_usage_lines_read_normally() -> None:
    # `provscan diff --help` read "[[OLD]] [[NEW]]": optional arguments are bracketed once
    for path in COMMANDS:
        usage = _help(path).splitlines()[0]
        assert "[[" not in usage and "]]" not in usage, usage
    assert _help(("diff",)).splitlines()[0] == "Usage: provscan diff [OPTIONS] [OLD] [NEW]"
