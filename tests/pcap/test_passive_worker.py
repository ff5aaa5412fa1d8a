"""Conversations read in a second process (``workers=2``, issue 14) leave exactly the host
table and the result one process leaves: every fact in the same order with the same packet,
time and detail, the same attempts, contacts, MACs, ports and counters — also when the child
is slow to answer, stops answering, or never starts."""

from __future__ import annotations

import dataclasses
import gzip
import io
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dpkt
import pytest
from pcap_builders import (
    ACK,
    CLIENT,
    ETH_CLIENT,
    ETH_SERVER,
    FIN,
    PSH,
    SERVER,
    SYN,
    http_conversation,
    pcap_bytes,
    split,
    tcp,
)

from provscan import passive
from provscan.knowledge import load_knowledge
from provscan.model import ScanResult
from provscan.passive import CaptureAnalyser, PassiveLimits, analyse_captures, worker
from provscan.passive.hosts import HostRecord
from provscan.transport import limits

FIXTURES = Path(__file__).parent / "fixtures"
CAPTURES = sorted(p for p in FIXTURES.iterdir() if ".pcap" in p.name)
KNOWLEDGE = load_knowledge()


def table(analyser: CaptureAnalyser) -> list[tuple[str, dict[str, Any]]]:
    """The whole host table, in order, every field of every record (dict order included)."""

    def record(value: HostRecord) -> dict[str, Any]:
        fields = dataclasses.asdict(value)
        fields["observations"] = list(value.observations.items())
        fields["contacts"] = list(value.contacts.items())
        fields["attempts"] = [(key, vars(o)) for key, o in value.attempts.items()]
        fields["macs"] = list(value.macs.items())
        fields["open_ports"] = sorted(value.open_ports)
        return fields

    hosts = analyser.hosts
    return [
        *((key, record(value)) for key, value in hosts.hosts.items()),
        ("bindings", {"items": list(hosts.bindings.items())}),
        ("mac_sources", {"items": sorted((m, sorted(s)) for m, s in hosts.mac_sources.items())}),
        ("dropped", {"hosts": hosts.dropped_hosts}),
    ]


def analysed(
    data: bytes, workers: int, limits: PassiveLimits | None = None
) -> tuple[CaptureAnalyser, int]:
    """The analyser after one capture and the end of its flows; how many conversations the
    child read."""
    analyser = CaptureAnalyser(KNOWLEDGE, workers=workers, limits=limits)
    child = analyser._worker
    analyser.feed("capture", io.BytesIO(data))
    analyser.flows.flush()
    analyser.close()
    return analyser, child.read_by_child if child is not None else 0


def capture_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _scrubbed(result: ScanResult) -> ScanResult:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    info = dataclasses.replace(result.info, scan_id="", started_at=moment, finished_at=moment)
    return dataclasses.replace(result, info=info)


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_the_host_table_is_the_same_with_a_second_process(path: Path) -> None:
    data = capture_bytes(path)
    alone, _ = analysed(data, workers=1)
    shared, by_child = analysed(data, workers=2)
    assert by_child > 0  # the child did read conversations
    assert table(shared) == table(alone)
    assert shared.flows.skipped == alone.flows.skipped
    assert dataclasses.asdict(shared.stats) == dataclasses.asdict(alone.stats)


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_the_result_is_the_same_with_a_second_process(path: Path) -> None:
    from pcap_builders import identify_with

    identify = identify_with(KNOWLEDGE)
    alone = analyse_captures([str(path)], identify, knowledge=KNOWLEDGE)
    shared = analyse_captures([str(path)], identify, knowledge=KNOWLEDGE, workers=2)
    assert _scrubbed(shared) == _scrubbed(alone)
    assert shared.devices


