"""Discovery inside a scan of many targets (more than MAX_UNICAST_TARGETS): unicast to
loopback keeps its cap and says so as a warning; everything else still runs, and nothing
lists the target set's addresses. The attached-segment side (a /16 holding the segment) runs
in real network namespaces: tests/discovery/test_netns.py."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SESSION_DEVICES, SESSION_OCTET

from provscan.discovery import netif
from provscan.discovery.runner import (
    MAX_UNICAST_TARGETS,
    PROTOCOLS,
    DiscoverySettings,
    discover_for_targets,
    is_warning,
)
from provscan.lab.server import Lab
from provscan.targets import build_targets

FAST = DiscoverySettings(timeout_s=0.5, loopback_timeout_s=0.5)
#: 8192 loopback addresses next to the session lab's devices (127.<session>.1-21.x): empty.
WIDE_LOOPBACK = f"127.{SESSION_OCTET}.224.0/19"
WARNING = (
    f"discovery skipped on loopback (8192 targets, more than {MAX_UNICAST_TARGETS}): devices "
    "that answer only discovery protocols on loopback are not found; scan at most 4096 "
    f"loopback addresses at a time (e.g. 127.{SESSION_OCTET}.224.0/20) to include them"
)
#: The same inside a scan, whose sweep carries discovery to the hosts with an open port.
SCAN_WARNING = (
    f"discovery skipped on loopback before the sweep (8192 targets, more than "
    f"{MAX_UNICAST_TARGETS}): it goes after the sweep to the hosts with an open port only, so "
    "devices that answer only discovery protocols (no open TCP port) are not found; scan at "
    f"most 4096 loopback addresses at a time (e.g. 127.{SESSION_OCTET}.224.0/20) to include "
    "them"
)


def test_unicast_beyond_the_cap_is_skipped_with_a_warning_naming_the_cost() -> None:
    result = asyncio.run(discover_for_targets(build_targets([WIDE_LOOPBACK]), FAST))
    assert result.hosts == ()
    assert WARNING in result.notes
    assert [note for note in result.notes if is_warning(note)] == [WARNING]


def test_scan_prints_the_skip_as_a_warning() -> None:
    # A port nobody listens on: the sweep of 8192 loopback addresses takes a second or two.
    command = [sys.executable, "-m", "provscan", "scan", WIDE_LOOPBACK, "--ports", "9"]
    completed = subprocess.run(
        [*command, "-q", "-f", "json", "--no-db"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert f"provscan: warning: {SCAN_WARNING}" in completed.stderr.splitlines()
    assert SCAN_WARNING in json.loads(completed.stdout)["scan"]["notes"]


def test_loopback_unicast_runs_when_other_targets_make_the_set_large(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the lab's discovery devices and a /16 that is in scope but on no attached segment
    # (no segment is offered at all: nothing but loopback can be sent to)
    monkeypatch.setattr(netif, "list_segments", list)
    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128,198.18.0.0/16")
    devices = [d for d in SESSION_DEVICES if any(s.protocol in PROTOCOLS for s in d.discovery)]
    targets = build_targets([*(d.address for d in devices), "198.18.0.0/16"], max_hosts=1 << 17)
    # When discovery runs for them
    result = asyncio.run(discover_for_targets(targets, FAST))
    # Then the loopback devices are found by unicast, the rest is counted, nothing skipped
    assert {d.address for d in devices} <= {h.address for h in result.hosts}
    assert (
        "discovery: 65536 targets are not on an attached segment; only the TCP scan reaches them"
        in result.notes
    )
    assert not [note for note in result.notes if "skipped" in note]


def test_discover_refuses_more_targets_than_it_probes_before_sending_anything(
    tmp_path: Path,
) -> None:
    from helpers import run_provscan

    # Given more loopback addresses than unicast discovery probes (a /19: 8190)
    db = tmp_path / "never.db"
    done = run_provscan("discover", "127.86.0.0/19", "--timeout", "0.2", "--db", str(db))
    # Then it is a usage error on one line, before any work: no empty result that reads as
    # a clean range, nothing stored
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"at most {MAX_UNICAST_TARGETS} at a time" in done.stderr
    assert "provscan scan" in done.stderr
    assert done.stdout == "" and not db.exists()
    # And exactly as many as it probes are accepted
    fits = run_provscan("discover", "127.86.0.1-127.86.16.0", "--timeout", "0.2", "--no-db")
    assert fits.returncode == 0, fits.stderr
