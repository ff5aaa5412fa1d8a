"""The sweep stage against real listeners on loopback (issue 14, point 1).

Every listener records the connections the kernel completed for it (its accept queue is
drained after the sweep), so "never touched" is checked where the packets arrive.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path

import pytest

from provscan.engine import sweep as engine_sweep
from provscan.engine.scanner import Scanner, ScanRequest
from provscan.engine.sweep import SweepEngine, choose_sweeper
from provscan.errors import InputError
from provscan.events import ScanObserver
from provscan.model import Device, HostEvidence
from provscan.targets import build_targets
from provscan.transport.limits import ScanLimits
from provscan.transport.nmap_sweep import SweepEngineError, find_nmap, nmap_command, sweep_nmap
from provscan.transport.sweep import (
    ConnectionSpacing,
    SweepLimits,
    SweptHost,
    round_hosts,
    sweep_connect,
)
from provscan.transport.sweep_workers import (
    WORKERS_VARIABLE,
    SweepWorkerError,
    sweep_connect_parallel,
    worker_count,
)

#: Loopback addresses of these tests (the lab uses 127.77/16, the benchmarks 127.80-81/16).
BASE = "127.84.3."


class Listener:
    """A listening socket that counts the connections completed to it."""

    def __init__(self, address: str, port: int = 0, backlog: int = 128) -> None:
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((address, port))
        self.socket.listen(backlog)
        self.address = address
        self.port: int = self.socket.getsockname()[1]
        self.accepted = 0
        self.times: list[float] = []

    def drain(self) -> int:
        """Accept whatever the kernel queued; the number of connections seen so far."""
        self.socket.setblocking(False)
        while True:
            try:
                connection, _ = self.socket.accept()
            except BlockingIOError:
                return self.accepted
            connection.close()
            self.accepted += 1

    def close(self) -> None:
        self.socket.close()


class TimedListener(Listener):
    """A listener that accepts in a thread and stamps each connection's arrival."""

    def __init__(self, address: str) -> None:
        super().__init__(address)
        self.socket.settimeout(0.1)
        self._running = True
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while self._running:
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.times.append(time.monotonic())
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=2)
        super().close()


def free_port(address: str) -> int:
    """A port nothing listens on at ``address`` (closed: the kernel answers RST)."""
    with socket.socket() as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
    return port


def silent_port(address: str) -> tuple[Listener, list[socket.socket]]:
    """A port whose accept queue is full: new connections get no answer at all (filtered)."""
    listener = Listener(address, backlog=0)
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex((address, listener.port))
        fillers.append(filler)
    time.sleep(0.05)
    return listener, fillers


@pytest.fixture
def listeners() -> Iterator[list[Listener]]:
    made: list[Listener] = []
    yield made
    for listener in made:
        listener.close()


def by_address(hosts: list[SweptHost]) -> dict[str, SweptHost]:
    return {host.address: host for host in hosts}


def test_open_ports_are_found_and_closed_ones_are_not(listeners: list[Listener]) -> None:
    # Given two listeners on one address, one on another, and a closed port
    listeners += [Listener(BASE + "1"), Listener(BASE + "1"), Listener(BASE + "2")]
    closed = free_port(BASE + "1")
    ports = sorted({*(listener.port for listener in listeners), closed})
    targets = build_targets([BASE + "1-4"])
    # When the range is swept
    hosts = by_address(list(sweep_connect(targets, ports, SweepLimits(per_host=2))))
    # Then every host is reported once, with exactly its listening ports
    assert set(hosts) == {BASE + "1", BASE + "2", BASE + "3", BASE + "4"}
    assert hosts[BASE + "1"].open_ports == tuple(sorted(x.port for x in listeners[:2]))
    assert hosts[BASE + "2"].open_ports == (listeners[2].port,)
    assert hosts[BASE + "3"].open_ports == () and hosts[BASE + "4"].open_ports == ()
    # And each listener saw exactly one connection (each port is tried once)
    assert [listener.drain() for listener in listeners] == [1, 1, 1]


