"""The verdict rule counts services, not header fields (decision 0030).

An auditor's case: an RTSP reply with a month-first Date and the standard Public method list
(both shared Hikvision signals: live555 servers, TP-Link and Reolink send them too) was called
"restricted Hikvision 0.88" because the two headers are two observation fields. Both come from
one RTSP server implementation; the Korean maker Eyenix's public EN673 RTSP code sends exactly
this reply, so an Eyenix-based camera would be called Hikvision. Shared signals now corroborate
each other only when different services of the host gave them (the HTTP server on 80 and the
RTSP server on 554, the MAC registry and a reply); several fields of one service are one
signal. ``provscan explain`` applies the same function and says why.

Non-loopback addresses appear only as data: attribution runs in-process on crafted
observations, and the passive tests read captures built in memory (nothing is sent).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from provscan.attribution.attribute import (
    MIN_INDEPENDENT_SHARED_FIELDS,
    Signal,
    establishes,
    signal_services,
)
from provscan.commands.explain import MakerSupport, build_explanation
from provscan.identify import Identifier
from provscan.knowledge import load_knowledge
from provscan.model import Device, HostEvidence, Observation
from provscan.passive import CaptureAnalyser

sys.path.insert(0, str(Path(__file__).parent / "pcap"))
from pcap_builders import ACK, FIN, PSH, SYN, identify_with, pcap_bytes, tcp

KNOWLEDGE = load_knowledge()
POLICIES = KNOWLEDGE.select_policies(None)

MONTH_FIRST_DATE = "Mon, Dec 07 2026 10:53:30 GMT"
STANDARD_PUBLIC = "OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER"
DATE = Observation("rtsp", 554, "rtsp.date", MONTH_FIRST_DATE)
PUBLIC = Observation("rtsp", 554, "rtsp.public", STANDARD_PUBLIC)
#: A bare "Webs" Server header: a shared Hikvision signal (GoAhead-based servers send it too).
WEBS = Observation("http", 80, "http.server", "Webs")
ONE_SERVICE_ONLY = "shared signals of one service only (rtsp on port 554)"


def identify(*observations: Observation) -> Device:
    ports = tuple(sorted({o.port for o in observations if o.port is not None}))
    host = HostEvidence(address="127.0.0.9", open_ports=ports, observations=observations)
    return Identifier(KNOWLEDGE, policies=POLICIES).device(host)


def support_of(device: Device, observations: tuple[Observation, ...], maker: str) -> MakerSupport:
    explanation = build_explanation(device, observations, KNOWLEDGE)
    return {support.maker: support for support in explanation.makers}[maker]


# --- the auditor's case ----------------------------------------------------------------------


def test_date_and_public_of_one_rtsp_reply_are_review_not_restricted_hikvision() -> None:
    observations = (DATE, PUBLIC)
    device = identify(*observations)
    assert device.manufacturer is None
    assert not device.restricted
    review = [note for note in device.notes if note.startswith("review: possibly made by")]
    assert review and "Hikvision" in review[0], device.notes
    assert ONE_SERVICE_ONLY in review[0], review
    support = support_of(device, observations, "Hikvision")
    assert not support.established
    assert support.reason.startswith(ONE_SERVICE_ONLY), support.reason
    assert "2 fields of one server's replies are 1 independent signal" in support.reason


def test_the_same_reply_on_two_rtsp_ports_is_still_one_service() -> None:
    observations = (DATE, Observation("rtsp", 8554, "rtsp.public", STANDARD_PUBLIC))
    device = identify(*observations)
    assert not device.restricted, device.notes
    assert not support_of(device, observations, "Hikvision").established


def test_shared_signals_of_the_web_and_the_rtsp_server_still_corroborate() -> None:
    observations = (DATE, WEBS)
    device = identify(*observations)
    assert device.manufacturer == "Hikvision"
    assert device.restricted, device.notes
    support = support_of(device, observations, "Hikvision")
    assert support.established
    assert "2 independent fields of different services" in support.reason, support.reason


def test_a_third_field_of_the_rtsp_reply_adds_nothing_but_a_web_signal_does() -> None:
    alone = identify(DATE, PUBLIC)
    with_web = identify(DATE, PUBLIC, WEBS)
    assert not alone.restricted
    assert with_web.restricted and with_web.manufacturer == "Hikvision"


# --- the rule itself ---------------------------------------------------------------------------


def test_services_are_ports_and_protocols() -> None:
    service = signal_services(
        [
            ("rtsp", 554),
            ("rtsp", 8554),
            ("http", 80),
            ("onvif", 80),
            ("https", 443),
            ("tls", 443),
            ("http", 8080),
            ("mac", None),
            ("dhcp", None),
        ]
    )
    assert service[("rtsp", 554)] == service[("rtsp", 8554)]
    web = service[("http", 80)]
    assert {service[p] for p in [("onvif", 80), ("https", 443), ("tls", 443), ("http", 8080)]} == {
        web
    }
    assert len({web, service[("rtsp", 554)], service[("mac", None)], service[("dhcp", None)]}) == 4


@pytest.mark.parametrize(
    ("signals", "independent", "established"),
    [
        # two fields of one service: one signal
        ([("rtsp.date", "rtsp", 554), ("rtsp.public", "rtsp", 554)], 1, False),
        # one field on two services: one signal (the field groups as before)
        ([("rtsp.date", "rtsp", 554), ("rtsp.date", "http", 80)], 1, False),
        # different fields of different services: two
        ([("rtsp.date", "rtsp", 554), ("http.server", "http", 80)], 2, True),
        # the MAC registry is a service of its own
        ([("rtsp.date", "rtsp", 554), ("mac.oui", "mac", None)], 2, True),
        # a field shared by both services pairs with the other service's own field
        (
            [
                ("rtsp.date", "rtsp", 554),
                ("rtsp.public", "rtsp", 554),
                ("rtsp.date", "http", 80),
            ],
            2,
            True,
        ),
    ],
)
def test_establishes_counts_fields_of_different_services(
    signals: list[tuple[str, str, int | None]], independent: int, established: bool
) -> None:
    found = establishes(Signal(group, protocol, port, False) for group, protocol, port in signals)
    assert (found.independent, found.established) == (independent, established)
    assert MIN_INDEPENDENT_SHARED_FIELDS == 2


def test_maker_specific_and_fallback_signals_keep_their_meaning() -> None:
    one = Signal("rtsp.date", "rtsp", 554, maker_specific=True)
    assert establishes([one]).established
    fallback = Signal("nmap.product", "nmap-fallback", 80, False, fallback=True)
    assert not establishes([Signal("rtsp.date", "rtsp", 554, False), fallback]).established


def test_names_printed_by_different_services_remain_one_signal() -> None:
    found = establishes([Signal("name:", "http", 80, False), Signal("name:", "rtsp", 554, False)])
    assert not found.established and found.independent == 1


# --- passive captures: a host's HTTP and RTSP conversations are different services -----------

CAMERA, VIEWER = "10.0.0.64", "10.0.0.5"
CAMERA_MAC, VIEWER_MAC = "02:00:00:00:00:64", "02:00:00:00:00:05"  # locally administered


def conversation(port: int, client_port: int, request: bytes, reply: bytes) -> list[bytes]:
    def from_camera(seq: int, flags: int, payload: bytes = b"") -> bytes:
        return tcp(CAMERA, VIEWER, port, client_port, seq, flags, payload, CAMERA_MAC, VIEWER_MAC)

    def from_viewer(seq: int, flags: int, payload: bytes = b"") -> bytes:
        return tcp(VIEWER, CAMERA, client_port, port, seq, flags, payload, VIEWER_MAC, CAMERA_MAC)

    return [
        from_viewer(100, SYN),
        from_camera(900, SYN | ACK),
        from_viewer(101, ACK | PSH, request),
        from_camera(901, ACK | PSH, reply),
        from_camera(901 + len(reply), ACK | FIN),
        from_viewer(101 + len(request), ACK | FIN),
    ]


RTSP_OPTIONS = f"OPTIONS rtsp://{CAMERA}/ RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode()
RTSP_REPLY = (
    f"RTSP/1.0 200 OK\r\nCSeq: 1\r\nDate: {MONTH_FIRST_DATE}\r\nPublic: {STANDARD_PUBLIC}\r\n\r\n"
).encode()
HTTP_GET = f"GET / HTTP/1.1\r\nHost: {CAMERA}\r\n\r\n".encode()
HTTP_REPLY = b"HTTP/1.1 200 OK\r\nServer: Webs\r\nContent-Length: 0\r\n\r\n"


def camera_in(frames: list[bytes]) -> Device:
    analyser = CaptureAnalyser(KNOWLEDGE)
    analyser.feed("test", io.BytesIO(pcap_bytes(frames)))
    result = analyser.result(identify_with(KNOWLEDGE))
    return next(device for device in result.devices if device.ip == CAMERA)


def test_a_captured_rtsp_reply_alone_is_review() -> None:
    device = camera_in(conversation(554, 40000, RTSP_OPTIONS, RTSP_REPLY))
    fields = {item.observed_field for item in device.evidence}
    assert {"rtsp.date", "rtsp.public"} <= fields, fields
    assert not device.restricted
    assert any(ONE_SERVICE_ONLY in note for note in device.notes), device.notes


def test_captured_rtsp_and_http_conversations_corroborate() -> None:
    frames = conversation(554, 40000, RTSP_OPTIONS, RTSP_REPLY)
    frames += conversation(80, 40001, HTTP_GET, HTTP_REPLY)
    device = camera_in(frames)
    assert device.manufacturer == "Hikvision", device.notes
    assert device.restricted
