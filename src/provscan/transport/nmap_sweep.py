"""The address sweep through nmap's connect scan, where nmap is installed (``--sweep-engine``).

nmap is handed only addresses that provscan has already expanded and checked (scope rules,
``--exclude``, and the interlock again here), one per line in a private file (``-iL``): never
a range or name that nmap could widen. It runs ``-sT -Pn -n --open`` (a plain TCP connect,
no ping, no DNS), with the scan's rate (``--max-rate``), connect timeout
(``--max-rtt-timeout``) and host deadline (``--host-timeout``). Its XML is read as it comes;
a reported address that was not handed over is ignored. IPv6 addresses go in a second run
with ``-6``.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Sequence
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
) -> Iterator[SweptHost]:
    """Like :func:`provscan.transport.sweep.sweep_connect`, through nmap.

    Hosts with open ports come out as nmap reports them, the others once nmap is done. Under
    a rate limit (``spacing``, shared with the probes) nmap gets it as ``--max-rate`` and
    no host comes out before nmap is done, so probing never adds to nmap's connections.
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
                (ipv6 if is_v6 else ipv4).write(address + "\n")
                handed[is_v6][address] = hostname
        for is_v6 in (False, True):
            if not handed[is_v6]:
                continue
            command = nmap_command(nmap, files[is_v6], ports, limits, ipv6=is_v6)
            reported: set[str] = set()
            held: list[SweptHost] = []
            for host in _run(command, handed[is_v6], stop):
                reported.add(host.address)
                if hold:
                    held.append(host)
                else:
                    yield host
            yield from held
            if stop is not None and stop():
                return
            for address, hostname in handed[is_v6].items():
                if address not in reported:
                    yield SweptHost(address, hostname, ())


def _run(
    command: list[str], handed: dict[str, str | None], stop: Callable[[], bool] | None
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
        parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("end",))
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
                parser.feed(chunk)
                yield from _hosts(parser, handed)
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


def _hosts(
    parser: ET.XMLPullParser[ET.Element], handed: dict[str, str | None]
) -> Iterator[SweptHost]:
    for event in parser.read_events():
        element = cast(tuple[str, object], event)[1]
        if not isinstance(element, ET.Element) or element.tag != "host":
            continue
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
        element.clear()
        if address in handed:  # anything else was never asked for: ignored
            yield SweptHost(address, handed[address], tuple(open_ports))
