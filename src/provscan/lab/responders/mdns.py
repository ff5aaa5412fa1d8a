"""mDNS / DNS-SD responder (UDP 5353): answers PTR queries for its services.

Answers by unicast to the querier with the query id and questions echoed (RFC 6762 §6.7,
legacy unicast). Axis cameras announce ``_axis-video._tcp`` with a ``macaddress`` TXT key
(home-assistant/core ``axis`` integration; knowledge/fingerprint-signals.md §4).

``service.options``::

    services:
      - {type: _axis-video._tcp.local., instance: "AXIS P3225 - {mac_plain}", port: 80,
         host: "axis-{mac_plain}.local.", txt: {macaddress: "{mac_plain}"}}
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from provscan.errors import ProtocolError
from provscan.lab.responders._io import fill_identity
from provscan.lab.spec import DeviceSpec, ServiceSpec
from provscan.wire import mdns as wire

MULTICAST_GROUP = wire.MDNS_MULTICAST_GROUP


class MdnsServiceOption(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    instance: str
    port: int = 80
    host: str = "device.local."
    txt: dict[str, str] = Field(default_factory=dict)


class MdnsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    services: list[MdnsServiceOption] = Field(min_length=1)


def validate_options(options: dict[str, object]) -> None:
    MdnsOptions.model_validate(options)


def answer(data: bytes, device: DeviceSpec, service: ServiceSpec) -> bytes | None:
    try:
        message = wire.parse_message(data)
    except ProtocolError:
        return None
    if message.is_response or not message.questions:
        return None
    options = MdnsOptions.model_validate(service.options)
    asked = {q.lower() for q in message.questions}
    services = [
        wire.MdnsService(
            instance=f"{fill_identity(s.instance, device)}.{s.type}",
            service_type=s.type,
            host=fill_identity(s.host, device),
            port=s.port,
            txt=tuple((k, fill_identity(v, device)) for k, v in s.txt.items()),
        )
        for s in options.services
        if s.type.lower() in asked or wire.SERVICE_ENUMERATION in asked
    ]
    if not services:
        return None
    return wire.build_response(
        services,
        address=device.address,
        questions=message.questions,
        message_id=message.message_id,
    )
