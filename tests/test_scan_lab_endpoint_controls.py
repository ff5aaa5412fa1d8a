"""A vendor path's answer claims a maker only beside a control (issue 11, live scan).

Over real sockets, through the whole pipeline: generic servers that answer vendor paths
(Hikvision's /ISAPI/..., Dahua's /cgi-bin/... and /RPC2_Login) as they answer every other
path are neither restricted nor Hikvision or Dahua; the lab's Hikvision and Dahua cameras
still are, and each endpoint claim's evidence detail names the control request behind it.
The devices are served on their own 127.N.111.x, apart from the session lab.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from helpers import scan_addresses

from provscan.lab.server import Lab, load_devices, run_lab_in_thread
from provscan.lab.spec import DeviceSpec
from provscan.model import Device, ScanResult
from provscan.observations.http import CANARY_PATH
from provscan.report.contract import verdict_of

OCTET = 80 + os.getpid() % 40
HTML = [["Content-Type", "text/html"], ["Content-Length", "{content_length}"]]
ASK_PASSWORD = {
    "status": 401,
    "headers": [["WWW-Authenticate", 'Basic realm="Login"'], *HTML],
    "body": "<html><head><title>401 Unauthorized</title></head></html>",
}


def _generic(number: int, name: str, default: dict[str, object], *routes: object) -> DeviceSpec:
    return DeviceSpec.model_validate(
        {
            "id": name,
            "address": f"127.{OCTET}.111.{number}",
            "description": name,
            "identity": {},
            "expect": {"restricted": False},
            "sources": ["lab assumption: a generic web server (issue 11, live endpoint controls)"],
            "services": [
                {"port": 80, "protocol": "http", "options": {"default": default, "routes": routes}}
            ],
        }
    )


GENERIC = [
    # a password-protected web server: 401 to every path
    _generic(1, "every-path-401", ASK_PASSWORD),
    # a single-page app (or honeypot): the same page to every path, vendor paths included
    _generic(
        2,
        "every-path-same-page",
        {"status": 200, "headers": HTML, "body": "<html><title>App</title><div id=a></div>"},
    ),
    # 401 to every GET, the canary's included; a JSON API that answers every POST 200
    _generic(
        3,
        "every-get-401-every-post-200",
        ASK_PASSWORD,
        {"method": "POST", "path": "*", "headers": HTML, "body": '{"result":false}'},
    ),
    # every path redirected to the login page, Basic authentication on its /cgi-bin/
    _generic(
        4,
        "every-path-redirected-cgi-bin-401",
        {"status": 302, "headers": [["Location", "/login.html"], *HTML], "body": ""},
        {"path": "/cgi-bin/*", **ASK_PASSWORD},
    ),
]
#: A router that asks a password for every path under /cgi-bin/ (lighttpd ``auth.require``,
#: BusyBox httpd ``/cgi-bin:user:pass``) and answers "not found" elsewhere: the root canary is
#: a control, so only the directory control keeps its magicBox.cgi 401 from naming Dahua.
CGI_BIN_ROUTER = _generic(
    5,
    "cgi-bin-401-elsewhere-404",
    {"status": 404, "headers": HTML, "body": "<html><title>404 Not Found</title></html>"},
    {"method": "*", "path": "/cgi-bin/*", **ASK_PASSWORD},
    {"path": "/", "headers": HTML, "body": "<html><title>Router</title></html>"},
)
DIRECTORY_CONTROL = "/cgi-bin/provscan-canary-0f3a9c.cgi"
CAMERAS = [
    d.model_copy(update={"address": f"127.{OCTET}.111.{10 + index}"})
    for index, d in enumerate(
        d for d in load_devices(["hikvision", "dahua"]) if d.id in ("hik-ipc-g2", "dahua-ipc")
    )
]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with run_lab_in_thread([*GENERIC, CGI_BIN_ROUTER, *CAMERAS]) as running:
        yield running


@pytest.fixture(scope="module")
def scan(lab: Lab) -> ScanResult:
    return scan_addresses([d.address for d in (*GENERIC, CGI_BIN_ROUTER, *CAMERAS)], ports=[80])


def _device(scan: ScanResult, spec: DeviceSpec) -> Device:
    devices = {d.ip: d for d in scan.devices}
    assert spec.address in devices, f"{spec.id} not found"
    return devices[spec.address]


def _context(device: Device) -> str:
    return f"maker={device.manufacturer} restricted={device.restricted}\n" + "\n".join(
        f"  {e.observed_field}={e.observed!r} {e.rule_id} [{e.detail}]" for e in device.evidence
    )


@pytest.mark.parametrize("spec", GENERIC, ids=[d.id for d in GENERIC])
def test_a_server_answering_vendor_paths_like_any_other_claims_no_maker(
    scan: ScanResult, spec: DeviceSpec
) -> None:
    device = _device(scan, spec)
    context = _context(device)
    assert device.restricted is False, context
    assert device.manufacturer not in ("Hikvision", "Dahua"), context
    assert not [e for e in device.evidence if e.observed_field == "http.endpoint"], context


def test_the_lab_cameras_are_two() -> None:
    assert sorted(d.id for d in CAMERAS) == ["dahua-ipc", "hik-ipc-g2"]


@pytest.mark.parametrize("spec", CAMERAS, ids=[d.id for d in CAMERAS])
def test_a_camera_endpoint_claim_names_its_control(scan: ScanResult, spec: DeviceSpec) -> None:
    device = _device(scan, spec)
    context = _context(device)
    assert device.manufacturer == spec.expect.manufacturer, context
    assert device.restricted is True, context
    claims = [e for e in device.evidence if e.observed_field == "http.endpoint" and e.rule_id]
    assert claims, context
    for claim in claims:
        assert f"; control GET {CANARY_PATH} -> 404" in claim.detail, context
        if claim.observed.startswith("GET /cgi-bin/"):
            # the lab's Dahua asks a password for every CGI: its magicBox 401 is only a hint
            assert claim.detail.endswith(f"; directory control GET {DIRECTORY_CONTROL} -> 401")
            assert claim.rule_id == "dahua.http_endpoint.magicbox_auth_whole_directory", context
        else:
            assert claim.detail.endswith(f"; control GET {CANARY_PATH} -> 404"), context


def test_a_router_protecting_all_of_cgi_bin_is_neither_dahua_nor_restricted(
    scan: ScanResult,
) -> None:
    device = _device(scan, CGI_BIN_ROUTER)
    context = _context(device)
    # Its magicBox.cgi 401 beside the canary's 404 named Dahua before the directory control;
    # now the answer reaches only the shared rule: Dahua is a possibility to review
    assert device.restricted is False, context
    assert device.manufacturer is None, context
    assert verdict_of(device.restricted, device.notes, device.manufacturer) == "review", context
    assert any(n.startswith("review:") and "Dahua" in n for n in device.notes), context
    (claim,) = [e for e in device.evidence if e.observed_field == "http.endpoint"]
    assert (
        claim.observed == "GET /cgi-bin/magicBox.cgi?action=getMachineName -> 401 (whole directory)"
    )
    assert claim.rule_id == "dahua.http_endpoint.magicbox_auth_whole_directory", context
    assert claim.detail.endswith(f"; directory control GET {DIRECTORY_CONTROL} -> 401"), context
