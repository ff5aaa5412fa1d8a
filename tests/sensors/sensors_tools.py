"""Helpers of the sensor tests that run on the host's loopback (no namespaces): a device lab,
a sensor process, a central with its API, and waiting for something to become true."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provscan.lab.server import load_devices
from provscan.lab.spec import DeviceSpec
from provscan.sensors.central import Central, SiteKeys
from provscan.store.db import open_store
from provscan.web.app import create_app

with warnings.catch_warnings():
    # starlette asks for its httpx fork; the tests use httpx itself
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

PASSWORD = "sensors-test-password"


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop(process: subprocess.Popen[bytes] | None, timeout: float = 15) -> None:
    """SIGTERM (Celery's warm shutdown, the lab's clean exit), SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def start_lab(
    placements: dict[str, str], state: Path
) -> tuple[subprocess.Popen[bytes], dict[str, DeviceSpec]]:
    """The lab serving ``{device id: loopback address}``; returns it and address -> device."""
    specs = {device.id: device for device in load_devices()}
    command = [sys.executable, "-m", "provscan.lab", "--state-dir", str(state / "lab")]
    for device_id, address in placements.items():
        command += ["--place", f"{device_id}={address}"]
    with (state / "lab.log").open("wb") as log:
        lab = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    wait_for("the lab", (state / "lab" / "lab.json").exists, 30)
    return lab, {address: specs[device_id] for device_id, address in placements.items()}


@dataclass
class SensorProcess:
    """``provscan sensor`` on the host (its lab is on loopback)."""

    site: str
    broker_url: str
    allow: str
    key: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "provscan", "sensor", "--site", self.site, "--broker",
            self.broker_url, "--allow", self.allow, "--key", str(self.key), "--name",
            f"{self.site}/sensor", "--heartbeat", "1",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def stop(self) -> None:
        stop(self.process)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class CentralSide:
    """The central's database, broker and keys, and an analyst's token for its API."""

    db_url: str
    broker_url: str
    keys: Path
    token: str = ""

    def __post_init__(self) -> None:
        with open_store(self.db_url) as store:
            accounts = store.accounts()
            accounts.add_user("analyst", "analyst", PASSWORD, actor="test", address="cli")
            self.token = accounts.issue_token("analyst", actor="test", address="cli")

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    def make_central(self, store: Any) -> Central:
        return Central(store, self.broker_url, SiteKeys(self.keys))

    @contextmanager
    def running(self) -> Iterator[TestClient]:
        """The central (API + ingest + scheduler) running; stopped when the block ends."""
        app = create_app(self.db_url, central=self.make_central)
        with TestClient(app) as client:
            yield client

    def start(self, client: TestClient, site: str, targets: list[str], ports: list[int]) -> str:
        answer = client.post(
            "/api/v1/scans",
            json={"site": site, "targets": targets, "ports": ports},
            headers=self.headers,
        )
        assert answer.status_code == 202, answer.text
        job_id: str = answer.json()["id"]
        return job_id

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


def ports_of(devices: dict[str, DeviceSpec]) -> list[int]:
    return sorted({service.port for device in devices.values() for service in device.services})
