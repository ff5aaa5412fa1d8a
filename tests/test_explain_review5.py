"""``provscan explain ADDRESS --db STORE`` reads one device's row, not its whole scan.

It used to find the address in the inventory and then ``Store.load`` the device's whole
scan: tens of thousands of devices read and validated (a capture) to explain one. Now
``Store.sighting`` (``store.views.stored_sighting``) reads the inventory rows of the
address, the scan's row and the one device's row. Checked here on real SQLite and
PostgreSQL stores:

1. the query gives the same scan section and device entry as ``Store.load`` (documents of
   schema 1.2 upgraded as ``from_contract`` upgrades them; an address written in another
   notation; the newest sighting of several sites; a named scan);
2. ``explain`` on a store whose scan holds 5,000 devices never calls ``Store.load`` and
   prints exactly what the whole-scan read made of the device (table and JSON), and refuses
   what it refused before in the same words.

Addresses here are data in stored documents: nothing is sent anywhere (the scan is replaced
by a failure).
"""

from __future__ import annotations

import ipaddress
import json
import shutil
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from helpers import throwaway_postgres_database
from typer.testing import CliRunner, Result

from provscan import pipeline
from provscan.cli import app
from provscan.commands.explain import (
    Origin,
    _method,
    _stored_observations,
    build_explanation,
    render,
)
from provscan.knowledge.loader import load_knowledge
from provscan.report.contract import (
    DeviceEntry,
    ScanDocument,
    ScanSection,
    from_contract,
    to_domain,
)
from provscan.store.db import Store, normalise_db_arg, open_store
from provscan.store.models import DeviceRow, ScanRow

GOLDEN = Path(__file__).parent / "report" / "golden" / "scan_v1.json"
#: A store written before 0004: its scans are documents of schema 1.2.
OLD_DB = Path(__file__).parent / "store" / "fixtures" / "store_0003.db"
BIG = 5000
WIDTH = 80


def _address(index: int) -> str:
    return f"127.88.{index // 250}.{index % 250 + 1}"


def _many(scan_id: str, count: int, *, started: str | None = None) -> ScanDocument:
    """The golden scan under another id with ``count`` devices, cloned in turn from its
    devices at other addresses (no MACs or serials: each clone is another device)."""
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    devices = [
        golden.devices[index % len(golden.devices)].model_copy(
            update={"ip": _address(index), "mac": None, "serial": None}
        )
        for index in range(count)
    ]
    update: dict[str, Any] = {
        "id": scan_id,
        "devices_found": count,
        "restricted_count": sum(device.restricted for device in devices),
    }
    if started is not None:
        update["started_at"] = golden.scan.started_at.fromisoformat(started)
    scan = golden.scan.model_copy(update=update)
    return golden.model_copy(update={"scan": scan, "devices": devices})


