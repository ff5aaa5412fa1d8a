"""What `provscan demo` and `provscan lab up` tell a newcomer.

- Without permission to bind the devices' low ports the message named only root; the README
  says root or CAP_NET_BIND_SERVICE, and so does the message now.
- `provscan lab up --state-dir X` said "`provscan lab down` stops it", which stops nothing
  without `--state-dir X`: the exact command is printed.
"""

from __future__ import annotations

import asyncio
import errno
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from provscan.cli import app

RUNNER = CliRunner()


def _refuse_to_listen(exception: OSError) -> Any:
    """``loop.create_server`` as without the right to bind the lab's low ports (nothing is
    bound, so no other lab on this machine can get in the way)."""

    async def create_server(self: asyncio.BaseEventLoop, *args: Any, **kwargs: Any) -> Any:
        raise exception

    return create_server


@pytest.mark.parametrize(
    "exception",
    [PermissionError(errno.EACCES, "Permission denied"), OSError(errno.EACCES, "denied")],
    ids=["PermissionError", "EACCES"],
)
def test_demo_without_low_ports_names_root_and_the_capability(
    monkeypatch: pytest.MonkeyPatch, exception: OSError
) -> None:
    monkeypatch.setattr(asyncio.BaseEventLoop, "create_server", _refuse_to_listen(exception))
    result = RUNNER.invoke(app, ["demo", "--no-db", "-q"])
    assert result.exit_code == 1, result.output
    (line,) = [line for line in result.output.splitlines() if "cannot bind" in line]
    assert "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)" in line


def _down_command(output: str) -> list[str]:
    (command,) = re.findall(r"`(provscan lab down[^`]*)` stops it", output)
    return shlex.split(command)


@pytest.mark.parametrize("name", ["lab-state", "a state dir with spaces"])
def test_lab_up_prints_the_down_command_for_its_state_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    started: list[Path] = []

    def lab_up(state_dir: Path) -> int:  # stands in for the detached lab process
        started.append(state_dir)
        return 4242

    monkeypatch.setattr("provscan.lab.server.lab_up", lab_up)
    state_dir = tmp_path / name
    result = RUNNER.invoke(app, ["lab", "up", "--state-dir", str(state_dir)])
    assert result.exit_code == 0, result.output
    assert started == [state_dir]
    assert "lab running (pid 4242)" in result.output
    # the command, run as printed, names the same state dir
    assert _down_command(result.output) == [
        "provscan",
        "lab",
        "down",
        "--state-dir",
        str(state_dir),
    ]


def test_lab_up_in_the_default_state_dir_needs_no_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("provscan.lab.server.lab_up", lambda state_dir: 4242)
    result = RUNNER.invoke(app, ["lab", "up"])
    assert result.exit_code == 0, result.output
    assert _down_command(result.output) == ["provscan", "lab", "down"]
