"""Captures against the inventory, as an analyst uses them: a capture holding only the TCP
resets of restricted devices neither unmakes them nor counts as a sighting of them (an
address that only refused has no identity: no device; inventory, report headline, diff),
and a capture is timed by its packets, so last month's capture reopens no case a person closed
since. Real captures (the lab fixture, and captures cut from it with dpkt), real SQLite
stores, the commands as a user runs them."""

from __future__ import annotations

import gzip
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dpkt
from helpers import run_provscan

FIXTURE = Path(__file__).parent / "fixtures" / "lab_scan.pcap.gz"
ENV = {"PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"}


def _ok(*args: str) -> str:
    result = run_provscan(*args, env=ENV, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _frames() -> tuple[int, list[tuple[float, bytes]]]:
    with gzip.open(FIXTURE, "rb") as handle:
        reader = dpkt.pcap.Reader(handle)
        return reader.datalink(), [(stamp, bytes(frame)) for stamp, frame in reader]


def _resets_from(frame: bytes, sources: set[str]) -> bool:
    """Whether ``frame`` (Ethernet, as tcpdump -i lo writes it) is a TCP reset from one of
    ``sources``: what ``tshark -Y "tcp.flags.reset==1"`` keeps."""
    packet = dpkt.ethernet.Ethernet(frame).data
    if not isinstance(packet, dpkt.ip.IP) or not isinstance(packet.data, dpkt.tcp.TCP):
        return False
    source = ".".join(str(octet) for octet in packet.src)
    return source in sources and bool(packet.data.flags & dpkt.tcp.TH_RST)


def _write(path: Path, linktype: int, frames: list[tuple[float, bytes]]) -> Path:
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle, linktype=linktype)
        for stamp, frame in frames:
            writer.writepkt(frame, ts=stamp)
    return path


