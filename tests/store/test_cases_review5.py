"""Remediation cases, review 5: an exposure case is verified only by a scan that looked at the
port the exposure was on, and a restricted-maker case names every maker the evidence allows.

Real stores (SQLite files under ``tmp_path``) fed real contract documents (the golden scan's
first device, a Dahua camera whose RTSP on 554 answers without credentials) and a real
``provscan import`` of a CMDB row. Addresses are loopback and only data: nothing is sent."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from golden_sightings import attempt, case_of, golden_scan, urgent, without_exposure
from typer.testing import CliRunner

from provscan.cli import app
from provscan.report.contract import (
    ExposureEntry,
    ScanDocument,
    from_contract,
)
from provscan.store.db import normalise_db_arg, open_store

GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "scan_v1.json"
RTSP = "exposure:rtsp_unauthenticated"
DEFAULTS = "exposure:default_credentials"


def _scan(scan_id: str, year: int, ports: list[int], **device: Any) -> ScanDocument:
    return golden_scan(scan_id, year, ports, ip="127.0.61.1", serial="SER-EXPO-1", **device)


_attempt, _urgent, _without_exposure, _case_of = attempt, urgent, without_exposure, case_of


def test_an_exposure_case_is_verified_only_by_a_scan_that_probed_its_port(
    tmp_path: Path,
) -> None:
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    (rtsp,) = golden.devices[0].exposure
    assert "port 554" in rtsp.detail
    with open_store(normalise_db_arg(str(tmp_path / "exposure.db"))) as store:
        # Given an open case for RTSP without credentials on port 554
        store.save_document(_scan("scan-2026", 2026, [80, 554, 37777], **_urgent(rtsp)))
        case = _case_of(store, RTSP)
        assert case.status == "open"
        # When a later scan of port 80 only sees the device (its RTSP port not looked at)
        store.save_document(
            _scan(
                "scan-2027", 2027, [80], **_without_exposure(_attempt("http", 80), open_ports=[80])
            )
        )
        # Then nothing showed the fix: the case stays open
        assert store.case(case.id).status == "open"
        # When a scan probed 554 but the probe timed out
        timed_out = _attempt("rtsp", 554, "timeout")
        store.save_document(
            _scan("scan-2028", 2028, [554], **_without_exposure(timed_out, open_ports=[554]))
        )
        # Then that shows nothing either
        assert store.case(case.id).status == "open"
        # When a scan's RTSP probe on 554 is answered without the exposure
        answered = _attempt("rtsp", 554)
        store.save_document(
            _scan("scan-2029", 2029, [554], **_without_exposure(answered, open_ports=[554]))
        )
        # Then that scan verifies the case
        verified = store.case(case.id)
        assert verified.status == "verified"
        assert verified.events[-1].scan_id == "scan-2029"


def test_an_exposure_whose_port_a_scan_found_closed_is_verified(tmp_path: Path) -> None:
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    (rtsp,) = golden.devices[0].exposure
    with open_store(normalise_db_arg(str(tmp_path / "closed.db"))) as store:
        store.save_document(_scan("scan-2026", 2026, [80, 554], **_urgent(rtsp)))
        case = _case_of(store, RTSP)
        # When a scan swept 80 and 554 and only 80 is open now (RTSP turned off)
        store.save_document(
            _scan(
                "scan-2027",
                2027,
                [80, 554],
                **_without_exposure(_attempt("http", 80), open_ports=[80]),
            )
        )
        # Then the swept, closed port shows the exposure gone
        assert store.case(case.id).status == "verified"


def test_a_factory_account_case_needs_the_default_credentials_check(tmp_path: Path) -> None:
    accepted = ExposureEntry(
        kind="default_credentials",
        detail="documented factory account dahua-admin is accepted",
        evidence="--check-default-credentials, /cgi-bin/magicBox.cgi on port 80",
    )
    with open_store(normalise_db_arg(str(tmp_path / "defaults.db"))) as store:
        store.save_document(_scan("scan-2026", 2026, [80], **_urgent(accepted)))
        case = _case_of(store, DEFAULTS)
        # When a later scan of port 80 ran without --check-default-credentials
        store.save_document(
            _scan(
                "scan-2027", 2027, [80], **_without_exposure(_attempt("http", 80), open_ports=[80])
            )
        )
        # Then the account was not tried: the case stays open
        assert store.case(case.id).status == "open"
        # When the check ran on port 80 and the account is refused now
        checked = (_attempt("http", 80), _attempt("default-credentials", 80))
        store.save_document(
            _scan("scan-2028", 2028, [80], **_without_exposure(*checked, open_ports=[80]))
        )
        assert store.case(case.id).status == "verified"


def test_an_exposure_tied_to_no_port_is_judged_from_any_sighting(tmp_path: Path) -> None:
    public = ExposureEntry(
        kind="public_address", detail="127.0.61.1 is an internet-routable address", evidence=""
    )
    with open_store(normalise_db_arg(str(tmp_path / "public.db"))) as store:
        store.save_document(_scan("scan-2026", 2026, [80], **_urgent(public)))
        case = _case_of(store, "exposure:public_address")
        store.save_document(
            _scan(
                "scan-2027",
                2027,
                [22],
                **_without_exposure(_attempt("banner", 22), open_ports=[22]),
            )
        )
        assert store.case(case.id).status == "verified"


def test_a_restricted_case_names_every_maker_the_evidence_allows(tmp_path: Path) -> None:
    # Given a CMDB row whose model is Hikvision's or Dahua's (the evidence does not say which)
    cmdb = tmp_path / "cmdb.csv"
    with cmdb.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["Asset Tag", "IP Address", "MAC Address", "Manufacturer", "Model"])
        writer.writerow(["A-1", "127.0.66.1", "", "Honeywell", "HBW4PER1"])
    database = tmp_path / "store.db"
    # When it is imported into a store
    result = CliRunner().invoke(
        app, ["import", str(cmdb), "--db", str(database), "-q"], env={"NO_COLOR": "1"}
    )
    assert result.exit_code == 0, result.output
    with open_store(normalise_db_arg(str(database))) as store:
        (device,) = store.inventory()
        case = _case_of(store, "restricted")
    # Then its case names both makers, not only the first
    assert device.manufacturer in ("Hikvision", "Dahua")
    assert case.reason.startswith("restricted maker Hikvision or Dahua ("), case.reason
    # citing the measures that restrict whichever made it (ca names Hikvision only; the UK
    # statement restricts only on a condition, a sensitive site, so it restricts neither)
    cited = case.reason.split("(", 1)[1].rstrip(")").split(", ")
    assert {"us", "au"} <= set(cited) and not {"ca", "uk"} & set(cited), case.reason
