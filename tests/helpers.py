"""Shared test helpers (importable as `helpers`)."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import json
import os
import pty
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pytest

from provscan.lab.server import load_devices
from provscan.lab.spec import DeviceSpec, Expectation, Identity, ServiceSpec
from provscan.model import ScanResult
from provscan.transport.limits import DEFAULT_PORTS, ScanLimits

#: Short deadlines keep the suite fast; hostile devices are bounded by these.
TEST_LIMITS = dataclasses.replace(
    ScanLimits(),
    connect_timeout_s=1.0,
    read_timeout_s=1.0,
    per_connection_deadline_s=2.5,
    per_host_deadline_s=15.0,
)


def scan_addresses(
    addresses: list[str],
    limits: ScanLimits = TEST_LIMITS,
    ports: Sequence[int] = DEFAULT_PORTS,
) -> ScanResult:
    """A real scan over loopback through the whole pipeline."""
    from provscan.pipeline import run_scan
    from provscan.targets import build_targets

    targets = build_targets(addresses)
    return asyncio.run(run_scan(targets, addresses, ports, limits=limits))


#: Each test session serves the lab on its own 127.N.0.0/16, so that several sessions (a
#: developer's and CI's, or parallel runs) never collide on the bundled 127.77.x.y addresses.
SESSION_OCTET = 130 + os.getpid() % 100


def _session_address(address: str) -> str:
    parts = address.split(".")
    parts[1] = str(SESSION_OCTET)
    return ".".join(parts)


SESSION_DEVICES: list[DeviceSpec] = [
    device.model_copy(update={"address": _session_address(device.address)})
    for device in load_devices()
]


def run_in_terminal(
    argv: Sequence[str], columns: int, timeout: float = 120, *, stderr_too: bool = False
) -> list[str]:
    """The standard output lines of ``argv`` run with a pseudo-terminal of ``columns`` as its
    standard output (``NO_COLOR``; stderr captured); asserts the command exits 0.

    ``stderr_too``: stderr goes to the terminal as well, so progress bars are drawn; their
    frames stay in the lines with the terminal's control sequences (``\r`` removed)."""
    leader, follower = pty.openpty()
    environment = os.environ | {"COLUMNS": str(columns), "NO_COLOR": "1"}
    environment.pop("LINES", None)
    with subprocess.Popen(
        list(argv),
        stdout=follower,
        stderr=follower if stderr_too else subprocess.PIPE,
        env=environment,
    ) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError as exc:  # the terminal closes when the child exits
                assert exc.errno == errno.EIO
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        status = process.wait(timeout=timeout)
        assert status == 0, process.stderr.read() if process.stderr else ""
    return b"".join(chunks).decode("utf-8").replace("\r", "").splitlines()


def run_provscan(
    *args: str,
    width: int | None = None,
    env: Mapping[str, str] | None = None,
    unset: Sequence[str] = ("LINES",),
    cwd: Path | None = None,
    timeout: float = 120,
    stdin: int | IO[bytes] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m provscan ARGS`` as a user runs it, its output as text: ``width`` sets
    COLUMNS (and NO_COLOR), ``env`` adds variables, ``unset`` removes some (LINES by default:
    a terminal's own would change the layout under test), ``stdin`` is its standard input
    (a file opened for reading, a pipe's end, a descriptor, ``subprocess.DEVNULL``; None: this
    process's own). Never raises on the exit code."""
    environment = dict(os.environ)
    if width is not None:
        environment |= {"COLUMNS": str(width), "NO_COLOR": "1"}
    environment |= dict(env or {})
    for name in unset:
        environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=environment,
        cwd=cwd,
        stdin=stdin,
    )


#: The PostgreSQL test server (the machine's own, trust authentication).
POSTGRES_SERVER = os.environ.get("PROVSCAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


@contextmanager
def throwaway_postgres_database(prefix: str = "provscan_test") -> Iterator[str]:
    """The URL of a new, empty database on the test server, dropped afterwards (skips when
    there is no server, except on CI, where it fails)."""
    psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server at {POSTGRES_SERVER}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{POSTGRES_SERVER}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def open_case_on(url: str, case_id: int, when: datetime) -> None:
    """Backdate the opening of case ``case_id`` in the store at ``url`` to ``when``, as a scan
    that long ago would have opened it: the store refuses a due date before a case was
    opened, so a test that needs an overdue case first makes it an old one."""
    from sqlalchemy import create_engine, make_url, update

    from provscan.store.models import CaseRow

    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(parsed)
    try:
        with engine.begin() as connection:
            connection.execute(update(CaseRow).where(CaseRow.id == case_id).values(opened_at=when))
    finally:
        engine.dispose()


def onvif_only_device(device_id: str, address: str, manufacturer: str, model: str) -> DeviceSpec:
    """A lab device on port 80 that answers ONVIF GetDeviceInformation without credentials
    with only ``manufacturer`` and ``model`` (every other path 404): what a scan reads of a
    camera that names its brand and model and nothing else."""
    return DeviceSpec(
        id=device_id,
        address=address,
        description=f"{manufacturer} {model} (ONVIF only)",
        identity=Identity(brand=manufacturer, model=model),
        expect=Expectation(),
        sources=["test fixture"],
        services=[
            ServiceSpec(
                port=80,
                protocol="http",
                options={
                    "default": {"status": 404, "headers": [], "body": ""},
                    "onvif": {
                        "device_info_unauthenticated": True,
                        "manufacturer": manufacturer,
                        "model": model,
                    },
                },
            )
        ],
    )


def screened_rows(cli: Any, path: Path, *options: str) -> list[dict[str, Any]]:
    """``provscan screen PATH -f json --quiet OPTIONS`` through the CLI fixture: its rows."""
    result = cli("screen", str(path), "-f", "json", "--quiet", *options)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)["rows"]
    return rows
