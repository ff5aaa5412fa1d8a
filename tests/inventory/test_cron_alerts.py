"""`scan && diff --fail-on-new-restricted` and `inventory --fail-on-restricted` as cron runs
them (an MSP automation engineer's review): real SQLite stores in tmp_path, the real command
in a child process. The scans are stored documents: nothing is sent anywhere."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from helpers import run_provscan

from inventory_verdicts import golden_copy
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges

RANGE = "127.0.40.0/24"
NOTE = "first scan of this scope (192.0.2.0/28): nothing earlier to compare; every device"
RESTRICTED_IP = "127.0.40.1"  # the golden scan's first device, restricted


def _run(*args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    result = run_provscan(*args)
    if check is not None:
        assert result.returncode == check, (result.stdout, result.stderr)
    return result


def _store(tmp_path: Path, *scans: tuple[str, int, slice, str | None]) -> str:
    path = str(tmp_path / "client.db")
    with open_store(normalise_db_arg(path)) as store:
        for scan_id, hour, keep, site in scans:
            store.save_document(
                golden_copy(scan_id, hour, keep), coverage=coverage_ranges([RANGE]), site=site
            )
    return path


def test_the_first_scan_of_a_new_client_alerts_on_its_restricted_devices(tmp_path: Path) -> None:
    db = _store(tmp_path, ("night-1", 10, slice(None), None))
    table = _run("diff", "--db", db, "--fail-on-new-restricted", check=3)
    lines = table.stdout.splitlines()
    assert " ".join(lines[:2]).startswith(NOTE), table.stdout  # the note may wrap
    assert "night-1 (2026-01-01 10:00 UTC): 2 added, 0 removed, 0 changed" in table.stdout
    assert "->" not in table.stdout  # the scan is not shown compared with itself
    assert RESTRICTED_IP in table.stdout
    assert "1 new restricted device(s) in scan night-1 (the first scan" in table.stderr
    assert "Traceback" not in table.stderr
    document = json.loads(_run("diff", "--db", db, "-f", "json", check=0).stdout)
    assert document["old"] is None and document["new"]["id"] == "night-1"
    assert document["first_scan"] is True and document["note"].startswith(NOTE)
    assert [d["ip"] for d in document["added"]] == [RESTRICTED_IP, "127.0.40.2"]
    assert document["removed"] == document["changed"] == document["not_covered"] == []
    # the table written to a file says it too
    written = tmp_path / "diff.txt"
    _run("diff", "--db", db, "-o", str(written))
    assert written.read_text(encoding="utf-8").startswith(NOTE[:40])


def test_the_second_night_compares_with_the_first(tmp_path: Path) -> None:
    db = _store(tmp_path, ("night-1", 10, slice(None), None), ("night-2", 11, slice(None), None))
    # the restricted device was there the night before: not new, no alert
    done = _run("diff", "--db", db, "--fail-on-new-restricted", "-f", "json", check=0)
    document = json.loads(done.stdout)
    assert document["old"]["id"] == "night-1" and document["new"]["id"] == "night-2"
    assert "first_scan" not in document and "note" not in document


def test_a_new_site_after_older_pairs_is_its_own_first_scan(tmp_path: Path) -> None:
    """The newest scan is the one compared: a first scan of another site is not hidden behind
    the newest two overlapping scans of an older site (cron would never see its devices)."""
    db = _store(
        tmp_path,
        ("hq-1", 8, slice(1, None), "hq"),
        ("hq-2", 9, slice(1, None), "hq"),
        ("branch-1", 10, slice(None), "branch"),
    )
    done = _run("diff", "--db", db, "-f", "json", "--fail-on-new-restricted", check=3)
    document = json.loads(done.stdout)
    assert document["first_scan"] is True and document["new"]["id"] == "branch-1"
    assert "site branch: 192.0.2.0/28" in document["note"]
    # naming scans still compares exactly those
    named = json.loads(_run("diff", "hq-1", "hq-2", "--db", db, "-f", "json").stdout)
    assert named["old"]["id"] == "hq-1" and "first_scan" not in named


def test_a_named_scan_without_an_overlapping_one_and_an_empty_store_are_refused(
    tmp_path: Path,
) -> None:
    db = _store(tmp_path, ("hq-1", 8, slice(None), "hq"), ("branch-1", 10, slice(None), "branch"))
    refused = _run("diff", "branch-1", "--db", db, "--fail-on-new-restricted", check=2)
    assert refused.stdout == "" and refused.stderr.count("\n") == 1
    assert "no other stored scan overlaps the scope of scan branch-1" in refused.stderr
    empty = str(tmp_path / "empty.db")
    with open_store(normalise_db_arg(empty)):
        pass
    nothing = _run("diff", "--db", empty, "--fail-on-new-restricted", check=2)
    assert nothing.stdout == "" and nothing.stderr.count("\n") == 1
    assert "holds no scan yet" in nothing.stderr


def test_inventory_fail_on_restricted_counts_what_remains_in_what_is_shown(
    tmp_path: Path,
) -> None:
    # night-2 no longer sees the restricted camera: it is missing, and still remains
    db = _store(tmp_path, ("night-1", 10, slice(None), None), ("night-2", 11, slice(1, None), None))
    alert = _run("inventory", "--db", db, "--fail-on-restricted", check=3)
    assert RESTRICTED_IP in alert.stdout  # the inventory is shown all the same
    assert alert.stderr.strip() == "1 restricted device(s) remaining in the inventory"
    assert _run("inventory", "--db", db, "-f", "json", "--fail-on-restricted", check=3).stdout
    # filters apply: the present devices hold no restricted one, the missing ones do
    _run("inventory", "--db", db, "--status", "present", "--fail-on-restricted", check=0)
    _run("inventory", "--db", db, "--status", "missing", "--fail-on-restricted", check=3)
    # without the flag: exit 0
    _run("inventory", "--db", db, check=0)


def test_inventory_fail_on_restricted_by_site_and_after_verification(tmp_path: Path) -> None:
    db = _store(
        tmp_path, ("hq-1", 8, slice(1, None), "hq"), ("branch-1", 10, slice(None), "branch")
    )
    _run("inventory", "--db", db, "--site", "hq", "--fail-on-restricted", check=0)
    branch = _run("inventory", "--db", db, "--site", "branch", "--fail-on-restricted", check=3)
    assert (
        branch.stderr.strip() == "1 restricted device(s) remaining in the inventory of site branch"
    )
    # removed, and a later complete scan of its address proves it: verified, no longer remains
    with open_store(normalise_db_arg(db)) as store:
        (case,) = [c for c in store.cases() if c.status == "open" and c.subject == "restricted"]
        store.update_case(case.id, actor="test", status="removed")
        store.save_document(
            golden_copy("branch-2", 12, slice(1, None)),
            coverage=coverage_ranges([RANGE]),
            site="branch",
        )
        assert store.case(case.id).status == "verified"
    _run("inventory", "--db", db, "--site", "branch", "--fail-on-restricted", check=0)
