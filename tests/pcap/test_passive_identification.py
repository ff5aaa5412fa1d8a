"""Passive identification end to end: recorded lab traffic, crafted signals, a live recording."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import scan_addresses

from provscan.lab.server import Lab, load_devices
from provscan.model import Device, ScanResult
from provscan.pipeline import run_passive as analyse_captures
from provscan.report.contract import to_contract

FIXTURES = Path(__file__).parent / "fixtures"
LAB_RECORDING = FIXTURES / "lab_scan.pcap.gz"
LAB_EXPECTED = json.loads((FIXTURES / "lab_scan.expected.json").read_text(encoding="utf-8"))
CRAFTED = FIXTURES / "crafted_signals.pcapng"


@pytest.fixture(scope="module")
def lab_recording() -> ScanResult:
    return analyse_captures([str(LAB_RECORDING)])


@pytest.fixture(scope="module")
def crafted() -> dict[str, Device]:
    result = analyse_captures([str(CRAFTED)])
    return {device.ip: device for device in result.devices}


def _check(device: Device, expected: dict[str, object], name: str) -> None:
    context = f"{name}: got maker={device.manufacturer} brand={device.brand} model={device.model}"
    if expected["manufacturer"] is not None:
        assert device.manufacturer == expected["manufacturer"], context
    if expected["brand"] is not None:
        assert (device.brand or device.manufacturer) == expected["brand"], context
    if expected["restricted"] is not None:
        assert device.restricted is expected["restricted"], context
    if expected["model"] is not None:
        assert device.model == expected["model"], context


@pytest.mark.parametrize("address", sorted(LAB_EXPECTED), ids=lambda a: LAB_EXPECTED[a]["id"])
def test_recorded_lab_device_is_identified(address: str, lab_recording: ScanResult) -> None:
    devices = {device.ip: device for device in lab_recording.devices}
    assert address in devices, f"{LAB_EXPECTED[address]['id']} sent no packet in the recording"
    _check(devices[address], LAB_EXPECTED[address], LAB_EXPECTED[address]["id"])


def test_the_recording_is_of_the_lab_as_it_is(lab_recording: ScanResult) -> None:
    # Every device of the bundled lab that is not hostile sent packets from its address, and
    # no one else did but the host that scanned: once a capture of an older lab showed
    # Hikvision and Dahua at addresses where hostile devices now are, and no Huawei or ZTE.
    lab = {device.address for device in load_devices() if not device.expect.hostile}
    recorded = {device.ip for device in lab_recording.devices}
    assert recorded - lab == {"127.0.0.1"}, "record again: scripts/make_pcap_fixtures.py"
    assert lab - recorded == set(), "record again: scripts/make_pcap_fixtures.py"


def test_recorded_lab_evidence_carries_packet_and_time(lab_recording: ScanResult) -> None:
    document = to_contract(lab_recording)
    assert document.scan.kind == "passive"
    assert document.scan.complete
    hik = next(d for d in document.devices if d.ip == "127.77.1.10")
    matched = [e for e in hik.evidence if e.rule_id]
    assert matched and all("packet " in e.detail and "Z" in e.detail for e in matched)
    # TLS 1.2 handshakes in the recording expose the certificate
    assert any(e.field == "tls.subject" for e in hik.evidence)


def test_rtsp_replies_after_the_first_are_read(lab_recording: ScanResult) -> None:
    """RTSP replies without Content-Length have no body (RFC 2326 s.12.14): the 401 that
    follows an OPTIONS reply on the same connection is read, its realm with it, as the
    active scan reads it (the i-PRO camera's realm names Panasonic)."""
    ipro = next(d for d in lab_recording.devices if d.ip == "127.77.5.19")
    assert ("rtsp.realm", "Panasonic network device") in {
        (e.observed_field, e.observed) for e in ipro.evidence
    }


def test_crafted_signals_identify_devices_and_phone_home(crafted: dict[str, Device]) -> None:
    hik = crafted["192.168.1.64"]
    assert (hik.manufacturer, hik.restricted, hik.model) == ("Hikvision", True, "DS-2CD2143G0-I")
    assert hik.mac == "bc:ba:c2:44:55:66" and hik.hostname == "IPCamera"
    assert [(p.service, p.endpoint) for p in hik.phones_home] == [
        ("Hik-Connect device platform", "litedev.hik-connect.com")
    ]
    observed = {e.observed_field for e in hik.evidence}
    for field_name in (
        "sadp.serial",
        "wsd.name",
        "dhcp.vendor_class",
        "dhcp.parameter_list",
        "cloud.phones_home",
        "mac.oui",
    ):
        assert field_name in observed, field_name

    dahua = crafted["192.168.1.108"]
    assert (dahua.manufacturer, dahua.restricted) == ("Dahua", True)
    assert dahua.phones_home[0].endpoint == "www.easy4ipcloud.com"
    intelbras = crafted["192.168.1.109"]
    assert (intelbras.manufacturer, intelbras.brand) == ("Dahua", "Intelbras")
    ezviz = crafted["192.168.1.70"]
    assert ezviz.brand == "EZVIZ" and ezviz.restricted
    assert {p.endpoint for p in ezviz.phones_home} == {"litedev.ezvizlife.com", "dev.ezvizlife.com"}
    axis = crafted["192.168.1.90"]
    assert (axis.manufacturer, axis.restricted, axis.model) == ("Axis", False, "P3225-LV Mk II")
    nvr = crafted["192.168.1.20"]
    assert nvr.manufacturer == "Hikvision"
    assert any(e.observed_field == "tls.subject" for e in nvr.evidence)


def test_routed_traffic_does_not_lend_the_gateway_mac(crafted: dict[str, Device]) -> None:
    for address in ("203.0.113.10", "203.0.113.20", "198.51.100.7"):
        assert crafted[address].mac is None
        assert crafted[address].manufacturer is None
    laptop = crafted["192.168.1.50"]
    assert laptop.manufacturer is None and not laptop.restricted
    assert laptop.phones_home == ()


def test_several_files_and_gzip_make_one_result(tmp_path: Path) -> None:
    result = analyse_captures([str(CRAFTED), str(LAB_RECORDING)])
    assert len(result.info.targets) == 2
    ips = {device.ip for device in result.devices}
    assert {"192.168.1.64", "127.77.1.10"} <= ips


# --- a live recording of the lab, when tcpdump can run -------------------------------------

LIVE_DEVICES = ("hik-ipc-g2", "dahua-ipc", "amcrest-ipc", "axis-p3225", "xiongmai-dvr")


@pytest.fixture()
def tcpdump_recording(tmp_path: Path, lab: Lab) -> Iterator[tuple[Path, list[str]]]:
    binary = shutil.which("tcpdump")
    if binary is None:
        pytest.skip(
            "tcpdump is not installed (apt-get install tcpdump); the committed recording covers this"
        )
    addresses = sorted({d.address for d in lab.devices if d.id in LIVE_DEVICES})
    path = tmp_path / "live.pcap"
    capture_filter = " or ".join(f"host {address}" for address in addresses)
    process = subprocess.Popen(
        # --immediate-mode: packets reach the file as they come, not up to a second later in
        # a kernel block (the recording is read while tcpdump still runs)
        [
            binary,
            "-i",
            "lo",
            "--immediate-mode",
            "-U",
            "-s",
            "0",
            "-n",
            "-w",
            str(path),
            capture_filter,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    line = process.stderr.readline().decode(errors="replace")
    if "listening on" not in line:
        process.kill()
        process.communicate()
        pytest.skip(f"tcpdump cannot capture on lo here: {line.strip()}")
    try:
        yield path, addresses
    finally:
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)


def _until_the_file_settles(path: Path, quiet_s: float = 0.5, limit_s: float = 15.0) -> None:
    """Wait until tcpdump has written what it captured: the file's size unchanged for
    ``quiet_s`` (a fixed 0.3 s can read the recording before the last replies reach it)."""
    deadline = time.monotonic() + limit_s
    size = -1
    while time.monotonic() < deadline:
        now = path.stat().st_size if path.exists() else -1
        if now == size:
            return
        size = now
        time.sleep(quiet_s)


def test_live_recording_of_the_lab_is_identified(
    tcpdump_recording: tuple[Path, list[str]], lab: Lab
) -> None:
    # Given a scan of a few lab devices recorded with tcpdump on lo
    path, addresses = tcpdump_recording
    ports = sorted({s.port for d in lab.devices if d.address in addresses for s in d.services})
    active = scan_addresses(addresses, ports=ports)
    _until_the_file_settles(path)
    # When the recording is analysed passively (tcpdump is still writing: flushed with -U)
    passive = {device.ip: device for device in analyse_captures([str(path)]).devices}
    # Then each device gets the maker and verdict the active scan gave
    for device in active.devices:
        assert device.ip in passive, device.ip
        assert passive[device.ip].manufacturer == device.manufacturer, device.ip
        assert passive[device.ip].restricted == device.restricted, device.ip
