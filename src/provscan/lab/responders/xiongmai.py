"""Xiongmai Sofia responder (TCP 34567).

Answers every well-formed Sofia message with a Sofia reply whose message id is the
request's + 1 (KeepAlive 1006 -> 1007, login 1000 -> 1001) and a JSON ``Ret`` code. No
login ever succeeds here. What an unauthenticated device answers to a KeepAlive is not
publicly documented; the default ``Ret`` 103 ("Request not permitted" in python-dvr's
code table) is a lab assumption, configurable.

``service.options``::

    ret: 103            # Ret code for KeepAlive and anything else
    login_ret: 106      # Ret code for a login attempt ("Username or password is incorrect")
    reply_version: 1    # version byte of reply headers
    extra: {}           # extra JSON members added to every reply
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from provscan.errors import ProtocolError
from provscan.lab.responders._io import close, read_exactly
from provscan.lab.spec import DeviceSpec, ServiceSpec
from provscan.wire import xiongmai as wire

MAX_MESSAGES = 8
DATA_CAP = 16 * 1024


class XiongmaiOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ret: int = 103
    login_ret: int = 106
    reply_version: int = Field(default=1, ge=0, le=255)
    extra: dict[str, Any] = Field(default_factory=dict)


def _answer(header: wire.SofiaHeader, data: bytes, options: XiongmaiOptions) -> bytes:
    name = ""
    try:
        request = json.loads(data.decode("utf-8", errors="replace").rstrip("\x00\r\n "))
        if isinstance(request, dict) and isinstance(request.get("Name"), str):
            name = request["Name"][:64]
    except (ValueError, RecursionError):
        pass
    is_login = header.message_id == wire.MSG_LOGIN_REQUEST
    body: dict[str, Any] = {
        "Name": name,
        "Ret": options.login_ret if is_login else options.ret,
        "SessionID": "0x00000000",
        **options.extra,
    }
    text = json.dumps(body, separators=(",", ":")).encode() + b"\n\x00"
    reply_id = (header.message_id + 1) & 0xFFFF
    return (
        wire.build_header(
            reply_id, len(text), sequence=header.sequence, version=options.reply_version
        )
        + text
    )


async def respond(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    device: DeviceSpec,
    service: ServiceSpec,
) -> None:
    options = XiongmaiOptions.model_validate(service.options)
    try:
        for _ in range(MAX_MESSAGES):
            raw = await read_exactly(reader, wire.HEADER_BYTES)
            if raw is None:
                break
            try:
                header = wire.parse_header(raw)
            except ProtocolError:
                break
            if header.data_length > DATA_CAP:
                break
            data = await read_exactly(reader, header.data_length) if header.data_length else b""
            if data is None:
                break
            writer.write(_answer(header, data, options))
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        await close(writer)
