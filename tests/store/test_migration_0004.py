"""Migration 0004 (rows -> contract documents) loses nothing, on SQLite and PostgreSQL.

``fixtures/store_0003.db`` was written by the release before 0004 (see
``fixtures/make_store_0003.py``), and ``store_0003.expected.json`` is what that release's
``Store.load`` gave for each scan. Upgrading a copy must give back those documents exactly;
downgrading again must give back the 0003 rows exactly.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, MetaData, create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from provscan.report.contract import DeviceEntry, FindingEntry, from_contract, upgrade_document
from provscan.store.db import (
    HEAD_REVISION,
    _alembic_config,
    _use_transactional_sqlite,
    _with_driver,
    index_columns,
    normalise_db_arg,
    open_store,
)
from provscan.store.models import DeviceRow, FindingRow, ScanRow

FIXTURES = Path(__file__).parent / "fixtures"
OLD_DB = FIXTURES / "store_0003.db"
EXPECTED: dict[str, Any] = json.loads(
    (FIXTURES / "store_0003.expected.json").read_text(encoding="utf-8")
)
OLD_TABLES = ("scans", "devices", "findings", "evidence", "attempts")
#: The newest revision: opening a store migrates to it (0005 added the inventory).
HEAD = HEAD_REVISION


# --- helpers -------------------------------------------------------------------------------


def _engine(url: str) -> Engine:
    """An engine set up as the store sets up its own (SQLite: foreign keys on, transactional)."""
    parsed = _with_driver(make_url(url))
    engine = create_engine(parsed)
    if parsed.get_backend_name() == "sqlite":
        _use_transactional_sqlite(engine)
    return engine


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            config = _alembic_config(_with_driver(make_url(url)))
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)
    finally:
        engine.dispose()


def _plain(value: Any) -> Any:
    # SQLite gives back naive UTC, PostgreSQL aware datetimes: compare them as UTC.
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _rows_0003(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of the 0003 tables, keyed by scan and position instead of surrogate ids."""
    engine = _engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine, only=OLD_TABLES)
        devices = meta.tables["devices"]
        with engine.connect() as connection:
            where = {
                row.id: (row.scan_id, row.position)
                for row in connection.execute(
                    select(devices.c.id, devices.c.scan_id, devices.c.position)
                )
            }
            rows: dict[str, list[dict[str, Any]]] = {}
            for name in OLD_TABLES:
                found = []
                for row in connection.execute(select(meta.tables[name])).mappings():
                    values = {key: _plain(value) for key, value in row.items() if key != "id"}
                    if "device_id" in values:
                        values["device_id"] = where[values["device_id"]]
                    found.append(values)
                rows[name] = sorted(found, key=repr)
        return rows
    finally:
        engine.dispose()


def _copy_rows(source: str, target: str) -> None:
    """Copy every row of the 0003 tables (ids included) from one database to another."""
    source_engine, target_engine = _engine(source), _engine(target)
    try:
        source_meta, target_meta = MetaData(), MetaData()
        source_meta.reflect(source_engine, only=OLD_TABLES)
        target_meta.reflect(target_engine, only=OLD_TABLES)
        with source_engine.connect() as reading, target_engine.begin() as writing:
            for name in OLD_TABLES:  # parents first
                rows = reading.execute(select(source_meta.tables[name])).mappings()
                values = [{key: _plain(value) for key, value in row.items()} for row in rows]
                writing.execute(target_meta.tables[name].insert(), values)
    finally:
        source_engine.dispose()
        target_engine.dispose()


def _assert_documents_are_the_old_ones(url: str) -> None:
    # The stored 1.2 documents read as the current contract reads them (1.3: upgraded).
    current = {scan_id: upgrade_document(document) for scan_id, document in EXPECTED.items()}
    with open_store(url) as store:
        for scan_id, expected in current.items():
            assert store.load(scan_id).model_dump(mode="json") == expected, scan_id
        listed = {section.id: section.model_dump(mode="json") for section in store.list_scans(None)}
    assert listed == {scan_id: document["scan"] for scan_id, document in current.items()}


def _assert_rows_are_what_the_store_writes(url: str) -> None:
    """The migrated rows equal what Store.save would write for the same documents."""
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            for scan_id, expected in EXPECTED.items():
                # The migration keeps the 1.2 documents as written (they are upgraded on
                # reading); the index columns are those of the document as read.
                document = from_contract(expected)
                scan = connection.execute(
                    select(ScanRow.__table__).where(ScanRow.id == scan_id)
                ).one()
                assert scan.schema_version == expected["schema_version"]
                assert scan.document == expected["scan"]
                index = index_columns(document.scan, ScanRow)
                assert {key: _plain(getattr(scan, key)) for key in index} == index
                devices = connection.execute(
                    select(DeviceRow.__table__)
                    .where(DeviceRow.scan_id == scan_id)
                    .order_by(DeviceRow.position)
                ).all()
                assert [device.position for device in devices] == list(range(len(devices)))
                for device, entry, written in zip(
                    devices, document.devices, expected["devices"], strict=True
                ):
                    _assert_row(device, entry, DeviceRow)
                    assert device.document == written
                    findings = connection.execute(
                        select(FindingRow.__table__)
                        .where(FindingRow.device_id == device.id)
                        .order_by(FindingRow.position)
                    ).all()
                    assert len(findings) == len(entry.findings)
                    for finding, finding_entry in zip(findings, entry.findings, strict=True):
                        _assert_row(finding, finding_entry, FindingRow)
    finally:
        engine.dispose()


