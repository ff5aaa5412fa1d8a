"""A captured reply to a path no vendor endpoint names is read by the body extractor the
knowledge data gives its path's prefix (``http_endpoints.yaml`` ``passive_path_prefixes``,
issue 11): real capture files, read as ``provscan pcap`` reads them, in one process and with
the second process (``workers=2``). Bodies are made up in the shape the sources describe."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pcap_builders import ACK, ETH_CLIENT, FIN, PSH, SYN, pcap_bytes, tcp

from provscan.knowledge import load_knowledge
from provscan.knowledge.loader import DEFAULT_DATA_DIR, Knowledge
from provscan.passive import CaptureAnalyser
from provscan.wire import http1

STATION = "10.30.0.5"
#: Each device answers on port 80 (data only: nothing is sent anywhere).
CAMERA, RECORDER, ROUTER, GOAHEAD, XMLRPC, DONGLE = (f"10.30.0.{n}" for n in range(60, 66))
DEVICE_MAC = "02:00:00:00:30:01"
VENDOR_FIELDS = ("isapi.", "dahua.rpc2.", "zte.goform.", "hilink.")

# Hikvision ISAPI: a VMS polling the camera's clock (the namespace of fingerprints/isapi.yaml).
ISAPI_TIME = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<Time version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\n'
    b"<timeMode>NTP</timeMode>\n<localTime>2026-01-05T10:00:00+01:00</localTime>\n"
    b"<timeZone>CST-1:00:00</timeZone>\n</Time>\n"
)
# Dahua's web UI calling RPC2 with a session the recorder no longer knows.
RPC2_REQUEST = b'{"method":"magicBox.getDeviceType","params":null,"id":3,"session":"0a1b2c"}'
RPC2_REPLY = (
    b'{"error":{"code":287637505,"message":"Invalid session in request data!"},'
    b'"id":3,"result":false,"session":"0a1b2c"}'
)
# ZTE's web UI asking for the version with its cache-buster: not the endpoint's exact path.
GOFORM_PATH = (
    "/goform/goform_get_cmd_process?isTest=false&cmd=Language%2Ccr_version%2Cwa_inner_version"
    "&multi_data=1&_=1660960608154"
)
GOFORM_REPLY = b'{"Language":"pt","cr_version":"","wa_inner_version":"BD_MEOPTMF266V1.0.0B06"}'
# XML-RPC (Python's xmlrpc.server, supervisord) answers /RPC2 in XML, not Dahua's JSON.
XMLRPC_FAULT = (
    b"<?xml version='1.0'?>\n<methodResponse><fault><value><struct>"
    b"<member><name>faultCode</name><value><int>1</int></value></member>"
    b"<member><name>faultString</name><value><string>UNKNOWN_METHOD</string></value></member>"
    b"</struct></value></fault></methodResponse>\n"
)
# A HiLink dongle's reply to a path with a query the endpoint does not have.
HILINK_PATH = "/api/device/basic_information?_=1767603600"
HILINK_REPLY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<response><productfamily>LTE</productfamily>'
    b"<classify>hilink</classify><devicename>E3372</devicename></response>\n"
)


def conversation(server: str, client_port: int, request: bytes, reply: bytes) -> list[bytes]:
    """One HTTP exchange on port 80: handshake, request, reply, both FINs."""
    back = {"src_mac": DEVICE_MAC, "dst_mac": ETH_CLIENT}
    there = {"dst_mac": DEVICE_MAC}
    return [
        tcp(STATION, server, client_port, 80, 100, SYN, **there),
        tcp(server, STATION, 80, client_port, 900, SYN | ACK, **back),
        tcp(STATION, server, client_port, 80, 101, ACK | PSH, request, **there),
        tcp(server, STATION, 80, client_port, 901, ACK | PSH, reply, **back),
        tcp(server, STATION, 80, client_port, 901 + len(reply), ACK | FIN, **back),
        tcp(STATION, server, client_port, 80, 101 + len(request), ACK | FIN, **there),
    ]


def ok(body: bytes, content_type: str) -> bytes:
    return http1.build_response(200, "OK", [("Content-Type", content_type)], body)


def write_capture(path: Path) -> Path:
    def get(target: str, server: str) -> bytes:
        return http1.build_request("GET", target, server)

    rpc2 = http1.build_request(
        "POST", "/RPC2", RECORDER, [("Content-Type", "application/json")], RPC2_REQUEST
    )
    xmlrpc = http1.build_request(
        "POST", "/RPC2", XMLRPC, [("Content-Type", "text/xml")], b"<methodCall/>"
    )
    frames = [
        *conversation(
            CAMERA, 41001, get("/ISAPI/System/time", CAMERA), ok(ISAPI_TIME, "application/xml")
        ),
        *conversation(RECORDER, 41002, rpc2, ok(RPC2_REPLY, "application/json")),
        *conversation(ROUTER, 41003, get(GOFORM_PATH, ROUTER), ok(GOFORM_REPLY, "text/html")),
        # GoAhead's bare /goform/ is every maker's: even a reply ZTE's reader would take is
        # not read there
        *conversation(
            GOAHEAD, 41004, get("/goform/getStatus", GOAHEAD), ok(GOFORM_REPLY, "text/html")
        ),
        *conversation(XMLRPC, 41005, xmlrpc, ok(XMLRPC_FAULT, "text/xml")),
        *conversation(DONGLE, 41006, get(HILINK_PATH, DONGLE), ok(HILINK_REPLY, "text/xml")),
    ]
    path.write_bytes(pcap_bytes(frames))
    return path


def vendor_facts(knowledge: Knowledge, capture: Path, workers: int) -> dict[str, set[Any]]:
    """(field, value, detail) of each vendor extractor's fact, per device address."""
    analyser = CaptureAnalyser(knowledge, workers=workers)
    child = analyser._worker
    with capture.open("rb") as handle:
        analyser.feed(capture.name, handle)
    analyser.flows.flush()
    analyser.close()
    if workers > 1:
        assert child is not None and child.read_by_child > 0  # the child read them
    facts: dict[str, set[Any]] = {}
    for address, record in analyser.hosts.hosts.items():
        for (_protocol, port, field, value), (
            _packet,
            _time,
            detail,
        ) in record.observations.items():
            if port == 80 and field.startswith(VENDOR_FIELDS):
                facts.setdefault(address, set()).add((field, value, detail))
    return facts


