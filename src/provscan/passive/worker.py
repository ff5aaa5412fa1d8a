"""Conversations read in a second process while the first reads the capture (issue 14).

The reading process keeps everything that decides what a capture yields — framing, the flow
table and reassembly, the host table — and hands each finished conversation (its two byte
streams and where their packets begin) to a child process, ``python -m
provscan.passive.worker``, which runs the same :class:`~provscan.passive.streams.StreamAnalyser`
and sends back what it would have told the host table, call by call. The reading process
applies those calls in capture order, so the host table ends exactly as in one process:

- a conversation's calls touch only its two hosts' facts, contacts, attempts, catch-all
  statuses and HTTP control answers; it goes to the child only when both hosts are already
  in the table (then no call creates a host, and whether each call finds its host cannot
  change by waiting); otherwise everything outstanding is applied first and the
  conversation is read in place;
- the only other writer of those parts of a host is a discovery/DNS/DHCP message
  (:meth:`HostTable.facts`): while results are outstanding its facts wait in the same queue,
  behind the conversations that finished before it (``HostTable.defer``);
- everything else the reading process does to the table (senders, MACs, open ports, ARP and
  DHCP bindings) touches parts no conversation touches.

When the child cannot be started or stops answering, the conversations not yet applied are
read in place, in order: the result is the same, only slower. Memory: at most
``MAX_IN_FLIGHT_BYTES`` of conversations wait for the child.

When the child has more than ``SHARE_AFTER`` batches outstanding (it has fallen behind), the
reading process reads the next batch itself with the child's code (:class:`CallRecorder`)
and keeps its answers in line behind the child's older ones: applied in the same order, so
the host table is the same whoever read a batch (such a batch is also never pickled).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from provscan.knowledge.schema import HttpEndpoint
from provscan.model import AttemptStatus, Observation
from provscan.passive.hosts import HostTable
from provscan.passive.reassembly import Direction, Flow
from provscan.passive.streams import StreamAnalyser

__all__ = ["MAX_IN_FLIGHT_BYTES", "StreamWorker"]

#: Conversations per message to the child.
BATCH_FLOWS = 128
#: Conversation bytes sent to the child and not yet applied, at most (then the reader waits).
MAX_IN_FLIGHT_BYTES = 8 * 1024 * 1024
#: Batches the child may have outstanding: with more, it has fallen behind and the reading
#: process reads the next batch itself (the same code; answers still applied in order).
SHARE_AFTER = 4
#: Batches read here waiting for the child's older answers, at most (then the reader waits).
MAX_SHARED_WAITING = 64
#: Pipe buffer asked for (Linux's default 64 KiB costs more system calls).
PIPE_BYTES = 1024 * 1024
#: A message on either pipe: its length, then the pickled value.
_FRAME = struct.Struct("<Q")
#: Seconds the child gets to exit once its input is closed.
_EXIT_WAIT = 10.0

_OBSERVE, _CONTACTED, _ATTEMPT, _CATCH_ALL, _CONTROL = 0, 1, 2, 3, 4

#: One direction of a conversation: bytes, marks, first packet and time, gap, snaplen cut.
_DirectionItem = tuple[bytes, list[tuple[int, int, float]], int, float, bool, bool]
#: A conversation as sent: client, client port, server, server port, the two directions.
_FlowItem = tuple[str, int, str, int, _DirectionItem, _DirectionItem]
#: What the stream analyser told its sink about one conversation, call by call.
_Calls = list[tuple[Any, ...]]


def _child_environment() -> dict[str, str]:
    """The environment, with this copy of provscan first on the path: the child runs the
    same code as the reading process, however that found it."""
    import provscan

    environment = dict(os.environ)
    here = str(Path(provscan.__file__).resolve().parents[1])
    path = environment.get("PYTHONPATH")
    environment["PYTHONPATH"] = here + (os.pathsep + path if path else "")
    return environment


def _direction_item(direction: Direction) -> _DirectionItem:
    return (
        direction.data,
        direction.marks,
        direction.first_packet,
        direction.first_time,
        direction.gap,
        direction.snaplen_cut,
    )


def flow_item(flow: Flow) -> _FlowItem:
    """What the stream analyser reads of ``flow``, as plain values."""
    return (
        flow.client_ip,
        flow.client_port,
        flow.server_ip,
        flow.server_port,
        _direction_item(flow.to_server),
        _direction_item(flow.to_client),
    )


def _direction(item: _DirectionItem) -> Direction:
    data, marks, first_packet, first_time, gap, snaplen_cut = item
    direction = Direction(len(data))
    if data:
        direction.chunks = [data]
        direction.size = len(data)
    direction.marks = marks
    direction.first_packet, direction.first_time = first_packet, first_time
    direction.gap, direction.snaplen_cut = gap, snaplen_cut
    direction.done = True
    return direction


def flow_from(item: _FlowItem) -> Flow:
    """The :class:`Flow` a :func:`flow_item` came from, as far as the analyser reads it."""
    client_ip, client_port, server_ip, server_port, to_server, to_client = item
    return Flow(
        client_ip, client_port, server_ip, server_port, _direction(to_server), _direction(to_client)
    )


class CallRecorder:
    """A :class:`~provscan.passive.streams.FactSink` that writes the calls down."""

    def __init__(
        self, endpoints: Mapping[str, HttpEndpoint], path_prefixes: Mapping[str, str]
    ) -> None:
        self.calls: _Calls = []
        self.analyser = StreamAnalyser(self, endpoints, path_prefixes)

    def read(self, item: _FlowItem) -> _Calls:
        """The calls the analyser makes for one conversation."""
        self.calls = []
        self.analyser.analyse(flow_from(item))
        return self.calls

    def observe(
        self, ip: str, observation: Observation, packet: int, time: float, detail: str | None = None
    ) -> None:
        kept = observation.detail if detail is None else detail
        o = observation
        self.calls.append((_OBSERVE, ip, o.protocol, o.port, o.field, o.value, kept, packet, time))

    def contacted(self, ip: str, name: str, how: str, packet: int, time: float) -> None:
        self.calls.append((_CONTACTED, ip, name, how, packet, time))

    def attempt(self, ip: str, port: int, probe: str, status: AttemptStatus, error: str) -> None:
        self.calls.append((_ATTEMPT, ip, port, probe, status, error))

    def catch_all(self, ip: str, port: int, status: int) -> None:
        self.calls.append((_CATCH_ALL, ip, port, status))

    def control(
        self, ip: str, port: int, request: str, status: int, packet: int, time: float
    ) -> None:
        self.calls.append((_CONTROL, ip, port, request, status, packet, time))


def _apply(hosts: HostTable, calls: _Calls) -> None:
    observe = hosts.observe_values
    records = hosts.hosts
    for call in calls:
        kind = call[0]
        if kind == _OBSERVE:
            # (unpacked here: a slice and a star-call per fact were a fifth of applying)
            _, ip, protocol, port, field_name, value, detail, packet, time = call
            record = records.get(ip)
            if record is not None and (protocol, port, field_name, value) in record.observations:
                # A fact the host has already (most of them: every reply repeats its
                # headers): what ``observe_values`` does with it, without two calls.
                record.repeated_observations += 1
                continue
            observe(ip, protocol, port, field_name, value, detail, packet, time)
        elif kind == _CONTACTED:
            hosts.contacted(*call[1:])
        elif kind == _ATTEMPT:
            hosts.attempt(*call[1:])
        elif kind == _CONTROL:
            hosts.control(*call[1:])
        else:
            hosts.catch_all(*call[1:])


def _dumps(value: object) -> bytes:
    """``value`` pickled without the memo (``Pickler.fast``): a batch is plain tuples, lists,
    bytes, strings and numbers with no cycle, and remembering each of its ~10,000 objects
    cost ten times the pickling itself (issue 14). Shared objects are written once per use;
    :func:`pickle.loads` reads it as any pickle."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(value)
    return out.getvalue()


