"""The address sweep: which ports accept a TCP connection, on many addresses at once.

A batched non-blocking connect loop over raw sockets and one ``epoll`` (``poll`` elsewhere):
no coroutine, task or future per connection, so it runs at close to the kernel's pace
(docs/decisions/0017-sweep.md has the measurements). Memory stays bounded: at most
``in_flight`` sockets are open, at most two rounds of ``hosts_per_round`` hosts are tracked,
and only open ports are kept. Ports are tried port-major within a round, so consecutive
connections go to different hosts, and never more than ``per_host`` at once to one host; under a
rate limit a round is a couple of seconds of connections (:func:`round_hosts`), so hosts finish
as the sweep goes and a scan stopped early keeps them.

Every address is checked against the scope interlock again here (defence in depth: the
target set has already applied the scope rules and ``--exclude``). A port is *open* when the
handshake completes (or completes and is reset at once, as :class:`ResetAfterConnect` in
:mod:`provscan.transport.tcp`); refused, unreachable and unanswered ports are not kept.
"""

from __future__ import annotations

import _socket
import errno
import ipaddress
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from provscan.interlock import Network, allowed_networks

#: ``connect`` results that mean the handshake completed (a reset right after it still does).
_OPEN_ERRORS = frozenset({0, errno.ECONNRESET})
#: ``connect`` results that mean "still connecting": wait for the socket to become writable.
_IN_PROGRESS = frozenset({errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK, errno.EAGAIN})
#: Out of descriptors or buffers: wait for connections in flight to finish, then retry.
_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)


class ConnectionSpacing:
    """Spaces connection starts to at most ``rate`` per second across threads (0 = no limit).

    One is shared by the sweep thread and the probes' rate limiter, so ``--rate`` holds for
    the scan as a whole while both run.
    """

    def __init__(self, rate_per_second: float) -> None:
        self.interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next start slot; returns how long to wait for it (0: start now)."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        return max(delay, 0.0)


#: Under a rate limit, about this many seconds of connections make one round of hosts.
RATED_ROUND_S = 2.0


def round_hosts(hosts_per_round: int, interval: float, ports: int) -> int:
    """How many hosts one round interleaves: ``hosts_per_round``, or under a rate limit (one
    connection every ``interval`` seconds) as many as :data:`RATED_ROUND_S` of connections
    to ``ports`` ports each reach, at least one. Without a limit a round of 1,024 hosts
    passes in well under a second; at 100 connections a second, 1,024 hosts of 19 ports
    would take over three minutes before the first host is finished."""
    if interval <= 0 or ports <= 0:
        return hosts_per_round
    return max(1, min(hosts_per_round, int(RATED_ROUND_S / (interval * ports))))


@dataclass(frozen=True)
class SweepLimits:
    """How hard the sweep may push (the scheduler derives them from its ``ScanLimits``)."""

    #: Connections in flight at once, across all hosts.
    in_flight: int = 256
    #: Connections in flight at once to one host.
    per_host: int = 4
    #: A connection not answered within this is counted as unanswered (filtered).
    connect_timeout_s: float = 1.5
    #: New connections per second across the sweep (0 = unlimited).
    rate_per_second: float = 0.0
    #: Hosts whose ports are interleaved (port-major) before moving on to the next ones.
    #: Under a rate limit a round is cut to :data:`RATED_ROUND_S` of connections at that
    #: rate (:func:`round_hosts`), so that hosts finish one round after another and a scan
    #: stopped early has finished hosts to keep.
    hosts_per_round: int = 1024
    #: Longest time spent on one host (used by engines that can apply it; 0 = none).
    host_deadline_s: float = 0.0


@dataclass(frozen=True)
class SweptHost:
    """One host's sweep result: the ports that accepted a connection."""

    address: str
    hostname: str | None
    open_ports: tuple[int, ...]
    #: Ports that gave no answer before the connect timeout (filtered, or a host that is down).
    unanswered: int = 0
    #: Ports the local system could not try (out of addresses or descriptors).
    failed: int = 0


