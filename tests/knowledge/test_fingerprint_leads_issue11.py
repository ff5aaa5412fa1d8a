"""Fingerprint leads of issue 11 (2026-12-07b), over real loopback sockets.

- Older Axis cameras title their live view 'Live View / - AXIS 211 Network Camera' (WhatWeb)
  or 'Live view / - AXIS 205 version 4.03' (Greenbone): both name Axis and the model, the
  second the firmware too. A look-alike live view page of a webcam program is not Axis.
- A Dahua NVR certificate issued by 'Dahua Device NVR CA' of 'Zhejiang Dahua Technology
  Co.,Ltd.' (words separated by U+00A0, as D4-project/Plum-Island issue 204 shows it) names
  Dahua, a restricted maker, through the issuer's legal name.

The devices are served on their own 127.N.211.x, apart from the session lab.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import pytest
from helpers import scan_addresses

from provscan.lab.server import run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.model import Device, ScanResult

BASE = f"127.{160 + os.getpid() % 40}.211"
NBSP = "\u00a0"
HTML_HEADERS = [
    ["Date", "{date}"],
    ["Content-Type", "text/html"],
    ["Content-Length", "{content_length}"],
    ["Connection", "close"],
]


def _titled(title: str) -> dict[str, object]:
    body = f"<html><head><title>{title}</title></head><body></body></html>\n"
    return {"routes": [{"path": "/", "headers": HTML_HEADERS, "body": body}]}


def _device(
    host: int,
    ident: str,
    title: str,
    model: str | None = None,
    more_services: Sequence[dict[str, object]] = (),
) -> DeviceSpec:
    services = [{"port": 80, "protocol": "http", "options": _titled(title)}, *more_services]
    return DeviceSpec.model_validate(
        {
            "id": ident,
            "address": f"{BASE}.{host}",
            "description": f"{ident}: web page titled {title!r}",
            "identity": {"model": model},
            "expect": {},
            "sources": ["tests/knowledge/test_fingerprint_leads_issue11.py"],
            "services": services,
        }
    )


AXIS_211 = _device(1, "axis-211-live-view", "Live View / - AXIS 211 Network Camera", model="211")
AXIS_205 = _device(2, "axis-205-live-view", "Live view  / - AXIS 205 version 4.03", model="205")
WEBCAM = _device(3, "webcam-program-live-view", "Live View / - WebCam")
DAHUA_NVR = _device(
    4,
    "dahua-nvr-device-ca",
    "WEB",
    more_services=[
        {
            "port": 443,
            "protocol": "http",
            "tls": {
                "subject": {"CN": f"{BASE}.4", "C": "CN"},
                "issuer": {
                    "CN": NBSP.join(["Dahua", "Device", "NVR", "CA"]),
                    "O": NBSP.join(["Zhejiang", "Dahua", "Technology", "Co.,Ltd."]),
                    "ST": "Zhejiang",
                    "L": "Hangzhou",
                    "C": "CN",
                },
            },
            "options": _titled("WEB"),
        }
    ],
)
DEVICES = [AXIS_211, AXIS_205, WEBCAM, DAHUA_NVR]


@pytest.fixture(scope="module")
def scan() -> Iterator[ScanResult]:
    with run_lab_in_thread(DEVICES):
        yield scan_addresses([d.address for d in DEVICES], ports=[80, 443])


def _found(scan: ScanResult, spec: DeviceSpec) -> Device:
    devices = {d.ip: d for d in scan.devices}
    assert spec.address in devices, f"{spec.id} not found"
    return devices[spec.address]


def _context(device: Device) -> str:
    return f"maker={device.manufacturer} restricted={device.restricted}\n" + "\n".join(
        f"  {e.protocol}/{e.port} {e.observed_field}={e.observed!r} {e.rule_id}"
        for e in device.evidence
    )


@pytest.mark.parametrize("spec", [AXIS_211, AXIS_205], ids=lambda s: s.id)
def test_an_older_axis_live_view_title_names_axis_and_the_model(
    scan: ScanResult, spec: DeviceSpec
) -> None:
    device = _found(scan, spec)
    context = _context(device)
    assert device.manufacturer == "Axis", context
    assert device.model == spec.identity.model, context
    assert not device.restricted, context
    assert "axis.http_title.live_view" in {e.rule_id for e in device.evidence}, context


def test_the_live_view_title_with_a_version_gives_the_firmware(scan: ScanResult) -> None:
    device = _found(scan, AXIS_205)
    title = [e.observed for e in device.evidence if e.rule_id == "axis.http_title.live_view"]
    assert title, _context(device)
    version = title[0].rsplit(" version ", 1)[1]
    assert device.firmware == version, _context(device)


def test_a_webcam_programs_live_view_title_is_not_axis(scan: ScanResult) -> None:
    device = _found(scan, WEBCAM)
    context = _context(device)
    assert device.manufacturer != "Axis", context
    assert "axis.http_title.live_view" not in {e.rule_id for e in device.evidence}, context


def test_a_dahua_device_ca_issuer_names_dahua_restricted(scan: ScanResult) -> None:
    device = _found(scan, DAHUA_NVR)
    context = _context(device)
    assert device.manufacturer == "Dahua", context
    assert device.restricted is True, context
    issuers = [e for e in device.evidence if e.observed_field == "tls.issuer"]
    assert any(e.rule_id == "dahua.tls_issuer.legal_name" for e in issuers), context
