"""SNMPv2c codec (wire/snmp.py): round trips and hostile input."""

from __future__ import annotations

import collections
import random

import pytest

from provscan.errors import ProtocolError
from provscan.wire import snmp


def _response(bindings: tuple[snmp.VarBind, ...], request_id: int = 77) -> bytes:
    return snmp.encode_message(
        snmp.SnmpMessage(snmp.VERSION_V2C, b"public", snmp.GET_RESPONSE, request_id, 0, 0, bindings)
    )


def test_get_request_round_trip() -> None:
    # Given a GetRequest for the system group
    data = snmp.encode_get_request(b"public", 123456)
    # When it is parsed back
    message = snmp.parse_message(data)
    # Then every field is what was encoded
    assert message.version == snmp.VERSION_V2C
    assert message.community == b"public"
    assert message.pdu_type == snmp.GET_REQUEST
    assert message.request_id == 123456
    assert [v.oid for v in message.varbinds] == list(snmp.SYSTEM_OIDS)
    assert {v.kind for v in message.varbinds} == {"null"}


def test_get_request_bytes_match_the_standard_encoding() -> None:
    # The BER of a v2c GET of sysDescr.0, request ID 1, written out by hand from X.690.
    expected = bytes.fromhex(
        "3026"
        "020101"
        "0406" + b"public".hex() + "a019"
        "020101"
        "020100"
        "020100"
        "300e"
        "300c"
        "0608"
        "2b06010201010100"
        "0500"
    )
    assert snmp.encode_get_request(b"public", 1, [snmp.SYS_DESCR]) == expected


def test_response_round_trip_with_every_value_kind() -> None:
    bindings = (
        snmp.VarBind(snmp.SYS_DESCR, "string", "Huawei Versatile Routing Platform Software"),
        snmp.VarBind(snmp.SYS_OBJECT_ID, "oid", "1.3.6.1.4.1.2011.2.23.544"),
        snmp.VarBind(snmp.SYS_NAME, "noSuchObject", ""),
        snmp.VarBind("1.3.6.1.2.1.1.3.0", "timeticks", "4294967295"),
        snmp.VarBind("1.3.6.1.2.1.1.7.0", "integer", "-72"),
    )
    message = snmp.parse_response(_response(bindings), 77)
    assert message is not None
    assert message.varbinds == bindings
    assert message.value_of(snmp.SYS_OBJECT_ID) == bindings[1]


def test_long_values_use_long_form_lengths() -> None:
    text = "x" * 1000
    message = snmp.parse_message(_response((snmp.VarBind(snmp.SYS_DESCR, "string", text),)))
    assert message.varbinds[0].value == text


def test_response_for_another_request_or_a_request_is_not_an_answer() -> None:
    bindings = (snmp.VarBind(snmp.SYS_NAME, "string", "sw1"),)
    assert snmp.parse_response(_response(bindings, 5), 6) is None
    assert snmp.parse_response(snmp.encode_get_request(b"public", 5), 5) is None


def test_non_utf8_strings_are_read_as_latin1() -> None:
    data = _response((snmp.VarBind(snmp.SYS_NAME, "string", "x"),)).replace(
        b"\x04\x01x", b"\x04\x01\xe9"
    )
    assert snmp.parse_message(data).varbinds[0].value == "é"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x30",
        b"\x30\x80\x02\x01\x01\x00\x00",  # indefinite length
        b"\x30\x85\x00\x00\x00\x00\x01",  # five length bytes
        b"\x30\x10\x02\x01\x01",  # longer than the datagram
        b"\x31\x03\x02\x01\x01",  # a SET, not a SEQUENCE
        b"\x30\x03\x04\x01\x01",  # version missing
        bytes.fromhex("300b0201010401700203020100"),  # PDU is not context-constructed
        b"\x1f" * 10,  # multi-byte tag
        bytes(9000),  # larger than any message read
    ],
)
def test_malformed_messages_raise_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        snmp.parse_message(data)


def test_too_many_bindings_are_refused() -> None:
    bindings = tuple(
        snmp.VarBind(snmp.SYS_NAME, "string", "a") for _ in range(snmp.MAX_VARBINDS + 1)
    )
    with pytest.raises(ProtocolError, match="too many"):
        snmp.parse_message(_response(bindings))


def test_oid_with_too_many_arcs_is_refused() -> None:
    oid = "1.3." + ".".join("1" for _ in range(snmp.MAX_OID_ARCS + 2))
    with pytest.raises(ProtocolError, match="OID too long"):
        snmp.parse_message(_response((snmp.VarBind(oid, "null", ""),)))


def test_random_corruption_never_escapes_as_another_error() -> None:
    # Given a valid response, when bytes are flipped or cut anywhere, then parsing either
    # succeeds or raises ProtocolError: nothing else reaches the caller.
    valid = _response((snmp.VarBind(snmp.SYS_DESCR, "string", "ZXA10 C320"),))
    generator = random.Random(11)
    outcomes: collections.Counter[str] = collections.Counter()
    for _ in range(3000):
        data = bytearray(valid)
        for _ in range(generator.randint(1, 4)):
            data[generator.randrange(len(data))] = generator.randrange(256)
        data = data[: generator.randint(0, len(data))]
        try:
            snmp.parse_message(bytes(data))
        except ProtocolError:
            outcomes["refused"] += 1
        else:
            outcomes["parsed"] += 1
    # Both outcomes happen: the corruptions reach the decoder's checks, not just the first byte.
    assert outcomes["parsed"] > 0 and outcomes["refused"] > 0
