"""The due-date rule lives in the store: a due date before the day a case was opened is
refused for every caller of ``Store.update_case`` (not only the command line, the API and the
console, which used to ask for it), with the one line the command line shows, and nothing
changes. Real stores: a SQLite file and a throwaway PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from helpers import open_case_on, run_provscan, throwaway_postgres_database

from provscan.errors import StoreRequestError
from provscan.report.contract import from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges

GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "scan_v1.json"
OPENED = datetime(2024, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield normalise_db_arg(str(tmp_path / "due.db"))
        return
    with throwaway_postgres_database("provscan_due") as url:
        yield url


def _stored_case(url: str) -> int:
    """A store holding the golden scan (its restricted devices open cases); the first case,
    backdated to :data:`OPENED`."""
    document = from_contract(GOLDEN.read_text(encoding="utf-8"))
    devices = [
        device.model_copy(update={"ip": f"127.0.140.{index + 1}", "mac": None, "serial": None})
        for index, device in enumerate(document.devices)
    ]
    with open_store(url) as store:
        store.save_document(
            document.model_copy(update={"devices": devices}),
            coverage=coverage_ranges(["127.0.140.0/24"]),
        )
        case_id = store.cases()[0].id
    open_case_on(url, case_id, OPENED)
    return case_id


def test_the_store_refuses_a_due_date_before_the_opening_for_any_caller(store_url: str) -> None:
    case_id = _stored_case(store_url)
    with open_store(store_url) as store:
        before = store.case(case_id)
        # When a caller of the store (no flag, no front end) sets a due date the day before
        # the case was opened
        with pytest.raises(StoreRequestError) as refused:
            store.update_case(case_id, actor="importer", due="2024-03-09", owner="facilities")
        # Then it is refused with one line saying why, and nothing changed (not even the
        # owner asked for in the same change)
        message = str(refused.value)
        assert message == f"due date 2024-03-09 is before case {case_id} was opened (2024-03-10)"
        assert "\n" not in message
        after = store.case(case_id)
        assert (after.due, after.owner, after.events) == (before.due, before.owner, before.events)
        # When the date is the opening day itself (past by now), Then it is kept: overdue
        kept = store.update_case(case_id, actor="importer", due="2024-03-10")
        assert kept.due == "2024-03-10" and kept.overdue
        assert len(kept.events) == len(before.events) + 1


def test_the_command_line_shows_the_stores_message(store_url: str) -> None:
    case_id = _stored_case(store_url)
    with open_store(store_url) as store, pytest.raises(StoreRequestError) as refused:
        store.update_case(case_id, actor="t", due="2024-01-01")
    # When a person asks the same through `provscan cases update`
    result = run_provscan(
        "cases", "update", str(case_id), "--due", "2024-01-01", "--db", store_url, width=100
    )
    # Then it exits 2 with the store's message on one line, and the case is unchanged
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"provscan: error: {refused.value}\n"
    assert result.stdout == ""
    with open_store(store_url) as store:
        assert store.case(case_id).due != "2024-01-01"
        future = (date.today() + timedelta(days=365)).isoformat()
        assert store.update_case(case_id, actor="t", due=future).due == future
