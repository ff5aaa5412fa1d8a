"""Two sites, each a network namespace with its own lab devices and a sensor inside; the
central (API, ingest, scheduler) outside, on a real RabbitMQ virtual host and a real
PostgreSQL database (issue 17).

Each namespace has only its loopback: its lab serves on 127.0.<site>.x there, and its sensor
reaches the broker through a relay (TCP 127.0.0.1:5672 in the namespace -> a Unix socket ->
the broker on the host's loopback), so nothing in a site has a route anywhere. Skips with the
reason when namespaces cannot be made (not root, no ``ip``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from provscan.lab.server import load_devices
from provscan.lab.spec import DeviceSpec
from provscan.sensors.broker import (
    REPORT_TASK,
    RESULTS_QUEUE,
    SCAN_TASK,
    make_app,
    queue_depth,
    send,
    site_queue,
)
from provscan.sensors.central import Central, SiteKeys
from provscan.sensors.messages import load_key, new_key, seal
from provscan.store.db import open_store
from provscan.web import sites as sites_api
from provscan.web.app import create_app

with warnings.catch_warnings():
    # starlette asks for its httpx fork; the tests use httpx itself
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

HERE = Path(__file__).resolve().parent
RELAY = HERE / "sensors_relay.py"

#: Devices per site: (lab device id, last octet); the site's network is 127.0.<n>.0/24.
PLACEMENTS = {
    "site-a": (1, [("hik-ipc-legacy", 10), ("dahua-nvr", 11), ("axis-p3225", 12), ("hik-nvr", 13)]),
    "site-b": (2, [("lts-nvr", 10), ("amcrest-ipc", 11), ("hanwha-xnv", 12)]),
}
#: A device that accepts and never answers: a scan that covers it lasts seconds.
SLOW_DEVICE = ("hostile-never-answer", 99)
PASSWORD = "sensors-test-password"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=check)


def _skip_reason() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    probe = f"psprobe{uuid.uuid4().hex[:6]}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@dataclass
class SensorProcess:
    namespace: str
    site: str
    allow: str
    key: Path
    broker_url: str
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            "ip", "netns", "exec", self.namespace, sys.executable, "-m", "provscan", "sensor",
            "--site", self.site, "--broker", self.broker_url, "--allow", self.allow,
            "--key", str(self.key), "--name", f"{self.site}/sensor", "--heartbeat", "1",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Fleet:
    broker_url: str
    postgres_url: str
    keys: Path
    sensors: dict[str, SensorProcess]
    devices: dict[str, dict[str, DeviceSpec]]  # site -> address -> device
    token: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    def make_central(self, store: Any) -> Central:
        return Central(store, self.broker_url, SiteKeys(self.keys))

    @contextmanager
    def central(self) -> Iterator[TestClient]:
        """The central (API + ingest + scheduler) running; stopped when the block ends."""
        app = create_app(self.postgres_url, central=self.make_central)
        with TestClient(app) as client:
            yield client

    def job(self, client: TestClient, job_id: str) -> dict[str, Any]:
        answer = client.get(f"/api/v1/scans/jobs/{job_id}", headers=self.headers)
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        return job

    def wait_final(self, client: TestClient, job_id: str, timeout: float = 90) -> dict[str, Any]:
        final: dict[str, Any] = wait_for(
            f"job {job_id} to end",
            lambda: (
                (job := self.job(client, job_id))["state"] in ("done", "failed", "refused") and job
            ),
            timeout,
        )
        return final

    def devices_at(self, client: TestClient, site: str) -> dict[str, dict[str, Any]]:
        answer = client.get(
            "/api/v1/devices", params={"site": site, "limit": 500}, headers=self.headers
        )
        assert answer.status_code == 200, answer.text
        return {device["ip"]: device for device in answer.json()["devices"]}


def _wait_ready(relay: subprocess.Popen[bytes]) -> None:
    assert relay.stdout is not None
    with relay.stdout:
        assert relay.stdout.readline().strip() == b"ready"


def _site_targets(site: str) -> list[str]:
    octet = PLACEMENTS[site][0]
    return [f"127.0.{octet}.10-127.0.{octet}.20"]


def _ports(devices: dict[str, dict[str, DeviceSpec]]) -> list[int]:
    ports = {s.port for site in devices.values() for d in site.values() for s in d.services}
    return sorted(ports)


@pytest.fixture(scope="module")
def fleet(broker_url: str, postgres_url: str, site_keys: Path) -> Iterator[Fleet]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    specs = {device.id: device for device in load_devices()}
    tag = uuid.uuid4().hex[:6]
    state = Path(tempfile.mkdtemp(prefix="provscan-sensors-"))
    socket_path = state / "broker.sock"
    namespaces: list[str] = []
    processes: list[subprocess.Popen[bytes]] = []
    sensors: dict[str, SensorProcess] = {}
    try:
        root_relay = subprocess.Popen(
            [sys.executable, str(RELAY), "unix-to-tcp", str(socket_path), "5672"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        processes.append(root_relay)
        _wait_ready(root_relay)
        devices: dict[str, dict[str, DeviceSpec]] = {}
        for index, (site, (octet, placed)) in enumerate(PLACEMENTS.items()):
            namespace = f"ps{tag}s{index}"
            _ip("netns", "add", namespace)
            namespaces.append(namespace)
            _ip("-n", namespace, "link", "set", "lo", "up")
            relay = subprocess.Popen(
                ["ip", "netns", "exec", namespace, sys.executable, str(RELAY), "tcp-to-unix",
                 "5672", str(socket_path)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            processes.append(relay)
            _wait_ready(relay)
            placements = [*placed, SLOW_DEVICE] if site == "site-a" else placed
            lab = ["ip", "netns", "exec", namespace, sys.executable, "-m", "provscan.lab"]
            for device_id, last in placements:
                lab += ["--place", f"{device_id}=127.0.{octet}.{last}"]
            lab += ["--state-dir", str(state / site)]
            with (state / f"{site}-lab.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        lab, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                    )
                )
            devices[site] = {
                f"127.0.{octet}.{last}": specs[device_id] for device_id, last in placed
            }
            sensors[site] = SensorProcess(
                namespace,
                site,
                f"127.0.{octet}.0/24",
                site_keys / f"{site}.key",
                broker_url,
                state / f"{site}-sensor.log",
            )
        for site in PLACEMENTS:
            wait_for(f"the lab of {site}", (state / site / "lab.json").exists, 30)
            sensors[site].start()
        with open_store(postgres_url) as store:
            accounts = store.accounts()
            accounts.add_user("analyst", "analyst", PASSWORD, actor="test", address="cli")
            token = accounts.issue_token("analyst", actor="test", address="cli")
        yield Fleet(broker_url, postgres_url, site_keys, sensors, devices, token, processes)
    finally:
        for sensor in sensors.values():  # Celery's warm shutdown takes seconds: all at once
            if sensor.process is not None and sensor.process.poll() is None:
                sensor.process.terminate()
        for sensor in sensors.values():
            sensor.stop()
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for namespace in namespaces:
            _ip("netns", "del", namespace, check=False)
        shutil.rmtree(state, ignore_errors=True)


def _start(fleet: Fleet, client: TestClient, site: str, targets: list[str]) -> str:
    answer = client.post(
        "/api/v1/scans",
        json={"site": site, "targets": targets, "ports": _ports(fleet.devices)},
        headers=fleet.headers,
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["state"] == "queued" and body["site"] == site
    job_id: str = body["id"]
    return job_id


def test_sensors_scans_reach_the_right_site_with_the_right_devices(fleet: Fleet) -> None:
    with fleet.central() as client:
        # Given both sensors, When a scan is requested for each site through the API
        jobs = {site: _start(fleet, client, site, _site_targets(site)) for site in PLACEMENTS}
        for site, job_id in jobs.items():
            job = fleet.wait_final(client, job_id)
            # Then each is done by its own site's sensor, with counts
            assert job["state"] == "done", job
            assert job["sensor"] == f"{site}/sensor"
            assert job["counts"]["devices"] == len(fleet.devices[site]), job
            assert job["scan_id"] == job_id
        # And the inventory holds exactly each lab's devices, under its site
        for site, placed in fleet.devices.items():
            found = fleet.devices_at(client, site)
            assert set(found) == set(placed), (site, sorted(found))
            for address, spec in placed.items():
                assert found[address]["site"] == site
                assert found[address]["manufacturer"] == spec.expect.manufacturer, address
        # And the sites and their sensors are visible, with heartbeats
        sites = client.get("/api/v1/sites", headers=fleet.headers).json()["sites"]
        by_name = {site["name"]: site for site in sites}
        assert set(PLACEMENTS) <= set(by_name)
        for site in PLACEMENTS:
            sensor = wait_for(
                f"a heartbeat from {site}",
                lambda site=site: [
                    s
                    for s in client.get(
                        "/api/v1/sensors", params={"site": site}, headers=fleet.headers
                    ).json()["sensors"]
                    if s["knowledge_version"]
                ],
                30,
            )[0]
            assert sensor["name"] == f"{site}/sensor" and sensor["silent"] is False
            assert sensor["version"] and sensor["queue_depth"] is not None
            octet = PLACEMENTS[site][0]
            assert sensor["allow"] == [f"127.0.{octet}.0/24"]


def test_sensors_refuse_a_request_outside_their_allow_list(fleet: Fleet) -> None:
    with fleet.central() as client:
        # When site-a is asked to scan site-b's network (the central allows loopback)
        job_id = _start(fleet, client, "site-a", ["127.0.2.10-127.0.2.12"])
        job = fleet.wait_final(client, job_id)
    # Then site-a's sensor refuses and says why; nothing was stored for it
    assert job["state"] == "refused", job
    assert "outside this sensor's --allow 127.0.1.0/24" in job["detail"]
    with open_store(fleet.postgres_url) as store:
        assert not store.has_scan(job_id)


def test_sensors_reject_forged_and_unsigned_messages(fleet: Fleet) -> None:
    app = make_app(fleet.broker_url, "test-forger", [site_queue("site-a")])
    wrong_key = bytes.fromhex(new_key())
    site_b_key = load_key(fleet.keys / "site-b.key")
    with open_store(fleet.postgres_url) as store:
        fleet_store = store.fleet()
        forged_ids = [str(uuid.uuid4()) for _ in range(3)]
        for job_id in forged_ids:
            fleet_store.add_job(job_id, "site-a", ["127.0.1.10"], requested_by="forger")
    request = {"site": "site-a", "targets": ["127.0.1.10"], "ports": [80]}
    before = fleet.sensors["site-a"].text().count("rejected a message")
    # Given three bad messages in site-a's queue: signed with a wrong key, unsigned, and
    # signed with another site's key
    send(
        app,
        SCAN_TASK,
        seal("scan", "site-a", {**request, "job_id": forged_ids[0]}, wrong_key),
        site_queue("site-a"),
    )
    send(app, SCAN_TASK, {**request, "job_id": forged_ids[1]}, site_queue("site-a"))
    send(
        app,
        SCAN_TASK,
        seal("scan", "site-b", {**request, "job_id": forged_ids[2]}, site_b_key),
        site_queue("site-a"),
    )
    with fleet.central() as client:
        # When a genuine request follows them (the queue is first in, first out)
        job_id = _start(fleet, client, "site-a", ["127.0.1.10"])
        assert fleet.wait_final(client, job_id)["state"] == "done"
        # Then none of the bad ones ran: their jobs never left "queued", nothing was stored
        for forged in forged_ids:
            assert fleet.job(client, forged)["state"] == "queued"
    with open_store(fleet.postgres_url) as store:
        assert not any(store.has_scan(forged) for forged in forged_ids)
    log = fleet.sensors["site-a"].text()
    assert log.count("rejected a message") - before == 3, log[-3000:]
    assert "bad signature" in log and "unsigned or incomplete envelope" in log
    assert "which is not ours" in log


def test_sensors_duplicate_outcome_is_ingested_once(fleet: Fleet) -> None:
    with fleet.central() as client:
        job_id = _start(fleet, client, "site-b", _site_targets("site-b"))
        assert fleet.wait_final(client, job_id)["state"] == "done"
        before_scans = len(
            client.get("/api/v1/scans", params={"limit": 1000}, headers=fleet.headers).json()[
                "scans"
            ]
        )
        before_devices = fleet.devices_at(client, "site-b")
        # Given the outcome of a finished job, as its sensor sent it
        with open_store(fleet.postgres_url) as store:
            document = store.load(job_id).model_dump(mode="json")
            central = fleet.make_central(store)
            envelope = seal(
                "outcome",
                "site-b",
                {"job_id": job_id, "status": "done", "document": document, "sensor": "site-b/sensor",
                 "spans": ["127.0.2.10-127.0.2.20"], "excluded": [], "hosts": 11, "devices": 3,
                 "restricted": 3},
                load_key(fleet.keys / "site-b.key"),
            )  # fmt: skip
            # When it is delivered again, directly and twice through the broker
            assert central.ingest(envelope) == "duplicate"
            send(central.app, REPORT_TASK, envelope, RESULTS_QUEUE)
            send(central.app, REPORT_TASK, envelope, RESULTS_QUEUE)
        wait_for(
            "the results queue to drain", lambda: queue_depth(central.app, RESULTS_QUEUE) == 0, 30
        )
        time.sleep(0.5)
        # Then nothing changed: one scan for the job, the same devices
        after_scans = client.get(
            "/api/v1/scans", params={"limit": 1000}, headers=fleet.headers
        ).json()["scans"]
        assert len(after_scans) == before_scans
        assert sum(scan["id"] == job_id for scan in after_scans) == 1
        assert fleet.devices_at(client, "site-b") == before_devices


def test_sensors_outcomes_wait_in_the_broker_while_the_central_is_down(fleet: Fleet) -> None:
    # Given a scan requested, and the central closed at once
    with fleet.central() as client:
        job_id = _start(fleet, client, "site-b", _site_targets("site-b"))
    # When the sensor finishes while the central is down
    wait_for(
        "the sensor to report",
        lambda: f"job {job_id} reported: done" in fleet.sensors["site-b"].text(),
    )
    with open_store(fleet.postgres_url) as store:
        job = store.fleet().job(job_id)
        assert job is not None and job.state in ("queued", "running")
        assert not store.has_scan(job_id)
        probe = make_app(fleet.broker_url, "test-probe", [RESULTS_QUEUE])
        assert (queue_depth(probe, RESULTS_QUEUE) or 0) >= 1  # the outcome waits
    # Then the central, started again, ingests it
    with fleet.central() as client:
        job_json = fleet.wait_final(client, job_id, 30)
        assert job_json["state"] == "done"
        assert set(fleet.devices_at(client, "site-b")) == set(fleet.devices["site-b"])


def test_sensors_killed_mid_scan_the_scan_is_redelivered_and_completes_once(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sites_api, "SILENT_AFTER", timedelta(seconds=2))
    sensor = fleet.sensors["site-a"]
    octet = PLACEMENTS["site-a"][0]
    with fleet.central() as client:
        # Given a scan that covers a device that never answers (it lasts seconds)
        job_id = _start(fleet, client, "site-a", [f"127.0.{octet}.10-127.0.{octet}.99"])
        wait_for("the scan to start", lambda: fleet.job(client, job_id)["state"] == "running", 60)
        # When the sensor is killed mid-scan
        sensor.kill()
        assert fleet.job(client, job_id)["state"] == "running"
        assert f"job {job_id} reported" not in sensor.text()
        # Then the API says which sensor is silent and since when, and what waits for it
        (silent,) = wait_for(
            "the sensor to be silent",
            lambda: [
                s
                for s in client.get("/api/v1/sites", headers=fleet.headers).json()["sites"]
                if s["name"] == "site-a" and s["silent"]
            ],
            15,
        )
        (quiet,) = silent["sensors"]
        assert quiet["silent"] and quiet["silent_since"] == quiet["last_heartbeat"]
        assert silent["jobs"]["running"] == 1
        # When it is started again
        sensor.start()
        job = fleet.wait_final(client, job_id, 120)
        # Then the request was delivered again and the scan completed, once
        assert job["state"] == "done", job
        assert sensor.text().count(f"job {job_id} reported: done") == 1
        scans = client.get("/api/v1/scans", params={"limit": 1000}, headers=fleet.headers).json()[
            "scans"
        ]
        assert sum(scan["id"] == job_id for scan in scans) == 1
        found = fleet.devices_at(client, "site-a")
        assert set(fleet.devices["site-a"]) <= set(found)


def test_sensors_a_missed_schedule_runs_once(fleet: Fleet) -> None:
    now = datetime.now(UTC)
    with open_store(fleet.postgres_url) as store:
        # Given an hourly schedule whose last five runs were missed
        schedule = store.fleet().add_schedule(
            "site-b",
            ["127.0.2.10-127.0.2.12"],
            every_seconds=3600,
            cron=None,
            next_run=now - timedelta(hours=5),
            ports=_ports(fleet.devices),
        )
    with fleet.central() as client:
        # When the central runs (its scheduler looks every few seconds)
        jobs = wait_for(
            "the schedule's job",
            lambda: [
                job
                for job in client.get("/api/v1/sites/site-b/jobs", headers=fleet.headers).json()[
                    "jobs"
                ]
                if job["requested_by"] == f"schedule:{schedule.id}"
            ],
            30,
        )
        assert fleet.wait_final(client, jobs[0]["id"])["state"] == "done"
        time.sleep(6)  # another scheduler round: nothing more is due
        jobs = [
            job
            for job in client.get("/api/v1/sites/site-b/jobs", headers=fleet.headers).json()["jobs"]
            if job["requested_by"] == f"schedule:{schedule.id}"
        ]
    # Then it ran once, and runs next an hour from now
    assert len(jobs) == 1
    with open_store(fleet.postgres_url) as store:
        (after,) = [s for s in store.fleet().schedules() if s.id == schedule.id]
        store.fleet().remove_schedule(schedule.id)
    assert after.next_run > now + timedelta(minutes=59)
    assert after.last_job == jobs[0]["id"]
