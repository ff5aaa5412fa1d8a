"""The broker restarted: queued work and results survive (durable queues, persistent
messages). The test starts a RabbitMQ node of its own (own node name, AMQP and distribution
ports on loopback, data and logs in a temporary directory) and restarts that node only; the
machine's RabbitMQ service is never stopped or restarted. Skips, saying why, where
rabbitmq-server is missing or starts slower than START_LIMIT_SECONDS."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sensors_tools import CentralSide, SensorProcess, free_port, ports_of, start_lab, stop, wait_for

from provscan.sensors.broker import RESULTS_QUEUE, make_app, queue_depth, site_queue
from provscan.store.db import open_store

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
#: A node that takes longer than this to accept connections makes the test skip.
START_LIMIT_SECONDS = 60.0
SITE = "site-b"
OCTET = 100 + os.getpid() % 50
PLACEMENTS = {"lts-nvr": f"127.0.{OCTET}.10", "amcrest-ipc": f"127.0.{OCTET}.11"}


@dataclass
class PrivateNode:
    """A RabbitMQ node of the test's own; ``stop`` and ``start`` touch this node only."""

    directory: Path
    name: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    start_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def environment(self) -> dict[str, str]:
        base = self.directory
        return {
            **os.environ,
            "HOME": str(base / "home"),  # the node's own Erlang cookie
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),  # not /etc/rabbitmq's
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "node.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_CTL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def __post_init__(self) -> None:
        self.dist_port = free_port()
        for folder in ("home", "mnesia", "log"):
            (self.directory / folder).mkdir(parents=True, exist_ok=True)
        (self.directory / "rabbitmq-env.conf").write_text("")
        (self.directory / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
        )
        (self.directory / "enabled_plugins").write_text("[].\n")

    def start(self) -> float:
        """Start the node; the seconds until it accepted an AMQP connection."""
        began = time.monotonic()
        with (self.directory / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [str(RABBITMQ_BIN / "rabbitmq-server")],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.environment(),
            )
        while time.monotonic() - began < START_LIMIT_SECONDS:
            if self.process.poll() is not None:
                break
            if self._accepts():
                return time.monotonic() - began
            time.sleep(0.25)
        return float("inf")

    def _accepts(self) -> bool:
        from kombu.connection import Connection

        try:
            with Connection(self.url, connect_timeout=1) as connection:  # type: ignore[no-untyped-call]
                connection.ensure_connection(max_retries=1)
            return True
        except Exception:
            return False

    def stop(self) -> None:
        """``rabbitmqctl -n NODE stop``: this node, by its own name, and nothing else."""
        assert self.name.startswith("provscan-test-") and self.name.endswith("@localhost")
        subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.name, "stop"],
            capture_output=True,
            timeout=60,
            check=False,
            env=self.environment(),
        )
        stop(self.process, timeout=30)

    def log(self) -> str:
        path = self.directory / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


@pytest.fixture(scope="module")
def private_node() -> Iterator[PrivateNode]:
    if not (RABBITMQ_BIN / "rabbitmq-server").is_file() or shutil.which("erl") is None:
        pytest.skip(
            f"no RabbitMQ server at {RABBITMQ_BIN} (or no Erlang) to start a node of our own"
        )
    directory = Path(tempfile.mkdtemp(prefix="provscan-rabbit-"))
    node = PrivateNode(directory, f"provscan-test-{uuid.uuid4().hex[:8]}@localhost", free_port())
    try:
        seconds = node.start()
        if seconds == float("inf"):
            pytest.skip(
                f"a private RabbitMQ node did not accept connections within "
                f"{START_LIMIT_SECONDS:.0f} s: {node.log()[-300:]}"
            )
        node.start_seconds = seconds
        yield node
    finally:
        node.stop()
        shutil.rmtree(directory, ignore_errors=True)


#: Two RabbitMQ node starts (7-14 s each on a quiet machine, 20-50 s on a loaded one) and two
#: scans: more than the suite's 120 s default on a loaded CI machine.
@pytest.mark.timeout(360)
def test_sensors_queued_work_and_results_survive_a_broker_restart(
    private_node: PrivateNode, postgres_url: str, site_keys: Path, record_property: object
) -> None:
    state = Path(tempfile.mkdtemp(prefix="provscan-sensors-restart-"))
    lab, devices = start_lab(PLACEMENTS, state)
    url = private_node.url
    sensor = SensorProcess(
        SITE, url, f"127.0.{OCTET}.0/24", site_keys / f"{SITE}.key", state / "sensor.log"
    )
    targets = [f"127.0.{OCTET}.10-127.0.{OCTET}.12"]
    ports = ports_of(devices)
    probe = make_app(url, "test-probe", [RESULTS_QUEUE])
    try:
        central = CentralSide(postgres_url, url, site_keys)
        # Given a scan that ran while the central was down: its outcome waits in the results
        with central.running() as client:
            ran = central.start(client, SITE, targets, ports)
        sensor.start()
        wait_for("the outcome", lambda: f"job {ran} reported: done" in sensor.text(), 60)
        sensor.stop()
        # and a scan requested while the site's sensor is down: it waits in the site's queue
        with open_store(postgres_url) as store:
            waiting = (
                central.make_central(store)
                .request_scan(SITE, targets, requested_by="test", ports=ports)
                .id
            )
        assert queue_depth(probe, site_queue(SITE)) == 1
        results_before = queue_depth(probe, RESULTS_QUEUE) or 0
        assert results_before >= 2  # the start notice and the outcome (and heartbeats)
        # When the broker node is stopped and started again
        began = time.monotonic()
        private_node.stop()
        restart = private_node.start()
        assert restart != float("inf"), private_node.log()
        restarted_in = time.monotonic() - began
        # Then the queued request and the waiting results are still there
        probe = make_app(url, "test-probe", [RESULTS_QUEUE])
        assert queue_depth(probe, site_queue(SITE)) == 1
        assert (queue_depth(probe, RESULTS_QUEUE) or 0) >= 2
        # and, with the central and the sensor back, both scans complete, each once
        sensor.start()
        with central.running() as client:
            for job_id in (ran, waiting):
                job = central.wait_final(client, job_id)
                assert job["state"] == "done", (job, sensor.text()[-2000:])
            found = central.devices_at(client, SITE)
            assert set(found) == set(devices)
            scans = client.get(
                "/api/v1/scans", params={"limit": 1000}, headers=central.headers
            ).json()["scans"]
            assert sorted(scan["id"] for scan in scans) == sorted((ran, waiting))
        assert sensor.text().count(f"job {ran} reported: done") == 1
        record_property(  # type: ignore[operator]
            "rabbitmq_seconds",
            {
                "first_start": round(private_node.start_seconds, 1),
                "restart": round(restarted_in, 1),
            },
        )
        print(f"private RabbitMQ: first start {private_node.start_seconds:.1f} s, "
              f"stop + start {restarted_in:.1f} s")  # fmt: skip
    finally:
        try:
            sensor.stop()
        finally:  # the lab goes even when stopping the sensor fails or is interrupted
            stop(lab)
            shutil.rmtree(state, ignore_errors=True)
