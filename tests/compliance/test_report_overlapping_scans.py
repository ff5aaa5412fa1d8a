"""A site scanned twice with overlapping, unequal target lists, as a user does it: `provscan
scan` over loopback into a SQLite store, then `provscan report` and `provscan inventory`, all
run as commands. Every device counts once: the trend's points are the restricted devices
remaining in the inventory (its last point is the headline's number), and an address that
did not answer is counted once, not once per scan. A site name the store does not hold is
refused (exit 2), never reported as a site with nothing restricted."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from helpers import SESSION_DEVICES

from inventory_verdicts import GOLDEN, scan_of
from provscan.compliance.facts import gather
from provscan.lab.server import run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.report.contract import from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges

#: 127.10-19.171-175.x: the report tests' second octet (report_history.py uses third octets
#: below 100), away from the session labs.
OCTET = 10 + os.getpid() % 10
#: lab address (127.77.X.Y) -> third octet here: Hikvision cameras, Hikvision relabels
#: (LTS), makers no measure restricts (Axis, Hanwha Vision).
BLOCKS = {"1": 171, "2": 172, "5": 175}
HOSTS = {"1": (10, 11, 12, 13), "2": (10, 11), "5": (10, 11)}
RESTRICTED = 6  # the Hikvision and LTS devices
ANSWERING = 8
EXCLUDED = f"127.{OCTET}.171.12"  # a restricted camera the second scan leaves out


def _block(key: str) -> str:
    return f"127.{OCTET}.{BLOCKS[key]}.0/28"


def _placed(device: DeviceSpec) -> DeviceSpec | None:
    _, _, block, host = device.address.split(".")
    if block not in HOSTS or int(host) not in HOSTS[block]:
        return None
    address = f"127.{OCTET}.{BLOCKS[block]}.{host}"
    return device.model_copy(update={"address": address})


DEVICES = [d for d in (_placed(device) for device in SESSION_DEVICES) if d is not None]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The review's two scans at site hq: two blocks, then the same two and a third with
    one camera excluded."""
    assert len(DEVICES) == ANSWERING
    path = str(tmp_path_factory.mktemp("overlap") / "site.db")
    first = [_block("1"), _block("2")]
    second = [*first, _block("5"), "--exclude", EXCLUDED]
    with run_lab_in_thread(DEVICES):
        for targets in (first, second):
            done = _run("scan", *targets, "--site", "hq", "-q", "--db", path)
            assert done.returncode == 0, done.stderr
    yield path


def _silent_addresses() -> int:
    # 3 blocks of 16 addresses, each probed by the newest scan that set out to (the excluded
    # camera by the first, which heard it); 8 devices answered.
    return 3 * 16 - ANSWERING


def _report(db: str, out: Path, *extra: str) -> str:
    done = _run("report", "--db", db, "-o", str(out), *extra)
    assert done.returncode == 0, done.stderr
    return out.read_text(encoding="utf-8") if out.suffix != ".xlsx" else ""


def test_scans_overlap_as_the_review_describes(db: str) -> None:
    scans = json.loads(_run("scans", "--db", db, "-f", "json").stdout)["scans"]
    found = sorted((s["devices"], s["restricted"]) for s in scans)
    # the second scan saw 5 restricted (one excluded) and 2 clear devices: summed per
    # scan that would be 11 restricted devices
    assert found == [(RESTRICTED, RESTRICTED), (ANSWERING - 1, RESTRICTED - 1)]


