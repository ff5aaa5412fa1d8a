"""Dahua private protocols (DHIP/DVRIP on TCP 37777 and 5000) and HTTP CGI replies ->
observations."""

from __future__ import annotations

from collections.abc import Mapping

from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.wire import dahua

PROTOCOL = "dahua-dvrip"
#: Bytes of the first reply reported as hex in ``dahua.dvrip.reply``.
REPORTED_BYTES = 32
#: ``magicBox.cgi?action=getSystemInfo`` key -> observation field.
SYSTEM_INFO_FIELDS = {
    "deviceType": "dahua.device_type",
    "serialNumber": "dahua.cgi.serial",
    "hardwareVersion": "dahua.cgi.hardware",
}


def _header_kind(header: bytes) -> str:
    """``dhip``, ``dvrip command 0x… (name)`` or ``unknown …``: what the header is."""
    if dahua.is_dhip(header):
        try:
            dahua.parse_dhip_header(header)
        except ProtocolError as exc:
            return f"dhip dhip header: {exc}"
        return "dhip"
    if len(header) < dahua.HEADER_BYTES:
        return "unknown"
    try:
        dvrip = dahua.parse_dvrip_header(header)
    except ProtocolError as exc:
        return f"unknown dvrip header: {exc}"
    return f"dvrip command 0x{dvrip.command:02x} ({dvrip.command_name})"


def reply_observation(port: int, header: bytes) -> Observation:
    """``dahua.dvrip.reply``: the first bytes of the reply as hex; detail: which header."""
    return Observation(
        PROTOCOL,
        port,
        "dahua.dvrip.reply",
        header[:REPORTED_BYTES].hex(),
        _header_kind(header[: dahua.HEADER_BYTES]),
    )


def login_reply_observations(port: int, reply: dahua.DhipLoginReply) -> list[Observation]:
    """Realm, MAC and error of a DHIP ``global.login`` challenge answer."""
    found: list[Observation] = []
    if reply.realm:
        found.append(Observation(PROTOCOL, port, "dahua.dhip.realm", reply.realm, "dhip"))
    if reply.mac:
        found.append(Observation(PROTOCOL, port, "dahua.dhip.mac", reply.mac, "dhip"))
    if reply.error_message or reply.error_code is not None:
        found.append(
            Observation(
                PROTOCOL,
                port,
                "dahua.dhip.error",
                reply.error_message or str(reply.error_code),
                f"code {reply.error_code}; encryption {reply.encryption}",
            )
        )
    return found


def system_info_observations(
    values: Mapping[str, str], port: int, path: str, protocol: str
) -> list[Observation]:
    """Model, serial and hardware from ``getSystemInfo`` (:func:`wire.dahua.parse_cgi_values`)."""
    return [
        Observation(protocol, port, field, values[key], path)
        for key, field in SYSTEM_INFO_FIELDS.items()
        if values.get(key)
    ]


def cgi_value_observations(
    values: Mapping[str, str], key: str, field: str, port: int, path: str, protocol: str
) -> list[Observation]:
    """One CGI value as ``field`` (``getSoftwareVersion``'s ``version``, P2P ``Enable``)."""
    value = values.get(key)
    return [Observation(protocol, port, field, value, path)] if value else []
