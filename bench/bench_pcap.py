"""Benchmark: `provscan pcap` vs `tshark -T fields` on the same multi-GB capture (not a test).

Builds a capture in /tmp by repeating the committed lab recording (and the crafted
signals) with shifted timestamps until it reaches ``--size-gb``; then runs provscan on it
in a subprocess (peak RSS sampled with psutil, and RSS at each quarter of the run to show
that memory stays flat), then — when tshark is installed (`apt-get install tshark`) — tshark
extracting the equivalent fields, and prints the time ratio. The capture is deleted at the
end unless ``--keep``. Nothing is sent on any network.

    python bench/bench_pcap.py [--size-gb 2] [--no-tshark] [--keep] [--capture PATH]
    python bench/bench_pcap.py --sites 256 --per-site 16 --size-gb 1   # 4,096 devices
    python bench/bench_pcap.py --capture sites1g.pcap --keep --stored   # and with a store
    python bench/bench_pcap.py --sites 64 --per-site 16 --size-gb 0.25 --recording old.pcap.gz

With ``--stored``, provscan also runs a second time storing the scan in a new SQLite file
(``--db``, the default store of a real run) and prints that run's time and peak RSS.

With ``--sites``, every site gets ``--per-site`` of the lab recording's devices (taken in
turn, so every personality appears) on addresses and MACs of its own (10.S.S.0/24 and
02:…: data in a file, never sent anywhere), with the scanner's traffic to them; the sites
are laid end to end and the whole is repeated until ``--size-gb`` is reached. The output
then also gives memory per device and a projection to 40,000 devices.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from measure import compile_provscan

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


def _ipv4_addresses(frame: bytes) -> tuple[bytes, bytes] | None:
    """The raw source and destination of an Ethernet/IPv4 frame, or None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    return frame[26:30], frame[30:34]


