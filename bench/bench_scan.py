"""Benchmark: provscan vs `nmap -sV` on the same lab targets and ports (not a test).

Starts a bench lab of N emulated devices spread over a larger loopback range (default:
120 devices in 127.88.0.0/23 = 510 addresses), scans the whole range with provscan in a
subprocess (peak RSS sampled with psutil), then — when nmap is installed — runs
`nmap -sV -Pn -n` on the same addresses and ports, and prints time and identification
ratios. All traffic stays on loopback.

    python bench/bench_scan.py [--devices 120] [--cidr 127.88.0.0/23] [--no-nmap]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from measure import compile_provscan, run_measured

from provscan.knowledge import load_knowledge
from provscan.lab.server import generate_bench_lab, run_lab_in_thread
from provscan.transport.limits import DEFAULT_PORTS

# The scope interlock (docs/decisions/0007): everything this benchmark starts stays on loopback.
os.environ.setdefault("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128")


def expected_makers(devices: list, knowledge) -> dict[str, tuple[str | None, str | None]]:  # type: ignore[no-untyped-def,type-arg]
    return {d.address: (d.expect.manufacturer, d.expect.brand) for d in devices}


def nmap_identified(
    xml_text: str, expected: dict[str, tuple[str | None, str | None]], knowledge
) -> int:  # type: ignore[no-untyped-def]
    """Count hosts where any nmap service product/vendor string names the expected maker
    or label brand (a generous comparison in nmap's favour)."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return 0
    count = 0
    for host in root.iter("host"):
        address = host.find("address")
        if address is None:
            continue
        maker, brand = expected.get(address.get("addr", ""), (None, None))
        if not maker:
            continue
        spellings = set()
        for name in (maker, brand):
            if name and name in knowledge.vendors:
                vendor = knowledge.vendors[name]
                spellings |= {s.lower() for s in [vendor.name, *vendor.aliases] if len(s) > 2}
        text = " ".join(
            " ".join(filter(None, (s.get("product"), s.get("extrainfo"), s.get("devicetype"))))
            for s in host.iter("service")
        ).lower()
        if any(s in text for s in spellings):
            count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=120)
    parser.add_argument("--cidr", default="127.88.0.0/23")
    parser.add_argument("--no-nmap", action="store_true")
    parser.add_argument("--nmap-timeout", type=float, default=3600)
    args = parser.parse_args()
    print(compile_provscan())

    network = ipaddress.ip_network(args.cidr)
    if not network.is_loopback:
        parser.error("the benchmark runs on loopback only")
    knowledge = load_knowledge()
    devices = generate_bench_lab(args.devices, str(network.network_address))
    expected = expected_makers(devices, knowledge)
    hosts = network.num_addresses
    ports = ",".join(str(p) for p in DEFAULT_PORTS)
    print(f"bench lab: {len(devices)} devices in {args.cidr} ({hosts} addresses), ports {ports}")

    with run_lab_in_thread(devices):
        output = Path(tempfile.mkdtemp()) / "scan.json"
        scan = run_measured(
            [
                sys.executable,
                "-m",
                "provscan",
                "scan",
                args.cidr,
                "--format",
                "json",
                "--output",
                str(output),
                "--no-db",
                "--quiet",
                "--ports",
                ports,
            ],
            timeout=3600,
        )
        elapsed, peak, rc = scan.seconds, scan.peak_rss, scan.returncode
        document = json.loads(output.read_text()) if output.exists() else {"devices": []}
        correct = sum(
            1
            for d in document["devices"]
            if expected.get(d["ip"], (None, None))[0] is not None
            and d["manufacturer"] == expected[d["ip"]][0]
        )
        identifiable = sum(1 for maker, _ in expected.values() if maker)
        found = {d["ip"]: d for d in document["devices"]}
        for device in devices:
            maker = device.expect.manufacturer
            got = found.get(device.address, {}).get("manufacturer")
            if maker and got != maker:
                ports_seen = found.get(device.address, {}).get("open_ports", [])
                print(
                    f"  missed {device.id} at {device.address}: expected {maker}, got {got} "
                    f"(open ports seen: {ports_seen}; device ports: "
                    f"{[s.port for s in device.services]})"
                )
        print(
            f"provscan: {elapsed:.2f} s (exit {rc}), {hosts / elapsed:.1f} hosts/s, "
            f"{correct / elapsed:.1f} devices identified/s, peak RSS {peak / 2**20:.1f} MiB"
        )
        print(f"provscan: {correct}/{identifiable} devices with a known maker identified correctly")

        nmap = shutil.which("nmap")
        if args.no_nmap or nmap is None:
            print("nmap: not run" + ("" if nmap else " (not installed: apt-get install nmap)"))
            return 0
        nmap_run = run_measured(
            [nmap, "-sV", "-Pn", "-n", "-p", ports, "--open", "-oX", "-", args.cidr],
            timeout=args.nmap_timeout,
        )
        nmap_elapsed, nmap_peak, nmap_rc = (
            nmap_run.seconds,
            nmap_run.peak_rss,
            nmap_run.returncode,
        )
        xml_text = nmap_run.stdout
        nmap_correct = nmap_identified(xml_text, expected, knowledge)
        print(
            f"nmap -sV: {nmap_elapsed:.2f} s (exit {nmap_rc}), peak RSS {nmap_peak / 2**20:.1f} MiB, "
            f"{nmap_correct}/{identifiable} devices naming the maker or label brand"
        )
        print(
            f"ratio: provscan is {nmap_elapsed / elapsed:.1f}x faster than nmap -sV; "
            f"identified {correct} vs {nmap_correct}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