def _inventory(db: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(_ok("inventory", "--db", db, "-f", "json"))
    return document


def _scans(db: str) -> list[dict[str, Any]]:
    scans: list[dict[str, Any]] = json.loads(_ok("scans", "--db", db, "--all", "-f", "json"))[
        "scans"
    ]
    return scans


def _remaining_headline(db: str, out: Path) -> int:
    _ok("report", "--db", db, "--site", "lab", "-o", str(out))
    found = re.search(r"(\d+) restricted devices? remains?", out.read_text(encoding="utf-8"))
    assert found, out.read_text(encoding="utf-8")[:2000]
    return int(found.group(1))


def _lab_store(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    db = str(tmp_path / "store.db")
    _ok("pcap", str(FIXTURE), "--db", db, "--site", "lab")
    return db, _inventory(db)


def test_a_capture_of_resets_keeps_the_restricted_devices_it_cannot_identify(
    tmp_path: Path,
) -> None:
    # Given a store where the recorded lab capture identified restricted devices
    db, before = _lab_store(tmp_path)
    restricted = {d["ip"]: d for d in before["devices"] if d["verdict"] == "restricted"}
    assert before["inventory"]["restricted"] == len(restricted) > 10
    headline = _remaining_headline(db, tmp_path / "before.md")
    assert headline == before["inventory"]["remaining"] == len(restricted)
    # and a capture, an hour later, holding only the TCP resets some of them sent
    linktype, frames = _frames()
    resets = [
        (stamp + 3600, frame) for stamp, frame in frames if _resets_from(frame, set(restricted))
    ]
    senders = {".".join(map(str, dpkt.ethernet.Ethernet(f).data.src)) for _, f in resets}
    assert len(senders) >= 4, senders
    capture = _write(tmp_path / "resets.pcap", linktype, resets)

    # When it is analysed into the same store
    output = tmp_path / "resets.json"
    _ok("pcap", str(capture), "--db", db, "--site", "lab", "-f", "json", "-o", str(output))

    # Then the capture's scan has no device: an address that only refused connections has
    # no identity; its notes count them
    newest = _scans(db)[0]
    assert [Path(target).name for target in newest["targets"]] == ["resets.pcap"]
    assert newest["restricted"] == 0
    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["scan"]["id"] == newest["id"]
    assert document["devices"] == []
    assert (
        f"{len(senders)} addresses only refused connections (TCP resets, ICMP unreachable) "
        "and showed nothing of themselves: not devices"
    ) in document["scan"]["notes"]
    # and the inventory is as it was: every restricted device restricted, none of them
    # sighted by the capture (its last sighting, verdict and findings those of the lab scan)
    after = _inventory(db)
    assert after["inventory"]["restricted"] == before["inventory"]["restricted"]
    assert after["inventory"]["remaining"] == before["inventory"]["remaining"]
    now = {d["ip"]: d for d in after["devices"]}
    for ip in senders:
        device, was = now[ip], restricted[ip]
        for name in ("last_scan_id", "last_seen", "verdict", "restricted", "confidence"):
            assert device[name] == was[name], (ip, name)
        assert device["findings"] == was["findings"]
    # and the report's headline counts them still
    assert _remaining_headline(db, tmp_path / "after.md") == headline

    # and diff shows nothing changed, nothing removed: a capture covers no address range
    old_id = next(s["id"] for s in _scans(db) if s["id"] != newest["id"])
    result = run_provscan(
        "diff",
        old_id,
        newest["id"],
        "--db",
        db,
        "-f",
        "json",
        "--fail-on-new-restricted",
        env=ENV,
    )
    assert result.returncode == 0, result.stderr
    difference = json.loads(result.stdout)
    assert difference["changed"] == [] and difference["removed"] == []
    assert difference["added"] == [] and difference["not_read"] == []
    table = _ok("diff", old_id, newest["id"], "--db", db)
    assert "0 changed" in table


def test_a_capture_is_timed_by_its_packets(tmp_path: Path) -> None:
    db = str(tmp_path / "store.db")
    linktype, frames = _frames()
    first, last = min(s for s, _ in frames), max(s for s, _ in frames)
    # the lab fixture, and the same packets a month earlier
    month = timedelta(days=30).total_seconds()
    older = _write(tmp_path / "old.pcap", linktype, [(s - month, f) for s, f in frames])
    for capture in (FIXTURE, older):
        _ok("pcap", str(capture), "--db", db, "--site", "lab")
    by_target = {Path(s["targets"][0]).name: s for s in _scans(db)}
    for name, shift in ((FIXTURE.name, 0.0), ("old.pcap", month)):
        scan = by_target[name]
        started = datetime.fromisoformat(scan["started_at"])
        finished = datetime.fromisoformat(scan["finished_at"])
        # from its first packet to, at the latest, its last one (the last a host said
        # something new in: repeats are counted, not timed)
        assert started == datetime.fromtimestamp(first - shift, UTC)
        assert started <= finished <= datetime.fromtimestamp(last - shift, UTC)
        assert finished > started + timedelta(seconds=1)
    # the newest scan is the newest capture, whichever was analysed last
    assert Path(_scans(db)[0]["targets"][0]).name == FIXTURE.name

    # An empty capture, and one whose packets carry no clock (zero timestamps), are timed by
    # their analysis, as before
    empty = _write(tmp_path / "empty.pcap", linktype, [])
    clockless = _write(tmp_path / "zero.pcap", linktype, [(0.0, f) for _, f in frames[:400]])
    for capture in (empty, clockless):
        before = datetime.now(UTC)
        _ok("pcap", str(capture), "--db", db, "--site", "lab")
        scan = next(s for s in _scans(db) if s["targets"][0].endswith(capture.name))
        started = datetime.fromisoformat(scan["started_at"])
        assert before - timedelta(seconds=5) <= started <= datetime.now(UTC), capture.name


def _case_of(db: str, ip: str) -> dict[str, Any]:
    device = next(d for d in _inventory(db)["devices"] if d["ip"] == ip)
    case_id = device["case"]["id"]
    shown: dict[str, Any] = json.loads(_ok("cases", "show", str(case_id), "--db", db, "-f", "json"))
    return shown


def test_an_older_capture_reopens_no_case_removed_since(tmp_path: Path) -> None:
    # Given a restricted device's case a person marked removed
    db, before = _lab_store(tmp_path)
    ip = next(d["ip"] for d in before["devices"] if d["verdict"] == "restricted")
    case = _case_of(db, ip)
    _ok("cases", "update", str(case["id"]), "--status", "removed", "--db", db)
    linktype, frames = _frames()
    # When a capture of the device taken a month ago is analysed now
    month = timedelta(days=30).total_seconds()
    older = _write(tmp_path / "old.pcap", linktype, [(s - month, f) for s, f in frames])
    _ok("pcap", str(older), "--db", db, "--site", "lab")
    # Then the case stays removed: the device was there then, not since
    case = _case_of(db, ip)
    assert case["status"] == "removed"
    assert [entry["action"] for entry in case["history"]] == ["opened", "updated"]

    # A capture of the same packets the analysis saw come after the removal reopens it
    removed_at = datetime.fromisoformat(case["history"][-1]["at"]).timestamp()
    time.sleep(0.01)
    start = min(s for s, _ in frames)
    later = _write(
        tmp_path / "later.pcap",
        linktype,
        [(s - start + removed_at + 1, f) for s, f in frames],
    )
    _ok("pcap", str(later), "--db", db, "--site", "lab")
    case = _case_of(db, ip)
    assert case["status"] == "open"
    assert case["history"][-1]["action"] == "reopened"
    assert case["history"][-1]["changes"] == {"status": ["removed", "open"]}
