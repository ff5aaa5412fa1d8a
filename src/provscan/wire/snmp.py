"""SNMPv2c GetRequest / Response: the few BER shapes of one read-only GET (bytes <-> value).

Only what a single GET of ``sysDescr.0``, ``sysObjectID.0`` and ``sysName.0`` needs: a
message ``SEQUENCE { version, community, PDU }`` whose PDU holds a request ID, error status,
error index and a list of ``(OID, value)`` variable bindings (RFC 3416 section 3, RFC 1157
section 4 for the message). Decoding is bounded: definite lengths only, at most
:data:`MAX_MESSAGE_BYTES`, :data:`MAX_VARBINDS` bindings and :data:`MAX_OID_ARCS` arcs;
anything else raises :class:`~provscan.errors.ProtocolError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provscan.errors import ProtocolError

SNMP_PORT = 161
#: Message version field: 0 = SNMPv1, 1 = SNMPv2c.
VERSION_V2C = 1

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
#: The system group objects one GET asks for (RFC 3418 SNMPv2-MIB).
SYSTEM_OIDS: tuple[str, ...] = (SYS_DESCR, SYS_OBJECT_ID, SYS_NAME)

MAX_MESSAGE_BYTES = 8192
MAX_VARBINDS = 16
MAX_OID_ARCS = 64

# BER tags (X.690) and the SNMP application / context tags (RFC 2578, RFC 3416).
_INTEGER = 0x02
_OCTET_STRING = 0x04
_NULL = 0x05
_OID = 0x06
_SEQUENCE = 0x30
_IP_ADDRESS = 0x40
_COUNTER32 = 0x41
_GAUGE32 = 0x42
_TIMETICKS = 0x43
_COUNTER64 = 0x46
GET_REQUEST = 0xA0
GET_RESPONSE = 0xA2
_EXCEPTIONS = {0x80: "noSuchObject", 0x81: "noSuchInstance", 0x82: "endOfMibView"}
_UNSIGNED = {_COUNTER32, _GAUGE32, _TIMETICKS, _COUNTER64}


@dataclass(frozen=True)
class VarBind:
    """One variable binding: the OID (dotted) and its value as text.

    ``kind`` names the value's type (``string``, ``oid``, ``integer``, ``null``,
    ``noSuchObject``…); OCTET STRING values are decoded as UTF-8, else latin-1.
    """

    oid: str
    kind: str
    value: str


@dataclass(frozen=True)
class SnmpMessage:
    version: int
    community: bytes
    pdu_type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: tuple[VarBind, ...]

    def value_of(self, oid: str) -> VarBind | None:
        return next((v for v in self.varbinds if v.oid == oid), None)


# -- encoding ----------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _length(len(body)) + body


def _integer(value: int) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)
    return _tlv(_INTEGER, value.to_bytes(size, "big", signed=True))


def _oid_body(oid: str) -> bytes:
    try:
        arcs = [int(part) for part in oid.strip(".").split(".")]
    except ValueError as exc:
        raise ValueError(f"not a dotted OID: {oid!r}") from exc
    if len(arcs) < 2 or arcs[0] > 2 or any(a < 0 for a in arcs):
        raise ValueError(f"not a dotted OID: {oid!r}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def _value(binding: VarBind) -> bytes:
    if binding.kind == "string":
        return _tlv(_OCTET_STRING, binding.value.encode("utf-8"))
    if binding.kind == "oid":
        return _tlv(_OID, _oid_body(binding.value))
    if binding.kind == "integer":
        return _integer(int(binding.value))
    if binding.kind == "timeticks":
        number = int(binding.value)
        return _tlv(_TIMETICKS, number.to_bytes(max(1, (number.bit_length() + 8) // 8), "big"))
    for tag, name in _EXCEPTIONS.items():
        if binding.kind == name:
            return _tlv(tag, b"")
    return _tlv(_NULL, b"")


def encode_message(message: SnmpMessage) -> bytes:
    """The BER bytes of ``message`` (a request or a response)."""
    bindings = b"".join(
        _tlv(_SEQUENCE, _tlv(_OID, _oid_body(v.oid)) + _value(v)) for v in message.varbinds
    )
    pdu = _tlv(
        message.pdu_type,
        _integer(message.request_id)
        + _integer(message.error_status)
        + _integer(message.error_index)
        + _tlv(_SEQUENCE, bindings),
    )
    return _tlv(_SEQUENCE, _integer(message.version) + _tlv(_OCTET_STRING, message.community) + pdu)


def encode_get_request(
    community: bytes, request_id: int, oids: Sequence[str] = SYSTEM_OIDS
) -> bytes:
    """An SNMPv2c GetRequest for ``oids`` (values NULL)."""
    return encode_message(
        SnmpMessage(
            VERSION_V2C,
            community,
            GET_REQUEST,
            request_id,
            0,
            0,
            tuple(VarBind(oid, "null", "") for oid in oids),
        )
    )


# -- decoding ----------------------------------------------------------------------------


def _read_tlv(data: bytes, offset: int, end: int) -> tuple[int, int, int]:
    """``(tag, body start, body end)`` of the TLV at ``offset``, within ``end``."""
    if offset + 2 > end:
        raise ProtocolError("snmp: truncated element")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise ProtocolError("snmp: multi-byte tags are not used by SNMP")
    first = data[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise ProtocolError("snmp: indefinite or oversized length")
        if start + count > end:
            raise ProtocolError("snmp: truncated length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    if start + length > end:
        raise ProtocolError("snmp: element longer than its container")
    return tag, start, start + length


def _expect(data: bytes, offset: int, end: int, tag: int, what: str) -> tuple[int, int]:
    found, start, stop = _read_tlv(data, offset, end)
    if found != tag:
        raise ProtocolError(f"snmp: expected {what}, found tag 0x{found:02x}")
    return start, stop


def _decode_integer(body: bytes) -> int:
    if not body or len(body) > 9:
        raise ProtocolError("snmp: bad integer length")
    return int.from_bytes(body, "big", signed=True)


def decode_oid(body: bytes) -> str:
    """Dotted text of an OID's BER body."""
    if not body:
        raise ProtocolError("snmp: empty OID")
    arcs: list[int] = []
    value = 0
    for index, byte in enumerate(body):
        if value == 0 and byte == 0x80:
            raise ProtocolError("snmp: non-minimal OID arc")
        value = (value << 7) | (byte & 0x7F)
        if value.bit_length() > 64:
            raise ProtocolError("snmp: OID arc too large")
        if not byte & 0x80:
            arcs.append(value)
            value = 0
        elif index == len(body) - 1:
            raise ProtocolError("snmp: truncated OID arc")
        if len(arcs) > MAX_OID_ARCS:
            raise ProtocolError("snmp: OID too long")
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(a) for a in [*head, *arcs[1:]])


