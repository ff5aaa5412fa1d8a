"""Dahua DVRIP/DHIP responder (TCP 37777, and 5000 on intercoms).

Answers the first step of a DHIP ``global.login`` with the documented challenge (Greenbone
VT 1.3.6.1.4.1.25623.1.0.114085 quotes a real one): error 268632079 "Component error:
login challenge!", ``realm`` "Login to <identity.serial>", ``mac`` identity.mac without
separators in upper case, ``encryption`` "Default", a random and a session id. Any other
DHIP call gets an "Invalid session" error; a binary DVRIP message (first byte ``a0``,
``a3`` or ``f6``) gets a bare 32-byte ``b0 00`` reply header.

``service.options``::

    realm: "Login to {serial}"   # templates: {serial} {mac} {mac_plain} {model}
    encryption: Default
    send_mac: true                # older firmware omits "mac"
    dhip: true                    # answer DHIP at all
    dvrip: true                   # answer binary DVRIP at all
"""

from __future__ import annotations

import asyncio
import json
import secrets

from pydantic import BaseModel, ConfigDict

from provscan.errors import ProtocolError
from provscan.lab.responders._io import close, fill_identity, mac_plain, read_exactly
from provscan.lab.spec import DeviceSpec, ServiceSpec
from provscan.wire import dahua as wire

MAX_MESSAGES = 8
PAYLOAD_CAP = 16 * 1024
_INVALID_SESSION = 287637505


class DahuaOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    realm: str = "Login to {serial}"
    encryption: str = "Default"
    send_mac: bool = True
    dhip: bool = True
    dvrip: bool = True


def _dhip_answer(payload: bytes, options: DahuaOptions, device: DeviceSpec, session: int) -> bytes:
    try:
        request = wire.decode_json_object(payload)
    except ProtocolError:
        request = {}
    raw_id = request.get("id")
    request_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else 0
    if request.get("method") == "global.login":
        return wire.build_login_challenge_reply(
            realm=fill_identity(options.realm, device),
            mac=mac_plain(device) if options.send_mac and device.identity.mac else None,
            random=str(secrets.randbelow(10**9)),
            session=session,
            request_id=request_id,
            encryption=options.encryption,
        )
    error = {
        "error": {"code": _INVALID_SESSION, "message": "Invalid session in request data!"},
        "id": request_id,
        "result": False,
        "session": 0,
    }
    return wire.build_dhip(json.dumps(error, separators=(",", ":")).encode() + b"\n")


async def respond(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    device: DeviceSpec,
    service: ServiceSpec,
) -> None:
    options = DahuaOptions.model_validate(service.options)
    session = secrets.randbelow(2**31 - 1) + 1
    try:
        for _ in range(MAX_MESSAGES):
            header = await read_exactly(reader, wire.HEADER_BYTES)
            if header is None:
                break
            if wire.is_dhip(header):
                if not options.dhip:
                    break
                try:
                    parsed = wire.parse_dhip_header(header)
                except ProtocolError:
                    break
                if parsed.payload_length > PAYLOAD_CAP:
                    break
                payload = await read_exactly(reader, parsed.payload_length)
                if payload is None:
                    break
                writer.write(_dhip_answer(payload, options, device, session))
            elif header[0] in (0xA0, 0xA3, 0xF6) and options.dvrip:
                try:
                    dvrip = wire.parse_dvrip_header(header)
                except ProtocolError:
                    break
                if dvrip.payload_length > PAYLOAD_CAP:
                    break
                if (
                    dvrip.payload_length
                    and await read_exactly(reader, dvrip.payload_length) is None
                ):
                    break
                writer.write(wire.build_dvrip_header(0xB0, 0x00))
            else:
                break
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        await close(writer)
