"""The store on a real PostgreSQL server (127.0.0.1:5432, a throwaway database per run).

`--db postgresql://…` must work after the documented install (``provscan[postgres]``), with
no driver name in the URL, through the CLI as well as the API.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from provscan.report.contract import ScanDocument, from_contract
from provscan.store.db import open_store

GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "scan_v1.json"
CAPTURE = Path(__file__).parents[1] / "pcap" / "fixtures" / "crafted_signals.pcapng"


def test_a_scan_round_trips_through_postgresql(postgres_url: str) -> None:
    document = from_contract(GOLDEN.read_text(encoding="utf-8"))
    # Given a fresh database, when a scan is saved and read back
    with open_store(postgres_url) as store:
        scan_id = store.save_document(document)
        loaded = store.load(scan_id)
        listed = store.list_scans()
    # Then nothing was lost
    assert isinstance(loaded, ScanDocument)
    assert loaded.model_dump(mode="json") == document.model_dump(mode="json")
    assert [scan.id for scan in listed] == [scan_id]


def test_migrating_twice_changes_nothing(postgres_url: str) -> None:
    with open_store(postgres_url) as store:
        before = len(store.list_scans())
    with open_store(postgres_url) as store:
        assert len(store.list_scans()) == before


def test_the_cli_stores_into_postgresql_with_a_plain_url(postgres_url: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "provscan",
            "pcap",
            str(CAPTURE),
            "--db",
            postgres_url,
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "stored scan" in result.stderr
    with open_store(postgres_url) as store:
        kinds = [scan.kind for scan in store.list_scans()]
    assert "passive" in kinds