def _assert_row(row: Any, entry: DeviceEntry | FindingEntry, row_type: Any) -> None:
    index = index_columns(entry, row_type)
    assert {key: getattr(row, key) for key in index} == index


def _version(url: str) -> str | None:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            version: str | None = connection.execute(
                text("SELECT version_num FROM alembic_version")
            ).scalar()
            return version
    finally:
        engine.dispose()


# --- the databases: the old file on SQLite, the same rows on PostgreSQL ---------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def make_database(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Makes new, empty databases on one backend."""
    if request.param == "postgresql":
        make: Callable[[], str] = request.getfixturevalue("make_postgres_database")
        return make
    names = iter(range(1_000))
    return lambda: normalise_db_arg(str(tmp_path / f"db{next(names)}.db"))


@pytest.fixture
def old_database(make_database: Callable[[], str], tmp_path: Path) -> str:
    """A database as the previous release left it: the committed file, or its rows."""
    copy = tmp_path / "store_0003.db"
    shutil.copyfile(OLD_DB, copy)
    old = normalise_db_arg(str(copy))
    url = make_database()
    if url.startswith("sqlite"):
        return old  # the file itself
    # HEAD's schema up to 0003, then the rows the old release wrote, as it wrote them.
    _migrate(url, "0003")
    _copy_rows(old, url)
    return url


# --- the tests -----------------------------------------------------------------------------


def test_the_old_database_is_at_0003_with_every_kind_of_value(old_database: str) -> None:
    assert _version(old_database) == "0003"
    rows = _rows_0003(old_database)
    assert {name: len(found) for name, found in rows.items()} == {
        "scans": 4,
        "devices": 15,
        "findings": 88,
        "evidence": 165,
        "attempts": 26,
    }
    devices = [device for document in EXPECTED.values() for device in document["devices"]]
    for key in ("phones_home", "vulnerabilities", "exposure", "remediation", "conflicts"):
        assert any(device[key] for device in devices), key
    assert any(f["scope_note"].startswith("Context only") for d in devices for f in d["findings"])
    assert any(len(device["firmware"] or "") > 3000 for device in devices)


def test_upgrade_keeps_every_document(old_database: str) -> None:
    # When a database written by the previous release is opened (which migrates it)
    _assert_documents_are_the_old_ones(old_database)
    # Then it is at the newest revision, the old tables are gone, and the rows are those a
    # save would write
    assert _version(old_database) == HEAD
    engine = _engine(old_database)
    try:
        assert {"evidence", "attempts"}.isdisjoint(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    _assert_rows_are_what_the_store_writes(old_database)


def test_an_upgraded_store_takes_new_scans(old_database: str) -> None:
    golden = from_contract(EXPECTED["20260101T120000Z-3f2a"])
    copy = golden.model_copy(update={"scan": golden.scan.model_copy(update={"id": "after-0004"})})
    with open_store(old_database) as store:
        store.save_document(copy)
        assert store.load("after-0004") == copy
        assert len(store.list_scans(None)) == len(EXPECTED) + 1


def test_downgrade_gives_back_the_0003_rows(old_database: str) -> None:
    before = _rows_0003(old_database)
    open_store(old_database).close()  # up to the newest revision
    _migrate(old_database, "0003", down=True)
    assert _version(old_database) == "0003"
    assert _rows_0003(old_database) == before
    # and up again: still the same documents
    _assert_documents_are_the_old_ones(old_database)


def _schema(url: str) -> dict[str, Any]:
    engine = _engine(url)
    try:
        inspector = inspect(engine)
        described: dict[str, Any] = {}
        for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
            described[table] = {
                "columns": sorted(
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in inspector.get_columns(table)
                ),
                "pk": inspector.get_pk_constraint(table)["constrained_columns"],
                "fks": sorted(
                    (fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"])
                    for fk in inspector.get_foreign_keys(table)
                ),
                "indexes": sorted(
                    (ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                    for ix in inspector.get_indexes(table)
                ),
                "unique": sorted(
                    (uq["name"], tuple(uq["column_names"]))
                    for uq in inspector.get_unique_constraints(table)
                ),
            }
        return described
    finally:
        engine.dispose()


def test_downgrade_gives_back_the_0003_schema(make_database: Callable[[], str]) -> None:
    reference, round_trip = make_database(), make_database()
    _migrate(reference, "0003")
    _migrate(round_trip, "0004")
    _migrate(round_trip, "0003", down=True)
    assert _schema(round_trip) == _schema(reference)