@pytest.mark.parametrize("workers", [1, 2])
def test_replies_under_a_known_prefix_are_read_by_its_extractor(
    tmp_path: Path, workers: int
) -> None:
    capture = write_capture(tmp_path / "prefixes.pcap")
    facts = vendor_facts(load_knowledge(), capture, workers)
    assert facts.pop(CAMERA) == {
        ("isapi.namespace", "http://www.hikvision.com/ver20/XMLSchema", "GET /ISAPI/System/time"),
    }
    assert facts.pop(RECORDER) == {
        ("dahua.rpc2.error", "Invalid session in request data!", "POST /RPC2"),
    }
    assert facts.pop(ROUTER) == {
        ("zte.goform.firmware", "BD_MEOPTMF266V1.0.0B06", f"GET {GOFORM_PATH}"),
    }
    # GoAhead's /goform/getStatus, XML-RPC's /RPC2 fault and the HiLink path (no prefix in
    # the bundled data; its endpoint is the exact path only) give no vendor field
    assert facts == {}


def test_the_prefixes_are_the_datas_longest_first(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data)
    path = data / "http_endpoints.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    entry = {
        "specificity": {"used_by": ["Huawei"], "note": "test"},
        "purpose": "test",
        "sources": ["test"],
    }
    document["passive_path_prefixes"] += [
        {"prefix": "/api/", "extractor": "isapi_xml", **entry},
        {"prefix": "/api/device/", "extractor": "hilink_xml", **entry},
    ]
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    capture = write_capture(tmp_path / "prefixes.pcap")
    facts = vendor_facts(load_knowledge(data), capture, workers=1)
    context = f"GET {HILINK_PATH}"
    assert facts[DONGLE] == {
        ("hilink.product_family", "LTE", context),
        ("hilink.classify", "hilink", context),
        ("hilink.device_name", "E3372", context),
    }
