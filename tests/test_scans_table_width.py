"""``provscan scans`` at 80 columns keeps the "*" of an incomplete scan and every column,
however long the site's name: the site gives way, not the mark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_provscan

from provscan.report.contract import from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges

GOLDEN = Path(__file__).resolve().parent / "report" / "golden" / "scan_v1.json"
SITE = "headquarters-building-north-campus"


def _store(tmp_path: Path, kind: str, site: str | None, targets: list[str]) -> str:
    """Two scans of ``kind``, the newer one interrupted (incomplete)."""
    db = tmp_path / f"{kind}.db"
    first = from_contract(GOLDEN.read_text(encoding="utf-8")).model_dump(mode="json")
    with open_store(normalise_db_arg(str(db))) as store:
        for index in range(2):
            raw = json.loads(json.dumps(first))
            raw["scan"]["id"] = f"2026010{index + 1}T120000Z-{index:04x}"
            raw["scan"]["started_at"] = f"2026-01-0{index + 1}T12:00:00Z"
            raw["scan"]["finished_at"] = f"2026-01-0{index + 1}T12:05:00Z"
            raw["scan"]["kind"], raw["scan"]["targets"] = kind, targets
            raw["scan"]["complete"] = index == 0
            store.save_document(
                from_contract(json.dumps(raw)),
                site=site,
                coverage=coverage_ranges(["192.0.2.0/28"]),
            )
    return str(db)


@pytest.mark.parametrize(
    ("kind", "site"), [("passive", SITE), ("active", SITE), ("passive", None), ("import", "hq")]
)
def test_the_incomplete_mark_survives_80_columns(
    tmp_path: Path, kind: str, site: str | None
) -> None:
    targets = [f"192.0.2.{n}/32" for n in range(5)]
    db = _store(tmp_path, kind, site, targets)
    for width in (80, 100):
        result = run_provscan("scans", "--db", db, width=width)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert all(len(line) <= width for line in lines), (width, lines)
        header = lines[0].split()
        assert header[:2] == ["Scan", "Kind"] and header[-2:] == ["Restr.", "Targets"], lines
        newest, oldest = (line for line in lines[1:] if line.startswith("2026010"))
        assert newest.split()[1] == f"{kind}*", (width, lines)  # incomplete
        assert oldest.split()[1] == kind  # complete: no mark
        assert "* incomplete (interrupted or cut short): proves no absence" in lines
        assert "192.0.2.0/32" in newest  # the first target, whole
        if site is not None:
            shown = newest.split()[2]
            assert shown == site or (shown.endswith("…") and site.startswith(shown[:-1]))
