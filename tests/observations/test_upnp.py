"""UPnP: a device description, the same observations from discovery's fetch and a capture."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from observed import SERVER, Converse, keys

from provscan.discovery import ssdp as discovery_ssdp
from provscan.discovery.interface import DiscoveryReply
from provscan.observations import upnp as observe
from provscan.wire import http1, upnp

PORT = 49152
DEVICE = upnp.UpnpDevice(
    device_type="urn:schemas-upnp-org:device:Basic:1",
    friendly_name="AXIS P3225-LV Mk II - ACCC8E123456",
    manufacturer="AXIS",
    manufacturer_url="http://www.axis.com/",
    model_name="AXIS P3225-LV Mk II",
    model_number="P3225-LV Mk II",
    serial_number="ACCC8E123456",
    udn="uuid:Upnp-BasicDevice-1_0-ACCC8E123456",
)
DESCRIPTION = http1.build_response(
    200, "OK", [("Content-Type", "text/xml")], upnp.build_description(DEVICE)
)


def test_a_description_maps_the_identity_fields() -> None:
    assert keys(observe.description_observations(DEVICE, PORT)) == [
        ("upnp", PORT, "upnp.manufacturer", "AXIS"),
        ("upnp", PORT, "upnp.model_name", "AXIS P3225-LV Mk II"),
        ("upnp", PORT, "upnp.model_number", "P3225-LV Mk II"),
        ("upnp", PORT, "upnp.serial", "ACCC8E123456"),
        ("upnp", PORT, "upnp.udn", "uuid:Upnp-BasicDevice-1_0-ACCC8E123456"),
        ("upnp", PORT, "upnp.friendly_name", "AXIS P3225-LV Mk II - ACCC8E123456"),
        ("upnp", PORT, "upnp.device_type", "urn:schemas-upnp-org:device:Basic:1"),
        ("upnp", PORT, "upnp.manufacturer_url", "http://www.axis.com/"),
    ]
    mapping = upnp.PortMapping(None, "8080", "TCP", "80", "192.168.1.64", "1", "camera")
    found = observe.port_mapping_observation(mapping, PORT)
    assert (found.field, found.value) == (
        "upnp.port_mapping",
        "TCP *:8080 -> 192.168.1.64:80 (camera)",
    )


def test_discovery_and_a_capture_read_a_description_alike(
    converse: Converse, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given discovery's description fetch answered by the bytes a capture shows (no socket)
    async def fetched(*args: Any, **kwargs: Any) -> http1.HttpResponse:
        return http1.parse_response(DESCRIPTION)

    monkeypatch.setattr(discovery_ssdp, "http_exchange", fetched)
    location = f"http://{SERVER}:{PORT}/rootDesc.xml"
    reply = DiscoveryReply("ssdp", SERVER, 1900, (), follow_up=location)
    discovered = asyncio.run(discovery_ssdp.follow_up(reply, 1.0))
    request = http1.build_request("GET", "/rootDesc.xml", f"{SERVER}:{PORT}")
    passive = converse(PORT, request, DESCRIPTION)[SERVER]
    # Then both report the same description fields
    assert keys(discovered.observations) == [o for o in keys(passive) if o[0] == "upnp"]
    assert discovered.serial == "ACCC8E123456"
