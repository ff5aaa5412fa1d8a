"""ZTE goform version query (issue 11): the reply read safely, the request as the web UI sends it,
the same observations from the probe and from a capture."""

from __future__ import annotations

import json

import pytest
from observed import SERVER, Converse, RunProbe, distinct, keys

from provscan.knowledge import load_knowledge
from provscan.observations import http as observe
from provscan.probes.http import HttpProbe
from provscan.wire import http1

PORT = 80
KNOWLEDGE = load_knowledge()
assert KNOWLEDGE.http_endpoints is not None
ENDPOINT = next(e for e in KNOWLEDGE.http_endpoints.endpoints if e.id == "zte-goform-version")
NOT_FOUND = http1.build_response(404, "Not Found", [])
# The MF266 reply quoted by teixeluis/zte-lte-modem (http_endpoints.yaml sources).
MF266_BODY = b'{"Language":"pt","cr_version":"","wa_inner_version":"BD_MEOPTMF266V1.0.0B06"}'
MF266_REPLY = http1.build_response(
    200,
    "OK",
    [
        ("Server", "WebServer-Webs"),
        ("Pragma", "no-cache"),
        ("Cache-Control", "no-store"),
        ("Content-Type", "text/html"),
    ],
    MF266_BODY,
)


def read(body: bytes) -> list[tuple[str, int | None, str, str]]:
    return keys(observe.extractor_observations("zte_goform_json", body, PORT, ENDPOINT.path))


def test_the_endpoint_is_the_web_uis_pre_login_version_query() -> None:
    assert ENDPOINT.method == "GET"
    assert not ENDPOINT.body
    assert ENDPOINT.path == (
        "/goform/goform_get_cmd_process?isTest=false"
        "&cmd=Language,cr_version,wa_inner_version&multi_data=1"
    )
    assert ENDPOINT.referer == "/index.html"
    assert ENDPOINT.extractor == "zte_goform_json"
    assert "zte_goform_json" in observe.BODY_EXTRACTORS


def test_an_mf266_reply_gives_its_firmware_and_no_empty_values() -> None:
    assert read(MF266_BODY) == [
        ("http", PORT, "zte.goform.firmware", "BD_MEOPTMF266V1.0.0B06"),
    ]
    assert read(
        b'{"Language":"en","cr_version":"7520V3SCSDKV2.01.01.02P42U15",'
        b'"wa_inner_version":"BD_LLCUKRF30PROV1.0.0B01"}'
    ) == [
        ("http", PORT, "zte.goform.firmware", "BD_LLCUKRF30PROV1.0.0B01"),
        ("http", PORT, "zte.goform.cr_version", "7520V3SCSDKV2.01.01.02P42U15"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        # what firmware that wants a Referer (or a session) answers: every key, empty
        b'{"Language":"","cr_version":"","wa_inner_version":""}',
        # GoAhead 2.x's answer for a form it does not define (status 200)
        b"<html><head><title>Document Error: Data follows</title></head>\r\n\t\t<body><h2>"
        b"Access Error: Data follows</h2>\r\n\t\t<p>Form goform_get_cmd_process is not defined"
        b"</p></body></html>\r\n",
        b"",
        b"not json",
        b"[1, 2, 3]",
        b'"BD_MEOPTMF266V1.0.0B06"',
        b"null",
        b'{"wa_inner_version": 266, "cr_version": null}',
        b'{"wa_inner_version": ["BD_MEOPTMF266V1.0.0B06"], "cr_version": {"a": "b"}}',
        b'{"wa_inner_version": "   "}',
        b'{"WA_INNER_VERSION": "BD_MEOPTMF266V1.0.0B06"}',
        b'{"wa_inner_version":"BD_MEOPTMF266V1.0.0B06"',  # cut short
        b"\xff\xfe\x00\x01garbage\x80\x81",
        b"[" * 100_000 + b"]" * 100_000,  # nested past the recursion limit
        b'{"wa_inner_version":"' + b"9" * 5000 + b'"' + b"}" * 0,  # unterminated
        b'{"a":' + b"1" * 10_000 + b"}",  # an integer too long to convert
    ],
    ids=[
        "empty-values",
        "goahead-form-not-defined",
        "empty",
        "not-json",
        "array",
        "string",
        "null",
        "non-string-values",
        "nested-values",
        "blank",
        "other-key-case",
        "truncated",
        "binary",
        "deep-nesting",
        "unterminated-string",
        "huge-integer",
    ],
)
def test_garbage_and_refusals_give_nothing_and_never_raise(body: bytes) -> None:
    assert read(body) == []


