"""Opening the scan database, migrating it, and moving scans in and out of it.

A store is addressed by a SQLAlchemy URL. SQLite files are the default; PostgreSQL works
with the same migrations. Every failure reaches the caller as a :class:`StoreError` whose
message names the database (without its password) and the reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

import platformdirs
from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from provscan.errors import StoreError
from provscan.model import ScanResult
from provscan.report.contract import ScanDocument, ScanSection, from_contract, to_contract
from provscan.report.files import PRIVATE_FILE_MODE
from provscan.store.models import STRUCTURE_COLUMNS, Base, DeviceRow, FindingRow, ScanRow

APP_NAME = "provscan"
DEFAULT_DB_FILENAME = "provscan.db"
_STORE_DIR = Path(__file__).resolve().parent
ALEMBIC_INI = _STORE_DIR / "alembic.ini"
MIGRATIONS_DIR = _STORE_DIR / "migrations"
#: Scans listed when the caller does not say how many.
DEFAULT_LIST_LIMIT = 20


# --- addressing ------------------------------------------------------------------------


def _sqlite_url(path: Path) -> str:
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def default_db_url() -> str:
    """``sqlite:///…/provscan.db`` in the user's data directory, which is created if needed."""
    directory = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the data directory {directory}: {exc.strerror or exc}"
        ) from exc
    return _sqlite_url(directory / DEFAULT_DB_FILENAME)


def normalise_db_arg(arg: str | None) -> str:
    """Turn a ``--db`` argument into a URL: none → default, a path → SQLite, a URL → as is."""
    if arg is None or not arg.strip():
        return default_db_url()
    if "://" in arg:
        _parse_url(arg)  # reject a malformed URL here, with a clear message
        return arg
    if arg == ":memory:":
        return "sqlite://"
    return _sqlite_url(Path(arg).expanduser().resolve())


def _parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: e.g. a non-numeric port
        raise StoreError(f"not a valid database URL or path: {url!r}") from exc


#: ``postgresql://`` names no driver; SQLAlchemy would pick psycopg2, but the documented
#: extra (``provscan[postgres]``) installs psycopg 3, the maintained one.
_DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


def _with_driver(url: URL) -> URL:
    driver = _DEFAULT_DRIVERS.get(url.drivername)
    return url.set(drivername=driver) if driver else url


def _display(url: URL) -> str:
    if url.get_backend_name() == "sqlite" and url.database:
        return url.database
    return url.render_as_string(hide_password=True)


# --- opening and migrating -------------------------------------------------------------


def _is_sqlite_file(url: URL) -> bool:
    database = url.database
    return (
        url.get_backend_name() == "sqlite"
        and bool(database)
        and database != ":memory:"
        and not str(database).startswith("file:")
    )


def _prepare_sqlite_file(url: URL) -> None:
    path = Path(str(url.database))
    if path.is_dir():
        raise StoreError(f"cannot use {path} as a database: it is a directory")
    if not path.parent.is_dir():
        # A typo in --db must not leave a tree of directories behind: only the default
        # data directory is created (by default_db_url), a user's path must exist.
        raise StoreError(f"cannot create database {path}: directory {path.parent} does not exist")
    try:
        # Created private before SQLite opens it (SQLite gives its journal the same mode):
        # the store maps an organisation's weak devices.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreError(f"cannot create database {path}: {exc.strerror or exc}") from exc
    os.close(descriptor)


