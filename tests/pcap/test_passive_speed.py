"""The second speed pass of passive analysis (issue 14): records read without a copy of
each chunk, flows found by the frame's raw bytes, facts held without a copied observation
and shared between hosts. Each shortcut must keep exactly what the plain way keeps.
"""

from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path

import pytest
from pcap_builders import (
    ACK,
    CLIENT,
    ETH_CLIENT,
    FIN,
    PSH,
    REQUEST,
    SYN,
    identify_with,
    pcap_bytes,
    tcp,
)

from provscan.knowledge import load_knowledge
from provscan.knowledge.loader import load_cloud_endpoints
from provscan.passive import CaptureAnalyser, PassiveLimits, capture
from provscan.passive.capture import CaptureTruncated, read_frames, read_records
from provscan.passive.cloud import CloudMatcher

FIXTURES = Path(__file__).parent / "fixtures"
LAB_CAPTURE = FIXTURES / "lab_scan.pcap.gz"
CRAFTED = FIXTURES / "crafted_signals.pcapng"
LINKTYPE_RAW = 101


def frames_with(data: bytes) -> list[tuple[int, float, int, bytes, int]]:
    return [
        (frame.number, frame.time, frame.linktype, frame.data, frame.wire_length)
        for frame in read_frames(io.BytesIO(data))
    ]


