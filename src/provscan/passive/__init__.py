"""Passive identification from packet captures (``provscan pcap``).

``capture`` frames pcap/pcapng (gzip too) with bounded reads, ``decode`` takes frames
apart, ``reassembly`` rebuilds TCP conversations within fixed memory bounds, ``streams``
and ``signals`` turn conversations and datagrams into observations (reusing the active
probes' pure parsers), ``hosts`` keeps them per host and builds devices through the same
attribution and policy stages as an active scan.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from provscan.knowledge.loader import Knowledge, load_knowledge
from provscan.model import ScanResult
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
    input_size,
)

STDIN_NAME = "-"

__all__ = [
    "STDIN_NAME",
    "CaptureAnalyser",
    "CaptureCorrupt",
    "CaptureError",
    "CaptureFileError",
    "CaptureFormatError",
    "CaptureObserver",
    "CaptureTruncated",
    "NullCaptureObserver",
    "PassiveLimits",
    "analyse_captures",
]


def analyse_captures(
    names: Sequence[str],
    *,
    policy_ids: Sequence[str] | None = None,
    knowledge: Knowledge | None = None,
    limits: PassiveLimits | None = None,
    observer: CaptureObserver | None = None,
) -> ScanResult:
    """Analyse capture files (``-`` is standard input) into one passive scan result.

    Raises CaptureError (a subclass) when a file cannot be opened or is not a capture;
    damaged captures are used up to the damage and the result says so (``complete``).
    """
    knowledge = knowledge or load_knowledge()
    policies = knowledge.select_policies(list(policy_ids) if policy_ids else None)
    analyser = CaptureAnalyser(knowledge, limits=limits, observer=observer)
    for name in names:
        if name == STDIN_NAME:
            analyser.feed("<stdin>", sys.stdin.buffer)
            continue
        try:
            handle = open(name, "rb")  # noqa: SIM115 - closed below, after streaming
        except OSError as exc:
            raise CaptureFileError(f"cannot open capture {name}: {exc.strerror or exc}") from exc
        with handle:
            analyser.feed(name, handle, input_size(handle))
    return analyser.result(policies)