def test_excluded_addresses_are_never_touched(listeners: list[Listener]) -> None:
    # Given the same port listening on an included and on an excluded address
    included = Listener(BASE + "10")
    excluded = Listener(BASE + "11", included.port)
    listeners += [included, excluded]
    targets = build_targets([BASE + "8-14"], [BASE + "11"])
    # When the range is swept
    hosts = by_address(list(sweep_connect(targets, [included.port])))
    # Then the excluded address got no connection and is not in the result
    assert BASE + "11" not in hosts
    assert hosts[BASE + "10"].open_ports == (included.port,)
    assert excluded.drain() == 0 and included.drain() == 1


def test_addresses_outside_the_interlock_are_never_touched(
    listeners: list[Listener], monkeypatch: pytest.MonkeyPatch
) -> None:
    inside, outside = Listener(BASE + "20"), Listener(BASE + "21")
    listeners += [inside, outside]
    # The sweep checks the interlock itself, even for targets handed to it directly
    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", f"{BASE}20/32")
    targets = [(BASE + "20", None), (BASE + "21", None)]
    hosts = by_address(list(sweep_connect(targets, [inside.port, outside.port])))
    assert set(hosts) == {BASE + "20"}
    assert outside.drain() == 0 and inside.drain() == 1


def test_the_rate_limit_spaces_connection_starts(listeners: list[Listener]) -> None:
    # Given ten listening ports and a rate of 25 connections per second
    timed = [TimedListener(BASE + "30") for _ in range(10)]
    listeners += timed
    ports = [listener.port for listener in timed]
    # When they are swept
    started = time.monotonic()
    hosts = list(sweep_connect([(BASE + "30", None)], ports, SweepLimits(rate_per_second=25)))
    elapsed = time.monotonic() - started
    # Then all ten were found, and ten starts at 25/s take at least 9 intervals (0.36 s)
    assert hosts[0].open_ports == tuple(sorted(ports))
    assert elapsed >= 9 / 25 * 0.9
    deadline = time.monotonic() + 2
    while sum(listener.accepted for listener in timed) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    arrivals = sorted(t for listener in timed for t in listener.times)
    assert len(arrivals) == 10
    assert arrivals[-1] - arrivals[0] >= 9 / 25 * 0.8


def test_an_unanswered_port_costs_one_connect_timeout(listeners: list[Listener]) -> None:
    # Given a port that never answers (its accept queue is full) and one that is open
    silent, fillers = silent_port(BASE + "40")
    open_listener = Listener(BASE + "40")
    listeners += [silent, open_listener]
    try:
        started = time.monotonic()
        hosts = list(
            sweep_connect(
                [(BASE + "40", None)],
                [silent.port, open_listener.port],
                SweepLimits(connect_timeout_s=0.3),
            )
        )
        elapsed = time.monotonic() - started
    finally:
        for filler in fillers:
            filler.close()
    # Then the sweep gave up on it after the connect timeout and kept the open one
    assert elapsed < 2.0
    assert hosts == [SweptHost(BASE + "40", None, (open_listener.port,), unanswered=1)]


def test_no_more_than_per_host_connections_at_once(listeners: list[Listener]) -> None:
    # Given four ports of one host that never answer, and at most two connections per host
    silent = [silent_port(BASE + "50") for _ in range(4)]
    listeners += [listener for listener, _ in silent]
    try:
        started = time.monotonic()
        hosts = list(
            sweep_connect(
                [(BASE + "50", None)],
                [listener.port for listener, _ in silent],
                SweepLimits(per_host=2, connect_timeout_s=0.3),
            )
        )
        elapsed = time.monotonic() - started
    finally:
        for _, fillers in silent:
            for filler in fillers:
                filler.close()
    # Then they were tried two at a time: two rounds of the connect timeout, not one
    assert hosts[0].unanswered == 4
    assert elapsed >= 2 * 0.3 * 0.9


def test_a_stop_ends_the_sweep_without_reporting_unfinished_hosts() -> None:
    calls = 0

    def stop() -> bool:
        nonlocal calls
        calls += 1
        return calls > 1

    targets = build_targets([BASE + "0/24"])
    hosts = list(sweep_connect(targets, list(range(1000, 1100)), stop=stop))
    assert len(hosts) < 254


