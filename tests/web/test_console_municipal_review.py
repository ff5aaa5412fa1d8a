"""What a municipal IT admin found in the console, the reports and ``explain`` (a newcomer's
review and its follow-up), against a real lab scanned by ``provscan scan`` into a real
SQLite store, as the admin ran it:

- the dashboard's jurisdiction table said the UK statement, which binds only on a condition
  (a sensitive government site), was binding ("yes", 3 devices) under a heading of 0: a row
  now says its condition, and the heading counts what the rows that restrict list;
- "First restricted devices" listed gone and verified devices under a smaller headline; the
  newest scans did not mark an interrupted scan;
- the device page of a device gone after four covering scans said "missed by 3 scans";
  ``explain --db`` did not say the device was gone;
- ``explain`` of the UTT router said its telnet probe "answered and a rule matched" (the
  rule gave a device type only) and nothing of the Hikvision-like ``NetDVRDVS:`` prompt
  being a known look-alike; nor what to do next, nor how to report a device;
- the scan table's "named by no selected policy; only on a condition: uk", "no cases" for
  ``cases list --overdue``, a verified case shown with its due date, a model split at its
  hyphens in the devices table and a site name split inside a word in the PDF's priority
  list.
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import SESSION_DEVICES, run_provscan
from pagetools import page_log_in, table_rows
from webtools import PASSWORD, TestClient

from provscan.commands.explain import ISSUES_URL
from provscan.compliance.report import render_report
from provscan.lab.server import run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.report.contract import from_contract
from provscan.store.db import normalise_db_arg, open_store
from provscan.web.app import create_app

#: 120-129 with .94: this module's own lab (tests/helpers.py lists the other octets).
OCTET = 120 + os.getpid() % 10
NET = f"127.{OCTET}.94"
TARGET = f"{NET}.10-{NET}.18"
SITE = "townhall-all-departments"
ENV = {"PROVSCAN_ALLOWED_TARGETS": "127.0.0.0/8,::1/128"}
BY_ID = {device.id: device for device in SESSION_DEVICES}
HOSTS = {
    "hik-ipc-g2": 10,
    "hik-nvr": 11,
    "hik-ptz": 12,
    "dahua-ipc": 13,  # its case says removed: verified by the next scan
    "dahua-nvr": 14,  # taken away: gone after three scans, missed by a fourth
    "neg-goahead": 16,  # a GoAhead web server no rule names a maker of
    "neg-utt-router": 17,  # the UTT router's Hikvision-like telnet prompt
}
PORTS = ",".join(
    str(port) for port in sorted({s.port for name in HOSTS for s in BY_ID[name].services})
)
RESTRICTING = {
    "use-ban",
    "procurement-ban",
    "removal-order",
    "authorization-ban",
    "import-marketing-ban",
    "restricts",
}


def _at(name: str) -> DeviceSpec:
    return BY_ID[name].model_copy(update={"address": f"{NET}.{HOSTS[name]}"})


FIRST = [_at(name) for name in HOSTS]
LATER = [_at(name) for name in HOSTS if name not in ("dahua-ipc", "dahua-nvr")]


def _run(*args: str, width: int | None = None) -> str:
    result = run_provscan(*args, env=ENV, width=width, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _scan(db: str) -> None:
    _run("scan", TARGET, "--db", db, "--site", SITE, "--no-discovery", "-q", "--ports", PORTS)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Five complete scans of the site (the second to fifth without the two Dahua devices;
    the Dahua camera's case set to removed before them), then an interrupted scan that saw
    nothing; what the CLI says of the lab while it runs."""
    folder = tmp_path_factory.mktemp("municipal")
    db = str(folder / "townhall.db")
    with run_lab_in_thread(FIRST):
        _scan(db)
    inventory = {
        d["ip"]: d for d in json.loads(_run("inventory", "--db", db, "-f", "json"))["devices"]
    }
    removed = inventory[f"{NET}.13"]["device_id"]
    (case,) = [
        c
        for c in json.loads(_run("cases", "list", "--device", removed, "--db", db, "-f", "json"))[
            "cases"
        ]
        if c["subject"] == "restricted"
    ]
    _run("cases", "update", str(case["id"]), "--status", "removed", "--db", db, "--note", "gone")
    said: dict[str, str] = {}
    with run_lab_in_thread(LATER):
        for _ in range(4):
            _scan(db)
        said["uk_table"] = _run(
            "scan", f"{NET}.10", "--no-db", "--no-discovery", "--policy", "uk,nz", width=100
        )
        said["utt_json"] = _run("explain", f"{NET}.17", "-f", "json")
        said["utt_table"] = _run("explain", f"{NET}.17", width=100)
        said["goahead_table"] = _run("explain", f"{NET}.16", width=100)
    url = normalise_db_arg(db)
    with open_store(url) as opened:
        newest = opened.load(opened.scans(1)[0].id)
        raw = newest.model_dump(mode="json")
        raw["scan"]["id"] = "interrupted-0001"
        raw["scan"]["started_at"] = raw["scan"]["finished_at"]
        raw["scan"]["complete"] = False
        raw["scan"]["devices_found"] = raw["scan"]["restricted_count"] = 0
        raw["devices"] = []
        opened.save_document(from_contract(json.dumps(raw)), site=SITE)
        opened.accounts().add_user("viewer", "viewer", PASSWORD, actor="test", address="cli")
    yield {"db": db, "url": url, "removed": removed, "case": case["id"], **said}


