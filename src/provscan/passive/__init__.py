"""Passive identification from packet captures (``provscan pcap``).

``capture`` frames pcap/pcapng (gzip too) with bounded reads, ``decode`` takes frames
apart, ``reassembly`` rebuilds TCP conversations within fixed memory bounds, ``streams``
and ``signals`` turn conversations and datagrams into observations (through the one
observation layer, ``provscan.observations``), ``hosts`` keeps them per host and hands each
host's evidence to the identification stage the caller gives (``provscan.identify``, the
same as for an active scan).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import sys
from collections.abc import Callable, Iterator, Sequence

from provscan.knowledge.loader import Knowledge, load_knowledge
from provscan.model import Device, HostEvidence, ScanResult
from provscan.passive.analyser import (
    CaptureAnalyser,
    CaptureObserver,
    NullCaptureObserver,
    PassiveLimits,
)
from provscan.passive.capture import (
    CaptureCorrupt,
    CaptureError,
    CaptureFileError,
    CaptureFormatError,
    CaptureTruncated,
    StopPoint,
    input_size,
)
from provscan.passive.window import TimeWindow, WindowError, find_last_packet, parse_bound

STDIN_NAME = "-"
#: The cyclic garbage collector's first-generation threshold during an analysis (Python's
#: default is 700 allocations): a capture of thousands of hosts allocates millions of
#: objects that live to the end, and each collection walks them again. Collections still run,
#: every 50,000 allocations instead of 700, so cyclic garbage stays bounded (measured in
#: decision 0005, "Fifth speed pass": 0.45 s of 6.3 s on 1 GB, peak RSS unchanged).
BATCH_GC_THRESHOLD = 50_000
#: Captures smaller than this (in all) are read in one process: starting the second one
#: costs ~0.3 s of CPU, more than it saves on them.
SECOND_PROCESS_MIN_BYTES = 64 * 1024 * 1024
#: ``1`` keeps the analysis in one process, ``2`` uses a second one whatever the size.
WORKERS_VARIABLE = "PROVSCAN_PASSIVE_WORKERS"
#: The scan note of an analysis a stop request ended starts so; what follows says where
#: (:meth:`StopPoint.text`), e.g. "in capture 1 of 1 (big.pcap) after 40,960 packets (4% of
#: its bytes)"; the command's interruption line repeats it.
STOPPED_NOTE_PREFIX = "interrupted: stopped on request "

__all__ = [
    "STDIN_NAME",
    "STOPPED_NOTE_PREFIX",
    "CaptureAnalyser",
    "CaptureCorrupt",
    "CaptureError",
    "CaptureFileError",
    "CaptureFormatError",
    "CaptureObserver",
    "CaptureTruncated",
    "NullCaptureObserver",
    "PassiveLimits",
    "StopPoint",
    "TimeWindow",
    "WindowError",
    "analyse_captures",
    "fewer_collections",
    "parse_bound",
    "workers_for",
]


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the collector's thresholds to :data:`BATCH_GC_THRESHOLD` for a batch of work
    (and restore them after): the objects that live for the whole analysis are not walked
    again every 700 allocations. Garbage is still collected; only less often."""
    before = gc.get_threshold()
    gc.set_threshold(BATCH_GC_THRESHOLD, max(before[1], 20), max(before[2], 100))
    try:
        yield
    finally:
        gc.set_threshold(*before)


def workers_for(names: Sequence[str]) -> int:
    """How many processes ``provscan pcap`` reads these captures with: 2 on Linux with two
    CPUs or more, for at least :data:`SECOND_PROCESS_MIN_BYTES` of capture files, unless
    the load average says every CPU is busy already; else 1 (``PROVSCAN_PASSIVE_WORKERS=1``
    or ``2`` decides instead). The result is the same either way; two processes take ~1 s
    more CPU on 1 GB, and gain nothing when other work holds the second CPU."""
    from provscan.transport.limits import available_cpus, every_cpu_busy

    cpus = available_cpus()
    if cpus < 2:
        return 1
    from provscan.config import env_whole_number

    default = "the default (2 for large captures when a CPU is free, else 1)"
    chosen = env_whole_number(WORKERS_VARIABLE, default=default, maximum=2)
    if chosen is not None:
        return chosen
    if every_cpu_busy(cpus):
        return 1
    size = 0
    for name in names:
        if name != STDIN_NAME:
            try:
                size += os.stat(name).st_size
            except OSError:
                continue  # reported when it is opened
    return 2 if size >= SECOND_PROCESS_MIN_BYTES else 1


class _StopRequested(Exception):
    """Raised at a progress point once a stop was requested (between packets)."""


