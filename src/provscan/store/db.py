"""Opening the scan database, migrating it, and moving scans in and out of it.

A store is addressed by a SQLAlchemy URL. SQLite files are the default; PostgreSQL works
with the same migrations. Every failure reaches the caller as a :class:`StoreError` whose
message names the database (without its password) and the reason.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

    from provscan.store.views import StoredSighting

from provscan import paths
from provscan.errors import StoreError, StoreRequestError, StoreRequestRefused
from provscan.model import ScanResult
from provscan.report.contract import (
    ScanDocument,
    ScanSection,
    from_contract,
    to_contract_parts,
)
from provscan.report.files import PRIVATE_FILE_MODE
from provscan.store import captures as stored_files
from provscan.store import events
from provscan.store.captures import Capture, StoredCapture
from provscan.store.cases import STATES as CASE_STATES
from provscan.store.cases import (
    Case,
    CaseDevice,
    CaseSettings,
    ReopenedCase,
    after_ingest,
    case_devices,
    reopened_by,
    to_case,
)
from provscan.store.cases import update as update_case
from provscan.store.history import History, inventory_history
from provscan.store.inventory import (
    DEFAULT_GONE_AFTER,
    STATUSES,
    Sighting,
    ingest,
    lock_inventory,
    silent_scan_misses,
    stored_sightings,
)
from provscan.store.models import (
    INVENTORY_SCAN_COLUMNS,
    STRUCTURE_COLUMNS,
    Base,
    CaseEventRow,
    CaseRow,
    DeviceRow,
    FindingRow,
    InventoryRow,
    ScanRow,
    SightingRow,
    insert_rows,
)
from provscan.store.pages import (
    CasePage,
    PageFilters,
    PageWindow,
    TrendPoint,
    case_counts,
    cases_page,
    choices,
    current_by_jurisdiction,
    dashboard,
    device_places,
    inventory_count,
    inventory_page,
    inventory_window,
    record_totals,
    trend_points,
)
from provscan.store.remaining import remaining_devices
from provscan.store.screenings import Screenings
from provscan.store.sensors import Fleet, SiteRow
from provscan.store.users import Accounts, audit_entry
from provscan.store.views import (
    Absence,
    InventoryDevice,
    ScanDiff,
    ScanSummary,
    VerdictSighting,
    absence,
    cases_by_device,
    device_view,
    diff,
    find_scan,
    first_scan_diff,
    inventory_json,
    inventory_json_fragments,
    inventory_rows,
    newest_first_scan,
    pick_pair,
    summary,
    verdict_sighting,
)

# The default location (provscan.paths, a light module the commands use too).
APP_NAME = paths.APP_NAME
DEFAULT_DB_FILENAME = paths.DEFAULT_DB_FILENAME
default_db_path = paths.default_db_path
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
    directory = paths.data_dir()
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
        # A writing transaction takes the write lock at once (BEGIN IMMEDIATE): two writers
        # that both read first would otherwise deadlock, and SQLite fails one at once
        # ("database is locked") instead of letting it wait for the busy timeout.
        writing = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


#: Execution option of the engine that writing transactions use (see _on_begin).
_WRITE_OPTION = "provscan_write"
#: Alembic's migration context is process-global: stores opened at once in several threads
#: migrate one after another.
_MIGRATING = threading.Lock()
#: PostgreSQL advisory lock key held while migrating ("provscan" in ASCII, truncated).
_MIGRATION_LOCK_ID = 0x70726F7673


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


#: The newest migration; a store already there is opened without loading Alembic's scripts
#: (tests/store/test_store.py checks it against the migrations directory).
HEAD_REVISION = "0013"


def _revision(engine: Engine) -> str | None:
    """The store's migration revision, or None when it has none yet (a new database) or
    cannot be read (then the migration step reports why)."""
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            value = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            return str(value) if value is not None else None
    except SQLAlchemyError:
        return None


def _migrate(engine: Engine, parsed: URL, shown: str) -> None:
    # Alembic is imported here: a store already at the head never needs it (~0.1 s).
    from alembic import command
    from alembic.util.exc import CommandError

    try:
        with _MIGRATING, engine.execution_options(**{_WRITE_OPTION: True}).begin() as connection:
            if parsed.get_backend_name() == "postgresql":
                # Processes opening a new database at once migrate one after another.
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})")
            config = _alembic_config(parsed)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except CommandError as exc:
        raise StoreError(
            f"database {shown} has a schema this provscan does not know "
            f"(written by a newer version?): {exc}"
        ) from exc


def _alembic_config(url: URL) -> Config:
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    # Absolute paths: migrations must not depend on the current directory.
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # configparser interpolates '%'; the URL stays in memory and is never written out.
    config.set_main_option(
        "sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def empty_server_database(url: str) -> str | None:
    """The shown name of the server database (PostgreSQL) at ``url`` when it holds no
    provscan tables (a new or mistyped database, which :func:`open_store` would fill with
    them), read without changing anything; None when it holds them, is a SQLite file, or
    cannot be reached (``open_store`` then says why)."""
    try:
        parsed = _with_driver(_parse_url(url))
    except StoreError:
        return None
    if parsed.get_backend_name() == "sqlite":
        return None
    try:
        engine = create_engine(parsed)
    except (ImportError, ArgumentError, NoSuchModuleError):
        return None
    try:
        with engine.connect() as connection:
            if inspect(connection).has_table("alembic_version"):
                return None
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    return _display(parsed)


def open_store(url: str | None = None, settings: StoreSettings | None = None) -> Store:
    """Open (creating if needed) the store at ``url`` and migrate it to the newest schema.

    ``url`` is a SQLAlchemy URL (see :func:`normalise_db_arg`); None means the default.
    Running it again on a migrated database changes nothing. Scans stored before the
    inventory existed (or by an interrupted save) are added to it, oldest first.
    """
    parsed = _with_driver(_parse_url(url if url is not None else default_db_url()))
    shown = _display(parsed)
    sqlite = parsed.get_backend_name() == "sqlite"
    if _is_sqlite_file(parsed):
        _prepare_sqlite_file(parsed)
    try:
        # SQLite: a second writer waits for the first (inventory updates are serialised).
        engine = create_engine(
            parsed,
            connect_args={"timeout": 60} if sqlite else {},
            # orjson reads the JSON columns (documents, findings) several times faster.
            json_serializer=_json_text,
            json_deserializer=orjson.loads,
        )
    except ImportError as exc:
        hint = " (pip install 'provscan[postgres]')" if "postgres" in parsed.drivername else ""
        raise StoreError(f"cannot open database {shown}: no driver{hint}: {exc}") from exc
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StoreError(f"cannot open database {shown}: {exc}") from exc
    if sqlite:
        _use_transactional_sqlite(engine)
    try:
        if _revision(engine) != HEAD_REVISION:
            _migrate(engine, parsed, shown)
    except StoreError:
        engine.dispose()
        raise
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = getattr(exc, "orig", None) or exc
        if "file is not a database" in str(reason) or "file is encrypted" in str(reason):
            reason = "the file is not a database provscan can read (not SQLite, or damaged)"
        raise StoreError(f"cannot open database {shown}: {reason}") from exc
    store = Store(engine, shown, settings or StoreSettings())
    try:
        store.catch_up()
    except StoreError:
        store.close()
        raise
    return store


# --- the store -------------------------------------------------------------------------


@cache
def _index_names(row_type: type[Base]) -> tuple[str, ...]:
    return tuple(
        column.key
        for column in inspect(row_type).column_attrs
        if column.key not in STRUCTURE_COLUMNS and column.key not in INVENTORY_SCAN_COLUMNS
    )


def index_columns(entry: BaseModel | Mapping[str, Any], row_type: type[Base]) -> dict[str, Any]:
    """The query columns of a row, copied from the contract entry the row stores.

    Every column of ``row_type`` that is not structure (key, order, document) is the entry's
    field of the same name; timestamps are indexed in UTC. This is the only mapping between
    entries and rows: a new query column is a new column in :mod:`provscan.store.models`.
    ``entry`` may be the JSON form of a device or finding (``model_dump(mode="json")``, what
    a scan is saved from): their query columns hold no timestamps, so both forms give the
    same values.
    """
    if isinstance(entry, Mapping):
        values = {name: entry[name] for name in _index_names(row_type)}
    else:
        values = {name: getattr(entry, name) for name in _index_names(row_type)}
    return {
        name: value.astimezone(UTC) if isinstance(value, datetime) else value
        for name, value in values.items()
    }


#: Devices inserted per batch when a scan is saved: each batch is dumped, written and
#: dropped, so that a capture of thousands of devices is never held as rows at once.
_DEVICE_BATCH = 500


def _insert_devices(
    session: Session, scan_id: str, devices: Iterable[dict[str, Any]]
) -> list[Sighting]:
    """Write a scan's devices (their JSON form, in contract order) and the index of their
    findings with bulk inserts, a batch at a time; returns what the inventory reads of them.

    Bulk inserts build no ORM objects (a capture's devices and findings are tens of
    thousands of rows); the ids of a batch's devices are read back for their findings.
    """
    sightings: list[Sighting] = []
    numbered = enumerate(devices)
    while batch := list(islice(numbered, _DEVICE_BATCH)):
        insert_rows(
            session,
            DeviceRow,
            [
                {
                    "scan_id": scan_id,
                    "position": position,
                    "document": document,
                    **index_columns(document, DeviceRow),
                }
                for position, document in batch
            ],
        )
        ids = session.scalars(
            select(DeviceRow.id)
            .where(DeviceRow.scan_id == scan_id, DeviceRow.position >= batch[0][0])
            .order_by(DeviceRow.position)
        ).all()
        findings = [
            {"device_id": device_id, "position": index, **index_columns(finding, FindingRow)}
            for device_id, (_, document) in zip(ids, batch, strict=True)
            for index, finding in enumerate(document["findings"])
        ]
        insert_rows(session, FindingRow, findings)
        sightings.extend(Sighting.of(position, document) for position, document in batch)
    return sightings


def spelt_otherwise(site: str, known: Iterable[str]) -> str | None:
    """The name among ``known`` that is ``site`` spelt otherwise: equal to it but for case and
    surrounding whitespace (``ottawa`` for ``Ottawa`` or `` ottawa``), not ``site`` itself;
    None when there is none. Site names are kept as given, so such a name is another site."""
    wanted = site.strip().casefold()
    return next(
        (name for name in sorted(known) if name != site and name.strip().casefold() == wanted),
        None,
    )


def _scan_section(document: dict[str, Any]) -> ScanSection:
    # Stored as JSON: read with the contract's JSON rules (ISO timestamps), as from_contract.
    return ScanSection.model_validate_json(json.dumps(document))


@dataclass(frozen=True)
class StoreSettings:
    """Organisation settings the inventory and cases follow (from the user's config)."""

    #: Covering scans in a row that must miss a device before it is ``gone``.
    gone_after: int = DEFAULT_GONE_AFTER
    cases: CaseSettings = field(default_factory=CaseSettings)


@dataclass(frozen=True)
class Together:
    """Parts of the store writing in one transaction (:meth:`Store.together`)."""

    session: Session
    fleet: Fleet
    accounts: Accounts


class Store:
    """Saved scans. Use :func:`open_store` to get one; close it (or use ``with``) when done."""

    def __init__(
        self, engine: Engine, display_name: str, settings: StoreSettings | None = None
    ) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._writes = sessionmaker(
            engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False
        )
        self.display_name = display_name
        self.settings = settings or StoreSettings()

    def save(
        self,
        result: ScanResult,
        *,
        site: str | None = None,
        coverage: Sequence[Sequence[str]] = (),
        captures: Sequence[Capture] = (),
        again: bool = False,
    ) -> str:
        """Store a scan and add it to the inventory; returns its id. A scan id can be stored
        only once. ``coverage`` (see :func:`provscan.store.inventory.coverage_ranges`) is
        what the scan proves absence in; empty for captures, discovery and imports.
        ``captures``: the files the scan was made from, kept by their sha256; one stored
        before is refused (:class:`~provscan.store.captures.CaptureAlreadyStored`, nothing
        written) unless ``again`` (:mod:`provscan.store.captures`).

        The contract document is made a device at a time as it is written (the rows are
        those :meth:`save_document` writes for ``to_contract(result)``)."""
        head, devices = to_contract_parts(result)
        return self.save_parts(
            head, devices, site=site, coverage=coverage, captures=captures, again=again
        )

    def save_parts(
        self,
        head: Mapping[str, Any],
        devices: Iterable[dict[str, Any]],
        *,
        site: str | None = None,
        coverage: Sequence[Sequence[str]] = (),
        captures: Sequence[Capture] = (),
        again: bool = False,
    ) -> str:
        """:meth:`save` given the scan's contract parts, as
        :func:`~provscan.report.contract.to_contract_parts` makes them: for a caller that
        writes the same entries elsewhere too (a JSON report), so each is made once. The
        devices are read a batch at a time, in the transaction."""
        scan: dict[str, Any] = head["scan"]
        return self._save(
            head["schema_version"],
            _scan_section(scan),
            scan,
            devices,
            site,
            coverage,
            captures=captures,
            again=again,
        )

    def save_document(
        self,
        document: ScanDocument,
        *,
        site: str | None = None,
        coverage: Sequence[Sequence[str]] = (),
    ) -> str:
        """Store a contract document (e.g. one read back from a JSON report)."""
        devices = (device.model_dump(mode="json") for device in document.devices)
        scan = document.scan
        return self._save(
            document.schema_version, scan, scan.model_dump(mode="json"), devices, site, coverage
        )

    def _save(
        self,
        schema_version: str,
        scan: ScanSection,
        scan_json: dict[str, Any],
        devices: Iterable[dict[str, Any]],
        site: str | None,
        coverage: Sequence[Sequence[str]],
        *,
        captures: Sequence[Capture] = (),
        again: bool = False,
    ) -> str:
        """Store a scan given as its section and its devices' JSON form (contract order),
        and add it to the inventory, in one transaction."""
        try:
            with self._writes.begin() as session:
                if captures and not again:
                    # Under the inventory's lock, so that two imports of one file at once
                    # store it once.
                    lock_inventory(session)
                    stored_files.refuse_stored(session, captures)
                row = ScanRow(
                    id=scan.id,
                    schema_version=schema_version,
                    document=scan_json,
                    **index_columns(scan, ScanRow),
                    site=site,
                    coverage=[list(pair) for pair in coverage],
                    inventoried=False,
                )
                session.add(row)
                session.flush()
                stored_files.record(session, scan.id, captures)
                self._inventory(session, row, _insert_devices(session, scan.id, devices))
        except IntegrityError as exc:
            if self._stored(scan.id):
                raise StoreError(
                    f"scan {scan.id} is already stored in {self.display_name}"
                ) from exc
            reason = getattr(exc, "orig", None) or exc
            raise StoreError(
                f"cannot save scan {scan.id} to {self.display_name}: {reason}"
            ) from exc
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            raise StoreError(
                f"cannot save scan {scan.id} to {self.display_name}: {reason}"
            ) from exc
        return scan.id

    def _stored(self, scan_id: str) -> bool:
        """Whether a scan with this id is stored (after a failed save: was it a second save
        of the same scan, or something else the database refused?)."""
        try:
            with self._sessions() as session:
                return session.get(ScanRow, scan_id) is not None
        except SQLAlchemyError:
            return False

    def stored_captures(self, digests: Iterable[str]) -> dict[str, StoredCapture]:
        """sha256 -> the earliest stored scan made from a capture file with it, for those
        of ``digests`` stored before (:mod:`provscan.store.captures`)."""
        with self._reading("the stored captures") as session:
            return stored_files.stored_captures(session, digests)

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
        """A stored scan (by id, or a unique prefix of at least six characters): exactly the
        contract document it was saved from."""
        with self._reading(f"scan {scan_id}") as session:
            row = find_scan(session, scan_id, self.display_name)
            devices = (
                select(DeviceRow.document)
                .where(DeviceRow.scan_id == row.id)
                .order_by(DeviceRow.position)
            )
            return from_contract(
                {
                    "schema_version": row.schema_version,
                    "scan": row.document,
                    "devices": list(session.scalars(devices)),
                }
            )

    # --- inventory ----------------------------------------------------------------------

    def _inventory(self, session: Session, row: ScanRow, seen: Sequence[Sighting]) -> None:
        outcome = ingest(session, row, seen, self.settings.gone_after)
        after_ingest(session, row, outcome, self.settings.cases)
        events.record_overdue(session)
        record_totals(session, row, datetime.now(UTC))

    def catch_up(self) -> int:
        """Add scans not yet in the inventory (stored before it existed), oldest first;
        returns how many."""
        pending = (
            select(ScanRow.id)
            .where(ScanRow.inventoried.is_(False))
            .order_by(ScanRow.started_at, ScanRow.id)
        )
        done = 0
        with self._writing("the inventory") as session:
            ids = list(session.scalars(pending))
        for scan_id in ids:
            with self._writing("the inventory") as session:
                row = session.get(ScanRow, scan_id)
                if row is not None and not row.inventoried:
                    self._inventory(session, row, stored_sightings(session, row.id))
                    done += 1
        return done

    @contextmanager
    def _writing(self, what: str) -> Iterator[Session]:
        try:
            with self._writes.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            raise StoreError(f"cannot update {what} in {self.display_name}: {reason}") from exc

    def scans(self, limit: int | None = DEFAULT_LIST_LIMIT) -> list[ScanSummary]:
        """Stored scans, newest first, with their site and what they covered."""
        query = select(ScanRow).order_by(ScanRow.started_at.desc(), ScanRow.id)
        with self._reading("scans") as session:
            return [summary(row) for row in session.scalars(query.limit(limit))]

    def scan_section(self, scan_id: str) -> ScanSection:
        """A stored scan's section (whom it was judged for, its knowledge ...) without its
        devices."""
        with self._reading(f"scan {scan_id}") as session:
            return _scan_section(find_scan(session, scan_id, self.display_name).document)

    def scan_summary(self, scan_id: str) -> ScanSummary:
        with self._reading(f"scan {scan_id}") as session:
            row = find_scan(session, scan_id, self.display_name)
            return summary(row)

    def sites(self) -> list[str]:
        """The sites named by stored scans or inventory devices (``--site``), sorted; the
        default site (no ``--site``) is not among them."""
        with self._reading("the sites") as session:
            named = set(session.scalars(select(ScanRow.site).where(ScanRow.site.is_not(None))))
            named.update(
                session.scalars(select(InventoryRow.site).where(InventoryRow.site.is_not(None)))
            )
        return sorted(str(name) for name in named)

    def require_device(self, device_id: str | None) -> None:
        """Refuse (StoreRequestError, exit 2) a device id the inventory does not hold: a
        mistyped ``--device`` must not read as a device without cases."""
        if device_id is None:
            return
        with self._reading(f"device {device_id}") as session:
            self._inventory_row(session, device_id)

    def require_site(self, site: str | None) -> None:
        """Refuse (StoreRequestError, exit 2) a site no stored scan or device names: a
        mistyped ``--site`` must not read as a site with nothing restricted. Site names are
        kept as given (``hq`` and ``HQ`` are two sites), so they match exactly."""
        if site is None:
            return
        known = self.sites()
        if site in known:
            return
        listed = ", ".join(known[:20]) + (f" … ({len(known)} in all)" if len(known) > 20 else "")
        message = f"no site {site!r} in {self.display_name}: " + (
            f"known sites: {listed}" if known else "no scan was stored with --site"
        )
        same = spelt_otherwise(site, known)
        if same is not None:
            message += f" (site names are case-sensitive: did you mean {same!r}?)"
        raise StoreRequestError(message)

    def require_one_spelling(self, site: str | None) -> None:
        """Refuse (StoreRequestError, exit 2) storing at ``site`` when this store knows the
        site spelt otherwise (:func:`spelt_otherwise`: ``Ottawa`` for ``ottawa``), named by a
        stored scan or device, or by a sensor, a schedule or a job: a second spelling would be
        a second site, its devices stored twice and moved between the two. A new site, or
        ``site`` spelt as stored (even beside another spelling stored before), passes."""
        if site is None:
            return
        known = set(self.sites())
        with self._reading("the sites") as session:
            known.update(str(name) for name in session.scalars(select(SiteRow.name)))
        same = None if site in known else spelt_otherwise(site, known)
        if same is not None:
            raise StoreRequestError(
                f"site {site!r} differs from the site {same!r} of {self.display_name} only "
                f"in case or spaces (did you mean {same!r}?): under a second spelling its "
                "devices would be stored twice, as another site's"
            )

    def history(self, *, with_findings: bool = False) -> History:
        """The inventory's past as plain values (see :mod:`provscan.store.history`)."""
        with self._reading("the inventory history") as session:
            return inventory_history(session, with_findings)

    def inventory(
        self,
        *,
        restricted: bool | None = None,
        site: str | None = None,
        status: str | None = None,
    ) -> list[InventoryDevice]:
        """Devices across scans, by site and address, with the case shown for each."""
        if status is not None and status not in STATUSES:
            raise StoreRequestError(
                f"unknown device status {status!r} (one of {', '.join(STATUSES)})"
            )
        self.require_site(site)
        with self._reading("the inventory") as session:
            return inventory_rows(session, restricted=restricted, site=site, status=status)

    def inventory_documents(
        self,
        *,
        restricted: bool | None = None,
        site: str | None = None,
        status: str | None = None,
        embed_findings: bool = False,
    ) -> list[dict[str, Any]]:
        """The same devices as :meth:`inventory`, as their JSON documents (docs/inventory.md);
        the fast path for JSON, CSV and XLSX output. ``embed_findings``: findings stay JSON
        text (``orjson.Fragment``) for output written with orjson."""
        if status is not None and status not in STATUSES:
            raise StoreRequestError(
                f"unknown device status {status!r} (one of {', '.join(STATUSES)})"
            )
        self.require_site(site)
        with self._reading("the inventory") as session:
            return inventory_json(
                session,
                restricted=restricted,
                site=site,
                status=status,
                embed_findings=embed_findings,
            )

    def inventory_fragments(
        self,
        *,
        restricted: bool | None = None,
        site: str | None = None,
        status: str | None = None,
    ) -> tuple[list[Any], int] | None:
        """On SQLite: each device's inventory JSON made by SQLite (``orjson.Fragment``) and the
        restricted count; None elsewhere (use :meth:`inventory_documents`)."""
        if status is not None and status not in STATUSES:
            raise StoreRequestError(
                f"unknown device status {status!r} (one of {', '.join(STATUSES)})"
            )
        self.require_site(site)
        with self._reading("the inventory") as session:
            return inventory_json_fragments(
                session, restricted=restricted, site=site, status=status
            )

    def remaining(self, *, site: str | None = None, status: str | None = None) -> set[str]:
        """The ids of the restricted devices *remaining* (restricted, not gone, restricted-maker
        case not verified: :mod:`provscan.store.remaining`, the one definition the inventory,
        the dashboard and the compliance report count with), of ``site`` / ``status``."""
        if status is not None and status not in STATUSES:
            raise StoreRequestError(
                f"unknown device status {status!r} (one of {', '.join(STATUSES)})"
            )
        self.require_site(site)
        with self._reading("the inventory") as session:
            return remaining_devices(session, site=site, status=status)

    def inventory_page(
        self, after: str | None = None, limit: int = 100, filters: PageFilters | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the inventory JSON after the cursor ``after``, and the next cursor
        (see :mod:`provscan.store.pages`)."""
        if filters is not None and filters.status is not None and filters.status not in STATUSES:
            raise StoreRequestError(
                f"unknown device status {filters.status!r} (one of {', '.join(STATUSES)})"
            )
        with self._reading("the inventory") as session:
            return inventory_page(session, after, limit, filters or PageFilters())

    def inventory_window(
        self,
        limit: int,
        filters: PageFilters,
        *,
        after: str | None = None,
        before: str | None = None,
    ) -> PageWindow:
        """A page of the inventory JSON after ``after`` or before ``before``, with the cursors
        either side (see :func:`provscan.store.pages.inventory_window`)."""
        if filters.status is not None and filters.status not in STATUSES:
            raise StoreRequestError(
                f"unknown device status {filters.status!r} (one of {', '.join(STATUSES)})"
            )
        with self._reading("the inventory") as session:
            return inventory_window(session, limit, filters, after=after, before=before)

    def inventory_count(self, filters: PageFilters) -> int:
        """How many inventory devices ``filters`` match (see
        :func:`provscan.store.pages.inventory_count`)."""
        if filters.status is not None and filters.status not in STATUSES:
            raise StoreRequestError(
                f"unknown device status {filters.status!r} (one of {', '.join(STATUSES)})"
            )
        with self._reading("the inventory") as session:
            return inventory_count(session, filters)

    def device_places(self, device_ids: set[str]) -> dict[str, tuple[str, str | None]]:
        """device id -> (address, site) of inventory devices (e.g. those of some cases)."""
        with self._reading("the inventory") as session:
            return device_places(session, device_ids)

    def case_devices(self, device_ids: set[str]) -> dict[str, CaseDevice]:
        """device id -> address, site, maker and brand of inventory devices (those of some
        cases, for ``provscan cases list``)."""
        with self._reading("the inventory") as session:
            return case_devices(session, device_ids)

    def reopened_by(self, scan_id: str) -> list[ReopenedCase]:
        """The cases the stored scan ``scan_id`` (its whole id) reopened, by number."""
        with self._reading("cases") as session:
            return reopened_by(session, scan_id)

    def dashboard(self) -> dict[str, Any]:
        """Counts for the web dashboard (see :func:`provscan.store.pages.dashboard`)."""
        with self._reading("the inventory") as session:
            return dashboard(session, datetime.now(UTC).date().isoformat())

    def restricted_by_jurisdiction(self) -> list[dict[str, Any]]:
        """Restricted devices by jurisdiction and measure (see
        :func:`provscan.store.pages.restricted_by_jurisdiction`)."""
        with self._reading("the inventory") as session:
            return current_by_jurisdiction(session)

    def trend(
        self, points: int = 60, *, until_now: bool = False
    ) -> tuple[list[TrendPoint], list[str]]:
        """The inventory's totals over time, and whom the scans were judged for (see
        :func:`provscan.store.pages.trend_points`); ``until_now``: ending on the totals as
        they are now (a *now* point when they changed since the newest scan)."""
        with self._reading("the trend") as session:
            return trend_points(session, points, datetime.now(UTC) if until_now else None)

    def case_counts(self, site: str | None = None) -> dict[str, tuple[int, int]]:
        """status -> (cases, overdue cases), of the devices at ``site`` when given."""
        with self._reading("cases") as session:
            return case_counts(session, datetime.now(UTC).date().isoformat(), site)

    def cases_page(
        self,
        status: str,
        *,
        limit: int,
        after: str | None = None,
        site: str | None = None,
        counts: tuple[int, int] | None = None,
    ) -> CasePage:
        """One page of a state's cases in the board's order (see
        :func:`provscan.store.pages.cases_page`)."""
        if status not in CASE_STATES:
            raise StoreRequestError(
                f"unknown case status {status!r} (one of {', '.join(CASE_STATES)})"
            )
        with self._reading("cases") as session:
            return cases_page(
                session,
                status,
                today=datetime.now(UTC).date().isoformat(),
                limit=limit,
                after=after,
                site=site,
                counts=counts,
            )

    @contextmanager
    def together(self, what: str) -> Iterator[Together]:
        """One write transaction shared by several parts of the store: what is done through
        the yielded :class:`Together` (a schedule change and its audit row, say) commits at
        the end of the block, all of it, or none of it when the block raises."""
        with self._writing(what) as session:

            @contextmanager
            def same(_: str) -> Iterator[Session]:
                yield session

            yield Together(
                session,
                Fleet(same, same, self.display_name),
                Accounts(same, same, self.display_name),
            )

    def device_choices(self) -> dict[str, list[str]]:
        """The sites and makers in the inventory (see :func:`provscan.store.pages.choices`)."""
        with self._reading("the inventory") as session:
            return choices(session)

    def accounts(self) -> Accounts:
        """Users, API tokens, sessions and the audit log (see :mod:`provscan.store.users`)."""
        return Accounts(self._reading, self._writing, self.display_name)

    def fleet(self) -> Fleet:
        """Sites, sensors, scan jobs sent to them and schedules (:mod:`provscan.store.sensors`)."""
        return Fleet(self._reading, self._writing, self.display_name)

    def screenings(self) -> Screenings:
        """Screened lists kept for their owners (see :mod:`provscan.store.screenings`)."""
        return Screenings(self._writing)

    def has_scan(self, scan_id: str) -> bool:
        """Whether a scan with exactly this id is stored."""
        with self._reading(f"scan {scan_id}") as session:
            return session.get(ScanRow, scan_id) is not None

    def device(self, device_id: str) -> tuple[InventoryDevice, dict[str, Any], list[Case]]:
        """One inventory device, its newest full document and all its cases (with trails)."""
        with self._reading(f"device {device_id}") as session:
            row = self._inventory_row(session, device_id)
            document = session.scalar(
                select(DeviceRow.document).where(
                    DeviceRow.scan_id == row.last_scan_id, DeviceRow.position == row.last_position
                )
            )
            return (
                self._device_view(session, row),
                dict(document or {}),
                self._cases_of(session, row),
            )

    def device_evidence(
        self, device_id: str
    ) -> tuple[InventoryDevice, VerdictSighting, list[Case]]:
        """One inventory device, the sighting its verdict comes from (its full document, and
        the newer sighting that identified nothing when there is one: see
        :func:`provscan.store.views.verdict_sighting`) and all its cases (with trails)."""
        with self._reading(f"device {device_id}") as session:
            row = self._inventory_row(session, device_id)
            evidence = verdict_sighting(session, row)
            return self._device_view(session, row), evidence, self._cases_of(session, row)

    def absence(self, device_id: str) -> Absence:
        """How inventory device ``device_id`` has gone unseen: the stored scans that covered
        it since its last sighting and did not see it (:func:`provscan.store.views.absence`;
        they go on after it is gone, when ``missed`` stops counting)."""
        with self._reading(f"device {device_id}") as session:
            return absence(session, self._inventory_row(session, device_id))

    def silent_scan_misses(
        self,
        *,
        site: str | None,
        coverage: Sequence[Sequence[str]],
        ports: Iterable[int],
        started_at: datetime,
    ) -> list[str]:
        """The addresses of the devices a complete scan that nothing answered would count
        missing although nobody said they were taken away
        (:func:`provscan.store.inventory.silent_scan_misses`); nothing is changed."""
        with self._reading("the inventory") as session:
            rows = silent_scan_misses(session, site, coverage, ports, started_at)
            return [row.ip for row in rows]

    def _inventory_row(self, session: Session, device_id: str) -> InventoryRow:
        row = session.get(InventoryRow, device_id)
        if row is None:
            raise StoreRequestError(f"no device {device_id!r} in {self.display_name}")
        return row

    def _device_view(self, session: Session, row: InventoryRow) -> InventoryDevice:
        brief = cases_by_device(session, {row.device_id}, 1).get(row.device_id, [])
        return device_view(row, brief)

    def _cases_of(self, session: Session, row: InventoryRow) -> list[Case]:
        return [
            self._case(session, case)
            for case in session.scalars(
                select(CaseRow).where(CaseRow.device_id == row.device_id).order_by(CaseRow.id)
            )
        ]

    def sightings(self, scan_id: str) -> dict[int, tuple[str, str]]:
        """position -> (device_id, rule) for the devices of a scan (its id, or a prefix as
        ``provscan scans`` shows it, like every scan lookup)."""
        with self._reading(f"scan {scan_id}") as session:
            full_id = find_scan(session, scan_id, self.display_name).id
            return {
                s.position: (s.device_id, s.rule)
                for s in session.scalars(select(SightingRow).where(SightingRow.scan_id == full_id))
            }

    def diff(
        self, old_id: str | None = None, new_id: str | None = None, *, first_scan: bool = False
    ) -> ScanDiff:
        """What changed between two scans (default: the newest two whose scopes overlap).

        ``first_scan`` (the command line's default, for ``scan && diff`` in cron): with no
        scan named, the newest scan is compared with the newest earlier one overlapping its
        scope, or, when there is none (the first scan of that scope), with nothing
        (:func:`~provscan.store.views.first_scan_diff`: every device added). A store with no
        scan is still refused."""
        with self._reading("scans") as session:
            if first_scan and not old_id and not new_id:
                newest = newest_first_scan(session)
                if newest is not None:
                    return first_scan_diff(session, newest)
                if session.scalar(select(ScanRow.id).limit(1)) is None:
                    raise StoreRequestError(
                        f"{self.display_name} holds no scan yet: nothing to compare "
                        "(store one with provscan scan --db)"
                    )
            old, new = pick_pair(session, old_id, new_id, self.display_name)
            if old.id == new.id:  # two names (a prefix, the whole id) of one scan
                raise StoreRequestRefused(
                    f"{old_id!r} and {new_id!r} are both scan {old.id}: a scan compared with "
                    "itself shows no change; give two scans (`provscan scans` lists them)"
                )
            return diff(session, old, new)

    # --- cases ---------------------------------------------------------------------------

    def _case(self, session: Session, row: CaseRow) -> Case:
        events = list(
            session.scalars(
                select(CaseEventRow).where(CaseEventRow.case_id == row.id).order_by(CaseEventRow.id)
            )
        )
        return to_case(row, events)

    def cases(
        self,
        *,
        status: str | None = None,
        device_id: str | None = None,
        overdue: bool = False,
        site: str | None = None,
        after: int | None = None,
        limit: int | None = None,
        history: bool = False,
    ) -> list[Case]:
        """Cases by number; ``site``: of that site's inventory devices; ``after``, ``limit``:
        the cases numbered above ``after``, at most ``limit`` of them (a page of the API);
        ``device_id``: that device's (one the inventory does not hold is refused);
        ``history``: with each case's audit trail (``Case.events``), read in one query for
        all the cases listed (without it, ``events`` is empty)."""
        query = select(CaseRow).order_by(CaseRow.id)
        if site is not None:
            at_site = select(InventoryRow.device_id).where(InventoryRow.site == site)
            query = query.where(CaseRow.device_id.in_(at_site))
        if overdue:  # as Case.overdue says it
            today = datetime.now(UTC).date().isoformat()
            query = query.where(
                CaseRow.status != "verified", CaseRow.due.is_not(None), CaseRow.due < today
            )
        if after is not None:
            query = query.where(CaseRow.id > after)
        if limit is not None:
            query = query.limit(limit)
        if status == "active":
            query = query.where(CaseRow.status != "verified")
        elif status is not None:
            if status not in CASE_STATES:
                raise StoreRequestError(
                    f"unknown case status {status!r} (one of {', '.join(CASE_STATES)})"
                )
            query = query.where(CaseRow.status == status)
        if device_id is not None:
            query = query.where(CaseRow.device_id == device_id)
        with self._reading("cases") as session:
            if device_id is not None:
                self._inventory_row(session, device_id)  # as require_device
            rows = list(session.scalars(query))
            if not history or not rows:
                return [to_case(row) for row in rows]
            # one query for the trails of every case listed (the same selection, as ids)
            trails: dict[int, list[CaseEventRow]] = {}
            listed = query.with_only_columns(CaseRow.id)
            for entry in session.scalars(
                select(CaseEventRow)
                .where(CaseEventRow.case_id.in_(listed))
                .order_by(CaseEventRow.case_id, CaseEventRow.id)
            ):
                trails.setdefault(entry.case_id, []).append(entry)
            return [to_case(row, trails.get(row.id, [])) for row in rows]

    def case(self, case_id: int) -> Case:
        with self._reading(f"case {case_id}") as session:
            row = session.get(CaseRow, case_id)
            if row is None:
                raise StoreRequestError(f"no case {case_id} in {self.display_name}")
            return self._case(session, row)

    def update_case(
        self,
        case_id: int,
        *,
        actor: str,
        status: str | None = None,
        owner: str | None = None,
        due: str | None = None,
        note: str | None = None,
        address: str | None = None,
    ) -> Case:
        """A person's change to a case (refused with StoreError when not allowed; a due date
        before the case was opened always is, :func:`provscan.store.cases.check_due`).
        ``address``: where the change came from; its audit-log entry (``case.update``) is
        then written in the same transaction as the change."""
        with self._writing(f"case {case_id}") as session:
            update_case(
                session,
                case_id,
                actor=actor,
                status=status,
                owner=owner,
                due=due,
                note=note,
            )
            if address is not None:
                asked = {"status": status, "owner": owner, "due": due, "note": note}
                detail = {key: value for key, value in asked.items() if value is not None}
                audit_entry(session, actor, "case.update", address, str(case_id), detail)
        return self.case(case_id)

    # --- events (the outbox) ------------------------------------------------------------

    def record_overdue(self) -> int:
        """Add ``case.overdue`` events for cases that passed their due date since the last
        check (each scan saved checks too); returns how many."""
        with self._writing("events") as session:
            return events.record_overdue(session)

    def pending_events(self, sink: str, limit: int = 1000) -> list[events.Event]:
        """Events ``sink`` has not yet taken, oldest first."""
        with self._reading("events") as session:
            return events.pending(session, sink, limit)

    def acknowledge_events(self, sink: str, last_id: int) -> None:
        """``sink`` took every event up to ``last_id``."""
        with self._writing("events") as session:
            events.acknowledge(session, sink, last_id)

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

    def sighting(
        self, address: str, *, scan_id: str | None = None, site: str | None = None
    ) -> StoredSighting | None:
        """One device as stored, without loading its whole scan: the newest sighting of
        ``address`` in the inventory (of ``site``), or the device ``scan_id`` stored there
        (see :func:`provscan.store.views.stored_sighting`); None: no device at the address."""
        from provscan.store.views import stored_sighting

        if scan_id is None:
            self.require_site(site)
        with self._reading(f"device {address}") as session:
            return stored_sighting(session, address, self.display_name, scan_id=scan_id, site=site)
