"""The scan store on real SQLite files: migrations, round trips and clear errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from provscan.errors import StoreError
from provscan.report.contract import (
    DeviceEntry,
    FindingEntry,
    ScanDocument,
    ScanSection,
    from_contract,
    to_domain,
)
from provscan.store.db import (
    _DEVICE_BATCH,
    ALEMBIC_INI,
    HEAD_REVISION,
    MIGRATIONS_DIR,
    _with_driver,
    default_db_url,
    normalise_db_arg,
    open_store,
)
from provscan.store.models import (
    INVENTORY_SCAN_COLUMNS,
    STRUCTURE_COLUMNS,
    Base,
    DeviceRow,
    FindingRow,
    ScanRow,
)

GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "scan_v1.json"
#: The tables at head: since migration 0004 evidence and attempts live in the device documents;
#: 0005 added the inventory and the cases.
TABLES = {
    "scans",
    "devices",
    "findings",
    "inventory",
    "sightings",
    "cases",
    "case_events",
    "store_meta",
    "users",
    "api_tokens",
    "sessions",
    "audit_log",
}
#: Every table any migration ever made (0001-0003 also had evidence and attempts).
EVERY_TABLE = TABLES | {"evidence", "attempts"}


@pytest.fixture
def golden_document() -> ScanDocument:
    return from_contract(GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return normalise_db_arg(str(tmp_path / "scans.db"))


def test_save_then_load_gives_back_the_same_contract(
    golden_document: ScanDocument, db_url: str
) -> None:
    with open_store(db_url) as store:
        scan_id = store.save(to_domain(golden_document))
        loaded = store.load(scan_id)
    assert scan_id == golden_document.scan.id
    assert loaded == golden_document
    assert loaded.model_dump_json() == golden_document.model_dump_json()


def test_a_database_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    # --db never creates directories: a typo must not leave a tree behind (issue 9).
    path = tmp_path / "nested" / "dir" / "fresh.db"
    with pytest.raises(StoreError, match="does not exist"):
        open_store(normalise_db_arg(str(path)))
    assert not (tmp_path / "nested").exists()


def test_a_new_database_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "private.db"
    open_store(normalise_db_arg(str(path))).close()
    assert path.stat().st_mode & 0o777 == 0o600


def test_migrations_create_every_table_on_a_fresh_file(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    open_store(normalise_db_arg(str(path))).close()
    engine = create_engine(f"sqlite:///{path}")
    try:
        assert TABLES | {"alembic_version"} <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert version == HEAD_REVISION
            # the hand-written migration and the ORM models describe the same schema
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_the_initial_migration_downgrades_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "down.db"
    open_store(normalise_db_arg(str(path))).close()
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{path}")
    command.downgrade(config, "base")
    engine = create_engine(f"sqlite:///{path}")
    try:
        assert not EVERY_TABLE & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    # and the store comes back on the next open
    open_store(normalise_db_arg(str(path))).close()


def test_opening_twice_is_idempotent_and_keeps_data(
    golden_document: ScanDocument, db_url: str
) -> None:
    with open_store(db_url) as store:
        store.save_document(golden_document)
    with open_store(db_url) as store:
        assert store.load(golden_document.scan.id) == golden_document
        assert [scan.id for scan in store.list_scans()] == [golden_document.scan.id]


def test_list_scans_is_newest_first_and_limited(golden_document: ScanDocument, db_url: str) -> None:
    result = to_domain(golden_document)
    with open_store(db_url) as store:
        for hour in range(3):
            info = replace(
                result.info,
                scan_id=f"scan-{hour}",
                started_at=result.info.started_at + timedelta(hours=hour),
            )
            store.save(replace(result, info=info))
        assert [scan.id for scan in store.list_scans(limit=2)] == ["scan-2", "scan-1"]
        assert len(store.list_scans(limit=None)) == 3
        newest = store.list_scans(limit=1)[0]
        assert newest.devices_found == 2
        assert newest.restricted_count == 1
        assert newest.started_at == golden_document.scan.started_at + timedelta(hours=2)


def test_a_scan_id_is_stored_only_once(golden_document: ScanDocument, db_url: str) -> None:
    with open_store(db_url) as store:
        store.save_document(golden_document)
        with pytest.raises(StoreError, match="already stored"):
            store.save_document(golden_document)
        # the failed save left the first copy intact
        assert store.load(golden_document.scan.id) == golden_document


def test_loading_an_unknown_scan_is_a_store_error(db_url: str) -> None:
    with open_store(db_url) as store, pytest.raises(StoreError, match="no scan 'nope'"):
        store.load("nope")


def test_a_path_that_cannot_be_created_is_a_store_error(tmp_path: Path) -> None:
    # Given a regular file where a directory would have to be
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(StoreError, match="does not exist"):
        open_store(normalise_db_arg(str(blocker / "sub" / "scans.db")))


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="it is a directory"):
        open_store(normalise_db_arg(str(tmp_path)))


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not the bytes of a SQLite database\n" * 200)
    with pytest.raises(StoreError, match="not a database"):
        open_store(normalise_db_arg(str(path)))


@pytest.mark.parametrize("url", ["://nowhere", "postgresql://localhost:notaport/provscan"])
def test_a_malformed_url_is_a_store_error(url: str) -> None:
    with pytest.raises(StoreError, match="not a valid database URL"):
        normalise_db_arg(url)
    with pytest.raises(StoreError, match="not a valid database URL"):
        open_store(url)


def test_an_unknown_driver_is_a_store_error_without_the_password() -> None:
    # No connection is attempted: the driver lookup fails first.
    with pytest.raises(StoreError) as caught:
        open_store("nosuchdialect://scanner:s3cret@localhost/provscan")
    assert "s3cret" not in str(caught.value)
    assert "scanner:***@localhost" in str(caught.value)


def test_normalise_db_arg_turns_paths_into_sqlite_urls(tmp_path: Path) -> None:
    assert normalise_db_arg(str(tmp_path / "a.db")) == f"sqlite:///{tmp_path / 'a.db'}"
    assert normalise_db_arg("postgresql://localhost/provscan") == "postgresql://localhost/provscan"


def test_default_db_url_lives_in_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    expected = tmp_path / "data" / "provscan" / "provscan.db"
    assert default_db_url() == f"sqlite:///{expected}"
    assert expected.parent.is_dir()
    assert normalise_db_arg(None) == default_db_url()


def test_a_document_comes_back_exactly_as_saved(db_url: str) -> None:
    # Given a document read from a report written elsewhere, with a non-UTC offset
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    data["scan"]["id"] = "offset"
    data["scan"]["started_at"] = "2026-01-01T14:00:00+02:00"
    document = from_contract(data)
    with open_store(db_url) as store:
        store.save_document(document)
        loaded = store.load("offset")
        listed = store.list_scans()
    # Then loading gives back that document, byte for byte, and the index still sorts in UTC
    assert loaded.model_dump_json() == document.model_dump_json()
    assert listed[0].started_at.utcoffset() == timedelta(hours=2)


def test_the_head_revision_the_store_trusts_is_the_newest_migration() -> None:
    # open_store skips Alembic when a store is at HEAD_REVISION: it must be the real head.
    from alembic.script import ScriptDirectory

    from provscan.store.db import ALEMBIC_INI, MIGRATIONS_DIR
    from provscan.store.db import _alembic_config as config

    assert ALEMBIC_INI.exists()
    script = ScriptDirectory.from_config(config(make_url("sqlite://")))
    assert script.dir == str(MIGRATIONS_DIR)
    assert script.get_current_head() == HEAD_REVISION


def test_every_index_column_copies_a_contract_field() -> None:
    # The rows hold documents; their other columns are named after the fields they copy.
    for row_type, entry_type in (
        (ScanRow, ScanSection),
        (DeviceRow, DeviceEntry),
        (FindingRow, FindingEntry),
    ):
        columns = (
            set(row_type.__table__.columns.keys()) - STRUCTURE_COLUMNS - INVENTORY_SCAN_COLUMNS
        )
        assert columns, row_type
        assert columns <= set(entry_type.model_fields), row_type


def _many_devices(golden: ScanDocument, count: int) -> ScanDocument:
    """The golden scan with ``count`` devices: its devices again at other addresses, each
    with 0, 1 or 2 of the first device's findings (a finding filed under the wrong device
    shows as a wrong count)."""
    findings = golden.devices[0].findings
    devices = [
        golden.devices[index % len(golden.devices)].model_copy(
            update={
                "ip": f"127.1.{index // 250}.{index % 250 + 1}",
                "findings": findings[: index % 3],
            }
        )
        for index in range(count)
    ]
    scan = golden.scan.model_copy(
        update={
            "id": "many",
            "devices_found": count,
            "restricted_count": sum(device.restricted for device in devices),
        }
    )
    return golden.model_copy(update={"scan": scan, "devices": devices})


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_scan_of_several_write_batches_is_stored_whole(
    backend: str,
    golden_document: ScanDocument,
    db_url: str,
    make_postgres_database: Callable[[], str],
) -> None:
    # Given a scan of more devices than the store writes at once (issue 14: bulk inserts)
    url = make_postgres_database() if backend == "postgresql" else db_url
    document = _many_devices(golden_document, 2 * _DEVICE_BATCH + 3)
    with open_store(url) as store:
        store.save_document(document)
        loaded = store.load("many")
        sightings = store.sightings("many")
        inventory = store.inventory()
    # Then it comes back exactly, every device is in the inventory once ...
    assert loaded.model_dump_json() == document.model_dump_json()
    assert sorted(sightings) == list(range(len(document.devices)))
    assert len({device_id for device_id, _ in sightings.values()}) == len(document.devices)
    assert len(inventory) == len(document.devices)
    # ... and each finding is indexed under its own device, in its order
    engine = create_engine(_with_driver(make_url(url)))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(DeviceRow.position, FindingRow.position, FindingRow.policy)
                .join(FindingRow, FindingRow.device_id == DeviceRow.id)
                .where(DeviceRow.scan_id == "many")
            ).all()
    finally:
        engine.dispose()
    indexed = sorted((device, finding, policy) for device, finding, policy in rows)
    expected = [
        (device_position, finding_position, finding.policy)
        for device_position, device in enumerate(document.devices)
        for finding_position, finding in enumerate(device.findings)
    ]
    assert indexed == expected
