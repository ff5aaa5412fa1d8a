"""Benchmark: `provscan pcap` vs `tshark -T fields` on the same multi-GB capture (not a test).

Builds a capture in /tmp by repeating the committed lab recording (and the crafted
signals) with shifted timestamps until it reaches ``--size-gb``; then runs provscan on it
in a subprocess (peak RSS sampled with psutil, and RSS at each quarter of the run to show
that memory stays flat), then — when tshark is installed (`apt-get install tshark`) — tshark
extracting the equivalent fields, and prints the time ratio. The capture is deleted at the
end unless ``--keep``. Nothing is sent on any network.

    python bench/bench_pcap.py [--size-gb 2] [--no-tshark] [--keep] [--capture PATH]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

# The scope interlock (docs/decisions/0007): everything this benchmark starts stays on loopback.
os.environ.setdefault("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "pcap" / "fixtures"
SOURCES = (FIXTURES / "lab_scan.pcap.gz", FIXTURES / "crafted_signals.pcapng")

#: The fields tshark prints: what provscan extracts from the same traffic.
TSHARK_FIELDS = (
    "frame.number",
    "eth.src",
    "ip.src",
    "http.server",
    "http.www_authenticate",
    "http.user_agent",
    "http.host",
    "http.location",
    "http.set_cookie",
    "rtsp.response",
    "dns.qry.name",
    "tls.handshake.extensions_server_name",
    "x509sat.printableString",
    "dhcp.option.vendor_class_id",
    "dhcp.option.hostname",
)


def _frames() -> list[tuple[float, bytes]]:
    sys.path.insert(0, str(ROOT / "src"))
    from provscan.passive.capture import read_frames

    frames: list[tuple[float, bytes]] = []
    for source in SOURCES:
        data = source.read_bytes()
        if source.suffix == ".gz":
            data = gzip.decompress(data)
        frames += [(frame.time, frame.data) for frame in read_frames(io.BytesIO(data))]
    return frames


def build_capture(path: Path, size_bytes: int) -> tuple[int, int]:
    """Write a pcap of about ``size_bytes``; returns (bytes, packets)."""
    frames = _frames()
    start = frames[0][0]
    # The sources were captured at different dates: lay them end to end from the first frame.
    relative = [(max(0.0, moment - start), data) for moment, data in frames]
    span = max(moment for moment, _ in relative) + 1.0
    written = packets = repetition = 0
    with path.open("wb", buffering=4 * 1024 * 1024) as handle:
        handle.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        written = 24
        while written < size_bytes:
            offset = repetition * span
            chunk = bytearray()
            for moment, data in relative:
                shifted = moment + offset + 1_767_600_000
                seconds = int(shifted)
                chunk += struct.pack(
                    "<IIII", seconds, int((shifted - seconds) * 1e6), len(data), len(data)
                )
                chunk += data
            handle.write(chunk)
            written += len(chunk)
            packets += len(frames)
            repetition += 1
    return written, packets


def run_measured(command: list[str], timeout: float) -> dict[str, object]:
    """Run a command; wall time, peak RSS (with children) and RSS samples over time."""
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
        watched = psutil.Process(process.pid)
        peak = 0
        samples: list[tuple[float, int]] = []
        while process.poll() is None:
            try:
                rss = watched.memory_info().rss + sum(
                    c.memory_info().rss for c in watched.children(recursive=True)
                )
                peak = max(peak, rss)
                samples.append((time.monotonic() - started, rss))
            except psutil.Error:
                pass
            if time.monotonic() - started > timeout:
                process.kill()
                break
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        out.seek(0)
        output = out.read()
        return {
            "seconds": elapsed,
            "peak_rss": peak,
            "samples": samples,
            "rc": process.wait(),
            "output_bytes": len(output),
            "output": output[:2_000_000],
        }


def quarters(samples: list[tuple[float, int]], total: float) -> list[str]:
    marks = []
    for fraction in (0.25, 0.5, 0.75, 1.0):
        before = [rss for moment, rss in samples if moment <= total * fraction and rss > 0]
        marks.append(f"{int(fraction * 100)}%: {before[-1] / 2**20:.0f} MiB" if before else "-")
    return marks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-gb", type=float, default=2.0)
    parser.add_argument("--capture", type=Path, help="use (or keep) the capture at this path")
    parser.add_argument("--keep", action="store_true", help="do not delete the capture")
    parser.add_argument("--no-tshark", action="store_true")
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args(argv)

    directory = Path(tempfile.mkdtemp(prefix="provscan-bench-pcap-"))
    capture = args.capture or directory / "bench.pcap"
    try:
        if capture.exists():
            size, packets = capture.stat().st_size, -1
            print(f"capture: {capture} ({size / 1e9:.2f} GB, reused)")
        else:
            started = time.monotonic()
            size, packets = build_capture(capture, int(args.size_gb * 1e9))
            print(
                f"capture: {capture} ({size / 1e9:.2f} GB, {packets} packets, "
                f"built in {time.monotonic() - started:.0f}s)"
            )
        output = directory / "provscan.json"
        provscan = run_measured(
            [
                sys.executable,
                "-m",
                "provscan",
                "pcap",
                str(capture),
                "--no-db",
                "-q",
                "-f",
                "json",
                "-o",
                str(output),
            ],
            args.timeout,
        )
        seconds = float(provscan["seconds"])  # type: ignore[arg-type]
        document = json.loads(output.read_text()) if output.exists() else {"devices": []}
        identified = sum(1 for d in document["devices"] if d["manufacturer"])
        restricted = sum(1 for d in document["devices"] if d["restricted"])
        print(
            f"provscan pcap: {seconds:.1f}s, {size / 1e6 / seconds:.1f} MB/s"
            + (f", {packets / seconds / 1000:.0f}k packets/s" if packets > 0 else "")
            + f", peak RSS {int(provscan['peak_rss']) / 2**20:.0f} MiB "  # type: ignore[call-overload]
            f"(RSS at {', '.join(quarters(provscan['samples'], seconds))}), "  # type: ignore[arg-type]
            f"rc {provscan['rc']}; {len(document['devices'])} devices, {identified} identified, "
            f"{restricted} restricted"
        )
        tshark = shutil.which("tshark")
        if args.no_tshark or tshark is None:
            print("tshark: skipped" + ("" if args.no_tshark else " (not installed)"))
            return 0
        command = [tshark, "-r", str(capture), "-n", "-T", "fields"]
        for field in TSHARK_FIELDS:
            command += ["-e", field]
        peer = run_measured(command, args.timeout)
        peer_seconds = float(peer["seconds"])  # type: ignore[arg-type]
        print(
            f"tshark -T fields ({len(TSHARK_FIELDS)} fields): {peer_seconds:.1f}s, "
            f"{size / 1e6 / peer_seconds:.1f} MB/s, peak RSS "
            f"{int(peer['peak_rss']) / 2**20:.0f} MiB "  # type: ignore[call-overload]
            f"(RSS at {', '.join(quarters(peer['samples'], peer_seconds))}), rc {peer['rc']}"  # type: ignore[arg-type]
        )
        print(
            f"ratio: provscan is {peer_seconds / seconds:.2f}x tshark's speed "
            "(tshark only prints fields; provscan also reassembles, attributes and judges)"
        )
        return 0
    finally:
        if not args.keep and args.capture is None:
            shutil.rmtree(directory, ignore_errors=True)
        elif args.keep:
            print(f"kept {capture}")


if __name__ == "__main__":
    raise SystemExit(main())