def test_tight_bounds_and_a_slow_child_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny batches and a tiny in-flight budget: the reader waits for the child all the time;
    # a tiny flow table analyses conversations early (evictions) in between.
    monkeypatch.setattr(worker, "BATCH_FLOWS", 3)
    monkeypatch.setattr(worker, "MAX_IN_FLIGHT_BYTES", 2048)
    limits = PassiveLimits(max_flows=8, total_byte_budget=64 * 1024, per_direction_cap=4096)
    data = capture_bytes(FIXTURES / "lab_scan.pcap.gz")
    alone, _ = analysed(data, workers=1, limits=limits)
    shared, by_child = analysed(data, workers=2, limits=limits)
    assert by_child > 0
    assert alone.flows.evicted > 0
    assert table(shared) == table(alone)


def _udp(src_ip: str, src_mac: str, dst_ip: str, ports: tuple[int, int], payload: bytes) -> bytes:
    datagram = dpkt.udp.UDP(sport=ports[0], dport=ports[1], data=payload)
    datagram.ulen = 8 + len(payload)
    ip = dpkt.ip.IP(
        src=socket.inet_aton(src_ip),
        dst=socket.inet_aton(dst_ip),
        p=dpkt.ip.IP_PROTO_UDP,
        data=datagram,
    )
    ip.len = 20 + len(bytes(datagram))
    return bytes(
        dpkt.ethernet.Ethernet(
            src=bytes.fromhex(src_mac.replace(":", "")),
            dst=bytes.fromhex("02:00:00:00:00:fe".replace(":", "")),
            type=dpkt.ethernet.ETH_TYPE_IP,
            data=ip,
        )
    )


def _dns_query(name: str) -> bytes:
    question = dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_A, cls=dpkt.dns.DNS_IN)
    payload = bytes(dpkt.dns.DNS(id=9, qr=dpkt.dns.DNS_Q, rd=1, qd=[question]))
    return _udp(SERVER, ETH_SERVER, "192.0.2.254", (40001, 53), payload)


def _second_conversation(server_header: bytes) -> list[bytes]:
    reply = b"HTTP/1.1 200 OK\r\nServer: " + server_header + b"\r\nContent-Length: 0\r\n\r\n"
    request = b"GET /index.html HTTP/1.1\r\nHost: camera\r\n\r\n"
    return [
        tcp(CLIENT, SERVER, 40002, 8080, 500, SYN),
        tcp(SERVER, CLIENT, 8080, 40002, 700, SYN | ACK, src_mac=ETH_SERVER, dst_mac=ETH_CLIENT),
        tcp(CLIENT, SERVER, 40002, 8080, 501, ACK | PSH, request),
        tcp(
            SERVER,
            CLIENT,
            8080,
            40002,
            701,
            ACK | PSH,
            reply,
            src_mac=ETH_SERVER,
            dst_mac=ETH_CLIENT,
        ),
        tcp(
            SERVER,
            CLIENT,
            8080,
            40002,
            701 + len(reply),
            ACK | FIN,
            src_mac=ETH_SERVER,
            dst_mac=ETH_CLIENT,
        ),
        tcp(CLIENT, SERVER, 40002, 8080, 501 + len(request), ACK | FIN),
    ]


def test_a_message_between_two_conversations_keeps_its_place() -> None:
    from pcap_builders import REPLY

    # The first conversation is still with the child when the device's DNS query comes: the
    # query's facts wait behind it, then the second conversation's facts follow them.
    frames = [
        *http_conversation(split(REPLY, 40)),
        _dns_query("dev.hik-connect.com"),
        *_second_conversation(b"webserver"),
    ]
    data = pcap_bytes(frames)
    alone, _ = analysed(data, workers=1)
    shared, by_child = analysed(data, workers=2)
    assert by_child == 2
    assert table(shared) == table(alone)
    fields = [key[2] for key in alone.hosts.hosts[SERVER].observations]
    dns = fields.index("cloud.phones_home")
    assert "http.server" in fields[:dns]
    assert "http.server" in fields[dns + 1 :]


