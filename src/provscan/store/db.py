"""Opening the scan database, migrating it, and moving scans in and out of it.

A store is addressed by a SQLAlchemy URL. SQLite files are the default; PostgreSQL works
with the same migrations. Every failure reaches the caller as a :class:`StoreError` whose
message names the database (without its password) and the reason.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import platformdirs
from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from pydantic import ValidationError
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import selectinload, sessionmaker

from provscan.errors import StoreError
from provscan.model import AttemptStatus, ScanResult
from provscan.report.contract import (
    SCHEMA_VERSION,
    AttemptEntry,
    DeviceEntry,
    EvidenceEntry,
    ExposureEntry,
    FindingEntry,
    PhoneHomeEntry,
    RemediationEntry,
    ScanDocument,
    ScanSection,
    VulnerabilityEntry,
    to_contract,
)
from provscan.report.files import PRIVATE_FILE_MODE
from provscan.store.models import (
    AttemptRow,
    DeviceRow,
    EvidenceRow,
    FindingRow,
    ScanRow,
)

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


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; the store writes UTC only.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _scan_row(document: ScanDocument) -> ScanRow:
    return ScanRow(
        schema_version=document.schema_version,
        **document.scan.model_dump(),
        devices=[
            DeviceRow(
                position=position,
                **device.model_dump(exclude=set(_DEVICE_CHILDREN | _POSTURE_LISTS)),
                phones_home=[contact.model_dump(mode="json") for contact in device.phones_home],
                vulnerabilities=[item.model_dump(mode="json") for item in device.vulnerabilities],
                exposure=[item.model_dump(mode="json") for item in device.exposure],
                remediation=[item.model_dump(mode="json") for item in device.remediation],
                findings=[
                    FindingRow(position=index, **finding.model_dump())
                    for index, finding in enumerate(device.findings)
                ],
                evidence=[
                    EvidenceRow(
                        position=index,
                        observed_field=evidence.field,
                        **evidence.model_dump(exclude={"field"}),
                    )
                    for index, evidence in enumerate(device.evidence)
                ],
                attempts=[
                    AttemptRow(position=index, **attempt.model_dump(mode="json"))
                    for index, attempt in enumerate(device.attempts)
                ],
            )
            for position, device in enumerate(document.devices)
        ],
    )


def _columns(row: object, names: Any, *, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names if name not in skip}


def _scan_section(row: ScanRow) -> ScanSection:
    values = _columns(row, ScanSection.model_fields)
    values["started_at"] = _aware(row.started_at)
    values["finished_at"] = _aware(row.finished_at) if row.finished_at is not None else None
    return ScanSection(**values)


_DEVICE_CHILDREN = frozenset({"findings", "evidence", "attempts", "phones_home"})
#: Contract 1.2 posture lists, stored as JSON columns of the device row.
_POSTURE_LISTS = frozenset({"vulnerabilities", "exposure", "remediation"})


def _device_entry(row: DeviceRow) -> DeviceEntry:
    return DeviceEntry(
        **_columns(row, DeviceEntry.model_fields, skip=_DEVICE_CHILDREN | _POSTURE_LISTS),
        findings=[
            FindingEntry(**_columns(finding, FindingEntry.model_fields)) for finding in row.findings
        ],
        evidence=[
            EvidenceEntry(
                field=evidence.observed_field,
                **_columns(evidence, EvidenceEntry.model_fields, skip=frozenset({"field"})),
            )
            for evidence in row.evidence
        ],
        attempts=[
            AttemptEntry(
                status=AttemptStatus(attempt.status),
                **_columns(attempt, AttemptEntry.model_fields, skip=frozenset({"status"})),
            )
            for attempt in row.attempts
        ],
        # Stored as JSON text: the ISO time goes through JSON-mode (non-strict) validation.
        phones_home=[
            PhoneHomeEntry.model_validate_json(json.dumps(contact))
            for contact in row.phones_home or []
        ],
        vulnerabilities=[
            VulnerabilityEntry.model_validate_json(json.dumps(item))
            for item in row.vulnerabilities or []
        ],
        exposure=[
            ExposureEntry.model_validate_json(json.dumps(item)) for item in row.exposure or []
        ],
        remediation=[
            RemediationEntry.model_validate_json(json.dumps(item)) for item in row.remediation or []
        ],
    )


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

    def list_scans(self, limit: int | None = DEFAULT_LIST_LIMIT) -> list[ScanSection]:
        """The newest scans first (by start time), at most ``limit`` (None: all)."""
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")
        query = select(ScanRow).order_by(ScanRow.started_at.desc(), ScanRow.id).limit(limit)
        try:
            with self._sessions() as session:
                return [_scan_section(row) for row in session.scalars(query)]
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read scans from {self.display_name}: {exc}") from exc

    def load(self, scan_id: str) -> ScanDocument:
        """A stored scan as the contract document it was saved from."""
        query = (
            select(ScanRow)
            .where(ScanRow.id == scan_id)
            .options(
                selectinload(ScanRow.devices).selectinload(DeviceRow.findings),
                selectinload(ScanRow.devices).selectinload(DeviceRow.evidence),
                selectinload(ScanRow.devices).selectinload(DeviceRow.attempts),
            )
        )
        try:
            with self._sessions() as session:
                row = session.scalars(query).one_or_none()
                if row is None:
                    raise StoreError(f"no scan {scan_id!r} in {self.display_name}")
                return ScanDocument(
                    schema_version=SCHEMA_VERSION,
                    scan=_scan_section(row),
                    devices=[_device_entry(device) for device in row.devices],
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read scan {scan_id} from {self.display_name}: {exc}") from exc
        except ValidationError as exc:
            raise StoreError(
                f"scan {scan_id} in {self.display_name} does not fit the contract: {exc}"
            ) from exc

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
