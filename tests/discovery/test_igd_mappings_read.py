"""Discovery says when it read a UPnP gateway's whole port mapping table (how many entries,
none included), so that a remediation case for a mapping is verified only by a scan that
read the table again. Real sockets on loopback: the lab's UPnP responder (gateway) answers
discovery's description fetch and GetGenericPortMappingEntry requests."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from provscan.discovery import ssdp as discovery_ssdp
from provscan.discovery.interface import DiscoveryReply
from provscan.lab.responders import upnp as lab_upnp
from provscan.lab.spec import DeviceSpec, Expectation, Identity, ServiceSpec
from provscan.observations.upnp import MAPPINGS_READ_FIELD

ADDRESS = "127.173.41.1"
CAMERA_WEB = {
    "external_port": 8080,
    "internal_client": "192.168.0.64",
    "internal_port": 80,
    "description": "camera web",
}


async def _follow_up(mappings: list[dict[str, Any]], *, broken_after: int | None = None) -> Any:
    """Discovery's follow-up of an SSDP reply from a lab gateway with ``mappings``; with
    ``broken_after``, the gateway drops the connection at that entry instead of answering."""
    service = ServiceSpec(
        port=1,
        protocol="upnp",
        options={
            "gateway": True,
            "device_type": "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
            "port_mappings": mappings,
        },
    )
    device = DeviceSpec(
        id="gw",
        address=ADDRESS,
        description="test gateway",
        identity=Identity(manufacturer="TP-Link", brand="TP-Link", model="Archer C7"),
        expect=Expectation(),
        sources=["test"],
        services=[service],
    )
    entries = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal entries
        head = await reader.readuntil(b"\r\n\r\n")
        if head.startswith(b"POST"):
            entries += 1
            if broken_after is not None and entries > broken_after:
                writer.close()
                return
        replay = asyncio.StreamReader()
        replay.feed_data(head + await _rest(reader, head))
        replay.feed_eof()
        await lab_upnp.respond(replay, writer, device, service)

    server = await asyncio.start_server(handle, ADDRESS, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        reply = DiscoveryReply(
            "ssdp", ADDRESS, 1900, (), follow_up=f"http://{ADDRESS}:{port}/rootDesc.xml"
        )
        return await discovery_ssdp.follow_up(reply, 2.0)
    finally:
        server.close()
        await server.wait_closed()


async def _rest(reader: asyncio.StreamReader, head: bytes) -> bytes:
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            return await reader.readexactly(int(value.strip()))
    return b""


def _read(observations: Any) -> list[str]:
    return [o.value for o in observations if o.field == MAPPINGS_READ_FIELD]


def _mappings(observations: Any) -> list[str]:
    return [o.value for o in observations if o.field == "upnp.port_mapping"]


def test_a_whole_table_read_says_how_many_entries_it_held() -> None:
    found = asyncio.run(_follow_up([CAMERA_WEB, {**CAMERA_WEB, "external_port": 8081}]))
    assert len(_mappings(found.observations)) == 2
    assert _read(found.observations) == ["2"]


def test_an_empty_table_read_to_its_end_says_none() -> None:
    found = asyncio.run(_follow_up([]))
    assert _mappings(found.observations) == []
    assert _read(found.observations) == ["0"]


def test_a_table_cut_short_says_nothing_of_the_rest() -> None:
    # When the gateway drops the connection at the second entry
    found = asyncio.run(
        _follow_up([CAMERA_WEB, {**CAMERA_WEB, "external_port": 8081}], broken_after=1)
    )
    # Then the first mapping is kept, but the table is not said to be read
    assert len(_mappings(found.observations)) == 1
    assert _read(found.observations) == []


def test_the_description_alone_is_no_table_read() -> None:
    # A device that is no gateway: no control URL, nothing asked, nothing said
    async def plain() -> Any:
        service = ServiceSpec(port=1, protocol="upnp", options={})
        device = DeviceSpec(
            id="cam",
            address=ADDRESS,
            description="camera",
            identity=Identity(brand="Axis", model="P3225"),
            expect=Expectation(),
            sources=["test"],
            services=[service],
        )
        server = await asyncio.start_server(
            functools.partial(lab_upnp.respond, device=device, service=service), ADDRESS, 0
        )
        port = server.sockets[0].getsockname()[1]
        try:
            reply = DiscoveryReply(
                "ssdp", ADDRESS, 1900, (), follow_up=f"http://{ADDRESS}:{port}/rootDesc.xml"
            )
            return await discovery_ssdp.follow_up(reply, 2.0)
        finally:
            server.close()
            await server.wait_closed()

    found = asyncio.run(plain())
    assert [o for o in found.observations if o.field == "upnp.model_name"]
    assert _read(found.observations) == []
