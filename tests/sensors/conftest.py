"""Shared by the sensor tests: a throwaway RabbitMQ virtual host and PostgreSQL database per
run (both dropped afterwards), and site keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import throwaway_postgres_database
from review4_tools import own_vhost

from provscan.sensors.messages import new_key

SITES = ("site-a", "site-b")


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    """``amqp://`` URL of a new virtual host on the local RabbitMQ, deleted afterwards."""
    with own_vhost("provscan-test") as url:
        yield url


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    with throwaway_postgres_database() as database:
        yield database


@pytest.fixture(scope="module")
def site_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with ``NAME.key`` for each test site (the central's view)."""
    directory = tmp_path_factory.mktemp("sensor-keys")
    for site in SITES:
        path = directory / f"{site}.key"
        path.write_text(new_key() + "\n")
        path.chmod(0o600)
    return directory