def _normal(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return text.strip()


def _whole_scan(
    store: Store,
    address: str,
    *,
    scan_id: str | None = None,
    site: str | None = None,
    memo: dict[Any, Any] | None = None,
) -> tuple[ScanSection, DeviceEntry | None, str | None, tuple[str, ...]] | None:
    """What explain read before: the address in the whole inventory, then the whole scan
    (``memo`` keeps the inventory and the scans read, for many addresses of one store)."""
    memo = {} if memo is None else memo
    others: tuple[str, ...] = ()
    if scan_id is None:
        if ("inventory", site) not in memo:
            memo["inventory", site] = store.inventory(site=site)
        rows = [row for row in memo["inventory", site] if _normal(row.ip) == address]
        if not rows:
            return None
        newest = max(rows, key=lambda row: row.last_seen)
        scan_id, site = newest.last_scan_id, newest.site
        others = tuple(sorted({r.site or "(no site)" for r in rows if r.site != newest.site}))
    else:
        site = store.scan_summary(scan_id).site
    if ("scan", scan_id) not in memo:
        memo["scan", scan_id] = store.load(scan_id)
    document = memo["scan", scan_id]
    device = next((d for d in document.devices if _normal(d.ip) == address), None)
    return document.scan, device, site, others


def _copy_old_scans(url: str, folder: Path) -> list[str]:
    """The 1.2 scans of the pre-0004 store, saved to the store at ``url`` and then written
    back as they were stored (schema 1.2 documents), as a store upgraded from 0003 has them."""
    copy = folder / "store_0003.db"
    shutil.copyfile(OLD_DB, copy)
    with open_store(normalise_db_arg(str(copy))):
        pass  # migrated: the documents are in the rows, still of schema 1.2
    raw = sqlalchemy.create_engine(f"sqlite:///{copy}")
    with raw.connect() as connection:
        scans = connection.execute(
            sqlalchemy.select(ScanRow.id, ScanRow.schema_version, ScanRow.document)
        ).all()
        devices = connection.execute(
            sqlalchemy.select(DeviceRow.scan_id, DeviceRow.position, DeviceRow.document)
        ).all()
    raw.dispose()
    assert {version for _, version, _ in scans} == {"1.2"}
    with open_store(url) as store:
        for scan_id, version, document in scans:
            stored = [d for s, _, d in sorted(devices, key=lambda r: r[1]) if s == scan_id]
            store.save_document(
                from_contract({"schema_version": version, "scan": document, "devices": stored})
            )
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        for scan_id, version, document in scans:
            connection.execute(
                sqlalchemy.update(ScanRow)
                .where(ScanRow.id == scan_id)
                .values(schema_version=version, document=document)
            )
        for scan_id, position, document in devices:
            connection.execute(
                sqlalchemy.update(DeviceRow)
                .where(DeviceRow.scan_id == scan_id, DeviceRow.position == position)
                .values(document=document)
            )
    engine.dispose()
    return [scan_id for scan_id, _, _ in scans]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store on SQLite, or in a throwaway database on the PostgreSQL test server."""
    if request.param == "sqlite":
        yield normalise_db_arg(str(tmp_path / "store.db"))
        return
    with throwaway_postgres_database() as database:
        with open_store(database):
            pass  # made and migrated
        yield database


def test_one_stored_device_is_the_entry_the_whole_scan_loads(url: str, tmp_path: Path) -> None:
    old_ids = _copy_old_scans(url, tmp_path)
    with open_store(url) as store:
        store.save_document(_many("many-hq", 300, started="2026-02-01T00:00:00+00:00"), site="hq")
        # ten of its addresses, seen again later at another site
        store.save_document(
            _many("few-branch", 10, started="2026-03-01T00:00:00+00:00"), site="branch"
        )
        # an address written in another notation than the one explain normalises to
        odd = _many("odd-notation", 1).devices[0].model_copy(update={"ip": "0:0:0:0:0:0:0:1"})
        document = _many("odd-notation", 1, started="2026-01-15T00:00:00+00:00")
        store.save_document(document.model_copy(update={"devices": [odd]}))
        scans = [*old_ids, "many-hq", "few-branch", "odd-notation"]
        addresses = set()
        checked = 0
        for scan_id in scans:
            loaded = store.load(scan_id)
            for position, device in enumerate(loaded.devices):
                address = _normal(device.ip)
                addresses.add(address)
                first = next(i for i, d in enumerate(loaded.devices) if _normal(d.ip) == address)
                got = store.sighting(address, scan_id=scan_id[:12])
                assert got is not None and got.device is not None
                assert got.scan == loaded.scan
                assert got.device == loaded.devices[first]
                assert got.position == first
                assert got.device.model_dump(mode="json") == (
                    loaded.devices[first].model_dump(mode="json")
                )
                checked += position == first
        assert checked > 300
        # the newest sighting, of any site or of one, as the inventory and the scan give it
        memo: dict[Any, Any] = {}
        for address in sorted(addresses):
            for site in (None, "hq", "branch"):
                expected = _whole_scan(store, address, site=site, memo=memo)
                got = store.sighting(address, site=site)
                if expected is None:
                    assert got is None, (address, site)
                    continue
                assert got is not None, (address, site)
                assert (got.scan, got.device, got.site, got.other_sites) == expected
        both = store.sighting(_address(3))
        assert both is not None and both.site == "branch" and both.other_sites == ("hq",)
        assert both.scan.id == "few-branch"
        # a scan without the address, an address the store does not hold
        absent = store.sighting(_address(299), scan_id="few-branch")
        assert absent is not None and absent.device is None and absent.scan.id == "few-branch"
        assert store.sighting("127.0.0.2") is None
        assert store.sighting(_address(299), site="branch") is None


# -- explain on a big store -------------------------------------------------------------


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(WIDTH), "NO_COLOR": "1"})


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose one scan holds 5,000 devices, and a small later scan at a site."""
    path = tmp_path_factory.mktemp("explain-big") / "big.db"
    with open_store(normalise_db_arg(str(path))) as store:
        store.save_document(
            _many("big-scan-000001", BIG, started="2026-02-01T00:00:00+00:00"), site="hq"
        )
        store.save_document(
            _many("small-branch-01", 5, started="2026-03-01T00:00:00+00:00"), site="branch"
        )
    return path


@pytest.fixture
def nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("explain probed the network")

    monkeypatch.setattr(pipeline, "run_scan", never)
    monkeypatch.setattr(pipeline, "run_interruptibly", never)


def _before(path: Path, address: str, **where: str) -> tuple[str, str]:
    """The table and the JSON explain printed when it loaded the whole scan."""
    with open_store(normalise_db_arg(str(path))) as store:
        found = _whole_scan(store, address, **where)  # type: ignore[arg-type]
        name = store.display_name
    assert found is not None
    scan, entry, site, others = found
    assert entry is not None
    result = to_domain(
        ScanDocument.model_construct(schema_version="1.7", scan=scan, devices=[entry])
    )
    device, info = result.devices[0], result.info
    explained = build_explanation(
        device,
        _stored_observations(device),
        load_knowledge(),
        acting_as=tuple(info.acting_as),
        scan=info,
        origin=Origin("store", name, _method(device, info), site=site, other_sites=others),
    )
    table = "\n".join(render(explained, WIDTH)) + "\n"
    return table, json.dumps(asdict(explained), indent=2, ensure_ascii=True) + "\n"


@pytest.mark.parametrize(
    ("address", "where"),
    [
        (_address(BIG - 1), {}),
        (_address(2), {}),  # also at the branch, seen there later: the newest sighting
        (_address(2), {"site": "hq"}),
        (_address(2500), {"scan_id": "big-scan-00"}),
    ],
)
def test_explain_reads_one_device_of_a_big_scan_and_prints_the_same(
    big_store: Path,
    address: str,
    where: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    nothing_is_sent: None,
) -> None:
    table, document = _before(big_store, address, **where)

    def no_whole_scan(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("explain loaded the whole scan")

    monkeypatch.setattr(Store, "load", no_whole_scan)
    options = ["--db", str(big_store)]
    if "site" in where:
        options += ["--site", where["site"]]
    if "scan_id" in where:
        options += ["--scan", where["scan_id"]]
    shown = cli("explain", address, *options)
    assert shown.exit_code == 0, (shown.stdout, shown.stderr)
    assert shown.stdout == table
    assert f"{address}: " in shown.stdout.splitlines()[0]
    as_json = cli("explain", address, *options, "--format", "json")
    assert as_json.exit_code == 0, as_json.stderr
    assert as_json.stdout == document
    origin = json.loads(as_json.stdout)["origin"]
    assert origin["read_from"] == "store"
    if not where:
        assert origin["site"] in ("hq", "branch")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["127.0.0.2"],
            "no device 127.0.0.2 in {db} (provscan inventory lists the stored devices)",
        ),
        (
            [_address(BIG - 1), "--site", "branch"],
            f"no device {_address(BIG - 1)} at site branch in {{db}} (provscan inventory lists "
            "the stored devices)",
        ),
        (
            [_address(BIG - 1), "--scan", "small-branch"],
            f"no device {_address(BIG - 1)} in scan small-branch of {{db}} (leave out --scan "
            "for its newest sighting)",
        ),
        ([_address(1), "--site", "nowhere"], "no site 'nowhere' in {db}"),
        ([_address(1), "--scan", "ffffffffffff"], "no scan 'ffffffffffff' in {db}"),
    ],
)
def test_what_is_not_stored_is_refused_in_the_same_words(
    big_store: Path,
    args: list[str],
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    nothing_is_sent: None,
) -> None:
    def no_whole_scan(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("explain loaded the whole scan")

    monkeypatch.setattr(Store, "load", no_whole_scan)
    result = cli("explain", *args, "--db", str(big_store))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("provscan: error: ")
    assert said.format(db=big_store) in lines[0], lines[0]
