"""Numeric PROVSCAN_* environment variables: a value that is no number is said in one line
naming the variable and the default used, never silently ignored (an MSP automation
engineer's review: ``PROVSCAN_SWEEP_WORKERS=abc provscan scan ...`` said nothing)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta

import pytest

from provscan import config
from provscan.knowledge.packs import active_pack, staleness_warning
from provscan.passive import workers_for
from provscan.transport import limits
from provscan.transport.sweep_workers import worker_count


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "_WARNED", set())


@pytest.mark.parametrize("value", ["abc", "0", "-2", "2.5", "²"])
def test_a_bad_sweep_worker_count_is_warned_once_and_the_default_used(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROVSCAN_SWEEP_WORKERS", value)
    assert worker_count(10) == 1  # the default for a small range
    assert worker_count(10) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"provscan: warning: PROVSCAN_SWEEP_WORKERS={value!r} is not a whole number (1 or "
        "more): ignored, using the default (one process per CPU up to 4, for large ranges)"
    ]


def test_a_good_sweep_worker_count_decides_silently(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROVSCAN_SWEEP_WORKERS", " 3 ")
    assert worker_count(10) == 3
    monkeypatch.setenv("PROVSCAN_SWEEP_WORKERS", "9")
    assert worker_count(10) == 4  # at most MAX_WORKERS, as documented
    monkeypatch.setenv("PROVSCAN_SWEEP_WORKERS", "")
    assert worker_count(10) == 1
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("value", ["two", "3", "0"])
def test_a_bad_passive_worker_count_is_warned(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(limits, "available_cpus", lambda: 4)
    monkeypatch.setattr(limits, "every_cpu_busy", lambda cpus: False)
    monkeypatch.setenv("PROVSCAN_PASSIVE_WORKERS", value)
    assert workers_for([]) == 1  # no capture bytes: one process, the default
    err = capsys.readouterr().err
    assert err == (
        f"provscan: warning: PROVSCAN_PASSIVE_WORKERS={value!r} is not a whole number (1 to 2): "
        "ignored, using the default (2 for large captures when a CPU is free, else 1)\n"
    )
    monkeypatch.setenv("PROVSCAN_PASSIVE_WORKERS", "2")
    assert workers_for([]) == 2


def test_a_bad_knowledge_max_age_is_warned_with_the_default_and_still_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pack = active_pack()
    monkeypatch.setenv("PROVSCAN_KNOWLEDGE_MAX_AGE_DAYS", "half a year")
    fresh = date.fromisoformat(pack.as_of) + timedelta(days=10)
    assert staleness_warning(pack, today=fresh) == (
        "PROVSCAN_KNOWLEDGE_MAX_AGE_DAYS='half a year' is not a whole number of days (1 or "
        "more): ignored, using the default, 180 days"
    )
    # was "knowledge status unknown", the age never checked: the default limit still applies
    old = date.fromisoformat(pack.as_of) + timedelta(days=400)
    stale = staleness_warning(pack, today=old)
    assert stale is not None and stale.startswith("PROVSCAN_KNOWLEDGE_MAX_AGE_DAYS=")
    assert "400 days old" in stale and "limit 180 days" in stale


def test_a_scan_with_a_bad_sweep_worker_count_says_so_in_one_line() -> None:
    """The real command (one loopback address, port 1, nothing stored)."""
    env = {
        **os.environ,
        "PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128",
        "PROVSCAN_SWEEP_WORKERS": "abc",
    }
    arguments = ["scan", "127.0.0.1", "-p", "1", "--no-discovery", "--no-db", "-q", "-f", "json"]
    done = subprocess.run(
        [sys.executable, "-m", "provscan", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if "PROVSCAN_SWEEP_WORKERS" in line]
    assert warned == [
        "provscan: warning: PROVSCAN_SWEEP_WORKERS='abc' is not a whole number (1 or more): "
        "ignored, using the default (one process per CPU up to 4, for large ranges)"
    ]
