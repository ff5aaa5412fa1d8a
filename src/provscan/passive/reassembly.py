"""Bounded TCP reassembly: per-flow byte caps, a flow table with LRU eviction, a global budget.

Each direction of a flow keeps at most ``per_direction_cap`` bytes of in-order payload
(the first bytes of a conversation identify a device; the rest is video or bulk data) and
at most :data:`MAX_PENDING_SEGMENTS` out-of-order segments. Retransmissions and overlaps
are trimmed against what was already taken (first copy wins, as most stacks do); a hole
that is never filled marks the direction ``gap`` and ends its collection. The table keeps
at most ``max_flows`` flows and ``total_byte_budget`` buffered bytes: beyond either, the
least recently used flows are *completed* (handed to the analyser as they are) and dropped,
so memory stays flat on captures of any size while no started conversation is lost.

Bulk is skipped unread: a segment for a direction that holds all it keeps is dropped before
its payload is cut (:meth:`FlowTable.ignores`), and a conversation analysed because both
directions were full is remembered by its addresses and ports (at most
:data:`MAX_FINISHED`), so the rest of a video stream or a download does not start a new
flow picked up mid-stream every ``per_direction_cap`` bytes. A SYN on the same ports
starts afresh; a conversation with a hole may be picked up again (later bytes may hold a
message). Flows opened from plain Ethernet/IPv4 frames are also found by the frame's raw
address and port bytes (:attr:`FlowTable.by_raw`), so the analyser's fast path never turns
addresses into text for a conversation it already follows.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from provscan.passive.decode import TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN

#: Default bytes kept per direction of a flow.
PER_DIRECTION_CAP = 64 * 1024
#: Default most flows tracked at once.
MAX_FLOWS = 16_384
#: Default most payload bytes buffered across all flows.
TOTAL_BYTE_BUDGET = 64 * 1024 * 1024
#: Out-of-order segments held per direction while waiting for a hole to fill.
MAX_PENDING_SEGMENTS = 32
#: Stream offsets remembered per direction to map message offsets back to packets.
MAX_MARKS = 256
#: Finished conversations remembered so that their later segments are skipped.
MAX_FINISHED = 32_768
#: Ports whose side is the server when no handshake was seen.
WELL_KNOWN_SERVER_PORTS = frozenset(
    {21, 22, 23, 80, 81, 88, 443, 554, 5000, 8000, 8080, 8081, 8443, 8554, 8899, 9000}
    | {10554, 34567, 37777}
)

#: TCP flags that change a conversation's state.
_STATE_FLAGS = TCP_SYN | TCP_FIN | TCP_RST
_HALF = 0x80000000
_MASK = 0xFFFFFFFF


def _relative(seq: int, base: int) -> int:
    delta = (seq - base) & _MASK
    return delta - 0x100000000 if delta >= _HALF else delta


def _conversation(key: tuple[str, int, str, int]) -> tuple[str, int, str, int]:
    """One key for both directions of a conversation (the smaller endpoint first)."""
    a_ip, a_port, b_ip, b_port = key
    return key if (a_ip, a_port) <= (b_ip, b_port) else (b_ip, b_port, a_ip, a_port)


class Direction:
    """One direction of a flow: in-order bytes up to a cap, plus where they came from."""

    __slots__ = (
        "cap",
        "chunks",
        "done",
        "first_packet",
        "first_time",
        "gap",
        "marks",
        "next_seq",
        "overlaps",
        "pending",
        "pending_bytes",
        "size",
        "snaplen_cut",
    )

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.next_seq: int | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.pending: dict[int, bytes] = {}
        self.pending_bytes = 0
        #: (stream offset, packet number, time) where each new packet's bytes begin.
        self.marks: list[tuple[int, int, float]] = []
        self.first_packet = 0
        self.first_time = 0.0
        self.done = False
        self.gap = False
        self.snaplen_cut = False
        self.overlaps = 0

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)

    def syn(self, seq: int) -> None:
        if self.size == 0:
            self.next_seq = (seq + 1) & _MASK

    def add(self, seq: int, payload: bytes, number: int, time: float, cut: bool) -> int:
        """Take a segment; returns how many in-order bytes it added."""
        if self.done:
            return 0
        if self.next_seq is None:
            self.next_seq = seq  # picked up mid-stream: the first segment seen is the start
        next_seq = self.next_seq
        if seq == next_seq and not self.pending and not cut:
            # In order with nothing waiting (most segments): what ``_append`` does with a
            # delta of 0, inline.
            length = len(payload)
            if not length:
                return 0
            self.next_seq = (next_seq + length) & _MASK
            size = self.size
            space = self.cap - size
            if space <= 0:
                self.done = True
                return 0
            chunks = self.chunks
            if not chunks:
                self.first_packet, self.first_time = number, time
            if len(self.marks) < MAX_MARKS:
                self.marks.append((size, number, time))
            if length > space:
                payload = payload[:space]
                length = space
            chunks.append(payload)
            size += length
            self.size = size
            if size >= self.cap:
                self.done = True
            return length
        delta = _relative(seq, next_seq)
        if delta > 0:
            too_many = len(self.pending) >= MAX_PENDING_SEGMENTS
            too_big = self.size + self.pending_bytes + len(payload) > self.cap
            if too_many or too_big or delta > self.cap:
                self.gap = True
                self.done = True
                return 0
            kept = self.pending.get(seq)
            if kept is None or len(kept) < len(payload):
                self.pending[seq] = payload
                self.pending_bytes += len(payload) - (len(kept) if kept else 0)
            return 0
        taken = self._append(delta, payload, number, time)
        if cut:
            # The snaplen cut this segment: the stream has an unknowable hole after it.
            self.snaplen_cut = True
            self.done = True
            return taken
        while self.pending and not self.done:
            ready = [s for s in self.pending if _relative(s, self.next_seq) <= 0]
            if not ready:
                break
            for pending_seq in ready:
                segment = self.pending.pop(pending_seq)
                self.pending_bytes -= len(segment)
                taken += self._append(_relative(pending_seq, self.next_seq), segment, number, time)
        return taken

    def _append(self, delta: int, payload: bytes, number: int, time: float) -> int:
        if delta < 0:
            self.overlaps += 1
            if -delta >= len(payload):
                return 0  # a retransmission of bytes we already have
            payload = payload[-delta:]
        if not payload:
            return 0
        assert self.next_seq is not None
        self.next_seq = (self.next_seq + len(payload)) & _MASK
        space = self.cap - self.size
        if space <= 0:
            self.done = True
            return 0
        if not self.chunks:
            self.first_packet, self.first_time = number, time
        if len(self.marks) < MAX_MARKS:
            self.marks.append((self.size, number, time))
        piece = payload[:space]
        self.chunks.append(piece)
        self.size += len(piece)
        if self.size >= self.cap:
            self.done = True
        return len(piece)

    def packet_at(self, offset: int) -> tuple[int, float]:
        """The packet (number, time) that carried the byte at ``offset``."""
        found = (self.first_packet, self.first_time)
        for mark_offset, number, time in self.marks:
            if mark_offset > offset:
                break
            found = (number, time)
        return found

    def release(self) -> None:
        if self.chunks:
            self.chunks = []
        if self.pending:
            self.pending = {}
        self.pending_bytes = 0


@dataclass(eq=False)
class Flow:
    """A TCP conversation between a client endpoint and a server endpoint."""

    client_ip: str
    client_port: int
    server_ip: str
    server_port: int
    to_server: Direction
    to_client: Direction
    #: True when the server's SYN-ACK was seen (so the roles are certain).
    handshake_seen: bool = False
    client_closed: bool = False
    server_closed: bool = False
    #: The client-to-server key in raw bytes (IPv4 source, destination, source port,
    #: destination port, as in the frame) when the flow was opened from a plain IPv4 frame.
    client_raw: bytes = b""
    #: The same key server-to-client (set with :attr:`client_raw`).
    server_raw: bytes = b""

    @property
    def buffered(self) -> int:
        return (
            self.to_server.size
            + self.to_client.size
            + self.to_server.pending_bytes
            + self.to_client.pending_bytes
        )


class FlowTable:
    """Tracks flows and hands each finished one to ``on_complete`` exactly once."""

    def __init__(
        self,
        on_complete: Callable[[Flow], None],
        *,
        max_flows: int = MAX_FLOWS,
        per_direction_cap: int = PER_DIRECTION_CAP,
        total_byte_budget: int = TOTAL_BYTE_BUDGET,
    ) -> None:
        self._on_complete = on_complete
        self.max_flows = max_flows
        self.per_direction_cap = per_direction_cap
        self.total_byte_budget = total_byte_budget
        self._by_key: dict[tuple[str, int, str, int], Flow] = {}
        #: The same flows by the raw bytes of the frame's addresses and ports (both
        #: directions; flows opened from plain IPv4 frames only): the analyser's fast path
        #: finds a flow with one slice and one lookup, then hands it to :meth:`continue_flow`.
        self.by_raw: dict[bytes, Flow] = {}
        self._lru: OrderedDict[int, Flow] = OrderedDict()
        #: Makes a flow (by ``id``) the most recently used: what a segment without payload
        #: or state flags does to a tracked flow, and all it does (the analyser's fast path).
        self.lru_touch = self._lru.move_to_end
        self.buffered = 0
        self.peak_flows = 0
        self.evicted = 0
        self.gaps = 0
        #: Conversations analysed already (by :func:`_conversation`), oldest first; bounded.
        self._finished: OrderedDict[tuple[str, int, str, int], None] = OrderedDict()
        #: Segments of finished conversations (or of full directions) skipped unread.
        self.skipped = 0

    def ignores(self, src_ip: str, sport: int, dst_ip: str, dport: int, flags: int) -> bool:
        """Whether a segment can be skipped without reading its payload: it belongs to a
        conversation already analysed, or to a direction that has all the bytes it keeps,
        and it carries no SYN, FIN or RST (which still change the conversation's state)."""
        if flags & (TCP_SYN | TCP_FIN | TCP_RST):
            return False
        key = (src_ip, sport, dst_ip, dport)
        flow = self._by_key.get(key)
        if flow is None:
            if self._finished and _conversation(key) in self._finished:
                self.skipped += 1
                return True
            return False
        from_client = src_ip == flow.client_ip and sport == flow.client_port
        if (flow.to_server if from_client else flow.to_client).done:
            self.skipped += 1
            return True
        return False

    def __len__(self) -> int:
        return len(self._lru)

    def segment(
        self,
        src_ip: str,
        sport: int,
        dst_ip: str,
        dport: int,
        seq: int,
        flags: int,
        payload: bytes,
        number: int,
        time: float,
        cut: bool = False,
        raw: bytes = b"",
    ) -> None:
        """Take one segment. ``raw``: the frame's IPv4 addresses and ports as bytes (12 bytes,
        see :attr:`Flow.client_raw`), to index a flow this segment opens."""
        key = (src_ip, sport, dst_ip, dport)
        flow = self._by_key.get(key)
        if flow is None:
            if not payload and not flags & TCP_SYN:
                return  # a bare ACK/FIN/RST of a flow we do not track
            if self._finished and _conversation(key) in self._finished:
                if not flags & TCP_SYN:
                    self.skipped += 1
                    return  # more of a conversation already analysed
                del self._finished[_conversation(key)]  # the ports reused for a new one
            flow = self._open(src_ip, sport, dst_ip, dport, flags)
            from_client = src_ip == flow.client_ip and sport == flow.client_port
            if raw and id(flow) in self._lru:  # (not when the table's bounds closed it at once)
                reverse = raw[4:8] + raw[0:4] + raw[10:12] + raw[8:10]
                if from_client:
                    flow.client_raw, flow.server_raw = raw, reverse
                else:
                    flow.client_raw, flow.server_raw = reverse, raw
                self.by_raw[raw] = self.by_raw[reverse] = flow
        else:
            self._lru.move_to_end(id(flow))
            from_client = src_ip == flow.client_ip and sport == flow.client_port
        self._take(flow, from_client, seq, flags, payload, number, time, cut)

    def continue_flow(
        self,
        flow: Flow,
        from_client: bool,
        seq: int,
        flags: int,
        payload: bytes,
        number: int,
        time: float,
    ) -> None:
        """A segment of ``flow`` (found with :attr:`by_raw`): what :meth:`segment` does with
        a flow it finds, without looking it up again."""
        self._lru.move_to_end(id(flow))
        if flags & _STATE_FLAGS:
            self._take(flow, from_client, seq, flags, payload, number, time, False)
            return
        # No SYN, FIN or RST (most segments): ``_take``'s steps for them, inline.
        if payload:
            direction = flow.to_server if from_client else flow.to_client
            before = direction.size + direction.pending_bytes
            direction.add(seq, payload, number, time, False)
            self.buffered += direction.size + direction.pending_bytes - before
            if self.buffered > self.total_byte_budget:
                self._evict_until_within_budget(flow)
        if flow.to_server.done and flow.to_client.done:
            lossy = any(d.gap or d.snaplen_cut for d in (flow.to_server, flow.to_client))
            self._complete(flow, finished=not lossy)

    def _take(
        self,
        flow: Flow,
        from_client: bool,
        seq: int,
        flags: int,
        payload: bytes,
        number: int,
        time: float,
        cut: bool,
    ) -> None:
        direction = flow.to_server if from_client else flow.to_client
        if flags & TCP_SYN:
            direction.syn(seq)
            if not from_client and flags & TCP_ACK:
                flow.handshake_seen = True
        if payload:
            before = direction.size + direction.pending_bytes
            direction.add(seq, payload, number, time, cut)
            self.buffered += direction.size + direction.pending_bytes - before
            if self.buffered > self.total_byte_budget:
                self._evict_until_within_budget(flow)
        if flags & TCP_RST:
            self._complete(flow)
            return
        if flags & TCP_FIN:
            if from_client:
                flow.client_closed = True
            else:
                flow.server_closed = True
            if flow.client_closed and flow.server_closed:
                self._complete(flow)
                return
        if flow.to_server.done and flow.to_client.done:
            # Full on both sides: the rest is bulk. After a hole, later bytes may still
            # hold a message, so such a conversation may be picked up again.
            lossy = any(d.gap or d.snaplen_cut for d in (flow.to_server, flow.to_client))
            self._complete(flow, finished=not lossy)

    def _remember(self, flow: Flow) -> None:
        finished = self._finished
        key = (flow.client_ip, flow.client_port, flow.server_ip, flow.server_port)
        finished[_conversation(key)] = None
        if len(finished) > MAX_FINISHED:
            finished.popitem(last=False)

    def _open(self, src_ip: str, sport: int, dst_ip: str, dport: int, flags: int) -> Flow:
        if flags & TCP_SYN:
            sender_is_client = not flags & TCP_ACK
        elif sport in WELL_KNOWN_SERVER_PORTS and dport not in WELL_KNOWN_SERVER_PORTS:
            sender_is_client = False
        elif dport in WELL_KNOWN_SERVER_PORTS:
            sender_is_client = True
        else:
            sender_is_client = dport < sport
        if sender_is_client:
            client, server = (src_ip, sport), (dst_ip, dport)
        else:
            client, server = (dst_ip, dport), (src_ip, sport)
        flow = Flow(
            client[0],
            client[1],
            server[0],
            server[1],
            Direction(self.per_direction_cap),
            Direction(self.per_direction_cap),
        )
        self._by_key[(client[0], client[1], server[0], server[1])] = flow
        self._by_key[(server[0], server[1], client[0], client[1])] = flow
        self._lru[id(flow)] = flow
        while len(self._lru) > self.max_flows:
            _, oldest = self._lru.popitem(last=False)
            self._lru[id(oldest)] = oldest  # _complete removes it
            self.evicted += 1
            self._complete(oldest)
        if len(self._lru) > self.peak_flows:
            self.peak_flows = len(self._lru)
        return flow

    def _evict_until_within_budget(self, keep: Flow) -> None:
        for flow in list(self._lru.values()):
            if self.buffered <= self.total_byte_budget // 2:
                break
            if flow is keep:
                continue
            self.evicted += 1
            self._complete(flow)

    def _complete(self, flow: Flow, *, finished: bool = False) -> None:
        """Hand ``flow`` to the analyser and drop it; ``finished``: both directions were
        full, so its later segments (bulk) are skipped."""
        if self._lru.pop(id(flow), None) is None:
            return
        if finished:
            self._remember(flow)
        client_ip, client_port = flow.client_ip, flow.client_port
        server_ip, server_port = flow.server_ip, flow.server_port
        by_key = self._by_key
        by_key.pop((client_ip, client_port, server_ip, server_port), None)
        by_key.pop((server_ip, server_port, client_ip, client_port), None)
        if flow.client_raw:
            self.by_raw.pop(flow.client_raw, None)
            self.by_raw.pop(flow.server_raw, None)
        to_server, to_client = flow.to_server, flow.to_client
        self.buffered -= (
            to_server.size + to_client.size + to_server.pending_bytes + to_client.pending_bytes
        )
        if to_server.pending:
            to_server.gap = True  # segments still waiting: the hole before them never filled
        if to_client.pending:
            to_client.gap = True
        if to_server.gap or to_client.gap:
            self.gaps += 1
        try:
            if to_server.size or to_client.size:
                self._on_complete(flow)
        finally:
            to_server.release()
            to_client.release()

    def flush(self) -> None:
        """Complete every flow still open (end of the capture)."""
        for flow in list(self._lru.values()):
            self._complete(flow)