@pytest.fixture(scope="module")
def client(store: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(create_app(store["url"]), raise_server_exceptions=False) as opened:
        page_log_in(opened, "viewer")
        yield opened


def _query(db: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        return list(connection.execute(sql, args))


#: The restricted devices remaining, read with SQL: restricted, not gone, no verified
#: restricted-maker case (docs/reports.md, "How the numbers are defined").
REMAINING = (
    "SELECT device_id, ip, findings FROM inventory WHERE restricted AND status != 'gone' "
    "AND NOT EXISTS (SELECT 1 FROM cases WHERE cases.device_id = inventory.device_id "
    "AND subject = 'restricted' AND status = 'verified')"
)


def _jurisdiction_rows(html: str) -> tuple[dict[tuple[str, str, str], int], dict[str, int]]:
    """(jurisdiction, policy, binding as shown) -> devices, and jurisdiction -> its count."""
    body = html[html.index('<table id="jurisdictions"') :]
    body = body[: body.index("</table>")]
    rows: dict[tuple[str, str, str], int] = {}
    heads: dict[str, int] = {}
    for group in re.findall(r"<tbody>(.*?)</tbody>", body, re.S):
        head = re.search(
            r'<th scope="rowgroup"[^>]*>([^<]+)<br><small><span class="jurisdiction-devices">'
            r"(\d+)",
            group,
        )
        assert head is not None
        heads[head.group(1)] = int(head.group(2))
        for policy, binding, devices in re.findall(
            r"<td>([^<]+)</td><td>[^<]+</td>\s*<td>(.*?)</td>\s*<td class=\"num\">(\d+)</td>",
            group,
            re.S,
        ):
            shown = " ".join(re.sub(r"<[^>]+>", "", binding).split())
            rows[(head.group(1), policy, shown)] = int(devices)
    return rows, heads


def _shown_binding(finding: dict[str, Any]) -> str:
    """How the Binding column says a restricting finding binds, from the finding itself."""
    if finding.get("binding") is False:
        return "no: binds others"
    if finding.get("condition"):
        return f"only on a condition, not counted: if {finding['condition']}"
    return "yes" if finding.get("binding") is True else "not judged: every measure counted"


def test_a_measure_on_a_condition_is_said_so_and_rows_match_their_heading(
    store: dict[str, Any], client: TestClient
) -> None:
    html = client.get("/").text
    rows, heads = _jurisdiction_rows(html)
    # expected from the database: every restricting finding of a device that remains
    expected: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    counted: dict[str, set[str]] = defaultdict(set)
    for device_id, _, findings in _query(store["db"], REMAINING):
        for f in json.loads(findings):
            if f.get("effect", "restricts") not in RESTRICTING:
                continue
            shown = _shown_binding(f)
            expected[(f["jurisdiction"], f["policy"], shown)].add(device_id)
            if shown in ("yes", "not judged: every measure counted"):
                counted[f["jurisdiction"]].add(device_id)
    assert rows == {key: len(ids) for key, ids in expected.items()}
    # the UK statement binds only on a condition: said so, and no device counted
    # (one row per condition: since 2026-12-07 the statement covers video kinds, so a device
    # whose kind is not known is inside it only on that condition as well)
    uks = [key for key in rows if key[1] == "uk"]
    assert uks and all(uk[2].startswith("only on a condition, not counted: if ") for uk in uks)
    assert all("sensitive government site" in uk[2] for uk in uks)
    assert any(uk[2].startswith("only on a condition, not counted: if it is on") for uk in uks)
    assert sum(rows[uk] for uk in uks) > 0 and heads[uks[0][0]] == 0
    # each heading counts exactly the devices the rows that restrict list
    assert heads == {name: len(counted.get(name, set())) for name in heads}
    assert any(count > 0 for count in heads.values())


def test_totals_kept_before_conditions_were_said_are_counted_afresh(
    store: dict[str, Any], client: TestClient
) -> None:
    ((scan_id, kept),) = _query(
        store["db"], "SELECT scan_id, by_jurisdiction FROM scan_totals ORDER BY at DESC LIMIT 1"
    )
    rows = json.loads(kept)
    assert any(m.get("condition") for row in rows for m in row["measures"])
    # the newest scan's kept rows as an older provscan wrote them: no condition, "binding"
    old = [
        row
        | {"measures": [{k: v for k, v in m.items() if k != "condition"} for m in row["measures"]]}
        for row in rows
    ]
    with sqlite3.connect(store["db"]) as connection:
        connection.execute(
            "UPDATE scan_totals SET by_jurisdiction = ? WHERE scan_id = ?",
            (json.dumps(old), scan_id),
        )
    try:
        shown, _ = _jurisdiction_rows(client.get("/").text)
        assert any(key[1] == "uk" and key[2].startswith("only on a condition") for key in shown)
        assert client.get("/api/v1/summary").json()["restricted_by_jurisdiction"] == rows
    finally:
        with sqlite3.connect(store["db"]) as connection:
            connection.execute(
                "UPDATE scan_totals SET by_jurisdiction = ? WHERE scan_id = ?", (kept, scan_id)
            )


def test_first_restricted_devices_are_the_headline_ones(
    store: dict[str, Any], client: TestClient
) -> None:
    html = client.get("/").text
    remaining = sorted(ip for _, ip, _ in _query(store["db"], REMAINING))
    listed = [row[0] for row in table_rows(html, "first-restricted-devices")]
    assert sorted(listed) == remaining
    assert re.search(rf'<strong id="restricted">{len(remaining)}</strong>', html)
    # the gone Dahua recorder and the verified Dahua camera are restricted, not listed
    restricted = {ip for (ip,) in _query(store["db"], "SELECT ip FROM inventory WHERE restricted")}
    assert {f"{NET}.13", f"{NET}.14"} <= restricted - set(listed)


def test_the_newest_scans_mark_an_incomplete_one(client: TestClient, store: dict[str, Any]) -> None:
    html = client.get("/").text
    rows = table_rows(html, "latest-scans")
    complete = dict(_query(store["db"], "SELECT id, complete FROM scans"))
    assert len(rows) == 5 and not complete["interrupted-0001"]
    for row in rows:
        scan_id = row[0].split()[0]
        assert ("incomplete" in row[0]) == (not complete[scan_id]), row
    assert 'id="incomplete-note"' in html


def test_a_gone_device_counts_every_covering_scan_that_missed_it(
    store: dict[str, Any], client: TestClient
) -> None:
    ((device_id, last_seen, missed, status),) = _query(
        store["db"],
        "SELECT device_id, last_seen, missed, status FROM inventory WHERE ip = ?",
        f"{NET}.14",
    )
    since = _query(
        store["db"],
        "SELECT count(*) FROM scans WHERE complete AND started_at > ? AND site = ?",
        last_seen,
        SITE,
    )[0][0]
    # the inventory stopped counting when it was gone: the page counts on
    assert status == "gone" and missed == 3 and since == 4
    html = client.get(f"/devices/{device_id}").text
    said = " ".join(
        re.sub(r"<[^>]+>", "", html.split('id="device-status">', 1)[1].split("</dd>")[0]).split()
    )
    assert said.startswith(
        f"gone (not seen by the {since} scans covering it since it was last seen"
    )
    assert "missed by" not in html
    # explain --db says the inventory marks it gone, and by how many scans
    explained = json.loads(_run("explain", f"{NET}.14", "--db", store["db"], "-f", "json"))
    absence = explained["origin"]["absence"]
    assert (absence["status"], absence["not_seen_by"]) == ("gone", since)
    table = " ".join(_run("explain", f"{NET}.14", "--db", store["db"], width=200).split())
    assert f"the inventory marks it gone: not seen by the last {since} scans covering it" in table
    present = json.loads(_run("explain", f"{NET}.10", "--db", store["db"], "-f", "json"))
    assert present["origin"]["absence"] is None


def test_a_verified_case_shows_no_due_date(store: dict[str, Any], client: TestClient) -> None:
    device = store["removed"]
    ((status, due),) = _query(
        store["db"], "SELECT status, due FROM cases WHERE id = ?", store["case"]
    )
    assert status == "verified" and due
    page = client.get(f"/devices/{device}").text
    summary = page.split('id="summary-cases">', 1)[1].split("</dd>", 1)[0]
    assert "verified" in summary and due not in summary
    article = page.split(f'id="case-{store["case"]}"', 1)[1].split("</article>", 1)[0]
    assert "– (closed)" in article
    rows = {row[1]: row for row in table_rows(client.get("/devices").text, "devices-table")}
    assert rows[f"{NET}.13"][-1] == "verified"
    assert rows[f"{NET}.10"][-1].startswith("open (due ")
    # the CLI: the list and the case say the same, and a filter that finds nothing is named
    listed = _run("cases", "list", "--db", store["db"], width=200)
    line = next(line for line in listed.splitlines() if line.startswith(f"#{store['case']} "))
    assert due not in line and line.rstrip().endswith("-")
    shown = _run("cases", "show", str(store["case"]), "--db", store["db"], width=200)
    assert re.search(r"due\s+- \(closed\)", shown)
    assert _run("cases", "list", "--overdue", "--db", store["db"]).strip() == "no overdue cases"
    assert (
        _run("cases", "list", "--status", "planned", "--db", store["db"]).strip()
        == "no planned cases"
    )


def test_models_are_not_split_at_their_hyphens(client: TestClient) -> None:
    html = client.get("/devices").text
    models = re.findall(r'<td class="model">(.*?)</td>', html)
    hyphenated = [m for m in models if "-" in re.sub(r"<[^>]+>", "", m)]
    assert hyphenated
    for cell in hyphenated:
        words = re.sub(r"<[^>]+>", "", cell).split()
        assert cell == " ".join(f'<span class="nobr">{word}</span>' for word in words)


def test_the_scan_table_says_a_measure_binds_only_on_a_condition(store: dict[str, Any]) -> None:
    table = " ".join(store["uk_table"].split())
    assert "Hikvision family (1): binds you only on a condition: uk" in table
    assert "named by no selected policy" not in table


def test_explain_says_the_utt_prompt_is_a_known_lookalike(store: dict[str, Any]) -> None:
    explained = json.loads(store["utt_json"])
    assert explained["verdict"] == "unknown"
    (telnet,) = [p for p in explained["probes"] if p["port"] == 23]
    assert telnet["outcome"] == "no maker"
    assert "utt.banner.netdvrdvs" in telnet["detail"] and "router" in telnet["detail"]
    (alike,) = explained["lookalikes"]
    assert alike["observed"] == "NetDVRDVS:" and alike["maker"] == "Hikvision"
    assert alike["rule_id"] == "hikvision.banner.factory_ip_login"
    assert alike["explained_by"] == "utt.banner.netdvrdvs"
    # the knowledge's own words: the Hikvision rule lists the prompt among its negatives
    from provscan.knowledge.loader import load_knowledge

    rules = {r.id: r for loaded in load_knowledge().fingerprints for r in loaded.spec.rules}
    assert "NetDVRDVS:" in rules[alike["rule_id"]].negatives
    table = " ".join(store["utt_table"].split())
    assert "answered and a rule matched" not in table
    assert "banner:23 answered, but the rule that matched named no maker" in table
    assert (
        "Known look-alikes" in table and "looks like Hikvision but is a known look-alike" in table
    )
    # what to do next: no web port, so the label; the switch; no credentials; lookup
    steps = " ".join(explained["next_steps"])
    assert "label on its case" in steps and "MAC address table" in steps
    assert "--credentials cannot help here" in steps and "ports 23" in steps
    assert 'provscan lookup "BRAND MODEL"' in steps
    assert ISSUES_URL not in steps  # every value it showed is explained: nothing to report


def test_explain_says_how_to_report_what_no_rule_explains(store: dict[str, Any]) -> None:
    table = " ".join(store["goahead_table"].split())
    assert "Observed, explained by no rule (worth reporting)" in table
    assert "how to report them: under What to do next, below" in table
    steps = table.split("What to do next", 1)[1]
    assert f"open an issue at {ISSUES_URL}" in steps
    assert f"provscan explain {NET}.16 -f json" in steps and "CONTRIBUTING.md" in steps
    assert f"provscan scan {NET}.16 --credentials FILE" in steps
    contributing = (Path(__file__).resolve().parents[2] / "CONTRIBUTING.md").read_text()
    assert ISSUES_URL in contributing and "explain" in contributing


def test_the_pdf_priority_list_breaks_a_site_only_at_its_hyphens(store: dict[str, Any]) -> None:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"WeasyPrint cannot load: {exc}")
    from pypdf import PdfReader

    with open_store(store["url"]) as opened:
        pdf = render_report(opened, fmt="pdf", now=datetime.now().astimezone())
    lines = [
        " ".join(line.split())
        for page in PdfReader(io.BytesIO(pdf)).pages
        for line in (page.extract_text() or "").splitlines()
    ]
    start = next(i for i, line in enumerate(lines) if line.startswith("2. Priority list"))
    end = next(i for i, line in enumerate(lines) if line.startswith("3. To review"))
    pieces = [piece for line in lines[start:end] for piece in line.split() if piece in SITE]
    whole = {SITE, *re.findall(r"[^-]+-?", SITE), "townhall-all-", "all-departments"}
    fragments = [piece for piece in pieces if len(piece) >= 3]
    assert fragments and all(piece in whole for piece in fragments), fragments
