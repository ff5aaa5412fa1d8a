"""What a newcomer found wrong with the command line, checked through the real commands.

An empty ``--ports`` scanned the default ports; a ``--db`` that is not a database was found
only after the whole scan, and ``--no-db --db`` passed silently; an out-of-scope /8 was
told to raise --max-hosts; ``diff --help`` read ``[[OLD]] [[NEW]]``; the scan list cut
addresses mid-way; the inventory said "yes" instead of the verdict and showed one case of
several; piped tables ended their lines in spaces; ``scan -v`` broke a port list across
lines; the Clear section named the maker where the restricted tables named the brand.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import SESSION_DEVICES, run_provscan
from typer.testing import CliRunner

from provscan import pipeline
from provscan.cli import app
from provscan.errors import TargetError
from provscan.lab.server import Lab
from provscan.targets import build_targets

FAST = ["--timeout", "2", "--host-timeout", "15", "--quiet"]
#: A loopback address no lab device uses: refused commands must not get as far as a scan.
NOBODY = "127.0.0.2"


def _fails(result: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """The one-line error of a refused command (nothing on stdout, no traceback)."""
    assert result.returncode == code, (result.returncode, result.stderr, result.stdout[:500])
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("provscan: error: "), lines
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# -- 1. --ports ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ports", "words"),
    [
        ("", ("no ports given",)),
        ("   ", ("no ports given",)),
        (" , ", ("no ports given",)),
        ("80,,443", ("empty item", "'80,,443'")),
        ("80,443,", ("empty item",)),
    ],
)
def test_an_empty_port_list_or_item_is_a_usage_error(ports: str, words: tuple[str, ...]) -> None:
    # an unset variable in a script ($PORTS) must not scan the 19 default ports
    result = run_provscan("scan", NOBODY, "--ports", ports, "--no-db", "-f", "json", *FAST)
    _fails(result, 2, *words)


# -- 2. --db checked before the scan --------------------------------------------------------


def test_a_db_that_is_not_a_database_is_refused_before_scanning(lab: Lab, tmp_path: Path) -> None:
    # Given a CSV file named as the store by mistake, and a lab device that would answer
    listing = tmp_path / "list.csv"
    listing.write_text("ip,name\n10.0.0.1,camera\n", encoding="utf-8")
    before = listing.read_bytes()
    device = next(d for d in SESSION_DEVICES if d.expect.restricted and not d.expect.hostile)
    result = run_provscan("scan", device.address, "--db", str(listing), *FAST)
    # Then it is refused as a bad argument, with nothing scanned, and the file is untouched
    _fails(result, 2, f"--db {listing}", "not a provscan database", "nothing was scanned")
    assert listing.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == [listing]  # no journal, no new file beside it


def test_a_sqlite_database_of_another_program_is_left_alone(tmp_path: Path) -> None:
    other = tmp_path / "crm.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE customers (name TEXT)")
    before = other.read_bytes()
    result = run_provscan("scan", NOBODY, "--db", str(other), *FAST)
    _fails(result, 2, "another program", "nothing was scanned")
    assert other.read_bytes() == before


def test_a_db_in_a_missing_folder_is_refused_before_scanning(tmp_path: Path) -> None:
    result = run_provscan("scan", NOBODY, "--db", str(tmp_path / "nope" / "x.db"), *FAST)
    _fails(result, 2, "does not exist")
    assert not (tmp_path / "nope").exists()


@pytest.mark.parametrize("command", [["scan", NOBODY], ["demo"], ["discover", NOBODY]])
def test_no_db_with_db_is_a_usage_error(command: list[str], tmp_path: Path) -> None:
    store = tmp_path / "site.db"
    result = run_provscan(*command, "--no-db", "--db", str(store))
    _fails(result, 2, "--no-db and --db")
    assert not store.exists()


# -- 3. scope before size ------------------------------------------------------------------


def test_an_out_of_scope_range_is_refused_for_its_scope_not_its_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 10.0.0.0/8 is data only. The command runs in this process with the scan itself
    # replaced by a failure, so that even if the refusal regressed nothing would be sent.
    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("an out-of-scope target reached the scan")

    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128")
    monkeypatch.setattr(pipeline, "run_scan", never)
    monkeypatch.setattr(pipeline, "run_interruptibly", never)
    with pytest.raises(TargetError) as refused:
        build_targets(["10.0.0.0/8"])
    assert "PROVSCAN_ALLOWED_TARGETS" in str(refused.value)
    assert "--max-hosts" not in str(refused.value)
    done = CliRunner().invoke(app, ["scan", "10.0.0.0/8", "--no-db", "--no-discovery", *FAST])
    assert done.exit_code == 2, done.output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("provscan: error: "), lines
    assert "refusing target 10.0.0.0/8" in lines[0] and "PROVSCAN_ALLOWED_TARGETS" in lines[0]
    assert "--max-hosts" not in lines[0]
    # an allowed range that is too large still says so
    result = run_provscan("scan", "127.0.0.0/8", "--no-db", *FAST)
    _fails(result, 2, "--max-hosts")


# -- tables of a real store ------------------------------------------------------------------


def _range(octet: int) -> str:
    """The session lab's 127.N.``octet``.0/24."""
    first = next(d.address for d in SESSION_DEVICES if d.address.split(".")[2] == str(octet))
    return ".".join(first.split(".")[:3]) + ".0/24"


RANGES = [_range(1), _range(2), _range(4)]


