"""Celery beat runs the central's schedules from its database (issue 17, point 4): two
centrals on one real PostgreSQL database and one real RabbitMQ virtual host, each with its
beat; no sensor (the requests wait in the site's queue, counted there)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kombu.connection import Connection
from sensors_tools import wait_for

from provscan.sensors import beat as beat_module
from provscan.sensors.beat import StoreScheduler, cron_schedule
from provscan.sensors.broker import make_app, queue_depth, site_queue
from provscan.sensors.central import Central, SiteKeys
from provscan.sensors.messages import new_key
from provscan.store.db import Store, open_store

SITE = "site-beat"


@pytest.fixture
def keys(tmp_path: Path) -> SiteKeys:
    path = tmp_path / f"{SITE}.key"
    path.write_text(new_key() + "\n")
    path.chmod(0o600)
    return SiteKeys(tmp_path)


@pytest.fixture
def site_queue_emptied(broker_url: str) -> Iterator[None]:
    """The test site's queue is deleted afterwards (no other test's sensor ever sees it)."""
    yield
    with Connection(broker_url) as connection:
        site_queue(SITE)(connection.default_channel).delete()


def _jobs_of(store: Store, schedule_id: int) -> list[str]:
    return [
        job.id
        for job in store.fleet().jobs(site=SITE, limit=1000)
        if job.requested_by == f"schedule:{schedule_id}"
    ]


def test_sensors_beat_runs_stored_schedules_once_across_two_centrals(
    broker_url: str,
    postgres_url: str,
    keys: SiteKeys,
    site_queue_emptied: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Beat reads the table every 0.3 s here (5 s in the central)
    monkeypatch.setattr(beat_module, "READ_SECONDS", 0.3)
    now = datetime.now(UTC)
    with open_store(postgres_url) as store, open_store(postgres_url) as other_store:
        fleet = store.fleet()
        # Given an hourly schedule whose last five runs were missed, a daily cron schedule
        # three days late, one not due for an hour, and one due in a few seconds
        hourly = fleet.add_schedule(
            SITE, ["127.0.9.1"], every_seconds=3600, cron=None, next_run=now - timedelta(hours=5)
        )
        daily = fleet.add_schedule(
            SITE, ["127.0.9.2"], every_seconds=None, cron="0 3 * * *",
            next_run=now - timedelta(days=3),
        )  # fmt: skip
        later = fleet.add_schedule(
            SITE, ["127.0.9.3"], every_seconds=3600, cron=None, next_run=now + timedelta(hours=1)
        )
        removed = fleet.add_schedule(
            SITE, ["127.0.9.4"], every_seconds=3600, cron=None, next_run=now + timedelta(seconds=4)
        )
        # When two centrals share the database, each with its beat
        centrals = [Central(store, broker_url, keys), Central(other_store, broker_url, keys)]
        for central in centrals:
            central.start()
        try:
            # and the soon-due schedule is removed before its time
            fleet.remove_schedule(removed.id)
            # Then the missed schedules run at once
            wait_for("the missed schedules' jobs", lambda: _jobs_of(store, hourly.id), 20)
            wait_for("the late cron schedule's job", lambda: _jobs_of(store, daily.id), 20)
            # and a schedule added while beat runs is seen at its next read of the table
            fresh = fleet.add_schedule(
                SITE, ["127.0.9.5"], every_seconds=600, cron=None,
                next_run=datetime.now(UTC) + timedelta(seconds=1),
            )  # fmt: skip
            wait_for("the new schedule's job", lambda: _jobs_of(store, fresh.id), 20)
            time.sleep(5)  # many more reads and ticks of both beats, and the removed one's time
            # Each beat is Celery's, with the store's scheduler holding the table's rows
            for central in centrals:
                scheduler = central._beat.service.scheduler
                assert isinstance(scheduler, StoreScheduler)
                assert set(scheduler.data) == {
                    f"provscan-schedule-{s.id}" for s in (hourly, daily, later, fresh)
                }
        finally:
            for central in centrals:
                central.stop()
        # Then each due schedule ran once in all, whichever central claimed it; the one not
        # due and the removed one did not run
        counts = {
            name: len(_jobs_of(store, s.id))
            for name, s in {
                "hourly": hourly, "daily": daily, "later": later, "removed": removed,
                "fresh": fresh,
            }.items()
        }  # fmt: skip
        assert counts == {"hourly": 1, "daily": 1, "later": 0, "removed": 0, "fresh": 1}
        # and each request is in the site's queue, signed, once
        assert queue_depth(make_app(broker_url, "t", []), site_queue(SITE)) == 3
        after = {s.id: s for s in fleet.schedules()}
        # the hourly one runs next an hour after its run (not five times to catch up)
        (job_id,) = _jobs_of(store, hourly.id)
        ran = after[hourly.id].last_run
        assert after[hourly.id].last_job == job_id and ran is not None and ran > now
        assert after[hourly.id].next_run == ran + timedelta(hours=1)
        # the cron one at the next 03:00 UTC after its run
        ran = after[daily.id].last_run
        assert ran is not None
        base = ran.replace(second=0, microsecond=0)
        expected = base + cron_schedule("0 3 * * *", now=base).remaining_estimate(base)
        assert after[daily.id].next_run == expected
        assert expected.hour == 3 and expected.minute == 0 and expected > ran
        assert after[later.id].next_run == later.next_run and after[later.id].last_job is None
