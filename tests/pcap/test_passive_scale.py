"""Passive analysis at scale (issue 14, point 2): per-host state stays small and bulk is
skipped unread, without changing what a capture yields."""

from __future__ import annotations

import io
import socket

import dpkt
from pcap_builders import (
    ACK,
    CLIENT,
    ETH_CLIENT,
    ETH_SERVER,
    FIN,
    PSH,
    REPLY,
    REQUEST,
    SERVER,
    SYN,
    http_conversation,
    identify_with,
    pcap_bytes,
    split,
    tcp,
)

from provscan.knowledge import load_knowledge
from provscan.model import Device
from provscan.passive import CaptureAnalyser, PassiveLimits
from provscan.passive.hosts import MAX_OBSERVATIONS_PER_HOST


def analyse(frames: list[bytes], limits: PassiveLimits | None = None) -> CaptureAnalyser:
    analyser = CaptureAnalyser(load_knowledge(), limits=limits)
    analyser.feed("t", io.BytesIO(pcap_bytes(frames)))
    return analyser


def server(analyser: CaptureAnalyser) -> Device:
    result = analyser.result(identify_with(analyser.knowledge))
    return next(device for device in result.devices if device.ip == SERVER)


def conversation(port: int, reply: bytes = REPLY) -> list[bytes]:
    """One HTTP conversation from the client's ``port``: handshake, request, reply, close."""

    def from_server(seq: int, flags: int, payload: bytes = b"") -> bytes:
        return tcp(SERVER, CLIENT, 80, port, seq, flags, payload, ETH_SERVER, ETH_CLIENT)

    return [
        tcp(CLIENT, SERVER, port, 80, 100, SYN),
        from_server(900, SYN | ACK),
        tcp(CLIENT, SERVER, port, 80, 101, ACK | PSH, REQUEST),
        *(from_server(901 + offset, ACK | PSH, piece) for offset, piece in split(reply, 40)),
        from_server(901 + len(reply), ACK | FIN),
        tcp(CLIENT, SERVER, port, 80, 101 + len(REQUEST), ACK | FIN),
    ]


def conversations(count: int) -> list[bytes]:
    """``count`` conversations with the same reply, each from a new client port."""
    return [frame for index in range(count) for frame in conversation(40000 + index)]


def test_a_fact_seen_again_and_again_is_kept_once_and_counted() -> None:
    # Given the same reply seen in 300 conversations
    analyser = analyse(conversations(300))
    record = analyser.hosts.hosts[SERVER]
    # Then each distinct fact is kept once, and the repeats are only counted
    kept = len(record.observations)
    assert 0 < kept < 20
    assert record.repeated_observations >= 299 * kept * 0.9
    # And the device is what a single conversation makes of it, with its first sighting
    device = server(analyser)
    single = server(analyse(conversations(1)))
    assert device.manufacturer == single.manufacturer == "Hikvision"
    assert {(e.observed_field, e.observed) for e in device.evidence} == {
        (e.observed_field, e.observed) for e in single.evidence
    }
    server_header = next(e for e in device.evidence if e.observed_field == "http.server")
    assert server_header.detail.startswith("packet ")


def test_distinct_facts_beyond_the_cap_are_counted_not_kept() -> None:
    # Given more distinct titles from one host than the cap keeps
    extra = MAX_OBSERVATIONS_PER_HOST + 40
    frames = []
    for index in range(extra):
        body = f"<html><title>page {index}</title></html>".encode()
        reply = b"HTTP/1.1 200 OK\r\nServer: DNVRS-Webs\r\nContent-Length: %d\r\n\r\n%s" % (
            len(body),
            body,
        )
        frames += conversation(20000 + index, reply)
    analyser = analyse(frames)
    record = analyser.hosts.hosts[SERVER]
    # Then the host keeps at most the cap, counts the rest, and says so
    assert len(record.observations) == MAX_OBSERVATIONS_PER_HOST
    assert record.dropped_observations > 0
    assert any("not kept (cap per host)" in note for note in server(analyser).notes)


