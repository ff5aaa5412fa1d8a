"""Facts that moved from Python to data keep their values and order (behaviour unchanged)."""

from __future__ import annotations

from provscan.attribution.attribute import MAC_FIELDS
from provscan.knowledge.device_api import load_device_api
from provscan.knowledge.exposure import EXPOSURE_KINDS, load_exposure_rules
from provscan.knowledge.loader import load_posture_knowledge
from provscan.knowledge.remediation import load_remediation
from provscan.posture.assess import FIRMWARE_FIELDS, SERIAL_FIELDS
from provscan.probes.credentialed import REQUESTS
from provscan.probes.credentialed_defaults import CHECK_PATHS


def test_observation_fields_keep_their_order() -> None:
    assert MAC_FIELDS == (
        "isapi.mac",
        "dahua.rpc2.mac",
        "dahua.dhip.mac",
        "onvif.mac",
        "sadp.mac",
        "dahua.discovery.mac",
        # a realm only when it is a whole MAC address (issue 11)
        "rtsp.realm",
        "http.realm",
    )
    # Best source first: the credentialed reads, then the unauthenticated ones.
    assert FIRMWARE_FIELDS == (
        "isapi.firmware",
        "dahua.cgi.firmware",
        "onvif.firmware",
        "sadp.firmware",
        "dahua.discovery.version",
        # ZTE goform wa_inner_version (issue 11, decision 0025)
        "zte.goform.firmware",
    )
    assert SERIAL_FIELDS == ("isapi.serial", "dahua.cgi.serial", "onvif.serial", "record.serial")


def test_the_requests_sent_are_the_same_read_only_requests() -> None:
    assert REQUESTS == (
        ("GET", "/ISAPI/System/deviceInfo"),
        ("GET", "/ISAPI/System/Network/EZVIZ"),
        ("GET", "/cgi-bin/magicBox.cgi?action=getSystemInfo"),
        ("GET", "/cgi-bin/magicBox.cgi?action=getSoftwareVersion"),
        ("GET", "/cgi-bin/configManager.cgi?action=getConfig&name=T2UServer"),
        ("POST", "/onvif/device_service"),
    )
    assert CHECK_PATHS == {
        "hikvision_isapi_usercheck": "/ISAPI/Security/userCheck",
        "dahua_cgi_machinename": "/cgi-bin/magicBox.cgi?action=getMachineName",
    }
    assert all(request.method == "GET" for request in load_device_api().requests)
    accounts = load_posture_knowledge().default_accounts
    assert {account.check for account in accounts} <= set(CHECK_PATHS)


def test_exposure_rules_match_what_the_code_matched() -> None:
    rules = load_exposure_rules()
    assert rules.telnet_ports == frozenset({23, 2323})
    assert rules.login_fields == frozenset(
        {"http.body", "http.title", "http.endpoint", "dahua.rpc2.error"}
    )
    for text in (
        '<input TYPE = "password">',
        "login.ASP",
        "rpc2_login",
        "T_USERNAME",
        'id="login"',
        "Component error: login challenge!",
    ):
        assert rules.login_markers.search(text), text
    assert not rules.login_markers.search('<input type="text" id="user">')
    # The probe's record of a refused POST is no login page (python http.server: 501)
    assert not rules.login_markers.search("POST /RPC2_Login -> 501")
    assert rules.rtsp_open_status.search("RTSP/1.0 200 OK")
    assert not rules.rtsp_open_status.search("RTSP/1.0 2000 OK")


def test_every_exposure_kind_has_advice() -> None:
    texts = load_remediation()
    assert set(texts.reconfigure) == set(EXPOSURE_KINDS)
    isolating = {kind for kind, advice in texts.reconfigure.items() if advice.isolate}
    assert isolating == {"internet_upnp_mapping", "public_address", "cloud_p2p"}
    assert texts.patch.format(fixed_in="V5.5.800") == (
        "Update the firmware to V5.5.800 or later from the vendor; confirm the new version "
        "afterwards (provscan --credentials)."
    )
