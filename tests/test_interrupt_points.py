"""Ctrl-C at each point of `provscan scan`: what is stored, marked how, and said how.

A Crown corporation's security team found a scan stored empty ("partial results for 0 of
256 hosts"), "partial results for 512 of 512 hosts" (what was partial?), a scan said
interrupted yet stored complete, and a Ctrl-C that came while the scan was being prepared
let the whole scan run. Each moment is made certain here, not guessed: the child is a real
provscan scanning the lab on loopback, and it sends SIGINT to itself at the named point (a
function it calls there is wrapped), so the signal lands exactly there.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from helpers import SESSION_DEVICES

from inventory_verdicts import golden_copy
from provscan.lab.server import Lab
from provscan.store.db import open_store
from provscan.store.inventory import coverage_ranges

RESTRICTED = next(d for d in SESSION_DEVICES if d.expect.restricted and not d.expect.hostile)
CLEAN = next(d for d in SESSION_DEVICES if d.id == "axis-p3225")
SILENT = next(d for d in SESSION_DEVICES if d.id == "hostile-never-answer")
QUICK_PORTS = ",".join(
    str(p) for p in sorted({s.port for d in (RESTRICTED, CLEAN) for s in d.services})
)
ALL_PORTS = ",".join(
    str(p) for p in sorted({s.port for d in (RESTRICTED, CLEAN, SILENT) for s in d.services})
)

#: The child: provscan's own main(), with a Ctrl-C sent to itself at ``point``.
DRIVER = """
import asyncio, os, signal, sys
point = sys.argv.pop(1)
def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)
import provscan.cli as cli
import provscan.commands.knowledge as knowledge
import provscan.pipeline as pipeline
if point == "preparing":      # while the arguments are checked: nothing sent yet
    real_stale = knowledge.warn_if_stale
    def stale(*args, **kwargs):
        ctrl_c()
        return real_stale(*args, **kwargs)
    knowledge.warn_if_stale = stale
elif point == "before-network":   # after the checks, before the network phase took Ctrl-C
    real_observer = cli.scan_observer
    def observer(*args, **kwargs):
        ctrl_c()
        return real_observer(*args, **kwargs)
    cli.scan_observer = observer
elif point == "network-start":    # the network phase has begun, no host has answered
    real_scan = pipeline.run_scan
    async def run_scan(*args, **kwargs):
        ctrl_c()
        await asyncio.sleep(0.2)
        return await real_scan(*args, **kwargs)
    pipeline.run_scan = run_scan
elif point == "gathered":         # the network phase is over: the scan is stored
    real_coverage = cli.scan_coverage
    def coverage(*args, **kwargs):
        ctrl_c()
        return real_coverage(*args, **kwargs)
    cli.scan_coverage = coverage
