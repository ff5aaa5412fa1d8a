"""ONVIF device service: a SOAP reply (GetSystemDateAndTime, GetDeviceInformation, a
fault) -> observations."""

from __future__ import annotations

from provscan.model import Observation
from provscan.wire.onvif import DeviceInformation, OnvifResponse

PROTOCOL = "onvif"
#: DeviceInformation attribute -> observation field, in the order they are reported.
DEVICE_INFORMATION_FIELDS = (
    ("manufacturer", "onvif.manufacturer"),
    ("model", "onvif.model"),
    ("firmware_version", "onvif.firmware"),
    ("serial_number", "onvif.serial"),
    ("hardware_id", "onvif.hardware_id"),
)


def device_information_observations(
    info: DeviceInformation, port: int, detail: str
) -> list[Observation]:
    """The fields of a GetDeviceInformation answer (``detail``: which call, how)."""
    found = []
    for attribute, field in DEVICE_INFORMATION_FIELDS:
        text = getattr(info, attribute)
        if text:
            found.append(Observation(PROTOCOL, port, field, text, detail))
    return found


def response_observations(
    port: int, operation: str, http_status: int, reply: OnvifResponse
) -> list[Observation]:
    """One reply to ``operation`` (its HTTP status goes into a fault's detail)."""
    found: list[Observation] = []
    if reply.fault is not None:
        fault = reply.fault
        value = fault.subcode or fault.code or fault.reason or "fault"
        detail = f"{operation}: HTTP {http_status}; reason: {fault.reason or ''}"
        found.append(Observation(PROTOCOL, port, "onvif.fault", value, detail))
    if reply.has_system_date_and_time:
        utc = reply.utc_date_time.isoformat() if reply.utc_date_time else "no UTCDateTime"
        found.append(Observation(PROTOCOL, port, "onvif.system_date_time", "ok", utc))
    if reply.device_information is not None:
        found += device_information_observations(reply.device_information, port, operation)
    return found
