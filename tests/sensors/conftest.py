"""Shared by the sensor tests: a throwaway RabbitMQ virtual host and PostgreSQL database per
run (both dropped afterwards), and site keys."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from provscan.sensors.messages import new_key

PG_SERVER = os.environ.get("PROVSCAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
BROKER_PORT = 5672
SITES = ("site-a", "site-b")


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


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    """``amqp://`` URL of a new virtual host on the local RabbitMQ, deleted afterwards."""
    reason = _broker_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    vhost = f"provscan-test-{uuid.uuid4().hex[:10]}"
    made = _rabbitmqctl("add_vhost", vhost)
    if made.returncode != 0:
        pytest.skip(f"cannot add a RabbitMQ virtual host: {made.stderr.strip()}")
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:{BROKER_PORT}/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    name = f"provscan_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server at {PG_SERVER}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{PG_SERVER}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def site_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with ``NAME.key`` for each test site (the central's view)."""
    directory = tmp_path_factory.mktemp("sensor-keys")
    for site in SITES:
        path = directory / f"{site}.key"
        path.write_text(new_key() + "\n")
        path.chmod(0o600)
    return directory
