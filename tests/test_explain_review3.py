"""``provscan explain`` as a third newcomer review found it, through the real command line
(typer's CliRunner, in this process) over real SQLite stores made by a real import and by
real scans of the lab on loopback:

1. the verdict word is the tool's one mapping (``report.contract.verdict_of``): a device the
   import judged "review" was explained "NOT RESTRICTED";
2. the Measures list printed every measure once per maker family (twice for a review
   between Hikvision and Dahua);
3. a device from an imported CSV row was said to have announced itself on the network;
4. ``explain`` could not read the store: it probed the device again and judged it for the
   default reading, whatever the stored scan was judged for.

Every human view is checked at 80 columns (COLUMNS=80, and stdout is not a terminal).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import SESSION_DEVICES
from typer.testing import CliRunner, Result

from provscan import pipeline
from provscan.cli import app
from provscan.lab.server import Lab

#: Addresses below that are not loopback are data in a CSV row or a capture file: nothing is
#: ever sent to them (every store test replaces the scan with a failure).
REVIEW = "10.20.1.21"  # Honeywell HBW4PER1: a possible Dahua relabel, judged for review
RESTRICTED = "10.20.1.11"  # Hikvision DS-2CD2043G2-I
CLEAR = "10.20.1.13"  # Axis P3245-V
UNKNOWN = "10.20.1.40"  # a maker no rule knows
CMDB = f"""Asset Tag,Hostname,IP Address,MAC Address,Manufacturer,Model,Location
A-1,door-cam,{REVIEW},,Honeywell,HBW4PER1,Door
A-2,lobby-cam,{RESTRICTED},,Hikvision,DS-2CD2043G2-I,Lobby
A-3,hall-cam,{CLEAR},,Axis,P3245-V,Hall
A-4,yard-box,{UNKNOWN},,Acme Widgets,AW-100,Yard
"""
CROWN = "ca:crown-corporation"
HIKVISION = next(d.address for d in SESSION_DEVICES if d.id == "hik-ipc-g2")
SADP_ONLY = next(d.address for d in SESSION_DEVICES if d.id == "hik-nvr-sadp-only")
CAPTURE = Path(__file__).parent / "pcap" / "fixtures" / "crafted_signals.pcapng"
#: A device of that capture nothing identified (it only browsed and looked names up).
CAPTURED_UNKNOWN = "192.168.1.50"
#: A loopback address no lab device uses and no store here holds.
NOBODY = "127.0.0.2"
WIDTH = 80


def cli(*args: str) -> Result:
    """``provscan ARGS`` in this process, at 80 columns."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(WIDTH), "NO_COLOR": "1"})


