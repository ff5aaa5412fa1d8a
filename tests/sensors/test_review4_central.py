"""Fourth review, the central: a result it cannot open or attribute is kept, never dropped
(items 1 and 10), a central without keys does not start (item 1), and two sensors sending
heartbeats under one name are said (item 9). A real RabbitMQ virtual host of this module's
own, real PostgreSQL and SQLite stores."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from review4_tools import depth, own_vhost, write_key
from sensors_tools import wait_for
from typer.testing import CliRunner

from provscan.cli import app
from provscan.sensors import central as central_module
from provscan.sensors.broker import PARKED_QUEUE_NAME, REPORT_TASK, RESULTS_QUEUE, send
from provscan.sensors.central import Central, SiteKeys
from provscan.sensors.messages import load_keys, new_key, seal
from provscan.store.db import Store, open_store

SITE_A, SITE_B = "r4-a", "r4-b"


@pytest.fixture(scope="module")
def vhost() -> Iterator[str]:
    with own_vhost() as url:
        yield url


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    """The sensors' keys: r4-a and r4-b (a central's directory holds some of them)."""
    directory = tmp_path / "all-keys"
    directory.mkdir()
    write_key(directory / f"{SITE_A}.key", SITE_A)
    write_key(directory / f"{SITE_B}.key", SITE_B)
    return directory


def _central_keys(tmp_path: Path, keys: Path, *sites: str) -> SiteKeys:
    directory = tmp_path / f"central-keys-{uuid.uuid4().hex[:6]}"
    directory.mkdir()
    for site in sites:
        (directory / f"{site}.key").write_bytes((keys / f"{site}.key").read_bytes())
        (directory / f"{site}.key").chmod(0o600)
    return SiteKeys(directory)


def _refused_outcome(keys: Path, site: str, job_id: str) -> dict[str, object]:
    """The signed outcome a sensor of ``site`` sends for a job it refused."""
    payload = {"job_id": job_id, "status": "refused", "detail": "r4", "sensor": f"{site}/s"}
    return seal("outcome", site, payload, load_keys(keys / f"{site}.key"))


def _state(store: Store, job_id: str) -> str:
    job = store.fleet().job(job_id)
    assert job is not None
    return job.state


def test_review4_a_result_for_a_site_without_key_is_kept_until_the_key_comes(
    vhost: str, postgres_url: str, keys: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="provscan.central")
    central_keys = _central_keys(tmp_path, keys, SITE_A)  # site-b's key is missing
    with open_store(postgres_url) as store:
        job_id = str(uuid.uuid4())
        store.fleet().add_job(job_id, SITE_B, ["127.0.2.1"], requested_by="r4")
        central = Central(store, vhost, central_keys)
        central.start(schedules=False)
        try:
            # Given a result of site-b in the results queue, which this central has no key for
            send(central.app, REPORT_TASK, _refused_outcome(keys, SITE_B, job_id), RESULTS_QUEUE)
            # Then it is moved to the parked queue (not acknowledged and dropped), the job
            # waits, and the log says what to do
            wait_for("the result to be parked", lambda: depth(vhost, PARKED_QUEUE_NAME) == 1, 20)
            assert depth(vhost, RESULTS_QUEUE.name) == 0 and _state(store, job_id) == "queued"
            said = [r.getMessage() for r in caplog.records if "kept a result" in r.getMessage()]
            assert len(said) == 1, said
            assert f"add {central_keys.directory}/{SITE_B}.key" in said[0]
            # When the key is added (no restart) and the parked results are tried again
            (central_keys.directory / f"{SITE_B}.key").write_bytes(
                (keys / f"{SITE_B}.key").read_bytes()
            )
            central.retry_parked()
            # Then the result is ingested
            wait_for("the job's outcome", lambda: _state(store, job_id) == "refused", 20)
            assert depth(vhost, PARKED_QUEUE_NAME) == 0
        finally:
            central.stop()


def test_review4_a_result_for_another_database_waits_for_its_central(
    vhost: str, postgres_url: str, keys: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="provscan.central")
    both = _central_keys(tmp_path, keys, SITE_A, SITE_B)
    job_id = str(uuid.uuid4())
    with open_store(postgres_url) as right, open_store(f"sqlite:///{tmp_path / 'w.db'}") as wrong:
        right.fleet().add_job(job_id, SITE_A, ["127.0.1.1"], requested_by="r4")
        # Given a central on another database than the one that sent the job (both share
        # the broker), the only one running when the result comes
        other = Central(wrong, vhost, both)
        other.start(schedules=False)
        try:
            send(other.app, REPORT_TASK, _refused_outcome(keys, SITE_A, job_id), RESULTS_QUEUE)
            wait_for("the result to be parked", lambda: depth(vhost, PARKED_QUEUE_NAME) == 1, 20)
        finally:
            other.stop()
        # Then it did not take it: the result waits, and the log names the database
        assert _state(right, job_id) == "queued"
        said = " ".join(r.getMessage() for r in caplog.records)
        assert f"which the database {tmp_path / 'w.db'} does not hold" in said
        # When the central that sent it runs (and tries the parked results)
        central = Central(right, vhost, both)
        central.start(schedules=False)
        try:
            central.retry_parked()
            # Then it ingests the result
            wait_for("the job's outcome", lambda: _state(right, job_id) == "refused", 20)
        finally:
            central.stop()
    assert depth(vhost, PARKED_QUEUE_NAME) == 0 and depth(vhost, RESULTS_QUEUE.name) == 0


def test_review4_a_central_without_keys_does_not_start(tmp_path: Path) -> None:
    empty = tmp_path / "keys"
    empty.mkdir()
    done = CliRunner().invoke(
        app,
        ["serve", "--db", str(tmp_path / "c.db"), "--broker", "amqp://guest:guest@127.0.0.1:5672//",
         "--sensor-keys", str(empty)],
    )  # fmt: skip
    assert done.exit_code == 2, done.output
    assert f"--sensor-keys {empty} holds no site key" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    # nor does it take a broker URL no transport reads
    done = CliRunner().invoke(
        app, ["serve", "--db", str(tmp_path / "c.db"), "--broker", "http://u:secret@127.0.0.1/"]
    )
    assert done.exit_code == 2 and "http://127.0.0.1/ is not a broker URL" in done.stderr
    assert "secret" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_review4_a_sensor_of_an_unknown_site_is_said_once_a_minute(
    keys: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.WARNING, logger="provscan.central")
    central_keys = _central_keys(tmp_path, keys, SITE_A)
    with open_store(f"sqlite:///{tmp_path / 'c.db'}") as store:
        # (ingest opens no connection: the URL names a port nothing listens on)
        central = Central(store, "amqp://guest:guest@127.0.0.1:9//", central_keys)

        def heartbeat(site: str, key: Path | bytes) -> dict[str, object]:
            ring = load_keys(key) if isinstance(key, Path) else key
            return seal("heartbeat", site, {"sensor": f"{site}/host", "at": "x"}, ring)

        # Given heartbeats of a site the central has no key for, three in a row
        for _ in range(3):
            assert central.ingest(heartbeat(SITE_B, keys / f"{SITE_B}.key")) == "ignored"
        said = [r.getMessage() for r in caplog.records]
        # Then one line says which sensor and what to do
        assert len(said) == 1, said
        assert f"'{SITE_B}/host' reports for site '{SITE_B}'" in said[0]
        assert f"add {central_keys.directory}/{SITE_B}.key" in said[0]
        # a site signed with a key the central's file does not hold gets its own advice
        assert central.ingest(heartbeat(SITE_A, bytes.fromhex(new_key()))) == "ignored"
        assert "does not hold the key it is signed with" in caplog.records[-1].getMessage()
        # and after a minute (a second here) the advice is given again
        monkeypatch.setattr(central_module, "SAY_AGAIN_SECONDS", 0.5)
        time.sleep(0.6)
        central.ingest(heartbeat(SITE_B, keys / f"{SITE_B}.key"))
        assert sum(f"add {central_keys.directory}" in r.getMessage() for r in caplog.records) == 2
        # nothing about either site was recorded
        assert store.fleet().sensors() == []


def test_review4_two_sensors_under_one_name_are_said(
    keys: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="provscan.central")
    with open_store(f"sqlite:///{tmp_path / 'c.db'}") as store:
        central = Central(store, "amqp://guest:guest@127.0.0.1:9//", SiteKeys(keys))
        ring = load_keys(keys / f"{SITE_A}.key")

        def beats(name: str, *instances: str) -> None:
            for instance in instances:
                payload = {"sensor": name, "at": "x", "instance": instance}
                assert central.ingest(seal("heartbeat", SITE_A, payload, ring)) == "heartbeat"

        # a sensor restarted: one process's heartbeats, then the next one's: nothing said
        beats("r4-a/restarted", "101-aaaaaa", "101-aaaaaa", "202-bbbbbb", "202-bbbbbb")
        assert caplog.records == []
        # two processes alive under one name: their heartbeats alternate
        beats("r4-a/host", "303-cccccc", "404-dddddd", "303-cccccc", "404-dddddd")
        said = [r.getMessage() for r in caplog.records]
        assert len(said) == 1 and "two sensors send heartbeats as 'r4-a/host'" in said[0], said
        assert "404-dddddd and 303-cccccc" in said[0] and "--name" in said[0]


def test_results_waiting_when_the_central_starts_are_parked_not_lost(
    vhost: str, postgres_url: str, keys: Path, tmp_path: Path
) -> None:
    """Results of a site without a key that wait in provscan.results when the central starts
    are delivered at once: each is parked, none acknowledged into a queue not yet declared."""
    central_keys = _central_keys(tmp_path, keys, SITE_A)  # site-b's key is missing
    with open_store(postgres_url) as store:
        central = Central(store, vhost, central_keys)
        jobs = [str(uuid.uuid4()) for _ in range(5)]
        for job_id in jobs:
            store.fleet().add_job(job_id, SITE_B, ["127.0.2.1"], requested_by="r4")
            send(central.app, REPORT_TASK, _refused_outcome(keys, SITE_B, job_id), RESULTS_QUEUE)
        wait_for("the results to wait", lambda: depth(vhost, RESULTS_QUEUE.name) == 5, 20)
        central.start(schedules=False)
        try:
            wait_for("every result parked", lambda: depth(vhost, PARKED_QUEUE_NAME) == 5, 20)
            assert depth(vhost, RESULTS_QUEUE.name) == 0
        finally:
            central.stop()
