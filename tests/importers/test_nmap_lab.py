"""nmap's view of the built-in lab (fixtures/lab-nmap.xml, recorded with ``nmap -sV``; see
fixtures/README.md), imported, against provscan's own scan of the same lab."""

from __future__ import annotations

from pathlib import Path

from provscan.importers import ImportFormat
from provscan.model import Device, ScanResult
from provscan.pipeline import run_import

FIXTURE = Path(__file__).parent / "fixtures" / "lab-nmap.xml"
#: The acceptance bar: the import finds at least this share of what the scan finds restricted.
MIN_RESTRICTED_RECALL = 0.8
#: Makers that name the same device: i-PRO is Panasonic's security business, sold in 2019
#: (vendors.yaml, legal name "Panasonic i-PRO Sensing Solutions"); nmap still labels its
#: WV- cameras "Panasonic".
SAME_MAKER = {frozenset({"Panasonic", "i-PRO"})}


def _by_place(devices: tuple[Device, ...]) -> dict[str, Device]:
    """Devices by the last two octets: the recording and this session serve the lab on
    different 127.N.0.0/16 ranges."""
    return {".".join(device.ip.split(".")[2:]): device for device in devices}


def _imported() -> ScanResult:
    return run_import([(str(FIXTURE), ImportFormat.nmap_xml)])


def test_imported_nmap_agrees_with_the_scan_and_finds_its_restricted_devices(
    lab_scan: ScanResult,
) -> None:
    # Given provscan's own scan of the lab and nmap's recorded view of it, imported
    imported = _by_place(_imported().devices)
    scanned = _by_place(lab_scan.devices)
    # Then wherever the import names a maker, it is the maker the scan names, with the same
    # verdict (nmap saw the same evidence)
    disagreements = [
        (place, device.manufacturer, scanned[place].manufacturer)
        for place, device in imported.items()
        if place in scanned
        and device.manufacturer is not None
        and (
            (
                device.manufacturer != scanned[place].manufacturer
                and frozenset({device.manufacturer, scanned[place].manufacturer}) not in SAME_MAKER
            )
            or device.restricted != scanned[place].restricted
        )
    ]
    assert disagreements == []
    # And it finds at least 80% of the restricted devices the scan finds
    restricted = [place for place, device in scanned.items() if device.restricted]
    found = [place for place in restricted if place in imported and imported[place].restricted]
    recall = len(found) / len(restricted)
    print(f"restricted devices: scan {len(restricted)}, import {len(found)} ({recall:.0%})")
    assert recall >= MIN_RESTRICTED_RECALL, sorted(set(restricted) - set(found))
    # And no device is restricted by the import that the scan clears
    assert all(scanned[p].restricted for p, d in imported.items() if d.restricted and p in scanned)


def test_every_imported_device_says_where_it_came_from() -> None:
    result = _imported()
    assert result.info.kind == "import"
    assert result.info.targets == (f"nmap-xml:{FIXTURE}",)
    assert result.info.notes[0].startswith("imported from nmap XML")
    assert all("imported from nmap XML lab-nmap.xml" in d.notes for d in result.devices)
    # Service detection and the raw replies nmap kept both reach the evidence
    fields = {e.observed_field for d in result.devices for e in d.evidence}
    assert {"http.server", "rtsp.public", "banner.text", "nmap.product"} <= fields


SCRIPTS_FIXTURE = Path(__file__).parent / "fixtures" / "lab-nmap-scripts.xml"
#: Fields nmap's scripts (http-title, http-server-header, rtsp-methods, ssl-cert, banner) give.
SCRIPT_FIELDS = frozenset(
    {"http.title", "http.server", "rtsp.public", "tls.subject", "tls.issuer", "banner.text",
     "banner.lines"}
)  # fmt: skip


def test_nmap_script_output_becomes_the_observations_the_probes_make(
    lab_scan: ScanResult,
) -> None:
    # Given nmap's scripts run on five lab devices, imported
    from provscan.importers import read_file

    imported = read_file(SCRIPTS_FIXTURE, ImportFormat.nmap_xml)
    scanned = _by_place(lab_scan.devices)
    compared = 0
    for record in imported.records:
        assert record.address is not None
        place = ".".join(record.address.split(".")[2:])
        probed = {
            (o.port, o.field, o.value)
            for attempt in scanned[place].attempts
            for o in attempt.observations
        }
        for observation in record.observations:
            if observation.detail.startswith("nmap script") and observation.field in SCRIPT_FIELDS:
                # Then each is an observation provscan's own probe made on that port
                key = (observation.port, observation.field, observation.value)
                assert key in probed, (place, key)
                compared += 1
    assert compared >= 15
    # And the five devices get the makers the scan gives them
    result = run_import([(str(SCRIPTS_FIXTURE), None)], posture=False)
    for device in result.devices:
        place = ".".join(device.ip.split(".")[2:])
        assert device.manufacturer == scanned[place].manufacturer
        assert device.restricted == scanned[place].restricted