def _use_transactional_sqlite(engine: Engine) -> None:
    # pysqlite opens transactions lazily and not for DDL; SQLAlchemy's documented recipe
    # hands BEGIN to SQLAlchemy so that a failed migration rolls back as a whole, and lets
    # PRAGMA foreign_keys (a no-op inside a transaction) take effect for ON DELETE CASCADE.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def _alembic_config(url: URL) -> Config:
    config = Config(str(ALEMBIC_INI))
    # Absolute paths: migrations must not depend on the current directory.
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # configparser interpolates '%'; the URL stays in memory and is never written out.
    config.set_main_option(
        "sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def open_store(url: str | None = None) -> Store:
    """Open (creating if needed) the store at ``url`` and migrate it to the newest schema.

    ``url`` is a SQLAlchemy URL (see :func:`normalise_db_arg`); None means the default.
    Running it again on a migrated database changes nothing.
    """
    parsed = _with_driver(_parse_url(url if url is not None else default_db_url()))
    shown = _display(parsed)
    sqlite = parsed.get_backend_name() == "sqlite"
    if _is_sqlite_file(parsed):
        _prepare_sqlite_file(parsed)
    try:
        engine = create_engine(parsed)
    except ImportError as exc:
        hint = " (pip install 'provscan[postgres]')" if "postgres" in parsed.drivername else ""
        raise StoreError(f"cannot open database {shown}: no driver{hint}: {exc}") from exc
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StoreError(f"cannot open database {shown}: {exc}") from exc
    if sqlite:
        _use_transactional_sqlite(engine)
    try:
        with engine.begin() as connection:
            config = _alembic_config(parsed)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except CommandError as exc:
        engine.dispose()
        raise StoreError(
            f"database {shown} has a schema this provscan does not know "
            f"(written by a newer version?): {exc}"
        ) from exc
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = getattr(exc, "orig", None) or exc
        raise StoreError(f"cannot open database {shown}: {reason}") from exc
    return Store(engine, shown)


# --- the store -------------------------------------------------------------------------


@cache
def _index_names(row_type: type[Base]) -> tuple[str, ...]:
    return tuple(
        column.key
        for column in inspect(row_type).column_attrs
        if column.key not in STRUCTURE_COLUMNS
    )


def index_columns(entry: BaseModel, row_type: type[Base]) -> dict[str, Any]:
    """The query columns of a row, copied from the contract entry the row stores.

    Every column of ``row_type`` that is not structure (key, order, document) is the entry's
    field of the same name; timestamps are indexed in UTC. This is the only mapping between
    entries and rows: a new query column is a new column in :mod:`provscan.store.models`.
    """
    values = {name: getattr(entry, name) for name in _index_names(row_type)}
    return {
        name: value.astimezone(UTC) if isinstance(value, datetime) else value
        for name, value in values.items()
    }


def _scan_row(document: ScanDocument) -> ScanRow:
    return ScanRow(
        id=document.scan.id,
        schema_version=document.schema_version,
        document=document.scan.model_dump(mode="json"),
        **index_columns(document.scan, ScanRow),
        devices=[
            DeviceRow(
                position=position,
                document=device.model_dump(mode="json"),
                **index_columns(device, DeviceRow),
                findings=[
                    FindingRow(position=index, **index_columns(finding, FindingRow))
                    for index, finding in enumerate(device.findings)
                ],
            )
            for position, device in enumerate(document.devices)
        ],
    )


def _scan_section(document: dict[str, Any]) -> ScanSection:
    # Stored as JSON: read with the contract's JSON rules (ISO timestamps), as from_contract.
    return ScanSection.model_validate_json(json.dumps(document))


class Store:
    """Saved scans. Use :func:`open_store` to get one; close it (or use ``with``) when done."""

    def __init__(self, engine: Engine, display_name: str) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.display_name = display_name

    def save(self, result: ScanResult) -> str:
        """Store a scan; returns its id. A scan id can be stored only once."""
        return self.save_document(to_contract(result))

    def save_document(self, document: ScanDocument) -> str:
        """Store a contract document (e.g. one read back from a JSON report)."""
        scan_id = document.scan.id
        try:
            with self._sessions.begin() as session:
                session.add(_scan_row(document))
        except IntegrityError as exc:
            raise StoreError(f"scan {scan_id} is already stored in {self.display_name}") from exc
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            raise StoreError(
                f"cannot save scan {scan_id} to {self.display_name}: {reason}"
            ) from exc
        return scan_id

    @contextmanager
    def _reading(self, what: str) -> Iterator[Session]:
        try:
            with self._sessions() as session:
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read {what} from {self.display_name}: {exc}") from exc
        except ValidationError as exc:
            raise StoreError(
                f"{what} in {self.display_name} does not fit the contract: {exc}"
            ) from exc

    def list_scans(self, limit: int | None = DEFAULT_LIST_LIMIT) -> list[ScanSection]:
        """The newest scans first (by start time), at most ``limit`` (None: all)."""
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")
        query = select(ScanRow.document).order_by(ScanRow.started_at.desc(), ScanRow.id)
        with self._reading("scans") as session:
            return [_scan_section(document) for document in session.scalars(query.limit(limit))]

    def load(self, scan_id: str) -> ScanDocument:
        """A stored scan: exactly the contract document it was saved from."""
        devices = (
            select(DeviceRow.document)
            .where(DeviceRow.scan_id == scan_id)
            .order_by(DeviceRow.position)
        )
        with self._reading(f"scan {scan_id}") as session:
            row = session.get(ScanRow, scan_id)
            if row is None:
                raise StoreError(f"no scan {scan_id!r} in {self.display_name}")
            return from_contract(
                {
                    "schema_version": row.schema_version,
                    "scan": row.document,
                    "devices": list(session.scalars(devices)),
                }
            )

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
