"""Benchmark: many sites through the broker into PostgreSQL (issue 17).

Starts the real central (``provscan serve --db postgresql://… --broker amqp://…`` in a child
process) on a throwaway RabbitMQ virtual host and PostgreSQL database, and simulates
``--sites`` sensors in this process: each consumes its site's queue, checks the request's
signature and answers with a signed outcome of ``--devices`` devices (clones of a real scan of
the device lab, each with its own address and MAC), exactly as ``provscan sensor`` does but
without scanning. Measured end to end: the scan requests posted to the API -> every job
``done`` and every device in the inventory in PostgreSQL; printed: wall time, ingest
throughput (devices/s, from the first outcome published to the last job done) and the
central's peak RSS.

    .venv/bin/python bench/bench_sensors.py --sites 20 --devices 200

``--real-sensors N`` makes the first N sites real: a ``provscan sensor`` process each (its
``--allow`` the site's own loopback /16, 127.(200+i).0.0/16), scanning ``--devices`` lab
devices of its own (clones of the lab's personalities with TCP services, served by one lab
process on 127.(200+i).0.1 onwards); the other sites stay simulated. Printed as well: when
the real sites' jobs were done, the devices they found, and each sensor's peak RSS.

    .venv/bin/python bench/bench_sensors.py --sites 20 --devices 200 --real-sensors 3

Everything stays on loopback (the broker, the database, the lab scanned once for templates,
the real sensors' labs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import ipaddress
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil

PG_SERVER = os.environ.get("PROVSCAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
BROKER = "amqp://guest:guest@127.0.0.1:5672"
PASSWORD = "bench-sensors-password"


def _template_devices() -> list[dict[str, Any]]:
    """The contract entries of a real scan of the lab (non-hostile devices)."""
    from provscan.lab.server import load_devices, run_lab_in_thread
    from provscan.pipeline import run_scan
    from provscan.report.contract import to_contract
    from provscan.targets import build_targets

    devices = [d for d in load_devices() if not d.expect.hostile and d.services]
    with run_lab_in_thread(devices):
        specs = [d.address for d in devices]
        ports = sorted({s.port for d in devices for s in d.services})
        result = asyncio.run(run_scan(build_targets(specs), specs, ports, discovery=None))
    return [entry.model_dump(mode="json") for entry in to_contract(result).devices]


#: The real sites' networks: 127.(REAL_BASE + i).0.0/16.
REAL_BASE = 200


def _real_lab_devices(site_index: int, count: int) -> list[Any]:
    """``count`` lab devices with TCP services for real site ``site_index``, on
    127.(REAL_BASE + i).0.1 onwards."""
    from provscan.lab.server import generate_bench_lab

    clones = [
        d for d in generate_bench_lab(count * 3, f"127.{REAL_BASE + site_index}.0.0") if d.services
    ][:count]
    # (generate_bench_lab places clones one after the other; renumber the kept ones so that
    # the site's devices are 127.N.0.1 .. 127.N.0.count, one range to scan)
    first = ipaddress.ip_address(f"127.{REAL_BASE + site_index}.0.1")
    placed = []
    for index, device in enumerate(clones):
        update: dict[str, Any] = {
            "id": f"s{site_index}-{index:04d}-{device.id}",
            "address": str(first + index),
        }
        identity: dict[str, str] = {}  # each clone its own MAC and serial, as real devices
        if device.identity.mac:
            identity["mac"] = (
                f"02:be:{REAL_BASE + site_index:02x}:{index // 256:02x}:{index % 256:02x}:02"
            )
        if device.identity.serial:
            identity["serial"] = f"{device.identity.serial}S{site_index}N{index}"
        if identity:
            update["identity"] = device.identity.model_copy(update=identity)
        placed.append(device.model_copy(update=update))
    return placed


def _serve_lab(sites: int, count: int) -> int:
    """The real sites' lab (``--serve-lab``): ready on stdout, serves until SIGTERM."""
    from provscan.lab.server import Lab

    devices = [d for index in range(sites) for d in _real_lab_devices(index, count)]

    async def serve() -> None:
        lab = Lab(devices)
        await lab.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        print("ready", len(devices), flush=True)
        await stop.wait()
        await lab.stop()

    asyncio.run(serve())
    return 0