def test_the_scanner_probes_only_hosts_the_sweep_found_open(listeners: list[Listener]) -> None:
    # Given one listening host in a small range
    listener = Listener(BASE + "60")
    listeners.append(listener)
    seen: list[HostEvidence] = []

    def identify(evidence: HostEvidence) -> Device:
        seen.append(evidence)
        return Device(ip=evidence.address, open_ports=evidence.open_ports)

    request = ScanRequest(
        targets=build_targets([BASE + "56-63"]),
        target_specs=(BASE + "56-63",),
        ports=(listener.port,),
        policies=(),
        total_hosts=8,
        limits=ScanLimits(connect_timeout_s=0.5),
        sweep=choose_sweeper(SweepEngine.builtin)[1],
    )
    # When the scanner runs with the sweep stage (no probes: only the ports matter here)
    result = asyncio.run(Scanner([], identify).run(request))
    # Then every address was counted, and only the listening one became a device
    assert result.info.hosts_scanned == 8 and result.info.complete
    assert [device.ip for device in result.devices] == [BASE + "60"]
    assert [evidence.open_ports for evidence in seen] == [(listener.port,)]


def test_identification_runs_off_the_event_loop(listeners: list[Listener]) -> None:
    """A slow identification (the first of a process compiles the rules) must not hold up the
    event loop, where other hosts' probes wait on their timeouts: the loop goes on while a
    host is identified. The identification waits for a tick of the loop (at most 5 s)."""
    listener = Listener(BASE + "70")
    listeners.append(listener)
    started, ticked = threading.Event(), threading.Event()
    seen: list[tuple[bool, bool]] = []  # (ran on the loop's thread, saw the loop tick)
    loop_thread: list[threading.Thread] = []

    def identify(evidence: HostEvidence) -> Device:
        started.set()
        seen.append((threading.current_thread() in loop_thread, ticked.wait(5.0)))
        return Device(ip=evidence.address, open_ports=evidence.open_ports)

    request = ScanRequest(
        targets=build_targets([BASE + "70"]),
        target_specs=(BASE + "70",),
        ports=(listener.port,),
        policies=(),
        total_hosts=1,
        limits=ScanLimits(connect_timeout_s=0.5),
        sweep=choose_sweeper(SweepEngine.builtin)[1],
    )

    async def main() -> list[Device]:
        loop_thread.append(threading.current_thread())

        async def tick() -> None:
            while not started.is_set():
                await asyncio.sleep(0.01)
            ticked.set()  # the loop ran while the host was being identified

        ticker = asyncio.ensure_future(tick())
        result = await Scanner([], identify).run(request)
        ticker.cancel()
        return list(result.devices)

    devices = asyncio.run(main())
    assert [device.ip for device in devices] == [BASE + "70"]
    assert seen == [(False, True)]


# -- nmap ------------------------------------------------------------------------------------


def test_nmap_is_handed_only_a_file_of_checked_addresses(tmp_path: Path) -> None:
    command = nmap_command(
        "nmap", tmp_path / "a.txt", [80, 443, 80], SweepLimits(rate_per_second=50), ipv6=False
    )
    # No target on the command line: only -iL and the file of addresses
    assert command[command.index("-iL") + 1] == str(tmp_path / "a.txt")
    assert not [arg for arg in command if _is_address_or_network(arg)]
    assert command[command.index("-p") + 1] == "80,443"
    assert command[command.index("--max-rate") + 1] == "50"
    assert {"-sT", "-Pn", "-n", "--open", "-v"} <= set(command)


def _is_address_or_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


FAKE_NMAP = """#!/bin/sh
# Records its arguments and the address file it was given, then reports the first address
# with port 80 open and an address it was never given.
printf '%s\\n' "$@" > "{log}"
while [ "$#" -gt 0 ]; do
  if [ "$1" = "-iL" ]; then cp "$2" "{addresses}"; first=$(head -n 1 "$2"); fi
  shift
done
cat <<XML
<?xml version="1.0"?><nmaprun>
<host><address addr="$first" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="80"><state state="open"/></port>
<port protocol="tcp" portid="81"><state state="closed"/></port></ports></host>
<host><address addr="127.99.0.1" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="80"><state state="open"/></port></ports></host>
</nmaprun>
XML
"""