def ok(*args: str) -> Result:
    result = cli(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def view(*args: str) -> list[str]:
    """The human view of ``explain ARGS``: every line fits 80 columns."""
    lines = ok("explain", *args).stdout.splitlines()
    too_long = [line for line in lines if len(line) > WIDTH]
    assert not too_long, too_long
    return lines


def data(*args: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(ok("explain", *args, "--format", "json").stdout)
    return document


def refused(*args: str, words: tuple[str, ...], code: int = 2) -> str:
    """The one-line error of a refused ``explain ARGS``: nothing on stdout, no traceback."""
    result = cli("explain", *args)
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("provscan: error: "), lines
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def section(lines: list[str], title: str) -> list[str]:
    """The entries of one section of the human view, each joined onto one line."""
    start = lines.index(title) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    entries: list[str] = []
    for line in lines[start:end]:
        if line.startswith("- ") or not entries:
            entries.append(line.removeprefix("- ").strip())
        else:
            entries[-1] += " " + line.strip()
    return entries


def words(lines: list[str]) -> str:
    return " ".join(" ".join(lines).split())


@pytest.fixture
def nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan replaced by a failure: reading a report or the store must probe nothing."""

    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("explain probed the network")

    monkeypatch.setattr(pipeline, "run_scan", never)
    monkeypatch.setattr(pipeline, "run_interruptibly", never)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A CMDB imported for a Crown corporation: stored in a SQLite store and written as
    JSON by the same run (nothing is sent)."""
    folder = tmp_path_factory.mktemp("explain-import")
    (folder / "cmdb.csv").write_text(CMDB, encoding="utf-8")
    store, report = folder / "store.db", folder / "imp.json"
    ok(
        "import", str(folder / "cmdb.csv"), "--db", str(store), "--as", CROWN,
        "-f", "json", "-o", str(report), "-q",
    )  # fmt: skip
    yield store, report


def _report_devices(report: Path) -> dict[str, dict[str, Any]]:
    document = json.loads(report.read_text(encoding="utf-8"))
    return {device["ip"]: device for device in document["devices"]}


def _inventory_verdicts(store: Path) -> dict[str, str]:
    document = json.loads(ok("inventory", "--db", str(store), "-f", "json").stdout)
    return {device["ip"]: device["verdict"] for device in document["devices"]}


# -- 1. the verdict word ---------------------------------------------------------------------


def test_the_verdict_is_the_word_the_report_and_the_inventory_give(
    imported: tuple[Path, Path], nothing_is_sent: None
) -> None:
    store, report = imported
    recorded = _report_devices(report)
    inventory = _inventory_verdicts(store)
    # the import judged the four rows four different ways
    assert {device["verdict"] for device in recorded.values()} == {
        "restricted",
        "review",
        "clear",
        "unknown",
    }
    for address, device in recorded.items():
        from_report = data("--from", str(report), address)
        from_store = data(address, "--db", str(store))
        assert from_report["verdict"] == from_store["verdict"] == device["verdict"], address
        assert inventory[address] == device["verdict"], address
        head = words(view("--from", str(report), address)[:2])
        assert head.startswith(f"{address}: {device['verdict'].upper()} (as {CROWN}) - maker")
    head = words(view(REVIEW, "--db", str(store))[:2])
    assert head.startswith(f"{REVIEW}: REVIEW (as {CROWN})")
    assert "NOT RESTRICTED" not in " ".join(view(REVIEW, "--db", str(store)))


def test_a_review_says_why_with_how_the_verdict_was_reached(
    imported: tuple[Path, Path], nothing_is_sent: None
) -> None:
    _, report = imported
    lines = view("--from", str(report), REVIEW)
    reasons = section(lines, "How the verdict was reached")
    review_notes = [n for n in _report_devices(report)[REVIEW]["notes"] if n.startswith("review:")]
    assert review_notes
    assert [r for r in reasons if r.startswith("review:")] == review_notes
    # said once: not again under Notes
    assert not any(note.startswith("review:") for note in section(lines, "Notes"))


# -- 2. each measure once --------------------------------------------------------------------


def test_each_measure_is_printed_once(imported: tuple[Path, Path], nothing_is_sent: None) -> None:
    _, report = imported
    measures = data("--from", str(report), REVIEW)["measures"]
    distinct = {(m["jurisdiction"], m["measure"]) for m in measures}
    # the findings name measures once per family the device may belong to (Hikvision, Dahua)
    assert {m["family"] for m in measures} == {"hikvision", "dahua"}
    assert len(measures) > len(distinct)
    shown = section(view("--from", str(report), REVIEW), "Measures")
    assert len(shown) == len(set(shown)) == len(distinct)
    for jurisdiction, measure in distinct:
        families = sorted({m["family"] for m in measures if m["measure"] == measure})
        (line,) = [s for s in shown if s.startswith(f"{jurisdiction}: {measure} (")]
        named = line.rsplit("; for ", 1)[1].rstrip(")").split(" and ")
        assert sorted(named) == families, line


def test_a_device_of_one_family_names_no_family_on_its_measures(
    imported: tuple[Path, Path], nothing_is_sent: None
) -> None:
    _, report = imported
    shown = section(view("--from", str(report), RESTRICTED), "Measures")
    assert shown and len(shown) == len(set(shown))
    assert not any("; for " in line for line in shown), shown


# -- 3. where the record came from -----------------------------------------------------------


@pytest.mark.parametrize("source", ["report", "store"])
def test_an_imported_row_says_it_came_from_a_file(
    imported: tuple[Path, Path], nothing_is_sent: None, source: str
) -> None:
    store, report = imported
    where = ["--from", str(report)] if source == "report" else ["--db", str(store)]
    cmdb = "cmdb.csv"  # the note names the file as the import's notes do
    for address in (REVIEW, UNKNOWN):
        lines = view(*where, address)
        text = words(lines)
        assert "announced on the network" not in text and "no open port" not in text
        came = words(section(lines, "Where this came from"))
        assert f"imported from CSV {cmdb}: a record read from a file" in came
        assert "nothing was sent to the device" in came
        origin = data(*where, address)["origin"]
        assert origin["method"] == origin["kind"] == "import"
        assert origin["read_from"] == source
        assert f"imported from CSV {cmdb}" in origin["inputs"]
        # said once: the notes do not repeat where it came from
        notes = section(lines, "Notes") if "Notes" in lines else []
        assert not any(note.startswith("imported from") for note in notes), notes
    unknown = view(*where, UNKNOWN)
    why = words(unknown[unknown.index("Why it stayed unknown") :])
    assert f"no probe ran: it came from a file (imported from CSV {cmdb})" in why


def test_a_captured_device_says_it_came_from_a_capture(
    tmp_path: Path, nothing_is_sent: None
) -> None:
    store = tmp_path / "capture.db"
    ok("pcap", str(CAPTURE), "--db", str(store), "-q")
    lines = view(CAPTURED_UNKNOWN, "--db", str(store))
    assert lines[0].startswith(f"{CAPTURED_UNKNOWN}: UNKNOWN")
    came = words(section(lines, "Where this came from"))
    assert f"a passive capture ({CAPTURE})" in came and "nothing was sent to it" in came
    why = words(lines[lines.index("Why it stayed unknown") :])
    assert "no probe ran (a passive capture): only what it sent was read" in why
    assert data(CAPTURED_UNKNOWN, "--db", str(store))["origin"]["method"] == "passive capture"


def test_a_device_found_by_discovery_only_says_so(lab: Lab, tmp_path: Path) -> None:
    store = tmp_path / "discovery.db"
    ok("discover", SADP_ONLY, "--timeout", "0.5", "--db", str(store))
    lines = view(SADP_ONLY, "--db", str(store))
    came = words(section(lines, "Where this came from"))
    assert "discovery only, no port scan (sadp)" in came
    assert data(SADP_ONLY, "--db", str(store))["origin"]["method"] == "discovery"


# -- 4. the store ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scanned(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A real scan of the lab's Hikvision camera on loopback, judged for a Canadian individual
    (for whom no measure restricts it) and stored; returns the store and the scan's id."""
    store = tmp_path_factory.mktemp("explain-store") / "store.db"
    ok(
        "scan", HIKVISION, "--ports", "80,554", "--as", "ca:individual", "--db", str(store),
        "--no-discovery", "-q",
    )  # fmt: skip
    scans = json.loads(ok("scans", "--db", str(store), "-f", "json").stdout)["scans"]
    (scan,) = scans
    yield store, scan["id"]


def test_the_store_is_explained_as_it_was_judged_without_probing(
    scanned: tuple[Path, str], nothing_is_sent: None
) -> None:
    store, scan_id = scanned
    lines = view(HIKVISION, "--db", str(store))
    assert words(lines[:2]).startswith(f"{HIKVISION}: CLEAR (as ca:individual) - maker Hikvision")
    came = words(section(lines, "Where this came from"))
    assert "an active scan: " in came and "on ports 80,554" in came
    assert f"read from the stored scan {scan_id[:12]} of " in came and f"in {store}" in came
    explained = data(HIKVISION, "--db", str(store))
    assert explained["verdict"] == _inventory_verdicts(store)[HIKVISION] == "clear"
    assert explained["acting_as"] == ["ca:individual"]
    assert explained["judged_for"] == "ca:individual"
    assert explained["origin"]["read_from"] == "store"
    assert explained["origin"]["scan_id"] == scan_id
    assert explained["evidence"], "the stored evidence is explained"
    # the same --as is accepted; another is refused: a stored sighting is not judged again
    assert data(HIKVISION, "--db", str(store), "--as", "ca:individual")["verdict"] == "clear"
    refused(
        HIKVISION, "--db", str(store), "--as", "ca:federal-institution",
        words=("judged as ca:individual when it was scanned", "--as cannot re-judge"),
    )  # fmt: skip


def test_without_the_store_explain_probes_again_for_the_default_reading(
    scanned: tuple[Path, str],
) -> None:
    # unchanged without --db: a new probe, judged for the default reading, stored nowhere
    live = data(HIKVISION, "--ports", "80,554")
    assert live["verdict"] == "restricted"
    assert live["judged_for"] == "a national government body, the default"
    assert live["origin"]["read_from"] == "network"
    lines = view(HIKVISION, "--ports", "80,554")
    assert "probed now by explain (not stored)" in words(section(lines, "Where this came from"))


def test_the_newest_sighting_unless_a_scan_is_named(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "two.db"
    first_args = ["--ports", "80,554", "--db", str(store), "--no-discovery", "-q"]
    ok("scan", HIKVISION, *first_args, "--as", "ca:individual")
    ok("scan", HIKVISION, *first_args)  # the default reading
    scans = json.loads(ok("scans", "--db", str(store), "-f", "json").stdout)["scans"]
    newest, oldest = (scan["id"] for scan in scans)  # newest first

    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("explain probed the network")

    monkeypatch.setattr(pipeline, "run_scan", never)
    monkeypatch.setattr(pipeline, "run_interruptibly", never)
    latest = data(HIKVISION, "--db", str(store))
    assert latest["origin"]["scan_id"] == newest
    assert latest["verdict"] == "restricted"
    assert latest["judged_for"] == "a national government body, the default"
    earlier = data(HIKVISION, "--db", str(store), "--scan", oldest[:8])
    assert earlier["origin"]["scan_id"] == oldest
    assert earlier["verdict"] == "clear" and earlier["judged_for"] == "ca:individual"
    head = words(view(HIKVISION, "--db", str(store), "--scan", oldest)[:2])
    assert head.startswith(f"{HIKVISION}: CLEAR (as ca:individual)")


def test_an_address_the_store_does_not_hold_is_refused_in_one_line(
    scanned: tuple[Path, str], nothing_is_sent: None
) -> None:
    store, _ = scanned
    refused(
        NOBODY, "--db", str(store),
        words=(f"no device {NOBODY} in {store}", "provscan inventory"),
    )  # fmt: skip
    refused(HIKVISION, "--db", str(store), "--scan", "ffffffffffff", words=("no scan",))
    refused(HIKVISION, "--db", str(store), "--site", "hq", words=("no site 'hq'",))
    refused("127.0.0.0/30", "--db", str(store), words=("one address",))


def test_a_store_that_does_not_exist_is_refused_and_not_created(
    tmp_path: Path, nothing_is_sent: None
) -> None:
    missing = tmp_path / "typo.db"
    refused(HIKVISION, "--db", str(missing), words=(f"no provscan database at {missing}",))
    assert not missing.exists()


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--from", "{report}"], "--from and --db exclude each other"),
        (["--ports", "80"], "--ports applies to a device probed now"),
        (["--policy", "ca"], "--policy applies to a device probed now"),
        (["--scan", "{scan}", "--site", "hq"], "--site is not needed"),
    ],
)
def test_options_that_do_not_go_with_the_store_are_refused(
    scanned: tuple[Path, str],
    imported: tuple[Path, Path],
    nothing_is_sent: None,
    extra: list[str],
    said: str,
) -> None:
    store, scan_id = scanned
    names = {"report": str(imported[1]), "scan": scan_id}
    refused(HIKVISION, "--db", str(store), *(a.format(**names) for a in extra), words=(said,))


def test_the_help_names_the_store_options() -> None:
    text = re.sub(r"\s+", " ", ok("explain", "--help").stdout)
    for option in ("--db", "--scan", "--site"):
        assert option in text
    assert "provscan explain 127.77.13.10 --db store.db" in text