def test_markdown_trend_counts_each_device_once(db: str, tmp_path: Path) -> None:
    text = _report(db, tmp_path / "inv.md")
    assert f"{RESTRICTED} restricted devices remain." in text
    table = text.split("### Restricted devices over time", 1)[1].split("###", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| 20")]
    assert [row.rstrip(" |").rsplit("|", 1)[1].strip() for row in rows] == [str(RESTRICTED)] * 2
    # the scan's own count stays in its column
    assert [row.split("|")[3].strip() for row in rows] == [str(RESTRICTED), str(RESTRICTED - 1)]
    silent = re.search(r"- Scanned hosts that did not answer[^:]*: (\d+)", text)
    assert silent is not None and int(silent.group(1)) == _silent_addresses()


def test_trend_follows_the_selected_policies_like_the_headline(db: str, tmp_path: Path) -> None:
    # Denmark's measure is context only: it restricts nothing, in the headline or the trend
    text = _report(db, tmp_path / "dk.md", "--policy", "dk")
    assert "0 restricted devices remain." in text
    table = text.split("### Restricted devices over time", 1)[1].split("###", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| 20")]
    assert [row.rstrip(" |").rsplit("|", 1)[1].strip() for row in rows] == ["0", "0"]


def test_html_chart_ends_at_the_headline(db: str, tmp_path: Path) -> None:
    html = _report(db, tmp_path / "inv.html")
    values = [int(v) for v in re.findall(r'<circle class="point"[^>]*data-value="(\d+)"', html)]
    assert values == [RESTRICTED, RESTRICTED]
    headline = re.search(r"As of [0-9-]+, (\d+) restricted devices remain", html)
    assert headline is not None and int(headline.group(1)) == values[-1]
    assert f"<strong>{_silent_addresses()}</strong> scanned hosts did not answer" in html


def test_xlsx_summary_and_methodology_agree(db: str, tmp_path: Path) -> None:
    out = tmp_path / "inv.xlsx"
    _report(db, out)
    book = openpyxl.load_workbook(out, read_only=True)
    summary = [(*row, None, None)[:2] for row in book["Summary"].iter_rows(values_only=True)]
    start = next(i for i, row in enumerate(summary) if str(row[0]).startswith("Trend:"))
    assert [row[1] for row in summary[start + 1 : start + 3]] == [RESTRICTED, RESTRICTED]
    methodology = {
        row[0]: row[1]
        for row in ((*r, None, None)[:2] for r in book["Methodology"].iter_rows(values_only=True))
    }
    assert methodology["Hosts that did not answer"] == _silent_addresses()


def test_site_report_matches_the_whole_inventory(db: str, tmp_path: Path) -> None:
    text = _report(db, tmp_path / "hq.md", "--site", "hq")
    assert f"{RESTRICTED} restricted devices remain." in text
    assert "| hq |" in text


@pytest.mark.parametrize("command", ["report", "inventory"])
def test_an_unknown_site_is_refused_with_the_known_ones(
    db: str, tmp_path: Path, command: str
) -> None:
    out = tmp_path / f"{command}.md"
    args = ["-o", str(out)] if command == "report" else []
    done = _run(command, "--db", db, "--site", "HQ", *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "no site 'HQ'" in lines[0] and "known sites: hq" in lines[0]
    assert "did you mean 'hq'" in lines[0]
    assert done.stdout == ""
    assert not out.exists()
    other = _run(command, "--db", db, "--site", "Branch", *args)
    assert other.returncode == 2
    assert "did you mean" not in other.stderr and "known sites: hq" in other.stderr


def test_inventory_of_a_known_site_lists_its_devices(db: str) -> None:
    done = _run("inventory", "--db", db, "--site", "hq", "-f", "json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["devices"]) == ANSWERING


def test_report_help_example_uses_a_site_as_the_readme_spells_it() -> None:
    done = _run("report", "--help")
    assert "provscan report --site hq -o hq.md" in done.stdout
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert "--site hq" in readme


def test_trend_drops_a_device_once_it_is_gone(tmp_path: Path) -> None:
    """A restricted device missed by covering scans counts until the inventory calls it gone
    (the third covering scan in a row, the default), like the headline."""
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    devices = [
        d.model_copy(update={"ip": f"127.0.42.{i + 1}", "mac": f"02:00:00:00:42:{i + 1:02x}"})
        for i, d in enumerate(golden.devices)
    ]
    restricted = sum(d.restricted for d in devices)
    dropped = next(d for d in devices if d.restricted)
    later = [d for d in devices if d is not dropped]
    cover = coverage_ranges(["127.0.42.0/24"])
    with open_store(normalise_db_arg(str(tmp_path / "gone.db"))) as store:
        for hour, seen in enumerate([devices, later, later, later], start=10):
            store.save_document(scan_of(f"scan-{hour}", hour, seen), coverage=cover)
        facts = gather(store)
        statuses = {d.ip: d.status for d in store.inventory()}
    assert statuses[dropped.ip] == "gone"
    assert [p.inventory_restricted for p in facts.trend] == [restricted] * 3 + [restricted - 1]
    assert facts.remaining == facts.trend[-1].inventory_restricted
