"""Hikvision SADP responder (UDP 37020): answers an inquiry with a ProbeMatch.

Field names and order follow ``cameronnewman/hikvision-tooling`` ``internal/sadp/scanner.go``
(knowledge/fingerprint-signals.md §2): MAC dash-separated, ``DeviceDescription`` = model,
``DeviceSN`` = full serial, ``CommandPort`` 8000. Values not pinned by a source
(``DeviceType`` code, ``DSPVersion``, ``BootTime``) are lab assumptions, configurable.

``service.options``::

    device_type: "138"     # SADP DeviceType code (lab assumption)
    dsp_version: "V7.3 build 220112"
    activated: true
    http_port: 80
    command_port: 8000
    oem_info: null          # OEMInfo text, omitted when null
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from provscan.errors import ProtocolError
from provscan.lab.spec import DeviceSpec, ServiceSpec
from provscan.wire import sadp as wire

MULTICAST_GROUP = wire.SADP_MULTICAST_GROUP


class SadpOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    device_type: str = "138"
    dsp_version: str = "V7.3 build 220112"
    activated: bool = True
    http_port: int = 80
    command_port: int = 8000
    oem_info: str | None = None


def validate_options(options: dict[str, object]) -> None:
    SadpOptions.model_validate(options)


def answer(data: bytes, device: DeviceSpec, service: ServiceSpec) -> bytes | None:
    try:
        message = wire.parse_message(data)
    except ProtocolError:
        return None
    if message.root != "Probe" or (message.get("Types") or "").lower() not in (
        "inquiry",
        "inquiry_v32",
    ):
        return None
    options = SadpOptions.model_validate(service.options)
    identity = device.identity
    fields = {
        "Uuid": message.get("Uuid") or "",
        "Types": "inquiry",
        "DeviceType": options.device_type,
        "DeviceDescription": identity.model or "",
        "DeviceSN": identity.serial or "",
        "CommandPort": str(options.command_port),
        "HttpPort": str(options.http_port),
        "MAC": wire.format_mac(identity.mac or ""),
        "IPv4Address": device.address,
        "IPv4SubnetMask": "255.255.255.0",
        "IPv4Gateway": "0.0.0.0",
        "IPv6Address": "::",
        "IPv6Gateway": "::",
        "IPv6MaskLen": "64",
        "DHCP": "false",
        "AnalogChannelNum": "0",
        "DigitalChannelNum": "1",
        "SoftwareVersion": identity.firmware or "",
        "DSPVersion": options.dsp_version,
        "BootTime": "2024-01-01 00:00:00",
        "Encrypt": "true",
        "ResetAbility": "false",
        "DiskNumber": "0",
        "Activated": "true" if options.activated else "false",
        "PasswordResetAbility": "true",
        "PasswordResetModeSecond": "true",
        "SupportHCPlatform": "true",
        "HCPlatformEnable": "false",
    }
    if options.oem_info is not None:
        fields["OEMInfo"] = options.oem_info
    return wire.build_probe_match(fields)
