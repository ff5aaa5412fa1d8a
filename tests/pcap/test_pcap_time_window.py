"""`provscan pcap --since/--until`: only the packets captured inside the window are analysed,
as tshark's frame.time filters keep them; the window is recorded in the scan's notes; a bad
value is one line and exit 2. The lab recording (packets over ~5.6 s) and captures cut from
it with dpkt."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dpkt
import pytest
from typer.testing import CliRunner

from provscan.cli import app
from provscan.passive import TimeWindow, WindowError, parse_bound

LAB = Path(__file__).parent / "fixtures" / "lab_scan.pcap.gz"


def _frames() -> tuple[int, list[tuple[float, bytes]]]:
    with gzip.open(LAB, "rb") as handle:
        reader = dpkt.pcap.Reader(handle)
        return reader.datalink(), [(stamp, bytes(frame)) for stamp, frame in reader]


def _write(path: Path, linktype: int, frames: list[tuple[float, bytes]]) -> Path:
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle, linktype=linktype)
        for stamp, frame in frames:
            writer.writepkt(frame, ts=stamp)
    return path


def _json(tmp_path: Path, name: str, *args: str) -> dict[str, Any]:
    output = tmp_path / f"{name}.json"
    result = CliRunner().invoke(
        app, ["pcap", *args, "--no-db", "-q", "-f", "json", "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    return document


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _identities(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What each device is, without where its packets were (their numbers differ between a
    window over the whole capture and a capture cut to it)."""
    return [
        (d["ip"], d["open_ports"], d["manufacturer"], d["model"], d["verdict"])
        for d in document["devices"]
    ]


def _window_note(document: dict[str, Any]) -> str:
    (note,) = [n for n in document["scan"]["notes"] if n.startswith("time window")]
    return str(note)


def test_a_window_analyses_what_tshark_would_keep_and_records_itself(tmp_path: Path) -> None:
    linktype, frames = _frames()
    first, last = frames[0][0], max(stamp for stamp, _ in frames)
    assert last - first > 5  # the recording's packets span time
    # (whole half seconds: exact in binary, so the test and the command draw the same line)
    since, until = int(first) + 1.5, int(first) + 3.5
    inside = [(s, f) for s, f in frames if since <= s < until]
    assert 0 < len(inside) < len(frames)

    # When the capture is analysed with a window, and the packets inside it cut out by dpkt
    # (tshark -Y 'frame.time >= SINCE && frame.time < UNTIL') are analysed whole
    windowed = _json(tmp_path, "windowed", str(LAB), "--since", _iso(since), "--until", _iso(until))
    cut = _json(tmp_path, "cut", str(_write(tmp_path / "cut.pcap", linktype, inside)))

    # Then both find the same devices, and fewer than the whole capture
    assert _identities(windowed) == _identities(cut)
    whole = _json(tmp_path, "whole", str(LAB))
    assert len(windowed["devices"]) < len(whole["devices"])
    # and the scan is timed by the packets inside, and says what was analysed
    started = datetime.fromisoformat(windowed["scan"]["started_at"]).timestamp()
    finished = datetime.fromisoformat(windowed["scan"]["finished_at"]).timestamp()
    assert since <= started <= finished < until
    moment = "%Y-%m-%dT%H:%M:%S.%fZ"
    assert _window_note(windowed) == (
        f"time window (--since/--until) from {datetime.fromtimestamp(since, UTC):{moment}} "
        f"to {datetime.fromtimestamp(until, UTC):{moment}}: {len(inside)} of {len(frames)} "
        "packets inside it analysed, the others skipped"
    )
    # and a packet keeps its number in the capture: packet N at the time frame N was captured
    details = [e["detail"] for d in windowed["devices"] for e in d["evidence"] if e["detail"]]
    numbered = [re.match(r"packet (\d+) at (\S+Z)", detail) for detail in details]
    assert any(numbered)
    for match in filter(None, numbered):
        stamp = frames[int(match.group(1)) - 1][0]
        assert since <= stamp < until
        assert match.group(2).startswith(_iso(stamp)[:19])


