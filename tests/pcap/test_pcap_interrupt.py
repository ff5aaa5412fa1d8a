"""A Ctrl-C during ``provscan pcap`` says where the reading stopped, and no more than that.

A newcomer's ``timeout -s INT 3 provscan pcap big.pcap`` (4% of a 320 MB capture read) was
told "stopped on request after reading 1 of 1 captures", and "2 of 3" when the second was
read in part; a ``--since 1d`` window was said to count back from "the last packet" when
the search for it had been stopped. Now the line and the stored scan's notes name the
capture, the packets read from it and the share of its bytes.

The child is a real ``python -m provscan pcap`` on real capture files. The moment of the
Ctrl-C is made certain, not guessed: the test watches the child's file position in /proc
and signals once it is inside the capture it means; the search for the last packet reads
a named pipe the test feeds, so it is still reading when the Ctrl-C comes.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from provscan.store.db import open_store

FIXTURES = Path(__file__).parent / "fixtures"
#: The lab scan's capture, decompressed: its pcap header, then its records.
_LAB = gzip.decompress((FIXTURES / "lab_scan.pcap.gz").read_bytes())
_HEADER, _RECORDS = _LAB[:24], _LAB[24:]
#: Copies of the lab's records in the large capture: ~27 MB, seconds of reading, one process.
_COPIES = 10
_LINE = re.compile(r"^provscan: interrupted (?P<where>.*); the result is marked incomplete$", re.M)


def _record_ends(records: bytes) -> list[int]:
    """The offset (in the file, header included) at which each record ends."""
    ends, at = [], 0
    while at < len(records):
        (caplen,) = struct.unpack_from("<I", records, at + 8)
        at += 16 + caplen
        ends.append(24 + at)
    return ends


_ENDS = _record_ends(_RECORDS)


def _large_capture(path: Path) -> Path:
    path.write_bytes(_HEADER + _RECORDS * _COPIES)
    return path


def _bytes_before(packets: int) -> int:
    """The file's bytes up to the end of its ``packets``th record."""
    copies, within = divmod(packets, len(_ENDS))
    return copies * len(_RECORDS) + (_ENDS[within - 1] if within else 24)


def _provscan(directory: Path, *args: str) -> subprocess.Popen[str]:
    """``provscan pcap ARGS`` run in ``directory`` (the captures named as a user would)."""
    return subprocess.Popen(
        [sys.executable, "-m", "provscan", "pcap", *args],
        cwd=directory,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128",
            "PROVSCAN_PASSIVE_WORKERS": "1",
            "COLUMNS": "200",
            "NO_COLOR": "1",
        },
    )


def _position(pid: int, path: Path) -> int | None:
    """The child's file position in ``path`` (None while it does not hold it open)."""
    target = str(path.resolve())
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for descriptor in descriptors:
        try:
            if os.readlink(f"/proc/{pid}/fd/{descriptor}") != target:
                continue
            info = Path(f"/proc/{pid}/fdinfo/{descriptor}").read_text()
        except OSError:
            continue
        found = re.search(r"^pos:\s*(\d+)", info, re.M)
        if found:
            return int(found.group(1))
    return None


def _interrupt_inside(process: subprocess.Popen[str], path: Path) -> None:
    """Ctrl-C once the child has read the first megabyte of ``path`` (of ~27: the rest is
    seconds of work away), then wait for it."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        position = _position(process.pid, path)
        if position is not None and position >= 1024 * 1024:
            process.send_signal(signal.SIGINT)
            return
        time.sleep(0.01)
    process.kill()
    pytest.fail("the child never read the capture")


def _open_for_writing(pipe: Path, process: subprocess.Popen[str]) -> int:
    """The named pipe's writing end, once the child has opened it to read."""
    deadline = time.monotonic() + 180
    while True:
        try:
            writer = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # (ENXIO: nobody reads it yet)
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the child never opened the pipe"
            time.sleep(0.02)
            continue
        os.set_blocking(writer, True)
        return writer


def _finish(process: subprocess.Popen[str]) -> str:
    try:
        _, stderr = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    return stderr


