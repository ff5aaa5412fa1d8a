"""Xiongmai Sofia: a KeepAlive reply, the same observations from the probe and a capture."""

from __future__ import annotations

from observed import SERVER, Converse, RunProbe, keys

from provscan.observations import xiongmai as observe
from provscan.probes.xiongmai import XiongmaiProbe
from provscan.wire import xiongmai

PORT = 34567
REPLY = xiongmai.build_message(
    xiongmai.MSG_KEEPALIVE_REPLY, {"Name": "", "Ret": 100, "SessionID": "0x0000000B"}, session_id=11
)


def test_a_reply_maps_its_header_and_json() -> None:
    message = xiongmai.parse_message(REPLY)
    found = observe.reply_observations(PORT, REPLY[: xiongmai.HEADER_BYTES], message)
    detail = "msg id 1007, session 0x0000000b"
    assert [(o.field, o.value, o.detail) for o in found] == [
        ("xiongmai.reply", REPLY[:20].hex(), detail),
        ("xiongmai.json", '{"Name":"","Ret":100,"SessionID":"0x0000000B"}', detail),
    ]
    assert {key[0] for key in keys(found)} == {"xiongmai"}


def test_the_probe_and_a_capture_read_the_reply_alike(
    run_probe: RunProbe, converse: Converse
) -> None:
    active = run_probe(XiongmaiProbe(), PORT, lambda _: REPLY)
    passive = converse(PORT, xiongmai.build_keepalive_request(), REPLY)
    assert [(o.field, o.value, o.detail) for o in active] == [
        (o.field, o.value, o.detail) for o in passive[SERVER]
    ]