@dataclass
class _Host:
    address: str
    hostname: str | None
    family: int
    remaining: int
    in_flight: int = 0
    open_ports: list[int] = field(default_factory=list)
    waiting: deque[int] = field(default_factory=deque)
    unanswered: int = 0
    failed: int = 0


class _Poller:
    """``epoll`` where there is one (Linux), ``poll`` elsewhere: register, wait, forget."""

    def __init__(self) -> None:
        self._epoll = select.epoll() if hasattr(select, "epoll") else None
        self._poll = None if self._epoll is not None else select.poll()
        self.mask = select.POLLOUT | select.POLLERR | select.POLLHUP

    def register(self, fd: int) -> None:
        if self._epoll is not None:
            self._epoll.register(fd, self.mask)
        else:
            assert self._poll is not None
            self._poll.register(fd, self.mask)

    def registrar(self) -> Callable[[int, int], None]:
        """The bare ``register(fd, mask)`` (the loop calls it once per connection)."""
        if self._epoll is not None:
            return self._epoll.register
        assert self._poll is not None
        return self._poll.register

    def unregister(self, fd: int) -> None:
        # Closing a socket removes it from an epoll set; poll keeps its own list.
        if self._poll is not None:
            self._poll.unregister(fd)

    def wait(self, timeout_s: float) -> list[int]:
        if self._epoll is not None:
            return [fd for fd, _ in self._epoll.poll(max(timeout_s, 0.0))]
        assert self._poll is not None
        return [fd for fd, _ in self._poll.poll(max(int(timeout_s * 1000), 0))]

    def close(self) -> None:
        if self._epoll is not None:
            self._epoll.close()


def inside_networks(address: str, networks: tuple[Network, ...] | None) -> bool:
    """True when the interlock is off (``networks`` None) or ``address`` lies inside it."""
    if networks is None:
        return True
    parsed = ipaddress.ip_address(address)
    return any(parsed.version == net.version and parsed in net for net in networks)


