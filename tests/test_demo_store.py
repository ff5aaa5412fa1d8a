"""`provscan demo --db` stores its scan as `provscan scan` of the same addresses would.

Before (a newcomer's review): the demo stored its scan with no coverage, so the compliance
report's methodology said "yes (covers nothing)" for a complete demo scan, and a later demo
could neither show a device missing nor verify a case.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_provscan


def test_a_stored_demo_covers_the_lab_addresses(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    # The demo serves the lab on its bundled 127.77.x.y addresses (a `provscan lab up` or
    # another demo holding them makes it fail to start: then there is nothing to test).
    demo = run_provscan("demo", "-q", "--db", str(database), "-f", "json", timeout=300)
    if demo.returncode == 1 and "address already in use" in demo.stderr:
        pytest.skip("the lab's 127.77.x.y addresses are in use by another lab")
    assert demo.returncode == 0, demo.stderr
    scans = run_provscan("scans", "--db", str(database), "-f", "json")
    assert scans.returncode == 0, scans.stderr
    (scan,) = json.loads(scans.stdout)["scans"]
    assert scan["complete"] is True
    assert scan["covering"] is True
    report = tmp_path / "register.html"
    written = run_provscan("report", "--db", str(database), "-o", str(report))
    assert written.returncode == 0, written.stderr
    assert "covers nothing" not in report.read_text(encoding="utf-8")
