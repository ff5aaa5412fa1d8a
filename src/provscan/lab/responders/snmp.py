"""SNMPv2c agent (UDP 161): answers a GetRequest of the system group, read-only.

Like a real agent it stays silent for a wrong community or a malformed request, and answers
``noSuchObject`` for objects it does not hold. The values are the personality's (each with
its source in the personality file).

``service.options``::

    community: public            # the only community answered
    sys_descr: "Huawei Versatile Routing Platform Software ..."
    sys_object_id: "1.3.6.1.4.1.2011.2.23.96"
    sys_name: "AR1220"
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from provscan.errors import ProtocolError
from provscan.lab.spec import DeviceSpec, ServiceSpec
from provscan.wire import snmp as wire

MULTICAST_GROUP: str | None = None


class SnmpOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    community: str = "public"
    sys_descr: str | None = None
    sys_object_id: str | None = None
    sys_name: str | None = None


def validate_options(options: dict[str, object]) -> None:
    SnmpOptions.model_validate(options)


def answer(data: bytes, device: DeviceSpec, service: ServiceSpec) -> bytes | None:
    try:
        request = wire.parse_message(data)
    except ProtocolError:
        return None
    options = SnmpOptions.model_validate(service.options)
    if request.pdu_type != wire.GET_REQUEST or request.community != options.community.encode():
        return None
    held = {
        wire.SYS_DESCR: ("string", options.sys_descr),
        wire.SYS_OBJECT_ID: ("oid", options.sys_object_id),
        wire.SYS_NAME: ("string", options.sys_name),
    }
    bindings = []
    for binding in request.varbinds:
        kind, value = held.get(binding.oid, ("noSuchObject", None))
        if value is None:
            bindings.append(wire.VarBind(binding.oid, "noSuchObject", ""))
        else:
            bindings.append(wire.VarBind(binding.oid, kind, value))
    return wire.encode_message(
        wire.SnmpMessage(
            request.version,
            request.community,
            wire.GET_RESPONSE,
            request.request_id,
            0,
            0,
            tuple(bindings),
        )
    )
