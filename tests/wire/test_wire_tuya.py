"""Tuya local-protocol frames (wire/tuya.py): framing checked, clear JSON read, hostile input."""

from __future__ import annotations

import pytest

from provscan.errors import ProtocolError
from provscan.observations import tuya as tuya_observations
from provscan.wire import tuya
from tuya_frames import CLEAR, frame_55aa, frame_6699


def test_a_clear_broadcast_gives_its_product_key_version_and_address() -> None:
    frame = tuya.parse_frame(frame_55aa(CLEAR, command=0x00))
    assert frame.generation == "55aa" and frame.command == 0
    assert frame.clear == {
        "gwId": "bf0123456789abcdef01",
        "productKey": "keyabc",
        "version": "3.1",
        "ip": "192.0.2.40",
    }
    sighting = tuya_observations.read(frame_55aa(CLEAR, command=0x00))
    assert sighting is not None
    fields = {o.field: o.value for o in sighting.observations}
    assert fields["tuya.broadcast"] == "Tuya LP 55aa frame, command 0x00 (clear)"
    assert fields["tuya.product_key"] == "keyabc"
    assert sighting.address == "192.0.2.40"


def test_an_encrypted_broadcast_is_recognised_by_its_framing_alone() -> None:
    sighting = tuya_observations.read(frame_55aa(bytes(range(160))))
    assert sighting is not None
    assert [o.value for o in sighting.observations] == [
        "Tuya LP 55aa frame, command 0x13 (encrypted)"
    ]
    assert tuya.parse_frame(frame_6699(bytes(64))).generation == "6699"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x00\x55\xaa",
        frame_55aa(CLEAR)[:-1],  # suffix cut
        frame_55aa(CLEAR)[:20] + frame_55aa(CLEAR)[24:],  # length no longer matches
        frame_6699(bytes(10))[:-5] + tuya.SUFFIX_6699,
        b"M-SEARCH * HTTP/1.1\r\n\r\n",
        tuya.PREFIX_55AA + bytes(5000) + tuya.SUFFIX_55AA,  # longer than any broadcast
    ],
)
def test_malformed_frames_are_refused(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        tuya.parse_frame(data)


def test_hostile_clear_payloads_yield_no_fields() -> None:
    for payload in (
        b"[1, 2]",
        b"{" * 3000,
        b'{"productKey": {"a": 1}, "version": true}',
        b"\xff{}",
    ):
        frame = tuya.parse_frame(frame_55aa(payload))
        assert frame.clear == {}
