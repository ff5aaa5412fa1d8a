"""A site spelt otherwise than the stored one is refused before anything is sent or stored.

A Crown corporation's `provscan scan 127.77.1.0/24 --site Ottawa` beside a stored "ottawa"
made a second site: every device stored twice, new cases, the remaining count doubled. The
API, `report --site` and `schedule add` refused such a name; the commands that store at a
site did not. Now the store's one check (``Store.require_one_spelling``) refuses it for all of
them, with exit 2 and one line naming the stored spelling; a new site still works.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inventory_verdicts import golden_copy
from provscan.errors import StoreRequestError
from provscan.lab.server import Lab
from provscan.store.db import open_store, spelt_otherwise
from provscan.store.inventory import coverage_ranges


def _provscan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _sites(database: Path) -> list[str]:
    with open_store(f"sqlite:///{database}") as store:
        return sorted((scan.site or "") for scan in store.scans(None))


@pytest.fixture
def ottawa(tmp_path: Path) -> Path:
    """A store holding one scan of the site "ottawa"."""
    database = tmp_path / "crown.db"
    with open_store(f"sqlite:///{database}") as store:
        store.save_document(
            golden_copy("scan-ottawa", 10, slice(0, 2)),
            site="ottawa",
            coverage=coverage_ranges(["127.0.40.0/24"]),
        )
    return database


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, str, int]]:
    """A TCP listener on loopback that no one else uses: whatever connects is counted."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.91.7", 0))
    server.listen(16)
    server.setblocking(False)
    try:
        yield server, "127.0.91.7", server.getsockname()[1]
    finally:
        server.close()


def _connections(server: socket.socket) -> int:
    count = 0
    while True:
        try:
            accepted, _ = server.accept()
        except BlockingIOError:
            return count
        accepted.close()
        count += 1


# -- the store's one rule ------------------------------------------------------------------


def test_spelt_otherwise_is_the_same_name_but_for_case_and_surrounding_spaces() -> None:
    known = ["hq", "ottawa", "site-b"]
    assert spelt_otherwise("Ottawa", known) == "ottawa"
    assert spelt_otherwise("OTTAWA", known) == "ottawa"
    assert spelt_otherwise(" ottawa ", known) == "ottawa"
    assert spelt_otherwise("ottawa", known) is None  # spelt as stored
    assert spelt_otherwise("ottawa-east", known) is None  # another site
    assert spelt_otherwise("Toronto", known) is None


def test_the_store_refuses_a_second_spelling_of_a_scan_or_fleet_site(ottawa: Path) -> None:
    with open_store(f"sqlite:///{ottawa}") as store:
        with pytest.raises(StoreRequestError, match=r"did you mean 'ottawa'\?"):
            store.require_one_spelling("Ottawa")
        store.require_one_spelling("ottawa")
        store.require_one_spelling("toronto")
        store.require_one_spelling(None)
        # a site only a schedule names (no scan stored there yet) is a site too
        store.fleet().add_schedule(
            "Quebec", ["127.0.92.0/24"], every_seconds=3600, cron=None, next_run=datetime.now(UTC)
        )
        with pytest.raises(StoreRequestError, match=r"did you mean 'Quebec'\?"):
            store.require_one_spelling("quebec")


# -- the commands that store at a site -----------------------------------------------------


@pytest.mark.parametrize("spelling", ["Ottawa", "OTTAWA", " ottawa "])
def test_scan_refuses_a_second_spelling_before_sending_anything(
    ottawa: Path, listener: tuple[socket.socket, str, int], spelling: str
) -> None:
    server, address, port = listener
    done = _provscan(
        "scan", address, "--ports", str(port), "--no-discovery", "--site", spelling,
        "--db", str(ottawa),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("provscan: error: "), done.stderr
    assert "did you mean 'ottawa'" in lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert _connections(server) == 0  # nothing was sent
    assert _sites(ottawa) == ["ottawa"]  # nothing was stored


def test_scan_of_a_new_site_or_the_stored_spelling_is_stored(
    ottawa: Path, lab: Lab, tmp_path: Path
) -> None:
    device = next(d for d in lab.devices if not d.expect.hostile)
    ports = ",".join(str(s.port) for s in device.services)
    for site in ("toronto", "ottawa"):
        done = _provscan(
            "scan", device.address, "--ports", ports, "--no-discovery", "-q", "--site", site,
            "--db", str(ottawa),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert _sites(ottawa) == ["ottawa", "ottawa", "toronto"]


def test_import_refuses_a_second_spelling_and_stores_nothing(ottawa: Path, tmp_path: Path) -> None:
    assets = tmp_path / "assets.csv"
    assets.write_text("ip,maker,model\n127.0.93.1,Hikvision,DS-2CD2143G2-I\n")
    done = _provscan("import", str(assets), "--site", "Ottawa", "--db", str(ottawa))
    assert done.returncode == 2, done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if "warning" not in ln]
    assert line.startswith("provscan: error: ") and "did you mean 'ottawa'" in line
    assert _sites(ottawa) == ["ottawa"]
    # and the stored spelling imports as before
    done = _provscan("import", str(assets), "--site", "ottawa", "--db", str(ottawa))
    assert done.returncode == 0, done.stderr
    assert _sites(ottawa) == ["ottawa", "ottawa"]
