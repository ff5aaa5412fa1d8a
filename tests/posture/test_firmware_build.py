"""Hikvision DeviceInfo gives the build apart from the version: posture joins them."""

from __future__ import annotations

import pytest

from provscan.model import AttemptStatus, Device, Observation, ProbeAttempt
from provscan.observations.http import isapi_observations
from provscan.posture.assess import build_suffix, firmware_source

DETAIL = "credentialed /ISAPI/System/deviceInfo"
#: The shape of a real reply (values as published: firmwareVersion V5.8.3, build 240821).
DEVICE_INFO = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<DeviceInfo version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\n'
    b"<model>DS-2CD63C5G1-IVS</model>\n<firmwareVersion>V5.8.3</firmwareVersion>\n"
    b"<firmwareReleasedDate>build 240821</firmwareReleasedDate>\n"
    b"<encoderVersion>V7.3</encoderVersion>\n"
    b"<encoderReleasedDate>build 240715</encoderReleasedDate>\n</DeviceInfo>\n"
)


def hikvision(*observations: Observation) -> Device:
    return Device(
        ip="192.168.1.64",
        open_ports=(80,),
        manufacturer="Hikvision",
        brand="Hikvision",
        model="DS-2CD2132F-IS",
        attempts=(ProbeAttempt("credentialed-hikvision", 80, AttemptStatus.OK, observations),),
    )


def test_the_reply_gives_version_and_build_as_two_observations() -> None:
    fields = {o.field: o.value for o in isapi_observations(DEVICE_INFO, 80, DETAIL)}
    assert fields["isapi.firmware"] == "V5.8.3"
    assert fields["isapi.firmware_build"] == "build 240821"  # not the encoder's build


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        ("build 160530", "V5.4.0 build 160530"),
        ("160530", "V5.4.0 build 160530"),
        ("Build  160530", "V5.4.0 build 160530"),
        ("2016-05-30", "V5.4.0 build 160530"),
        ("unknown", "V5.4.0"),
        ("", "V5.4.0"),
    ],
)
def test_version_and_build_of_the_same_reply_are_joined(build: str, expected: str) -> None:
    device = hikvision(
        Observation("http", 80, "isapi.firmware", "V5.4.0", DETAIL),
        Observation("http", 80, "isapi.firmware_build", build, DETAIL),
    )
    firmware, how = firmware_source(device)
    assert firmware == expected
    assert ("isapi.firmware_build" in how) == (expected != "V5.4.0")


def test_a_build_from_another_reply_is_not_joined() -> None:
    device = hikvision(
        Observation("http", 80, "isapi.firmware", "V5.4.0", DETAIL),
        Observation("http", 8080, "isapi.firmware_build", "build 160530", DETAIL),
        Observation("http", 80, "isapi.firmware_build", "build 170123", "/ISAPI/System/deviceInfo"),
    )
    assert firmware_source(device)[0] == "V5.4.0"


def test_a_version_that_names_its_build_is_kept_as_it_is() -> None:
    device = hikvision(
        Observation("http", 80, "isapi.firmware", "V5.7.15 build 230313", DETAIL),
        Observation("http", 80, "isapi.firmware_build", "build 230313", DETAIL),
    )
    assert firmware_source(device)[0] == "V5.7.15 build 230313"


def test_build_suffix_refuses_what_is_not_a_build_date() -> None:
    assert build_suffix("build 991332") == "build 991332"  # shape only; versions.py validates
    assert build_suffix("V5.4.0") is None
    assert build_suffix("2016-05") is None
