"""mDNS: one response, the same observations from discovery and from a capture."""

from __future__ import annotations

from observed import keys

from provscan.discovery.mdns import Mdns
from provscan.observations import mdns as observe
from provscan.passive.signals import parse_discovery
from provscan.wire import mdns

PORT = mdns.MDNS_PORT
INSTANCE = "AXIS P3225-LV Mk II - ACCC8E123456._axis-video._tcp.local."
SERVICE = mdns.MdnsService(
    instance=INSTANCE,
    service_type="_axis-video._tcp.local.",
    host="axis-accc8e123456.local.",
    port=80,
    txt=(("macaddress", "ACCC8E123456"), ("path", "/")),
)
RESPONSE = mdns.build_response([SERVICE], address="192.168.1.90")


def test_a_response_maps_services_hosts_and_txt_items() -> None:
    sighting = observe.response_observations(mdns.parse_message(RESPONSE))
    assert keys(sighting.observations) == [
        ("mdns", PORT, "mdns.service", "_axis-video._tcp.local."),
        ("mdns", PORT, "mdns.service", "_axis-video._tcp.local."),
        ("mdns", PORT, "mdns.instance", INSTANCE),
        ("mdns", PORT, "mdns.host", "axis-accc8e123456.local."),
        ("mdns", PORT, "mdns.txt", "macaddress=ACCC8E123456"),
        ("mdns", PORT, "mdns.txt", "path=/"),
    ]
    # the enumeration answer and the service both carry the type; the second names its instance
    assert [o.detail for o in sighting.observations if o.field == "mdns.service"] == ["", INSTANCE]
    assert sighting.mac == "ac:cc:8e:12:34:56"
    assert sighting.hostname == "axis-accc8e123456"


def test_txt_keys_that_carry_the_model_or_the_maker_are_read_again() -> None:
    # Bonjour Printing Specification keys (ty, product, usb_MFG, usb_MDL) and Cast's md=,
    # keys compared without case; other items stay TXT items only.
    printer = mdns.MdnsService(
        instance="Printer._ipp._tcp.local.",
        service_type="_ipp._tcp.local.",
        host="printer.local.",
        port=631,
        txt=(
            ("ty", "Brother HL-L2350DW series"),
            ("product", "(Brother HL-L2350DW series)"),
            ("USB_MFG", "Brother"),
            ("usb_MDL", "HL-L2350DW series"),
            ("note", "Office"),
            ("md", ""),
        ),
    )
    sighting = observe.response_observations(
        mdns.parse_message(mdns.build_response([printer], address="192.168.1.91"))
    )
    read_again = [(o.field, o.value) for o in sighting.observations if o.field != "mdns.txt"]
    assert [item for item in read_again if item[0] in ("mdns.model", "mdns.manufacturer")] == [
        ("mdns.model", "Brother HL-L2350DW series"),
        ("mdns.manufacturer", "Brother"),
        ("mdns.model", "HL-L2350DW series"),
    ]
    assert {o.detail for o in sighting.observations if o.field == "mdns.model"} == {
        printer.instance
    }


def test_queries_are_not_devices() -> None:
    assert observe.read(mdns.build_query()) is None


def test_discovery_and_passive_read_a_response_alike() -> None:
    reply = Mdns().interpret(RESPONSE, "192.168.1.90", PORT)
    facts = parse_discovery(PORT, RESPONSE, "192.168.1.90")
    assert reply is not None and facts is not None
    assert facts.fields == [
        ("discovery.protocol", "mdns response"),
        *((o.field, o.value) for o in reply.observations),
    ]
    assert {(o.protocol, o.port) for o in reply.observations} == {(facts.protocol, facts.port)}
    assert (facts.mac, facts.hostname) == (reply.mac, "axis-accc8e123456")