def test_a_conversation_with_an_unknown_host_is_read_in_place() -> None:
    # Only the server's half is captured: the client never sent a frame, so it has no record
    # and the conversation (which names it) is read in the reading process.
    frames = [
        tcp(SERVER, CLIENT, 80, 40000, 900, SYN | ACK, src_mac=ETH_SERVER, dst_mac=ETH_CLIENT),
        *[
            frame
            for frame in http_conversation(split(b"HTTP/1.1 200 OK\r\n\r\n", 64))
            if frame[6:12] == bytes.fromhex(ETH_SERVER.replace(":", ""))
        ],
    ]
    data = pcap_bytes(frames)
    analyser = CaptureAnalyser(KNOWLEDGE, workers=2)
    child = analyser._worker
    assert child is not None
    analyser.feed("capture", io.BytesIO(data))
    analyser.flows.flush()
    analyser.close()
    alone, _ = analysed(data, workers=1)
    assert child.read_in_place >= 1
    assert table(analyser) == table(alone)


def test_a_child_that_dies_leaves_the_same_table() -> None:
    data = capture_bytes(FIXTURES / "lab_scan.pcap.gz")
    alone, _ = analysed(data, workers=1)
    analyser = CaptureAnalyser(KNOWLEDGE, workers=2)
    child = analyser._worker
    assert child is not None and child._child is not None
    child._child.kill()
    analyser.feed("capture", io.BytesIO(data))
    analyser.flows.flush()
    analyser.close()
    assert child.broken
    assert child.read_in_place > 0
    assert table(analyser) == table(alone)


def test_a_child_that_cannot_start_leaves_the_same_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("no processes left")

    data = capture_bytes(FIXTURES / "lab_scan.pcap.gz")
    alone, _ = analysed(data, workers=1)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    shared, by_child = analysed(data, workers=2)
    assert by_child == 0
    assert table(shared) == table(alone)


def test_the_child_exits_when_the_analysis_ends() -> None:
    analyser = CaptureAnalyser(KNOWLEDGE, workers=2)
    child = analyser._worker
    assert child is not None and child._child is not None
    process = child._child
    analyser.feed("capture", io.BytesIO(capture_bytes(FIXTURES / "lab_scan.pcap.gz")))
    analyser.close()
    assert process.poll() == 0
    abandoned = CaptureAnalyser(KNOWLEDGE, workers=2)
    assert abandoned._worker is not None and abandoned._worker._child is not None
    process = abandoned._worker._child
    abandoned.abandon()
    assert process.poll() is not None


def test_how_many_processes_provscan_pcap_uses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    small = tmp_path / "small.pcap"
    small.write_bytes(pcap_bytes([]))
    large = tmp_path / "large.pcap"
    with large.open("wb") as handle:  # sparse: the size is what counts
        handle.truncate(passive.SECOND_PROCESS_MIN_BYTES)
    monkeypatch.delenv(passive.WORKERS_VARIABLE, raising=False)
    monkeypatch.setattr(limits, "available_cpus", lambda: 2)
    monkeypatch.setattr(passive.os, "getloadavg", lambda: (0.3, 0.3, 0.3))
    assert passive.workers_for([str(large)]) == 2
    assert passive.workers_for([str(small)]) == 1
    assert passive.workers_for(["-", str(tmp_path / "missing.pcap")]) == 1
    monkeypatch.setattr(passive.os, "getloadavg", lambda: (1.5, 1.5, 1.5))
    assert passive.workers_for([str(large)]) == 2
    monkeypatch.setattr(passive.os, "getloadavg", lambda: (2.5, 2.5, 2.5))
    assert passive.workers_for([str(large)]) == 1  # every CPU is busy
    monkeypatch.setenv(passive.WORKERS_VARIABLE, "2")
    assert passive.workers_for([str(small)]) == 2
    monkeypatch.setenv(passive.WORKERS_VARIABLE, "1")
    monkeypatch.setattr(passive.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert passive.workers_for([str(large)]) == 1
    monkeypatch.setattr(limits, "available_cpus", lambda: 1)
    monkeypatch.setenv(passive.WORKERS_VARIABLE, "2")
    assert passive.workers_for([str(large)]) == 1
