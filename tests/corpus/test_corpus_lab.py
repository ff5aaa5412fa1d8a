"""The corpus serves what sources recorded: schema, conversion, replayed lab replies."""

from __future__ import annotations

import os
import socket

import pytest
from corpus_schema import (
    BannerService,
    CorpusEntry,
    Expect,
    RtspService,
    corpus_address,
    entry_device_spec,
    load_project_corpus,
    to_device_spec,
)
from pydantic import ValidationError

from provscan.errors import LabError
from provscan.lab.server import run_lab_in_thread, validate_devices
from provscan.lab.spec import DeviceSpec, Expectation, Identity, ServiceSpec

SUBNET = f"127.252.{os.getpid() % 250}"


def _read_all(address: str, port: int, send: bytes = b"", wait: float = 3.0) -> bytes:
    with socket.create_connection((address, port), timeout=wait) as connection:
        if send:
            connection.sendall(send)
        chunks = []
        try:
            while chunk := connection.recv(4096):
                chunks.append(chunk)
                if send and b"\r\n\r\n" in b"".join(chunks):
                    break
        except TimeoutError:
            pass
    return b"".join(chunks)


def test_every_entry_becomes_a_valid_lab_device() -> None:
    entries = load_project_corpus()
    assert len(entries) >= 15
    devices = [
        entry_device_spec(e, corpus_address(252, i, os.getpid())) for i, e in enumerate(entries)
    ]
    validate_devices(devices)
    for entry in entries:
        assert entry.expect.manufacturer, entry.id
        assert all(source.description for source in entry.sources), entry.id


def test_corpus_devices_stay_on_loopback() -> None:
    entry = load_project_corpus()[0]
    with pytest.raises(ValueError, match="loopback"):
        entry_device_spec(entry, "192.0.2.10")


def test_banner_hex_is_sent_byte_for_byte() -> None:
    raw = bytes.fromhex("fffb01fffb03") + b"ZXHN test\r\nLogin: "
    device = to_device_spec(
        "hex-banner",
        f"{SUBNET}.201",
        Expect(manufacturer="Example", restricted=False),
        [BannerService(kind="banner", port=2323, hex=raw.hex())],
        ["test"],
        "raw banner",
    )
    with run_lab_in_thread([device]):
        assert _read_all(device.address, 2323) == raw


def test_rtsp_recorded_replies_are_replayed_verbatim() -> None:
    service = RtspService.model_validate(
        {
            "kind": "rtsp",
            "port": 5554,
            "status": 401,
            "reason": "Unauthorized",
            "headers": [["Date", " Sat, Apr 25 2026 00:05:48 GMT"], ["X-Test", "a"]],
            "options_reply": {"status": 200, "reason": "OK", "headers": [["Public", "OPTIONS"]]},
        }
    )
    device = to_device_spec(
        "rtsp-replay",
        f"{SUBNET}.202",
        Expect(manufacturer="Example", restricted=False),
        [service],
        ["test"],
        "recorded rtsp",
    )
    with run_lab_in_thread([device]):
        options = _read_all(device.address, 5554, b"OPTIONS * RTSP/1.0\r\nCSeq: 7\r\n\r\n")
        describe = _read_all(
            device.address, 5554, b"DESCRIBE rtsp://x/ RTSP/1.0\r\nCSeq: 8\r\n\r\n"
        )
    assert options == b"RTSP/1.0 200 OK\r\nCSeq: 7\r\nPublic: OPTIONS\r\n\r\n"
    assert describe == (
        b"RTSP/1.0 401 Unauthorized\r\nCSeq: 8\r\n"
        b"Date:  Sat, Apr 25 2026 00:05:48 GMT\r\nX-Test: a\r\n\r\n"
    )


def test_banner_options_need_exactly_one_of_text_and_hex() -> None:
    def device(options: dict[str, object]) -> DeviceSpec:
        return DeviceSpec(
            id="bad-banner",
            address=f"{SUBNET}.203",
            description="bad",
            identity=Identity(),
            expect=Expectation(),
            sources=["test"],
            services=[ServiceSpec(port=2324, protocol="banner", options=options)],
        )

    for options in ({"text": "a", "hex": "61"}, {}, {"hex": "zz"}):
        with pytest.raises(LabError):
            validate_devices([device(options)])


def test_corpus_entries_need_a_stated_maker_and_a_source() -> None:
    base = {
        "id": "x",
        "expect": {"manufacturer": "Axis", "restricted": False},
        "sources": [
            {
                "kind": "fingerprint-database",
                "repository": "rapid7/recog",
                "path": "xml/http_servers.xml",
                "description": "Axis Network Camera",
            }
        ],
        "services": [{"kind": "banner", "port": 21, "text": "220 ready\r\n"}],
    }
    CorpusEntry.model_validate(base)
    for broken in (
        {**base, "expect": {"restricted": False}},
        {**base, "sources": []},
        {**base, "sources": [{**base["sources"][0], "path": None}]},  # type: ignore[index]
    ):
        with pytest.raises(ValidationError):
            CorpusEntry.model_validate(broken)
