"""Hikvision SDK port: the first reply, the same observation from the probe and a capture."""

from __future__ import annotations

import pytest
from observed import SERVER, Converse, RunProbe, keys

from provscan.observations import hik_sdk as observe
from provscan.probes.hik_sdk import HikSdkProbe
from provscan.wire import hik_sdk

PORT = 8000


def test_the_reply_is_reported_up_to_its_declared_length() -> None:
    found = observe.reply_observations(PORT, hik_sdk.NMAP_CONTROL_PORT_REPLY + b"\x01\x02")
    assert [(o.field, o.value, o.detail) for o in found] == [
        (
            "hik.sdk.reply",
            hik_sdk.NMAP_CONTROL_PORT_REPLY.hex(),
            "declared length 16; nmap control-port match",
        )
    ]
    long_reply = hik_sdk.build_reply(body=bytes(range(40)))
    assert keys(observe.reply_observations(PORT, long_reply)) == [
        ("hik-sdk", PORT, "hik.sdk.reply", long_reply[:32].hex())
    ]
    unparsed = observe.reply_observations(PORT, b"\x00\x01")
    assert unparsed[0].value == "0001" and unparsed[0].detail.startswith("unparsed: ")


@pytest.mark.parametrize(
    "reply",
    [hik_sdk.NMAP_CONTROL_PORT_REPLY, hik_sdk.build_reply(body=bytes(range(40))), b"\xff" * 20],
    ids=["nmap-match", "longer-message", "not-the-header"],
)
def test_the_probe_and_a_capture_read_the_reply_alike(
    reply: bytes, run_probe: RunProbe, converse: Converse
) -> None:
    active = run_probe(HikSdkProbe(), PORT, lambda _: reply)
    passive = converse(PORT, b"", reply)
    assert [(o.field, o.value, o.detail) for o in active] == [
        (o.field, o.value, o.detail) for o in passive[SERVER]
    ]