def bulk_stream(segments: int, size: int = 1400) -> list[bytes]:
    """An identifying reply, then ``segments`` more of video-like bulk on the same stream."""
    frames = [
        tcp(CLIENT, SERVER, 41000, 80, 100, SYN),
        tcp(SERVER, CLIENT, 80, 41000, 900, SYN | ACK, src_mac=ETH_SERVER, dst_mac=ETH_CLIENT),
        tcp(CLIENT, SERVER, 41000, 80, 101, ACK | PSH, REQUEST),
        tcp(
            SERVER, CLIENT, 80, 41000, 901, ACK | PSH, REPLY, src_mac=ETH_SERVER, dst_mac=ETH_CLIENT
        ),
    ]
    seq = 901 + len(REPLY)
    for _ in range(segments):
        frames.append(
            tcp(
                SERVER,
                CLIENT,
                80,
                41000,
                seq,
                ACK,
                b"\x24\x00" + b"\x00" * (size - 2),
                src_mac=ETH_SERVER,
                dst_mac=ETH_CLIENT,
            )
        )
        seq += size
    return frames


def test_bulk_after_the_first_bytes_is_skipped_and_changes_nothing() -> None:
    # Given a stream whose server side fills its cap (4 KiB here) and goes on for 200 KiB
    limits = PassiveLimits(per_direction_cap=4096)
    analyser = analyse(bulk_stream(150), limits)
    # Then the segments past the cap were skipped unread, and the device is still identified
    assert analyser.flows.skipped >= 140
    device = server(analyser)
    assert device.manufacturer == "Hikvision"
    assert ("http.server", "DNVRS-Webs") in {
        (e.observed_field, e.observed) for e in device.evidence
    }
    # And no new conversation was picked up mid-stream from the bulk
    assert analyser.flows.evicted == 0 and len(analyser.flows) <= 1


def test_a_conversation_full_on_both_sides_is_not_picked_up_again() -> None:
    # Given a conversation whose two directions both fill the cap, then more data both ways
    limits = PassiveLimits(per_direction_cap=512)
    frames = bulk_stream(2, size=600)
    client_seq = 101 + len(REQUEST)
    for _ in range(3):
        frames.append(tcp(CLIENT, SERVER, 41000, 80, client_seq, ACK | PSH, b"x" * 600))
        client_seq += 600
    for _ in range(50):
        frames.append(tcp(CLIENT, SERVER, 41000, 80, client_seq, ACK | PSH, b"y" * 600))
        client_seq += 600
    analyser = analyse(frames, limits)
    # Then everything after both sides were full was skipped, not read as a new flow
    assert analyser.flows.skipped >= 50
    assert len(analyser.flows) == 0
    assert server(analyser).manufacturer == "Hikvision"
    # And a new conversation on the same ports (a SYN) is read afresh
    again = analyse(frames + http_conversation(split(REPLY, 40)), limits)
    assert server(again).manufacturer == "Hikvision"
    assert again.flows.skipped >= 50


def rtp(count: int) -> list[bytes]:
    """RTP over UDP from the server to the client (video: no identity in it)."""
    frames = []
    for index in range(count):
        datagram = dpkt.udp.UDP(sport=6970, dport=5000, data=b"\x80\x60" + bytes(1200))
        datagram.ulen = 8 + len(datagram.data)
        ip = dpkt.ip.IP(
            src=socket.inet_aton(SERVER),
            dst=socket.inet_aton(CLIENT),
            p=dpkt.ip.IP_PROTO_UDP,
            id=index,
            data=datagram,
        )
        ip.len = 20 + datagram.ulen
        frames.append(
            bytes(
                dpkt.ethernet.Ethernet(
                    src=bytes.fromhex(ETH_SERVER.replace(":", "")),
                    dst=bytes.fromhex(ETH_CLIENT.replace(":", "")),
                    type=dpkt.ethernet.ETH_TYPE_IP,
                    data=ip,
                )
            )
        )
    return frames


def test_bulk_frames_are_left_undecoded_and_the_result_is_the_same() -> None:
    # Given one capture with an identifying conversation, and the same with video after it
    limits = PassiveLimits(per_direction_cap=4096)
    plain = analyse(bulk_stream(0), limits)
    with_bulk = analyse(bulk_stream(100) + rtp(100), limits)
    # Then the RTP frames were left undecoded and the TCP bulk skipped unread
    assert with_bulk.stats.bulk_skipped == 100
    assert with_bulk.flows.skipped >= 90
    assert with_bulk.stats.packets == plain.stats.packets + 200
    # And the device, its evidence and its ports are exactly those without the video
    before, after = server(plain), server(with_bulk)
    assert after.manufacturer == before.manufacturer == "Hikvision"
    assert [(e.observed_field, e.observed) for e in after.evidence] == [
        (e.observed_field, e.observed) for e in before.evidence
    ]
    assert after.open_ports == before.open_ports
