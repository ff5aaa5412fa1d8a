"""The builtin sweep spread over worker processes, for large ranges on machines with CPUs to
spare.

On loopback and on a LAN the sweep's cost is the kernel's (a socket, a connect, an epoll
registration and a close per port: ~12 us of system time, against ~2 us of Python), and one
process can use one CPU. Here the targets are dealt in batches of :data:`BATCH_HOSTS`
addresses to :func:`worker_count` child processes (``python -m
provscan.transport.sweep_worker``), each running :func:`~provscan.transport.sweep.sweep_connect`
on its batches; a batch is sent when a worker has fewer than two outstanding, so a slow batch
never holds the others back. Measured in docs/decisions/0017-sweep.md.

Every rule holds as in one process: the children inherit the scope interlock's environment
and check every address again before a packet is sent (the parent has checked them already),
the in-flight limit is divided between them (the total never exceeds it), a host's ports all
go to one child (so the per-host limit holds) and ``stop()`` ends the children at once. Under
a rate limit (``--rate``), which is shared with the probes through one
:class:`~provscan.transport.sweep.ConnectionSpacing`, the sweep stays in one process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import selectors
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

from provscan.transport.limits import available_cpus, every_cpu_busy
from provscan.transport.nmap_sweep import SweepEngineError
from provscan.transport.sweep import ConnectionSpacing, SweepLimits, SweptHost, sweep_connect

#: Addresses a worker is given at a time (each batch is swept port-major, as one round).
BATCH_HOSTS = 512
#: Fewer addresses than this are swept in this process: starting a worker costs ~0.05 s.
PARALLEL_FROM = 2048
#: At most this many worker processes.
MAX_WORKERS = 4
#: ``1`` keeps the sweep in one process; ``2``..``MAX_WORKERS`` use that many workers.
WORKERS_VARIABLE = "PROVSCAN_SWEEP_WORKERS"
#: The worker's reply that ends a batch.
BATCH_DONE = "."


class SweepWorkerError(SweepEngineError):
    """A sweep worker process failed (its last error line is the message): the scan fails
    with it, as with a failing nmap, rather than report the worker's hosts as empty."""


def worker_count(addresses: int, rate_per_second: float = 0.0) -> int:
    """How many processes sweep ``addresses`` addresses: one under a rate limit, for fewer
    than :data:`PARALLEL_FROM` addresses, on one CPU, or when the load average says every
    CPU is busy already; else one per CPU up to :data:`MAX_WORKERS`
    (``PROVSCAN_SWEEP_WORKERS`` decides instead, the rate limit still keeping one)."""
    if rate_per_second > 0:
        return 1
    from provscan.config import env_whole_number

    default = f"the default (one process per CPU up to {MAX_WORKERS}, for large ranges)"
    chosen = env_whole_number(WORKERS_VARIABLE, default=default)
    if chosen is not None:
        return min(chosen, MAX_WORKERS)
    cpus = available_cpus()
    if cpus < 2 or addresses < PARALLEL_FROM or every_cpu_busy(cpus):
        return 1
    return min(cpus, MAX_WORKERS)


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    #: addresses of the batches sent and not finished -> the targets' hostnames
    hostnames: dict[str, deque[str | None]] = field(default_factory=dict)
    outstanding: int = 0
    buffer: bytes = b""
    closed: bool = False


