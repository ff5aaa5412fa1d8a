"""TCP reassembly: order, overlaps, holes and the memory bounds of the flow table."""

from __future__ import annotations

import io

from pcap_builders import (
    CLIENT,
    REPLY,
    SERVER,
    SYN,
    http_conversation,
    identify_with,
    pcap_bytes,
    split,
    tcp,
)

from provscan.knowledge import load_knowledge
from provscan.model import AttemptStatus, Device
from provscan.passive import CaptureAnalyser, PassiveLimits
from provscan.passive.reassembly import Direction, FlowTable


def server_of(frames: list[bytes], limits: PassiveLimits | None = None) -> Device:
    knowledge = load_knowledge()
    analyser = CaptureAnalyser(knowledge, limits=limits)
    analyser.feed("t", io.BytesIO(pcap_bytes(frames)))
    result = analyser.result(identify_with(knowledge))
    return next(device for device in result.devices if device.ip == SERVER)


def fields(device: Device) -> set[tuple[str, str]]:
    return {(e.observed_field, e.observed) for e in device.evidence}


def test_in_order_segments_are_reassembled() -> None:
    device = server_of(http_conversation(split(REPLY, 17)))
    assert ("http.server", "DNVRS-Webs") in fields(device)
    assert device.manufacturer == "Hikvision"
    assert device.open_ports == (80,)


def test_out_of_order_segments_are_put_back_in_order() -> None:
    pieces = split(REPLY, 23)
    shuffled = [pieces[2], pieces[0], pieces[4], pieces[1], *pieces[5:], pieces[3]]
    device = server_of(http_conversation(shuffled))
    assert ("http.realm", "IP Camera(C2183)") in fields(device)


def test_overlaps_and_retransmissions_keep_the_first_copy() -> None:
    pieces = split(REPLY, 30)
    # a retransmission of the first piece, an overlapping piece with different bytes
    overlapping = (pieces[1][0] + 10, b"X" * 25)
    segments = [pieces[0], pieces[0], pieces[1], overlapping, *pieces[2:]]
    device = server_of(http_conversation(segments))
    assert ("http.server", "DNVRS-Webs") in fields(device)
    assert not any("X" * 5 in e.observed for e in device.evidence)


def test_a_hole_that_never_fills_is_reported_not_guessed() -> None:
    pieces = split(REPLY, 40)
    device = server_of(http_conversation([pieces[0], *pieces[2:]]))  # piece 1 never seen
    attempt = next(a for a in device.attempts if a.port == 80)
    assert attempt.status in (AttemptStatus.TRUNCATED, AttemptStatus.MALFORMED, AttemptStatus.OK)
    assert "hole" in attempt.error or attempt.status is AttemptStatus.MALFORMED


def test_direction_caps_bytes_and_pending_segments() -> None:
    direction = Direction(cap=100)
    direction.syn(0)
    direction.add(1, b"a" * 60, 1, 0.0, False)
    direction.add(61, b"b" * 60, 2, 0.0, False)
    assert direction.size == 100 and direction.done
    ahead = Direction(cap=100)
    ahead.syn(0)
    ahead.add(5000, b"z" * 10, 1, 0.0, False)  # far beyond the cap: a hole, not a buffer
    assert ahead.gap and ahead.done and ahead.pending_bytes == 0


def test_the_flow_table_stays_within_its_bounds() -> None:
    # Given 500 half-open conversations and a table of 50 flows / 4 KiB
    completed = []
    table = FlowTable(
        completed.append, max_flows=50, per_direction_cap=1024, total_byte_budget=4096
    )
    for index in range(500):
        port = 10000 + index
        table.segment(CLIENT, port, SERVER, 80, 1, SYN, b"", index, 0.0)
        table.segment(CLIENT, port, SERVER, 80, 2, 0x18, b"GET / HTTP/1.1\r\n" * 8, index, 0.0)
        assert len(table) <= 50
        assert table.buffered <= 4096 + 1024
    # Then old flows were completed (analysed), not lost
    assert table.evicted > 0
    table.flush()
    assert len(completed) == 500 and len(table) == 0 and table.buffered == 0


def test_a_small_flow_table_still_finds_the_device() -> None:
    limits = PassiveLimits(max_flows=1, per_direction_cap=64, total_byte_budget=128)
    frames = [tcp(CLIENT, SERVER, 50000 + i, 81, 1, SYN) for i in range(20)]
    device = server_of([*frames, *http_conversation(split(REPLY, 50))], limits)
    assert device.manufacturer == "Hikvision"
