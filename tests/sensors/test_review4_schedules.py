"""Fourth review, schedules: cron lines and intervals checked fully (item 7, CLI and console),
a schedule for a site nobody knows refused when added and a run the central cannot sign
recorded (item 8), and runs that do not pile up while a sensor is away (item 11). A real
RabbitMQ virtual host of this module's own, real PostgreSQL and SQLite stores."""

from __future__ import annotations

import json
import re
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from review4_tools import depth, own_vhost, write_key
from typer.testing import CliRunner

from provscan.cli import app
from provscan.sensors.broker import site_queue
from provscan.sensors.central import Central, SiteKeys
from provscan.store.db import Store, open_store
from provscan.store.sensors import Schedule
from provscan.web.app import create_app

with warnings.catch_warnings():
    # starlette asks for its httpx fork; the tests use httpx itself
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

SITE = "r4-sched"
PASSWORD = "review-four-password"


@pytest.fixture(scope="module")
def vhost() -> Iterator[str]:
    with own_vhost() as url:
        yield url


@pytest.fixture
def known_site(postgres_url: str) -> str:
    """The module's PostgreSQL store, where a sensor of SITE has reported."""
    with open_store(postgres_url) as store:
        store.fleet().heartbeat(
            f"{SITE}/host", SITE, version="t", knowledge_version=None, queue_depth=0,
            allow=["127.0.1.0/24"],
        )  # fmt: skip
    return postgres_url


def _add(db: str, *args: str) -> Any:
    done = CliRunner().invoke(
        app, ["schedule", "add", "--db", db, "--targets", "127.0.1.0/24", *args]
    )
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done


def _refused(done: Any, said: str) -> None:
    assert done.exit_code == 2, done.output
    assert said in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_review4_schedule_add_checks_cron_lines_and_intervals(known_site: str) -> None:
    site = ("--site", SITE)
    for cron, said in (
        ("1,2,,3 * * * *", "the minute field '1,2,,3' is not valid (0-59): empty part"),
        ("5-1 * * * *", "the minute field's range 5-1 runs backwards"),
        ("0 6 * * 8", "the day-of-week field '8' is not valid (0-7, 0 and 7 are Sunday)"),
        ("0 24 * * *", "the hour field '24' is not valid (0-23)"),
        ("0 0 31 2 *", "never occurs"),
    ):
        _refused(_add(known_site, *site, "--cron", cron), said)
    _refused(_add(known_site, *site, "--every", "99999d"), "at least once in 366 days")
    # the longest interval is stored (PostgreSQL's integer holds it)
    longest = _add(known_site, *site, "--every", "366d")
    assert longest.exit_code == 0, longest.stderr
    assert json.loads(longest.stdout)["every_seconds"] == 366 * 86400
    # 7 is Sunday in the day-of-week field, as cron reads it, alone and in a range
    for cron, days in (("0 6 * * 7", {7}), ("0 6 * * 5-7", {5, 6, 7})):
        added = _add(known_site, *site, "--cron", cron)
        assert added.exit_code == 0, added.stderr
        first = datetime.fromisoformat(json.loads(added.stdout)["next_run"])
        assert first.isoweekday() in days and (first.hour, first.minute) == (6, 0)
        assert first - datetime.now(UTC) <= timedelta(days=7)


def _form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "no CSRF token in the page"
    return found.group(1)


