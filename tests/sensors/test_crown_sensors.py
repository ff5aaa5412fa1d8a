"""A Crown corporation's review of the sensors (items 1 and 2): a sensor started with another
key than the central's for its site makes its jobs fail with the cause and its site show
"refusing: key mismatch" (not "silent"), and nothing it could not verify runs; a job no
sensor takes within its request's lifetime expires rather than waiting forever; `provscan
serve` whose broker goes away while it starts says so in one line. A real RabbitMQ virtual
host of this module's own, a real PostgreSQL database per test, real sensor processes."""

from __future__ import annotations

import asyncio
import html
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import throwaway_postgres_database
from review4_tools import LOOPBACK, SensorRun, depth, own_vhost, write_key
from sensors_relay import _pipe
from sensors_tools import PASSWORD, CentralSide, TestClient, free_port, wait_for

from provscan.sensors import central as central_module
from provscan.sensors.broker import PARKED_QUEUE_NAME, REPORT_TASK, RESULTS_QUEUE, send, site_queue
from provscan.sensors.central import KEY_MISMATCH, Central, SiteKeys
from provscan.sensors.messages import load_keys, seal
from provscan.store.db import open_store

SITE = "crown-quebec"
ALLOW = "127.0.45.0/24"
SILENT = "127.0.45.9"


@pytest.fixture(scope="module")
def vhost() -> Iterator[str]:
    with own_vhost("provscan-crown") as url:
        yield url


@pytest.fixture
def db() -> Iterator[str]:
    with throwaway_postgres_database("provscan_crown") as url:
        yield url


@pytest.fixture
def central_keys(tmp_path: Path) -> Path:
    directory = tmp_path / "central-keys"
    directory.mkdir()
    write_key(directory / f"{SITE}.key", SITE)
    return directory


