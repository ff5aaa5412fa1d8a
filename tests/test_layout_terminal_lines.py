"""Lines a newcomer found wider than an 80- or 100-column terminal, measured on the real
commands (a child process with COLUMNS set, output a pipe or, for `knowledge status`, a
pseudo-terminal) like tests/test_layout_terminal.py.

The review (section 8): `screen`'s summary on stderr was one 151-character line, `policies
--as-types` had lines of 136 characters, `knowledge status` a 172-character "Verification:"
line, `diff` at 80 columns broke a CVE id across two lines ("CVE-2" / "025-31701") and
`inventory` at 80 columns put "Hikvision /" and "Interlogix" on two lines. Each now wraps
between words with a hanging indent, within the width; no identifier is ever split.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import run_in_terminal, run_provscan
from rich.console import Console

from provscan.commands.common import wrap_words
from provscan.compliance import render
from provscan.knowledge.base import KNOWLEDGE_DIR_ENV
from provscan.screening.verdict import ScreenDocument, summary_line
from provscan.store.views import CaseBrief, InventoryDevice, ScanDiff, ScanSummary

WIDTHS = (80, 100)
ROOT = Path(__file__).resolve().parents[1]
PURCHASE = ROOT / "examples" / "purchase.csv"


def _provscan(width: int, *args: str) -> subprocess.CompletedProcess[str]:
    result = run_provscan(*args, width=width)
    assert result.returncode == 0, result.stderr
    return result


def _fits(lines: list[str], width: int) -> None:
    """Every line within ``width``, but for a single word longer than a line (a path): it is
    never split, so it goes wider."""
    too_wide = [line for line in lines if len(line) > width and len(line.split()) > 1]
    assert not too_wide, too_wide[:3]


def _words(lines: list[str]) -> str:
    return " ".join(" ".join(lines).split())


# -- screen: the summary on stderr ---------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_screen_summary_wraps_between_words_on_stderr(width: int, tmp_path: Path) -> None:
    result = _provscan(width, "screen", str(PURCHASE), "-f", "csv", "-o", str(tmp_path / "o.csv"))
    lines = result.stderr.splitlines()
    _fits(lines, width)
    document = ScreenDocument.model_validate_json(
        _provscan(width, "screen", str(PURCHASE), "-f", "json", "-q").stdout
    )
    # every word of the one-line summary, in order: only the line breaks moved
    one_line = summary_line(document.summary)
    assert len(one_line) > width  # the case the newcomer met: it has to wrap
    assert " ".join(one_line.split()) in _words(lines)
    # a continued line hangs under the first, so it is not read as a new message
    start = next(i for i, line in enumerate(lines) if line.startswith(one_line.split(":")[0]))
    assert lines[start + 1].startswith("  ") and not lines[start + 1].startswith("   ")
    # policy ids are whole words on the lines
    for policy in document.summary.policies:
        assert policy in re.split(r"[\s,;()]+", "\n".join(lines)), policy


# -- policies --as-types -------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_org_types_wrap_their_descriptions_under_themselves(width: int) -> None:
    lines = _provscan(width, "policies", "--as-types").stdout.splitlines()
    _fits(lines, width)
    listing = json.loads(_provscan(width, "policies", "--as-types", "-f", "json").stdout)
    org_types = listing["org_types"]
    indent = max(len(entry["id"]) for entry in org_types) + 2
    text = _words(lines)
    for entry in org_types:
        # each id starts a line, whole, followed by its whole description
        assert any(line.split()[:1] == [entry["id"]] for line in lines), entry["id"]
        assert f"{entry['id']} {' '.join(entry['description'].split())}" in text
    # a continued description starts under the descriptions, never back at the ids
    ids = {entry["id"] for entry in org_types}
    for line in lines:
        if line.strip() and line.split()[0] not in ids and not line.startswith("Use:"):
            assert line.startswith(" " * indent) and line[indent] != " ", line
    assert any(line.startswith(" " * indent) for line in lines)  # some do wrap at 80/100


# -- knowledge status ----------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_knowledge_status_values_wrap_under_themselves(
    width: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KNOWLEDGE_DIR_ENV, str(tmp_path / "knowledge"))
    # on a terminal (a pseudo-terminal of `width` columns), as the newcomer saw it
    command = [sys.executable, "-m", "provscan", "knowledge", "status"]
    lines = run_in_terminal(command, width, timeout=120)
    _fits(lines, width)
    status = json.loads(_provscan(width, "knowledge", "status", "-f", "json").stdout)
    assert f"Verification: {' '.join(status['summary'].split())}" in _words(lines)
    (start,) = [i for i, line in enumerate(lines) if line.startswith("Verification:")]
    # its continuation lines, up to the next field ("Knowledge checks:" follows it)
    continued = list(itertools.takewhile(lambda line: line.startswith(" "), lines[start + 1 :]))
    assert continued, "the verification summary is longer than the terminal: it wraps"
    for line in continued:
        assert line.startswith(" " * 21) and line[21] != " ", line
    # paths are whole: the data directory, and the pack folder (here longer than a line)
    (directory,) = [line for line in lines if line.startswith("Data directory:")]
    assert status["path"] in directory.split()
    assert f"{status['knowledge_home']})" in _words(lines).split()
    # into a pipe without COLUMNS a value stays on its line, whole for grep (with COLUMNS
    # it wraps like the tables: tests/test_cli_review3_kev.py)
    piped = run_provscan("knowledge", "status", unset=("LINES", "COLUMNS")).stdout.splitlines()
    assert f"Verification:        {status['summary']}" in piped


# -- diff: a change a line, CVE ids whole --------------------------------------------------

CVES = ["CVE-2021-33044", "CVE-2022-30563", "CVE-2025-31700", "CVE-2025-31701"]


def _scan(scan_id: str) -> ScanSummary:
    return ScanSummary(
        id=scan_id,
        kind="active",
        site=None,
        targets=("127.77.0.0/16",),
        started_at=datetime(2026, 12, 6, 3, 48, tzinfo=UTC),
        finished_at=None,
        devices=2,
        restricted=1,
        complete=True,
        coverage=(("127.77.0.0", "127.77.255.255"),),
    )


def _diff() -> ScanDiff:
    device = {"device_id": "dev-c38a593f0b68", "ip": "127.77.3.10"}
    return ScanDiff(
        old=_scan("23f9f6d1-11a7-49ef-8d2e-bdaf1f28bf37"),
        new=_scan("8b0c6f3e-52d1-4d7a-9e0b-31c6a2f4d5e9"),
        added=(
            {
                "device_id": "dev-5e1f0a9b7c21",
                "ip": "127.77.2.12",
                "manufacturer": "Hikvision",
                "model": "TVN-1104S-2T",
                "restricted": True,
            },
        ),
        removed=(),
        changed=(
            {
                "device_id": device["device_id"],
                "device": device,
                "changes": {
                    "model": ["DH-IPC-HDW1230T2", None],
                    "firmware": ["V2.800.0000000.25.R build 2022-03-21", None],
                    "vulnerabilities": [[], CVES],
                },
            },
        ),
        not_covered=(),
    )


def _drawn(draw: object, width: int) -> list[str]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, soft_wrap=False)
    draw(console)  # type: ignore[operator]
    return [line.rstrip() for line in buffer.getvalue().splitlines()]


@pytest.mark.parametrize("width", WIDTHS)
def test_diff_keeps_cve_ids_and_scan_ids_whole(width: int) -> None:
    result = _diff()
    lines = _drawn(lambda console: render.diff_table(result, console), width)
    _fits(lines, width)
    tokens = re.split(r"[\s,]+", "\n".join(lines))
    for cve in CVES:
        assert cve in tokens, (cve, lines)
    for scan_id in (result.old.id, result.new.id):
        assert scan_id in tokens
    # one change a line: the model's and the firmware's do not share one
    (model,) = [line for line in lines if "model: DH-IPC-HDW1230T2 -> none" in line]
    assert "firmware" not in model and "vulnerabilities" not in model
    assert "TVN-1104S-2T" in tokens and "127.77.3.10" in tokens


# -- inventory: a maker and its brand on one line ------------------------------------------


def _device(
    number: int, maker: str, brand: str | None, model: str, status: str = "present"
) -> InventoryDevice:
    moment = datetime(2026, 12, 6, tzinfo=UTC)
    return InventoryDevice(
        device_id=f"dev-{number:012x}",
        site=None,
        status=status,
        first_seen=moment,
        last_seen=moment,
        last_scan_id="23f9f6d1-11a7-49ef-8d2e-bdaf1f28bf37",
        missed=0,
        match_rule="ip",
        ip=f"127.77.{number // 100}.{number % 100}",
        mac=None,
        hostname=None,
        manufacturer=maker,
        brand=brand,
        family=None,
        model=model,
        firmware=None,
        serial=None,
        device_type=None,
        confidence=0.9,
        restricted=True,
        verdict="restricted",
        findings=(),
        case=CaseBrief(id=number, status="open", due="2999-01-01", subject="restricted-maker"),
        open_cases=1,
    )


INVENTORY = [
    _device(1210, "Hikvision", None, "DS-2CD2386G2-IU"),
    _device(1218, "Hikvision", "HiWatch", "HWN-2104MH-4P(C)"),
    _device(1212, "Hikvision", "Interlogix", "TVN-1104S-2T"),
    _device(1520, "Uniview", None, "IPC2124LB-SF28KM-G"),
]


@pytest.mark.parametrize("width", WIDTHS)
def test_inventory_keeps_a_maker_and_its_brand_on_one_line(width: int) -> None:
    lines = _drawn(lambda console: render.inventory_table(INVENTORY, console), width)
    _fits(lines, width)
    for device in INVENTORY:
        (row,) = [line for line in lines if device.ip in line.split()]
        maker = f"{device.manufacturer} / {device.brand}" if device.brand else device.manufacturer
        assert f"  {maker}  " in f"{row}  ", (maker, lines)
        assert device.model in row.split() and f"#{device.case.id}" in row.split()  # type: ignore[union-attr]
    # what gave way is said: the status every device shares (counted on the first line)
    assert lines[0] == "4 devices (4 present): 4 restricted, 0 to review, 0 unknown, 0 clear"
    assert "status left out" in lines[-1]


def test_inventory_with_mixed_statuses_keeps_them_and_words_whole() -> None:
    """When the status column says something it stays; makers then wrap only between words."""
    devices = [
        *INVENTORY,
        replace(_device(1216, "Hikvision", "Interlogix", "TVB-5401"), status="missing"),
    ]
    lines = _drawn(lambda console: render.inventory_table(devices, console), 80)
    _fits(lines, 80)
    assert lines[0].startswith("5 devices (4 present, 1 missing)")
    assert "missing" in _words(lines).split() and "Interlogix" in _words(lines).split()
    for device in devices:
        (row,) = [line for line in lines if device.ip in line.split()]
        assert device.model in row.split()


def test_a_maker_that_must_wrap_takes_two_lines_and_the_shared_status_goes_first() -> None:
    """A municipal analyst found "Hanwha" / "Vision /" / "Samsung" on three lines at 80
    columns while a column saying "present" on every row kept its room."""
    devices = [
        *INVENTORY,
        _device(1511, "Hanwha Vision", "Samsung Techwin", "XNV-8080R"),
        _device(1219, "Hikvision", "Interlogix", "TruVision TVN-2216S-4T"),
    ]
    lines = _drawn(lambda console: render.inventory_table(devices, console), 80)
    _fits(lines, 80)
    header = lines[1].split()
    assert "Status" not in header and "Maker" in header
    assert "status" in lines[-1] and "left out" in lines[-1]
    for device in devices:
        (at,) = [i for i, line in enumerate(lines) if device.ip in line.split()]
        maker_lines = [
            lines[at],
            *itertools.takewhile(lambda line: line[:1] == " ", lines[at + 1 :]),
        ]
        assert len(maker_lines) <= 2, maker_lines
    words = _words(lines).split()
    assert {"Hanwha", "Vision", "Samsung", "Techwin", "Interlogix"} <= set(words)


# -- the wrapping itself -------------------------------------------------------------------


def test_wrap_words_never_splits_a_word() -> None:
    long_path = "/var/lib/provscan/knowledge/" + "x" * 70
    text = f"Data directory:      {long_path} (in {long_path}) and CVE-2025-31701, CVE-2022-30563"
    lines = wrap_words(text, 40, indent=21)
    assert lines[0].startswith("Data directory:")
    for word in text.split():
        assert any(word in line.split() for line in lines), word
    assert all(len(line) <= 40 or len(line.split()) == 1 for line in lines)
    assert " ".join(" ".join(lines).split()) == " ".join(text.split())


# -- an unknown device is not "no" ----------------------------------------------------------


def test_an_unknown_device_is_not_shown_as_not_restricted() -> None:
    """Nothing identified it, so nothing cleared it (newcomer review: the inventory and the
    diff said "no" where the scan table said "unknown maker")."""
    unknown = replace(
        _device(1613, "x", None, "-"),
        manufacturer=None,
        restricted=False,
        verdict="unknown",
        case=None,
    )
    clear = replace(
        _device(1520, "Uniview", None, "IPC2124LB-SF28KM-G"), restricted=False, verdict="clear"
    )
    lines = _drawn(lambda console: render.inventory_table([unknown, clear], console), 100)
    (row,) = [line for line in lines if unknown.ip in line.split()]
    assert "unknown" in row.split() and "clear" not in row.split()
    (row,) = [line for line in lines if clear.ip in line.split()]
    assert "clear" in row.split()
    result = replace(
        _diff(),
        added=(
            {
                "device_id": "dev-1",
                "ip": "127.77.6.13",
                "manufacturer": None,
                "model": None,
                "restricted": False,
            },
            {
                "device_id": "dev-2",
                "ip": "127.77.6.14",
                "manufacturer": "Dahua",
                "model": None,
                "restricted": False,
                "verdict": "review",
            },
        ),
    )
    lines = _drawn(lambda console: render.diff_table(result, console), 100)
    (row,) = [line for line in lines if "127.77.6.13" in line.split()]
    assert row.split()[-1] == "unknown"
    (row,) = [line for line in lines if "127.77.6.14" in line.split()]
    assert row.split()[-1] == "review"


def test_the_inventory_headline_counts_each_verdict() -> None:
    # A device to review and an unknown one are counted as such, not as "not restricted"
    devices = [
        INVENTORY[0],
        dataclasses.replace(INVENTORY[1], restricted=False, verdict="review"),
        dataclasses.replace(INVENTORY[2], restricted=False, manufacturer=None, verdict="unknown"),
        dataclasses.replace(INVENTORY[3], restricted=False, verdict="clear"),
    ]
    lines = _drawn(lambda console: render.inventory_table(devices, console), 100)
    assert lines[0] == "4 devices (4 present): 1 restricted, 1 to review, 1 unknown, 1 clear"


def test_every_site_table_has_the_same_columns() -> None:
    """A sensor review found one site's table with Last seen and the next without: the
    layout is chosen on all the devices, so every site shows the same columns."""
    wide = replace(_device(1212, "Hikvision", "Interlogix", "TVN-1104S-2T"), site="ottawa")
    short = [replace(_device(1500 + n, "Axis", None, "P3265"), site="plant") for n in range(3)]
    lines = _drawn(lambda console: render.inventory_table([wide, *short], console), 80)
    _fits(lines, 80)
    headers = [line.split() for line in lines if line.split()[:1] == ["IP"]]
    assert len(headers) == 2 and headers[0] == headers[1], lines