def test_nmap_gets_expanded_addresses_without_the_excluded_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stand-in nmap that records what it was handed
    log, addresses = tmp_path / "args.txt", tmp_path / "addresses.txt"
    fake = tmp_path / "nmap"
    fake.write_text(FAKE_NMAP.format(log=log, addresses=addresses))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", f"{BASE}0/28")
    # When a range with an exclusion, partly outside the interlock, is swept through it
    targets = [*build_targets([BASE + "1-4"], [BASE + "2"])]
    targets.append((BASE + "200", None))  # handed in directly: outside the interlock
    hosts = by_address(list(sweep_nmap(targets, [80, 81], nmap=str(fake))))
    # Then nmap got a file with exactly the checked addresses, and no range on its command line
    assert addresses.read_text().split() == [BASE + "1", BASE + "3", BASE + "4"]
    arguments = log.read_text().split("\n")
    assert not any(BASE in argument for argument in arguments)
    # And its report is read, ignoring an address it was never given
    assert hosts[BASE + "1"].open_ports == (80,)
    assert set(hosts) == {BASE + "1", BASE + "3", BASE + "4"}


def test_a_failing_nmap_is_an_error_not_an_empty_result(tmp_path: Path) -> None:
    fake = tmp_path / "nmap"
    fake.write_text("#!/bin/sh\necho 'nmap: bad things' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(SweepEngineError, match="bad things"):
        list(sweep_nmap([(BASE + "1", None)], [80], nmap=str(fake)))


def test_asking_for_nmap_where_it_is_missing_is_an_input_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", os.devnull)
    with pytest.raises(InputError, match="nmap is not installed"):
        choose_sweeper("nmap")


@pytest.mark.skipif(find_nmap() is None, reason="nmap is not installed")
def test_real_nmap_finds_the_same_ports_and_skips_excluded(listeners: list[Listener]) -> None:
    included = Listener(BASE + "70")
    excluded = Listener(BASE + "71", included.port)
    listeners += [included, excluded]
    closed = free_port(BASE + "70")
    targets = build_targets([BASE + "69-72"], [BASE + "71"])
    hosts = by_address(list(sweep_nmap(targets, [included.port, closed])))
    assert set(hosts) == {BASE + "69", BASE + "70", BASE + "72"}
    assert hosts[BASE + "70"].open_ports == (included.port,)
    assert excluded.drain() == 0 and included.drain() >= 1


def _provscan(*args: str, path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provscan", "scan", *args, "--no-db", "--no-discovery", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PATH": path},
    )


def test_the_cli_refuses_an_unknown_or_missing_sweep_engine(tmp_path: Path) -> None:
    bad = _provscan(BASE + "1", "--sweep-engine", "masscan", path=os.environ["PATH"])
    assert bad.returncode == 2 and "--sweep-engine" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = _provscan(BASE + "1", "--sweep-engine", "nmap", path=str(tmp_path))
    assert missing.returncode == 2 and "nmap is not installed" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(find_nmap() is None, reason="nmap is not installed")