def test_values_are_cleaned_and_clipped() -> None:
    body = json.dumps(
        {"wa_inner_version": "BD_\x01MF79RU\tV1.0.0B02\x7f", "cr_version": "x" * 5000}
    ).encode()
    found = observe.zte_goform_observations(body, PORT, ENDPOINT.path)
    assert [(o.field, o.value) for o in found] == [
        ("zte.goform.firmware", "BD_ MF79RU V1.0.0B02"),
        ("zte.goform.cr_version", "x" * observe.MAX_VALUE_CHARS),
    ]
    # raw control characters inside strings (some ZTE firmware writes them) still parse
    raw = b'{"wa_inner_version":"BD_MF79RU\x01V1.0.0B02"}'
    assert read(raw) == [("http", PORT, "zte.goform.firmware", "BD_MF79RU V1.0.0B02")]


def test_a_huge_reply_is_read_only_up_to_the_body_cap() -> None:
    value = "BD_MEOPTMF266V1.0.0B06"
    small = json.dumps({"wa_inner_version": value, "pad": "x" * 1000}).encode()
    assert read(small) == [("http", PORT, "zte.goform.firmware", value)]
    # the whole object lies past BODY_KEEP: cut, it is no JSON and gives nothing
    huge = json.dumps({"pad": "x" * (2 * observe.BODY_KEEP), "wa_inner_version": value}).encode()
    assert read(huge) == []


def test_the_probe_sends_the_query_with_the_devices_own_referer(run_probe: RunProbe) -> None:
    requests: list[bytes] = []

    def device(request: bytes) -> bytes:
        requests.append(request)
        return MF266_REPLY if request.startswith(f"GET {ENDPOINT.path} ".encode()) else NOT_FOUND

    found = run_probe(HttpProbe([ENDPOINT]), PORT, device)
    (sent,) = [r for r in requests if r.startswith(f"GET {ENDPOINT.path} ".encode())]
    lines = sent.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert f"Referer: http://{SERVER}:{PORT}/index.html".encode() in lines, lines
    assert not any(line.lower().startswith((b"cookie:", b"authorization:")) for line in lines)
    # the other requests carry no Referer
    assert all(b"Referer:" not in r for r in requests if r is not sent)
    assert ("http", PORT, "zte.goform.firmware", "BD_MEOPTMF266V1.0.0B06") in keys(found)
    assert ("http", PORT, "http.endpoint", f"GET {ENDPOINT.path} -> 200") in keys(found)


def test_the_probe_and_a_capture_read_the_reply_alike(
    run_probe: RunProbe, converse: Converse
) -> None:
    def device(request: bytes) -> bytes:
        return MF266_REPLY if request.startswith(f"GET {ENDPOINT.path} ".encode()) else NOT_FOUND

    active = run_probe(HttpProbe([ENDPOINT]), PORT, device)
    request = http1.build_request(
        "GET", ENDPOINT.path, SERVER, [("Referer", f"http://{SERVER}:{PORT}/index.html")]
    )
    passive = converse(PORT, request, MF266_REPLY, {ENDPOINT.path: ENDPOINT})
    # the probe's endpoint answer names its control after the endpoint's id (a capture's
    # gets it in the host table)
    from_endpoint = [o for o in active if o.detail.split("; ")[0] in (ENDPOINT.path, ENDPOINT.id)]
    assert distinct(from_endpoint) == distinct(passive[SERVER])


def test_a_captured_web_ui_query_is_read_too(converse: Converse) -> None:
    # the browser's own request: its cache-buster makes the path no endpoint's
    path = (
        "/goform/goform_get_cmd_process?isTest=false"
        "&cmd=Language%2Ccr_version%2Cwa_inner_version&multi_data=1&_=1660960608154"
    )
    passive = converse(PORT, http1.build_request("GET", path, SERVER), MF266_REPLY)
    assert ("http", PORT, "zte.goform.firmware", "BD_MEOPTMF266V1.0.0B06") in keys(passive[SERVER])
