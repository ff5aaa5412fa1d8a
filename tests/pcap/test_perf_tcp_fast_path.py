"""The analyser's TCP fast path (plain Ethernet/IPv4/TCP frames, no Packet built) yields
exactly what the general decoder yields (issue 14).

The same frames are analysed twice: as Ethernet frames (the fast path) and as raw IP frames
(link type 101: the general path through ``decode``). Every host's facts, open ports,
attempts and flow counts must agree; hostile short frames must cost nothing.
"""

from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path

from pcap_builders import ACK, CLIENT, PSH, SERVER, SYN, pcap_bytes, tcp

from provscan.knowledge import load_knowledge
from provscan.passive import CaptureAnalyser
from provscan.passive.capture import read_frames

LAB_CAPTURE = Path(__file__).parent / "fixtures" / "lab_scan.pcap.gz"
LINKTYPE_RAW = 101


def analyse(capture: bytes) -> CaptureAnalyser:
    analyser = CaptureAnalyser(load_knowledge())
    analyser.feed("capture", io.BytesIO(capture))
    analyser.flows.flush()
    return analyser


def as_raw_ip(capture: bytes) -> bytes:
    """The capture's Ethernet/IPv4 frames without their Ethernet header (link type raw)."""
    frames = [
        frame.data[14:]
        for frame in read_frames(io.BytesIO(capture))
        if frame.data[12:14] == b"\x08\x00"
    ]
    return pcap_bytes(frames, linktype=LINKTYPE_RAW)


def facts(analyser: CaptureAnalyser) -> dict[str, object]:
    """What the analysis kept per IP host (MACs aside: raw IP frames have none)."""
    return {
        key: (
            sorted(record.observations, key=repr),
            sorted(record.open_ports),
            sorted(
                (probe, port, o.ok, o.problems, o.error)
                for (probe, port), o in record.attempts.items()
            ),
            record.repeated_observations,
            record.dropped_observations,
        )
        for key, record in analyser.hosts.hosts.items()
        if record.ip is not None
    }


def test_the_fast_path_keeps_what_the_general_decoder_keeps() -> None:
    # Given the lab recording (HTTP, RTSP, TLS, ONVIF, vendor protocols over TCP)
    capture = gzip.decompress(LAB_CAPTURE.read_bytes())
    # When it is analysed as Ethernet frames and again as raw IP frames
    fast, general = analyse(capture), analyse(as_raw_ip(capture))
    # Then both keep the same facts, ports and attempts for every IP host
    assert fast.stats.packets > 1000
    assert facts(fast) == facts(general)
    assert sum(len(r.observations) for r in fast.hosts.hosts.values()) > 100
    assert (fast.flows.evicted, fast.flows.gaps) == (general.flows.evicted, general.flows.gaps)


def test_short_and_hostile_tcp_frames_are_taken_apart_safely() -> None:
    reply = b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\nContent-Length: 0\r\n\r\n"

    def conversation(client_port: int) -> list[bytes]:
        request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        return [
            tcp(SERVER, CLIENT, 80, client_port, 0, SYN | ACK),
            tcp(CLIENT, SERVER, client_port, 80, 1, PSH | ACK, request),
            tcp(SERVER, CLIENT, 80, client_port, 1, PSH | ACK, reply),
        ]

    whole = conversation(40000)
    hostile = []
    for frame in conversation(40001):
        hostile += [frame[:length] for length in range(42, 60)]  # cut inside the TCP header
        bad_offset = bytearray(frame)
        bad_offset[46] = 0x10  # a TCP header "4 bytes long"
        hostile.append(bytes(bad_offset))
        too_long = bytearray(frame)
        struct.pack_into("!H", too_long, 16, 1400)  # IP total length beyond the frame
        hostile.append(bytes(too_long))
    analyser = analyse(pcap_bytes(hostile + whole))
    # The whole conversation at the end is still read, and its open port recorded.
    server = analyser.hosts.hosts[SERVER]
    assert 80 in server.open_ports
    assert any(key[2] == "http.server" for key in server.observations)
