"""Streaming readers for pcap and pcapng files (optionally gzip-compressed), pure framing.

Frames are read one at a time from a chunked buffer: a capture of any size costs at most
:data:`READ_CHUNK` bytes plus one record. Every length read from the file is checked
before it is used, so a hostile ``caplen`` of 4 GiB is a clear :class:`CaptureCorrupt`,
never a 4 GiB allocation (dpkt's own readers trust these lengths; see
``docs/decisions/0005-passive-capture-analysis.md``).

A capture that ends inside a record, or whose gzip stream is cut short, is *truncated*:
the frames before the cut are yielded, then :class:`CaptureTruncated` is raised. A file
that is not a capture at all raises :class:`CaptureFormatError` before the first frame.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from provscan.errors import InputError, ProvscanError

#: Bytes read from the file at a time.
READ_CHUNK = 1024 * 1024
#: The largest frame any capture tool writes (libpcap's MAXIMUM_SNAPLEN).
MAX_CAPLEN = 262_144
#: Largest pcapng block we accept: a maximal packet plus generous options.
MAX_BLOCK_BYTES = MAX_CAPLEN + 64 * 1024
#: Largest block we skip without reading into memory at once (name resolution, stats…).
MAX_SKIPPED_BLOCK_BYTES = 64 * 1024 * 1024

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D
GZIP_MAGIC = b"\x1f\x8b"
#: zlib's window bits for a gzip header and trailer (CRC and length checked).
_GZIP_WBITS = 16 + zlib.MAX_WBITS
#: Compressed bytes read from the file at a time.
_GZIP_INPUT_CHUNK = 256 * 1024

_PCAPNG_IDB = 1
_PCAPNG_PB = 2
_PCAPNG_SPB = 3
_PCAPNG_EPB = 6


class CaptureError(ProvscanError):
    """A capture could not be read (base of the passive seam's errors)."""


class CaptureFormatError(CaptureError, InputError):
    """The input is not a pcap, pcapng or gzip-compressed capture."""


class CaptureFileError(CaptureError, InputError):
    """A capture file named by the user cannot be opened."""


class CaptureCorrupt(CaptureError):
    """A record or block inside the capture has impossible lengths or fields."""


class CaptureTruncated(CaptureError):
    """The capture ends in the middle of a record (or its compression stream is cut)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured frame: its 1-based number, capture time (epoch seconds) and bytes."""

    number: int
    time: float
    linktype: int
    data: bytes
    #: Length on the wire; larger than ``len(data)`` when the snaplen cut the frame.
    wire_length: int


class _ChainedReader:
    """``prefix`` then the rest of ``stream``: lets us sniff magic bytes on a pipe."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def read(self, size: int = -1, /) -> bytes:
        if self._prefix:
            if size < 0:
                data, self._prefix = self._prefix + self._stream.read(), b""
                return data
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            if len(data) < size:
                data += self._stream.read(size - len(data))
            return data
        return self._stream.read(size)


class _GzipReader:
    """A gzip stream decompressed as it is read, keeping every byte before a cut or damage.

    ``gzip.GzipFile.read(n)`` raises at a cut stream and drops what it had decompressed for
    that call: with 1 MiB reads, a capture cut in its first megabyte gave no frame at all.
    Here a read returns what was decompressed, and the problem (``EOFError`` at a cut,
    ``zlib.error`` for damage) is raised by the next read. Output is bounded per read
    (``max_length``), so a small stream that inflates hugely costs no more than the read asked
    for. Concatenated members are read in turn, as gzip(1) and ``GzipFile`` do; zero padding
    after the last member is ignored.
    """

    def __init__(self, raw: _ChainedReader) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj(_GZIP_WBITS)
        #: Compressed bytes not yet given to the decompressor.
        self._input = b""
        self._problem: Exception | None = None
        self._ended = False

    def read(self, size: int) -> bytes:
        """Up to ``size`` decompressed bytes (fewer only at the end, a cut or damage); b""
        at the end; raises the problem the previous read stopped at."""
        pieces: list[bytes] = []
        have = 0
        while have < size and not self._ended and self._problem is None:
            try:
                piece = self._next(size - have)
            except zlib.error as exc:
                self._problem = exc
                break
            if piece:
                pieces.append(piece)
                have += len(piece)
        if not pieces and self._problem is not None:
            problem, self._problem = self._problem, None
            self._ended = True
            raise problem
        return b"".join(pieces)

    def _next(self, wanted: int) -> bytes:
        """Some decompressed bytes (b"" when only input was taken or the stream ended)."""
        inflate = self._inflate
        if inflate.eof:
            rest = inflate.unused_data.lstrip(b"\0") + self._input
            self._input = b""
            while not rest:  # (zero padding may fill whole reads)
                read = self._raw.read(_GZIP_INPUT_CHUNK)
                if not read:
                    self._ended = True  # whole members, then the end
                    return b""
                rest = read.lstrip(b"\0")
            self._inflate = inflate = zlib.decompressobj(_GZIP_WBITS)  # the next member
            self._input = rest
        data = inflate.unconsumed_tail or self._input
        self._input = b""
        if not data:
            data = self._raw.read(_GZIP_INPUT_CHUNK)
            if not data:
                self._problem = EOFError(
                    "Compressed file ended before the end-of-stream marker was reached"
                )
                return b""
        return inflate.decompress(data, wanted)


class _Buffer:
    """A chunked reader: ``take(n)`` returns exactly n bytes, or fewer only at end of input."""

    def __init__(self, stream: _ChainedReader | BinaryIO | _GzipReader) -> None:
        self._stream = stream
        self._data = b""
        self._position = 0
        self.compressed = isinstance(stream, _GzipReader)
        #: Bytes handed out so far (offset in the decompressed capture).
        self.offset = 0

    def _gzip_problem(self, exc: Exception, pending: int) -> CaptureError:
        """Name a gzip failure for what it is: cut short, or corrupt (before or after data)."""
        if isinstance(exc, EOFError):
            return CaptureTruncated(f"gzip stream cut short: {exc}")
        if self.offset == 0 and pending == 0:
            # Nothing came out of the decompressor: the file is no usable gzip at all.
            return CaptureFormatError(f"corrupt gzip file: {exc}")
        return CaptureCorrupt(f"corrupt gzip stream after {self.offset + pending} bytes: {exc}")

    def take(self, size: int) -> bytes:
        position = self._position
        end = position + size
        data = self._data
        if end <= len(data):
            piece = data[position:end]
            self._position = end
            self.offset += size
            return piece
        # Across a chunk: the piece is put together from the end of this chunk and the start
        # of the next ones, which become the buffer as they are (never copied whole).
        pieces = [data[position:]]
        have = len(pieces[0])
        self._data, self._position = b"", 0
        while have < size:
            try:
                chunk = self._stream.read(max(READ_CHUNK, size - have))
            except (EOFError, zlib.error) as exc:
                raise self._gzip_problem(exc, have) from exc
            if not chunk:
                break
            need = size - have
            if len(chunk) > need:
                pieces.append(chunk[:need])
                self._data, self._position = chunk, need
                have = size
            else:
                pieces.append(chunk)
                have += len(chunk)
        piece = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        self.offset += len(piece)
        return piece

    def skip(self, size: int) -> int:
        """Discard ``size`` bytes without holding them; returns how many were skipped."""
        skipped = 0
        while skipped < size:
            piece = self.take(min(READ_CHUNK, size - skipped))
            if not piece:
                break
            skipped += len(piece)
        return skipped


def open_input(source: BinaryIO) -> _ChainedReader | _GzipReader:
    """Wrap a binary stream so that gzip-compressed captures are decompressed on the fly."""
    prefix = b""
    while len(prefix) < 2:
        piece = source.read(2 - len(prefix))
        if not piece:
            break
        prefix += piece
    chained = _ChainedReader(prefix, source)
    if prefix == GZIP_MAGIC:
        return _GzipReader(chained)
    return chained


#: One captured frame as :func:`read_records` yields it: link type, capture time (epoch
#: seconds), the bytes, and the length on the wire (larger than the bytes when cut).
Record = tuple[int, float, bytes, int]


def read_frames(source: BinaryIO) -> Iterator[Frame]:
    """Frames of a pcap or pcapng capture (gzip-compressed or not), in file order.

    Raises CaptureFormatError before the first frame when the input is no capture,
    CaptureCorrupt / CaptureTruncated after the last good frame when it is damaged.
    """
    for number, (linktype, time, data, wire_length) in enumerate(read_records(source), 1):
        yield Frame(number, time, linktype, data, wire_length)


class ReadPosition:
    """How far a :func:`read_records` reading has gone, for saying where a stop left it.

    Exact once the reading's generator is closed (its fast path writes the offset back then):
    the bytes of the capture before the last record handed out, or before the next one.
    """

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer: _Buffer | None = None

    def file_bytes(self, source: BinaryIO) -> int | None:
        """Bytes of ``source``'s file read so far: the capture's offset when it is not
        compressed, else the compressed bytes taken from the file (up to a read ahead of the
        packets handed out); None when unknown."""
        buffer = self._buffer
        if buffer is None:
            return None
        if not buffer.compressed:
            return buffer.offset
        try:
            return source.tell()
        except (OSError, AttributeError, ValueError):
            return None

    @property
    def compressed(self) -> bool:
        return self._buffer is not None and self._buffer.compressed


def read_records(
    source: BinaryIO, position: ReadPosition | None = None
) -> Generator[Record, None, None]:
    """What :func:`read_frames` yields, as plain tuples (:data:`Record`): the analyser's
    loop, where building a :class:`Frame` for each of millions of frames cost a tenth of
    the analysis (issue 14). ``position`` is told how far the reading goes."""
    buffer = _Buffer(open_input(source))
    if position is not None:
        position._buffer = buffer
    head = buffer.take(4)
    if len(head) < 4:
        raise CaptureFormatError(f"too short to be a capture ({len(head)} bytes)")
    little = struct.unpack("<I", head)[0]
    big = struct.unpack(">I", head)[0]
    if little in (PCAP_MAGIC_US, PCAP_MAGIC_NS) or big in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
        yield from _read_pcap(buffer, head)
    elif little == PCAPNG_SHB:
        yield from _read_pcapng(buffer, head)
    else:
        what = (
            "gzip-compressed, but not a pcap or pcapng capture inside"
            if buffer.compressed
            else "not a pcap, pcapng or gzip file"
        )
        raise CaptureFormatError(
            f"{what} (first bytes {head.hex()}); "
            "convert other formats with editcap or tshark -F pcap"
        )


def _read_pcap(buffer: _Buffer, magic: bytes) -> Iterator[Record]:
    endian = "<" if struct.unpack("<I", magic)[0] in (PCAP_MAGIC_US, PCAP_MAGIC_NS) else ">"
    nanoseconds = struct.unpack(endian + "I", magic)[0] == PCAP_MAGIC_NS
    header = buffer.take(20)
    if len(header) < 20:
        raise CaptureFormatError("pcap file header is cut short")
    _major, _minor, _zone, _sigfigs, _snaplen, linktype = struct.unpack(endian + "HHiIII", header)
    linktype &= 0x0FFFFFFF  # the upper bits carry FCS information, not the link type
    divisor = 1e9 if nanoseconds else 1e6
    record = struct.Struct(endian + "IIII")
    unpack_record = record.unpack_from
    number = 0
    while True:
        # Fast path: the whole records already buffered are cut out of the chunk in place (no
        # copy of their headers), with the position in a local and written back once per
        # chunk (attribute stores per record were a fifth of reading; issue 14); anything
        # else (a record across a chunk, a bad length) takes the checked path below.
        chunk, position = buffer._data, buffer._position
        start, size = position, len(chunk)
        try:
            while position + 16 <= size:
                seconds, fraction, caplen, wire_length = unpack_record(chunk, position)
                end = position + 16 + caplen
                if caplen > MAX_CAPLEN or end > size:
                    break
                number += 1
                yield (
                    linktype,
                    seconds + fraction / divisor,
                    chunk[position + 16 : end],
                    wire_length if wire_length > caplen else caplen,
                )
                position = end
        finally:
            buffer._position = position
            buffer.offset += position - start
        offset = buffer.offset
        raw = buffer.take(16)
        if not raw:
            return
        if len(raw) < 16:
            raise CaptureTruncated(
                f"record header cut short at byte {offset} (after packet {number})"
            )
        seconds, fraction, caplen, wire_length = record.unpack(raw)
        if caplen > MAX_CAPLEN:
            raise CaptureCorrupt(
                f"record at byte {offset} claims {caplen} captured bytes "
                f"(more than any capture tool writes: {MAX_CAPLEN}); after packet {number}"
            )
        data = buffer.take(caplen)
        if len(data) < caplen:
            raise CaptureTruncated(
                f"packet {number + 1} cut short at byte {offset}: "
                f"{len(data)} of {caplen} bytes present"
            )
        number += 1
        yield linktype, seconds + fraction / divisor, data, max(wire_length, caplen)


@dataclass
class _Interface:
    linktype: int
    snaplen: int
    divisor: float


def _tsresol_divisor(value: int) -> float:
    exponent = value & 0x7F
    if exponent > 30:
        raise CaptureCorrupt(f"interface timestamp resolution {value:#x} is absurd")
    return float(2**exponent) if value & 0x80 else float(10**exponent)


def _interface(body: bytes, endian: str) -> _Interface:
    if len(body) < 8:
        raise CaptureCorrupt("interface description block too short")
    linktype, _reserved, snaplen = struct.unpack(endian + "HHI", body[:8])
    divisor = 1e6
    position = 8
    while position + 4 <= len(body):
        code, length = struct.unpack(endian + "HH", body[position : position + 4])
        value = body[position + 4 : position + 4 + length]
        if code == 0:
            break
        if code == 9 and length >= 1:  # if_tsresol
            divisor = _tsresol_divisor(value[0])
        position += 4 + length + (-length % 4)
    return _Interface(linktype, snaplen, divisor)


def _read_pcapng(buffer: _Buffer, first: bytes) -> Iterator[Record]:
    endian = "<"
    interfaces: list[_Interface] = []
    number = 0
    block_type_raw: bytes | None = first
    while True:
        offset = buffer.offset - (4 if block_type_raw is not None else 0)
        if block_type_raw is None:
            block_type_raw = buffer.take(4)
            if not block_type_raw:
                return
        if len(block_type_raw) < 4:
            raise CaptureTruncated(
                f"block header cut short at byte {offset} (after packet {number})"
            )
        length_raw = buffer.take(4)
        if len(length_raw) < 4:
            raise CaptureTruncated(
                f"block header cut short at byte {offset} (after packet {number})"
            )
        block_type = struct.unpack(endian + "I", block_type_raw)[0]
        if block_type == PCAPNG_SHB:
            magic_raw = buffer.take(4)
            if len(magic_raw) < 4:
                raise CaptureTruncated(f"section header cut short at byte {offset}")
            if struct.unpack("<I", magic_raw)[0] == PCAPNG_BYTE_ORDER_MAGIC:
                endian = "<"
            elif struct.unpack(">I", magic_raw)[0] == PCAPNG_BYTE_ORDER_MAGIC:
                endian = ">"
            else:
                raise CaptureCorrupt(f"section header at byte {offset} has no byte-order magic")
            interfaces = []  # interface ids restart in every section
            consumed = 12
        else:
            consumed = 8
        block_length = struct.unpack(endian + "I", length_raw)[0]
        block_type_raw = None
        if block_length < 12 or block_length % 4 or block_length < consumed + 4:
            raise CaptureCorrupt(
                f"block at byte {offset} has impossible length {block_length} (after packet {number})"
            )
        body_length = block_length - consumed - 4
        if block_type in (PCAPNG_SHB, _PCAPNG_IDB, _PCAPNG_EPB, _PCAPNG_SPB, _PCAPNG_PB):
            if block_length > MAX_BLOCK_BYTES:
                raise CaptureCorrupt(
                    f"block at byte {offset} claims {block_length} bytes (after packet {number})"
                )
            body = buffer.take(body_length)
            trailer = buffer.take(4)
            if len(body) < body_length or len(trailer) < 4:
                raise CaptureTruncated(f"block at byte {offset} cut short (after packet {number})")
        else:
            if block_length > MAX_SKIPPED_BLOCK_BYTES:
                raise CaptureCorrupt(f"block at byte {offset} claims {block_length} bytes")
            if buffer.skip(body_length + 4) < body_length + 4:
                raise CaptureTruncated(f"block at byte {offset} cut short (after packet {number})")
            continue
        if block_type == PCAPNG_SHB:
            continue
        if block_type == _PCAPNG_IDB:
            interfaces.append(_interface(body, endian))
            continue
        frame = _packet_from_block(block_type, body, endian, interfaces, offset)
        if frame is None:
            continue
        number += 1
        yield frame


def _packet_from_block(
    block_type: int, body: bytes, endian: str, interfaces: list[_Interface], offset: int
) -> tuple[int, float, bytes, int] | None:
    if block_type == _PCAPNG_SPB:
        if not interfaces or len(body) < 4:
            raise CaptureCorrupt(f"simple packet block at byte {offset} without an interface")
        wire_length = struct.unpack(endian + "I", body[:4])[0]
        interface = interfaces[0]
        caplen = min(wire_length, len(body) - 4)
        if interface.snaplen:
            caplen = min(caplen, interface.snaplen)
        return interface.linktype, 0.0, body[4 : 4 + caplen], max(wire_length, caplen)
    if block_type == _PCAPNG_EPB:
        if len(body) < 20:
            raise CaptureCorrupt(f"enhanced packet block at byte {offset} too short")
        interface_id, high, low, caplen, wire_length = struct.unpack(endian + "IIIII", body[:20])
        data_start = 20
    else:  # obsolete Packet Block
        if len(body) < 20:
            raise CaptureCorrupt(f"packet block at byte {offset} too short")
        interface_id, _drops, high, low, caplen, wire_length = struct.unpack(
            endian + "HHIIII", body[:20]
        )
        data_start = 20
    if interface_id >= len(interfaces):
        raise CaptureCorrupt(f"packet at byte {offset} names unknown interface {interface_id}")
    if caplen > len(body) - data_start or caplen > MAX_CAPLEN:
        raise CaptureCorrupt(
            f"packet at byte {offset} claims {caplen} bytes in a {len(body)}-byte block"
        )
    interface = interfaces[interface_id]
    timestamp = ((high << 32) | low) / interface.divisor
    data = body[data_start : data_start + caplen]
    return interface.linktype, timestamp, data, max(wire_length, caplen)


@dataclass(frozen=True)
class StopPoint:
    """Where a stop request left the reading of the captures: in (or after) capture
    ``index`` of ``count``, named ``name``, after ``packets`` of its packets. ``file_bytes``
    of its ``size`` bytes were read (None: unknown, or standard input and pipes);
    ``whole``: it was read to its end (the stop came between captures, or as the last one
    ended); ``finding_last``: the stop came while the captures were read once to find their
    last packet (``--since``/``--until`` durations), before any packet was analysed."""

    name: str
    index: int
    count: int
    packets: int
    file_bytes: int | None = None
    size: int | None = None
    compressed: bool = False
    whole: bool = False
    finding_last: bool = False

    def share(self) -> str:
        """`` (4% of its bytes)``, or "" when the size is not known (standard input)."""
        if self.whole or self.size is None or self.file_bytes is None or self.size <= 0:
            return ""
        what = "its compressed bytes" if self.compressed else "its bytes"
        if self.file_bytes >= self.size:
            return "" if self.compressed else f" (all {what})"
        percent = self.file_bytes * 100 // self.size
        return f" ({percent}% of {what})" if percent else f" (under 1% of {what})"

    def text(self) -> str:
        """Where the stop came, after "stopped on request": "in capture 1 of 1 (big.pcap)
        after 40,960 packets (4% of its bytes)"."""
        packets = f"{self.packets:,} packet{'' if self.packets == 1 else 's'}"
        later = self.count - self.index
        rest = f"; {later} later capture{'' if later == 1 else 's'} not read" if later else ""
        where = f"capture {self.index} of {self.count} ({self.name})"
        if self.finding_last:
            return (
                f"while reading the captures once to find their last packet (--since/--until "
                f"count back from it), in {where} after {packets}{self.share()}{rest}; "
                "no packet was analysed"
            )
        if self.whole:
            return f"after {where} was read to its end ({packets}){rest}"
        return f"in {where} after {packets}{self.share()}{rest}"


def input_size(source: BinaryIO) -> int | None:
    """Size in bytes of a regular file behind ``source`` (None for pipes and stdin)."""
    try:
        status = os.fstat(source.fileno())
    except (OSError, AttributeError, ValueError):
        return None
    import stat

    return status.st_size if stat.S_ISREG(status.st_mode) else None