class _StopWatch(CaptureObserver):
    """Passes progress on, and ends the analysis at the next progress point after a stop."""

    def __init__(self, inner: CaptureObserver, stop: Callable[[], bool]) -> None:
        self._inner = inner
        self._stop = stop

    def stopped(self) -> bool:
        return self._stop()

    def check(self) -> None:
        if self._stop():
            raise _StopRequested

    def capture_started(self, name: str, total_bytes: int | None) -> None:
        self._inner.capture_started(name, total_bytes)

    def capture_progress(self, bytes_done: int, packets: int) -> None:
        self._inner.capture_progress(bytes_done, packets)
        self.check()

    def capture_done(self, name: str, packets: int) -> None:
        self._inner.capture_done(name, packets)


def analyse_captures(
    names: Sequence[str],
    identify: Callable[[HostEvidence], Device],
    *,
    policy_ids: Sequence[str] = (),
    knowledge: Knowledge | None = None,
    limits: PassiveLimits | None = None,
    observer: CaptureObserver | None = None,
    stop: Callable[[], bool] | None = None,
    workers: int = 1,
    window: TimeWindow | None = None,
) -> ScanResult:
    """Analyse capture files (``-`` is standard input) into one passive scan result.

    Each host that sent packets becomes :class:`~provscan.model.HostEvidence` handed to
    ``identify`` (the pipeline's identification stage). Raises CaptureError (a subclass) when a
    file cannot be opened or is not a capture; damaged captures are used up to the damage and
    the result says so (``complete``). When ``stop()`` turns true the analysis ends between
    packets with what was read, marked incomplete; ``info.targets`` names the captures read
    (the last one perhaps in part), and a note (:data:`STOPPED_NOTE_PREFIX`) says where the
    reading stopped: the capture, its packets read and the share of its bytes.
    ``workers=2`` reads finished conversations in a second process (the same result; see
    :mod:`provscan.passive.worker`). ``window``: only the packets captured inside it are
    analysed (a duration in it reads the files once more first, to find their last packet;
    WindowError with standard input, or when the window holds no moment).
    """
    bounds = None
    searched: StopPoint | None = None
    if window is not None:
        if window.relative and STDIN_NAME in names:
            raise WindowError(
                "a duration in --since/--until counts back from the last packet: it needs "
                "capture files, not standard input (give an ISO 8601 time instead)"
            )
        last = None
        if window.relative:
            last, searched = find_last_packet(names, stop or (lambda: False))
        try:
            bounds = window.resolve(last, read_in_part=searched is not None)
        except WindowError:
            if searched is None:
                raise
            # Stopped before the last packet was found: nothing will be analysed, and the
            # stop note says so; a window placed by the packets read holds none.
    knowledge = knowledge or load_knowledge()
    watch = _StopWatch(observer or NullCaptureObserver(), stop or (lambda: False))
    analyser = CaptureAnalyser(
        knowledge, limits=limits, observer=watch, workers=workers, window=bounds
    )
    stopped = False
    try:
        for name in names:
            watch.check()  # a stop between captures ends here
            if name == STDIN_NAME:
                analyser.feed("<stdin>", sys.stdin.buffer)
                continue
            try:
                handle = open(name, "rb")  # noqa: SIM115 - closed below, after streaming
            except OSError as exc:
                message = f"cannot open capture {name}: {exc.strerror or exc}"
                raise CaptureFileError(message) from exc
            with handle:
                analyser.feed(name, handle, input_size(handle))
    except _StopRequested:
        stopped = True
    except BaseException:
        analyser.abandon()
        raise
    # A stop that came while reading blocked (a live capture piped in, ended by the same
    # Ctrl-C) interrupted the run just as much as one seen between packets.
    stopped = stopped or watch.stopped()
    result = analyser.result(identify, policy_ids)
    if not stopped:
        return result
    note = STOPPED_NOTE_PREFIX + _where_stopped(analyser, names, searched)
    info = dataclasses.replace(result.info, complete=False, notes=(*result.info.notes, note))
    return dataclasses.replace(result, info=info)


def _where_stopped(
    analyser: CaptureAnalyser, names: Sequence[str], searched: StopPoint | None
) -> str:
    """Where the stop left the reading, as the stop note says it (after "stopped on
    request "): inside a capture, after one read to its end, or before any."""
    if searched is not None:
        return searched.text()
    if analyser.stopped_in is not None:
        return dataclasses.replace(analyser.stopped_in, count=len(names)).text()
    if not analyser.names:
        return "before any capture was read"
    # The stop came between captures, or while the last one was read to its end (a pipe
    # that the same Ctrl-C closed): every capture started was read whole.
    index = len(analyser.names)
    packets = analyser.capture_packets[-1]
    return StopPoint(analyser.names[-1], index, len(names), packets, whole=True).text()