sys.argv[0] = "provscan"
cli.main()
"""


def _scan_at(point: str, database: Path, *targets: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, point, "scan", *targets, "--ports", QUICK_PORTS,
         "--no-discovery", "--db", str(database)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, [
        line for line in done.stderr.splitlines() if not line.startswith("provscan: warning")
    ]


def _stored(database: Path) -> list[tuple[str, bool, int]]:
    if not database.exists():
        return []
    with open_store(f"sqlite:///{database}") as store:
        return [(s.id, s.complete, s.devices) for s in store.scans(None)]


def test_ctrl_c_while_the_scan_is_prepared_sends_and_stores_nothing(
    lab: Lab, tmp_path: Path
) -> None:
    database = tmp_path / "x.db"
    code, said = _scan_at("preparing", database, RESTRICTED.address, CLEAN.address)
    assert code == 130
    assert said == ["provscan: interrupted before the scan started: nothing sent, nothing stored"]
    assert _stored(database) == []


def test_ctrl_c_just_before_the_network_phase_stops_the_scan(lab: Lab, tmp_path: Path) -> None:
    # (it used to be counted and forgotten: the whole scan ran, stored "complete")
    database = tmp_path / "x.db"
    code, said = _scan_at("before-network", database, RESTRICTED.address, CLEAN.address)
    assert code == 130
    assert said == ["provscan: interrupted before any host answered (0 of 2 swept); nothing stored"]
    assert _stored(database) == []


def test_ctrl_c_before_any_host_answered_stores_no_empty_scan(lab: Lab, tmp_path: Path) -> None:
    database = tmp_path / "x.db"
    code, said = _scan_at("network-start", database, RESTRICTED.address, CLEAN.address)
    assert code == 130
    assert said == ["provscan: interrupted before any host answered (0 of 2 swept); nothing stored"]
    assert _stored(database) == []


def test_ctrl_c_once_the_scan_is_done_says_the_stored_scan_is_complete(
    lab: Lab, tmp_path: Path
) -> None:
    database = tmp_path / "x.db"
    code, said = _scan_at("gathered", database, RESTRICTED.address, CLEAN.address)
    ((scan_id, complete, devices),) = _stored(database)
    # every host was scanned before the Ctrl-C: the scan is whole, and said to be
    assert complete and devices == 2
    assert code == 130
    assert said == [
        f"provscan: interrupted once the scan was done; scan stored as {scan_id}, complete"
    ]


def test_ctrl_c_after_every_host_was_swept_says_what_was_cut_short(
    lab: Lab, tmp_path: Path
) -> None:
    """Every host swept, one still probed (it never answers): the line says so, not
    "partial results for 3 of 3 hosts"; the scan is stored marked incomplete."""
    database = tmp_path / "x.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "provscan", "scan", RESTRICTED.address, CLEAN.address,
         SILENT.address, "--ports", ALL_PORTS, "--timeout", "60", "--host-timeout", "300",
         "--no-discovery", "--db", str(database), "-f", "jsonl"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )  # fmt: skip
    try:
        # the quick devices are done, the silent one holds its connections open
        time.sleep(1.0)
        deadline = time.monotonic() + 60
        while not _holds_connection_to(process.pid, SILENT.address):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        time.sleep(1.5)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    said = [line for line in err.splitlines() if not line.startswith("provscan: warning")]
    ((scan_id, complete, devices),) = _stored(database)
    assert not complete and devices == 3
    assert process.returncode == 130, err
    assert said == [
        "provscan: interrupted: partial results (marked incomplete): all 3 hosts swept, "
        f"probes cut short on 1 device; scan stored as {scan_id}"
    ], err


def _holds_connection_to(pid: int, address: str) -> bool:
    """Whether process ``pid`` has an established TCP connection to ``address``."""
    hexed = "".join(f"{int(part):02X}" for part in reversed(address.split(".")))
    inodes = set()
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{name}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        table = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    for row in table:
        fields = row.split()
        if fields[2].startswith(hexed + ":") and fields[3] == "01" and fields[9] in inodes:
            return True
    return False


# -- the store and the inventory ------------------------------------------------------------


def _incomplete(scan_id: str, hour: int, keep: slice):  # type: ignore[no-untyped-def]
    document = golden_copy(scan_id, hour, keep)
    return document.model_copy(
        update={"scan": document.scan.model_copy(update={"complete": False})}
    )


def test_an_incomplete_scan_counts_nobody_missing_and_the_inventory_says_it(
    tmp_path: Path,
) -> None:
    database = tmp_path / "x.db"
    cover = coverage_ranges(["127.0.40.0/24"])
    with open_store(f"sqlite:///{database}") as store:
        store.save_document(golden_copy("scan-a", 10, slice(None)), site="quebec", coverage=cover)
        # an interrupted scan that saw only the second device onwards
        store.save_document(
            _incomplete("scan-b", 11, slice(1, None)), site="quebec", coverage=cover
        )
        statuses = {d.ip: d.status for d in store.inventory()}
    assert set(statuses.values()) == {"present"}  # the first device is not missing
    done = subprocess.run(
        [sys.executable, "-m", "provscan", "inventory", "--db", str(database)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stdout.splitlines() if line.startswith("note: the newest")]
    assert len(notes) == 1, done.stdout
    assert re.match(
        r"note: the newest scan of site quebec \(scan-b, \d{4}-\d\d-\d\d 11:\d\d\) is incomplete",
        notes[0],
    ), notes
    # once a complete scan is the newest, the note goes
    with open_store(f"sqlite:///{database}") as store:
        store.save_document(golden_copy("scan-c", 12, slice(None)), site="quebec", coverage=cover)
    done = subprocess.run(
        [sys.executable, "-m", "provscan", "inventory", "--db", str(database)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )  # fmt: skip
    assert done.returncode == 0 and "note: the newest" not in done.stdout, done.stdout