def _bulk_frames(device: bytes, viewer: bytes, kilobytes: int) -> list[bytes]:
    """Video-like bulk from ``device`` to ``viewer``: half RTP over UDP, half an established
    TCP stream from port 554 (interleaved RTSP); 1,400-byte payloads, no handshake."""
    frames: list[bytes] = []
    count = max(kilobytes * 1024 // 1400, 0)
    eth = b"\x02\x00" + viewer + b"\x02\x00" + device + b"\x08\x00"
    payload = b"\x80\x60" + bytes(1398)
    for index in range(count):
        if index % 2:
            udp = struct.pack("!HHHH", 6970, 5000, 8 + len(payload), 0) + payload
            ip = struct.pack(
                "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, device, viewer
            )
            frames.append(eth + ip + udp)
        else:
            seq = 1_000_000 + (index // 2) * len(payload)
            tcp = struct.pack("!HHIIBBHHH", 554, 50554, seq, 1, 0x50, 0x10, 65535, 0, 0) + payload
            ip = struct.pack(
                "!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, device, viewer
            )
            frames.append(eth + ip + tcp)
    return frames


def build_site_capture(
    path: Path,
    size_bytes: int,
    sites: int,
    per_site: int,
    bulk_kb: int = 0,
    recording: Path | None = None,
) -> tuple[int, int, int]:
    """A capture of ``sites`` x ``per_site`` devices; returns (bytes, packets, devices).

    ``bulk_kb``: that much video-like bulk per device and pass after its scan traffic.
    ``recording``: a gzipped lab recording other than the committed one (an older one with
    large HTTP bodies, e.g. ``git show cb271a8:tests/pcap/fixtures/lab_scan.pcap.gz``)."""
    source = recording or FIXTURES / "lab_scan.pcap.gz"
    sys.path.insert(0, str(ROOT / "src"))
    from provscan.passive.capture import read_frames

    frames = [
        (frame.time, frame.data)
        for frame in read_frames(io.BytesIO(gzip.decompress(source.read_bytes())))
    ]
    start = frames[0][0]
    senders: dict[bytes, int] = {}
    for _, data in frames:
        addresses = _ipv4_addresses(data)
        if addresses is not None:
            senders[addresses[0]] = senders.get(addresses[0], 0) + 1
    scanner = max(senders, key=lambda a: senders[a])  # the lab scanner sends the most
    devices = sorted(a for a in senders if a != scanner)
    span = max(moment for moment, _ in frames) - start + 1.0
    written, packets, repetition = 24, 0, 0
    with path.open("wb", buffering=8 * 1024 * 1024) as handle:
        handle.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        while written < size_bytes or repetition == 0:
            for site in range(sites):
                chosen = {
                    devices[(site * per_site + i) % len(devices)]: i + 10 for i in range(per_site)
                }
                prefix = bytes((10, site >> 8 & 0xFF, site & 0xFF))
                mapping = {a: prefix + bytes((host,)) for a, host in chosen.items()}
                mapping[scanner] = prefix + b"\x01"
                offset = (repetition * sites + site) * span
                chunk = bytearray()
                for moment, data in frames:
                    addresses = _ipv4_addresses(data)
                    if addresses is None:
                        continue
                    source_ip, destination_ip = addresses
                    if source_ip not in chosen and destination_ip not in chosen:
                        continue
                    frame = bytearray(data)
                    frame[26:30] = mapping.get(source_ip, source_ip)
                    frame[30:34] = mapping.get(destination_ip, destination_ip)
                    # Locally administered MACs of the site's own hosts (the lab has none).
                    frame[0:6] = b"\x02\x00" + mapping.get(destination_ip, destination_ip)
                    frame[6:12] = b"\x02\x00" + mapping.get(source_ip, source_ip)
                    shifted = moment - start + offset + 1_767_600_000
                    seconds = int(shifted)
                    chunk += struct.pack(
                        "<IIII", seconds, int((shifted - seconds) * 1e6), len(frame), len(frame)
                    )
                    chunk += frame
                    packets += 1
                for device in list(mapping.values())[:per_site] if bulk_kb else ():
                    shifted = span + offset + 1_767_600_000
                    for bulk in _bulk_frames(device, prefix + b"\x01", bulk_kb):
                        shifted += 0.0005
                        seconds = int(shifted)
                        chunk += struct.pack(
                            "<IIII", seconds, int((shifted - seconds) * 1e6), len(bulk), len(bulk)
                        )
                        chunk += bulk
                        packets += 1
                handle.write(chunk)
                written += len(chunk)
            repetition += 1
    return written, packets, sites * per_site


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
    """Run a command; wall time, CPU time (user + system, children included), peak RSS (with
    children) and RSS samples over time."""
    with tempfile.TemporaryFile() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
        watched = psutil.Process(process.pid)
        peak = peak_main = peak_children = peak_pss = 0
        samples: list[tuple[float, int]] = []
        while process.poll() is None:
            try:
                main = watched.memory_info().rss
                tree = watched.children(recursive=True)
                children = sum(c.memory_info().rss for c in tree)
                rss = main + children
                peak = max(peak, rss)
                # PSS: the pages a forked child shares with its parent counted once
                peak_pss = max(peak_pss, sum(_pss(member) for member in (watched, *tree)))
                peak_main = max(peak_main, main)
                peak_children = max(peak_children, children)
                samples.append((time.monotonic() - started, rss))
            except psutil.Error:
                pass
            if time.monotonic() - started > timeout:
                process.kill()
                break
            time.sleep(0.1)
        returncode = process.wait()
        elapsed = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        out.seek(0)
        output = out.read()
        return {
            "seconds": elapsed,
            "cpu": cpu,
            "peak_rss": peak,
            "peak_pss": peak_pss,
            # The reading process alone, and its children (provscan's stream worker: a
            # constant ~60-75 MiB whatever the number of devices).
            "peak_main": peak_main,
            "peak_children": peak_children,
            "samples": samples,
            "rc": returncode,
            "output_bytes": len(output),
            "output": output[:2_000_000],
        }


def _pss(process: psutil.Process) -> int:
    """Proportional set size (Linux; 0 elsewhere)."""
    return int(getattr(process.memory_full_info(), "pss", 0))


def _baseline_rss() -> int:
    """Peak RSS of ``provscan pcap`` on a capture with no packets (imports and knowledge)."""
    with tempfile.TemporaryDirectory() as directory:
        empty = Path(directory) / "empty.pcap"
        empty.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        measured = run_measured(
            [sys.executable, "-m", "provscan", "pcap", str(empty), "--no-db", "-q", "-f", "json"],
            600,
        )
    peak = measured["peak_main"]
    assert isinstance(peak, int)
    return peak


def pcap_command(
    capture: Path, output: Path, store: list[str], no_nmap_fallback: bool
) -> list[str]:
    """``provscan pcap`` on ``capture`` writing JSON to ``output``; ``store``: ``--no-db`` or
    ``--db URL``."""
    return [
        sys.executable,
        "-m",
        "provscan",
        "pcap",
        str(capture),
        *store,
        "-q",
        "-f",
        "json",
        "-o",
        str(output),
        *(["--no-nmap-fallback"] if no_nmap_fallback else []),
    ]


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
    parser.add_argument(
        "--no-nmap-fallback",
        action="store_true",
        help="provscan pcap without nmap's match lines as its fallback (decision 0023)",
    )
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--sites", type=int, default=0, help="sites of --per-site devices")
    parser.add_argument("--per-site", type=int, default=16)
    parser.add_argument(
        "--bulk-kb", type=int, default=0, help="video-like bulk per device per pass (--sites)"
    )
    parser.add_argument(
        "--recording",
        type=Path,
        help="gzipped lab recording to build --sites from (default: the committed one)",
    )
    parser.add_argument(
        "--stored",
        action="store_true",
        help="run provscan pcap again, storing the scan in a new SQLite file (issue 14)",
    )
    args = parser.parse_args(argv)
    print(compile_provscan())
    device_count = 0

    directory = Path(tempfile.mkdtemp(prefix="provscan-bench-pcap-"))
    capture = args.capture or directory / "bench.pcap"
    try:
        if capture.exists():
            size, packets = capture.stat().st_size, -1
            device_count = args.sites * args.per_site
            print(f"capture: {capture} ({size / 1e9:.2f} GB, reused)")
        elif args.sites:
            started = time.monotonic()
            size, packets, device_count = build_site_capture(
                capture,
                int(args.size_gb * 1e9),
                args.sites,
                args.per_site,
                args.bulk_kb,
                args.recording,
            )
            print(
                f"capture: {capture} ({size / 1e9:.2f} GB, {packets} packets, {args.sites} "
                f"sites x {args.per_site} = {device_count} devices, {args.bulk_kb} KiB bulk "
                "per device per pass, "
                f"built in {time.monotonic() - started:.0f}s)"
            )
        else:
            started = time.monotonic()
            size, packets = build_capture(capture, int(args.size_gb * 1e9))
            print(
                f"capture: {capture} ({size / 1e9:.2f} GB, {packets} packets, "
                f"built in {time.monotonic() - started:.0f}s)"
            )
        output = directory / "provscan.json"
        provscan = run_measured(
            pcap_command(capture, output, ["--no-db"], args.no_nmap_fallback), args.timeout
        )
        seconds = float(provscan["seconds"])  # type: ignore[arg-type]
        document = json.loads(output.read_text()) if output.exists() else {"devices": []}
        identified = sum(1 for d in document["devices"] if d["manufacturer"])
        restricted = sum(1 for d in document["devices"] if d["restricted"])
        print(
            f"provscan pcap: {seconds:.1f}s (CPU {float(provscan['cpu']):.1f}s), "  # type: ignore[arg-type]
            f"{size / 1e6 / seconds:.1f} MB/s"
            + (f", {packets / seconds / 1000:.0f}k packets/s" if packets > 0 else "")
            + f", peak RSS {int(provscan['peak_rss']) / 2**20:.0f} MiB "  # type: ignore[call-overload]
            f"(RSS at {', '.join(quarters(provscan['samples'], seconds))}), "  # type: ignore[arg-type]
            f"peak PSS {int(provscan['peak_pss']) / 2**20:.0f} MiB (pages a forked child "  # type: ignore[call-overload]
            "shares with its parent count once), "
            f"rc {provscan['rc']}; {len(document['devices'])} devices, {identified} identified, "
            f"{restricted} restricted"
        )
        if device_count:
            baseline = _baseline_rss()
            # Per device: the reading process above its own baseline; a child (the stream
            # worker) is a constant added to the projection, not a per-device cost.
            child = int(provscan["peak_children"])  # type: ignore[call-overload]
            per_device = (int(provscan["peak_main"]) - baseline) / len(document["devices"] or [1])  # type: ignore[call-overload]
            print(
                f"memory: {per_device / 1024:.1f} KiB per device above a {baseline / 2**20:.0f} "
                f"MiB baseline (provscan pcap on an empty capture), plus {child / 2**20:.0f} MiB "
                "in a child process; projected peak for 40,000 devices: "
                f"{(baseline + child + per_device * 40_000) / 2**20:.0f} MiB"
            )
        if args.stored:
            database = directory / "stored.sqlite"
            stored = run_measured(
                pcap_command(
                    capture,
                    directory / "stored.json",
                    ["--db", f"sqlite:///{database}"],
                    args.no_nmap_fallback,
                ),
                args.timeout,
            )
            stored_seconds = float(stored["seconds"])  # type: ignore[arg-type]
            print(
                f"provscan pcap --db (a new SQLite store): {stored_seconds:.1f}s "
                f"(CPU {float(stored['cpu']):.1f}s), "  # type: ignore[arg-type]
                f"peak RSS {int(stored['peak_rss']) / 2**20:.0f} MiB, rc {stored['rc']}; "  # type: ignore[call-overload]
                f"storing added {stored_seconds - seconds:.1f}s"
            )
        tshark = shutil.which("tshark")
        if args.no_tshark or tshark is None:
            print(
                "tshark: skipped"
                if args.no_tshark
                else "tshark not installed, ratio not measured (apt-get install tshark)"
            )
            return 0
        command = [tshark, "-r", str(capture), "-n", "-T", "fields"]
        for field in TSHARK_FIELDS:
            command += ["-e", field]
        peer = run_measured(command, args.timeout)
        peer_seconds = float(peer["seconds"])  # type: ignore[arg-type]
        print(
            f"tshark -T fields ({len(TSHARK_FIELDS)} fields): {peer_seconds:.1f}s "
            f"(CPU {float(peer['cpu']):.1f}s), "  # type: ignore[arg-type]
            f"{size / 1e6 / peer_seconds:.1f} MB/s, peak RSS "
            f"{int(peer['peak_rss']) / 2**20:.0f} MiB, PSS {int(peer['peak_pss']) / 2**20:.0f} MiB "  # type: ignore[call-overload]
            f"(RSS at {', '.join(quarters(peer['samples'], peer_seconds))}), rc {peer['rc']}"  # type: ignore[arg-type]
        )
        cpu_ratio = float(peer["cpu"]) / max(float(provscan["cpu"]), 1e-9)  # type: ignore[arg-type]
        print(
            f"ratio: provscan is {peer_seconds / seconds:.2f}x tshark's speed by wall time, "
            f"{cpu_ratio:.2f}x by CPU time "
            "(tshark only prints fields; provscan also reassembles, attributes and judges)"
        )
        print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        return 0
    finally:
        # The temporary directory holds the output (and the capture unless --capture named
        # one): it goes, except for a generated capture the user asked to --keep.
        if args.capture is not None or not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
        if args.keep:
            print(f"kept {capture}")


if __name__ == "__main__":
    raise SystemExit(main())
