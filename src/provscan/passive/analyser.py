"""Passive identification: stream captures through decoding, reassembly and the host table.

One pass over each capture, frame by frame; nothing is kept per packet. Memory is bounded
by the flow table (:mod:`.reassembly`) and the host table (:mod:`.hosts`), whatever the
size of the capture. The result is a :class:`~provscan.model.ScanResult` of kind
``"passive"``: the same devices, evidence, findings and output formats as an active scan.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from socket import inet_ntoa
from typing import TYPE_CHECKING, BinaryIO, Protocol

from provscan import __version__
from provscan.knowledge.loader import Knowledge, load_cloud_endpoints
from provscan.model import Device, HostEvidence, ScanInfo, ScanResult
from provscan.passive import signals
from provscan.passive.capture import (
    CaptureCorrupt,
    CaptureError,
    CaptureFormatError,
    CaptureTruncated,
    ReadPosition,
    StopPoint,
    read_records,
)
from provscan.passive.cloud import CloudMatcher
from provscan.passive.decode import (
    ETHERTYPE_SADP,
    ICMP_UNREACHABLE,
    ICMPV6_UNREACHABLE,
    LINKTYPE_ETHERNET,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_TCP,
    PROTO_UDP,
    SUPPORTED_LINKTYPES,
    TCP_ACK,
    TCP_FIN,
    TCP_HEADER,
    TCP_RST,
    TCP_SYN,
    decode,
)
from provscan.passive.hosts import (
    MAX_HOSTS,
    SAID_ARP,
    SAID_REFUSAL,
    SAID_SOMETHING,
    HostRecord,
    HostTable,
    capture_time,
)
from provscan.passive.reassembly import (
    MAX_FLOWS,
    PER_DIRECTION_CAP,
    TOTAL_BYTE_BUDGET,
    FlowTable,
)
from provscan.passive.streams import StreamAnalyser
from provscan.passive.window import Bounds

if TYPE_CHECKING:
    from provscan.passive.worker import StreamWorker

#: Frames between two progress reports.
PROGRESS_EVERY = 8192
#: Senders (source MAC and IPv4 address) remembered for the bulk fast path.
MAX_KNOWN_SENDERS = 262_144
#: TCP flags that change a conversation's state (a segment with one is never skipped).
_STATE_FLAGS = TCP_SYN | TCP_FIN | TCP_RST
#: Ethertype IPv4 and a 20-byte IPv4 header (version 4, IHL 5).
_ETHERNET_IPV4 = b"\x08\x00\x45"
#: The first byte of an ICMP / ICMPv6 destination unreachable: a refusal, as a TCP reset.
_ICMP_REFUSAL = bytes((ICMP_UNREACHABLE,))
_ICMPV6_REFUSAL = bytes((ICMPV6_UNREACHABLE,))


@dataclass(frozen=True)
class PassiveLimits:
    """The memory bounds of one analysis (see :mod:`.reassembly` and :mod:`.hosts`)."""

    max_flows: int = MAX_FLOWS
    per_direction_cap: int = PER_DIRECTION_CAP
    total_byte_budget: int = TOTAL_BYTE_BUDGET
    max_hosts: int = MAX_HOSTS


class CaptureObserver(Protocol):
    """What the analysis reports while it runs (the CLI's progress bar listens)."""

    def capture_started(self, name: str, total_bytes: int | None) -> None:
        return None

    def capture_progress(self, bytes_done: int, packets: int) -> None:
        return None

    def capture_done(self, name: str, packets: int) -> None:
        return None


class NullCaptureObserver(CaptureObserver):
    """Listens to nothing."""


@dataclass
class CaptureStats:
    packets: int = 0
    bytes_captured: int = 0
    undecoded: int = 0
    snaplen_cut: int = 0
    fragments: int = 0
    #: Frames of UDP bulk (off the discovery ports, from a known sender) left undecoded.
    bulk_skipped: int = 0
    #: Frames captured outside the time window (``--since``/``--until``), not analysed.
    outside_window: int = 0
    complete: bool = True


class CaptureAnalyser:
    """Feed it captures with :meth:`feed`, then ask for :meth:`result`."""

    def __init__(
        self,
        knowledge: Knowledge,
        *,
        limits: PassiveLimits | None = None,
        observer: CaptureObserver | None = None,
        cloud: CloudMatcher | None = None,
        workers: int = 1,
        window: Bounds | None = None,
    ) -> None:
        """``workers``: 2 reads finished conversations in a second process while this one
        reads the capture (``passive/worker.py``; the same result), 1 reads all here.
        ``window``: only the frames captured inside it are analysed (the others are counted,
        and keep their numbers: packet N is the capture's Nth frame either way)."""
        self.knowledge = knowledge
        self.window = window
        self.limits = limits or PassiveLimits()
        self.observer: CaptureObserver = observer or NullCaptureObserver()
        self.cloud = cloud or CloudMatcher(load_cloud_endpoints(knowledge=knowledge))
        self.hosts = HostTable(self.cloud, self.limits.max_hosts)
        http = knowledge.http_endpoints
        self.streams = StreamAnalyser(
            self.hosts,
            {e.path: e for e in http.endpoints} if http else {},
            http.prefix_extractors() if http else {},
        )
        self._worker: StreamWorker | None = None
        if workers > 1:
            from provscan.passive.worker import StreamWorker

            self._worker = StreamWorker(self.hosts, self.streams)
        self.flows = FlowTable(
            self.streams.analyse if self._worker is None else self._worker.submit,
            max_flows=self.limits.max_flows,
            per_direction_cap=self.limits.per_direction_cap,
            total_byte_budget=self.limits.total_byte_budget,
        )
        self.stats = CaptureStats()
        #: Source MAC + IPv4 address (raw) of senders already recorded (bulk fast path).
        self._known_senders: set[bytes] = set()
        self.names: list[str] = []
        #: The packets read from each capture in ``names`` (the same order).
        self.capture_packets: list[int] = []
        #: Where a stop request ended the reading inside a capture (None: it did not).
        self.stopped_in: StopPoint | None = None
        self.notes: list[str] = []
        self.linktypes: Counter[int] = Counter()
        self.started_at = datetime.now(UTC)

    def feed(self, name: str, handle: BinaryIO, total_bytes: int | None = None) -> None:
        """Analyse one capture. A damaged one is used up to the damage and noted.

        Raises CaptureFormatError when ``handle`` is not a capture at all.
        """
        self.names.append(name)
        self.capture_packets.append(0)
        self.observer.capture_started(name, total_bytes)
        first_packet = self.stats.packets + 1
        position = ReadPosition()
        try:
            self._frames(handle, position)
        except CaptureFormatError as exc:
            raise CaptureFormatError(f"{name}: {exc}") from exc
        except (CaptureTruncated, CaptureCorrupt) as exc:
            self.stats.complete = False
            kind = "truncated" if isinstance(exc, CaptureTruncated) else "corrupt"
            self.notes.append(f"{name} is {kind}: {exc}; the packets before it were analysed")
        except CaptureError as exc:  # pragma: no cover - every subclass is handled above
            self.stats.complete = False
            self.notes.append(f"{name}: {exc}")
        except BaseException:
            # A stop request between packets: the packets read so far are analysed, and the
            # result says where in this capture the reading stopped.
            read = self.stats.packets - first_packet + 1
            self.capture_packets[-1] = read
            self.stopped_in = StopPoint(
                name,
                len(self.names),
                len(self.names),
                read,
                position.file_bytes(handle),
                total_bytes,
                position.compressed,
            )
            self.notes.append(
                f"{name}: packets {first_packet}-{self.stats.packets}, then stopped on request"
                if read
                else f"{name}: stopped on request before its first packet"
            )
            raise
        if self._worker is not None:
            self._worker.drain()  # the host table holds every finished conversation's facts
        last_packet = self.stats.packets
        self.capture_packets[-1] = last_packet - first_packet + 1
        self.notes.append(
            f"{name}: packets {first_packet}-{last_packet}"
            if last_packet >= first_packet
            else f"{name}: no packets"
        )
        self.observer.capture_done(name, last_packet - first_packet + 1)

    def _frames(self, handle: BinaryIO, position: ReadPosition | None = None) -> None:
        stats = self.stats
        # The counters live in locals while the capture streams (a stop request or a damaged
        # record ends the loop with an exception: they are written back in any case).
        counts = [stats.packets, stats.bytes_captured, stats.bulk_skipped]
        try:
            self._loop(handle, counts, position)
        finally:
            stats.packets, stats.bytes_captured, stats.bulk_skipped = counts

    def _loop(
        self, handle: BinaryIO, counts: list[int], reading: ReadPosition | None = None
    ) -> None:
        hosts = self.hosts
        flows = self.flows
        observer = self.observer
        discovery_ports = signals.DISCOVERY_PORTS
        number, captured, bulk = counts
        tell = getattr(handle, "tell", None)
        # The bulk fast path: an untagged Ethernet/IPv4 frame (20-byte header, not a later
        # fragment, not cut) carrying UDP off the discovery ports (RTP and the like) from a
        # sender already recorded with that MAC is counted and left undecoded: nothing in
        # it can change what the capture yields (tests/pcap/test_passive_scale.py). TCP
        # bulk is decoded, then skipped before its payload is read (``flows.ignores``).
        known_senders = self._known_senders
        tcp_header = TCP_HEADER.unpack_from
        by_raw = flows.by_raw
        move_to_end = flows.lru_touch
        window = self.window
        since, until = (window.since, window.until) if window is not None else (0.0, 0.0)
        stats = self.stats
        records = read_records(handle, reading)
        try:
            for linktype, time, data, wire_length in records:
                number += 1
                length = len(data)
                captured += length
                if number % PROGRESS_EVERY == 0:
                    counts[:] = number, captured, bulk  # the observer may stop the run here
                    try:
                        position = tell() if tell is not None else captured
                    except (OSError, ValueError):
                        position = captured
                    observer.capture_progress(position, number)
                if window is not None and not since <= time < until:
                    stats.outside_window += 1
                    continue
                plain = (
                    linktype == LINKTYPE_ETHERNET
                    and length >= 42
                    and data[12:15] == _ETHERNET_IPV4
                    and (data[16] << 8 | data[17]) >= 28
                    and not (data[20] & 0x1F or data[21])
                    and wire_length == length
                )
                sender_key = data[6:12] + data[26:30] if plain else b""
                if (
                    plain
                    and data[23] == PROTO_UDP
                    and (data[34] << 8 | data[35]) not in discovery_ports
                    and (data[36] << 8 | data[37]) not in discovery_ports
                    and sender_key in known_senders
                ):
                    bulk += 1
                    continue
                if plain and data[23] == PROTO_TCP:
                    # The TCP fast path: the same steps as below, without building a Packet
                    # (most frames of a capture; decode.py has the general case).
                    end = 14 + (data[16] << 8 | data[17])
                    if 54 <= end <= length and data[46] >= 0x50:  # a 20-byte header or longer
                        header_length = (data[46] >> 4) * 4
                        sport, dport, seq, _ack, _offset, flags = tcp_header(data, 34)
                        if sender_key not in known_senders:
                            record = hosts.sender(
                                inet_ntoa(data[26:30]),
                                data[6:12].hex(":"),
                                number,
                                time,
                                SAID_REFUSAL if flags & TCP_RST else SAID_SOMETHING,
                            )
                            # A host that only refused so far is not skipped: what it sends
                            # next may be more than a refusal.
                            if (
                                record is not None
                                and record.spoke
                                and len(known_senders) < MAX_KNOWN_SENDERS
                            ):
                                known_senders.add(sender_key)
                        if flags & TCP_SYN:
                            if flags & TCP_ACK:
                                hosts.open_port(inet_ntoa(data[26:30]), sport)
                            else:
                                hosts.initiated(inet_ntoa(data[26:30]), data[30:34])
                        raw = data[26:38]
                        flow = by_raw.get(raw)
                        if flow is not None:
                            # A flow this path opened: found by the frame's raw addresses and
                            # ports (what ``flows.ignores`` and ``flows.segment`` do, one lookup).
                            from_client = raw == flow.client_raw
                            if not flags & _STATE_FLAGS:
                                if (flow.to_server if from_client else flow.to_client).done:
                                    flows.skipped += 1
                                    continue
                                if end == 34 + header_length:
                                    # A bare ACK (most segments): it only makes the flow the
                                    # most recently used; no byte, state or bound changes.
                                    move_to_end(id(flow))
                                    continue
                            flows.continue_flow(
                                flow,
                                from_client,
                                seq,
                                flags,
                                data[34 + header_length : end],
                                number,
                                time,
                            )
                            continue
                        source = inet_ntoa(data[26:30])
                        destination = inet_ntoa(data[30:34])
                        if not flows.ignores(source, sport, destination, dport, flags):
                            flows.segment(
                                source,
                                sport,
                                destination,
                                dport,
                                seq,
                                flags,
                                data[34 + header_length : end],
                                number,
                                time,
                                False,
                                raw,
                            )
                        continue
                self._general(linktype, time, data, wire_length, number, plain, sender_key)
        finally:
            # Written back however the loop ends (a damaged record, a stop request); the
            # reading is closed, so ``reading`` says exactly how far it went.
            counts[:] = number, captured, bulk
            records.close()

    def _general(
        self,
        linktype: int,
        time: float,
        data: bytes,
        wire_length: int,
        number: int,
        plain: bool,
        sender_key: bytes,
    ) -> None:
        """Any frame the fast paths do not take: decoded in full (``decode``)."""
        hosts = self.hosts
        flows = self.flows
        stats = self.stats
        known_senders = self._known_senders
        discovery_ports = signals.DISCOVERY_PORTS
        packet = decode(linktype, data)
        if packet is None:
            stats.undecoded += 1
            self.linktypes[linktype] += 1
            return
        cut = wire_length > len(data)
        if cut:
            stats.snaplen_cut += 1
        src_ip = packet.src_ip
        if src_ip is None:
            if packet.arp is not None:
                mac, ip = packet.arp
                hosts.bind(mac, ip)
                if hosts.sender(ip, mac, number, time, SAID_ARP) is None:
                    hosts.mac_host(mac, number, time)
            elif packet.ethertype == ETHERTYPE_SADP and packet.src_mac:
                hosts.facts(
                    None,
                    packet.src_mac,
                    signals.parse_sadp_layer2(packet.payload),
                    number,
                    time,
                )
            return
        proto = packet.proto
        said = SAID_SOMETHING
        if not packet.fragment and (
            (proto == PROTO_TCP and packet.flags & TCP_RST)
            or (proto == PROTO_ICMP and packet.payload[:1] == _ICMP_REFUSAL)
            or (proto == PROTO_ICMPV6 and packet.payload[:1] == _ICMPV6_REFUSAL)
        ):
            said = SAID_REFUSAL
        record = hosts.sender(src_ip, packet.src_mac, number, time, said)
        if (
            record is not None
            and record.spoke
            and plain
            and sender_key not in known_senders
            and len(known_senders) < MAX_KNOWN_SENDERS
        ):
            # Recorded with this MAC: the same sender again changes nothing (a host that only
            # refused so far is not skipped: what it sends next may be more).
            known_senders.add(sender_key)
        if packet.fragment:
            stats.fragments += 1
            return
        if proto == PROTO_TCP:
            flags = packet.flags
            assert packet.dst_ip is not None
            if flags & TCP_SYN:
                if flags & TCP_ACK:
                    hosts.open_port(src_ip, packet.sport)
                else:
                    hosts.initiated(src_ip, packet.dst_ip)
            if flows.ignores(src_ip, packet.sport, packet.dst_ip, packet.dport, flags):
                return  # bulk of a conversation already read: its payload is never cut
            flows.segment(
                src_ip,
                packet.sport,
                packet.dst_ip,
                packet.dport,
                packet.seq,
                flags,
                packet.payload,
                number,
                time,
                cut or packet.truncated,
            )
        elif proto == PROTO_UDP and (
            packet.sport in discovery_ports or packet.dport in discovery_ports
        ):
            self._udp(
                src_ip, packet.src_mac, packet.sport, packet.dport, packet.payload, number, time
            )

    def _udp(
        self,
        src_ip: str,
        src_mac: str | None,
        sport: int,
        dport: int,
        payload: bytes,
        number: int,
        time: float,
    ) -> None:
        facts: signals.Facts | None = None
        if dport == signals.PORT_DHCP_SERVER or sport == signals.PORT_DHCP_SERVER:
            facts = signals.parse_dhcp(payload)
            if facts is not None and facts.port == signals.PORT_DHCP_CLIENT:
                # A server's ACK: a MAC-to-address binding, nothing about the server.
                if facts.mac is not None and facts.ip is not None:
                    self.hosts.bind(facts.mac, facts.ip, facts.protocol)
                return
        elif dport == signals.PORT_DNS:
            facts = signals.parse_dns_query(payload)
        elif sport in signals.DISCOVERY_ONLY_PORTS:
            facts = signals.parse_discovery(sport, payload, src_ip)
        elif dport in signals.DISCOVERY_ONLY_PORTS:
            # Announcements (NOTIFY, Hello, mDNS answers) go to the group port.
            facts = signals.parse_discovery(dport, payload, src_ip)
        if facts is not None:
            self.hosts.facts(src_ip, src_mac, facts, number, time)

    def _udp_guarded(
        self,
        src_ip: str,
        src_mac: str | None,
        sport: int,
        dport: int,
        payload: bytes,
        number: int,
        time: float,
    ) -> None:
        try:
            self._udp(src_ip, src_mac, sport, dport, payload, number, time)
        except Exception as exc:  # a hostile datagram costs itself only
            self.stats.undecoded += 1
            if len(self.notes) < 100:
                self.notes.append(
                    f"packet {number}: UDP {sport}->{dport} not parsed "
                    f"({type(exc).__name__}: {exc})"[:300]
                )

    def close(self) -> None:
        """Apply what the second process (``workers=2``) still owes and let it go; the
        analysis goes on in this process if more is fed."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()
            self.flows._on_complete = self.streams.analyse

    def abandon(self) -> None:
        """Stop the second process at once (the analysis is given up: an error, a second
        Ctrl-C); nothing it owes is applied."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.abandon()

    def result(
        self, identify: Callable[[HostEvidence], Device], policy_ids: Sequence[str] = ()
    ) -> ScanResult:
        """Complete the open flows and identify every host that sent a packet (``identify`` is
        the identification stage; ``policy_ids`` are recorded in the result)."""
        self.flows.flush()
        self.close()
        # Timed by its packets, not by when it was analysed (before the facts are let go):
        # a month-old capture is a month-old sighting. None: the analysis's time, as before.
        span = packet_span(self.hosts.hosts.values(), datetime.now(UTC))
        devices = self.hosts.build_devices(identify, release=True)
        notes = list(self.notes)
        stats = self.stats
        notes.append(
            f"{stats.packets:,} packets ({stats.bytes_captured:,} bytes captured), "
            f"{len(self.hosts.hosts):,} hosts sent packets, {len(devices):,} devices after "
            "merging addresses that share a MAC"
        )
        if self.hosts.refused_only:
            count = self.hosts.refused_only
            notes.append(
                f"{count} {'address' if count == 1 else 'addresses'} only refused connections "
                "(TCP resets, ICMP unreachable) and showed nothing of themselves: not devices"
            )
        if self.window is not None:
            inside = stats.packets - stats.outside_window
            notes.append(
                f"time window (--since/--until) {self.window.label}: {inside} of "
                f"{stats.packets} packets inside it analysed, the others skipped"
            )
        if stats.undecoded:
            unsupported = ", ".join(
                f"{linktype}"
                for linktype in sorted(self.linktypes)
                if linktype not in SUPPORTED_LINKTYPES
            )
            extra = f" (unsupported link types: {unsupported})" if unsupported else ""
            notes.append(f"{stats.undecoded} frames not decoded{extra}")
        if stats.snaplen_cut:
            notes.append(f"{stats.snaplen_cut} frames cut by the capture's snaplen")
        if stats.fragments:
            notes.append(f"{stats.fragments} IP fragments skipped (not reassembled)")
        if self.flows.evicted:
            notes.append(
                f"{self.flows.evicted} TCP conversations analysed early to stay within the "
                f"flow table bounds ({self.limits.max_flows} flows, "
                f"{self.limits.total_byte_budget // (1024 * 1024)} MiB)"
            )
        if self.flows.gaps:
            notes.append(f"{self.flows.gaps} TCP conversations had unfilled holes")
        if self.hosts.dropped_hosts:
            notes.append(
                f"more than {self.limits.max_hosts} hosts: {self.hosts.dropped_hosts} "
                "packets from further hosts were not attributed"
            )
        open_ports = sorted({port for device in devices for port in device.open_ports})
        info = ScanInfo(
            scan_id=str(uuid.uuid4()),
            kind="passive",
            started_at=span[0] if span else self.started_at,
            finished_at=span[1] if span else datetime.now(UTC),
            targets=tuple(self.names),
            ports=tuple(open_ports),
            policies=tuple(policy_ids),
            tool_version=__version__,
            hosts_scanned=len(devices),
            hosts_responding=len(devices),
            complete=stats.complete,
            notes=tuple(notes),
        )
        return ScanResult(info, tuple(devices))


#: Packet times this far past the analysis are a capturing clock gone wrong, not the future.
_CLOCK_SLACK = timedelta(days=1)


def packet_span(
    records: Iterable[HostRecord], analysed_at: datetime
) -> tuple[datetime, datetime] | None:
    """When the captured packets were sent, as the host table kept it: from the first packet
    of any host to the latest packet it kept a fact, MAC or first packet of (the read loop
    keeps no time of its own; a host's later repeats of what it already said are counted, not
    timed). None when no host sent a packet (an empty capture) or when the times are no
    clock's (a capture written with zero timestamps, or times past ``analysed_at``): the
    caller then times the scan by its analysis, as before."""
    first = last = None
    for record in records:
        times = [record.first_time, *(time for _, time in record.macs.values())]
        times += [kept[1] for kept in record.observations.values()]
        low, high = min(times), max(times)
        first = low if first is None else min(first, low)
        last = high if last is None else max(last, high)
    if first is None or last is None:
        return None
    start, end = capture_time(first), capture_time(last)
    if start.timestamp() <= 0 or end > analysed_at + _CLOCK_SLACK:
        return None
    return start, end