@pytest.mark.parametrize("chunk", [1, 7, 61, 4096])
def test_records_across_read_chunks_are_the_same_frames(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # Given the crafted signals as pcapng, gzip-compressed, and as pcap
    crafted = CRAFTED.read_bytes()
    inputs = [crafted, gzip.compress(crafted), pcap_bytes([f[3] for f in frames_with(crafted)])]
    expected = [frames_with(data) for data in inputs]
    # When they are read in chunks so small that records cross them
    monkeypatch.setattr(capture, "READ_CHUNK", chunk)
    # Then every frame is the same, in the same order, with the same time and lengths
    assert [frames_with(data) for data in inputs] == expected
    assert all(len(frames) == 45 for frames in expected)
    # And read_records yields the same frames as plain tuples
    assert [(linktype, time, data, wire) for _, time, linktype, data, wire in expected[0]] == list(
        read_records(io.BytesIO(inputs[0]))
    )


@pytest.mark.parametrize("chunk", [5, 100, capture.READ_CHUNK])
def test_a_cut_record_across_chunks_is_truncated_after_the_good_frames(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(capture, "READ_CHUNK", chunk)
    frames = [bytes([index]) * 60 for index in range(1, 30)]
    data = pcap_bytes(frames)
    records = read_records(io.BytesIO(data[:-10]))
    got = [next(records)[2] for _ in range(len(frames) - 1)]
    assert got == frames[:-1]
    with pytest.raises(CaptureTruncated):
        next(records)


def analyse(capture_bytes: bytes, limits: PassiveLimits | None = None) -> CaptureAnalyser:
    analyser = CaptureAnalyser(load_knowledge(), limits=limits)
    analyser.feed("capture", io.BytesIO(capture_bytes))
    analyser.flows.flush()
    return analyser


def as_raw_ip(capture_bytes: bytes) -> bytes:
    """The Ethernet/IPv4 frames without their Ethernet header (link type raw), same times."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW)
    for frame in read_frames(io.BytesIO(capture_bytes)):
        if frame.data[12:14] == b"\x08\x00":
            data = frame.data[14:]
            seconds = int(frame.time)
            microseconds = round((frame.time - seconds) * 1e6)
            out += struct.pack("<IIII", seconds, microseconds, len(data), len(data)) + data
    return out


def kept(analyser: CaptureAnalyser) -> dict[str, object]:
    return {
        key: (
            list(record.observations.items()),
            sorted(record.open_ports),
            sorted(
                (probe, port, o.ok, o.problems, o.error)
                for (probe, port), o in record.attempts.items()
            ),
            record.repeated_observations,
        )
        for key, record in analyser.hosts.hosts.items()
        if record.ip is not None
    }


@pytest.mark.parametrize(
    "limits",
    [
        PassiveLimits(max_flows=0),
        PassiveLimits(max_flows=3),
        PassiveLimits(max_flows=64, per_direction_cap=512, total_byte_budget=8192),
    ],
)
def test_flows_found_by_raw_bytes_keep_what_the_general_path_keeps(limits: PassiveLimits) -> None:
    # Given the lab recording, with table bounds so tight that flows are closed early
    # (even as they open, with no room at all)
    lab = gzip.decompress(LAB_CAPTURE.read_bytes())
    # When it is analysed as Ethernet frames (raw-byte index) and as raw IP (general path)
    fast, general = analyse(lab, limits), analyse(as_raw_ip(lab), limits)
    # Then both keep the same facts in the same order, and the same flow counts
    assert kept(fast) == kept(general)
    assert (fast.flows.evicted, fast.flows.gaps, fast.flows.skipped) == (
        general.flows.evicted,
        general.flows.gaps,
        general.flows.skipped,
    )
    # And no flow stays indexed once the table is empty (memory stays bounded)
    assert len(fast.flows) == 0
    assert fast.flows.by_raw == {}


def same_reply_from(servers: list[str], reply: bytes) -> list[bytes]:
    frames: list[bytes] = []
    for index, address in enumerate(servers):
        mac = f"02:00:00:00:01:{index:02x}"
        answer = (address, CLIENT, 80, 40000)
        frames += [
            tcp(CLIENT, address, 40000, 80, 100, SYN, dst_mac=mac),
            tcp(*answer, 900, SYN | ACK, b"", mac, ETH_CLIENT),
            tcp(CLIENT, address, 40000, 80, 101, ACK | PSH, REQUEST, dst_mac=mac),
            tcp(*answer, 901, ACK | PSH, reply, mac, ETH_CLIENT),
            tcp(*answer, 901 + len(reply), ACK | FIN, b"", mac, ETH_CLIENT),
            tcp(CLIENT, address, 40000, 80, 101 + len(REQUEST), ACK | FIN, dst_mac=mac),
        ]
    return frames


def test_a_value_seen_on_many_hosts_is_held_once() -> None:
    # Given three cameras of one model answering with the same headers
    reply = (
        b"HTTP/1.1 401 Unauthorized\r\nServer: App-webs/\r\n"
        b'WWW-Authenticate: Digest realm="IP Camera(C2183)", nonce="abc"\r\n'
        b"Content-Length: 0\r\n\r\n"
    )
    servers = ["10.0.0.64", "10.0.0.65", "10.0.0.66"]
    analyser = analyse(pcap_bytes(same_reply_from(servers, reply)))
    # When their facts are kept
    values = [
        {key[2]: key[3] for key in analyser.hosts.hosts[address].observations}
        for address in servers
    ]
    # Then each host has the facts, and one string object holds the value for all three
    assert all(value["http.server"] == "App-webs/" for value in values)
    assert values[0]["http.server"] is values[1]["http.server"] is values[2]["http.server"]
    # And the devices show them with where each was first seen
    result = analyser.result(identify_with(analyser.knowledge))
    shown = {device.ip: {e.observed_field: e for e in device.evidence} for device in result.devices}
    for address in servers:
        server = shown[address]["http.server"]
        assert server.observed == "App-webs/"
        assert server.detail.startswith("packet ") and server.detail.endswith("GET /")


def test_remembered_cloud_answers_are_the_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoints = load_cloud_endpoints(knowledge=load_knowledge())
    known = [
        name
        for endpoint in endpoints
        for name in (*endpoint.names[:1], *(f"x.{d}" for d in endpoint.domains[:1]))
    ]
    names = [*known[:40], "example.org", "EXAMPLE.org.", ""]
    fresh = [CloudMatcher(endpoints).match(name) for name in names]
    assert any(found is not None for found in fresh)
    monkeypatch.setattr("provscan.passive.cloud.MAX_REMEMBERED_NAMES", 5)
    matcher = CloudMatcher(endpoints)
    # Asked twice each (the second time from memory, or past the bound), the same answers
    assert [matcher.match(name) for name in names] == fresh
    assert [matcher.match(name) for name in names] == fresh


def test_a_damaged_capture_counts_every_frame_read_before_the_damage() -> None:
    # Given a capture of 30 frames cut inside the last one
    frames = [bytes([index]) * 60 for index in range(1, 31)]
    data = pcap_bytes(frames)[:-10]
    # When it is analysed
    analyser = CaptureAnalyser(load_knowledge())
    analyser.feed("cut", io.BytesIO(data))
    # Then the 29 whole frames are counted, with their bytes, and the notes say so
    assert (analyser.stats.packets, analyser.stats.bytes_captured) == (29, 29 * 60)
    assert not analyser.stats.complete
    assert "cut: packets 1-29" in analyser.notes
