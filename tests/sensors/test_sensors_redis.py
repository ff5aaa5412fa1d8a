"""A site scan end to end on a Redis broker (redis://127.0.0.1:6379/N): a database number
free for this run, flushed afterwards; the central on PostgreSQL, the sensor and its lab on
the host's loopback."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sensors_tools import CentralSide, SensorProcess, ports_of, start_lab, stop, wait_for

REDIS = ("127.0.0.1", 6379)
SITE = "site-a"
OCTET = 150 + os.getpid() % 100
PLACEMENTS = {"hik-ipc-legacy": f"127.0.{OCTET}.10", "dahua-nvr": f"127.0.{OCTET}.11"}
#: Redis has 16 numbered databases by default; 0 is left to whoever uses the default.
DATABASES = range(1, 16)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """``redis://`` URL of a database no one uses (claimed with a key), flushed afterwards."""
    redis = pytest.importorskip("redis", reason="the redis extra is not installed")
    try:
        client = redis.Redis(*REDIS, socket_connect_timeout=2)
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"no Redis at {REDIS[0]}:{REDIS[1]}: {exc}")
        pytest.skip(f"no Redis at {REDIS[0]}:{REDIS[1]}: {exc}")
    claim = f"provscan-test-claim-{uuid.uuid4().hex}"
    for number in random.sample(list(DATABASES), len(DATABASES)):
        database = redis.Redis(*REDIS, db=number)
        # An empty database, claimed at once so that a parallel run picks another one
        if database.dbsize() == 0 and database.set(claim, "1", nx=True):
            if database.dbsize() == 1:
                break
            database.delete(claim)
    else:
        pytest.skip("every Redis database 1-15 holds data; none is free for the test")
    try:
        yield f"redis://{REDIS[0]}:{REDIS[1]}/{number}"
    finally:
        database.flushdb()


def test_sensors_a_site_scan_on_redis(redis_url: str, postgres_url: str, site_keys: Path) -> None:
    state = Path(tempfile.mkdtemp(prefix="provscan-sensors-redis-"))
    sensor = SensorProcess(
        SITE, redis_url, f"127.0.{OCTET}.0/24", site_keys / f"{SITE}.key", state / "sensor.log"
    )
    lab = None
    try:
        sensor.start()  # it starts while the lab does (it needs the lab only for the scan)
        lab, devices = start_lab(PLACEMENTS, state)
        central = CentralSide(postgres_url, redis_url, site_keys)
        with central.running() as client:
            # When a scan of the site is requested through the API
            job_id = central.start(
                client, SITE, [f"127.0.{OCTET}.10-127.0.{OCTET}.12"], ports_of(devices)
            )
            job = central.wait_final(client, job_id)
            # Then the site's sensor ran it and the devices are stored with the site
            assert job["state"] == "done", (job, sensor.text()[-2000:])
            assert job["sensor"] == f"{SITE}/sensor"
            assert job["counts"]["devices"] == len(devices)
            found = central.devices_at(client, SITE)
            assert set(found) == set(devices)
            for address, spec in devices.items():
                assert found[address]["manufacturer"] == spec.expect.manufacturer
            # And the heartbeats count the site's queue on Redis too: one sent after the job
            # was taken says it is empty (an earlier one, still the newest for a moment on a
            # loaded machine, may have counted the request waiting)
            (heard,) = wait_for(
                "a heartbeat with the site's queue empty",
                lambda: [
                    sensor_seen
                    for sensor_seen in client.get(
                        "/api/v1/sensors", params={"site": SITE}, headers=central.headers
                    ).json()["sensors"]
                    if sensor_seen["queue_depth"] == 0
                ],
                30,
            )
            assert heard["queue_depth"] == 0 and heard["site"] == SITE
    finally:
        sensor.stop()
        stop(lab)
        shutil.rmtree(state, ignore_errors=True)
