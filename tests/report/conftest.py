"""A fixed, hand-built scan result: the source of the committed golden JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from provscan.model import (
    AttemptStatus,
    Device,
    Evidence,
    Exposure,
    Finding,
    ProbeAttempt,
    Remediation,
    ScanInfo,
    ScanResult,
    Vulnerability,
)

NDAA_889 = Finding(
    policy="us-ndaa-889",
    jurisdiction="US",
    measure="Federal procurement ban on covered video-surveillance equipment",
    citation="Pub. L. 115-232 s.889(a)(1)(A); FAR 52.204-25",
    effective="2019-08-13",
    family="dahua",
    scope_note="Covers equipment produced by Dahua or any subsidiary or affiliate, incl. OEM relabels.",
    effect="procurement-ban",
    binding=True,
)
FCC_COVERED_LIST = Finding(
    policy="us-fcc-covered-list",
    jurisdiction="US",
    measure="No new equipment authorizations for covered equipment",
    citation="FCC 22-84; 47 CFR 2.903",
    effective="2023-02-06",
    family="dahua",
    effect="authorization-ban",
    binding=True,
)

AMCREST_BY_DAHUA = Device(
    ip="192.0.2.10",
    mac="9c:8e:cd:12:34:56",
    hostname="amcrest-frontdoor",
    open_ports=(80, 554, 37777),
    manufacturer="Dahua",
    brand="Amcrest",
    relation="oem_relabel",
    family="dahua",
    model="IP8M-2496EB",
    firmware="V2.800.0000000.3.R",
    serial="AMC0123456789ABCD",
    device_type="ip_camera",
    confidence=0.93,
    restricted=True,
    findings=(NDAA_889, FCC_COVERED_LIST),
    evidence=(
        Evidence(
            protocol="http",
            port=80,
            observed_field="http.www_authenticate",
            observed='Digest realm="Login to AMC0123456789ABCD"',
            rule_id="amcrest.http.digest_realm",
            asserts={"brand": "Amcrest", "serial": "AMC0123456789ABCD"},
            certainty=0.9,
        ),
        Evidence(
            protocol="dvrip",
            port=37777,
            observed_field="dahua.dvrip.banner",
            observed="DVRIP 0xa0 reply, device class IPC",
            rule_id="dahua.dvrip.reply",
            asserts={"manufacturer": "Dahua", "device_type": "ip_camera"},
            certainty=0.95,
        ),
        Evidence(
            protocol="mac",
            port=None,
            observed_field="mac.oui",
            observed="9C:8E:CD",
            rule_id=None,
            asserts={},
            certainty=0.5,
        ),
    ),
    conflicts=("model: IP8M-2496EB (http) vs IP8M-2496E (rtsp)",),
    attempts=(
        ProbeAttempt(probe="http", port=80, status=AttemptStatus.OK, elapsed_s=0.21),
        ProbeAttempt(probe="rtsp", port=554, status=AttemptStatus.OK, elapsed_s=0.08),
        ProbeAttempt(probe="dahua_dvrip", port=37777, status=AttemptStatus.OK, elapsed_s=0.12),
        ProbeAttempt(
            probe="onvif",
            port=80,
            status=AttemptStatus.TIMEOUT,
            error="no reply within 2.0 s",
            elapsed_s=2.0,
        ),
    ),
    notes=("brand Amcrest is an OEM relabel of Dahua (python-amcrest; CVE-2020-5735)",),
    vulnerabilities=(
        Vulnerability(
            cve="CVE-2020-5735",
            cvss=8.8,
            severity="high",
            kev=True,
            fixed_in="2.800.00AC000.0.R.200330",
            source="https://nvd.nist.gov/vuln/detail/CVE-2020-5735",
            status="undetermined",
            kev_date_added="2021-11-03",
            note="firmware 'V2.800.0000000.3.R' lacks a build date to compare",
        ),
    ),
    exposure=(
        Exposure(
            kind="rtsp_unauthenticated",
            detail="RTSP on port 554 answered DESCRIBE with 200 without credentials",
            evidence="rtsp.status_line 'RTSP/1.0 200 OK'",
            port=554,
        ),
    ),
    remediation=(
        Remediation(
            action="replace",
            reason="maker Dahua is restricted by policy us-ndaa-889",
            priority=2,
            detail="Replace with equipment from a maker no selected policy restricts.",
            effort="months",
        ),
        Remediation(
            action="reconfigure",
            reason="RTSP on port 554 answered DESCRIBE with 200 without credentials",
            priority=2,
            detail="Enable RTSP authentication (Digest) on the device.",
            effort="hours",
        ),
    ),
)

AXIS = Device(
    ip="192.0.2.20",
    mac="00:40:8c:ab:cd:ef",
    hostname=None,
    open_ports=(80, 554),
    manufacturer="Axis",
    brand="Axis",
    relation=None,
    family=None,
    model="M3106-L Mk II",
    firmware="10.12.182",
    serial=None,
    device_type="ip_camera",
    confidence=0.88,
    restricted=False,
    evidence=(
        Evidence(
            protocol="http",
            port=80,
            observed_field="http.body",
            observed="AXIS M3106-L Mk II Network Camera",
            rule_id="axis.http.title",
            asserts={"manufacturer": "Axis", "model": "M3106-L Mk II"},
            certainty=0.85,
        ),
    ),
    attempts=(
        ProbeAttempt(probe="http", port=80, status=AttemptStatus.OK, elapsed_s=0.15),
        ProbeAttempt(
            probe="rtsp",
            port=554,
            status=AttemptStatus.REFUSED,
            error="connection refused",
            elapsed_s=0.01,
        ),
    ),
)

SAMPLE_RESULT = ScanResult(
    info=ScanInfo(
        scan_id="20260101T120000Z-3f2a",
        kind="active",
        started_at=datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC),
        finished_at=datetime(2026, 1, 1, 12, 1, 30, 250000, tzinfo=UTC),
        targets=("192.0.2.0/28",),
        ports=(80, 554, 37777),
        policies=("us-ndaa-889", "us-fcc-covered-list"),
        tool_version="0.1.0",
        hosts_scanned=14,
        hosts_responding=2,
        complete=True,
        notes=("lab run against documentation addresses",),
        acting_as=("us:federal-agency", "us:equipment-supplier"),
        judged_for="us:federal-agency, us:equipment-supplier",
    ),
    # Deliberately not in address order: the contract sorts devices by IP.
    devices=(AXIS, AMCREST_BY_DAHUA),
)


@pytest.fixture
def sample_result() -> ScanResult:
    return SAMPLE_RESULT