def _decode_text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def _decode_value(tag: int, body: bytes) -> tuple[str, str]:
    if tag == _OCTET_STRING:
        return "string", _decode_text(body)
    if tag == _OID:
        return "oid", decode_oid(body)
    if tag == _INTEGER:
        return "integer", str(_decode_integer(body))
    if tag in _UNSIGNED:
        if len(body) > 9:
            raise ProtocolError("snmp: bad unsigned length")
        return ("timeticks" if tag == _TIMETICKS else "unsigned"), str(int.from_bytes(body, "big"))
    if tag == _IP_ADDRESS:
        if len(body) != 4:
            raise ProtocolError("snmp: bad IpAddress length")
        return "ipaddress", ".".join(str(b) for b in body)
    if tag == _NULL:
        return "null", ""
    if tag in _EXCEPTIONS:
        return _EXCEPTIONS[tag], ""
    return "other", body.hex()


def parse_message(data: bytes) -> SnmpMessage:
    """A v1/v2c message (request or response). Raises ProtocolError when malformed."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise ProtocolError("snmp: message too large")
    start, end = _expect(data, 0, len(data), _SEQUENCE, "message SEQUENCE")
    v_start, v_end = _expect(data, start, end, _INTEGER, "version")
    version = _decode_integer(data[v_start:v_end])
    c_start, c_end = _expect(data, v_end, end, _OCTET_STRING, "community")
    community = data[c_start:c_end]
    pdu_type, p_start, p_end = _read_tlv(data, c_end, end)
    if pdu_type & 0xE0 != 0xA0:
        raise ProtocolError(f"snmp: not a PDU (tag 0x{pdu_type:02x})")
    numbers: list[int] = []
    offset = p_start
    for what in ("request-id", "error-status", "error-index"):
        n_start, n_end = _expect(data, offset, p_end, _INTEGER, what)
        numbers.append(_decode_integer(data[n_start:n_end]))
        offset = n_end
    l_start, l_end = _expect(data, offset, p_end, _SEQUENCE, "variable-bindings")
    bindings: list[VarBind] = []
    offset = l_start
    while offset < l_end:
        if len(bindings) >= MAX_VARBINDS:
            raise ProtocolError("snmp: too many variable bindings")
        b_start, b_end = _expect(data, offset, l_end, _SEQUENCE, "variable binding")
        o_start, o_end = _expect(data, b_start, b_end, _OID, "name")
        tag, val_start, val_end = _read_tlv(data, o_end, b_end)
        kind, value = _decode_value(tag, data[val_start:val_end])
        bindings.append(VarBind(decode_oid(data[o_start:o_end]), kind, value))
        offset = b_end
    return SnmpMessage(
        version, community, pdu_type, numbers[0], numbers[1], numbers[2], tuple(bindings)
    )


def parse_response(data: bytes, request_id: int | None = None) -> SnmpMessage | None:
    """A GetResponse (for ``request_id`` when given); None for any other valid message."""
    message = parse_message(data)
    if message.pdu_type != GET_RESPONSE:
        return None
    if request_id is not None and message.request_id != request_id:
        return None
    return message
