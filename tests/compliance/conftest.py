"""The report tests share one store with real history (see report_history.py)."""

from __future__ import annotations

import pytest
from report_history import ReportStore, build_report_store


@pytest.fixture(scope="session")
def report_store(tmp_path_factory: pytest.TempPathFactory) -> ReportStore:
    return build_report_store(tmp_path_factory.mktemp("report") / "provscan.db")
