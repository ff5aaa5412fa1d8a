"""Benchmark: provscan's sweep vs `nmap -sT` on the same empty loopback range (not a test).

On Linux every 127.x.y.z address answers a closed port with a reset at once, so an empty
loopback range is "every port closed": what this measures is the sweep's own cost per
connection. Both run as child processes on the same addresses and ports (the default port
set); wall time and peak RSS (process and children, psutil) are printed with the ratio.

    python bench/bench_sweep.py [--size 20|16] [--engine builtin|nmap|auto] [--no-nmap]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from measure import run_measured

from provscan.transport.limits import DEFAULT_PORTS

# The scope interlock (docs/decisions/0007): everything this benchmark starts stays on loopback.
os.environ.setdefault("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128")

#: The empty ranges, one per size (nothing listens there; the lab uses 127.77/16).
RANGES = {20: "127.80.0.0/20", 16: "127.81.0.0/16"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, choices=sorted(RANGES), default=20)
    parser.add_argument("--engine", choices=("auto", "builtin", "nmap"), default="builtin")
    parser.add_argument("--no-nmap", action="store_true", help="do not run nmap side by side")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()

    cidr = RANGES[args.size]
    network = ipaddress.ip_network(cidr)
    assert network.is_loopback  # never anything else
    hosts = network.num_addresses - 2
    ports = ",".join(str(port) for port in DEFAULT_PORTS)
    print(
        f"sweep of {cidr} ({hosts} addresses) x {len(DEFAULT_PORTS)} ports = "
        f"{hosts * len(DEFAULT_PORTS)} connections"
    )

    directory = tempfile.TemporaryDirectory(prefix="provscan-bench-sweep-")
    output = Path(directory.name) / "scan.json"
    scan = run_measured(
        [
            sys.executable,
            "-m",
            "provscan",
            "scan",
            cidr,
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
            args.engine,
        ],
        timeout=args.timeout,
    )
    document = json.loads(output.read_text()) if output.exists() else {}
    directory.cleanup()
    info = document.get("scan", {})
    print(
        f"provscan scan --sweep-engine {args.engine}: {scan.seconds:.2f} s "
        f"(exit {scan.returncode}), "
        f"{hosts / scan.seconds:,.0f} hosts/s, peak RSS {scan.peak_rss / 2**20:.1f} MiB, "
        f"hosts scanned {info.get('hosts_scanned')}, devices {len(document.get('devices', []))}"
    )
    if scan.returncode != 0:
        print(scan.stderr.strip()[-2000:])

    nmap = shutil.which("nmap")
    if args.no_nmap or nmap is None:
        print("nmap: not run" + ("" if nmap else " (not installed: apt-get install nmap)"))
        return 0
    peer = run_measured(
        [nmap, "-sT", "-Pn", "-n", "--open", "-p", ports, "-oX", os.devnull, cidr],
        timeout=args.timeout,
    )
    print(
        f"nmap -sT -Pn -n --open: {peer.seconds:.2f} s (exit {peer.returncode}), "
        f"peak RSS {peer.peak_rss / 2**20:.1f} MiB"
    )
    print(f"ratio: provscan takes {scan.seconds / peer.seconds:.2f}x nmap's time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
