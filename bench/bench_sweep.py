"""Benchmark: provscan's sweep vs `nmap -sT` on the same empty loopback range (not a test).

On Linux every 127.x.y.z address answers a closed port with a reset at once, so an empty
loopback range is "every port closed": what this measures is the sweep's own cost per
connection. Both run as child processes on the same addresses and ports (the default port
set), alternately ``--repeat`` times; wall time and peak RSS (process and children, psutil)
are printed per run, then the medians and their ratio. provscan's fixed start-up (the same
command on one address and one port: imports, knowledge, identification stage, JSON) is
measured as well, so the sweep's own share can be told apart; the load average is printed
before and after (the machine is shared).

    python bench/bench_sweep.py [--size 20|16] [--engine builtin|nmap|auto] [--repeat N]
                                [--no-nmap] [--no-startup]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from measure import Measured, compile_provscan, run_measured

from provscan.transport.limits import DEFAULT_PORTS

# The scope interlock (docs/decisions/0007): everything this benchmark starts stays on loopback.
os.environ.setdefault("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128")

#: The empty ranges, one per size (nothing listens there; the lab uses 127.77/16).
RANGES = {20: "127.80.0.0/20", 16: "127.81.0.0/16"}
#: One empty loopback address for the start-up measurement (inside the /20).
STARTUP_TARGET = "127.80.0.1"


def provscan_scan(target: str, ports: str, engine: str, timeout: float) -> tuple[Measured, dict]:
    """``provscan scan`` of ``target`` in a child process, and its JSON document."""
    with tempfile.TemporaryDirectory(prefix="provscan-bench-sweep-") as directory:
        output = Path(directory) / "scan.json"
        measured = run_measured(
            [
                sys.executable,
                "-m",
                "provscan",
                "scan",
                target,
                "--no-discovery",
                "--no-db",
                "--quiet",
                "--format",
                "json",
                "--output",
                str(output),
                "--ports",
                ports,
                "--sweep-engine",
                engine,
            ],
            timeout=timeout,
        )
        document = json.loads(output.read_text()) if output.exists() else {}
    return measured, document


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, choices=sorted(RANGES), default=20)
    parser.add_argument("--engine", choices=("auto", "builtin", "nmap"), default="builtin")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side (medians)")
    parser.add_argument("--no-nmap", action="store_true", help="do not run nmap side by side")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up runs")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    print(compile_provscan())

    cidr = RANGES[args.size]
    network = ipaddress.ip_network(cidr)
    assert network.is_loopback  # never anything else
    hosts = network.num_addresses
    ports = ",".join(str(port) for port in DEFAULT_PORTS)
    print(
        f"sweep of {cidr} ({hosts} addresses) x {len(DEFAULT_PORTS)} ports = "
        f"{hosts * len(DEFAULT_PORTS)} connections; load average {load()}"
    )
    nmap = shutil.which("nmap")
    if not args.no_nmap and nmap is None:
        print("nmap: not run (not installed: apt-get install nmap)")

    scans: list[float] = []
    peers: list[float] = []
    startups: list[float] = []
    for run in range(1, max(args.repeat, 1) + 1):
        if not args.no_startup:
            startup, _ = provscan_scan(STARTUP_TARGET, "1", args.engine, args.timeout)
            startups.append(startup.seconds)
            print(f"[{run}] provscan start-up (1 address, 1 port): {startup.seconds:.2f} s")
        scan, document = provscan_scan(cidr, ports, args.engine, args.timeout)
        scans.append(scan.seconds)
        info = document.get("scan", {})
        print(
            f"[{run}] provscan scan --sweep-engine {args.engine}: {scan.seconds:.2f} s "
            f"(exit {scan.returncode}), {hosts / scan.seconds:,.0f} hosts/s, "
            f"peak RSS {scan.peak_rss / 2**20:.1f} MiB, hosts scanned "
            f"{info.get('hosts_scanned')}, devices {len(document.get('devices', []))}"
        )
        if scan.returncode != 0:
            print(scan.stderr.strip()[-2000:])
        if args.no_nmap or nmap is None:
            continue
        peer = run_measured(
            [nmap, "-sT", "-Pn", "-n", "--open", "-p", ports, "-oX", os.devnull, cidr],
            timeout=args.timeout,
        )
        peers.append(peer.seconds)
        print(
            f"[{run}] nmap -sT -Pn -n --open: {peer.seconds:.2f} s (exit {peer.returncode}), "
            f"peak RSS {peer.peak_rss / 2**20:.1f} MiB; ratio {scan.seconds / peer.seconds:.2f}x"
        )

    scan_median = statistics.median(scans)
    summary = f"median of {len(scans)}: provscan {scan_median:.2f} s"
    if startups:
        summary += f" (start-up {statistics.median(startups):.2f} s)"
    if peers:
        peer_median = statistics.median(peers)
        summary += (
            f", nmap {peer_median:.2f} s; ratio: provscan takes "
            f"{scan_median / peer_median:.2f}x nmap's time"
        )
    print(f"{summary}; load average {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