def _outcome(
    job_id: str, site_index: int, count: int, templates: list[dict[str, Any]], scan: dict[str, Any]
) -> dict[str, Any]:
    devices = []
    for index in range(count):
        device = copy.deepcopy(templates[index % len(templates)])
        device["ip"] = f"127.{100 + site_index}.{index // 250}.{index % 250 + 1}"
        device["mac"] = f"02:be:{site_index:02x}:{index // 256:02x}:{index % 256:02x}:01"
        devices.append(device)
    restricted = sum(1 for d in devices if d.get("restricted"))
    section = {
        **scan["scan"],
        "id": job_id,
        "devices_found": count,
        "restricted_count": restricted,
        "hosts_scanned": count,
        "hosts_responding": count,
    }
    document = {**scan, "scan": section, "devices": devices}
    return {
        "job_id": job_id,
        "status": "done",
        "document": document,
        "spans": [f"127.{100 + site_index}.0.1-127.{100 + site_index}.3.250"],
        "excluded": [],
        "hosts": count,
        "devices": count,
        "restricted": restricted,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument(
        "--real-sensors",
        type=int,
        default=0,
        metavar="N",
        help="the first N sites are real `provscan sensor` processes scanning lab devices",
    )
    parser.add_argument("--serve-lab", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128")
    if not 0 <= args.real_sensors <= min(args.sites, 50):
        parser.error("--real-sensors is 0 to --sites (at most 50)")
    if args.serve_lab:
        return _serve_lab(args.real_sensors, args.devices)
    # SIGTERM (e.g. from `timeout`) still drops the database and the virtual host.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    import psycopg
    from kombu.connection import Connection

    from provscan.model import ScanInfo, ScanResult
    from provscan.report.contract import to_contract
    from provscan.sensors.broker import REPORT_TASK, RESULTS_QUEUE, make_app, send, site_queue
    from provscan.sensors.messages import load_key, new_key, open_envelope, seal
    from provscan.store.db import open_store

    print("scanning the lab once for device templates ...", flush=True)
    templates = _template_devices()
    from datetime import UTC, datetime

    empty = to_contract(
        ScanResult(
            ScanInfo("x", "active", datetime.now(UTC), datetime.now(UTC), (), (), (), "bench"),
            (),
        )
    ).model_dump(mode="json")
    sites = [f"bench-{index:02d}" for index in range(args.sites)]
    vhost = f"provscan-bench-{uuid.uuid4().hex[:8]}"
    database = f"provscan_bench_{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(
        ["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
        check=True,
        capture_output=True,
    )
    admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{database}"')
    broker_url, db_url = f"{BROKER}/{vhost}", f"{PG_SERVER}/{database}"
    central: subprocess.Popen[bytes] | None = None
    real_sites = sites[: args.real_sensors]
    simulated = sites[args.real_sensors :]
    lab: subprocess.Popen[bytes] | None = None
    real: dict[str, subprocess.Popen[bytes]] = {}
    stop = threading.Event()
    work = Path(tempfile.mkdtemp(prefix="provscan-bench-sensors-"))
    try:
        for site in sites:
            (work / f"{site}.key").write_text(new_key())
        keys = {site: load_key(work / f"{site}.key") for site in sites}
        with open_store(db_url) as store:
            store.accounts().add_user("bench", "analyst", PASSWORD, actor="bench", address="cli")
            token = store.accounts().issue_token("bench", actor="bench", address="cli")
        central = subprocess.Popen(
            [sys.executable, "-m", "provscan", "serve", "--db", db_url, "--broker", broker_url,
             "--sensor-keys", str(work), "--port", str(args.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        real_devices: dict[str, int] = {}
        real_ports: list[int] = []
        if real_sites:
            print(f"starting the lab and {len(real_sites)} real sensors ...", flush=True)
            lab = subprocess.Popen(
                [sys.executable, __file__, "--serve-lab", "--sites", str(args.sites),
                 "--devices", str(args.devices), "--real-sensors", str(args.real_sensors)],
                stdout=subprocess.PIPE,
            )  # fmt: skip
            for index, site in enumerate(real_sites):
                placed = _real_lab_devices(index, args.devices)
                real_devices[site] = len(placed)
                real_ports = sorted({s.port for d in placed for s in d.services} | set(real_ports))
                with (work / f"{site}.log").open("wb") as log:
                    real[site] = subprocess.Popen(
                        [sys.executable, "-m", "provscan", "sensor", "--site", site, "--broker",
                         broker_url, "--allow", f"127.{REAL_BASE + index}.0.0/16", "--key",
                         str(work / f"{site}.key"), "--name", f"{site}/real", "--heartbeat", "5"],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                    )  # fmt: skip
            assert lab.stdout is not None
            ready = lab.stdout.readline().split()
            if not ready or ready[0] != b"ready":
                raise SystemExit("the real sensors' lab did not start")
            lab.stdout.close()
            deadline = time.monotonic() + 120
            for site in real_sites:
                while b" ready." not in (work / f"{site}.log").read_bytes():
                    if time.monotonic() > deadline or real[site].poll() is not None:
                        raise SystemExit(f"the sensor of {site} did not start")
                    time.sleep(0.2)
        base = f"http://127.0.0.1:{args.port}/api/v1"
        headers = {"authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/sites", headers=headers, timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        process = psutil.Process(central.pid)
        peak = [process.memory_info().rss]
        sensor_peaks = {site: 0 for site in real_sites}

        def watch() -> None:
            while not stop.is_set():
                peak.append(process.memory_info().rss)
                for site in real_sites:
                    with contextlib.suppress(psutil.Error):
                        rss = psutil.Process(real[site].pid).memory_info().rss
                        sensor_peaks[site] = max(sensor_peaks[site], rss)
                stop.wait(0.1)

        first_outcome: list[float] = []
        sensor_app = make_app(broker_url, "bench-sensors", [site_queue(s) for s in simulated])

        def sensors() -> None:
            with Connection(broker_url) as connection:

                def on_message(body: Any, message: Any) -> None:
                    envelope = body[0][0]
                    site_name = envelope["site"]
                    _, _, request = open_envelope(envelope, lambda s: keys.get(s), kinds=("scan",))
                    outcome = _outcome(
                        request["job_id"], sites.index(site_name), args.devices, templates, empty
                    )
                    outcome["sensor"] = f"{site_name}/bench"
                    send(
                        sensor_app,
                        REPORT_TASK,
                        seal("outcome", site_name, outcome, keys[site_name]),
                        RESULTS_QUEUE,
                    )
                    if not first_outcome:
                        first_outcome.append(time.perf_counter())
                    message.ack()

                with connection.Consumer(
                    [site_queue(s) for s in simulated], callbacks=[on_message], accept=["json"]
                ):
                    while not stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            connection.drain_events(timeout=0.5)

        threads = [threading.Thread(target=watch, daemon=True)]
        if simulated:
            threads.append(threading.Thread(target=sensors, daemon=True))
        for thread in threads:
            thread.start()
        print(f"{args.sites} sites x {args.devices} devices ...", flush=True)
        start = time.perf_counter()
        jobs = []
        with httpx.Client(headers=headers, timeout=30) as client:
            real_jobs: dict[str, str] = {}
            for index, site in enumerate(sites):
                if site in real:
                    last = ipaddress.ip_address(f"127.{REAL_BASE + index}.0.0") + args.devices
                    request = {
                        "site": site,
                        "targets": [f"127.{REAL_BASE + index}.0.1-{last}"],
                        "ports": real_ports,
                    }
                else:
                    request = {"site": site, "targets": [f"127.{100 + index}.0.0/22"]}
                answer = client.post(f"{base}/scans", json=request)
                answer.raise_for_status()
                jobs.append(answer.json()["id"])
                if site in real:
                    real_jobs[answer.json()["id"]] = site
            posted = time.perf_counter()
            waiting = set(jobs)
            real_done: dict[str, float] = {}
            real_found: dict[str, int] = {}
            give_up = time.monotonic() + 600
            while waiting:
                if time.monotonic() > give_up:
                    raise SystemExit(f"{len(waiting)} jobs not done after 10 minutes")
                for job_id in list(waiting):
                    state = client.get(f"{base}/scans/jobs/{job_id}").json()["state"]
                    if state == "done":
                        waiting.discard(job_id)
                        if job_id in real_jobs:
                            real_done[real_jobs[job_id]] = time.perf_counter()
                            counts = client.get(f"{base}/scans/jobs/{job_id}").json()["counts"]
                            real_found[real_jobs[job_id]] = counts["devices"]
                    elif state in ("failed", "refused"):
                        raise SystemExit(f"job {job_id} ended {state}")
                time.sleep(0.1)
            done = time.perf_counter()
        stop.set()
        with open_store(db_url) as store:
            inventory = store.inventory()
        per_site = {site: sum(1 for d in inventory if d.site == site) for site in sites}
        # A simulated site stores exactly what was sent; a real one what its scan found
        # (printed below, not asserted). The real sites' clones of one lab personality share
        # the serial number its answers carry, so the inventory's serial rule can take a
        # clone at another site for the same device moved there: the devices ingested are
        # counted from the stored scans, the inventory rows are printed.
        assert all(per_site[site] == args.devices for site in simulated), per_site
        with open_store(db_url) as store:
            stored = {site: len(store.load(job_id).devices) for job_id, site in real_jobs.items()}
        assert all(stored[site] == real_found[site] for site in real_sites), stored
        total = sum(per_site[site] for site in simulated) + sum(stored.values())
        first = first_outcome[0] if first_outcome else posted
        ingest_seconds = done - first
        print(f"requests posted ({len(sites)} x POST /api/v1/scans): {posted - start:.2f} s")
        if real_sites:
            for site in real_sites:
                print(
                    f"real sensor {site}: {real_devices[site]} lab devices, {real_found[site]} "
                    f"found by its scan, {per_site[site]} in the inventory, done "
                    f"{real_done[site] - start:.2f} s after the first request; "
                    f"its peak RSS {sensor_peaks[site] / 2**20:.0f} MiB"
                )
            if simulated:
                simulated_total = sum(per_site[site] for site in simulated)
                print(f"simulated sites: {simulated_total} devices")
        print(
            f"end to end (first request -> {total} devices stored in PostgreSQL): {done - start:.2f} s"
        )
        print(
            f"ingest: {total} devices in {ingest_seconds:.2f} s = {total / ingest_seconds:.0f} devices/s"
        )
        print(f"central peak RSS: {max(peak) / 2**20:.0f} MiB")
        print(f"inventory: {len(inventory)} devices at {len(per_site)} sites")
        print(f"devices ingested (stored scans): {total}")
        return 0
    finally:
        stop.set()
        for sensor_process in real.values():
            sensor_process.terminate()
        for sensor_process in [*real.values(), *([lab] if lab is not None else [])]:
            sensor_process.terminate()
            try:
                sensor_process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                sensor_process.kill()
        if central is not None:
            central.terminate()
            central.wait(timeout=20)
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
        subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
