"""Bounded reads for the protocol responders: every read has a byte cap and a timeout.

The lab faces our own scanner, but a responder must still never hang or buffer without
limit, so each helper returns None on EOF, timeout or an over-long message.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

from provscan.lab.spec import DeviceSpec

READ_TIMEOUT_S = 10.0


async def read_exactly(
    reader: asyncio.StreamReader, n: int, timeout: float = READ_TIMEOUT_S
) -> bytes | None:
    try:
        return await asyncio.wait_for(reader.readexactly(n), timeout)
    except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
        return None


async def read_head(
    reader: asyncio.StreamReader, cap: int, timeout: float = READ_TIMEOUT_S
) -> bytes | None:
    """A request head up to the blank line, at most ``cap`` bytes."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except (
        asyncio.IncompleteReadError,
        asyncio.LimitOverrunError,
        TimeoutError,
        ConnectionError,
    ):
        return None
    return head if len(head) <= cap else None


async def drain_and_close(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    cap: int = 4096,
    timeout: float = READ_TIMEOUT_S,
) -> None:
    """Read (and drop) up to ``cap`` bytes until the client closes, then close."""
    with contextlib.suppress(TimeoutError, ConnectionError):
        await asyncio.wait_for(reader.read(cap), timeout)
    await close(writer)


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


def mac_plain(device: DeviceSpec) -> str:
    """The identity MAC without separators, upper case (``3CEF8C6101C0``); "" if none."""
    return re.sub(r"[^0-9A-Fa-f]", "", device.identity.mac or "").upper()


def fill_identity(template: str, device: DeviceSpec) -> str:
    """Replace ``{serial}``, ``{mac}``, ``{mac_plain}``, ``{model}`` from device.identity.

    Plain replacement, not ``str.format``: other braces in the template stay as they are.
    """
    identity = device.identity
    values = {
        "{serial}": identity.serial or "",
        "{mac}": identity.mac or "",
        "{mac_plain}": mac_plain(device),
        "{model}": identity.model or "",
    }
    for key, value in values.items():
        template = template.replace(key, value)
    return template
