"""Sites and sensors in the console (issue 17): which sensor is silent and since when, each
site's scan jobs and their state, a scan sent to a site from the console, and the schedules
(read by everyone, added and removed by admins only, audited)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pagetools import accessibility_problems, form_token, inline, page_log_in, table_rows
from webtools import HOSTILE, TestClient

from provscan.sensors.central import SiteKeys
from provscan.store.db import Store, open_store
from provscan.store.sensors import ScanJob
from provscan.web.app import create_app

ESCAPED = "&lt;script&gt;alert(&#34;pwn&#34;)&lt;/script&gt;"


def _fleet(store_url: str) -> None:
    """Site north with a sensor that answers, site south with one silent for three hours
    and one whose name and version are markup; jobs in every state; two schedules."""
    now = datetime.now(UTC)
    with open_store(store_url) as store:
        fleet = store.fleet()
        fleet.heartbeat(
            "north-1", "north", version="0.9.0", knowledge_version="2026.12.1",
            queue_depth=0, allow=["127.0.0.0/24"], at=now - timedelta(seconds=10),
        )  # fmt: skip
        fleet.heartbeat(
            "south-1", "south", version="0.9.0", knowledge_version="2026.11.3",
            queue_depth=4, allow=["127.0.1.0/24"], at=now - timedelta(hours=3, minutes=5),
        )  # fmt: skip
        fleet.heartbeat(
            HOSTILE, "south", version=HOSTILE, knowledge_version=HOSTILE,
            queue_depth=None, allow=[HOSTILE], at=now - timedelta(days=2),
        )  # fmt: skip
        done = fleet.add_job("d" * 32, "north", ["127.0.0.1"], requested_by="analyst")
        fleet.mark_running(done.id, "north-1")
        fleet.finish_job(
            done.id, "done", sensor="north-1", scan_id="20260102T120000Z-beef",
            hosts=1, devices=2, restricted=1,
        )  # fmt: skip
        fleet.add_job("q" * 32, "south", ["127.0.1.0/28"], requested_by="analyst")
        refused = fleet.add_job("r" * 32, "north", ["127.0.9.9"], requested_by=HOSTILE)
        fleet.finish_job(refused.id, "refused", sensor="north-1", detail=HOSTILE)
        fleet.add_schedule(
            "north", ["127.0.0.0/28"], every_seconds=86400, cron=None,
            next_run=now + timedelta(hours=5),
        )  # fmt: skip
        fleet.add_schedule(
            "south", ["127.0.1.0/28"], every_seconds=None, cron="0 3 * * 1",
            next_run=now + timedelta(days=2),
        )  # fmt: skip


@pytest.fixture
def sites(store_url: str) -> TestClient:
    _fleet(store_url)
    return TestClient(create_app(store_url), raise_server_exceptions=False)


def _get(client: TestClient, url: str) -> str:
    response = client.get(url, follow_redirects=False)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    html = response.text
    assert HOSTILE not in html and "<script>alert" not in html, url
    assert inline(html) == [] and accessibility_problems(html) == [], url
    return html


def _audit(store_url: str, action: str) -> list[dict[str, Any]]:
    with open_store(store_url) as store:
        return [e for e in store.accounts().audit_log(1000) if e["action"] == action]


def test_the_sites_page_says_which_sensor_is_silent_and_since_when(
    sites: TestClient, store_url: str
) -> None:
    with sites:
        page_log_in(sites, "viewer")
        html = _get(sites, "/sites")
        rows = {row[0]: row for row in table_rows(html, "sites-table")}
        assert rows["north"][1] == "answering" and rows["north"][2:] == ["1", "0", "0"]
        # south: every sensor silent, since the newest heartbeat; one scan waits
        assert rows["south"][1].startswith("silent since") and "(for 3 h 5 min)" in rows["south"][1]
        assert rows["south"][2:] == ["2", "1", "0"]
        with open_store(store_url) as store:
            south = {s["name"]: s for s in store.fleet().sensors("south")}
        newest = south["south-1"]["last_heartbeat"][:19].replace("T", " ")
        assert newest in rows["south"][1]
        sensors = table_rows(html, "sensors-south")
        by_name = {row[0]: row for row in sensors}
        assert by_name["south-1"][1].startswith("silent since " + newest)
        assert by_name["south-1"][3:7] == ["0.9.0", "2026.11.3", "4", "127.0.1.0/24"]
        assert "(for 2 d 0 h)" in by_name[HOSTILE][1]  # device-free text, still shown as text
        assert ESCAPED in html
        north = {row[0]: row for row in table_rows(html, "sensors-north")}
        assert north["north-1"][1] == "answering"
        # the schedules, read-only for a viewer
        schedules = table_rows(html, "schedules-table")
        assert [row[5] for row in schedules] == ["every 1d", "cron 0 3 * * 1 (UTC)"]
        assert [row[2] for row in schedules] == ["scan", "scan"]
        assert 'action="/schedules' not in html and "needs the admin role" in html


def test_a_site_page_lists_its_scan_jobs_and_their_state(sites: TestClient) -> None:
    with sites:
        page_log_in(sites, "viewer")
        html = _get(sites, "/sites/north")
        jobs = table_rows(html, "site-jobs")
        states = sorted(row[2].split(":")[0] for row in jobs)
        assert states == ["done", "refused"]
        done = next(row for row in jobs if row[2] == "done")
        assert done[1] == "scan"
        assert done[7:] == ["north-1", "1", "2", "1", "20260102T120000Z-beef"]
        assert 'href="/scans/20260102T120000Z-beef"' in html  # the stored scan's page
        assert ESCAPED in html  # the refusal's detail and who asked, as text
        assert 'action="/scans"' not in html  # a viewer cannot send a scan
        south = _get(sites, "/sites/south")
        assert [row[2] for row in table_rows(south, "site-jobs")] == ["queued"]
        assert "silent" in south
        assert sites.get("/sites/nowhere").status_code == 404
        assert sites.get(f"/sites/{HOSTILE}").status_code == 404


class _Central:
    """The central's seam for a request (``request_scan``): the job is recorded in the real
    store as the central records it; nothing is sent (no broker in this test)."""

    def __init__(self, store: Store, keys: Path) -> None:
        self.store = store
        self.asked: list[tuple[str, list[str]]] = []
        # the central's site keys (a directory holding none here), as Central has them
        self.keys = SiteKeys(keys)

    def request_scan(
        self, site: str, targets: Sequence[str], *, requested_by: str, **options: Any
    ) -> ScanJob:
        self.asked.append((site, list(targets)))
        return self.store.fleet().add_job(
            uuid.uuid4().hex, site, list(targets), requested_by=requested_by
        )

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


def test_an_analyst_sends_a_scan_to_a_site_from_the_console(store_url: str, tmp_path: Path) -> None:
    _fleet(store_url)
    with TestClient(
        create_app(store_url, central=lambda store: _Central(store, tmp_path / "keys")),
        raise_server_exceptions=False,
    ) as client:
        token = page_log_in(client, "analyst")
        # the scans page offers the known sites, each with its sensors' state
        scans = _get(client, "/scans")
        assert 'list="known-sites"' in scans
        assert '<option value="north">north — 1 sensor answering</option>' in scans
        assert '<option value="south">south — sensor silent</option>' in scans
        # the site page has its own form, the site fixed
        site_page = _get(client, "/sites/north")
        assert '<input type="hidden" name="site" value="north">' in site_page
        sent = client.post(
            "/scans",
            data={"csrf_token": token, "site": "north", "targets": "127.0.0.5", "ports": "80"},
            follow_redirects=False,
        )
        assert sent.status_code == 303, sent.text
        central = client.app.state.central  # type: ignore[attr-defined]
        assert central.asked == [("north", ["127.0.0.5"])]
        job_page = _get(client, sent.headers["location"])
        assert "queued" in job_page and "site north" in job_page
        # no event stream from a sensor: the page refreshes itself until the job ends
        assert '<meta http-equiv="refresh" content="5">' in job_page
        done = _get(client, "/scans/jobs/" + "d" * 32)
        assert "http-equiv" not in done and 'href="/scans/20260102T120000Z-beef"' in done
        counts = dict(re.findall(r"<dt>(\w+)</dt><dd>([^<]*)</dd>", done))
        assert counts == {"Hosts": "1", "Devices": "2", "Restricted": "1"}
        # the job is on the site's page and on the scans page
        job_id = sent.headers["location"].rsplit("/", 1)[1]
        assert f'href="/scans/jobs/{job_id}"' in _get(client, "/sites/north")
        assert f'href="/scans/jobs/{job_id}"' in _get(client, "/scans")
        # a public target is refused before anything is asked of the central
        public = client.post(
            "/scans", data={"csrf_token": token, "site": "north", "targets": "8.8.8.8"}
        )
        assert public.status_code == 400 and len(central.asked) == 1
        # a viewer cannot send one
        client.cookies.clear()
        viewer = page_log_in(client, "viewer")
        refused = client.post(
            "/scans", data={"csrf_token": viewer, "site": "north", "targets": "127.0.0.6"}
        )
        assert refused.status_code == 403 and len(central.asked) == 1


def test_an_admin_adds_and_removes_a_schedule(sites: TestClient, store_url: str) -> None:
    with sites:
        token = page_log_in(sites, "admin")
        html = _get(sites, "/sites")
        for field in ("site", "targets", "every", "cron", "ports"):
            assert f'<label for="schedule-{field}">' in html
        wanted = {"csrf_token": token, "site": "west", "targets": "127.0.2.0/28", "every": "12h"}
        added = sites.post("/schedules", data=wanted, follow_redirects=False)
        assert added.status_code == 303
        assert added.headers["location"] == "/sites?done=schedule-added#schedules"
        after = _get(sites, "/sites?done=schedule-added")
        assert "The schedule was added." in after
        with open_store(store_url) as store:
            schedules = store.fleet().schedules()
        west = [s for s in schedules if s.site == "west"]
        assert len(west) == 1 and west[0].every_seconds == 12 * 3600
        assert west[0].targets == ["127.0.2.0/28"]
        # a cron schedule's first run is the cron line's next minute
        cron = {**wanted, "every": "", "cron": "30 2 * * *", "ports": "80, 554"}
        assert sites.post("/schedules", data=cron, follow_redirects=False).status_code == 303
        with open_store(store_url) as store:
            newest = store.fleet().schedules()[-1]
        assert (newest.cron, newest.ports) == ("30 2 * * *", [80, 554])
        assert (newest.next_run.hour, newest.next_run.minute) == (2, 30)
        # refused: both or neither of interval and cron, a bad site, a host name, public
        for bad, message in (
            ({"cron": "0 1 * * *"}, "one of them"),
            ({"every": ""}, "one of them"),
            ({"site": "no such/site"}, "site name"),
            ({"targets": "camera.example"}, "no host names"),
            ({"targets": "8.8.8.8"}, "public"),
            ({"every": "10s"}, "at most once a minute"),
            ({"every": "", "cron": "not cron"}, "five fields"),
            ({"ports": "99999"}, "1-65535"),
        ):
            refused = sites.post("/schedules", data={**wanted, **bad})
            assert refused.status_code == 400, bad
            assert message in refused.text, (bad, refused.text[-600:])
            assert HOSTILE not in refused.text
        # the form keeps what was typed
        kept = sites.post("/schedules", data={**wanted, "targets": "8.8.8.8"})
        assert "8.8.8.8</textarea>" in kept.text
        with open_store(store_url) as store:
            assert len(store.fleet().schedules()) == 4
        # remove one
        removed = sites.post(
            f"/schedules/{west[0].id}/remove", data={"csrf_token": token}, follow_redirects=False
        )
        assert removed.headers["location"] == "/sites?done=schedule-removed#schedules"
        with open_store(store_url) as store:
            assert west[0].id not in {s.id for s in store.fleet().schedules()}
        assert sites.post("/schedules/4242/remove", data={"csrf_token": token}).status_code == 404
        assert sites.post("/schedules/x/remove", data={"csrf_token": token}).status_code == 404
        # both changes are in the audit log, with who made them
        assert [e["target"] for e in _audit(store_url, "schedule.add")] == [
            str(newest.id),
            str(west[0].id),
        ]
        assert _audit(store_url, "schedule.remove")[0]["actor"] == "admin"


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_below_admin_schedules_cannot_change(sites: TestClient, store_url: str, role: str) -> None:
    with sites:
        token = page_log_in(sites, role)
        html = _get(sites, "/sites")
        assert "Remove schedule" not in html
        wanted = {"csrf_token": token, "site": "west", "targets": "127.0.2.1", "every": "1h"}
        assert sites.post("/schedules", data=wanted).status_code == 403
        assert sites.post("/schedules/1/remove", data={"csrf_token": token}).status_code == 403
        with open_store(store_url) as store:
            assert len(store.fleet().schedules()) == 2


def test_schedule_forms_need_the_session_token(sites: TestClient, store_url: str) -> None:
    with sites:
        page_log_in(sites, "admin")
        html = _get(sites, "/sites")
        assert re.search(r'action="/schedules/1/remove"', html)
        token = form_token(html)
        assert token
        for data in ({}, {"csrf_token": "forged"}):
            wanted = {**data, "site": "west", "targets": "127.0.2.1", "every": "1h"}
            assert sites.post("/schedules", data=wanted).status_code == 403
            assert sites.post("/schedules/1/remove", data=data).status_code == 403
        with open_store(store_url) as store:
            assert len(store.fleet().schedules()) == 2
        assert _audit(store_url, "schedule.add") == []


def test_an_admin_schedules_capture_analyses_and_discoveries(
    sites: TestClient, store_url: str
) -> None:
    with sites:
        token = page_log_in(sites, "admin")
        html = _get(sites, "/sites")
        for field in ("kind", "captures", "interface"):
            assert f'<label for="schedule-{field}">' in html
        base = {"csrf_token": token, "site": "west", "every": "1h"}
        # a capture analysis of the files globs match on the sensor, and a discovery
        pcap = {**base, "kind": "pcap", "captures": "mirror/*.pcapng day1.pcap"}
        assert sites.post("/schedules", data=pcap, follow_redirects=False).status_code == 303
        discover = {**base, "kind": "discover"}
        assert sites.post("/schedules", data=discover, follow_redirects=False).status_code == 303
        # and a discovery on one named interface of the sensor's
        named = {**base, "kind": "discover", "interface": "eth1"}
        assert sites.post("/schedules", data=named, follow_redirects=False).status_code == 303
        with open_store(store_url) as store:
            added = store.fleet().schedules()[-3:]
        assert [(s.site, s.kind, s.captures, s.targets, s.interface) for s in added] == [
            ("west", "pcap", ["mirror/*.pcapng", "day1.pcap"], [], None),
            ("west", "discover", [], [], None),
            ("west", "discover", [], [], "eth1"),
        ]
        assert _audit(store_url, "schedule.add")[0]["detail"]["interface"] == "eth1"
        # shown with their kind, on the sites page and the site's own page
        rows = table_rows(_get(sites, "/sites"), "schedules-table")
        assert [row[2] for row in rows] == ["scan", "scan", "pcap", "discover", "discover"]
        assert rows[2][3].startswith("mirror/*.pcapng day1.pcap") and rows[2][4] == "–"
        assert rows[3][3].startswith("the sensor's first interface")
        assert rows[4][3].startswith("the sensor's interface eth1")
        west = table_rows(_get(sites, "/sites/west"), "schedules-table")
        assert [row[2] for row in west] == ["pcap", "discover", "discover"]
        # refused: what the kind does not take, a capture outside the directory, no kind
        for bad, message in (
            ({"kind": "pcap"}, "names 1 to 64 captures"),
            ({"kind": "pcap", "captures": "../etc/x.pcap"}, "no &#39;..&#39;"),
            ({"kind": "discover", "targets": "127.0.2.1"}, "takes no targets"),
            ({"targets": "127.0.2.1", "captures": "a.pcap"}, "captures are for a pcap"),
            ({"kind": "sweep"}, "a schedule sends scan, pcap, discover jobs"),
            ({"targets": "127.0.2.1", "interface": "eth1"}, "an interface is for a discover"),
            ({"kind": "discover", "interface": "eth 1"}, "is not an interface name"),
        ):
            refused = sites.post("/schedules", data={**base, **bad})
            assert refused.status_code == 400, bad
            assert message in refused.text, (bad, refused.text[-600:])
        with open_store(store_url) as store:
            assert len(store.fleet().schedules()) == 5
