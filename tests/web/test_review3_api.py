"""A third review of the console and API: an unknown site is a 404 on every site route (not
an empty list), a range too large for the console says what a console user can do (not
"raise --max-hosts"), and the web reads addresses with the targets module's own parser."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pagetools import page_log_in
from webtools import GOLDEN, TestClient, fill

from provscan.errors import TargetError
from provscan.report.contract import from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges
from provscan.targets import TooManyTargets, build_targets, parse_address
from provscan.web.app import create_app
from provscan.web.scans import MAX_WEB_HOSTS, ScanRefused, check_targets


def _sites(url: str) -> None:
    """The usual scans and users; a scan stored at site ``hq``; site ``north`` made by its
    sensor's heartbeat, with one job sent to it."""
    fill(url)
    raw = from_contract(GOLDEN.read_text(encoding="utf-8")).model_dump(mode="json")
    raw["scan"]["id"] = "20260301T090000Z-cafe"
    with open_store(url) as store:
        store.save_document(
            from_contract(raw), site="hq", coverage=coverage_ranges(["192.0.2.0/28"])
        )
        fleet = store.fleet()
        fleet.heartbeat(
            "north-1", "north", version="0.9.0", knowledge_version="2026.12.1",
            queue_depth=0, allow=["127.0.0.0/24"], at=datetime.now(UTC) - timedelta(seconds=5),
        )  # fmt: skip
        fleet.add_job("a" * 32, "north", ["127.0.0.1"], requested_by="analyst")


@pytest.fixture(params=["sqlite", "postgresql"])
def sites_url(
    request: pytest.FixtureRequest, tmp_path: Path, make_postgres_database: Callable[[], str]
) -> str:
    if request.param == "sqlite":
        url = normalise_db_arg(str(tmp_path / "sites.db"))
    else:
        url = make_postgres_database()
    _sites(url)
    return url


def _viewer(url: str) -> dict[str, str]:
    with open_store(url) as store:
        token = store.accounts().issue_token("viewer", actor="test", address="cli")
    return {"authorization": f"Bearer {token}"}


# --- 1. an unknown site -------------------------------------------------------------------


def test_every_site_route_refuses_an_unknown_site_with_the_known_ones(sites_url: str) -> None:
    viewer = _viewer(sites_url)
    with TestClient(create_app(sites_url), raise_server_exceptions=False) as client:
        # the site that has a job, and the one only a stored scan names, answer
        north = client.get("/api/v1/sites/north/jobs", headers=viewer)
        assert north.status_code == 200, north.text
        assert [job["id"] for job in north.json()["jobs"]] == ["a" * 32]
        assert client.get("/api/v1/sites/hq/jobs", headers=viewer).json() == {"jobs": []}
        sensors = client.get("/api/v1/sensors?site=north", headers=viewer).json()["sensors"]
        assert [sensor["name"] for sensor in sensors] == ["north-1"]
        # a site nothing names: 404 with the known ones, in the words of ?site= on /devices
        # (the sites stored scans name), then the sites only a sensor or a schedule made
        known = (
            "no site 'nosuch': known sites: hq; "
            "sites with a sensor or a schedule but no stored scan: north"
        )
        for path in ("/api/v1/sites/nosuch/jobs", "/api/v1/sensors?site=nosuch"):
            refused = client.get(path, headers=viewer)
            assert refused.status_code == 404, (path, refused.text)
            assert refused.json()["detail"] == known, path
        devices = client.get("/api/v1/devices?site=nosuch", headers=viewer)
        assert devices.status_code == 404
        assert devices.json()["detail"] == "no site 'nosuch': known sites: hq"
        # names are exact; the other spelling is suggested
        upper = client.get("/api/v1/sites/NORTH/jobs", headers=viewer)
        assert upper.status_code == 404
        assert upper.json()["detail"].endswith("no stored scan: north (did you mean 'north'?)")
        hq = client.get("/api/v1/sites/HQ/jobs", headers=viewer)
        assert "case-sensitive: did you mean 'hq'?" in hq.json()["detail"]
        # and every GET route under /sites/{name} (today's and any added later) does the same
        paths = client.get("/api/v1/openapi.json").json()["paths"]
        under_a_site = [
            path
            for path, methods in paths.items()
            if path.startswith("/api/v1/sites/{name}") and "get" in methods
        ]
        assert under_a_site, sorted(paths)
        for path in under_a_site:
            url = path.replace("{name}", "nosuch")
            answer = client.get(url, headers=viewer)
            assert answer.status_code == 404, (url, answer.text)
            assert answer.json()["detail"] == known, url
            assert client.get(path.replace("{name}", "north"), headers=viewer).status_code == 200


