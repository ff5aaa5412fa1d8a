"""Banner responder: sends ``options.text`` on connect, waits briefly for input, closes.

Options: ``text`` (placeholders as in the HTTP responder; ``\\n`` written as in YAML) or
``hex`` (recorded bytes sent exactly as given, e.g. telnet option negotiation; no
placeholders), ``wait_s`` (how long to wait for the client before closing, default 2 s)
and ``reply`` (optional text sent once after the client's first input, e.g. a login prompt).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from provscan.lab.responders.http import render, template_values
from provscan.lab.spec import DeviceSpec, ServiceSpec


class BannerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = None
    #: Raw banner bytes as hex (an observed banner replayed byte for byte).
    hex: str | None = None
    wait_s: float = Field(default=2.0, ge=0.0, le=60.0)
    reply: str | None = None

    @model_validator(mode="after")
    def _one_banner(self) -> BannerOptions:
        if (self.text is None) == (self.hex is None):
            raise ValueError("give text or hex, exactly one")
        if self.hex is not None:
            bytes.fromhex(self.hex)  # ValueError names the bad character
        return self

    def banner_bytes(self, values: Mapping[str, str]) -> bytes:
        """What the device sends on connect."""
        if self.hex is not None:
            return bytes.fromhex(self.hex)
        return render(self.text or "", values).encode("utf-8")


def validate_options(options: Mapping[str, Any]) -> BannerOptions:
    return BannerOptions.model_validate(dict(options))


async def respond(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    device: DeviceSpec,
    service: ServiceSpec,
) -> None:
    options = validate_options(service.options)
    values = template_values(device, service)
    writer.write(options.banner_bytes(values))
    await writer.drain()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(options.wait_s):
            data = await reader.read(1024)
            if data and options.reply is not None:
                writer.write(render(options.reply, values).encode("utf-8"))
                await writer.drain()