def sweep_connect(
    targets: Iterable[tuple[str, str | None]],
    ports: Sequence[int],
    limits: SweepLimits | None = None,
    *,
    stop: Callable[[], bool] | None = None,
    spacing: ConnectionSpacing | None = None,
    probed: Callable[[SweptHost], bool] | None = None,
) -> Iterator[SweptHost]:
    """Connect to every port of every target; yield each host once all its ports are decided.

    Hosts come out in the order they finish (roughly the targets' order). When ``stop()``
    turns true the sweep closes its sockets and returns; hosts not finished are not yielded.
    Addresses outside the scope interlock are skipped without a packet sent. ``spacing``
    (shared with others that connect meanwhile) replaces ``limits.rate_per_second``.
    ``probed`` (which hosts the caller will probe) is not needed here: this loop draws on
    ``spacing`` itself, so no host is held back (an engine that does not, nmap, holds them).
    """
    limits = limits or SweepLimits()
    in_flight_limit = max(1, limits.in_flight)
    per_host = max(1, limits.per_host)
    spacing = spacing or ConnectionSpacing(limits.rate_per_second)
    interval = spacing.interval
    networks = allowed_networks()
    unique_ports = tuple(dict.fromkeys(ports))
    if not unique_ports:
        return
    target_iterator = iter(targets)
    poller = _Poller()
    register, mask = poller.registrar(), poller.mask
    #: fd -> (socket, host, port)
    pending: dict[int, tuple[_socket.socket, _Host, int]] = {}
    #: (deadline, fd, socket) in start order: deadlines grow, so the oldest is first.
    deadlines: deque[tuple[float, int, _socket.socket]] = deque()
    ready: deque[tuple[_Host, int]] = deque()
    finished: list[_Host] = []
    round_jobs: Iterator[tuple[_Host, int]] = iter(())
    targets_left = True
    #: The start time of the rate slot reserved and not used yet.
    next_start: float | None = None
    connect_timeout = limits.connect_timeout_s

    per_round = round_hosts(limits.hosts_per_round, interval, len(unique_ports))

    def next_round() -> Iterator[tuple[_Host, int]]:
        nonlocal targets_left
        hosts: list[_Host] = []
        while len(hosts) < per_round:
            target = next(target_iterator, None)
            if target is None:
                targets_left = False
                break
            address, hostname = target
            if not inside_networks(address, networks):
                continue  # refused by the interlock: never touched
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            hosts.append(_Host(address, hostname, family, len(unique_ports)))
        return ((host, port) for port in unique_ports for host in hosts)

    def decided(host: _Host) -> None:
        host.remaining -= 1
        if host.waiting:
            ready.append((host, host.waiting.popleft()))
        if host.remaining == 0:
            finished.append(host)

    def start(host: _Host, port: int) -> bool:
        """Start one connection; False when the system is out of resources (retry later)."""
        try:
            # The C socket type: the Python wrapper's bookkeeping costs per connection.
            sock = _socket.socket(host.family, socket.SOCK_STREAM | _NONBLOCK)
        except OSError as exc:
            if exc.errno in _RESOURCE_ERRORS and pending:
                return False
            raise
        if not _NONBLOCK:
            sock.setblocking(False)
        result = sock.connect_ex((host.address, port))
        if result in _IN_PROGRESS:
            fd = sock.fileno()
            register(fd, mask)
            pending[fd] = (sock, host, port)
            deadlines.append((time.monotonic() + connect_timeout, fd, sock))
            host.in_flight += 1
            return True
        sock.close()
        if result in _RESOURCE_ERRORS and pending:
            return False
        if result in _OPEN_ERRORS:
            host.open_ports.append(port)
        elif result in (errno.EADDRNOTAVAIL, *_RESOURCE_ERRORS):
            host.failed += 1
        host.in_flight += 1  # balanced by ``settle`` below
        settle(host)
        return True

    def settle(host: _Host) -> None:
        host.in_flight -= 1
        decided(host)

    def complete(fd: int) -> None:
        entry = pending.pop(fd, None)
        if entry is None:
            return
        sock, host, port = entry
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        poller.unregister(fd)
        sock.close()
        if error in _OPEN_ERRORS:
            host.open_ports.append(port)
        settle(host)

    def expire(now: float) -> None:
        while deadlines and deadlines[0][0] <= now:
            _, fd, sock = deadlines.popleft()
            entry = pending.get(fd)
            if entry is None or entry[0] is not sock:
                continue  # answered already (the fd may have been reused since)
            del pending[fd]
            poller.unregister(fd)
            sock.close()
            entry[1].unanswered += 1
            settle(entry[1])

    try:
        while True:
            if stop is not None and stop():
                return
            # Start what the limits allow.
            now = time.monotonic()
            exhausted = False
            starts = 0
            while len(pending) < in_flight_limit and starts < in_flight_limit:
                if interval:
                    if next_start is None:
                        next_start = now + spacing.reserve()  # a slot of the shared rate
                    if now < next_start:
                        break
                if ready:
                    host, port = ready.popleft()
                else:
                    job = next(round_jobs, None)
                    if job is None:
                        if not targets_left:
                            exhausted = True
                            break
                        round_jobs = next_round()
                        continue
                    host, port = job
                    if host.in_flight >= per_host:
                        host.waiting.append(port)
                        continue
                if not start(host, port):
                    ready.appendleft((host, port))
                    break
                starts += 1
                if interval:
                    next_start = None  # the slot is used
                    now = time.monotonic()
            if finished:
                done = finished[:]
                finished.clear()
                for host in done:
                    yield SweptHost(
                        host.address,
                        host.hostname,
                        tuple(sorted(host.open_ports)),
                        host.unanswered,
                        host.failed,
                    )
            if not pending:
                if exhausted and not ready:
                    return
                if next_start is not None and now < next_start:
                    time.sleep(min(next_start - now, 0.25))
                continue
            # Wait for answers, the next deadline or the next start the rate allows.
            now = time.monotonic()
            wake = deadlines[0][0] if deadlines else now + 0.25
            if next_start is not None and len(pending) < in_flight_limit:
                wake = min(wake, next_start)
            timeout = min(max(wake - now, 0.0), 0.25)
            for fd in poller.wait(timeout):
                complete(fd)
            expire(time.monotonic())
    finally:
        for sock, _, _ in pending.values():
            sock.close()
        pending.clear()
        poller.close()
