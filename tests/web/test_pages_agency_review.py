"""A provincial agency's integrator reviewed the console: a bad filter on a list page was read
as no filter (every device listed with 200); the devices table showed no total; "open cases"
on the dashboard counted every case not verified and linked a board that said otherwise, and
"overdue" was no link; the device page's verdict line was hard to read and its case form
offered "verified", which the store always refused by hand; the console repeated the CLI's
"--site"; a scan's progress page buried its finds under a line per silent host; the Reports
page showed a command without the console's database. Real app, real stores (SQLite and
PostgreSQL), real scans of the loopback lab."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import open_case_on
from pagetools import accessibility_problems, inline, page_log_in, table_rows
from test_pages_paging import _fill
from webtools import PASSWORD, TestClient

from provscan.lab.server import Lab
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.pages import PageFilters
from provscan.web.app import create_app

#: The message a refused verdict gets (the API's words, with the verdicts it takes).
BAD_VERDICT = "unknown verdict &#39;Restricted&#39; (one of restricted, review, unknown, clear)"


@pytest.fixture
def paged_url(tmp_path: Path) -> str:
    return _fill(normalise_db_arg(str(tmp_path / "agency.db")))


def _client(url: str, role: str = "viewer") -> TestClient:
    with open_store(url) as store:
        if role not in {user.name for user in store.accounts().users()}:
            store.accounts().add_user(role, role, PASSWORD, actor="test", address="cli")
    client = TestClient(create_app(url), raise_server_exceptions=False)
    return client


@pytest.fixture
def paged(paged_url: str) -> Iterator[TestClient]:
    with _client(paged_url) as client:
        page_log_in(client, "viewer")
        yield client


def _problem(html: str) -> list[str]:
    return re.findall(r'<p class="problem" role="alert">([^<]*)</p>', html)


def _caption(html: str) -> str:
    found = re.search(r"<caption>(Devices[^<]*)</caption>", html)
    assert found is not None, "no devices table"
    return found.group(1)


def _refused_list(client: TestClient, url: str, said: str, status: int = 400) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    html = response.text
    assert _problem(html) == [said], (url, _problem(html))
    assert 'id="devices-table"' not in html and 'id="export-csv"' not in html
    assert 'id="next-page"' not in html
    assert accessibility_problems(html) == [] and inline(html) == []
    return html


def _check_refusals(client: TestClient) -> None:
    # Given a misspelt or unknown filter, when the devices page is asked for it, then it is
    # refused as the API refuses it: 400, one line naming the problem, no device listed
    _refused_list(client, "/devices?verdict=Restricted", BAD_VERDICT)
    _refused_list(
        client,
        "/devices?verdict=nope&site=north",
        "unknown verdict &#39;nope&#39; (one of restricted, review, unknown, clear)",
    )
    _refused_list(
        client,
        "/devices?status=nope",
        "unknown status &#39;nope&#39; (one of present, missing, gone)",
    )
    html = _refused_list(
        client,
        "/devices?colour=red",
        "unknown parameter &#39;colour&#39;: this page takes q, site, maker, verdict, restricted, "
        "remaining, status, sort, limit, cursor, before",
    )
    assert 'href="/devices">show every device</a>' in html  # the way back to a listing
    _refused_list(
        client,
        "/devices?sort=colour",
        "unknown order &#39;colour&#39; (one of site, ip, maker, model, status, or -name to "
        "reverse)",
    )
    _refused_list(
        client,
        "/devices?verdict=restricted&verdict=clear",
        "parameter &#39;verdict&#39; given more than once: each takes one value",
    )
    for limit in ("0", "1001", "ten", "-5"):
        _refused_list(
            client,
            f"/devices?limit={limit}",
            f"rows per page must be a whole number from 1 to 1000, not &#39;{limit}&#39;",
        )
    # the API says the same of the same filter
    api = client.get("/api/v1/devices?verdict=Restricted")
    assert api.status_code == 400 and "unknown verdict 'Restricted'" in api.text
    # the export of a bad filter exports nothing
    export = client.get("/devices/export?verdict=Restricted&format=csv")
    assert export.status_code == 400 and "content-disposition" not in export.headers
    assert _problem(export.text) == [f"Nothing was exported: {BAD_VERDICT}."]
    assert client.get("/devices/export?colour=red").status_code == 400
    # the form's own submission (every field, empty ones too) is a query, not a refusal
    form = "/devices?q=&site=&maker=&verdict=&status=&limit=25&sort=site"
    assert client.get(form).status_code == 200


def _check_totals(client: TestClient, url: str) -> None:
    """Every page says how many devices its filters match, as the store counts them."""
    with open_store(url) as store:
        everything = store.inventory_count(PageFilters())
        north_restricted = store.inventory_count(PageFilters(site="north", restricted=True))
        no_site = len(store.inventory_page(None, 1000, PageFilters())[0])
    assert everything == no_site == 59
    assert _caption(client.get("/devices").text) == "Devices: 50 of 59 shown, sorted by site"
    html = client.get("/devices?site=north&restricted=yes").text
    rows = table_rows(html, "devices-table")
    assert len(rows) == north_restricted and 0 < north_restricted < 26
    assert _caption(html).startswith(f"Devices: {len(rows)} of {north_restricted} shown")
    # a size the form does not offer is taken (up to the API's 1000) and offered back
    ten = client.get("/devices?limit=10")
    assert ten.status_code == 200 and _problem(ten.text) == []
    assert len(table_rows(ten.text, "devices-table")) == 10
    assert _caption(ten.text).startswith("Devices: 10 of 59 shown")
    assert '<option value="10" selected>10</option>' in ten.text
    following = re.search(r'<a id="next-page" href="([^"]+)"', ten.text)
    assert following is not None and "limit=10" in following.group(1)
    later = client.get(following.group(1).replace("&amp;", "&")).text
    assert _caption(later).startswith("Devices (a later page): 10 of 59 shown")
    nothing = client.get("/devices?q=no-such-device").text
    assert _caption(nothing).startswith("Devices: 0 of 0 shown")


def test_the_devices_page_refuses_a_bad_filter_and_counts_its_matches(
    paged: TestClient, paged_url: str
) -> None:
    _check_refusals(paged)
    _check_totals(paged, paged_url)
    # a site nothing names: 404, in the console's words (not the CLI's --site)
    html = _refused_list(
        paged,
        "/devices?site=nowhere",
        "no site &#39;nowhere&#39;: known sites: north, south",
        status=404,
    )
    assert "--site" not in html


def test_on_postgresql_too(make_postgres_database: Callable[[], str]) -> None:
    url = _fill(make_postgres_database())
    with _client(url) as client:
        page_log_in(client, "viewer")
        _check_refusals(client)
        _check_totals(client, url)


def test_a_store_without_sites_is_named_in_the_consoles_words(client: TestClient) -> None:
    page_log_in(client, "viewer")
    for url in ("/devices?site=hq", "/cases?site=hq"):
        response = client.get(url)
        assert response.status_code == 404
        assert _problem(response.text) == ["no site &#39;hq&#39;: no scan was stored with a site"]


# --- cases: active, overdue --------------------------------------------------------------


@pytest.fixture
def cases_url(tmp_path: Path) -> str:
    """The 59 devices of the paging tests, 12 of them restricted (a case each; some
    others have posture cases): case 2
    overdue, case 5 planned and overdue, case 8 removed."""
    url = _fill(normalise_db_arg(str(tmp_path / "cases.db")))
    with open_store(url) as store:
        for number, due in ((2, "2020-01-02"), (5, "2020-01-05")):
            open_case_on(url, number, datetime(2019, 12, 1, tzinfo=UTC))
            store.update_case(number, actor="test", due=due)
        store.update_case(5, actor="test", status="planned")
        store.update_case(8, actor="test", status="removed")
    return url


def test_the_dashboards_case_numbers_are_the_boards(cases_url: str) -> None:
    with _client(cases_url) as client:
        page_log_in(client, "viewer")
        with open_store(cases_url) as store:
            counts = store.dashboard()
            by_state = store.case_counts()
        active = counts["open_cases"]
        assert active > 3 and counts["overdue_cases"] == 2
        dashboard = client.get("/").text
        # the words say what the number counts, and both numbers link to what they count
        assert f'<strong id="open-cases">{active}</strong> <a href="/cases"' in dashboard
        assert '>active cases</a> <small id="active-cases-note">(not verified)</small>' in (
            dashboard
        )
        assert '<strong id="overdue-cases">2</strong> <a href="/cases?overdue=yes">overdue</a>' in (
            dashboard
        )
        assert "open cases" not in dashboard.lower().replace("active cases", "")
        board = client.get("/cases").text
        assert f'<strong id="active-cases">{active}</strong> active cases (not verified' in board
        assert sum(n for state, (n, _) in by_state.items() if state != "verified") == active
        assert '<strong id="overdue-total">2</strong>' in board
        assert 'href="/cases?overdue=yes" id="overdue-link">overdue</a>' in board
        # the overdue board: only the overdue cases, in every state they are in
        late = client.get("/cases?overdue=yes")
        assert late.status_code == 200
        assert re.findall(r"#case-(\d+)\">Case", late.text) == ["2", "5"]
        assert "<h1>Overdue cases</h1>" in late.text
        assert accessibility_problems(late.text) == [] and inline(late.text) == []
        assert 'id="case-overdue" name="overdue" value="yes" checked' in late.text
        one = client.get("/cases?state=open&overdue=yes").text
        assert re.findall(r"#case-(\d+)\">Case", one) == ["2"]
        assert "Showing 1 of 1" in one
        north = client.get("/cases?overdue=yes&site=south").text
        assert re.findall(r"#case-(\d+)\">Case", north) == []


def test_the_cases_board_refuses_what_it_does_not_know(cases_url: str) -> None:
    with _client(cases_url) as client:
        page_log_in(client, "viewer")
        for url, said in (
            (
                "/cases?state=nope",
                "unknown case state &#39;nope&#39; (one of open, planned, mitigated, removed, "
                "replaced, verified)",
            ),
            ("/cases?overdue=1", "unknown overdue filter &#39;1&#39; (yes, or empty)"),
            (
                "/cases?colour=red",
                "unknown parameter &#39;colour&#39;: this page takes state, site, overdue, after",
            ),
            ("/cases?after=abc", "&#39;after&#39; pages one state&#39;s cases: give the state too"),
            (
                "/cases?state=verified&overdue=yes",
                "a verified case is never overdue: choose another state",
            ),
        ):
            response = client.get(url)
            assert response.status_code == 400, url
            assert _problem(response.text) == [said], (url, _problem(response.text))
            assert "Case 1</a>" not in response.text and 'class="board' not in response.text
        scans = client.get("/scans?site=north")
        assert scans.status_code == 400
        assert "unknown parameter &#39;site&#39;: this page takes none" in scans.text
        assert 'id="scans"' not in scans.text
        assert client.get("/scans").status_code == 200


def test_audit_and_diff_refuse_unknown_parameters(client: TestClient) -> None:
    page_log_in(client, "admin")
    assert client.get("/audit?show=refused").status_code == 200
    assert client.get("/audit?show=everything").status_code == 400
    assert client.get("/audit?before=abc").status_code == 400
    assert client.get("/audit?page=2").status_code == 400
    diff = client.get("/diff?from=a")
    assert diff.status_code == 400 and "unknown parameter &#39;from&#39;" in diff.text


# --- the device page ---------------------------------------------------------------------


def test_the_device_page_says_its_verdict_plainly_and_offers_only_reachable_states(
    cases_url: str,
) -> None:
    with _client(cases_url, "analyst") as client:
        page_log_in(client, "analyst")
        with open_store(cases_url) as store:
            open_case, removed = store.case(2), store.case(8)
            scan = store.scan_section(store.device(open_case.device_id)[0].last_scan_id)
        assert scan.acting_as  # the golden scan was judged for named parties
        html = client.get(f"/devices/{open_case.device_id}").text
        verdict = re.sub(r"<[^>]+>", "", re.search(r'<dd id="verdict">(.*?)</dd>', html, re.S)[1])
        assert verdict.strip() == (
            "Restricted for us:federal-agency, us:equipment-supplier: the US measure "
            "“Federal procurement ban on covered video-surveillance equipment” names its maker "
            "(Dahua); so does 1 other measure"
        )
        assert "binds the party its newest scan" not in html

        def offered(page: str, case_id: int) -> list[str]:
            select = re.search(rf'<select id="case-{case_id}-status".*?</select>', page, re.S)
            assert select is not None
            return re.findall(r'<option value="([a-z]+)"', select[0])

        assert offered(html, 2) == ["open", "planned", "mitigated", "removed", "replaced"]
        assert "Verified is not set by hand" in html
        assert accessibility_problems(html) == [] and inline(html) == []
        # a removed case may be asked to verify; without a scan that proves the device gone
        # the store says why (and the form still offers what it can reach)
        page = client.get(f"/devices/{removed.device_id}").text
        assert offered(page, 8)[-1] == "verified"
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        refused = client.post(
            "/cases/8", data={"csrf_token": token[1], "status": "verified"}, follow_redirects=False
        )
        assert refused.status_code == 400 and "cannot be verified" in refused.text


# --- a scan's progress -------------------------------------------------------------------


def test_a_scans_progress_counts_silent_hosts_on_one_line(client: TestClient, lab: Lab) -> None:
    import ipaddress

    from provscan.web.scans import ScanJob

    devices = [d for d in lab.devices if not d.expect.hostile and d.expect.manufacturer][:2]
    silent = ipaddress.ip_network("127.77.250.0/29")
    assert not any(ipaddress.ip_address(d.address) in silent for d in lab.devices)
    ports = sorted({s.port for d in devices for s in d.services})
    token = page_log_in(client, "analyst")
    started = client.post(
        "/scans",
        data={
            "csrf_token": token,
            "targets": " ".join([*(d.address for d in devices), str(silent)]),
            "ports": ",".join(str(port) for port in ports),
        },
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    job_url = started.headers["location"]
    job_id = job_url.rsplit("/", 1)[1]
    deadline = time.monotonic() + 90
    while client.get(f"/api/v1/scans/jobs/{job_id}").json()["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    html = client.get(job_url).text
    hosts = re.findall(r"<li>host: ([0-9.]+) — ([^<]+)</li>", html)
    assert sorted(ip for ip, _ in hosts) == sorted(d.address for d in devices)
    assert all(said != "nothing identified" for _, said in hosts)
    assert '<p id="job-silent">8 hosts without an answer (no open port)' in html
    assert "nothing identified" not in html
    assert inline(html) == [] and accessibility_problems(html) == []
    # a host that answered but was not identified keeps its own line
    job = ScanJob("e" * 32, "analyst", ["127.0.0.1"], None)
    job.add("started", hosts=3)
    job.add("host", ip="127.0.0.2", found=True, manufacturer=None, restricted=False)
    job.add("host", ip="127.0.0.3", found=False, manufacturer=None, restricted=False)
    job.add("host", ip="127.0.0.4", found=True, manufacturer="Hikvision", restricted=True)
    client.app.state.scan_jobs.jobs[job.id] = job  # type: ignore[attr-defined]
    page = client.get(f"/scans/jobs/{job.id}").text
    assert re.findall(r"<li>host: ([^<]+)</li>", page) == [
        "127.0.0.2 — answered, maker not identified",
        "127.0.0.4 — Hikvision (restricted)",
    ]
    assert '<p id="job-silent">1 host without an answer' in page


# --- reports -----------------------------------------------------------------------------


def _command(html: str) -> str:
    found = re.search(r'<code id="report-command">([^<]*)</code>', html)
    assert found is not None
    return found.group(1).replace("&#39;", "'")


def test_the_reports_page_names_the_consoles_database(
    store_url: str, make_postgres_database: Callable[[], str]
) -> None:
    from sqlalchemy.engine import make_url
    from webtools import fill

    with _client(store_url, "admin") as client:
        page_log_in(client, "admin")
        path = make_url(store_url).database
        assert _command(client.get("/reports").text) == (
            f"provscan report -f pdf -o report.pdf --db {path}"
        )
        client.cookies.clear()
        page_log_in(client, "viewer")
        viewer = client.get("/reports").text
        assert _command(viewer) == "provscan report -f pdf -o report.pdf --db FILE"
        assert str(path) not in viewer  # where the server keeps its data is an admin's
    plain = make_postgres_database()
    parsed = make_url(plain)
    secret = "s3cret-pw"
    fill(plain)
    with_password = parsed.set(password=secret).render_as_string(hide_password=False)
    # the password is wrong for a trust login, but PostgreSQL here does not ask for one
    with _client(with_password, "admin") as client:
        page_log_in(client, "admin")
        html = client.get("/reports").text
        command = _command(html)
        assert secret not in html
        port = f":{parsed.port}" if parsed.port else ""
        shown = f"postgresql://{parsed.username}:***@{parsed.host}{port}/{parsed.database}"
        assert command == f"provscan report -f pdf -o report.pdf --db '{shown}'"
        assert "PGPASSWORD" in html and accessibility_problems(html) == []
