"""Dahua DHIP and DVRIP replies and CGI values, the same observations from a probe and a capture."""

from __future__ import annotations

import pytest
from observed import SERVER, Converse, RunProbe, keys

from provscan.observations import dahua as observe
from provscan.probes.dahua import DahuaDvripProbe
from provscan.wire import dahua

PORT = 37777
CHALLENGE = dahua.build_login_challenge_reply(
    realm="Login to 4M0747EPAA1D284", mac="3c:ef:8c:61:01:c0", random="1234", session=7
)
DVRIP = dahua.build_dvrip_header(0xB0, 0, 0)


def test_a_dhip_challenge_maps_realm_mac_and_error() -> None:
    header = dahua.parse_dhip_header(CHALLENGE)
    payload = CHALLENGE[dahua.HEADER_BYTES : dahua.HEADER_BYTES + header.payload_length]
    found = [
        observe.reply_observation(PORT, CHALLENGE[: dahua.HEADER_BYTES]),
        *observe.login_reply_observations(PORT, dahua.parse_login_reply(payload)),
    ]
    assert [(o.field, o.value, o.detail) for o in found] == [
        ("dahua.dvrip.reply", CHALLENGE[:32].hex(), "dhip"),
        ("dahua.dhip.realm", "Login to 4M0747EPAA1D284", "dhip"),
        ("dahua.dhip.mac", "3c:ef:8c:61:01:c0", "dhip"),
        (
            "dahua.dhip.error",
            dahua.LOGIN_CHALLENGE_MESSAGE,
            f"code {dahua.LOGIN_CHALLENGE_CODE}; encryption Default",
        ),
    ]


def test_the_reply_header_says_what_it_is() -> None:
    assert observe.reply_observation(PORT, DVRIP).detail == "dvrip command 0xb0 (reply)"
    assert observe.reply_observation(PORT, b"\x00\x01").detail == "unknown"
    bad = b"\xb0" + bytes(3) + (1 << 30).to_bytes(4, "little") + bytes(24)
    assert observe.reply_observation(PORT, bad).detail.startswith("unknown dvrip header: ")


def test_cgi_values_map_system_information() -> None:
    values = dahua.parse_cgi_values(
        b"deviceType=IPC-HDW2431T-AS-S2\r\nserialNumber=4M0747EPAA1D284\r\nprocessor=ST7108\r\n"
    )
    found = observe.system_info_observations(values, 80, "/cgi-bin/magicBox.cgi", "http")
    assert keys(found) == [
        ("http", 80, "dahua.device_type", "IPC-HDW2431T-AS-S2"),
        ("http", 80, "dahua.cgi.serial", "4M0747EPAA1D284"),
    ]
    assert (
        observe.cgi_value_observations(values, "version", "dahua.cgi.firmware", 80, "/", "http")
        == []
    )


@pytest.mark.parametrize("reply", [CHALLENGE, DVRIP], ids=["dhip", "dvrip"])
def test_the_probe_and_a_capture_read_the_reply_alike(
    reply: bytes, run_probe: RunProbe, converse: Converse
) -> None:
    active = run_probe(DahuaDvripProbe(), PORT, lambda _: reply)
    passive = converse(PORT, dahua.build_login_challenge_request(), reply)
    assert [(o.field, o.value, o.detail) for o in active] == [
        (o.field, o.value, o.detail) for o in passive[SERVER]
    ]
