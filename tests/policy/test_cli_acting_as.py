"""``--as`` at the command line (issue 12): lookup, screen, pcap, scan and discover over the
lab on loopback, and ``policies --as-types``; bad values are one line with exit 2."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
from helpers import SESSION_DEVICES, run_provscan

from provscan.lab.server import Lab
from provscan.report.contract import load_schema

FAST = ["--timeout", "2", "--host-timeout", "15", "--quiet", "--no-db", "--no-discovery"]
HIKVISION = next(
    d
    for d in SESSION_DEVICES
    if d.expect.manufacturer == "Hikvision"
    and d.expect.restricted
    and not d.expect.hostile
    and any(service.port == 80 for service in d.services)
)


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_provscan(*args, unset=(), timeout=timeout)


def lookup_json(*args: str) -> dict[str, object]:
    result = run("lookup", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    row: dict[str, object] = json.loads(result.stdout)
    return row


@pytest.mark.parametrize(
    ("product", "citations", "restricted"),
    [
        # A US federal agency may not operate a DJI drone (American Security Drone Act).
        ("DJI Mavic 3 Enterprise", ["WC Docket No. 18-89", "Pub. L. 118-31"], True),
        # The FCC router entry stops authorizations; Texas binds its state agencies: neither
        # binds a national government body (the default reading).
        (
            "TP-Link Archer AX55 Wi-Fi router",
            ["Covered List update (23 Mar 2026", "26 Jan 2026"],
            False,
        ),
    ],
)
def test_lookup_shows_the_2025_26_us_measures_with_citations(
    product: str, citations: list[str], restricted: bool
) -> None:
    row = lookup_json(product)
    findings = row["findings"]
    assert isinstance(findings, list)
    cited = " ".join(str(f["citation"]) for f in findings)
    for citation in citations:
        assert citation in cited
    assert all(f["effect"] for f in findings)
    # the US measures that name these products are the 2022-26 ones (other jurisdictions'
    # country-based measures, e.g. Lithuania's, may be older)
    assert all(f["effective"] >= "2022-12-07" for f in findings if f["policy"] == "us")
    # no --as: judged for a national government body; each measure says whether it binds one
    assert row["acting_as"] == [] and row["restricted"] is restricted
    assert {f["binding"] for f in findings} == ({True, False} if restricted else {False})
    # --as all: every measure counts, binding unknown
    everyone = lookup_json(product, "--as", "all")
    assert everyone["restricted"] is True and everyone["acting_as"] == ["all"]
    assert {f["binding"] for f in everyone["findings"]} == {None}  # type: ignore[union-attr]


def test_uniview_for_a_texas_agency_and_for_a_canadian_individual() -> None:
    texas = run(
        "lookup", "Uniview IPC322LB-SF28-A", "--as", "us-tx:state-agency", "--fail-on-restricted"
    )
    assert texas.returncode == 3, texas.stderr
    assert "restricted  YES (as us-tx:state-agency)" in texas.stdout
    person = run(
        "lookup", "Uniview IPC322LB-SF28-A", "--as", "ca:individual", "--fail-on-restricted"
    )
    assert person.returncode == 0, person.stderr
    assert "restricted  no (as ca:individual)" in person.stdout
    assert "does not bind you" in person.stdout


@pytest.mark.parametrize(
    ("org_type", "restricted"),
    [("ca:federal-institution", True), ("us:federal-contractor", True), ("ca:individual", False)],
)
def test_the_same_hikvision_camera_in_lookup(org_type: str, restricted: bool) -> None:
    row = lookup_json("Hikvision DS-2CD2143G0-I", "--as", org_type)
    assert row["restricted"] is restricted
    assert row["acting_as"] == [org_type]
    findings = row["findings"]
    assert isinstance(findings, list)
    assert {f["binding"] for f in findings} <= {True, False}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ca:mayor", "ca:mayor"),
        ("federal", "federal"),
        ("us:everyone", "us:everyone"),
        ("", "--as"),
    ],
)
def test_a_bad_as_value_is_one_line_and_exit_2(value: str, message: str) -> None:
    result = run("lookup", "Hikvision DS-2CD2143G0-I", "--as", value)
    assert result.returncode == 2 and result.stdout == ""
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    scan = run("scan", "127.0.0.1", "--as", value, "--no-db")
    assert scan.returncode == 2 and message in scan.stderr


def test_policies_lists_the_org_types() -> None:
    table = run("policies", "--as-types")
    assert table.returncode == 0, table.stderr
    for org_type in ("ca:federal-institution", "us:federal-contractor", "us-tx:state-agency"):
        assert org_type in table.stdout
    assert "us:everyone" not in table.stdout
    listing = json.loads(run("policies", "--as-types", "-f", "json").stdout)["org_types"]
    assert {"ca:individual", "ca-qc:public-body", "us-la:state-agency"} <= {
        entry["id"] for entry in listing
    }
    measures = [
        m
        for p in json.loads(run("policies", "-f", "json").stdout)["policies"]
        for m in p["measures"]
    ]
    assert all("org_types" in m and m["effect"] for m in measures)


def test_screen_judges_every_row_as_the_user(tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    with listing.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Brand", "Model"])
        writer.writerow(["Hikvision", "DS-2CD2143G0-I"])
        writer.writerow(["Uniview", "IPC322LB-SF28-A"])
    output = tmp_path / "out.json"
    result = run("screen", str(listing), "--as", "ca:federal-institution", "-o", str(output))
    assert result.returncode == 0, result.stderr
    document = json.loads(output.read_text(encoding="utf-8"))
    assert [row["restricted"] for row in document["rows"]] == [True, False]
    assert document["summary"]["acting_as"] == ["ca:federal-institution"]
    assert "as ca:federal-institution" in result.stderr


@pytest.mark.parametrize(
    ("org_type", "restricted"), [("ca:federal-institution", True), ("ca:individual", False)]
)
def test_a_lab_scan_says_who_it_judged_for(lab: Lab, org_type: str, restricted: bool) -> None:
    # Given a Hikvision camera of the lab on loopback, scanned as one org type
    result = run("scan", HIKVISION.address, "--format", "json", "--as", org_type, *FAST)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    # Then the document follows contract 1.5 and carries who the scan was judged for
    jsonschema.validate(document, load_schema())
    assert document["schema_version"] == "1.8"
    assert document["scan"]["acting_as"] == [org_type]
    assert document["scan"]["judged_for"] == org_type
    (device,) = document["devices"]
    assert device["restricted"] is restricted
    assert device["findings"] and all(f["binding"] in (True, False) for f in device["findings"])
    assert document["scan"]["restricted_count"] == int(restricted)


def test_a_lab_scan_without_as_judges_for_a_national_government_body(lab: Lab) -> None:
    result = run("scan", HIKVISION.address, "--format", "json", *FAST)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["scan"]["acting_as"] == []
    # the JSON says whom, as the table does: acting_as [] alone does not
    assert document["scan"]["judged_for"] == "a national government body"
    (device,) = document["devices"]
    assert device["restricted"] is True

    def binds(policy: str) -> set[bool]:
        return {f["binding"] for f in device["findings"] if f["policy"] == policy}

    assert True in binds("ca") and True in binds("us") and binds("us-tx") == {False}
    table = run("scan", HIKVISION.address, *FAST)
    assert "judged as a national government body (the default)" in table.stdout


CAPTURE = Path(__file__).parents[1] / "pcap" / "fixtures" / "lab_scan.pcap.gz"


def test_pcap_judges_as_the_user() -> None:
    def restricted(*args: str) -> tuple[list[str], int]:
        result = run("pcap", str(CAPTURE), "-f", "json", "--no-db", "--quiet", *args)
        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)
        jsonschema.validate(document, load_schema())
        return document["scan"]["acting_as"], document["scan"]["restricted_count"]

    everyone, as_federal, as_person = (
        restricted(),
        restricted("--as", "ca:federal-institution"),
        restricted("--as", "ca:individual"),
    )
    assert everyone[0] == [] and everyone[1] > as_federal[1] > as_person[1] == 0
    assert as_federal[0] == ["ca:federal-institution"]


def test_discover_judges_as_the_user(lab: Lab) -> None:
    spec = next(d for d in SESSION_DEVICES if d.id == "hik-nvr-sadp-only")
    result = run(
        "discover", spec.address, "--timeout", "0.5", "-f", "json", "--no-db",
        "--as", "us:federal-contractor",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["scan"]["acting_as"] == ["us:federal-contractor"]
    [device] = document["devices"]
    assert device["manufacturer"] == "Hikvision" and device["restricted"] is True
    assert any(f["binding"] and f["effect"] == "use-ban" for f in device["findings"])


def test_lookup_with_only_a_state_policy_says_every_measure_counted() -> None:
    """`--policy us-tx` declares no national government body: every restricting measure of
    the selection counts, and the answer says so instead of naming the default party."""
    row = lookup_json("Uniview IPC322LB-SF28-A", "--policy", "us-tx")
    assert row["restricted"] is True and row["acting_as"] == ["all"]
    table = run("lookup", "Uniview IPC322LB-SF28-A", "--policy", "us-tx")
    assert "(as anyone (every measure counts))" in table.stdout
    assert "national government" not in table.stdout
