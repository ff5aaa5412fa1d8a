"""Two sites, each a network namespace with its own lab devices and a sensor inside; the
central (API, ingest, scheduler) outside, on a real RabbitMQ virtual host and a real
PostgreSQL database (issue 17).

Each namespace has its loopback, where its lab serves on 127.0.<site>.x, and its sensor
reaches the broker through a relay (TCP 127.0.0.1:5672 in the namespace -> a Unix socket ->
the broker on the host's loopback), so nothing in a site has a route anywhere. Site A also has
a segment for discovery: a veth pair to a third namespace whose lab devices (each on its own
macvlan with its own MAC) answer multicast and broadcast in 198.18.<n>.0/24, an address range
that exists only inside these namespaces; and a captures directory its sensor may read.
Skips with the reason when namespaces cannot be made (not root, no ``ip``).
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
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sensors_tools import wait_for

from provscan.lab.server import load_devices
from provscan.lab.spec import DeviceSpec
from provscan.pipeline import run_passive
from provscan.sensors import beat as beat_module
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
from provscan.sensors.messages import key_file_text, key_id, load_key, load_keys, new_key, seal
from provscan.store.db import open_store
from provscan.store.sensors import Schedule
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
#: Site A's discovery segment, 198.18.<n>.0/24 (inside the namespaces only), and the lab
#: devices on it that answer SADP, WS-Discovery and DHDiscover.
SEGMENT_OCTET = 200 + os.getpid() % 50
SEGMENT = f"198.18.{SEGMENT_OCTET}.0/24"
SEGMENT_DEVICES = ("hik-nvr-sadp-only", "dahua-ipc-wsd-only", "intelbras-dhdiscover-only")
#: The scope interlock of processes in the namespaces: loopback and the test's own segment.
NAMESPACE_ENV = {**os.environ, "PROVSCAN_ALLOWED_TARGETS": f"127.0.0.0/8,::1/128,{SEGMENT}"}
CAPTURE = HERE.parent / "pcap" / "fixtures" / "crafted_signals.pcapng"


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


@dataclass
class SensorProcess:
    namespace: str
    site: str
    allow: str
    key: Path
    broker_url: str
    log: Path
    process: subprocess.Popen[bytes] | None = None
    #: More options (--captures, --interface).
    extra: list[str] = field(default_factory=list)

    def start(self) -> None:
        command = [
            "ip", "netns", "exec", self.namespace, sys.executable, "-m", "provscan", "sensor",
            "--site", self.site, "--broker", self.broker_url, "--allow", self.allow,
            "--key", str(self.key), "--name", f"{self.site}/sensor", "--heartbeat", "1",
            *self.extra,
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=NAMESPACE_ENV,
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
    segment: dict[str, DeviceSpec]  # site A's discovery segment: address -> device
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
        relays = [root_relay]  # each started at once; waited for together, before the sensors
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
            relays.append(relay)
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
        segment = _segment(namespaces[0], f"ps{tag}seg", specs, state, namespaces, processes)
        captures = state / "captures"
        captures.mkdir()
        shutil.copy(CAPTURE, captures / CAPTURE.name)
        shutil.copy(CAPTURE, state / "outside.pcapng")
        (captures / "outside.pcapng").symlink_to(state / "outside.pcapng")
        sensors["site-a"].allow += f",{SEGMENT}"
        sensors["site-a"].extra = ["--captures", str(captures), "--interface", "eth0"]
        for relay in relays:
            _wait_ready(relay)
        # The sensors start while the labs do (a sensor needs its lab only when a job comes).
        for site in PLACEMENTS:
            sensors[site].start()
        for site in PLACEMENTS:
            wait_for(f"the lab of {site}", (state / site / "lab.json").exists, 30)
        wait_for("the segment's lab", (state / "segment" / "lab.json").exists, 30)
        with open_store(postgres_url) as store:
            accounts = store.accounts()
            accounts.add_user("analyst", "analyst", PASSWORD, actor="test", address="cli")
            token = accounts.issue_token("analyst", actor="test", address="cli")
        yield Fleet(
            broker_url, postgres_url, site_keys, sensors, devices, token, segment, processes
        )
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


def _segment(
    sensor_namespace: str,
    namespace: str,
    specs: dict[str, DeviceSpec],
    state: Path,
    namespaces: list[str],
    processes: list[subprocess.Popen[bytes]],
) -> dict[str, DeviceSpec]:
    """A veth pair from the sensor's namespace (eth0, .1) to ``namespace``, where each segment
    device gets a macvlan with its own MAC and address and the lab serves them."""
    _ip("netns", "add", namespace)
    namespaces.append(namespace)
    _ip("-n", namespace, "link", "set", "lo", "up")
    _ip("-n", sensor_namespace, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
        "netns", namespace)  # fmt: skip
    _ip("-n", sensor_namespace, "addr", "add", f"198.18.{SEGMENT_OCTET}.1/24", "dev", "eth0")
    _ip("-n", sensor_namespace, "link", "set", "eth0", "up")
    # Multicast leaves through the test segment only; there is no default route at all.
    _ip("-n", sensor_namespace, "route", "add", "224.0.0.0/4", "dev", "eth0")
    _ip("-n", namespace, "link", "set", "eth0", "up")
    for setting in ("net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"):
        _ip("netns", "exec", namespace, "sysctl", "-qw", setting)
    placed: dict[str, DeviceSpec] = {}
    lab = ["ip", "netns", "exec", namespace, sys.executable, "-m", "provscan.lab"]
    for index, device_id in enumerate(SEGMENT_DEVICES):
        device = specs[device_id]
        address, link = f"198.18.{SEGMENT_OCTET}.{10 + index}", f"d{index}"
        _ip("-n", namespace, "link", "add", "link", "eth0", "name", link, "type", "macvlan",
            "mode", "bridge")  # fmt: skip
        if device.identity.mac:
            _ip("-n", namespace, "link", "set", link, "address", device.identity.mac)
        _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", link)
        _ip("-n", namespace, "link", "set", link, "up")
        placed[address] = device
        lab += ["--place", f"{device_id}={address}"]
    lab += ["--state-dir", str(state / "segment")]
    with (state / "segment-lab.log").open("wb") as log:
        processes.append(
            subprocess.Popen(
                lab,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=NAMESPACE_ENV,
            )
        )
    return placed


def _start(fleet: Fleet, client: TestClient, site: str, targets: list[str], **more: Any) -> str:
    answer = client.post(
        "/api/v1/scans",
        json={"site": site, "targets": targets, "ports": _ports(fleet.devices), **more},
        headers=fleet.headers,
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["state"] == "queued" and body["site"] == site
    assert body["kind"] == more.get("kind", "scan")
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
            # a heartbeat that counted the site's queue (the first one may not have: the depth
            # is unknown, null, until the sensor could read it)
            sensor = wait_for(
                f"a heartbeat from {site} with its queue depth",
                lambda site=site: [
                    s
                    for s in client.get(
                        "/api/v1/sensors", params={"site": site}, headers=fleet.headers
                    ).json()["sensors"]
                    if s["knowledge_version"] and s["queue_depth"] is not None
                ],
                30,
            )[0]
            assert sensor["name"] == f"{site}/sensor" and sensor["silent"] is False
            assert sensor["version"] and sensor["queue_depth"] is not None
            octet = PLACEMENTS[site][0]
            assert sensor["allow"][0] == f"127.0.{octet}.0/24"
        assert fleet.sensors["site-a"].allow.split(",")[1] == SEGMENT


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
        # Then none of the bad ones ran, nothing was stored: the one signed with a key the
        # sensor does not hold is refused, saying so (its job must not wait forever); the
        # unsigned one and the other site's never left "queued"
        refused = fleet.job(client, forged_ids[0])
        assert refused["state"] == "refused" and "cannot verify" in refused["detail"], refused
        for forged in forged_ids[1:]:
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


def _reported(fleet: Fleet, site: str, job_id: str) -> Callable[[], bool]:
    """Whether the site's sensor logged that it reported the job done."""
    return lambda: f"job {job_id} reported: done" in fleet.sensors[site].text()