def test_a_duration_counts_back_from_the_last_packet(tmp_path: Path) -> None:
    _linktype, frames = _frames()
    last = max(stamp for stamp, _ in frames)
    document = _json(tmp_path, "last2s", str(LAB), "--since", "2s")
    inside = sum(1 for stamp, _ in frames if stamp >= last - 2)
    note = _window_note(document)
    assert "(2s before the last packet) to the last packet" in note
    assert f"{inside} of {len(frames)} packets inside it analysed" in note
    started = datetime.fromisoformat(document["scan"]["started_at"]).timestamp()
    assert started >= last - 2
    # --until a duration: the packets before it, the same window as the ISO time it names
    before = _json(tmp_path, "until", str(LAB), "--until", "3s")
    same = _json(tmp_path, "until-iso", str(LAB), "--until", _iso(last - 3))
    assert _identities(before) == _identities(same)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "--since: 'yesterday' is neither an ISO 8601 date/time"),
        (["--until", "2026-13-01"], "--until: '2026-13-01' is neither an ISO 8601 date/time"),
        (["--since", "2h5"], "--since: '2h5' is neither"),
        (
            ["--since", "2026-12-06T11:00:00Z", "--until", "2026-12-06T10:00:00Z"],
            "--since must come before --until",
        ),
        (["--since", "1h", "--until", "2h"], "--since must come before --until"),
    ],
)
def test_a_bad_window_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    output = tmp_path / "out.json"
    completed = subprocess.run(
        [sys.executable, "-m", "provscan", "pcap", str(LAB), "--no-db", "-o", str(output), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.startswith(f"provscan: error: {message}")
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr
    assert not output.exists()


def test_a_duration_needs_files_and_an_empty_window_is_refused(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "provscan", "pcap", "-", "--no-db", "--since", "2h"],
        input=LAB.read_bytes(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.decode().startswith(
        "provscan: error: a duration in --since/--until counts back from the last packet"
    )
    # An ISO time with standard input is fine
    stdin_json = [sys.executable, "-m", "provscan", "pcap", "-", "--no-db", "-q", "-f", "json"]
    completed = subprocess.run(
        [*stdin_json, "--since", "2026-12-06T10:30:05Z"],
        input=LAB.read_bytes(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    assert "time window (--since/--until) from 2026-12-06T10:30:05.000000Z to the last packet" in (
        completed.stdout.decode()
    )
    # A duration and a time that leave nothing between them are refused once resolved
    with pytest.raises(WindowError, match="is not before --until"):
        TimeWindow(parse_bound("1h"), parse_bound("2026-12-06T09:00:00Z")).resolve(
            datetime(2026, 12, 6, 10, 30, tzinfo=UTC).timestamp()
        )


def test_bounds_parse_as_iso_times_or_durations() -> None:
    assert parse_bound("2026-12-06T10:30:00Z") == datetime(2026, 12, 6, 10, 30, tzinfo=UTC)
    # no offset: UTC, as the report writes its times
    assert parse_bound("2026-12-06 10:30") == datetime(2026, 12, 6, 10, 30, tzinfo=UTC)
    assert parse_bound("2026-12-06") == datetime(2026, 12, 6, tzinfo=UTC)
    plus_one = parse_bound("2026-12-06T11:30:00+01:00")
    assert isinstance(plus_one, datetime)
    assert plus_one.astimezone(UTC) == datetime(2026, 12, 6, 10, 30, tzinfo=UTC)
    assert parse_bound("2h") == timedelta(hours=2)
    assert parse_bound("1h30m") == timedelta(minutes=90)
    assert parse_bound("1d") == timedelta(days=1)
    assert parse_bound("0.5s") == timedelta(milliseconds=500)
    for bad in ("", "h", "2 hours", "-2h", "10:00", "1e999999d", "9999999999d"):
        with pytest.raises(ValueError):
            parse_bound(bad)
