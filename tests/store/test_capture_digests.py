"""The same capture file is stored once (migration 0013, ``provscan pcap --again``).

Found by running ``provscan pcap lab_scan.pcap.gz --db D --site A`` twice: two scans of the
same packets were stored, and every sighting and trend counted twice. The store now keeps
each capture's sha256 with its scan and refuses a file stored before, whatever its site or
name, with one line naming the earlier scan (exit 2, nothing written), unless ``--again``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from inventory_verdicts import four_verdicts, scan_of
from provscan.cli import app
from provscan.store.captures import Capture, CaptureAlreadyStored
from provscan.store.db import _alembic_config, _with_driver, normalise_db_arg, open_store

CAPTURE = Path(__file__).parents[1] / "pcap" / "fixtures" / "lab_scan.pcap.gz"
DIGEST = "ab" * 32


def _pcap(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["pcap", *args, "-f", "csv", "-o", "-", "-q"])
    return result.exit_code, result.output


def _scan_ids(database: Path) -> list[str]:
    with open_store(normalise_db_arg(str(database))) as store:
        return sorted(scan.id for scan in store.list_scans(limit=None))


def test_a_capture_stored_twice_is_refused_naming_the_first_scan(tmp_path: Path) -> None:
    database = tmp_path / "scans.db"
    code, _ = _pcap(str(CAPTURE), "--db", str(database), "--site", "A")
    assert code == 0
    (first,) = _scan_ids(database)
    with open_store(normalise_db_arg(str(database))) as store:
        inventory = len(store.inventory())

    # the same file again, at the same site, at no site or under another name: refused
    copy = tmp_path / "renamed.pcap.gz"
    shutil.copyfile(CAPTURE, copy)
    for args in (
        [str(CAPTURE), "--site", "A"],
        [str(CAPTURE)],
        [str(copy), "--site", "B"],
    ):
        code, output = _pcap(*args, "--db", str(database))
        assert code == 2, output
        line = next(line for line in output.splitlines() if "already stored" in line)
        assert f"scan {first[:12]} (site A, started " in line
        assert "--again" in line
        assert _scan_ids(database) == [first]  # nothing written
    assert "renamed.pcap.gz is already stored as " in output

    # --again stores it anyway; --no-db is not concerned
    code, _ = _pcap(str(CAPTURE), "--db", str(database), "--site", "A", "--again")
    assert code == 0
    assert len(_scan_ids(database)) == 2
    with open_store(normalise_db_arg(str(database))) as store:
        assert len(store.inventory()) == inventory  # (the same devices, seen twice)
    code, _ = _pcap(str(CAPTURE), "--no-db")
    assert code == 0


def _parts(scan_id: str, hour: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    document = scan_of(scan_id, hour, four_verdicts())
    head = {
        "schema_version": document.schema_version,
        "scan": document.scan.model_dump(mode="json"),
    }
    return head, [device.model_dump(mode="json") for device in document.devices]


def test_the_store_refuses_a_stored_capture_inside_its_transaction(tmp_path: Path) -> None:
    # (two imports of one file at once: the second finds the first under the lock)
    with open_store(normalise_db_arg(str(tmp_path / "scans.db"))) as store:
        store.save_document(scan_of("no-file", 9, four_verdicts()))  # nothing recorded
        store.save_parts(*_parts("first", 10), site="A", captures=[Capture("a.pcap", DIGEST)])
        with pytest.raises(CaptureAlreadyStored, match=r"b\.pcap is already stored as a\.pcap"):
            store.save_parts(*_parts("second", 11), captures=[Capture("b.pcap", DIGEST)])
        assert not store.has_scan("second")
        store.save_parts(*_parts("third", 12), captures=[Capture("b.pcap", DIGEST)], again=True)
        assert store.has_scan("third")
        found = store.stored_captures([DIGEST, "cd" * 32])
    assert list(found) == [DIGEST]
    assert (found[DIGEST].scan_id, found[DIGEST].site, found[DIGEST].name) == (
        "first",
        "A",
        "a.pcap",
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def url(
    request: pytest.FixtureRequest, tmp_path: Path, make_postgres_database: Callable[[], str]
) -> str:
    if request.param == "sqlite":
        return normalise_db_arg(str(tmp_path / "store.db"))
    return make_postgres_database()


def _tables(url: str) -> set[str]:
    engine = create_engine(_with_driver(make_url(url)))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migration_0013_adds_the_captures_table_and_its_downgrade_drops_it(url: str) -> None:
    with open_store(url) as store:
        store.save_parts(*_parts("first", 10), captures=[Capture("a.pcap", DIGEST)])
    assert "captures" in _tables(url)
    parsed = _with_driver(make_url(url))
    engine = create_engine(parsed)
    try:
        with engine.begin() as connection:
            config = _alembic_config(parsed)
            config.attributes["connection"] = connection
            command.downgrade(config, "0012")
    finally:
        engine.dispose()
    assert "captures" not in _tables(url)
    # opened again, the store is brought back to the head: the scans kept, no file known
    with open_store(url) as store:
        assert store.has_scan("first")
        assert store.stored_captures([DIGEST]) == {}


def test_the_same_file_twice_in_one_run_is_refused_before_it_is_read(tmp_path: Path) -> None:
    database = tmp_path / "scans.db"
    copy = tmp_path / "copy.pcap.gz"
    shutil.copyfile(CAPTURE, copy)
    code, output = _pcap(str(CAPTURE), str(copy), "--db", str(database))
    assert code == 2, output
    line = next(line for line in output.splitlines() if "same bytes" in line)
    assert f"{copy} has the same bytes (sha256) as {CAPTURE}, given before it" in line
    assert not database.exists()  # nothing read, nothing stored

    code, output = _pcap(str(CAPTURE), str(copy), "--db", str(database), "--again")
    assert code == 0, output
    assert len(_scan_ids(database)) == 1


def test_a_ctrl_c_while_the_captures_are_recognised_says_nothing_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provscan.commands import pcap

    def interrupted(_path: Path) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(pcap, "file_sha256", interrupted)
    database = tmp_path / "scans.db"
    result = CliRunner().invoke(app, ["pcap", str(CAPTURE), "--db", str(database), "-q"])
    assert result.exit_code == 130, result.output
    assert (
        "provscan: interrupted while the captures were recognised by their sha256, before any "
        "packet was read; nothing was analysed or stored" in " ".join(result.output.split())
    )
    assert not database.exists()
