"""Posture verdicts from observations (no network): exposure paths, cloud, EOL, grading."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from provscan.knowledge.loader import load_posture_knowledge
from provscan.model import (
    AttemptStatus,
    Device,
    Finding,
    Observation,
    PhoneHome,
    ProbeAttempt,
    ScanInfo,
    ScanResult,
)
from provscan.posture.assess import (
    PostureOptions,
    assess_device,
    assess_scan,
    firmware_source,
    priority_list,
    severity,
)
from region_eol import with_region_limited

KNOWLEDGE = load_posture_knowledge()
RESTRICTED = Finding(
    "us", "United States", "NDAA FY2019 s.889", "Pub. L. 115-232", "2019-08-13", "dahua"
)


def attempt(probe: str, port: int, *observations: Observation) -> ProbeAttempt:
    return ProbeAttempt(probe, port, AttemptStatus.OK, tuple(observations))


def camera(ip: str = "192.168.1.64", **fields: object) -> Device:
    base = Device(
        ip=ip,
        open_ports=(80, 554),
        manufacturer="Dahua",
        brand="Dahua",
        family="dahua",
        model="DH-IPC-HDW3449H-AS-PV",
        restricted=True,
        findings=(RESTRICTED,),
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def info(policies: tuple[str, ...] = ("us",)) -> ScanInfo:
    return ScanInfo(
        "s", "active", datetime(2026, 1, 1, tzinfo=UTC), None, ("x",), (80,), policies, "0"
    )


def test_a_upnp_mapping_on_the_router_exposes_the_camera_it_points_to() -> None:
    # Given a router whose IGD maps a public port to the camera (as discovery records it)
    router = Device(
        ip="192.168.1.1",
        open_ports=(1900,),
        attempts=(
            attempt(
                "ssdp",
                1900,
                Observation(
                    "upnp", 1900, "upnp.port_mapping", "TCP *:8080 -> 192.168.1.64:80 (cam)"
                ),
                Observation("upnp", 1900, "upnp.port_mapping", "TCP *:2222 -> 192.168.1.99:22"),
            ),
        ),
    )
    # When the scan is assessed
    result = assess_scan(ScanResult(info(), (router, camera())), KNOWLEDGE)
    # Then only the camera the mapping names is exposed, and reconfiguring comes first
    by_ip = {d.ip: d for d in result.devices}
    exposed = by_ip["192.168.1.64"]
    assert [e.kind for e in exposed.exposure] == ["internet_upnp_mapping"]
    assert "192.168.1.1" in exposed.exposure[0].evidence
    assert exposed.remediation[0].priority == 1
    assert {r.action for r in exposed.remediation if r.priority == 1} == {"isolate", "reconfigure"}
    assert not by_ip["192.168.1.1"].exposure


def test_a_public_address_is_an_exposure() -> None:
    device = assess_device(camera(ip="8.8.4.4"), KNOWLEDGE)
    assert "public_address" in {e.kind for e in device.exposure}


def test_phone_home_contacts_from_passive_mode_count_as_cloud() -> None:
    contact = PhoneHome("Dahua P2P", "www.easy4ipcloud.com", 12, datetime(2026, 1, 1, tzinfo=UTC))
    device = assess_device(camera(phones_home=(contact,)), KNOWLEDGE)
    cloud = [e for e in device.exposure if e.kind == "cloud_p2p"]
    assert cloud and "easy4ipcloud" in cloud[0].detail and "packet 12" in cloud[0].evidence


def test_plain_http_basic_login_and_telnet() -> None:
    device = camera(
        open_ports=(23, 80),
        attempts=(
            attempt(
                "http",
                80,
                Observation("http", 80, "http.www_authenticate", 'Basic realm="hikvision"'),
            ),
            attempt("banner", 23, Observation("banner", 23, "banner.text", "192.0.0.64 login:")),
        ),
    )
    kinds = {e.kind: e for e in assess_device(device, KNOWLEDGE).exposure}
    assert "base64" in kinds["plain_http_login"].detail
    assert "192.0.0.64" in kinds["telnet"].evidence


def test_https_only_login_is_not_a_plain_http_finding() -> None:
    device = camera(
        attempts=(attempt("https", 443, Observation("https", 443, "http.title", "login.asp")),),
    )
    assert "plain_http_login" not in {e.kind for e in assess_device(device, KNOWLEDGE).exposure}


def test_firmware_source_prefers_the_credentialed_read_and_says_so() -> None:
    device = camera(
        attempts=(
            attempt(
                "onvif", 80, Observation("onvif", 80, "onvif.firmware", "2.800.0000000.20.R", "x")
            ),
            attempt(
                "credentialed",
                80,
                Observation(
                    "http", 80, "dahua.cgi.firmware", "2.800.0000000.28.R,build:2021-06-29", "/cgi"
                ),
            ),
        )
    )
    firmware, how = firmware_source(device)
    assert firmware == "2.800.0000000.28.R,build:2021-06-29" and "dahua.cgi.firmware" in how


def test_firmware_without_build_date_is_undetermined_never_guessed() -> None:
    device = camera(
        attempts=(
            attempt(
                "onvif", 80, Observation("onvif", 80, "onvif.firmware", "2.800.0000000.29.R", "x")
            ),
        )
    )
    assessed = assess_device(device, KNOWLEDGE)
    statuses = {v.cve: v.status for v in assessed.vulnerabilities}
    assert statuses["CVE-2021-33044"] == "undetermined"
    assert "lacks a build date" in next(
        v.note for v in assessed.vulnerabilities if v.cve == "CVE-2021-33044"
    )
    undetermined = [r for r in assessed.remediation if "firmware could not be" in r.reason]
    assert undetermined and "CVE-2021-33044" in undetermined[0].reason
    # CVE-2021-33044 is on CISA KEV: reading the firmware comes before hygiene (was 4)
    assert undetermined[0].priority == 2 and "on CISA KEV: CVE-2021-33044" in undetermined[0].reason


def test_models_outside_the_published_lists_get_no_cve() -> None:
    device = camera(model="DH-IPC-HDW5842T-ZE", firmware="2.800.0000000.1.R.200101")
    assert "CVE-2021-33044" in {v.cve for v in assess_device(device, KNOWLEDGE).vulnerabilities}
    other = camera(model="DH-XVR5116HS-I3", firmware="4.001.0000000.4.R.200101")
    assert "CVE-2021-33044" not in {v.cve for v in assess_device(other, KNOWLEDGE).vulnerabilities}


def test_amcrest_cve_follows_the_label_brand_and_the_baseline() -> None:
    amcrest = camera(brand="Amcrest", model="IP8M-2496EB", firmware="2.623.00AC004.0.R.200315")
    assert {v.cve: v.status for v in assess_device(amcrest, KNOWLEDGE).vulnerabilities}[
        "CVE-2020-5735"
    ] == "vulnerable"
    fixed = dataclasses.replace(amcrest, firmware="2.623.00AC004.0.R.200316")
    assert "CVE-2020-5735" not in {v.cve for v in assess_device(fixed, KNOWLEDGE).vulnerabilities}
    other = dataclasses.replace(amcrest, firmware="2.420.00AC00.18.R.170101")
    assert {v.cve: v.status for v in assess_device(other, KNOWLEDGE).vulnerabilities}[
        "CVE-2020-5735"
    ] == "undetermined"


def test_region_limited_end_of_support_applies_when_that_policy_is_selected() -> None:
    hik = camera(
        manufacturer="Hikvision", brand="Hikvision", family="hikvision", model="DS-2CD2143G0-I"
    )
    # a test-only entry limited to CA (the bundled knowledge holds none: eol.yaml)
    knowledge = with_region_limited(KNOWLEDGE)
    with_ca = assess_device(hik, knowledge, options=PostureOptions(policies=("ca",)))
    assert any("support withdrawn in Canada" in r.reason for r in with_ca.remediation)
    without = assess_device(hik, knowledge, options=PostureOptions(policies=("us",)))
    assert not any("support withdrawn" in r.reason for r in without.remediation)


def test_unrestricted_clean_device_gets_no_remediation() -> None:
    axis = Device(
        ip="10.0.0.5", open_ports=(443,), manufacturer="Axis", model="P3225-LV", firmware="9.70.1.5"
    )
    assessed = assess_device(axis, KNOWLEDGE)
    assert not assessed.vulnerabilities and not assessed.exposure and not assessed.remediation


def test_priority_list_puts_exploited_and_exposed_first() -> None:
    kev = camera(ip="10.0.0.2", firmware="2.800.0000000.28.R.210629")
    quiet = camera(ip="10.0.0.3", firmware="2.800.0000000.29.R.210630")
    result = assess_scan(ScanResult(info(), (quiet, kev)), KNOWLEDGE)
    items = priority_list(result)
    assert items[0].ip == "10.0.0.2" and items[0].priority == 1
    assert [i.priority for i in items] == sorted(i.priority for i in items)


def test_severity_bands() -> None:
    assert [severity(s) for s in (9.8, 7.0, 6.9, 0.1, 0.0)] == [
        "critical",
        "high",
        "medium",
        "low",
        "none",
    ]


def test_a_mapping_noted_by_discovery_on_the_gateway_counts_too() -> None:
    note = "UPnP IGD port mapping exposes TCP *:8554 -> 192.168.1.64:554 (rtsp)"
    gateway = Device(ip="192.168.1.1", open_ports=(), notes=(note,))
    result = assess_scan(ScanResult(info(), (gateway, camera())), KNOWLEDGE)
    exposed = next(d for d in result.devices if d.ip == "192.168.1.64")
    assert [e.kind for e in exposed.exposure] == ["internet_upnp_mapping"]
    assert "8554" in exposed.exposure[0].detail


def test_isolation_rules_never_allow_telnet() -> None:
    device = assess_device(camera(open_ports=(23, 80, 554)), KNOWLEDGE)
    isolate = next(r for r in device.remediation if r.action == "isolate")
    assert "TCP 80, 554;" in isolate.detail and "23" not in isolate.detail.split(";")[0]


def _isolate_text(device: Device) -> str:
    assessed = assess_device(device, KNOWLEDGE, options=PostureOptions(policies=("us",)))
    return next(r.detail for r in assessed.remediation if r.action == "isolate")


def test_a_restricted_router_gets_network_equipment_isolation_not_camera_advice() -> None:
    # Given a restricted Huawei 5G router with its web UI on 80 and 443 (and telnet on 23)
    router = camera(
        "192.0.2.1",
        manufacturer="Huawei",
        brand="Huawei",
        family="huawei",
        model="H122-373",
        device_type="router",
        open_ports=(23, 80, 443),
    )
    text = _isolate_text(router)
    # Then its advice keeps its management off the networks it serves (remediation.yaml)
    assert "carries other devices' traffic" in text
    assert "Allow management of 192.0.2.1 on TCP 80, 443 only from" in text
    assert "camera VLAN" not in text and "recorder/VMS" not in text
    # And a camera keeps the camera advice, with its ports
    text = _isolate_text(camera(device_type="camera"))
    assert "dedicated camera VLAN" in text and "reach 192.168.1.64 on TCP 80, 554;" in text


def test_isolation_advice_reads_well_without_known_ports() -> None:
    # A device known only from an import or a capture: no open ports seen
    text = _isolate_text(camera(open_ports=()))
    assert "reach 192.168.1.64 on the TCP ports it serves;" in text
    assert "TCP the" not in text and "its service ports" not in text
