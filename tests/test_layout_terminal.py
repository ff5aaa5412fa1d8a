"""Terminal layout of `lab list`, `inventory`, `cases list` and `lookup` at 80 and 100
columns, measured on the real commands (a child process with COLUMNS set, stdout a pipe).

A newcomer's review found `lab list` 969 lines long at 80 columns with addresses and words
broken ("127.77.3." / "10", "restri" / "cted") and "True" for yes; model numbers and CVE ids
broken in `inventory` and `cases list`; and `lookup` lines of ~250 characters.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from helpers import TEST_LIMITS, run_provscan

from provscan.lab.server import Lab, load_devices
from provscan.store.db import open_store
from provscan.store.inventory import coverage_ranges
from provscan.transport.limits import DEFAULT_PORTS

WIDTHS = (80, 100)
#: Long models, a relabel with a two-word brand, a KEV vulnerability (a CVE case).
STORE_LAB_IDS = ("hik-ptz", "truvision-nvr", "dahua-fw-33044-vulnerable", "dahua-nvr")


def _run(width: int, *args: str) -> list[str]:
    result = run_provscan(*args, width=width)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def _fits(lines: list[str], width: int) -> None:
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, too_wide[:3]


def _row(lines: list[str], address: str) -> str:
    """The one line that shows ``address`` as a whole word."""
    (found,) = [line for line in lines if address in line.split()]
    return found


@pytest.mark.parametrize("width", [*WIDTHS, 130])
def test_lab_list_is_a_table_of_whole_values(width: int) -> None:
    devices = load_devices()
    lines = _run(width, "lab", "list")
    _fits(lines, width)
    # a line per device, a title, a header and at most a note: no wrapped rows
    assert len(lines) <= len(devices) + 3
    for device in devices:
        row = _row(lines, device.address)
        assert (device.identity.model or "-") in row
        assert (device.expect.manufacturer or "-") in row
        cells = row.split()
        if device.expect.hostile:
            assert "hostile" in cells
        else:
            assert ("yes" if device.expect.restricted else "no") in cells
    text = "\n".join(lines)
    assert "True" not in text and "False" not in text
    assert ("hik-ptz" in text) is (width >= 100)  # device ids need more than 80 columns


def test_lab_list_verbose_wraps_descriptions_between_words() -> None:
    lines = _run(80, "lab", "list", "--verbose")
    _fits(lines, 80)
    words = " ".join(" ".join(lines).split())
    for device in load_devices():
        assert " ".join(device.description.split()) in words
        assert device.address in _row(lines, device.address).split()


@pytest.fixture(scope="module")
def db(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> str:
    from provscan.pipeline import run_scan
    from provscan.targets import build_targets

    targets = [d.address for d in lab.devices if d.id in STORE_LAB_IDS]
    ports = sorted(set(DEFAULT_PORTS) | {s.port for d in lab.devices for s in d.services})
    result = asyncio.run(run_scan(build_targets(targets), targets, ports, limits=TEST_LIMITS))
    path = tmp_path_factory.mktemp("layout-terminal") / "provscan.db"
    with open_store(f"sqlite:///{path}") as store:
        store.save(result, coverage=coverage_ranges(targets))
    return str(path)


@pytest.mark.parametrize("width", WIDTHS)
def test_inventory_keeps_models_and_addresses_whole(db: str, width: int) -> None:
    lines = _run(width, "inventory", "--db", db)
    _fits(lines, width)
    with open_store(f"sqlite:///{db}") as store:
        devices = store.inventory()
    assert len(devices) == len(STORE_LAB_IDS)
    assert max(len(d.model or "") for d in devices) >= 15
    for device in devices:
        row = _row(lines, device.ip)
        assert (device.model or "-") in row.split()
        assert f"#{device.case.id}" in row.split() if device.case else True
    # "Hikvision / Interlogix" wraps between its words, never inside one
    assert "Interlogix" in "\n".join(lines).split()
    # at 100 columns the last-seen dates take the room the device ids had (they are in -f
    # json); at 80 the dates give way too, before "Hikvision / Interlogix" would wrap
    assert "dev-" not in "\n".join(lines)
    assert ("Last seen" in "\n".join(lines)) is (width >= 100)


@pytest.mark.parametrize("width", WIDTHS)
def test_cases_list_has_the_address_and_whole_cve_ids(db: str, width: int) -> None:
    lines = _run(width, "cases", "list", "--db", db)
    _fits(lines, width)
    header = lines[1].split()
    # the maker (and label brand) takes the device ids' place at 80 and 100 columns
    assert header[:3] == ["Case", "Status", "IP"] and "Maker" in header
    with open_store(f"sqlite:///{db}") as store:
        cases = store.cases()
        places = store.device_places({case.device_id for case in cases})
    assert any(case.subject.startswith("vulnerability:CVE-") for case in cases)
    for case in cases:
        (number,) = [i for i, line in enumerate(lines) if line.split()[:1] == [f"#{case.id}"]]
        row = lines[number]
        # whole, or broken after its kind with the id whole on the next line (so that the
        # Site column keeps its place at 100 columns): never inside the id
        kind, _, ident = case.subject.partition(":")
        following = lines[number + 1].split() if number + 1 < len(lines) else []
        assert case.subject in row.split() or (f"{kind}:" in row.split() and ident in following), (
            row,
            following,
        )
        assert places[case.device_id][0] in row.split()
    # the case number column is as wide as its values, not 11 characters
    assert lines[1].startswith("Case  Status")


@pytest.mark.parametrize("width", WIDTHS)
def test_lookup_wraps_to_the_terminal_with_a_hanging_indent(width: int) -> None:
    lines = _run(width, "lookup", "Hikvision DS-2CD2143G0-I")
    _fits(lines, width)
    assert max(len(line) for line in lines) > width - 12  # it does use the width
    # every wrapped entry continues under its own first character: no line starts back at
    # the entries' indent without a bullet
    indents = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip()]
    for line, indent in zip([line for line in lines if line.strip()], indents, strict=True):
        if indent == 4:
            assert line.startswith("    - "), line
        else:
            assert indent in (0, 2) or indent >= 6, line
    assert indents.count(6) > 5  # continuation lines hang under their entry


def test_lookup_says_everything_it_said_before() -> None:
    """Wrapping only moves text to the next line: the words are those of the JSON (with
    --all, every measure; by default those that bind or may bind, and a count of the rest)."""
    import json

    product = "Hikvision DS-2CD2143G0-I"
    document = json.loads("\n".join(_run(80, "lookup", product, "-f", "json")))
    measures = [" ".join(finding["measure"].split()) for finding in document["findings"]]
    everything = " ".join(" ".join(_run(80, "lookup", product, "--all")).split())
    text = " ".join(" ".join(_run(80, "lookup", product)).split())
    for shown in (everything, text):
        for reason in document["reason"].split("; "):
            assert " ".join(reason.split()) in shown
    assert all(measure in everything for measure in measures)
    binding = [
        " ".join(finding["measure"].split())
        for finding in document["findings"]
        if finding["binding"] is not False and finding["effect"] not in ("advisory", "context")
    ]
    assert binding and all(measure in text for measure in binding)
    assert len(text) < len(everything)


def test_width_is_measured_not_assumed() -> None:
    """At 200 columns nothing is left out of the lab table."""
    lines = _run(200, "lab", "list")
    assert "left out" not in "\n".join(lines)
    assert lines[1].split() == ["Address", "Device", "Maker", "Brand", "Model", "Restr.", "Ports"]


@pytest.mark.parametrize("width", WIDTHS)
def test_cases_list_keeps_makers_whole_and_lets_the_owner_go_first(
    db: str, width: int, tmp_path: Path
) -> None:
    # Given the cases of the lab store, one of a relabel ("Hikvision / Interlogix"), and a
    # long owner given to one of them by `cases update`
    copy = tmp_path / "owned.db"
    shutil.copyfile(db, copy)
    with open_store(f"sqlite:///{copy}") as store:
        cases = store.cases()
        devices = store.case_devices({case.device_id for case in cases})
    relabel = next(c for c in cases if devices[c.device_id].brand not in (None, "Hikvision"))
    brand = devices[relabel.device_id].brand
    assert brand and len(brand) >= 10
    owner = "facilities-and-estates-team"
    _run(width, "cases", "update", str(relabel.id), "--owner", owner, "--db", str(copy))

    # When they are listed
    lines = _run(width, "cases", "list", "--db", str(copy))
    _fits(lines, width)
    header = lines[1].split()
    text = "\n".join(lines)
    tokens = text.split()
    # Then every maker is whole on its case's row, and a brand is whole or said left out
    assert "Maker" in header
    for case in cases:
        (row,) = [line for line in lines if line.split()[:1] == [f"#{case.id}"]]
        assert devices[case.device_id].manufacturer in row.split(), row
    assert brand in tokens or "brands left out" in " ".join(tokens)
    # and no maker or brand is folded inside a word ("Interlogi" / "x")
    words = {w for d in devices.values() for w in (d.manufacturer or "", d.brand or "") if w}
    folded = [t for t in tokens for w in words if t != w and len(t) > 1 and w.startswith(t)]
    assert not folded, folded
    # and the owner gives way before a maker would fold: whole or shortened (folded) at 100,
    # left out at 80, where the brands go next and the maker stays (a subject broken after
    # its kind, "vulnerability:" over its CVE id, leaves them more room than before)
    if width == 100:
        assert "Owner" in header and "brands" not in text
        # whole, or folded across lines: its first part on the relabel's row
        (row,) = [line for line in lines if line.split()[:1] == [f"#{relabel.id}"]]
        shown = row.split()[-2]
        assert owner in row.split() or (shown == owner[: len(shown)] and len(shown) >= 5)
    else:
        assert "Owner" not in header
        assert "owner left out" in " ".join(tokens) or "owner and brands left out" in " ".join(
            tokens
        )
