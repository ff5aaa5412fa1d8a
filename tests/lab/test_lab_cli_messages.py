"""What `provscan demo` and `provscan lab up` tell a newcomer.

- Without permission to bind the devices' low ports the message named only root; the README
  says root or CAP_NET_BIND_SERVICE, and so does the message now.
- `provscan lab up --state-dir X` said "`provscan lab down` stops it", which stops nothing
  without `--state-dir X`: the exact command is printed.
- `provscan lab down` said "lab stopped" where no lab ran: it says "no lab running at DIR".
"""

from __future__ import annotations

import asyncio
import errno
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from provscan.cli import app
from provscan.lab.server import PID_FILE, lab_down, lab_status, lab_up, load_devices

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


# -- `provscan lab down` when no lab runs there --------------------------------------------
# It said "lab stopped", exit 0, whatever it found: a wrong --state-dir (another lab's) read
# as if the lab were gone. Nothing to stop is not an error (exit 0, as `lab up` when a lab
# runs already: 1 is for a runtime error, 2 for a bad argument, and a state dir with no lab
# in it is neither), but it is said.


def _down(state_dir: Path) -> Any:
    return RUNNER.invoke(app, ["lab", "down", "--state-dir", str(state_dir)])


def test_lab_down_where_no_lab_runs_says_so(tmp_path: Path) -> None:
    state_dir = tmp_path / "another-state-dir"
    result = _down(state_dir)
    assert result.exit_code == 0, result.output
    assert result.output == f"no lab running at {state_dir}\n"
    assert not state_dir.exists()  # nothing made where nothing was


def test_lab_down_with_a_stale_pid_file_stops_nothing_and_says_so(tmp_path: Path) -> None:
    # Given a state dir whose pid file names a live process that is not a lab (a pid reused)
    other = subprocess.Popen(["sleep", "60"])
    try:
        state_dir = tmp_path / "state"
        state_dir.mkdir()
        (state_dir / PID_FILE).write_text(str(other.pid))
        result = _down(state_dir)
        assert result.exit_code == 0, result.output
        assert result.output == f"no lab running at {state_dir}\n"
        assert other.poll() is None  # left alone
        assert not (state_dir / PID_FILE).exists()  # the stale file is cleared
    finally:
        other.kill()
        other.wait()


def test_lab_down_stops_a_running_lab_then_finds_none(tmp_path: Path) -> None:
    # Given a real lab of one device, on an address of its own
    device = load_devices(["negatives"])[0]
    _, _, c, d = device.address.split(".")
    moved = device.model_copy(update={"address": f"127.83.{c}.{d}"})
    personality = tmp_path / "one.yaml"
    personality.write_text(
        yaml.safe_dump({"family": "test", "devices": [moved.model_dump(mode="json")]})
    )
    state_dir = tmp_path / "state"
    lab_up(state_dir, [personality])
    try:
        result = _down(state_dir)
        assert result.exit_code == 0, result.output
        assert result.output == "lab stopped\n"
    finally:
        lab_down(state_dir)
    assert not lab_status(state_dir).running
    again = _down(state_dir)
    assert (again.exit_code, again.output) == (0, f"no lab running at {state_dir}\n")