def test_sensors_outcomes_wait_in_the_broker_while_the_central_is_down(fleet: Fleet) -> None:
    # Given a scan requested, and the central closed at once. On a loaded machine the sensor
    # can finish before the central has stopped (it then ingests the outcome itself): such a
    # round proves nothing here, so another is requested, up to three.
    for _ in range(3):
        with fleet.central() as client:
            job_id = _start(fleet, client, "site-b", _site_targets("site-b"))
        # When the sensor finishes while the central is down
        wait_for("the sensor to report", _reported(fleet, "site-b", job_id))
        with open_store(fleet.postgres_url) as store:
            job = store.fleet().job(job_id)
            assert job is not None
            if job.state == "done":
                continue  # ingested before the central stopped: try again
            assert job.state in ("queued", "running")
            assert not store.has_scan(job_id)
            probe = make_app(fleet.broker_url, "test-probe", [RESULTS_QUEUE])
            assert (queue_depth(probe, RESULTS_QUEUE) or 0) >= 1  # the outcome waits
        break
    else:
        raise AssertionError("the central ingested every outcome before it stopped")
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


def _schedule_jobs(fleet: Fleet, client: TestClient, site: str, schedule_id: int) -> list[Any]:
    jobs = client.get(f"/api/v1/sites/{site}/jobs", headers=fleet.headers).json()["jobs"]
    return [job for job in jobs if job["requested_by"] == f"schedule:{schedule_id}"]


