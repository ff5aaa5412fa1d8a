"""The address sweep through nmap's connect scan, where nmap is installed (``--sweep-engine``).

nmap is handed only addresses that provscan has already expanded and checked (scope rules,
``--exclude``, and the interlock again here), one per line in a private file (``-iL``): never
a range or name that nmap could widen. It runs ``-sT -Pn -n --open`` (a plain TCP connect,
no ping, no DNS), with the scan's rate (``--max-rate``), connect timeout
(``--max-rtt-timeout``) and host deadline (``--host-timeout``). Its XML is read as it comes;
a reported address that was not handed over is ignored. IPv6 addresses go in a second run
with ``-6``.

Progress: nmap scans the file's addresses in order, in host groups (1,024 ports' worth, at
least 64 hosts) and reports a group's hosts once the whole group is done. With ``-v`` its XML
ends each group's scan with ``<taskend task="Connect Scan" extrainfo="N total ports">``
(hosts times ports), so when the next group begins, the group's addresses nmap did not report
have nothing open and come out then: the scan's progress bar moves as nmap goes. A group
whose size nmap does not say (``"1 host timed out"``) or a host reported outside its group
stops this counting and the rest comes out when nmap ends, so no address comes out twice.
(``--stats-every`` would not do: its ``<taskprogress percent=...>`` is the current group's.)

Under a rate limit (``--rate``: a budget the probes share, which nmap's connections do not
draw on) the hosts the caller will probe (``probed``) are held until nmap ends, so that no
probe adds to nmap's connections; the others (nothing open, nothing to ask) still come out as
their group finishes, so the progress bar moves under ``--rate`` too.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import cast

from provscan.errors import ProvscanError
from provscan.interlock import allowed_networks
from provscan.transport.sweep import (
    ConnectionSpacing,
    SweepLimits,
    SweptHost,
    inside_networks,
)


class SweepEngineError(ProvscanError):
    """The external sweep engine could not be run or failed."""


def find_nmap() -> str | None:
    """The nmap executable on ``PATH``, or None."""
    return shutil.which("nmap")


def nmap_command(
    nmap: str, address_file: Path, ports: Sequence[int], limits: SweepLimits, *, ipv6: bool
) -> list[str]:
    """The nmap command line for a sweep of the addresses listed in ``address_file``."""
    command = [
        nmap,
        "-sT",
        "-v",  # the end of each host group's scan, for progress (module docstring)
        "-Pn",
        "-n",
        "--open",
        "-p",
        ",".join(str(port) for port in dict.fromkeys(ports)),
        "-iL",
        str(address_file),
        "-oX",
        "-",
        "--max-rtt-timeout",
        f"{max(int(limits.connect_timeout_s * 1000), 1)}ms",
        "--max-retries",
        "1",
    ]
    if limits.rate_per_second > 0:
        command += ["--max-rate", f"{limits.rate_per_second:g}"]
    if limits.host_deadline_s > 0:
        command += ["--host-timeout", f"{max(int(limits.host_deadline_s * 1000), 1)}ms"]
    if ipv6:
        command.append("-6")
    return command


def sweep_nmap(
    targets: Iterable[tuple[str, str | None]],
    ports: Sequence[int],
    limits: SweepLimits | None = None,
    *,
    stop: Callable[[], bool] | None = None,
    nmap: str | None = None,
    spacing: ConnectionSpacing | None = None,
    probed: Callable[[SweptHost], bool] | None = None,
) -> Iterator[SweptHost]:
    """Like :func:`provscan.transport.sweep.sweep_connect`, through nmap.

    Hosts with open ports come out as nmap reports them, the others as nmap finishes their
    host group (module docstring). Under a rate limit (``spacing``, shared with the probes)
    nmap gets it as ``--max-rate``, and the hosts for which ``probed`` is true (every host
    when it is None) only come out once nmap is done, so probing never adds to nmap's
    connections; the others still come out as they are decided (progress).
    """
    hold = spacing is not None and spacing.interval > 0
    limits = limits or SweepLimits()
    nmap = nmap or find_nmap()
    if nmap is None:
        raise SweepEngineError("nmap is not installed (install it or use --sweep-engine builtin)")
    networks = allowed_networks()
    with tempfile.TemporaryDirectory(prefix="provscan-sweep-") as directory:
        files = {False: Path(directory) / "ipv4.txt", True: Path(directory) / "ipv6.txt"}
        handed: dict[bool, dict[str, str | None]] = {False: {}, True: {}}
        with files[False].open("w") as ipv4, files[True].open("w") as ipv6:
            for address, hostname in targets:
                if not inside_networks(address, networks):
                    continue  # refused by the interlock: never handed over
                is_v6 = ":" in address
                if address in handed[is_v6]:
                    continue  # once: nmap's host groups are counted against the file's lines
                (ipv6 if is_v6 else ipv4).write(address + "\n")
                handed[is_v6][address] = hostname
        port_count = len(dict.fromkeys(ports))
        for is_v6 in (False, True):
            if not handed[is_v6]:
                continue
            command = nmap_command(nmap, files[is_v6], ports, limits, ipv6=is_v6)
            with files[is_v6].open() as lines:
                report = _Report(handed[is_v6], lines, port_count)
                held: list[SweptHost] = []
                for host in _run(command, report, stop):
                    if hold and (probed is None or probed(host)):
                        held.append(host)
                    else:
                        yield host
                yield from held
                if stop is not None and stop():
                    return
                yield from report.rest()


#: nmap's ``-v`` end of a host group's connect scan when no host timed out: the group's hosts
#: times the ports (a group with a timed-out host says ``"N hosts timed out"`` instead).
_GROUP_PORTS = re.compile(r"(\d+) total ports")
_SCAN_TASK = "Connect Scan"


class _Report:
    """nmap's XML as it streams, turned into swept hosts: each handed address at most once.

    ``handed`` (address -> hostname) loses each address as it comes out; ``lines`` is the
    address file nmap reads, in its order, from which each finished host group is taken.
    """

    def __init__(
        self,
        handed: dict[str, str | None],
        lines: Iterator[str],
        port_count: int,
    ) -> None:
        self._parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("end",))
        self._handed = handed
        self._lines = lines
        self._port_count = port_count
        #: Whether finished groups still come out as nmap goes (off once nmap's groups and
        #: the file's lines might not match: the rest then comes out at the end).
        self._count_groups = True
        #: The addresses of the group whose scan ended and whose hosts nmap is reporting.
        self._group: dict[str, None] | None = None

    def feed(self, chunk: bytes) -> Iterator[SweptHost]:
        """The hosts decided by this chunk of nmap's XML."""
        self._parser.feed(chunk)
        for event in self._parser.read_events():
            element = cast(tuple[str, object], event)[1]
            if not isinstance(element, ET.Element):
                continue
            if element.tag == "host":
                yield from self._host(element)
                element.clear()
            elif element.tag == "taskend" and element.get("task") == _SCAN_TASK:
                self._group_scanned(element.get("extrainfo", ""))
            elif element.tag == "runstats" or (
                element.tag == "taskbegin" and element.get("task") == _SCAN_TASK
            ):
                yield from self._group_reported()

    def rest(self) -> Iterator[SweptHost]:
        """Every handed address that has not come out: nmap found nothing open on it."""
        handed, self._handed = self._handed, {}
        for address, hostname in handed.items():
            yield SweptHost(address, hostname, ())

    def _host(self, element: ET.Element) -> Iterator[SweptHost]:
        address = next(
            (
                a.get("addr", "")
                for a in element.iter("address")
                if a.get("addrtype") in ("ipv4", "ipv6")
            ),
            "",
        )
        open_ports = sorted(
            int(port.get("portid", "0"))
            for port in element.iter("port")
            if port.get("protocol") == "tcp"
            and (state := port.find("state")) is not None
            and state.get("state") == "open"
        )
        if self._group is None or address not in self._group:
            self._count_groups = False
        if address in self._handed:  # anything else was never asked for (or is out): ignored
            yield SweptHost(address, self._handed.pop(address), tuple(open_ports))

    def _group_scanned(self, extrainfo: str) -> None:
        """A group's scan ended: take its addresses from the file, if nmap says how many."""
        if not self._count_groups:
            return
        match = _GROUP_PORTS.fullmatch(extrainfo)
        hosts, remainder = (0, 0)
        if match and self._port_count:
            hosts, remainder = divmod(int(match[1]), self._port_count)
        group = dict.fromkeys(line.strip() for line in islice(self._lines, hosts))
        if not hosts or remainder or len(group) < hosts or self._group is not None:
            self._count_groups = False
            return
        self._group = group

    def _group_reported(self) -> Iterator[SweptHost]:
        """The group's hosts are all reported: those that were not have nothing open."""
        group, self._group = self._group, None
        if not self._count_groups or group is None:
            return
        for address in group:
            if address in self._handed:
                yield SweptHost(address, self._handed.pop(address), ())


def _run(
    command: list[str], report: _Report, stop: Callable[[], bool] | None
) -> Iterator[SweptHost]:
    """Run nmap, parse its XML as it streams, stop it when asked."""
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL
            )
        except OSError as exc:
            raise SweepEngineError(f"cannot run nmap: {exc.strerror or exc}") from exc
        assert process.stdout is not None
        fd = process.stdout.fileno()
        try:
            while True:
                if stop is not None and stop():
                    return
                readable, _, _ = select.select([fd], [], [], 0.2)
                if not readable:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                yield from report.feed(chunk)
            if process.wait() != 0:
                errors.seek(0)
                message = errors.read(2000).decode("utf-8", "replace").strip().splitlines()
                raise SweepEngineError(
                    f"nmap failed (exit {process.returncode}): "
                    f"{message[-1] if message else 'no message'}"
                )
        except ET.ParseError as exc:
            raise SweepEngineError(f"nmap's XML output could not be read: {exc}") from exc
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            process.stdout.close()