def test_an_unknown_site_in_an_empty_store_says_no_site_exists(tmp_path: Path) -> None:
    url = normalise_db_arg(str(tmp_path / "empty.db"))
    fill(url)  # users and scans, no site
    viewer = _viewer(url)
    with TestClient(create_app(url), raise_server_exceptions=False) as client:
        refused = client.get("/api/v1/sites/hq/jobs", headers=viewer)
        assert refused.status_code == 404
        assert refused.json()["detail"] == "no site 'hq': no scan was stored with --site"
        assert client.get("/api/v1/sites", headers=viewer).json() == {"sites": []}


# --- 2. a range too large for the console ---------------------------------------------------


def test_a_range_too_large_for_the_console_says_what_its_user_can_do(
    client: TestClient, token_for: Callable[[str], dict[str, str]]
) -> None:
    too_many, addresses = "127.0.0.0/16", 65536
    assert addresses > MAX_WEB_HOSTS
    # the form: refused, the typed range kept, the console's words
    token = page_log_in(client, "analyst")
    form = client.post("/scans", data={"csrf_token": token, "targets": too_many})
    assert form.status_code == 400
    assert too_many in form.text
    expected = (
        f"targets expand to {addresses} addresses; a scan from the console covers at most "
        f"{MAX_WEB_HOSTS}: split them into several scans of up to {MAX_WEB_HOSTS} addresses "
        "each, or ask an administrator to scan the whole range with "
        "`provscan scan --max-hosts N`"
    )
    assert expected in form.text, form.text
    assert "raise --max-hosts" not in form.text
    assert client.get("/api/v1/scans/jobs/x").status_code == 404
    with client.app.state.scan_jobs.lock:  # type: ignore[attr-defined]
        assert client.app.state.scan_jobs.jobs == {}  # type: ignore[attr-defined]
    # the API says the same
    api = client.post("/api/v1/scans", json={"targets": [too_many]}, headers=token_for("analyst"))
    assert api.status_code == 400 and api.json()["detail"] == expected
    # one scan at the limit is not refused for its size
    assert check_targets(["127.0.0.0/20"]).size_upper_bound == MAX_WEB_HOSTS
    with pytest.raises(ScanRefused, match="split them"):
        check_targets(["127.0.0.0/20", "127.0.16.0"])


def test_the_command_line_keeps_its_own_words_and_the_error_carries_the_numbers() -> None:
    with pytest.raises(TooManyTargets) as refused:
        build_targets(["127.0.0.0/16"], max_hosts=4096)
    assert (refused.value.addresses, refused.value.limit) == (65536, 4096)
    assert str(refused.value) == (
        "targets expand to 65536 addresses, more than --max-hosts 4096; "
        "narrow the targets or raise --max-hosts"
    )
    copied = pickle.loads(pickle.dumps(refused.value))
    assert (copied.addresses, copied.limit, str(copied)) == (65536, 4096, str(refused.value))
    # scope is still judged before size: a refused place is never told about the limit
    with pytest.raises(TargetError) as public:
        build_targets(["8.0.0.0/8"], max_hosts=4096)
    assert not isinstance(public.value, TooManyTargets)


# --- 3. one address parser --------------------------------------------------------------------


def test_the_web_reads_a_range_start_with_the_targets_parser(
    client: TestClient, token_for: Callable[[str], dict[str, str]]
) -> None:
    assert str(parse_address("127.0.0.9")) == "127.0.0.9"
    assert str(parse_address("[::1]")) == "::1"
    for text in ("camera", "127.0.0.300", "", "127.0.0.1-5"):
        with pytest.raises(ValueError):
            parse_address(text)
    analyst = token_for("analyst")
    for target, said in (
        # only the start being an address marks this as a range (not a host name)
        ("127.0.0.1-camera", "bad range '127.0.0.1-camera': 'camera' is not an address"),
        ("camera-7", "no host names"),
    ):
        response = client.post("/api/v1/scans", json={"targets": [target]}, headers=analyst)
        assert response.status_code == 400, response.text
        assert said in response.json()["detail"], response.json()
