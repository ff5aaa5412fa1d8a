"""Capture framing: pcap, pcapng, gzip and stdin; damaged and hostile files never crash."""

from __future__ import annotations

import contextlib
import gzip
import io
import random
import struct
import zlib
from pathlib import Path

import pytest
from pcap_builders import REPLY, http_conversation, identify_with, pcap_bytes, split

from provscan.identify import Identifier
from provscan.knowledge import load_knowledge
from provscan.passive import CaptureAnalyser, CaptureError, CaptureFormatError
from provscan.passive.capture import (
    MAX_CAPLEN,
    CaptureCorrupt,
    CaptureTruncated,
    open_input,
    read_frames,
)

FIXTURES = Path(__file__).parent / "fixtures"
CRAFTED = FIXTURES / "crafted_signals.pcapng"


def frames_of(data: bytes) -> list[bytes]:
    return [frame.data for frame in read_frames(io.BytesIO(data))]


def analyse(data: bytes) -> CaptureAnalyser:
    analyser = CaptureAnalyser(load_knowledge())
    analyser.feed("test", io.BytesIO(data))
    return analyser


def test_pcap_pcapng_and_gzip_give_the_same_frames() -> None:
    crafted = CRAFTED.read_bytes()
    from_pcapng = frames_of(crafted)
    assert len(from_pcapng) == 45
    as_pcap = pcap_bytes(from_pcapng)
    assert frames_of(as_pcap) == from_pcapng
    assert frames_of(gzip.compress(as_pcap)) == from_pcapng
    assert frames_of(gzip.compress(crafted)) == from_pcapng


def test_big_endian_and_nanosecond_pcap() -> None:
    frame = b"\x00" * 60
    data = struct.pack(">IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1)
    data += struct.pack(">IIII", 10, 500_000_000, len(frame), len(frame)) + frame
    (only,) = list(read_frames(io.BytesIO(data)))
    assert only.time == pytest.approx(10.5)
    assert only.data == frame


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00", b"hello world, not a capture", b"<html>", b"\x1f\x8bnot really gzip"],
)
def test_not_a_capture_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(CaptureError):
        list(read_frames(io.BytesIO(data)))


def test_a_huge_caplen_is_refused_without_allocating_it() -> None:
    good = pcap_bytes([b"\x00" * 60])
    hostile = good + struct.pack("<IIII", 1, 0, 0xFFFFFFF0, 0xFFFFFFF0) + b"\x00" * 10
    frames = read_frames(io.BytesIO(hostile))
    assert next(frames).data == b"\x00" * 60
    with pytest.raises(CaptureCorrupt, match=str(MAX_CAPLEN)):
        next(frames)


def test_a_capture_cut_in_a_record_is_truncated_after_the_good_frames() -> None:
    data = pcap_bytes([b"\x01" * 60, b"\x02" * 60])
    frames = read_frames(io.BytesIO(data[:-10]))
    assert next(frames).data == b"\x01" * 60
    with pytest.raises(CaptureTruncated):
        next(frames)


