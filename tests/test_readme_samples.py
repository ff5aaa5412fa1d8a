"""The numbers and output the README quotes are what the commands print (a newcomer's
review, section 9).

The README said "`provscan lab list` shows 76 emulated devices" and its sample of `provscan
demo` began "75 devices: 41 restricted, ..." while the lab had 77 devices and the demo found
76, 42 of them restricted: each new lab device made them stale. tests/test_readme.py runs
the README's commands; this checks the numbers it quotes: the lab's size, and the sample's
summary against the demo's own scan (its ports and deadlines) of the whole lab, on
addresses of its own, rendered at the sample's 100 columns. When a lab device is added,
update the README with what `provscan demo` prints.

The `screen` sample is the stderr of its README command at 80 columns. The demo scan runs
without the nmap fallback (its result must not depend on whether nmap is
installed where the tests run); with it the summary is the same today.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import run_provscan
from rich.console import Console

from provscan.lab.server import load_devices, run_lab_in_thread
from provscan.model import ScanResult, address_sort_key
from provscan.pipeline import run_scan
from provscan.report.formats import write_output
from provscan.targets import build_targets
from provscan.transport.limits import DEFAULT_PORTS, ScanLimits

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: 20-29, per test process: a second octet no other test lab uses (see tests/helpers.py).
COUNTS_OCTET = 20 + os.getpid() % 10


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def test_lab_list_count_is_the_labs() -> None:
    (quoted,) = re.findall(r"`provscan lab list` shows (\d+) emulated devices", _readme())
    assert int(quoted) == len(load_devices()), "update the README's `provscan lab list` count"


def _demo_sample() -> list[str]:
    """The README's sample of `provscan demo`, up to its first device table."""
    text = _readme()
    start = text.index("The start of `provscan demo` at 100 columns:")
    block = text[start:].split("```text\n", 1)[1].split("```", 1)[0]
    return block.splitlines()


@pytest.fixture(scope="module")
def demo_scan() -> Iterator[ScanResult]:
    """The demo's scan (`provscan demo`: DEFAULT_PORTS, 4 s a connection, 20 s a host) of
    every lab device, each moved from 127.77.x.y to this module's own second octet."""
    devices = [
        device.model_copy(
            update={"address": device.address.replace("127.77.", f"127.{COUNTS_OCTET}.", 1)}
        )
        for device in load_devices()
    ]
    limits = dataclasses.replace(
        ScanLimits(), per_connection_deadline_s=4.0, per_host_deadline_s=20.0
    )
    with run_lab_in_thread(devices) as lab:
        addresses = sorted({d.address for d in lab.devices}, key=address_sort_key)
        targets = build_targets(addresses)
        yield asyncio.run(run_scan(targets, addresses, DEFAULT_PORTS, limits=limits))


def test_the_demo_sample_starts_as_the_demo_does(demo_scan: ScanResult) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, no_color=True)
    write_output(demo_scan, "table", None, console, verbose=False, title="provscan demo")
    shown = buffer.getvalue().replace(f"127.{COUNTS_OCTET}.", "127.77.").splitlines()
    sample = _demo_sample()
    # the summary: devices and verdicts, makers, whom it was judged for, discovery
    summary = sample[: sample.index("")]
    assert summary == shown[1 : 1 + len(summary)], "update the README's `provscan demo` sample"
    # the restricted heading and the family headings the sample quotes
    for line in sample:
        if re.match(r"(Restricted|Clear): \d+ devices|\S+ family \(\d+\)|  Others \(\d+\)", line):
            assert any(row.startswith(line) for row in shown), line


def test_the_screen_sample_is_what_screen_prints(tmp_path: Path) -> None:
    text = _readme()
    command = "provscan screen examples/purchase.csv --policy ca,us -o screened.csv"
    start = text.index(f"`{command}` prints on stderr")
    sample = text[start:].split("```text\n", 1)[1].split("```", 1)[0]
    # the defaults, whatever the user's own config file says (`as`: whom it is judged for)
    arguments = [*command.split()[1:-1], str(tmp_path / "screened.csv")]
    result = run_provscan(
        *arguments,
        width=80,
        env={"XDG_CONFIG_HOME": str(tmp_path / "config")},
        unset=("LINES", "PROVSCAN_CONFIG"),
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == sample, "update the README's `provscan screen` sample"