@pytest.fixture(scope="module")
def store(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A store with one scan of three lab ranges (Hikvision, its relabels, Dahua relabels)."""
    path = str(tmp_path_factory.mktemp("review") / "site.db")
    result = run_provscan("scan", *RANGES, "--site", "hq", "--db", path, *FAST, timeout=300)
    assert result.returncode == 0, result.stderr
    yield path


def _ok(*args: str, width: int | None = None) -> str:
    result = run_provscan(*args, width=width)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("width", [80, 100])
def test_the_scan_list_shows_targets_whole_or_counted(store: str, width: int) -> None:
    lines = _ok("scans", "--db", store, width=width).splitlines()
    assert all(len(line) <= width for line in lines), lines
    header = lines[0]
    start = header.index("Targets")
    # every address in the Targets column is one of the targets, whole
    shown = " ".join(line[start:] for line in lines[1:] if len(line) > start)
    counted = re.findall(r"\+(\d+)", shown)
    addresses = re.findall(r"[0-9][0-9./]*…?", re.sub(r"\+\d+", " ", shown))
    assert addresses and set(addresses) <= set(RANGES), shown
    # what is not shown is counted: here one scan of three targets
    assert len(set(addresses)) + sum(map(int, counted)) == len(RANGES), shown
    # and the list says that its short ids are enough
    assert any("prefix" in line for line in lines), lines


def test_the_inventory_shows_verdicts_and_every_open_case(store: str) -> None:
    cases = json.loads(_ok("cases", "list", "--db", store, "-f", "json"))["cases"]
    per_device: dict[str, list[int]] = {}
    for case in cases:
        per_device.setdefault(case["device_id"], []).append(case["id"])
    several = {device: ids for device, ids in per_device.items() if len(ids) > 1}
    assert several, "the lab's KEV camera has a vulnerability case beside its maker case"
    inventory = json.loads(_ok("inventory", "--db", store, "-f", "json"))["devices"]
    for width in (80, 100):
        lines = _ok("inventory", "--db", store, width=width).splitlines()
        assert any("Verdict" in line.split() for line in lines), lines
        for device in inventory:
            (row,) = [line for line in lines if device["ip"] in line.split()]
            words = row.split()
            assert device["verdict"] in words and not {"yes", "no"} & set(words), row
            if device["device_id"] in several:
                more = len(several[device["device_id"]]) - 1
                assert re.search(rf"#\d+ \w+ \+{more}\b", row), row
        assert any("more open cases" in line for line in lines), lines


@pytest.mark.parametrize(
    "args",
    [
        ["policies"],
        ["lab", "list"],
        ["lookup", "Hikvision", "DS-2CD2386G2-IU"],
        ["inventory"],
        ["scans"],
        ["cases", "list"],
    ],
    ids=" ".join,
)
def test_piped_tables_end_no_line_in_spaces(args: list[str], store: str) -> None:
    needs_db = args[0] in {"inventory", "scans", "cases"}
    result = run_provscan(*args, *(["--db", store] if needs_db else []), width=80)
    assert result.returncode == 0, result.stderr
    padded = [line for line in result.stdout.splitlines() if line.endswith(" ")]
    assert result.stdout.strip() and not padded, padded


def test_a_piped_scan_table_ends_no_line_in_spaces(lab: Lab) -> None:
    result = run_provscan("scan", _range(4), "--no-db", "-v", *FAST, width=100)
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stdout.splitlines() if line.endswith(" ")]


def test_json_and_csv_are_written_untouched(store: str) -> None:
    # trailing spaces are trimmed from what rich lays out, never from data
    text = _ok("inventory", "--db", store, "-f", "csv")
    assert text.splitlines()[0].startswith("device_id,")
    document = json.loads(_ok("inventory", "--db", store, "-f", "json"))
    assert document["devices"]


@pytest.mark.parametrize("width", [80, 100])
def test_verbose_port_lists_stay_on_one_line(lab: Lab, width: int) -> None:
    # Given the Hikvision and Dahua ranges in one verbose table (long models and firmware)
    result = run_provscan("scan", _range(1), _range(4), "--no-db", "-v", *FAST, width=width)
    assert result.returncode == 0, result.stderr
    document = run_provscan("scan", _range(4), "--no-db", "-f", "json", *FAST)
    assert document.returncode == 0, document.stderr
    ports = {d["ip"]: d["open_ports"] for d in json.loads(document.stdout)["devices"]}
    lines = result.stdout.splitlines()
    for address, open_ports in ports.items():
        rows = [line for line in lines if line.split()[:1] == [address]]
        assert rows, address
        listed = " ".join(str(port) for port in open_ports)
        # Then each device's ports are on its line, in one piece ("80 554 37777")
        assert f" {listed} " in f"{rows[0]} ", (rows[0], listed)
    assert all(len(line) <= width for line in lines), [x for x in lines if len(x) > width]


def test_the_clear_section_names_brand_and_maker(lab: Lab) -> None:
    # Given the Dahua relabels (Amcrest, Lorex, ...) judged by a policy that names no Dahua
    relabels = [
        d
        for d in SESSION_DEVICES
        if d.address.split(".")[2] == "4" and d.expect.brand and d.expect.manufacturer
    ]
    assert relabels
    result = run_provscan("scan", _range(4), "--policy", "ca", "--no-db", *FAST, width=80)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Clear:"))
    section = " ".join(lines[start + 1 : lines.index("", start)])
    for device in relabels:
        label = f"{device.expect.manufacturer} / {device.expect.brand} {device.address}"
        if device.expect.brand != device.expect.manufacturer:
            assert label in section, (label, section)
