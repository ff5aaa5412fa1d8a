"""UPnP device description XML and the IGD port-mapping query, pure.

The description (UPnP Device Architecture 1.1 §2.3) is fetched from the SSDP ``LOCATION``:
``<root><device>`` with ``deviceType``, ``friendlyName``, ``manufacturer``,
``manufacturerURL``, ``modelName``, ``modelNumber``, ``modelDescription``,
``serialNumber``, ``UDN``, a ``serviceList`` and embedded devices in ``deviceList``.

On an Internet Gateway Device the ``WANIPConnection``/``WANPPPConnection`` service answers
``GetGenericPortMappingEntry(NewPortMappingIndex)`` (UPnP IGD 1.0, WANIPConnection:1
§2.4.14), a read-only query; an index past the end gives fault 713
``SpecifiedArrayIndexInvalid``. provscan records the mappings that expose devices to the
internet; it never adds or deletes one.

XML is parsed with the defused parser of :mod:`provscan.wire.onvif`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from provscan.errors import ProtocolError
from provscan.wire.onvif import _child, _find, _local, _text, parse_xml

DEVICE_NS = "urn:schemas-upnp-org:device-1-0"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENCODING = "http://schemas.xmlsoap.org/soap/encoding/"
WAN_IP_CONNECTION = "urn:schemas-upnp-org:service:WANIPConnection:1"
WAN_PPP_CONNECTION = "urn:schemas-upnp-org:service:WANPPPConnection:1"
PORT_MAPPING_ACTION = "GetGenericPortMappingEntry"
ARRAY_INDEX_INVALID = 713
#: Devices nested deeper than this, or more of them, are ignored.
MAX_DEVICES = 16
MAX_SERVICES = 32

_DEVICE_FIELDS = (
    ("deviceType", "device_type"),
    ("friendlyName", "friendly_name"),
    ("manufacturer", "manufacturer"),
    ("manufacturerURL", "manufacturer_url"),
    ("modelDescription", "model_description"),
    ("modelName", "model_name"),
    ("modelNumber", "model_number"),
    ("serialNumber", "serial_number"),
    ("UDN", "udn"),
)
_MAPPING_FIELDS = (
    ("NewRemoteHost", "remote_host"),
    ("NewExternalPort", "external_port"),
    ("NewProtocol", "protocol"),
    ("NewInternalPort", "internal_port"),
    ("NewInternalClient", "internal_client"),
    ("NewEnabled", "enabled"),
    ("NewPortMappingDescription", "description"),
    ("NewLeaseDuration", "lease_duration"),
)


@dataclass(frozen=True)
class UpnpService:
    service_type: str
    control_url: str | None = None


@dataclass(frozen=True)
class UpnpDevice:
    device_type: str | None = None
    friendly_name: str | None = None
    manufacturer: str | None = None
    manufacturer_url: str | None = None
    model_description: str | None = None
    model_name: str | None = None
    model_number: str | None = None
    serial_number: str | None = None
    udn: str | None = None
    services: tuple[UpnpService, ...] = ()
    #: Embedded devices (an IGD nests WANDevice and WANConnectionDevice), flattened.
    embedded: tuple[UpnpDevice, ...] = field(default=())

    def all_services(self) -> list[UpnpService]:
        return [*self.services, *(s for d in self.embedded for s in d.services)]


@dataclass(frozen=True)
class PortMapping:
    remote_host: str | None = None
    external_port: str | None = None
    protocol: str | None = None
    internal_port: str | None = None
    internal_client: str | None = None
    enabled: str | None = None
    description: str | None = None
    lease_duration: str | None = None

    def summary(self) -> str:
        return (
            f"{self.protocol or '?'} {self.remote_host or '*'}:{self.external_port or '?'} -> "
            f"{self.internal_client or '?'}:{self.internal_port or '?'}"
            + (f" ({self.description})" if self.description else "")
        )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _device_xml(device: UpnpDevice) -> str:
    parts = []
    for xml_name, attribute in _DEVICE_FIELDS:
        value = getattr(device, attribute)
        if value is not None:
            parts.append(f"<{xml_name}>{_escape(value)}</{xml_name}>")
    if device.services:
        services = "".join(
            f"<service><serviceType>{_escape(s.service_type)}</serviceType>"
            f"<controlURL>{_escape(s.control_url or '')}</controlURL></service>"
            for s in device.services
        )
        parts.append(f"<serviceList>{services}</serviceList>")
    if device.embedded:
        parts.append(
            "<deviceList>" + "".join(_device_xml(d) for d in device.embedded) + "</deviceList>"
        )
    return "<device>" + "".join(parts) + "</device>"


def build_description(device: UpnpDevice) -> bytes:
    """The device side: a description document (lab and tests)."""
    return (
        '<?xml version="1.0"?>'
        f'<root xmlns="{DEVICE_NS}"><specVersion><major>1</major><minor>0</minor></specVersion>'
        f"{_device_xml(device)}</root>"
    ).encode()


def _parse_device(element: ET.Element, depth: int, budget: list[int]) -> UpnpDevice:
    values = {attribute: _text(_child(element, name)) for name, attribute in _DEVICE_FIELDS}
    services: list[UpnpService] = []
    service_list = _child(element, "serviceList")
    if service_list is not None:
        for service in service_list:
            if _local(service.tag) != "service" or len(services) >= MAX_SERVICES:
                continue
            service_type = _text(_child(service, "serviceType"))
            if service_type:
                services.append(UpnpService(service_type, _text(_child(service, "controlURL"))))
    embedded: list[UpnpDevice] = []
    device_list = _child(element, "deviceList")
    if device_list is not None and depth < 4:
        for child in device_list:
            if _local(child.tag) != "device" or budget[0] <= 0:
                continue
            budget[0] -= 1
            nested = _parse_device(child, depth + 1, budget)
            embedded.append(nested.__class__(**{**nested.__dict__, "embedded": ()}))
            embedded.extend(nested.embedded)
    return UpnpDevice(**values, services=tuple(services), embedded=tuple(embedded))


def parse_description(data: bytes) -> UpnpDevice:
    """The root device of a description document. Raises ProtocolError."""
    root = parse_xml(data)
    if _local(root.tag) != "root":
        raise ProtocolError(f"not a UPnP description (root element {_local(root.tag)[:40]!r})")
    device = _child(root, "device")
    if device is None:
        raise ProtocolError("UPnP description without a device")
    return _parse_device(device, 0, [MAX_DEVICES])


def build_port_mapping_request(service_type: str, index: int) -> tuple[str, bytes]:
    """(SOAPACTION header value, body) for GetGenericPortMappingEntry."""
    if index < 0:
        raise ValueError("index must be >= 0")
    body = (
        '<?xml version="1.0"?>'
        f'<s:Envelope xmlns:s="{SOAP11_NS}" s:encodingStyle="{SOAP_ENCODING}"><s:Body>'
        f'<u:{PORT_MAPPING_ACTION} xmlns:u="{_escape(service_type)}">'
        f"<NewPortMappingIndex>{index}</NewPortMappingIndex>"
        f"</u:{PORT_MAPPING_ACTION}></s:Body></s:Envelope>"
    ).encode()
    return f'"{service_type}#{PORT_MAPPING_ACTION}"', body


def parse_port_mapping_request(data: bytes) -> int:
    """The lab side: the NewPortMappingIndex asked for. Raises ProtocolError."""
    root = parse_xml(data)
    text = _text(_find(root, "NewPortMappingIndex"))
    if text is None or not text.isdigit() or len(text) > 6:
        raise ProtocolError("no NewPortMappingIndex")
    return int(text)


def build_port_mapping_response(service_type: str, mapping: PortMapping) -> bytes:
    parts = "".join(
        f"<{name}>{_escape(getattr(mapping, attribute) or '')}</{name}>"
        for name, attribute in _MAPPING_FIELDS
    )
    return (
        '<?xml version="1.0"?>'
        f'<s:Envelope xmlns:s="{SOAP11_NS}" s:encodingStyle="{SOAP_ENCODING}"><s:Body>'
        f'<u:{PORT_MAPPING_ACTION}Response xmlns:u="{_escape(service_type)}">{parts}'
        f"</u:{PORT_MAPPING_ACTION}Response></s:Body></s:Envelope>"
    ).encode()


def build_upnp_fault(code: int, description: str) -> bytes:
    return (
        '<?xml version="1.0"?>'
        f'<s:Envelope xmlns:s="{SOAP11_NS}" s:encodingStyle="{SOAP_ENCODING}"><s:Body><s:Fault>'
        "<faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
        '<UPnPError xmlns="urn:schemas-upnp-org:control-1-0">'
        f"<errorCode>{code}</errorCode><errorDescription>{_escape(description)}</errorDescription>"
        "</UPnPError></detail></s:Fault></s:Body></s:Envelope>"
    ).encode()


def parse_port_mapping_response(data: bytes) -> PortMapping | None:
    """A mapping, or None for a UPnP fault (713 = past the last entry). Raises ProtocolError."""
    root = parse_xml(data)
    if _local(root.tag) != "Envelope":
        raise ProtocolError("not a SOAP envelope")
    if _find(root, "Fault") is not None:
        return None
    response = _find(root, PORT_MAPPING_ACTION + "Response")
    if response is None:
        raise ProtocolError("no GetGenericPortMappingEntryResponse")
    values = {attribute: _text(_child(response, name)) for name, attribute in _MAPPING_FIELDS}
    return PortMapping(**values)
