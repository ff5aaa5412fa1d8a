"""Migration 0011 gives each inventory device the verdict of its newest sighting, on SQLite
and PostgreSQL: a store taken back to 0010 (no verdict kept) and opened again has the
verdicts the inventory recorded as the scans arrived."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from inventory_verdicts import four_verdicts, scan_of
from provscan.store.db import _alembic_config, _with_driver, normalise_db_arg, open_store


def _downgrade(url: str, revision: str) -> None:
    parsed = _with_driver(make_url(url))
    engine = create_engine(parsed)
    try:
        with engine.begin() as connection:
            config = _alembic_config(parsed)
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def _execute(url: str, statement: str) -> None:
    engine = create_engine(_with_driver(make_url(url)))
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def _inventory_columns(url: str) -> set[str]:
    engine = create_engine(_with_driver(make_url(url)))
    try:
        return {column["name"] for column in inspect(engine).get_columns("inventory")}
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(
    request: pytest.FixtureRequest, tmp_path: Path, make_postgres_database: Callable[[], str]
) -> str:
    if request.param == "sqlite":
        return normalise_db_arg(str(tmp_path / "store.db"))
    return make_postgres_database()


def test_the_migration_gives_each_device_its_newest_sightings_verdict(url: str) -> None:
    # Given a store whose inventory holds a device of each verdict, one of them seen twice
    # (restricted first, then by a scan that identified nothing: it stays restricted, and
    # 0012 gives it that verdict again after 0011 took its newest sighting's)
    devices = four_verdicts()
    again = devices[0].model_copy(
        update={
            "manufacturer": None,
            "brand": None,
            "family": None,
            "relation": None,
            "model": None,
            "restricted": False,
            "verdict": "unknown",
            "findings": [],
            "notes": [],
        }
    )
    with open_store(url) as store:
        store.save_document(scan_of("scan-a", 10, devices))
        store.save_document(scan_of("scan-b", 11, [again]))
        recorded = {device.device_id: device.verdict for device in store.inventory()}
        by_ip = {device.ip: device.device_id for device in store.inventory()}
    assert sorted(recorded.values()) == ["clear", "restricted", "review", "unknown"]

    # When it is taken back to 0010, which kept no verdict, and opened again
    _downgrade(url, "0010")
    assert "verdict" not in _inventory_columns(url)
    with open_store(url) as store:
        migrated = {device.device_id: device.verdict for device in store.inventory()}
    # Then each device has the verdict it had (the review note is read from the sighting)
    assert migrated == recorded

    # A device whose newest sighting is no longer stored keeps what its own row says (an
    # inventory row has no notes: the device to review falls back to its maker, clear)
    _downgrade(url, "0010")
    review = next(device for device in devices if device.verdict == "review")
    _execute(url, f"DELETE FROM devices WHERE scan_id = 'scan-a' AND ip = '{review.ip}'")
    with open_store(url) as store:
        fallback = {device.device_id: device.verdict for device in store.inventory()}
    assert fallback == recorded | {by_ip[review.ip]: "clear"}