def test_sensors_missed_schedules_of_each_kind_run_once(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Beat reads the schedules every half second here (5 s in the central), so that a few
    # rounds pass in the test's time.
    monkeypatch.setattr(beat_module, "READ_SECONDS", 0.5)
    expected = run_passive([str(CAPTURE)])
    now = datetime.now(UTC)
    with open_store(fleet.postgres_url) as store:
        # Given hourly schedules whose last five runs were missed: a scan of site B, the
        # analysis of site A's captures that a glob matches, a discovery on site A's segment,
        # and a glob that also matches a link out of site A's --captures

        def missed(site: str, targets: list[str], **what: Any) -> Schedule:
            return store.fleet().add_schedule(
                site, targets, every_seconds=3600, cron=None, next_run=now - timedelta(hours=5),
                **what,
            )  # fmt: skip

        scan = missed("site-b", ["127.0.2.10-127.0.2.12"], ports=_ports(fleet.devices))
        pcap = missed("site-a", [], kind="pcap", captures=["crafted_*.pcap*"])
        discover = missed("site-a", [], kind="discover")
        outside = missed("site-a", [], kind="pcap", captures=["*.pcapng"])
        # and discoveries on a named interface: the sensor's own, and one it was not given
        named = missed("site-a", [], kind="discover", interface="eth0")
        not_given = missed("site-a", [], kind="discover", interface="lo")
    added = {
        "scan": scan, "pcap": pcap, "discover": discover, "outside": outside, "named": named,
        "not_given": not_given,
    }  # fmt: skip
    with fleet.central() as client:
        # The sites API shows each site's schedules with their kind
        sites = {
            s["name"]: s for s in client.get("/api/v1/sites", headers=fleet.headers).json()["sites"]
        }
        shown = {s["id"]: s for site in sites.values() for s in site["schedules"]}
        assert shown[pcap.id]["kind"] == "pcap" and shown[pcap.id]["captures"] == [
            "crafted_*.pcap*"
        ]
        assert shown[discover.id]["kind"] == "discover" and shown[discover.id]["targets"] == []
        assert shown[scan.id]["kind"] == "scan" and scan.id not in {
            s["id"] for s in sites["site-a"]["schedules"]
        }
        # When the central runs (its scheduler sends whatever is due)
        jobs = {
            name: wait_for(
                f"the {name} schedule's job",
                partial(_schedule_jobs, fleet, client, schedule.site, schedule.id),
                30,
            )[0]
            for name, schedule in added.items()
        }
        final = {name: fleet.wait_final(client, job["id"]) for name, job in jobs.items()}
        # Then each ran as its kind: the scan found site B's devices in its range
        assert final["scan"]["state"] == "done" and final["scan"]["kind"] == "scan"
        assert final["scan"]["counts"]["devices"] == 3, final["scan"]
        # the glob matched the capture in the directory, and the sensor analysed it
        assert final["pcap"]["state"] == "done", final["pcap"]
        assert final["pcap"]["kind"] == "pcap" and final["pcap"]["targets"] == ["crafted_*.pcap*"]
        assert final["pcap"]["counts"]["devices"] == len(expected.devices)
        # the discovery ran on the sensor's own interface and found the segment's devices
        assert final["discover"]["state"] == "done", final["discover"]
        assert final["discover"]["counts"]["devices"] == len(fleet.segment)
        # as did the one that named it, while the one naming another interface was refused
        assert final["named"]["state"] == "done", final["named"]
        assert final["named"]["counts"]["devices"] == len(fleet.segment)
        assert final["not_given"]["state"] == "refused"
        assert "'lo' is not one of this sensor's --interface eth0" in final["not_given"]["detail"]
        # and the glob that also matches a link out of the directory was refused whole
        assert final["outside"]["state"] == "refused"
        assert "leads outside the sensor's --captures" in final["outside"]["detail"]
        time.sleep(1.5)  # three more scheduler rounds: nothing more is due
        counts = {
            name: len(_schedule_jobs(fleet, client, s.site, s.id)) for name, s in added.items()
        }
    # Then each ran once, and runs next an hour from now
    assert counts == {name: 1 for name in added}, counts
    with open_store(fleet.postgres_url) as store:
        after = {s.id: s for s in store.fleet().schedules()}
        for name, schedule in added.items():
            assert after[schedule.id].next_run > now + timedelta(minutes=59), name
            assert after[schedule.id].last_job == jobs[name]["id"], name
            assert after[schedule.id].kind == schedule.kind
            store.fleet().remove_schedule(schedule.id)
        # the stored analysis names the capture the glob matched, not the sensor's path
        assert store.load(jobs["pcap"]["id"]).scan.targets == [f"capture:{CAPTURE.name}"]
        assert not store.has_scan(jobs["outside"]["id"])


def test_sensors_analyse_captures_from_their_directory_only(fleet: Fleet) -> None:
    # The CLI's pipeline on the same capture, here: what the sensor must find too
    expected = run_passive([str(CAPTURE)])
    expected_addresses = {device.ip for device in expected.devices if device.ip}
    assert len(expected_addresses) >= 5
    with fleet.central() as client:
        # When site A's sensor is asked to analyse a capture in its --captures directory
        job_id = _start(fleet, client, "site-a", [], kind="pcap", captures=[CAPTURE.name])
        # and one that is a link leading out of it
        outside = _start(fleet, client, "site-a", [], kind="pcap", captures=["outside.pcapng"])
        job = fleet.wait_final(client, job_id)
        refused = fleet.wait_final(client, outside)
        # and the central is asked for a path outside any directory
        answer = client.post(
            "/api/v1/scans",
            json={"site": "site-a", "kind": "pcap", "captures": ["../etc/passwd"]},
            headers=fleet.headers,
        )
        assert answer.status_code == 400 and "no '..'" in answer.text
        # Then the capture's devices are stored under site A, as the CLI finds them
        assert job["state"] == "done" and job["kind"] == "pcap", job
        assert job["targets"] == [CAPTURE.name]
        assert job["counts"]["devices"] == len(expected.devices)
        found = fleet.devices_at(client, "site-a")
        every = client.get("/api/v1/devices", params={"limit": 500}, headers=fleet.headers)
        assert every.status_code == 200, every.text
        by_mac = {d["mac"]: d for d in every.json()["devices"] if d.get("mac")}
        by_serial = {d["serial"]: d for d in every.json()["devices"] if d.get("serial")}
        for device in expected.devices:
            if not device.ip:
                continue
            # A capture is timed by its packets (January 2026): a device that an earlier
            # test's scan saw today (the same MAC or serial, at any site) keeps today's
            # address and site; every other one is at site A, at the capture's address.
            here = found.get(device.ip) or by_mac.get(device.mac) or by_serial.get(device.serial)
            assert here is not None, device.ip
            assert here["manufacturer"] == device.manufacturer, device.ip
        # and the link out of the directory is refused, and nothing stored for it
        assert refused["state"] == "refused"
        assert "leads outside the sensor's --captures" in refused["detail"]
    with open_store(fleet.postgres_url) as store:
        stored = store.load(job_id)
        assert stored.scan.targets == [f"capture:{CAPTURE.name}"]  # not the sensor's path
        # the analysis itself holds every device of the capture, at the capture's addresses
        assert {d.ip for d in stored.devices if d.ip} == expected_addresses
        assert not store.has_scan(outside)


def test_sensors_discover_on_their_segment(fleet: Fleet) -> None:
    with fleet.central() as client:
        # When site A's sensor is asked to discover on its segment, and on another interface
        job_id = _start(fleet, client, "site-a", [], kind="discover", timeout=1.5)
        other = _start(fleet, client, "site-a", [], kind="discover", interface="lo")
        job = fleet.wait_final(client, job_id)
        refused = fleet.wait_final(client, other)
        # Then every device on the segment is found by multicast or broadcast, with its MAC
        # and maker, and stored under site A
        assert job["state"] == "done" and job["kind"] == "discover", job
        found = fleet.devices_at(client, "site-a")
        for address, spec in fleet.segment.items():
            assert address in found, (address, sorted(found))
            assert found[address]["mac"] == spec.identity.mac
            assert found[address]["manufacturer"] == spec.expect.manufacturer, address
            assert found[address]["site"] == "site-a"
        assert job["counts"]["devices"] == len(fleet.segment)
        # and an interface the sensor was not given is refused
        assert refused["state"] == "refused"
        assert "'lo' is not one of this sensor's --interface eth0" in refused["detail"]
        # and a scan job still needs targets; pcap and discover only run on a site
        answer = client.post("/api/v1/scans", json={"site": "site-a"}, headers=fleet.headers)
        assert answer.status_code == 400 and "names its targets" in answer.text
        answer = client.post("/api/v1/scans", json={"kind": "pcap"}, headers=fleet.headers)
        assert answer.status_code == 400 and "name its site" in answer.text


def test_sensors_a_site_key_changes_without_losing_work(fleet: Fleet) -> None:
    sensor = fleet.sensors["site-b"]
    path = fleet.keys / "site-b.key"
    old = load_keys(path).signing
    new = new_key()
    targets = ["127.0.2.10-127.0.2.11"]
    # Given a request signed with the old key, waiting while the site's sensor is stopped
    sensor.stop()
    with fleet.central() as client:
        before = _start(fleet, client, "site-b", targets)
        # When the new key signs from now on and the old one is still accepted (the central
        # reads its key file again; the sensor, started again, reads the same file)
        path.write_text(key_file_text(new, "site-b") + old.hex() + "\n")
        after = _start(fleet, client, "site-b", targets)
        sensor.start()
        # Then both requests run, and both outcomes (signed with the new key) are ingested
        for job_id in (before, after):
            assert fleet.wait_final(client, job_id)["state"] == "done"
        # When the old key is dropped, a message it signs is refused (the sensor reads its
        # key file again without a restart)
        path.write_text(key_file_text(new, "site-b"))
        stale = str(uuid.uuid4())
        with open_store(fleet.postgres_url) as store:
            store.fleet().add_job(stale, "site-b", targets, requested_by="test")
        app = make_app(fleet.broker_url, "test-stale", [site_queue("site-b")])
        request = {"job_id": stale, "site": "site-b", "targets": targets, "ports": [80]}
        send(app, SCAN_TASK, seal("scan", "site-b", request, old), site_queue("site-b"))
        follow = _start(fleet, client, "site-b", targets)
        assert fleet.wait_final(client, follow)["state"] == "done"
        # (not run; refused, saying the sensor does not hold its key, not left queued)
        refused = fleet.job(client, stale)
        assert refused["state"] == "refused" and "cannot verify" in refused["detail"]
    assert f"no key {key_id(old)!r} here" in sensor.text()
