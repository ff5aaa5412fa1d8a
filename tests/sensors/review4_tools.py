"""Helpers of the fourth review's sensor tests: a RabbitMQ virtual host of a module's own (so
that what one module leaves in ``provscan.results`` never reaches another's central), an
empty PostgreSQL database per test, site keys as ``provscan sensor keygen`` writes them, and
a sensor process with its own cache directory (where it holds its name)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import throwaway_postgres_database
from kombu.connection import Connection
from kombu.entity import Queue

from provscan.sensors.messages import key_file_text, new_key

#: The scope interlock of every process these tests start.
LOOPBACK = "127.0.0.0/8,::1/128"
BROKER_PORT = 5672


def _rabbitmqctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=60, check=False
    )


def _broker_missing() -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", BROKER_PORT), timeout=2):
            pass
    except OSError as exc:
        return f"no RabbitMQ at 127.0.0.1:{BROKER_PORT}: {exc}"
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed (it makes the throwaway virtual host)"
    return None


@contextmanager
def own_vhost(prefix: str = "provscan-r4") -> Iterator[str]:
    """``amqp://`` URL of a new virtual host on the local RabbitMQ, deleted afterwards (skips
    without a broker, except on CI, where it fails)."""
    reason = _broker_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    vhost = f"{prefix}-{uuid.uuid4().hex[:10]}"
    made = _rabbitmqctl("add_vhost", vhost)
    if made.returncode != 0:
        pytest.skip(f"cannot add a RabbitMQ virtual host: {made.stderr.strip()}")
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:{BROKER_PORT}/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def empty_postgres() -> AbstractContextManager[str]:
    """A new PostgreSQL database with no table at all, dropped afterwards."""
    return throwaway_postgres_database("provscan_r4")


def tables_of(url: str) -> list[str]:
    """The tables of a PostgreSQL database, read with psycopg (not provscan's code)."""
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as connection:
        rows = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
    return [row[0] for row in rows]


def write_key(path: Path, site: str, mode: int = 0o600) -> Path:
    """A key file as ``provscan sensor keygen`` writes it (its header names the site)."""
    path.write_text(key_file_text(new_key(), site), encoding="ascii")
    path.chmod(mode)
    return path


def depth(broker_url: str, name: str) -> int:
    """Messages ready in the durable queue ``name`` (0 when it does not exist yet)."""
    with Connection(broker_url) as connection:
        try:
            _, count, _ = Queue(name, durable=True)(connection.default_channel).queue_declare(
                passive=True
            )
        except Exception:
            return 0
        return int(count)


@dataclass
class SensorRun:
    """``python -m provscan sensor`` with its own cache directory and a log file."""

    site: str
    broker_url: str
    allow: str
    key: Path
    home: Path
    name: str | None = None
    extra: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    #: Each run logs to a file of its own.
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def log(self) -> Path:
        return self.home / f"sensor-{self.tag}.log"

    def command(self) -> list[str]:
        command = [
            sys.executable, "-m", "provscan", "sensor", "--site", self.site, "--broker",
            self.broker_url, "--allow", self.allow, "--key", str(self.key), "--heartbeat", "1",
        ]  # fmt: skip
        if self.name is not None:
            command += ["--name", self.name]
        return command + self.extra

    def env(self) -> dict[str, Any]:
        return {
            **os.environ,
            "PROVSCAN_ALLOWED_TARGETS": LOOPBACK,
            "XDG_CACHE_HOME": str(self.home / "cache"),
        }

    def start(self) -> SensorRun:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env(),
            )
        return self

    def run(self, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run it to its end (a refusal), output captured."""
        return subprocess.run(
            self.command(),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(),
            check=False,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
