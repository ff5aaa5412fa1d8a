"""The sweep stage: which ports are open on every target, before any probe runs.

The scheduler runs a sweep engine in a worker thread and hands each host with an open port
(or with discovery evidence) to its probe workers as soon as the host is decided; hosts
with nothing open are only counted. The engines (docs/decisions/0017-sweep.md):

- ``builtin``: :func:`provscan.transport.sweep.sweep_connect`, a batched non-blocking
  connect loop (every limit applied: in flight, per host, rate, timeouts); on large ranges
  with CPUs to spare and no rate limit, the same loop in one worker process per CPU
  (:mod:`provscan.transport.sweep_workers`);
- ``nmap``: :func:`provscan.transport.nmap_sweep.sweep_nmap`, nmap's connect scan on the
  already-checked addresses (its per-host parallelism is nmap's own);
- ``auto``: ``builtin``, except on a machine with one CPU for large target sets
  (:data:`AUTO_NMAP_FROM` addresses or more, no ``--rate``) when nmap is installed: there its
  C loop is faster than one Python process, while with two CPUs or more the builtin's worker
  processes are as fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from enum import StrEnum
from functools import partial
from typing import NamedTuple, Protocol

from provscan.errors import InputError
from provscan.transport.limits import ScanLimits, available_cpus
from provscan.transport.nmap_sweep import SweepEngineError, find_nmap, sweep_nmap
from provscan.transport.sweep import ConnectionSpacing, SweepLimits, SweptHost, sweep_connect
from provscan.transport.sweep_workers import sweep_connect_parallel, worker_count

__all__ = [
    "SweepChoice",
    "SweepEngine",
    "SweepEngineError",
    "Sweeper",
    "SweptHost",
    "choose_sweeper",
    "sweep_limits",
    "sweep_note",
]


#: ``auto`` hands target sets at least this large to nmap when it is installed.
AUTO_NMAP_FROM = 4096


class SweepEngine(StrEnum):
    auto = "auto"
    builtin = "builtin"
    nmap = "nmap"


class Sweeper(Protocol):
    """A sweep engine: targets and ports in, each decided host out (runs in a thread).

    ``probed`` tells which decided hosts the caller will probe: an engine whose connections
    do not draw on ``spacing`` (nmap) holds those until it ends under a rate limit, and lets
    the others out as they are decided, so that progress is reported during the sweep.
    """

    def __call__(
        self,
        targets: Iterable[tuple[str, str | None]],
        ports: Sequence[int],
        limits: SweepLimits | None = None,
        *,
        stop: Callable[[], bool] | None = None,
        spacing: ConnectionSpacing | None = None,
        probed: Callable[[SweptHost], bool] | None = None,
    ) -> Iterator[SweptHost]: ...


class SweepChoice(NamedTuple):
    """The engine chosen for a sweep: its name, its function and how many processes run the
    builtin loop (1 for nmap, whose parallelism is its own)."""

    name: str
    sweeper: Sweeper
    workers: int = 1


def _nmap_sweeper(nmap: str) -> Sweeper:
    def sweeper(
        targets: Iterable[tuple[str, str | None]],
        ports: Sequence[int],
        limits: SweepLimits | None = None,
        *,
        stop: Callable[[], bool] | None = None,
        spacing: ConnectionSpacing | None = None,
        probed: Callable[[SweptHost], bool] | None = None,
    ) -> Iterator[SweptHost]:
        return sweep_nmap(
            targets, ports, limits, stop=stop, nmap=nmap, spacing=spacing, probed=probed
        )

    return sweeper


def _builtin(addresses: int, rate_per_second: float) -> SweepChoice:
    workers = worker_count(addresses, rate_per_second)
    sweeper = partial(sweep_connect_parallel, workers=workers) if workers > 1 else sweep_connect
    return SweepChoice("builtin", sweeper, workers)


def choose_sweeper(
    engine: SweepEngine | str, addresses: int = 0, rate_per_second: float = 0.0
) -> SweepChoice:
    """The engine's name, function and processes for a sweep of about ``addresses`` addresses.

    ``auto`` keeps to ``builtin`` under a rate limit, which it shares with the probes.

    An unknown engine, or ``nmap`` asked for and not installed, is an input error.
    """
    try:
        engine = SweepEngine(engine)
    except ValueError:
        raise InputError(
            f"--sweep-engine must be auto, builtin or nmap, not {str(engine)!r}"
        ) from None
    if engine is SweepEngine.auto:
        # nmap only where the builtin loop cannot be spread over CPUs (one CPU): with two or
        # more, the builtin's workers are as fast; decision 0017, "Workers".
        large = addresses >= AUTO_NMAP_FROM and not rate_per_second
        nmap = find_nmap() if large and available_cpus() < 2 else None
        if nmap:
            return SweepChoice("nmap", _nmap_sweeper(nmap))
        return _builtin(addresses, rate_per_second)
    if engine is SweepEngine.nmap:
        nmap = find_nmap()
        if nmap is None:
            raise InputError(
                "--sweep-engine nmap: nmap is not installed (install it, or use builtin)"
            )
        return SweepChoice("nmap", _nmap_sweeper(nmap))
    return _builtin(addresses, rate_per_second)


def sweep_note(choice: SweepChoice, addresses: int) -> str | None:
    """The report's one line on the sweep, so that a user can tell which engine ran: always
    for nmap, and for the builtin loop on the sets ``auto`` weighs for nmap
    (:data:`AUTO_NMAP_FROM` addresses or more), with how many processes ran it."""
    if choice.name == "nmap":
        return "sweep: open ports found by nmap's connect scan (nmap -sT)"
    if addresses < AUTO_NMAP_FROM:
        return None
    processes = "one process" if choice.workers == 1 else f"{choice.workers} worker processes"
    return f"sweep: open ports found by the builtin connect sweep in {processes}"


def sweep_limits(limits: ScanLimits) -> SweepLimits:
    """The sweep's limits from the scan's: the same global, per-host, rate and timeouts."""
    return SweepLimits(
        in_flight=limits.global_connection_limit,
        per_host=limits.per_host_connection_limit,
        connect_timeout_s=limits.connect_timeout_s,
        rate_per_second=limits.rate_per_second,
        host_deadline_s=limits.per_host_deadline_s,
    )
