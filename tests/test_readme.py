"""Every command example in the README runs as written against the lab (issue 9, point 8).

The examples are the ``bash`` blocks of README.md. Each line that calls ``provscan`` runs in
a shell, in a scratch directory that sees the repository's ``examples/`` and ``tests/``, with
a lab of this module's own standing in for ``provscan lab up`` (the lab's 127.77.x.y
addresses are moved to 127.N.x.y, N per test process: examples with credentials log in to its devices, which
must not show up in the session lab's request record). Output blocks are
``text`` blocks and are not run. The Quick start's ``scripts/dev`` lines are what CI runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from provscan.lab.server import Lab, load_devices, run_lab_in_thread

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
#: The lab's own commands: the session lab is already up for these tests.
_LAB_CONTROL = re.compile(r"^provscan lab (up|down)\b")


#: 30-69, per test process: apart from the default lab (77), the session labs (130-229), the
#: posture labs (230-249) and the corpus labs (251, 252), and from concurrent runs.
README_OCTET = 30 + os.getpid() % 40


@pytest.fixture(scope="module")
def readme_lab() -> Iterator[Lab]:
    devices = [
        device.model_copy(
            update={"address": device.address.replace("127.77.", f"127.{README_OCTET}.", 1)}
        )
        for device in load_devices()
    ]
    with run_lab_in_thread(devices) as running:
        yield running


def readme_commands() -> list[str]:
    commands: list[str] = []
    for language, body in _BLOCK.findall(README.read_text(encoding="utf-8")):
        if language not in ("bash", "sh", "shell", "console"):
            continue
        for raw in body.splitlines():
            line = raw.strip().removeprefix("$ ")
            if not line or line.startswith("#") or line.startswith("scripts/dev"):
                continue
            commands.append(line)
    return commands


_ADDRESS = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")


def only_loopback(command: str) -> bool:
    """Every address in the example is on loopback: nothing here may reach a real network."""
    return all(address.startswith("127.") for address in _ADDRESS.findall(command))


def test_the_readme_has_examples_and_only_runnable_ones() -> None:
    commands = readme_commands()
    assert len(commands) >= 15
    for command in commands:
        assert "provscan" in command, f"not a provscan example: {command}"
        assert only_loopback(command), f"example names a non-loopback address: {command}"


def _session(command: str) -> str:
    parts = [part.strip() for part in command.split("&&")]
    kept = [part for part in parts if not _LAB_CONTROL.match(part)] or ["true"]
    return re.sub(r"\b127\.77\.", f"127.{README_OCTET}.", " && ".join(kept))


@pytest.mark.parametrize("command", readme_commands())
def test_readme_example_runs(command: str, readme_lab: Lab, tmp_path: Path) -> None:
    # Checked before anything runs (the interlock in conftest would refuse it as well).
    assert only_loopback(command), f"refusing to run an example aimed off loopback: {command}"
    for shared in ("examples", "tests"):
        (tmp_path / shared).symlink_to(ROOT / shared)
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "XDG_DATA_HOME": str(tmp_path / "data"),  # the default database stays in the sandbox
        "COLUMNS": "100",
    }
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", _session(command)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    expected = {0, 3} if "--fail-on-restricted" in command else {0}
    assert result.returncode in expected, f"{command}\n{result.stderr[-2000:]}"
    assert "Traceback" not in result.stderr + result.stdout
    assert "internal error" not in result.stderr