def test_a_scan_through_nmap_finds_the_listener(listeners: list[Listener]) -> None:
    listener = Listener(BASE + "80")
    listeners.append(listener)
    done = _provscan(
        BASE + "78-82",
        "--exclude",
        BASE + "79",
        "--ports",
        str(listener.port),
        "--sweep-engine",
        "nmap",
        "-f",
        "json",
        path=os.environ["PATH"],
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert [device["ip"] for device in document["devices"]] == [BASE + "80"]
    assert document["scan"]["hosts_scanned"] == 4
    assert any("nmap" in note for note in document["scan"]["notes"])


# -- nmap's progress: hosts come out while nmap runs ------------------------------------------

#: Loopback range of the nmap progress tests (the other tests use 127.84.3.x).
PROGRESS_RANGE = "127.85.0.0/18"

needs_nmap_and_proc = pytest.mark.skipif(
    find_nmap() is None or not Path("/proc/self/stat").exists(),
    reason="nmap is not installed (or no /proc to watch it)",
)


def nmap_telling_its_pid(tmp_path: Path) -> tuple[str, Path]:
    """A stand-in that writes its process id and becomes the real nmap (``exec``, same id)."""
    pid_file = tmp_path / "nmap.pid"
    wrapper = tmp_path / "nmap"
    wrapper.write_text(f'#!/bin/sh\necho $$ > "{pid_file}"\nexec "{find_nmap()}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return str(wrapper), pid_file


def nmap_running(pid_file: Path) -> bool:
    """Whether that nmap is still running (a process that has exited is gone or a zombie)."""
    try:
        status = Path(f"/proc/{int(pid_file.read_text())}/stat").read_text()
    except (FileNotFoundError, ValueError):
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def watched(pid_file: Path, hosts: Iterator[SweptHost]) -> list[tuple[SweptHost, bool]]:
    """Each host a sweep gives, with whether its nmap was still running when it came out."""
    return [(host, nmap_running(pid_file)) for host in hosts]


@needs_nmap_and_proc
def test_nmap_reports_empty_hosts_to_the_progress_bar_while_it_runs(
    tmp_path: Path, listeners: list[Listener]
) -> None:
    # Given a /18 with one listener in it, swept through nmap on several ports (seconds long)
    listener = Listener("127.85.40.7")
    listeners.append(listener)
    ports = tuple(sorted({listener.port, *(free_port("127.85.40.7") for _ in range(7))}))
    nmap, pid_file = nmap_telling_its_pid(tmp_path)
    batches: list[tuple[list[str], bool]] = []
    done: list[tuple[str, Device | None]] = []

    class Recorder(ScanObserver):
        def hosts_empty(self, ips: Sequence[str]) -> None:
            batches.append((list(ips), nmap_running(pid_file)))

        def host_done(self, ip: str, device: Device | None) -> None:
            done.append((ip, device))

    targets = build_targets([PROGRESS_RANGE])
    request = ScanRequest(
        targets=targets,
        target_specs=(PROGRESS_RANGE,),
        ports=ports,
        policies=(),
        total_hosts=targets.size_upper_bound,
        sweep=partial(sweep_nmap, nmap=nmap),
    )
    # When the scan runs
    scanner = Scanner([], lambda evidence: Device(ip=evidence.address), observer=Recorder())
    result = asyncio.run(scanner.run(request))
    # Then empty hosts reached the progress bar in batches while nmap was still running
    empty = [ip for ips, _ in batches for ip in ips]
    while_running = sum(len(ips) for ips, running in batches if running)
    assert while_running >= len(empty) // 4, (while_running, len(empty))
    assert sum(1 for _, running in batches if running) >= 10
    # And every address was counted exactly once: the bar ends at its total, not above
    assert len(empty) == len(set(empty)) == targets.size_upper_bound - 1
    assert [ip for ip, device in done if device is not None] == ["127.85.40.7"]
    assert "127.85.40.7" not in empty
    assert result.info.hosts_scanned == targets.size_upper_bound
    assert [device.ip for device in result.devices] == ["127.85.40.7"]


@needs_nmap_and_proc
def test_a_host_group_with_a_timed_out_host_still_gives_every_host_once(
    tmp_path: Path, listeners: list[Listener]
) -> None:
    # Given 2,048 addresses on two ports (nmap 7.93 scans them in four groups of 512), an
    # open port in the first group and a port that never answers in the second, whose host
    # runs out of its deadline (nmap then closes the group with "1 host timed out", no size)
    silent, fillers = silent_port("127.85.67.3")
    listener = Listener("127.85.64.9", silent.port)
    listeners += [silent, listener]
    nmap, pid_file = nmap_telling_its_pid(tmp_path)
    limits = SweepLimits(connect_timeout_s=0.3, host_deadline_s=0.4)
    targets = list(build_targets(["127.85.64.0/21"]))
    try:
        # When they are swept through nmap, noting whether nmap still ran as each came out
        out = watched(
            pid_file,
            sweep_nmap(targets, [silent.port, free_port("127.85.64.9")], limits, nmap=nmap),
        )
    finally:
        for filler in fillers:
            filler.close()
    # Then every address came out once, the open port found, the timed-out host with none
    addresses = [host.address for host, _ in out]
    assert sorted(addresses) == sorted(address for address, _ in targets)
    hosts = by_address([host for host, _ in out])
    assert hosts["127.85.64.9"].open_ports == (silent.port,)
    assert hosts["127.85.67.3"].open_ports == ()
    # And the first group came out while nmap ran; after the group nmap did not size, the
    # rest only when it ended (counting stops rather than guess): the third group's hosts
    # would otherwise come out when the fourth begins
    running = {host.address: was_running for host, was_running in out}
    assert running["127.85.64.0"] and running["127.85.65.255"]
    assert not running["127.85.68.0"] and not running["127.85.69.255"]


@needs_nmap_and_proc
def test_under_a_rate_limit_no_host_comes_out_before_nmap_ends(
    tmp_path: Path, listeners: list[Listener]
) -> None:
    # Given a rate limit shared with the probes (nmap gets it as --max-rate)
    listener = Listener("127.85.80.5")
    listeners.append(listener)
    nmap, pid_file = nmap_telling_its_pid(tmp_path)
    targets = list(build_targets(["127.85.80.0/22"]))
    limits = SweepLimits(rate_per_second=4000)
    # When 1,024 addresses are swept on two ports
    ports = [listener.port, free_port("127.85.80.5")]
    spacing = ConnectionSpacing(4000)
    out = watched(pid_file, sweep_nmap(targets, ports, limits, nmap=nmap, spacing=spacing))
    # Then nothing came out while nmap ran (no probe adds to its connections), all after
    assert not any(was_running for _, was_running in out)
    assert sorted(host.address for host, _ in out) == sorted(a for a, _ in targets)
    assert by_address([host for host, _ in out])["127.85.80.5"].open_ports == (listener.port,)


@needs_nmap_and_proc
def test_under_a_rate_limit_nmap_still_moves_the_progress_bar(tmp_path: Path) -> None:
    # Given an empty loopback /22 with a /24 excluded, swept through nmap on four closed
    # ports (groups of 256 hosts) under a rate limit, and one address that discovery heard
    # from (it goes to a probe worker even with nothing open)
    nmap, pid_file = nmap_telling_its_pid(tmp_path)
    ports = tuple(sorted({free_port("127.88.0.1") for _ in range(4)}))
    answered = "127.88.2.9"
    batches: list[tuple[list[str], bool]] = []
    started: list[tuple[str, bool]] = []

    class Recorder(ScanObserver):
        def hosts_empty(self, ips: Sequence[str]) -> None:
            batches.append((list(ips), nmap_running(pid_file)))

        def host_started(self, ip: str) -> None:
            started.append((ip, nmap_running(pid_file)))

    targets = build_targets(["127.88.0.0/22"], ["127.88.1.0/24"])
    expected = {address for address, _ in targets}
    request = ScanRequest(
        targets=targets,
        target_specs=("127.88.0.0/22",),
        ports=ports,
        policies=(),
        total_hosts=len(expected),
        limits=ScanLimits(rate_per_second=2000),
        prior={answered: HostEvidence(address=answered, answered=True)},
        sweep=partial(sweep_nmap, nmap=nmap),
    )
    # When the scan runs
    scanner = Scanner([], lambda evidence: Device(ip=evidence.address), observer=Recorder())
    result = asyncio.run(scanner.run(request))
    # Then empty hosts reached the progress bar while nmap was still running
    empty = [ip for ips, _ in batches for ip in ips]
    assert any(running and ips for ips, running in batches), batches
    # And each address was counted once, none of the excluded /24
    assert len(empty) == len(set(empty)) == len(expected) - 1
    assert set(empty) == expected - {answered}
    assert result.info.hosts_scanned == len(expected)
    # And the host that goes to a probe worker was only handed over once nmap had ended,
    # so that no probe adds to nmap's connections (one rate budget)
    assert started == [(answered, False)]


@needs_nmap_and_proc
def test_a_stop_ends_nmap_while_hosts_come_out(tmp_path: Path) -> None:
    # Given a sweep of a /18 through nmap, stopped once 1,000 hosts have come out
    nmap, pid_file = nmap_telling_its_pid(tmp_path)
    out: list[SweptHost] = []
    ports = sorted({free_port("127.85.0.1") for _ in range(8)})
    started = time.monotonic()
    for host in sweep_nmap(
        build_targets([PROGRESS_RANGE]), ports, stop=lambda: len(out) >= 1000, nmap=nmap
    ):
        out.append(host)
    # Then the sweep ended soon after, nmap is gone, and no host came out twice
    assert time.monotonic() - started < 10
    assert not nmap_running(pid_file)
    assert 1000 <= len(out) < 16384
    assert len({host.address for host in out}) == len(out)


def test_one_rate_budget_is_shared_by_the_sweep_and_the_probes() -> None:
    # Given one spacing of 100 connections per second drawn on by two threads at once
    spacing = ConnectionSpacing(100)
    delays: list[float] = []
    lock = threading.Lock()

    def draw() -> None:
        for _ in range(20):
            delay = spacing.reserve()
            with lock:
                delays.append(delay)

    threads = [threading.Thread(target=draw) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then the 40 slots handed out are spaced over the whole budget, not twice it
    assert len(delays) == 40
    assert max(delays) >= 39 / 100 * 0.9


def test_auto_hands_large_sets_to_nmap_only_without_a_rate_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "nmap"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path))
    # one CPU: nmap's C loop for large sets without a rate limit
    monkeypatch.setattr(engine_sweep, "available_cpus", lambda: 1)
    assert choose_sweeper("auto", 4095)[0] == "builtin"
    assert choose_sweeper("auto", 4096)[0] == "nmap"
    assert choose_sweeper("auto", 65534, rate_per_second=100)[0] == "builtin"
    # two CPUs or more: the builtin's worker processes, which report progress as they go
    monkeypatch.setattr(engine_sweep, "available_cpus", lambda: 2)
    assert choose_sweeper("auto", 65534)[0] == "builtin"
    monkeypatch.setattr(engine_sweep, "available_cpus", lambda: 1)
    monkeypatch.setenv("PATH", os.devnull)
    assert choose_sweeper("auto", 65534)[0] == "builtin"


def test_a_failing_sweep_fails_the_scan_with_its_message() -> None:
    def broken(*args: object, **kwargs: object) -> Iterator[SweptHost]:
        yield SweptHost(BASE + "1", None, ())
        raise SweepEngineError("nmap failed (exit 1): bad things")

    request = ScanRequest(
        targets=build_targets([BASE + "1-2"]),
        target_specs=(BASE + "1-2",),
        ports=(80,),
        policies=(),
        total_hosts=2,
        sweep=broken,
    )
    with pytest.raises(SweepEngineError, match="bad things"):
        asyncio.run(Scanner([], lambda evidence: Device(ip=evidence.address)).run(request))


# --- the builtin sweep over worker processes (issue 14 point 1) -------------------------


def test_workers_find_what_one_process_finds(listeners: list[Listener]) -> None:
    # Given listeners on three addresses of a range, one port closed, one address excluded
    listeners += [Listener(BASE + "61"), Listener(BASE + "61"), Listener(BASE + "70")]
    excluded = Listener(BASE + "65", listeners[0].port)
    listeners.append(excluded)
    ports = sorted({*(x.port for x in listeners[:3]), free_port(BASE + "61")})
    # and batches small enough that both workers get several
    targets = list(build_targets([BASE + "60-90"], [BASE + "65"]))
    named = [(address, f"name-{address}") for address, _ in targets]
    # When the range is swept by two worker processes and by one process
    parallel = by_address(list(sweep_connect_parallel(named, ports, workers=2)))
    for listener in listeners:
        listener.drain()
    counts = [listener.accepted for listener in listeners]
    single = by_address(list(sweep_connect(named, ports)))
    # Then both report every host once, with the same open ports and the target's name
    assert set(parallel) == set(single) == {address for address, _ in targets}
    assert {a: h.open_ports for a, h in parallel.items()} == {
        a: h.open_ports for a, h in single.items()
    }
    assert all(host.hostname == f"name-{address}" for address, host in parallel.items())
    assert parallel[BASE + "61"].open_ports == tuple(sorted(x.port for x in listeners[:2]))
    # And each listening port got one connection from the workers; the excluded one none
    assert counts == [1, 1, 1, 0]


def test_workers_check_the_interlock_themselves(
    listeners: list[Listener], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given targets handed straight to the workers, one outside the interlock
    inside, outside = Listener(BASE + "92"), Listener(BASE + "93")
    listeners += [inside, outside]
    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", f"{BASE}92/32")
    targets = [(BASE + "92", None), (BASE + "93", None)]
    hosts = by_address(
        list(sweep_connect_parallel(targets, [inside.port, outside.port], workers=2))
    )
    # Then the worker processes (which inherit the environment) never touched it
    assert set(hosts) == {BASE + "92"}
    assert outside.drain() == 0 and inside.drain() == 1


def test_a_stop_ends_the_workers() -> None:
    calls = 0

    def stop() -> bool:
        nonlocal calls
        calls += 1
        return calls > 2

    targets = list(build_targets([BASE + "0/24"]))
    started = time.monotonic()
    hosts = list(sweep_connect_parallel(targets, list(range(1000, 1100)), stop=stop, workers=2))
    assert len(hosts) < 254
    assert time.monotonic() - started < 5


def test_a_failing_worker_is_an_error_not_an_empty_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A worker that cannot run (here: its interpreter exits at once with an error) fails the
    # sweep with the worker's message instead of reporting its addresses as closed.
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(SweepWorkerError, match="sweep worker"):
        list(sweep_connect_parallel([(BASE + "1", None)], [80], workers=2))


def test_a_worker_failing_after_all_targets_were_sent_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker that reads its whole input (so the sweep has sent every target and closed its
    # input) and then dies: the error names what it said, and nothing else is raised
    # (before: "flush of closed file" from subprocess, a traceback for the user).
    worker = tmp_path / "worker"
    worker.write_text('#!/bin/sh\ncat > /dev/null\necho "worker ran out of memory" >&2\nexit 3\n')
    worker.chmod(worker.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(sys, "executable", str(worker))
    with pytest.raises(SweepWorkerError, match="worker ran out of memory"):
        list(sweep_connect_parallel([(BASE + "1", None)], [80], workers=2))


def test_worker_count_follows_size_rate_and_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(WORKERS_VARIABLE, raising=False)
    assert worker_count(100) == 1
    assert worker_count(65534, rate_per_second=100) == 1
    monkeypatch.setenv(WORKERS_VARIABLE, "3")
    assert worker_count(100) == 3
    assert worker_count(65534, rate_per_second=100) == 1  # one rate budget, one process
    monkeypatch.setenv(WORKERS_VARIABLE, "1")
    assert worker_count(65534) == 1
    assert choose_sweeper("builtin", 65534)[1] is sweep_connect
    monkeypatch.setenv(WORKERS_VARIABLE, "2")
    assert choose_sweeper("builtin", 65534)[1] is not sweep_connect


def test_under_a_rate_limit_hosts_finish_as_the_sweep_goes() -> None:
    # A review: `timeout -s INT 25 provscan scan 127.77.1.0/24 --rate 100` kept nothing,
    # because the sweep went port by port over 256 hosts and no host finished before its
    # last port. Under a rate limit a round is now about two seconds of connections.
    assert round_hosts(1024, 0.0, 19) == 1024  # no limit: unchanged
    assert round_hosts(1024, 1 / 100, 19) == 10
    assert round_hosts(1024, 1 / 5, 19) == 1  # a slow rate: one host at a time
    # Given 40 addresses (closed ports on loopback answer at once) and 19 ports at 100/s:
    # the whole sweep takes ~7.6 s, and port-major over all 40 no host would finish before
    # ~7.4 s; the sweep stopped after 3 s has finished hosts to give
    started = time.monotonic()
    targets = build_targets(["127.84.5.1-40"])
    hosts = list(
        sweep_connect(
            targets,
            list(range(1001, 1020)),
            SweepLimits(rate_per_second=100),
            stop=lambda: time.monotonic() - started > 3.0,
        )
    )
    assert 5 <= len(hosts) < 40
    assert [host.address for host in hosts] == [f"127.84.5.{n}" for n in range(1, len(hosts) + 1)]
