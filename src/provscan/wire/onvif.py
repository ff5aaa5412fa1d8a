"""ONVIF device-service SOAP codec, pure.

Requests are SOAP 1.2 envelopes for the two calls the ONVIF Core spec lets a device answer
before authentication (``GetSystemDateAndTime`` always; ``GetDeviceInformation`` only when
the device allows anonymous access, otherwise it returns a ``ter:NotAuthorized`` fault).
No WS-Security header is ever sent: provscan never presents credentials.

Replies are parsed with :mod:`defusedxml` with entity declarations and external references
forbidden (billion laughs, XXE), under a size cap. Elements are matched by local name so
SOAP 1.1 answers and vendor namespace prefixes work too.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

import defusedxml.ElementTree as DET
from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)

from provscan.errors import ProtocolError

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
DEVICE_WSDL_NS = "http://www.onvif.org/ver10/device/wsdl"
SCHEMA_NS = "http://www.onvif.org/ver10/schema"
DEVICE_SERVICE_PATH = "/onvif/device_service"
CONTENT_TYPE = "application/soap+xml; charset=utf-8"
#: Replies larger than this are refused before parsing.
MAX_XML_BYTES = 256 * 1024
#: Longest text kept from any one field.
MAX_FIELD_CHARS = 256

_DEVICE_INFO_FIELDS = ("Manufacturer", "Model", "FirmwareVersion", "SerialNumber", "HardwareId")


@dataclass(frozen=True)
class DeviceInformation:
    manufacturer: str | None = None
    model: str | None = None
    firmware_version: str | None = None
    serial_number: str | None = None
    hardware_id: str | None = None


@dataclass(frozen=True)
class SoapFault:
    #: e.g. ``env:Sender`` (SOAP 1.2 Code/Value, or SOAP 1.1 faultcode).
    code: str | None = None
    #: e.g. ``ter:NotAuthorized`` (innermost Subcode/Value).
    subcode: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class OnvifResponse:
    """What one SOAP reply said. Exactly one of the optional parts is usually set."""

    #: Local name of the first element in the SOAP Body, e.g. ``GetDeviceInformationResponse``.
    body_element: str | None
    fault: SoapFault | None = None
    device_information: DeviceInformation | None = None
    #: True when a SystemDateAndTime element was present (even if its UTC part is not).
    has_system_date_and_time: bool = False
    utc_date_time: datetime | None = None


def _envelope(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP12_NS}" xmlns:tds="{DEVICE_WSDL_NS}" xmlns:tt="{SCHEMA_NS}">'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def build_get_system_date_and_time() -> bytes:
    """Unauthenticated ``GetSystemDateAndTime`` request envelope."""
    return _envelope("<tds:GetSystemDateAndTime/>")


def build_get_device_information() -> bytes:
    """Unauthenticated ``GetDeviceInformation`` request envelope."""
    return _envelope("<tds:GetDeviceInformation/>")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_device_information_response(info: DeviceInformation) -> bytes:
    """The device side of GetDeviceInformation (lab and tests)."""
    values = (
        info.manufacturer,
        info.model,
        info.firmware_version,
        info.serial_number,
        info.hardware_id,
    )
    parts = "".join(
        f"<tds:{name}>{_escape(value or '')}</tds:{name}>"
        for name, value in zip(_DEVICE_INFO_FIELDS, values, strict=True)
    )
    return _envelope(
        f"<tds:GetDeviceInformationResponse>{parts}</tds:GetDeviceInformationResponse>"
    )


def build_system_date_and_time_response(utc: datetime) -> bytes:
    """The device side of GetSystemDateAndTime (lab and tests)."""
    utc = utc.astimezone(UTC)
    return _envelope(
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
        "<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime>"
        f"<tt:Time><tt:Hour>{utc.hour}</tt:Hour><tt:Minute>{utc.minute}</tt:Minute>"
        f"<tt:Second>{utc.second}</tt:Second></tt:Time>"
        f"<tt:Date><tt:Year>{utc.year}</tt:Year><tt:Month>{utc.month}</tt:Month>"
        f"<tt:Day>{utc.day}</tt:Day></tt:Date>"
        "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def build_fault(code: str, subcode: str | None, reason: str) -> bytes:
    """A SOAP 1.2 fault (the device side), e.g. ``env:Sender`` / ``ter:NotAuthorized``."""
    sub = f"<s:Subcode><s:Value>{_escape(subcode)}</s:Value></s:Subcode>" if subcode else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP12_NS}" xmlns:ter="http://www.onvif.org/ver10/error">'
        f"<s:Body><s:Fault><s:Code><s:Value>{_escape(code)}</s:Value>{sub}</s:Code>"
        f'<s:Reason><s:Text xml:lang="en">{_escape(reason)}</s:Text></s:Reason>'
        "</s:Fault></s:Body></s:Envelope>"
    ).encode()


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""  # comments and processing instructions
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _find(element: ET.Element, name: str) -> ET.Element | None:
    for descendant in element.iter():
        if _local(descendant.tag) == name:
            return descendant
    return None


def _text(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text[:MAX_FIELD_CHARS] if text else None


def parse_xml(data: bytes) -> ET.Element:
    """Parse XML safely. Raises ProtocolError (entity expansion, XXE, garbage, size)."""
    if not isinstance(data, bytes | bytearray):
        raise ProtocolError("XML must be bytes")
    if len(data) > MAX_XML_BYTES:
        raise ProtocolError(f"XML larger than {MAX_XML_BYTES} bytes refused")
    try:
        root: ET.Element = DET.fromstring(
            bytes(data), forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except EntitiesForbidden as exc:
        raise ProtocolError("XML entity expansion refused") from exc
    except ExternalReferenceForbidden as exc:
        raise ProtocolError("XML external reference refused") from exc
    except DTDForbidden as exc:  # pragma: no cover - DTDs are allowed, entities are not
        raise ProtocolError("XML DTD refused") from exc
    except DefusedXmlException as exc:
        raise ProtocolError(f"unsafe XML refused: {exc}") from exc
    except ET.ParseError as exc:
        raise ProtocolError(f"malformed XML: {exc}") from exc
    except (ValueError, LookupError, RecursionError) as exc:
        # Bad encoding declarations and pathological nesting end up here.
        raise ProtocolError(f"malformed XML: {type(exc).__name__}") from exc
    return root


def _utc(element: ET.Element | None) -> datetime | None:
    if element is None:
        return None
    time_element, date_element = _child(element, "Time"), _child(element, "Date")
    if time_element is None or date_element is None:
        return None
    numbers: list[int] = []
    for parent, names in (
        (date_element, ("Year", "Month", "Day")),
        (time_element, ("Hour", "Minute", "Second")),
    ):
        for name in names:
            text = _text(_child(parent, name))
            if text is None or not text.isdigit() or len(text) > 4:
                return None
            numbers.append(int(text))
    try:
        year, month, day, hour, minute, second = numbers
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None  # 2020-13-45 is data, not a crash


def _fault(fault: ET.Element) -> SoapFault:
    code_element = _child(fault, "Code")
    if code_element is not None:  # SOAP 1.2
        code = _text(_child(code_element, "Value"))
        subcode: str | None = None
        sub = _child(code_element, "Subcode")
        depth = 0
        while sub is not None and depth < 8:
            subcode = _text(_child(sub, "Value")) or subcode
            sub = _child(sub, "Subcode")
            depth += 1
        reason_element = _child(fault, "Reason")
        reason = _text(_child(reason_element, "Text")) if reason_element is not None else None
        return SoapFault(code, subcode, reason)
    # SOAP 1.1
    return SoapFault(_text(_child(fault, "faultcode")), None, _text(_child(fault, "faultstring")))


def parse_response(data: bytes) -> OnvifResponse:
    """Parse a SOAP reply from the device service. Raises ProtocolError on non-SOAP XML."""
    root = parse_xml(data)
    if _local(root.tag) != "Envelope":
        raise ProtocolError(f"not a SOAP envelope (root element {_local(root.tag)[:40]!r})")
    body = _child(root, "Body")
    if body is None:
        raise ProtocolError("SOAP envelope without a Body")
    first = next((child for child in body if _local(child.tag)), None)
    if first is None:
        return OnvifResponse(body_element=None)
    name = _local(first.tag)
    if name == "Fault":
        return OnvifResponse(body_element=name, fault=_fault(first))
    if name == "GetDeviceInformationResponse":
        values = [_text(_child(first, field)) for field in _DEVICE_INFO_FIELDS]
        return OnvifResponse(body_element=name, device_information=DeviceInformation(*values))
    system = _find(first, "SystemDateAndTime")
    if system is not None:
        return OnvifResponse(
            body_element=name,
            has_system_date_and_time=True,
            utc_date_time=_utc(_child(system, "UTCDateTime")),
        )
    return OnvifResponse(body_element=name)