def _share(packets: int, size: int) -> set[int]:
    """The percentages the line may give after ``packets``: the last record read is counted
    as read or not, depending on how it lay in the read buffer."""
    return {_bytes_before(n) * 100 // size for n in (packets - 1, packets)}


def test_a_stop_inside_a_capture_names_it_with_the_packets_and_share_read(
    tmp_path: Path,
) -> None:
    # Given a large capture analysed into a report and a store
    capture = _large_capture(tmp_path / "big.pcap")
    size = capture.stat().st_size
    report, database = tmp_path / "out.json", tmp_path / "x.db"
    process = _provscan(
        tmp_path, "big.pcap", "-f", "json", "-o", str(report), "--db", str(database)
    )
    # When Ctrl-C comes while it is read
    _interrupt_inside(process, capture)
    stderr = _finish(process)
    # Then the line names the capture, the packets read and the share of its bytes
    line = _LINE.search(stderr)
    assert line is not None, stderr
    where = re.fullmatch(
        r"in capture 1 of 1 \(big\.pcap\) after (?P<packets>[\d,]+) packets "
        r"\((?P<share>\d+)% of its bytes\)",
        line.group("where"),
    )
    assert where is not None, line.group("where")
    packets = int(where.group("packets").replace(",", ""))
    assert 0 < packets < len(_ENDS) * _COPIES
    assert packets % 8192 == 0  # (a stop is seen where progress is reported)
    assert int(where.group("share")) in _share(packets, size)
    assert int(where.group("share")) < 100
    # And the report and the stored scan carry the same fact, and the packets read
    document = json.loads(report.read_text())
    note = f"interrupted: stopped on request {line.group('where')}"
    assert document["scan"]["complete"] is False
    assert note in document["scan"]["notes"]
    assert f"big.pcap: packets 1-{packets}, then stopped on request" in document["scan"]["notes"]
    with open_store(f"sqlite:///{database}") as store:
        (stored,) = store.list_scans()
        assert note in store.load(stored.id).scan.notes


def test_a_stop_in_the_second_of_three_captures_says_so(tmp_path: Path) -> None:
    # Given three captures, the second one large
    first, third = tmp_path / "a.pcap", tmp_path / "c.pcap"
    first.write_bytes(_LAB)
    third.write_bytes(_LAB)
    capture = _large_capture(tmp_path / "b.pcap")
    report = tmp_path / "out.json"
    process = _provscan(
        tmp_path, "a.pcap", "b.pcap", "c.pcap", "--no-db", "-f", "json", "-o", str(report)
    )
    # When Ctrl-C comes while the second one is read
    _interrupt_inside(process, capture)
    stderr = _finish(process)
    # Then the line says the second was read in part and the third not at all
    line = _LINE.search(stderr)
    assert line is not None, stderr
    where = re.fullmatch(
        r"in capture 2 of 3 \(b\.pcap\) after (?P<packets>[\d,]+) packets "
        r"\((?P<share>\d+)% of its bytes\); 1 later capture not read",
        line.group("where"),
    )
    assert where is not None, line.group("where")
    packets = int(where.group("packets").replace(",", ""))
    assert int(where.group("share")) in _share(packets, capture.stat().st_size)
    # And the report counts the second capture's packets from its own first one
    notes = json.loads(report.read_text())["scan"]["notes"]
    first_count = len(_ENDS)
    assert f"a.pcap: packets 1-{first_count}" in notes
    assert (
        f"b.pcap: packets {first_count + 1}-{first_count + packets}, then stopped on request"
        in notes
    )
    assert not any("c.pcap" in note for note in notes)


def test_a_stop_while_the_last_packet_is_searched_says_the_window_counts_from_a_read_one(
    tmp_path: Path,
) -> None:
    # Given a capture read through a named pipe (so the test decides how much there is) and a
    # window that counts back from the captures' last packet
    pipe = tmp_path / "live.pcap"
    os.mkfifo(pipe)
    report = tmp_path / "out.json"
    process = _provscan(
        tmp_path, "live.pcap", "--since", "1d", "--no-db", "-f", "json", "-o", str(report)
    )
    writer = _open_for_writing(pipe, process)
    try:
        # When it has read ~95,000 records (one look at a stop request, after 65,536: all but
        # the last megabyte or so is read once the pipe took them) and Ctrl-C comes while it
        # waits for more
        with os.fdopen(writer, "wb", closefd=False) as stream:
            stream.write(_HEADER + _RECORDS * 5)
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)

        def more() -> None:  # past the next look (131,072 records)
            try:
                with os.fdopen(writer, "wb", closefd=False) as stream:
                    stream.write(_RECORDS * 5)
            except BrokenPipeError:
                pass  # it stopped reading: what it was to do

        feeder = threading.Thread(target=more, daemon=True)
        feeder.start()
        stderr = _finish(process)
        feeder.join(timeout=30)
    finally:
        os.close(writer)
    # Then the line says the search was stopped, where, and that nothing was analysed
    line = _LINE.search(stderr)
    assert line is not None, stderr
    assert line.group("where") == (
        "while reading the captures once to find their last packet (--since/--until count "
        "back from it), in capture 1 of 1 (live.pcap) after 131,072 packets; "
        "no packet was analysed"
    )
    # And the window is said to count back from the last packet read, not the captures' last
    notes = json.loads(report.read_text())["scan"]["notes"]
    (window,) = [note for note in notes if note.startswith("time window")]
    assert "(1d before the last packet read; a stop request ended the search" in window
    assert f"interrupted: stopped on request {line.group('where')}" in notes


def test_a_capture_cut_short_may_be_given_again_to_finish_it(tmp_path: Path) -> None:
    # Given a capture whose analysis was stopped by Ctrl-C, the part read stored
    capture = _large_capture(tmp_path / "big.pcap")
    database = tmp_path / "x.db"
    process = _provscan(tmp_path, "big.pcap", "-q", "-f", "json", "--db", str(database))
    _interrupt_inside(process, capture)
    _finish(process)
    # When it is given again (no --again): it is read whole and stored, not refused as a
    # capture stored before (only captures read to their end are kept as stored)
    again = _provscan(tmp_path, "big.pcap", "-q", "-f", "json", "--db", str(database))
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    with open_store(f"sqlite:///{database}") as store:
        scans = store.list_scans()
    assert len(scans) == 2 and sorted(s.complete for s in scans) == [False, True]
    # And a third time it is refused: that one was read whole
    third = _provscan(tmp_path, "big.pcap", "-q", "-f", "json", "--db", str(database))
    _, stderr = third.communicate(timeout=300)
    assert third.returncode == 2 and "is already stored" in stderr, stderr