def _config_line(ports: Sequence[int], limits: SweepLimits, workers: int) -> bytes:
    """The ports and each worker's share of the limits (no rate: workers run without one)."""
    share = dataclasses.replace(
        limits,
        in_flight=max(1, limits.in_flight // workers),
        hosts_per_round=BATCH_HOSTS,
        rate_per_second=0.0,
    )
    return json.dumps({"ports": list(ports), "limits": dataclasses.asdict(share)}).encode() + b"\n"


def _start_worker(config: bytes) -> _Worker:
    process = subprocess.Popen(
        [sys.executable, "-m", "provscan.transport.sweep_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),  # the scope interlock's variable included
    )
    worker = _Worker(process)
    _send(worker, config)
    return worker


def _send(worker: _Worker, line: bytes) -> None:
    """Write to a worker; one that has died is a :class:`SweepWorkerError`."""
    stdin = worker.process.stdin
    assert stdin is not None
    try:
        stdin.write(line)
        stdin.flush()
    except OSError:
        raise _failure(worker) from None


def _failure(worker: _Worker) -> SweepWorkerError:
    """The error for a worker that died or cannot be written to (its input may be closed
    already: no ``communicate``, which would flush it), with its last line of stderr."""
    process = worker.process
    if process.poll() is None:
        process.kill()
    process.wait()
    stderr = b""
    if process.stderr is not None and not process.stderr.closed:
        with contextlib.suppress(OSError, ValueError):
            stderr = process.stderr.read(64 * 1024)
    _close_pipes(process)  # also for a worker that failed before it joined the pool
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    detail = lines[-1] if lines else f"exit status {worker.process.returncode}"
    return SweepWorkerError(f"a sweep worker process failed: {detail}")


def _close_pipes(process: subprocess.Popen[bytes]) -> None:
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None and not stream.closed:
            with contextlib.suppress(OSError):  # a pipe to a worker that is gone
                stream.close()


def sweep_connect_parallel(
    targets: Iterable[tuple[str, str | None]],
    ports: Sequence[int],
    limits: SweepLimits | None = None,
    *,
    stop: Callable[[], bool] | None = None,
    spacing: ConnectionSpacing | None = None,
    probed: Callable[[SweptHost], bool] | None = None,
    workers: int = 2,
) -> Iterator[SweptHost]:
    """:func:`~provscan.transport.sweep.sweep_connect` over ``workers`` processes: each
    decided host, in the order the workers finish them (``probed`` is not needed: as there)."""
    limits = limits or SweepLimits()
    unique_ports = tuple(dict.fromkeys(ports))
    if workers <= 1 or (spacing is not None and spacing.interval) or limits.rate_per_second:
        yield from sweep_connect(targets, unique_ports, limits, stop=stop, spacing=spacing)
        return
    if not unique_ports:
        return
    target_iterator = iter(targets)
    config = _config_line(unique_ports, limits, workers)
    pool: list[_Worker] = []
    selector = selectors.DefaultSelector()
    targets_left = True

    def feed(worker: _Worker) -> None:
        """Keep two batches in the worker's hands while targets last; then close its input."""
        nonlocal targets_left
        stdin = worker.process.stdin
        assert stdin is not None
        while targets_left and worker.outstanding < 2:
            batch = list(islice(target_iterator, BATCH_HOSTS))
            if not batch:
                targets_left = False
                break
            for address, hostname in batch:
                worker.hostnames.setdefault(address, deque()).append(hostname)
            _send(worker, json.dumps([address for address, _ in batch]).encode() + b"\n")
            worker.outstanding += 1
        if not targets_left and not worker.closed:
            worker.closed = True
            try:
                stdin.close()
            except OSError:
                raise _failure(worker) from None

    def host_of(worker: _Worker, line: bytes) -> SweptHost:
        address, open_ports, unanswered, failed = json.loads(line)
        queued = worker.hostnames.get(address)
        hostname = queued.popleft() if queued else None
        if queued is not None and not queued:
            del worker.hostnames[address]
        return SweptHost(address, hostname, tuple(open_ports), unanswered, failed)

    try:
        for _ in range(workers):
            pool.append(_start_worker(config))
        for worker in pool:
            assert worker.process.stdout is not None
            selector.register(worker.process.stdout, selectors.EVENT_READ, worker)
            feed(worker)
        running = len(pool)
        while running:
            if stop is not None and stop():
                return
            for key, _ in selector.select(timeout=0.25):
                worker = key.data
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    running -= 1
                    if worker.process.wait() != 0 or worker.outstanding:
                        raise _failure(worker)
                    continue
                lines = (worker.buffer + chunk).split(b"\n")
                worker.buffer = lines.pop()
                for line in lines:
                    if line == BATCH_DONE.encode():
                        worker.outstanding -= 1
                        feed(worker)
                    elif line:
                        yield host_of(worker, line)
    finally:
        selector.close()
        for worker in pool:
            if worker.process.poll() is None:
                worker.process.kill()
            worker.process.wait()
            _close_pipes(worker.process)