def _site(side: CentralSide, client: TestClient) -> dict[str, Any]:
    answer = client.get("/api/v1/sites", headers=side.headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = next(s for s in answer.json()["sites"] if s["name"] == SITE)
    return found


def _sites_page(client: TestClient) -> str:
    """The console's sites page, logged in through the form as the central's analyst."""
    form = client.get("/login").text
    found = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert found is not None, form
    logged = client.post(
        "/login",
        data={"name": "analyst", "password": PASSWORD, "csrf_token": found.group(1)},
        follow_redirects=False,
    )
    assert logged.status_code == 303, logged.text
    answer = client.get("/sites")
    assert answer.status_code == 200, answer.text
    return answer.text


def test_a_sensor_with_another_key_fails_its_jobs_and_its_site_shows_refusing(
    vhost: str, db: str, central_keys: Path, tmp_path: Path
) -> None:
    side = CentralSide(db, vhost, central_keys)
    wrong = write_key(tmp_path / "wrong.key", SITE)  # the site's name, another key
    sensor = SensorRun(SITE, vhost, ALLOW, wrong, tmp_path, name=f"{SITE}/one")
    again: SensorRun | None = None
    with side.running() as client:
        try:
            sensor.start()
            wait_for("the sensor", lambda: "ready." in sensor.text(), 60)
            # Given a scan sent to the site whose sensor holds another key
            job_id = side.start(client, SITE, [SILENT], [9])
            # Then the job fails, saying why, instead of staying queued
            job = side.wait_final(client, job_id, 60)
            assert job["state"] == "failed", job
            assert job["detail"].startswith(f"{KEY_MISMATCH} for site {SITE} ({SITE}/one"), job
            assert f"{central_keys / SITE}.key does not hold the key" in job["detail"]
            # and nothing ran, nothing waits, nothing is parked to circle forever
            assert f"job {job_id} reported: refused (unverifiable)" in sensor.text()
            assert depth(vhost, site_queue(SITE).name) == 0
            assert depth(vhost, PARKED_QUEUE_NAME) == 0
            assert job["counts"] == {"hosts": None, "devices": None, "restricted": None}
            # And the site says it is refusing, with the cause, not that it is silent
            site = wait_for(
                "the site to refuse", lambda: (s := _site(side, client))["refusing"] and s, 30
            )
            assert site["sensors_state"] == "refusing", site
            assert site["refusing"]["reason"] == "key mismatch"
            assert site["refusing"]["sensors"] == [f"{SITE}/one"]
            assert site["refusing"]["detail"].startswith(f"{KEY_MISMATCH} for site {SITE}")
            # and so does the console's sites page
            page = _sites_page(client)
            row = page.split(f'<a href="/sites/{SITE}">{SITE}</a>', 1)[1].split("</tr>", 1)[0]
            assert "refusing: key mismatch" in row, row
            assert ">silent</strong>" not in row and ">no sensor</strong>" not in row, row
            assert f"{KEY_MISMATCH} for site {SITE}" in html.unescape(row)
            # When the sensor is started again with the site's key
            sensor.stop()
            again = SensorRun(
                SITE, vhost, ALLOW, central_keys / f"{SITE}.key", tmp_path, name=f"{SITE}/one"
            ).start()
            # Then the site answers again and a scan runs
            wait_for(
                "the site to answer",
                lambda: _site(side, client)["sensors_state"] == "answering",
                60,
            )
            second = side.wait_final(client, side.start(client, SITE, [SILENT], [9]), 90)
            assert second["state"] == "done", second
        finally:
            sensor.stop()
            if again is not None:
                again.stop()


def test_an_unverifiable_message_never_changes_more_than_a_waiting_job(
    vhost: str, db: str, central_keys: Path, tmp_path: Path
) -> None:
    forger = load_keys(write_key(tmp_path / "forger.key", SITE))
    with open_store(db) as store:
        fleet = store.fleet()
        running, queued = str(uuid.uuid4()), str(uuid.uuid4())
        for job_id in (running, queued):
            fleet.add_job(job_id, SITE, [SILENT], requested_by="crown")
        fleet.mark_running(running, f"{SITE}/real")
        central = Central(store, vhost, SiteKeys(central_keys))
        central.start(schedules=False)
        try:
            # Given messages signed with a key the central does not hold: a refusal of a job
            # a sensor runs, and a "done" outcome with a device for the waiting job
            refusal = {"job_id": running, "status": "refused", "detail": "x", "sensor": "f"}
            send(central.app, REPORT_TASK, seal("outcome", SITE, refusal, forger), RESULTS_QUEUE)
            done = {"job_id": queued, "status": "done", "devices": 5, "sensor": "f"}
            send(central.app, REPORT_TASK, seal("outcome", SITE, done, forger), RESULTS_QUEUE)
            # Then neither is applied: both are kept in the parked queue, the jobs unchanged
            wait_for("both to be parked", lambda: depth(vhost, PARKED_QUEUE_NAME) == 2, 20)
            running_job, queued_job = fleet.job(running), fleet.job(queued)
            assert running_job is not None and running_job.state == "running"
            assert queued_job is not None and queued_job.state == "queued"
            assert not store.has_scan(queued)
        finally:
            central.stop()


def test_a_job_no_sensor_takes_expires_with_its_request(
    vhost: str, db: str, central_keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(central_module, "EXPIRY_CHECK_SECONDS", 0.5)
    with open_store(db) as store:
        central = Central(store, vhost, SiteKeys(central_keys))
        central.request_lifetime = timedelta(seconds=2)
        central.expiry_grace = timedelta(0)
        central.start(schedules=False)
        try:
            # Given a scan sent to a site no sensor serves
            job = central.request_scan(SITE, [SILENT], requested_by="crown", ports=[9])
            fresh = store.fleet().job(job.id)
            assert fresh is not None and fresh.state == "queued"
            # Then once its request's lifetime has passed, the job says it expired
            wait_for(
                "the job to expire",
                lambda: (j := store.fleet().job(job.id)) is not None and j.state != "queued",
                20,
            )
            expired = store.fleet().job(job.id)
            assert expired is not None and expired.state == "failed"
            assert expired.detail is not None
            assert expired.detail.startswith(
                f"expired: no sensor of site {SITE} took it within 2 s"
            )
            # and a job sent just now still waits
            other = central.request_scan(SITE, [SILENT], requested_by="crown", ports=[9])
            assert central.expire_queued() == []
            assert (j := store.fleet().job(other.id)) is not None and j.state == "queued"
        finally:
            central.stop()


class _Relay:
    """A TCP relay on 127.0.0.1 to RabbitMQ that serves its first connection, then closes
    its listening socket (the broker "drops" after `serve` checked it)."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.stopping: asyncio.Event | None = None

    async def _main(self) -> None:
        self.stopping = asyncio.Event()
        writers: list[asyncio.StreamWriter] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            server.close()  # no second connection: refused from now on
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
            writers.extend((writer, up_writer))
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

        server = await asyncio.start_server(handle, "127.0.0.1", self.port)
        self.ready.set()
        await self.stopping.wait()
        server.close()
        for writer in writers:
            writer.close()
        await asyncio.sleep(0.1)

    def _run(self) -> None:
        self.loop.run_until_complete(self._main())
        self.loop.close()

    def start(self) -> _Relay:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def close(self) -> None:
        if self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(timeout=10)


def test_serve_whose_broker_drops_while_it_starts_says_so_in_one_line(
    vhost: str, central_keys: Path, tmp_path: Path
) -> None:
    store = tmp_path / "c.db"
    env = {**os.environ, "PROVSCAN_ALLOWED_TARGETS": LOOPBACK}
    made = subprocess.run(
        [sys.executable, "-m", "provscan", "users", "add", "admin", "--role", "admin",
         "--create", "--db", str(store)],
        capture_output=True, text=True, timeout=60,
        env={**env, "PROVSCAN_PASSWORD": "correct horse battery"}, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    relay = _Relay(5672).start()
    vhost_path = vhost.rsplit("/", 1)[1]
    port = free_port()
    try:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "provscan", "serve", "--db", str(store), "--port", str(port),
             "--broker", f"amqp://guest:guest@127.0.0.1:{relay.port}/{vhost_path}",
             "--sensor-keys", str(central_keys)],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
    finally:
        relay.close()
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "OperationalError" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        f"provscan: error: cannot reach the broker amqp://guest:**@127.0.0.1:{relay.port}/"
    ), lines
    assert "Connection refused" in lines[0] and "guest:guest" not in lines[0]
    assert "port is taken" not in done.stderr
    assert time.monotonic() - started < 100