def test_a_cut_gzip_stream_is_truncated() -> None:
    data = gzip.compress(pcap_bytes([bytes([i % 256]) * 200 for i in range(50)]))
    with pytest.raises(CaptureTruncated):
        list(read_frames(io.BytesIO(data[: len(data) // 2])))


def frames_until_damage(data: bytes) -> list[bytes]:
    """The frames read before a capture's truncation or corruption is raised."""
    got: list[bytes] = []
    with pytest.raises((CaptureTruncated, CaptureCorrupt)):
        for frame in read_frames(io.BytesIO(data)):
            got.append(frame.data)
    return got


@pytest.mark.parametrize("kept", [0.05, 0.3, 0.7])
def test_a_cut_gzip_stream_gives_every_frame_its_bytes_hold(kept: float) -> None:
    # Given a gzip-compressed capture of about 1.4 MB, cut at a fraction of its length (a
    # cut in the first megabyte once lost every frame: the 1 MiB read raised at the cut)
    frames = [random.Random(index).randbytes(700) for index in range(2000)]
    compressed = gzip.compress(pcap_bytes(frames), compresslevel=1)
    cut = compressed[: int(len(compressed) * kept)]
    # When it is read
    got = frames_until_damage(cut)
    # Then every frame that the decompressible bytes hold whole is there, in order
    readable = frames_of_prefix(zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(cut))
    assert readable
    assert got == readable == frames[: len(got)]


def frames_of_prefix(data: bytes) -> list[bytes]:
    """The whole frames in a capture's first bytes (a pcap cut at any point)."""
    got: list[bytes] = []
    with contextlib.suppress(CaptureTruncated):
        for frame in read_frames(io.BytesIO(data)):
            got.append(frame.data)
    return got


def test_concatenated_gzip_members_and_zero_padding_are_one_capture() -> None:
    # Given a capture compressed in two members (as `cat a.gz b.gz` gives), then zero padding
    data = pcap_bytes([bytes([index]) * 80 for index in range(1, 40)])
    joined = gzip.compress(data[:1000]) + gzip.compress(data[1000:]) + b"\0" * 600_000
    # Then its frames are the uncompressed capture's
    assert frames_of(joined) == frames_of(data)


def test_garbage_after_a_gzip_member_is_corrupt_after_its_frames() -> None:
    data = pcap_bytes([bytes([index]) * 80 for index in range(1, 40)])
    got = frames_until_damage(gzip.compress(data) + b"this is not gzip at all")
    assert got == frames_of(data)


def test_a_small_gzip_stream_that_inflates_hugely_is_read_in_bounded_pieces() -> None:
    # Given 64 MiB of zeros after a pcap header, compressed to ~65 KB (a "zip bomb" shape)
    header = pcap_bytes([])
    bomb = gzip.compress(header + b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    # When the reader is asked for 1 MiB at a time, it never returns more
    reader = open_input(io.BytesIO(bomb))
    sizes = []
    while piece := reader.read(1024 * 1024):
        sizes.append(len(piece))
    assert max(sizes) <= 1024 * 1024
    assert sum(sizes) == len(header) + 64 * 1024 * 1024


def test_pcapng_bad_block_length_is_corrupt() -> None:
    crafted = bytearray(CRAFTED.read_bytes())
    # The second block (the interface description) follows the section header block.
    shb_length = struct.unpack_from("<I", crafted, 4)[0]
    struct.pack_into("<I", crafted, shb_length + 4, 7)  # not a multiple of 4, below 12
    with pytest.raises(CaptureCorrupt):
        list(read_frames(io.BytesIO(bytes(crafted))))


def test_truncated_and_corrupt_files_give_a_best_effort_result_with_a_note() -> None:
    # Given the crafted capture cut in the middle
    crafted = CRAFTED.read_bytes()
    analyser = analyse(crafted[: len(crafted) * 2 // 3])
    result = analyser.result(identify_with(load_knowledge()))
    # Then the earlier devices are there and the scan says it is incomplete
    assert not result.info.complete
    assert any("truncated" in note for note in result.info.notes)
    assert any(device.ip == "192.168.1.64" for device in result.devices)


def test_every_prefix_and_random_damage_never_crashes() -> None:
    # Given many damaged variants of a real capture (cuts and byte flips)
    base = CRAFTED.read_bytes()
    rng = random.Random(5)
    variants = [base[:cut] for cut in range(0, len(base), 97)]
    for _ in range(60):
        damaged = bytearray(base)
        for _ in range(rng.randint(1, 20)):
            damaged[rng.randrange(28, len(damaged))] = rng.randrange(256)
        variants.append(bytes(damaged))
    policies = load_knowledge().select_policies(None)
    for data in variants:
        analyser = CaptureAnalyser(load_knowledge())
        try:
            analyser.feed("fuzz", io.BytesIO(data))
        except CaptureFormatError:
            continue  # the header itself was destroyed: a clear error is the right answer
        analyser.result(
            Identifier(load_knowledge(), policies).device
        )  # Then a result, never an exception


def test_snaplen_cut_frames_are_noted_and_the_stream_marked_truncated() -> None:
    # Given an HTTP reply whose second segment was cut by a tiny snaplen
    frames = http_conversation(split(REPLY, 60))
    data = bytearray(pcap_bytes(frames))
    position = 24
    for index, frame in enumerate(frames):
        if index == 4:  # the second reply segment
            struct.pack_into("<I", data, position + 8, len(frame) - 20)  # caplen smaller
            del data[position + 16 + len(frame) - 20 : position + 16 + len(frame)]
            break
        position += 16 + len(frame)
    analyser = analyse(bytes(data))
    result = analyser.result(identify_with(load_knowledge()))
    assert any("snaplen" in note for note in result.info.notes)
    server = next(device for device in result.devices if device.ip == "10.0.0.64")
    assert any("snaplen" in attempt.error for attempt in server.attempts)
