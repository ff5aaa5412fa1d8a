"""ONVIF: device-service replies, the same observations from a probe and a capture."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from observed import SERVER, Converse, RunProbe, distinct, keys

from provscan.observations import onvif as observe
from provscan.probes.onvif import OnvifProbe
from provscan.wire import http1, onvif

PORT = 80
INFO = onvif.DeviceInformation(
    "HIKVISION", "DS-2CD2143G0-I", "V5.5.800", "DS-2CD2143G0-I2020", "88"
)
DATE = http1.build_response(
    200,
    "OK",
    [("Content-Type", onvif.CONTENT_TYPE)],
    onvif.build_system_date_and_time_response(datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)),
)
DEVICE_INFO = http1.build_response(
    200, "OK", [("Content-Type", onvif.CONTENT_TYPE)], onvif.build_device_information_response(INFO)
)
REFUSED = http1.build_response(
    400,
    "Bad Request",
    [("Content-Type", onvif.CONTENT_TYPE)],
    onvif.build_fault("env:Sender", "ter:NotAuthorized", "Sender not Authorized"),
)


def test_replies_map_date_device_information_and_faults() -> None:
    date = observe.response_observations(
        PORT, "GetSystemDateAndTime", 200, onvif.parse_response(http1.parse_response(DATE).body)
    )
    assert [(o.field, o.value, o.detail) for o in date] == [
        ("onvif.system_date_time", "ok", "2026-01-05T09:00:00+00:00")
    ]
    info = observe.response_observations(
        PORT,
        "GetDeviceInformation",
        200,
        onvif.parse_response(onvif.build_device_information_response(INFO)),
    )
    assert keys(info) == [
        ("onvif", PORT, "onvif.manufacturer", "HIKVISION"),
        ("onvif", PORT, "onvif.model", "DS-2CD2143G0-I"),
        ("onvif", PORT, "onvif.firmware", "V5.5.800"),
        ("onvif", PORT, "onvif.serial", "DS-2CD2143G0-I2020"),
        ("onvif", PORT, "onvif.hardware_id", "88"),
    ]
    fault = observe.response_observations(
        PORT, "GetDeviceInformation", 400, onvif.parse_response(http1.parse_response(REFUSED).body)
    )
    assert [(o.field, o.value, o.detail) for o in fault] == [
        (
            "onvif.fault",
            "ter:NotAuthorized",
            "GetDeviceInformation: HTTP 400; reason: Sender not Authorized",
        )
    ]


def test_credentialed_device_information_has_the_same_fields() -> None:
    found = observe.device_information_observations(
        INFO, PORT, "GetDeviceInformation (credentialed)"
    )
    assert keys(found) == keys(
        observe.response_observations(
            PORT, "x", 200, onvif.OnvifResponse("r", device_information=INFO)
        )
    )


@pytest.mark.parametrize("information", [DEVICE_INFO, REFUSED], ids=["allowed", "refused"])
def test_the_probe_and_a_capture_read_the_replies_alike(
    information: bytes, run_probe: RunProbe, converse: Converse
) -> None:
    def device(request: bytes) -> bytes:
        return DATE if b"GetSystemDateAndTime" in request else information

    active = run_probe(OnvifProbe(), PORT, device)
    passive: set[tuple[str, int | None, str, str]] = set()
    for call, reply in (
        (onvif.build_get_system_date_and_time(), DATE),
        (onvif.build_get_device_information(), information),
    ):
        request = http1.build_request("POST", onvif.DEVICE_SERVICE_PATH, SERVER, (), call)
        passive |= distinct(
            o for o in converse(PORT, request, reply)[SERVER] if o.protocol == "onvif"
        )
    assert distinct(active) == passive