def test_review4_the_console_answers_a_bad_schedule_with_400(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    with open_store(url) as store:
        store.accounts().add_user("admin", "admin", PASSWORD, actor="test", address="cli")
    with TestClient(create_app(url), raise_server_exceptions=False) as client:
        token = _form_token(client.get("/login").text)
        logged = client.post(
            "/login",
            data={"name": "admin", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert logged.status_code == 303
        token = _form_token(client.get("/").text)
        wanted = {"csrf_token": token, "site": SITE, "targets": "127.0.1.0/28", "every": "12h"}
        for bad, said in (
            ({"every": "", "cron": "1,2,,3 * * * *"}, "empty part"),
            ({"every": "", "cron": "0 6 * * 8"}, "day-of-week"),
            ({"every": "99999d"}, "at least once in 366 days"),
        ):
            refused = client.post("/schedules", data={**wanted, **bad})
            assert refused.status_code == 400, (bad, refused.status_code)
            assert said in refused.text, (bad, refused.text[-600:])
        sunday = client.post(
            "/schedules", data={**wanted, "every": "", "cron": "0 6 * * 7"}, follow_redirects=False
        )
        assert sunday.status_code == 303
    with open_store(url) as store:
        assert [s.cron for s in store.fleet().schedules()] == ["0 6 * * 7"]


def test_review4_schedule_add_refuses_a_site_nobody_knows(known_site: str) -> None:
    unknown = _add(known_site, "--site", "r4-nobody", "--every", "1h")
    _refused(unknown, "no sensor of site 'r4-nobody' has reported to")
    assert f"known sites: {SITE}" in unknown.stderr or f"{SITE}," in unknown.stderr
    assert "--new-site" in unknown.stderr and "r4-nobody.key" in unknown.stderr
    typo = _add(known_site, "--site", SITE.upper(), "--every", "1h")
    _refused(typo, f"did you mean {SITE!r}?")
    with open_store(known_site) as store:
        assert not any(s.site in ("r4-nobody", SITE.upper()) for s in store.fleet().schedules())
    # said on purpose, it is added
    added = _add(known_site, "--site", "r4-nobody", "--every", "1h", "--new-site")
    assert added.exit_code == 0, added.stderr
    assert json.loads(added.stdout)["site"] == "r4-nobody"


def _schedule(store: Store, schedule_id: int) -> Schedule:
    (found,) = [s for s in store.fleet().schedules() if s.id == schedule_id]
    return found


def test_review4_a_run_the_central_cannot_sign_is_a_refused_job(
    vhost: str, postgres_url: str, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    write_key(keys / f"{SITE}.key", SITE)  # the central has no key for r4-nokey
    now = datetime.now(UTC)
    with open_store(postgres_url) as store:
        schedule = store.fleet().add_schedule(
            "r4-nokey", ["127.0.1.0/28"], every_seconds=3600, cron=None, next_run=now
        )
        central = Central(store, vhost, SiteKeys(keys))
        assert central.run_schedule(schedule, now) is None
        # Then the schedule's last job exists, refused, naming the missing key
        after = _schedule(store, schedule.id)
        assert after.last_job is not None and after.next_run == now + timedelta(hours=1)
        job = store.fleet().job(after.last_job)
        assert job is not None and job.state == "refused", job
        assert job.detail == (
            f"not sent: no key for site 'r4-nokey': put it in {keys}/r4-nokey.key"
        )
        assert job.requested_by == f"schedule:{schedule.id}"
    # and nothing was sent
    assert depth(vhost, site_queue("r4-nokey").name) == 0


def test_review4_runs_do_not_pile_up_while_the_sensor_is_away(
    vhost: str, postgres_url: str, tmp_path: Path
) -> None:
    site = f"r4-away-{uuid.uuid4().hex[:6]}"
    keys = tmp_path / "keys"
    keys.mkdir()
    write_key(keys / f"{site}.key", site)
    queue = site_queue(site).name
    start = datetime.now(UTC)
    with open_store(postgres_url) as store:
        fleet = store.fleet()
        made = fleet.add_schedule(
            site, ["127.0.1.0/28"], every_seconds=120, cron=None, next_run=start
        )
        central = Central(store, vhost, SiteKeys(keys))
        # Given a run sent while no sensor of the site runs
        first = central.run_schedule(_schedule(store, made.id), start)
        assert first is not None and depth(vhost, queue) == 1
        # When the next two runs fall due while it still waits
        for minutes in (2, 4):
            at = start + timedelta(minutes=minutes)
            assert central.run_schedule(_schedule(store, made.id), at) is None
            # Then each is recorded as skipped (the schedule's last job), nothing more is sent
            skipped = fleet.job(_schedule(store, made.id).last_job or "")
            assert skipped is not None and skipped.state == "skipped", skipped
            assert f"the previous run, job {first}, still waits" in (skipped.detail or "")
            assert depth(vhost, queue) == 1
        # When the sensor took and finished the waiting run, the next run is sent again
        fleet.finish_job(first, "done", sensor=f"{site}/host")
        again = central.run_schedule(_schedule(store, made.id), start + timedelta(minutes=6))
        assert again is not None and depth(vhost, queue) == 2
        states = [job.state for job in fleet.jobs(site=site)]
        assert sorted(states) == ["done", "queued", "skipped", "skipped"]
