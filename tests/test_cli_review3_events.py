"""`provscan events list` at 80 and 100 columns, on a store filled from a real capture.

A third newcomer review found its boxed table overflowing and cutting at 80 columns
("device.restr…", "DS-2CD2386G2…"). It is laid out like the other lists now: no borders,
the time of each run of events on its own line, kinds, addresses and models whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_provscan

CAPTURE = Path(__file__).parent / "pcap" / "fixtures" / "lab_scan.pcap.gz"


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A store with the capture's events pending, and a config with one file sink."""
    folder = tmp_path_factory.mktemp("events")
    config = folder / "config.toml"
    config.write_text(
        f'[[alerts.file]]\nname = "shipper"\npath = "{folder / "events.jsonl"}"\n',
        encoding="utf-8",
    )
    empty = folder / "empty.toml"
    empty.write_text("# no sinks while storing: every event stays pending\n", encoding="utf-8")
    db = folder / "store.db"
    stored = run_provscan(
        "pcap",
        str(CAPTURE),
        "--db",
        str(db),
        "-f",
        "json",
        "-o",
        str(folder / "scan.json"),
        env={"PROVSCAN_CONFIG": str(empty)},
    )
    assert stored.returncode == 0, stored.stderr
    return config, db


@pytest.mark.parametrize("width", [80, 100])
def test_events_list_fits_and_keeps_kinds_addresses_and_models_whole(
    outbox: tuple[Path, Path], width: int
) -> None:
    config, db = outbox
    env = {"PROVSCAN_CONFIG": str(config)}
    listed = run_provscan("events", "list", "--db", str(db), "-f", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    events = json.loads(listed.stdout)["sinks"]["shipper"]
    assert {"device.restricted", "case.opened"} <= {e["kind"] for e in events}
    assert max(len(e["device"]["model"] or "") for e in events) >= 16

    result = run_provscan("events", "list", "--db", str(db), width=width, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"shipper: {len(events)} pending"
    assert not [line for line in lines if len(line) > width]
    assert not [line for line in lines if line != line.rstrip()]  # piped: no trailing spaces
    assert not any(mark in result.stdout for mark in "┏┃│━─…")
    header = next(line for line in lines if line.split()[:1] == ["Id"])
    assert header.split() == ["Id", "Kind", "IP", "Device", "Case"]
    for event in events:
        index = next(i for i, line in enumerate(lines) if line.split()[:1] == [str(event["id"])])
        cells = lines[index].split()
        assert cells[1] == event["kind"] and cells[2] == event["device"]["ip"]
        model = event["device"]["model"]
        if model:
            # whole, on the row or on the line under it
            assert model in lines[index] or lines[index + 1].strip() == model, lines[index]
        case = event.get("case")
        assert (f"#{case['id']}" in cells) if case else cells[-1] == "-"
    # the time of the events is said once per run of events, not in every row
    assert sum(line.endswith(" UTC") for line in lines) < len(events)