def _read_frame(stream: IO[bytes]) -> bytes | None:
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        return None
    (size,) = _FRAME.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


class StreamWorker:
    """The reading process's side: hands conversations to the child, applies its answers in
    capture order (module docstring). ``submit`` is the flow table's completion callback."""

    def __init__(self, hosts: HostTable, inline: StreamAnalyser) -> None:
        self.hosts = hosts
        self.inline = inline
        #: Conversations the child read, those read in place while it ran, and those this
        #: process read for the child while it was behind (for tests).
        self.read_by_child = 0
        self.read_in_place = 0
        self.read_shared = 0
        self.broken = False
        #: In capture order: None for the next conversation's answer, or a message's facts.
        self._order: deque[Callable[[], None] | None] = deque()
        #: Answers arrived and not yet applied, in order.
        self._ready: deque[_Calls] = deque()
        self._batch: list[_FlowItem] = []
        #: Batches sent, oldest first, with their size: kept until answered (a child that
        #: stops answering leaves them to be read in place); between them, batches this
        #: process read while the child was behind, as their answers (``([], 0, answers)``).
        self._sent: deque[tuple[list[_FlowItem], int, list[_Calls] | None]] = deque()
        self._in_flight = 0
        #: Of ``_sent``: batches the child has to answer, and answers read here.
        self._child_owes = 0
        self._shared_waiting = 0
        self._recorder: CallRecorder | None = None
        #: Frames not yet written to the child (views: a partial write keeps the rest).
        self._outgoing: deque[memoryview] = deque()
        #: Bytes read from the child, not yet taken as frames.
        self._incoming = bytearray()
        self._closed_output = False
        try:
            self._child: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "provscan.passive.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                close_fds=True,
                env=_child_environment(),
            )
        except OSError:
            self._child = None
            self.broken = True
            return
        assert self._child.stdin is not None and self._child.stdout is not None
        # Non-blocking pipes, served from this thread between conversations (no threads: a
        # thread waking for every message would take the interpreter from the reader).
        self._to_child = self._child.stdin.fileno()
        self._from_child = self._child.stdout.fileno()
        for descriptor in (self._to_child, self._from_child):
            os.set_blocking(descriptor, False)
            with contextlib.suppress(AttributeError, OSError):  # fewer, larger writes
                fcntl.fcntl(descriptor, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        knowledge = (dict(inline.endpoints), dict(inline.path_prefixes))
        self._queue_frame(pickle.dumps(knowledge, protocol=pickle.HIGHEST_PROTOCOL))
        hosts.defer = self._defer

    # -- the pipes ----------------------------------------------------------------------

    def _queue_frame(self, blob: bytes) -> None:
        self._outgoing.append(memoryview(_FRAME.pack(len(blob))))
        self._outgoing.append(memoryview(blob))
        self._pump()

    def _pump(self) -> None:
        """Write what the child's input takes, read what its output holds (never waits)."""
        outgoing = self._outgoing
        try:
            while outgoing:
                written = os.write(self._to_child, outgoing[0])
                if written < len(outgoing[0]):
                    outgoing[0] = outgoing[0][written:]
                    break
                outgoing.popleft()
        except BlockingIOError:
            pass
        except OSError:  # the child is gone: its output ends below
            outgoing.clear()
        try:
            while chunk := os.read(self._from_child, PIPE_BYTES):
                self._incoming += chunk
            self._closed_output = True  # end of file
        except BlockingIOError:
            pass
        except OSError:
            self._closed_output = True

    def _next_frame(self) -> bytes | None:
        incoming = self._incoming
        if len(incoming) < _FRAME.size:
            return None
        (size,) = _FRAME.unpack_from(incoming)
        end = _FRAME.size + size
        if len(incoming) < end:
            return None
        blob = bytes(incoming[_FRAME.size : end])
        del incoming[:end]
        return blob

    def _wait(self) -> None:
        """Wait until the child's output has more, or its input takes more."""
        writable = [self._to_child] if self._outgoing else []
        select.select([self._from_child], writable, [], _EXIT_WAIT)
        self._pump()

    # -- the reading process's calls ----------------------------------------------------

    def submit(self, flow: Flow) -> None:
        """A finished conversation (the flow table's callback)."""
        known = self.hosts.hosts
        if self.broken or flow.client_ip not in known or flow.server_ip not in known:
            # A call could create a host (or find one only later): read it here, in order.
            self.drain()
            self.read_in_place += 1
            self.inline.analyse(flow)
            return
        self._batch.append(flow_item(flow))
        self._order.append(None)
        if len(self._batch) >= BATCH_FLOWS:
            self._send()
            self._receive(block=False)  # (once a batch: a system call per flow costs more)
            self._apply_ready()

    def _defer(self, call: Callable[[], None]) -> bool:
        if not self._order:
            return False
        self._order.append(call)
        return True

    def _send(self) -> None:
        if self._child_owes > SHARE_AFTER:
            # (its answers may be waiting in the pipe). Looked at before the batch is taken:
            # a child found gone here has its work, this batch included, read in place.
            self._receive(block=False)
        if self.broken:
            self._read_batch_here()
            return
        batch, self._batch = self._batch, []
        if self._child_owes > SHARE_AFTER and self._shared_waiting < MAX_SHARED_WAITING:
            # The child has fallen behind: read this batch here, with the code it runs; its
            # answers wait in line behind the child's older ones.
            if self._recorder is None:
                self._recorder = CallRecorder(self.inline.endpoints, self.inline.path_prefixes)
            read = self._recorder.read
            self._sent.append(([], 0, [read(item) for item in batch]))
            self._shared_waiting += 1
            self.read_shared += len(batch)
            return
        blob = _dumps(batch)
        self._sent.append((batch, len(blob), None))
        self._child_owes += 1
        self._in_flight += len(blob)
        self._queue_frame(blob)
        while (
            self._in_flight > MAX_IN_FLIGHT_BYTES or self._shared_waiting >= MAX_SHARED_WAITING
        ) and not self.broken:
            self._receive(block=True)

    def _receive(self, *, block: bool) -> None:
        """Take the child's answers that arrived (with ``block``, wait for one)."""
        while self._sent and not self.broken:
            batch, size, shared = self._sent[0]
            if shared is not None:  # read here: in line now
                self._sent.popleft()
                self._shared_waiting -= 1
                self._ready.extend(shared)
                continue
            self._pump()
            blob = self._next_frame()
            if blob is None:
                if not self._closed_output and not block:
                    return
                if not self._closed_output:
                    self._wait()
                    continue
            try:
                answers = None if blob is None else pickle.loads(blob)
            except Exception:  # a damaged answer: read the rest here
                answers = None
            if not isinstance(answers, list) or len(answers) != len(batch):
                self._break()
                return
            self._sent.popleft()
            self._child_owes -= 1
            self._in_flight -= size
            self._ready.extend(answers)
            self.read_by_child += len(batch)
            block = False

    def _break(self) -> None:
        """The child is gone: read what it did not answer here, in order."""
        self.broken = True
        self._stop_child()
        if self._recorder is None:
            self._recorder = CallRecorder(self.inline.endpoints, self.inline.path_prefixes)
        recorder = self._recorder
        sent, self._sent = self._sent, deque()
        self._child_owes = self._shared_waiting = self._in_flight = 0
        for batch, _, shared in sent:
            if shared is not None:
                self._ready.extend(shared)
                continue
            for item in batch:
                self._ready.append(recorder.read(item))
                self.read_in_place += 1
        self._read_batch_here()

    def _read_batch_here(self) -> None:
        """Read the batch not yet sent here, in order (the child is gone)."""
        if not self._batch:
            return
        if self._recorder is None:
            self._recorder = CallRecorder(self.inline.endpoints, self.inline.path_prefixes)
        for item in self._batch:
            self._ready.append(self._recorder.read(item))
            self.read_in_place += 1
        self._batch = []

    def _apply_ready(self) -> None:
        order, ready = self._order, self._ready
        while order:
            head = order[0]
            if head is None:
                if not ready:
                    return
                order.popleft()
                _apply(self.hosts, ready.popleft())
            else:
                order.popleft()
                head()

    def drain(self) -> None:
        """Apply everything outstanding (waiting for the child's answers)."""
        if not self._order:
            return
        if self._batch:
            self._send()
        while self._sent and not self.broken:
            self._receive(block=True)
        self._apply_ready()

    def close(self) -> None:
        """Apply everything outstanding, then let the child go."""
        self.drain()
        self.hosts.defer = None
        self._stop_child()

    def abandon(self) -> None:
        """Stop the child without waiting for its answers (the analysis is given up)."""
        self.broken = True
        self.hosts.defer = None
        self._stop_child(wait=0.0)

    def _stop_child(self, wait: float = _EXIT_WAIT) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        self._outgoing.clear()
        if child.stdin is not None:
            with contextlib.suppress(OSError):
                child.stdin.close()  # the child's end of input: it exits
        try:
            child.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def main() -> int:
    """The child: read batches of conversations on stdin, answer each with its calls."""
    # Ctrl-C reaches the whole process group: the reading process decides what happens.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    first = _read_frame(source)
    if first is None:
        return 0
    endpoints, path_prefixes = pickle.loads(first)
    recorder = CallRecorder(endpoints, path_prefixes)
    while (blob := _read_frame(source)) is not None:
        answers = [recorder.read(item) for item in pickle.loads(blob)]
        out = pickle.dumps(answers, protocol=pickle.HIGHEST_PROTOCOL)
        sink.write(_FRAME.pack(len(out)))
        sink.write(out)
        sink.flush()
    return 0


if __name__ == "__main__":
    # Every answer is written and flushed: exit at once, without tearing down what the
    # conversations left in memory (the reading process waited 0.2-0.7 s for that; issue 14).
    os._exit(main())
