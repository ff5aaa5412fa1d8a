"""The compliance report says a measure that restricts only on a condition apart from the
measures that restrict outright, and says once how to name the organisation (a newcomer's
review of `provscan report`).

Before: a device to review said "if confirmed, Hikvision: restricted by ca, us, au" while its
reasons said Australia's measure binds only if its device type is a camera, a recorder... and
the type was not known (the inventory kept an older sighting's type; the verdict and its
reasons were judged without one). A restricted device's page listed the UK and Australian
measures it is restricted by only on a condition as "Also cited, restricting nothing here".
A report without --organisation printed "Organisation not named" on its title page and at
the top of every page, and did not say how to name it.

The store holds real scan results judged by the bundled policies (nothing is sent anywhere).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from test_report import Element, parse_html
from typer.testing import CliRunner

from provscan.cli import app
from provscan.compliance.facts import gather
from provscan.compliance.report import render_report
from provscan.knowledge.loader import load_knowledge
from provscan.model import Device, ScanInfo, ScanResult, finding_restricts
from provscan.policy.evaluate import judge, maker_countries
from provscan.store.db import Store, open_store

NOW = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
#: An EZVIZ camera (a Hikvision consumer brand): first seen with its kind of device, then by
#: a scan that established neither its maker nor its kind (the verdict is then *review*).
REVIEWED = "127.0.0.61"
#: A Hikvision device of unknown kind: restricted by the measures on every kind of
#: Hikvision equipment, and only on a condition by those on cameras and recorders.
RESTRICTED = "127.0.0.62"


def _device(ip: str, *, device_type: str | None, confidence: float, day: date) -> Device:
    knowledge = load_knowledge()
    return judge(
        Device(
            ip=ip,
            open_ports=(554, 8000),
            manufacturer="Hikvision",
            brand="EZVIZ" if ip == REVIEWED else None,
            family="hikvision",
            model="CS-C6N-A0-1C2WFR" if ip == REVIEWED else None,
            device_type=device_type,
            confidence=confidence,
        ),
        knowledge.select_policies(None),
        countries=maker_countries(knowledge.vendors),
        on=day,
    )


def _scan(scan_id: str, hour: int, devices: tuple[Device, ...]) -> ScanResult:
    started = NOW.replace(day=6, hour=hour)
    info = ScanInfo(
        scan_id=scan_id,
        kind="active",
        started_at=started,
        finished_at=started.replace(minute=5),
        targets=tuple(device.ip for device in devices),
        ports=(554, 8000),
        policies=tuple(policy.id for policy in load_knowledge().select_policies(None)),
        tool_version="test",
        hosts_scanned=len(devices),
        hosts_responding=len(devices),
    )
    return ScanResult(info, devices)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    day = NOW.date().replace(day=6)
    first = _device(REVIEWED, device_type="camera", confidence=0.95, day=day)
    later = _device(REVIEWED, device_type=None, confidence=0.3, day=day)
    restricted = _device(RESTRICTED, device_type=None, confidence=0.95, day=day)
    url = f"sqlite:///{tmp_path_factory.mktemp('conditions') / 'provscan.db'}"
    with open_store(url) as opened:
        opened.save(_scan("scan-first", 9, (first,)))
        opened.save(_scan("scan-later", 10, (later, restricted)))
        yield opened


def _document(store: Store, ip: str) -> dict[str, Any]:
    (device,) = [d for d in store.inventory() if d.ip == ip]
    document = store.device_evidence(device.device_id)[1].document
    assert isinstance(document, dict)
    return document


def _policies(document: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """The stored findings' policies that restrict outright, and those that restrict only
    on a condition (with it)."""
    findings = document["findings"]
    outright = list(dict.fromkeys(f["policy"] for f in findings if finding_restricts(f)))
    conditional = {
        f["policy"]: f["condition"]
        for f in findings
        if f.get("condition") and finding_restricts(f | {"condition": None})
    }
    return outright, conditional


def test_if_confirmed_says_conditional_measures_apart(store: Store) -> None:
    (inventory,) = [d for d in store.inventory() if d.ip == REVIEWED]
    # the inventory keeps the first sighting's kind; the verdict was judged without it
    assert inventory.verdict == "review" and inventory.device_type == "camera"
    document = _document(store, REVIEWED)
    assert document["device_type"] is None
    outright, conditional = _policies(document)
    assert outright and "au" in conditional, (outright, conditional)

    (row,) = gather(store, now=NOW).review
    (line,) = [line for line in row.if_confirmed if line.startswith("Hikvision:")]
    said_outright, _, rest = line.removeprefix("Hikvision: restricted by ").partition(", and by ")
    assert said_outright.split(", ") == outright, line
    for policy, condition in conditional.items():
        assert re.search(rf"(^|, and by )[a-z, -]*\b{policy}\b[a-z, -]* only if ", rest), line
        assert f"only if {condition}" in rest, (policy, line)
    # the reason's line does not say it again
    assert not [x for x in row.if_confirmed if x.startswith("restricted by ")], row.if_confirmed

    dom = parse_html(render_report(store, fmt="html", now=NOW).decode())
    cell = dom.by_id("review-list").find_all("td", class_="candidates")[0].text()
    assert f"if confirmed, {line}" in " ".join(cell.split())


def _page(dom: Element, ip: str) -> Element:
    (page,) = [a for a in dom.find_all("article", class_="device") if ip in a.text()]
    return page


def test_device_page_says_conditional_measures_apart(store: Store) -> None:
    document = _document(store, RESTRICTED)
    outright, conditional = _policies(document)
    assert {"ca", "us"} <= set(outright) and {"uk", "au"} <= set(conditional)
    jurisdiction = {f["policy"]: f["jurisdiction"] for f in document["findings"]}

    page = _page(parse_html(render_report(store, fmt="html", now=NOW).decode()), RESTRICTED)
    (said,) = page.find_all("p", class_="conditional-findings")
    text = " ".join(said.text().split())
    for policy, condition in conditional.items():
        assert f"{jurisdiction[policy]} (" in text and f"if {condition}" in text, text
    others = [p for p in page.find_all("p") if "restricting nothing here" in p.text()]
    for paragraph in others:
        for policy in conditional:
            assert f"{jurisdiction[policy]} (" not in paragraph.text(), paragraph.text()

    markdown = render_report(store, fmt="md", now=NOW).decode()
    part = markdown[markdown.index(f"### {RESTRICTED}") :]
    part = part[: part.index("#### Evidence")]
    for policy, condition in conditional.items():
        assert f"({policy}): " in part and f"only if {condition}" in part, part


def test_no_organisation_is_said_once_with_how_to_name_it(store: Store) -> None:
    html = render_report(store, fmt="html", now=NOW).decode()
    dom = parse_html(html)
    assert "--organisation" in dom.by_id("org-missing").text()
    assert html.count("--organisation") == 1
    assert "Organisation not named" not in html
    # the page heads repeat the organisation's name only when there is one
    assert 'class="org-name"' not in html
    named = render_report(store, fmt="html", organisation="Dept. of Examples", now=NOW).decode()
    assert "--organisation" not in named and 'class="org-name">Dept. of Examples<' in named
    markdown = render_report(store, fmt="md", now=NOW).decode()
    assert markdown.count("--organisation") == 1


def test_screening_says_what_a_row_number_is(tmp_path: Path) -> None:
    """A row's number is the one a spreadsheet shows: for a CSV, its record's number, not the
    line it starts on (the Axis row below is the sheet's row 3 and the file's line 4; a review
    found the line shown as its row); the screening report says so. An XLSX's is the sheet's
    row."""
    listing = tmp_path / "list.csv"
    listing.write_text(
        'Item,Manufacturer,Part Number,Description\n1,Hikvision,DS-2CD2143G0-I,"dome\ncamera"\n'
        "2,Axis,P3225-LV Mk II,fixed dome\n",
        encoding="utf-8",
    )
    out = tmp_path / "screened.html"
    result = CliRunner().invoke(app, ["screen", str(listing), "-o", str(out)])
    assert result.exit_code == 0, result.output
    dom = parse_html(out.read_text(encoding="utf-8"))
    said = " ".join(dom.by_id("how-to-read").text().replace(" :", ":").split())
    assert said.startswith("Row: the row’s number as a spreadsheet shows the list"), said
    assert "a cell holding a line break does not start a new row" in said
    axis = dom.by_id("row-3").text()
    assert axis.strip() == "3"
    assert not dom.find_all(id="row-4")

    sheet = tmp_path / "sheet.html"
    bom = Path(__file__).parents[2] / "examples" / "bom.xlsx"
    result = CliRunner().invoke(app, ["screen", str(bom), "--sheet", "BOM", "-o", str(sheet)])
    assert result.exit_code == 0, result.output
    said = parse_html(sheet.read_text(encoding="utf-8")).by_id("how-to-read").text()
    said = " ".join(said.replace(" :", ":").split())
    assert said.startswith("Row: the row’s number in the sheet, as the spreadsheet shows it"), said
