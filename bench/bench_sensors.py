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

Everything stays on loopback (the broker, the database, the lab scanned once for templates).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import os
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
    args = parser.parse_args()
    os.environ.setdefault("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128")
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
    stop = threading.Event()
    try:
        work = Path(tempfile.mkdtemp(prefix="provscan-bench-sensors-"))
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

        def watch() -> None:
            while not stop.is_set():
                peak.append(process.memory_info().rss)
                stop.wait(0.1)

        first_outcome: list[float] = []
        sensor_app = make_app(broker_url, "bench-sensors", [site_queue(s) for s in sites])

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
                    [site_queue(s) for s in sites], callbacks=[on_message], accept=["json"]
                ):
                    while not stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            connection.drain_events(timeout=0.5)

        threads = [
            threading.Thread(target=watch, daemon=True),
            threading.Thread(target=sensors, daemon=True),
        ]
        for thread in threads:
            thread.start()
        print(f"{args.sites} sites x {args.devices} devices ...", flush=True)
        start = time.perf_counter()
        jobs = []
        with httpx.Client(headers=headers, timeout=30) as client:
            for index, site in enumerate(sites):
                answer = client.post(
                    f"{base}/scans",
                    json={"site": site, "targets": [f"127.{100 + index}.0.0/22"]},
                )
                answer.raise_for_status()
                jobs.append(answer.json()["id"])
            posted = time.perf_counter()
            waiting = set(jobs)
            give_up = time.monotonic() + 600
            while waiting:
                if time.monotonic() > give_up:
                    raise SystemExit(f"{len(waiting)} jobs not done after 10 minutes")
                for job_id in list(waiting):
                    state = client.get(f"{base}/scans/jobs/{job_id}").json()["state"]
                    if state == "done":
                        waiting.discard(job_id)
                    elif state in ("failed", "refused"):
                        raise SystemExit(f"job {job_id} ended {state}")
                time.sleep(0.1)
            done = time.perf_counter()
        stop.set()
        with open_store(db_url) as store:
            inventory = store.inventory()
        total = args.sites * args.devices
        per_site = {site: sum(1 for d in inventory if d.site == site) for site in sites}
        assert all(count == args.devices for count in per_site.values()), per_site
        ingest_seconds = done - (first_outcome[0] if first_outcome else posted)
        print(f"requests posted (20 x POST /api/v1/scans): {posted - start:.2f} s")
        print(f"end to end (first request -> {total} devices in PostgreSQL): {done - start:.2f} s")
        print(
            f"ingest: {total} devices in {ingest_seconds:.2f} s = {total / ingest_seconds:.0f} devices/s"
        )
        print(f"central peak RSS: {max(peak) / 2**20:.0f} MiB")
        print(
            f"inventory: {len(inventory)} devices, {args.devices} per site at {len(per_site)} sites"
        )
        return 0
    finally:
        stop.set()
        if central is not None:
            central.terminate()
            central.wait(timeout=20)
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
        subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, check=False)


if __name__ == "__main__":
    sys.exit(main())
