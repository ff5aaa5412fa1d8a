"""When the second process falls behind, the reading process reads the next batch of
conversations itself, with the code the child runs, and every answer is still applied in
capture order (issue 14): the host table ends as with one process.

The child is held still with SIGSTOP (a real process, really behind) and let go when the
reader first waits for everything (``drain``), or killed there."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pcap_builders import ACK, CLIENT, ETH_CLIENT, ETH_SERVER, FIN, PSH, SERVER, SYN, tcp
from pcap_builders import pcap_bytes as make_pcap
from test_passive_worker import analysed, table

from provscan.knowledge import load_knowledge
from provscan.passive import CaptureAnalyser, worker

FIXTURES = Path(__file__).parent / "fixtures"
KNOWLEDGE = load_knowledge()


def _conversation(number: int) -> list[bytes]:
    """One HTTP exchange on a port of its own; each reply names another server."""
    port = 41000 + number
    request = b"GET /index.html HTTP/1.1\r\nHost: camera\r\n\r\n"
    reply = b"HTTP/1.1 200 OK\r\nServer: server-%d\r\nX-Seen: %d\r\nContent-Length: 0\r\n\r\n" % (
        number % 7,
        number,
    )
    server = {"src_mac": ETH_SERVER, "dst_mac": ETH_CLIENT}
    return [
        tcp(CLIENT, SERVER, port, 80, 100, SYN),
        tcp(SERVER, CLIENT, 80, port, 900, SYN | ACK, **server),
        tcp(CLIENT, SERVER, port, 80, 101, ACK | PSH, request),
        tcp(SERVER, CLIENT, 80, port, 901, ACK | PSH, reply, **server),
        tcp(SERVER, CLIENT, 80, port, 901 + len(reply), ACK | FIN, **server),
        tcp(CLIENT, SERVER, port, 80, 101 + len(request), ACK | FIN),
    ]


def _many_conversations(count: int) -> bytes:
    return make_pcap([frame for number in range(count) for frame in _conversation(number)])


@pytest.fixture
def held_child(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Stops each new child at once; the reader's first ``drain`` lets it go (``"cont"``) or
    kills it (``"kill"``). Yields the signal to send there (set by the test)."""
    choice = {"signal": int(signal.SIGCONT)}
    started = worker.StreamWorker.__init__
    drain = worker.StreamWorker.drain
    timers: list[threading.Timer] = []

    def start(self: worker.StreamWorker, *args: object) -> None:
        started(self, *args)  # type: ignore[arg-type]
        assert self._child is not None
        pid = self._child.pid
        os.kill(pid, signal.SIGSTOP)
        # (never left stopped if the test fails before it drains)
        timer = threading.Timer(60.0, lambda: _signal(pid, signal.SIGCONT))
        timer.start()
        timers.append(timer)

    def release(self: worker.StreamWorker) -> None:
        if self._child is not None:
            _signal(self._child.pid, choice["signal"])
            if choice["signal"] == signal.SIGKILL:
                _signal(self._child.pid, signal.SIGCONT)
        drain(self)

    monkeypatch.setattr(worker.StreamWorker, "__init__", start)
    monkeypatch.setattr(worker.StreamWorker, "drain", release)
    yield choice
    for timer in timers:
        timer.cancel()


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)


def _read_by_both(data: bytes) -> tuple[CaptureAnalyser, worker.StreamWorker]:
    analyser = CaptureAnalyser(KNOWLEDGE, workers=2)
    child = analyser._worker
    assert child is not None
    analyser.feed("capture", io.BytesIO(data))
    analyser.flows.flush()
    analyser.close()
    return analyser, child


def test_a_child_behind_leaves_the_next_batches_to_the_reader(
    monkeypatch: pytest.MonkeyPatch, held_child: dict[str, int]
) -> None:
    monkeypatch.setattr(worker, "BATCH_FLOWS", 4)
    monkeypatch.setattr(worker, "SHARE_AFTER", 1)
    data = _many_conversations(40)
    alone, _ = analysed(data, workers=1)
    shared, child = _read_by_both(data)
    # The child (stopped) holds its first two batches; the reader read the other eight, and
    # their facts were applied after the child's, in capture order.
    assert child.read_by_child == 2 * 4
    assert child.read_shared == 40 - 2 * 4
    assert child.read_in_place == 0
    assert table(shared) == table(alone)
    seen = [key[3] for key in alone.hosts.hosts[SERVER].observations if key[2] == "http.server"]
    assert seen == [f"server-{n}" for n in range(7)]


def test_a_child_that_dies_behind_the_reader_leaves_the_same_table(
    monkeypatch: pytest.MonkeyPatch, held_child: dict[str, int]
) -> None:
    held_child["signal"] = int(signal.SIGKILL)
    monkeypatch.setattr(worker, "BATCH_FLOWS", 4)
    monkeypatch.setattr(worker, "SHARE_AFTER", 2)
    data = _many_conversations(40)
    alone, _ = analysed(data, workers=1)
    shared, child = _read_by_both(data)
    assert child.broken
    assert child.read_by_child == 0
    assert child.read_in_place == 3 * 4  # what the child owed, read here in its place
    assert child.read_shared == 40 - 3 * 4
    assert table(shared) == table(alone)


def test_the_lab_recording_read_by_both_processes_is_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small batches and a small queue of batches read here: while the child starts (it
    # imports provscan) the reader reads batches itself, then waits for the child's older
    # answers between them.
    monkeypatch.setattr(worker, "BATCH_FLOWS", 3)
    monkeypatch.setattr(worker, "SHARE_AFTER", 0)
    monkeypatch.setattr(worker, "MAX_SHARED_WAITING", 2)
    data = gzip.decompress((FIXTURES / "lab_scan.pcap.gz").read_bytes())
    alone, _ = analysed(data, workers=1)
    shared, child = _read_by_both(data)
    assert child.read_by_child > 0
    assert child.read_shared > 0
    assert table(shared) == table(alone)
