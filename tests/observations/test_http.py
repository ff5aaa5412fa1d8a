"""HTTP: a root page and vendor endpoints, the same observations from a probe and a capture."""

from __future__ import annotations

import pytest
from observed import CLIENT, SERVER, Converse, RunProbe, distinct, keys

from provscan.knowledge.schema import HttpEndpoint
from provscan.observations import http as observe
from provscan.probes.http import HttpProbe
from provscan.wire import dahua, http1

PORT = 80
ROOT = http1.build_response(
    401,
    "Unauthorized",
    [
        ("Server", "DNVRS-Webs"),
        ("WWW-Authenticate", 'Digest qop="auth", realm="IP Camera(C2183)", nonce="abc"'),
        ("Set-Cookie", "language=en; path=/"),
    ],
    b"<html><head><title> Login  Page </title></head></html>",
)
NOT_FOUND = http1.build_response(404, "Not Found", [("Server", "DNVRS-Webs")])
DEVICE_INFO = http1.build_response(
    200,
    "OK",
    [("Content-Type", "application/xml")],
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<DeviceInfo xmlns="http://www.hikvision.com/ver20/XMLSchema"><deviceName>IP CAMERA'
    b"</deviceName><model>DS-2CD2143G0-I</model><serialNumber>DS-2CD2143G0-I20200114AAWR"
    b"</serialNumber><macAddress>bc:ba:c2:44:55:66</macAddress><firmwareVersion>V5.5.800"
    b"</firmwareVersion><deviceType>IPCamera</deviceType></DeviceInfo>",
)
RPC2 = http1.build_response(
    200,
    "OK",
    [("Content-Type", "application/json")],
    dahua.build_login_challenge_reply(
        realm="Login to 4M0747EPAA1D284", mac="3c:ef:8c:61:01:c0", random="1234", session=7
    )[dahua.HEADER_BYTES :],
)
# The E3372 reply quoted by a public HiLink client (http_endpoints.yaml sources).
HILINK_BASIC_INFORMATION = http1.build_response(
    200,
    "OK",
    [("Content-Type", "text/xml")],
    b'<?xml version="1.0" encoding="UTF-8"?>\r\n<response>\r\n'
    b"<productfamily>LTE</productfamily>\r\n<classify>hilink</classify>\r\n"
    b"<multimode>0</multimode>\r\n<restore_default_status>1</restore_default_status>\r\n"
    b"<sim_save_pin_enable>0</sim_save_pin_enable>\r\n<devicename>E3372</devicename>\r\n"
    b"</response>\r\n",
)
HILINK_ENDPOINT = HttpEndpoint(
    id="huawei-hilink-basic-information",
    method="GET",
    path="/api/device/basic_information",
    extractor="hilink_xml",
    purpose="test",
    sources=["test"],
)
ISAPI_ENDPOINT = HttpEndpoint(
    id="hikvision.isapi.device_info",
    method="GET",
    path="/ISAPI/System/deviceInfo",
    extractor="isapi_xml",
    purpose="test",
    sources=["test"],
)
RPC2_ENDPOINT = HttpEndpoint(
    id="dahua.rpc2.login_challenge",
    method="POST",
    path="/RPC2_Login",
    body='{"method":"global.login"}',
    content_type="application/json",
    extractor="dahua_rpc2",
    purpose="test",
    sources=["test"],
)


def test_a_response_maps_status_headers_title_and_body() -> None:
    response = http1.parse_response(ROOT)
    found = observe.response_observations(response, PORT, "/")
    assert keys(found) == [
        ("http", PORT, "http.status_line", "HTTP/1.1 401 Unauthorized"),
        ("http", PORT, "http.header_names", "Server,WWW-Authenticate,Set-Cookie,Content-Length"),
        (
            "http",
            PORT,
            "http.head",
            "HTTP/1.1 401 Unauthorized\r\nServer: DNVRS-Webs\r\n"
            'WWW-Authenticate: Digest qop="auth", realm="IP Camera(C2183)", nonce="abc"\r\n'
            "Set-Cookie: language=en; path=/\r\nContent-Length: "
            f"{len(response.body)}\r\n\r\n",
        ),
        ("http", PORT, "http.server", "DNVRS-Webs"),
        (
            "http",
            PORT,
            "http.www_authenticate",
            'Digest qop="auth", realm="IP Camera(C2183)", nonce="abc"',
        ),
        ("http", PORT, "http.realm", "IP Camera(C2183)"),
        ("http", PORT, "http.cookie", "language=en; path=/"),
        ("http", PORT, "http.title", "Login Page"),
        ("http", PORT, "http.body", response.body.decode("latin-1")),
    ]
    assert {o.detail for o in found} == {"/"}


def test_vendor_replies_map_isapi_and_rpc2_fields() -> None:
    isapi = observe.isapi_observations(http1.parse_response(DEVICE_INFO).body, PORT, "/ISAPI")
    assert keys(isapi) == [
        ("http", PORT, "isapi.namespace", "http://www.hikvision.com/ver20/XMLSchema"),
        ("http", PORT, "isapi.device_name", "IP CAMERA"),
        ("http", PORT, "isapi.model", "DS-2CD2143G0-I"),
        ("http", PORT, "isapi.serial", "DS-2CD2143G0-I20200114AAWR"),
        ("http", PORT, "isapi.mac", "bc:ba:c2:44:55:66"),
        ("http", PORT, "isapi.firmware", "V5.5.800"),
        ("http", PORT, "isapi.device_type", "IPCamera"),
    ]
    rpc2 = observe.rpc2_observations(http1.parse_response(RPC2).body, PORT, "/RPC2_Login")
    assert keys(rpc2) == [
        ("http", PORT, "dahua.rpc2.error", dahua.LOGIN_CHALLENGE_MESSAGE),
        ("http", PORT, "dahua.rpc2.realm", "Login to 4M0747EPAA1D284"),
        ("http", PORT, "dahua.rpc2.mac", "3c:ef:8c:61:01:c0"),
        ("http", PORT, "dahua.rpc2.encryption", "Default"),
    ]
    assert observe.isapi_observations(b"<not xml", PORT, "/") == []
    assert observe.rpc2_observations(b"[1, 2]", PORT, "/") == []


def test_a_hilink_reply_maps_class_family_and_model() -> None:
    body = http1.parse_response(HILINK_BASIC_INFORMATION).body
    found = observe.extractor_observations("hilink_xml", body, PORT, HILINK_ENDPOINT.path)
    assert keys(found) == [
        ("http", PORT, "hilink.product_family", "LTE"),
        ("http", PORT, "hilink.classify", "hilink"),
        ("http", PORT, "hilink.device_name", "E3372"),
    ]


def test_a_newer_hilink_reply_adds_its_marketing_name_and_nothing_else() -> None:
    # an H122-373's reply (Salamek/huawei-lte-api issue #105): spreadname_en is kept,
    # spreadname_zh and the flags are not read
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\r\n<response>\r\n'
        "<productfamily>LTE</productfamily>\r\n<classify>cpe</classify>\r\n"
        "<multimode>0</multimode>\r\n<devicename>H122-373</devicename>\r\n"
        "<spreadname_en>HUAWEI 5G CPE Pro 2</spreadname_en>\r\n"
        "<spreadname_zh>华为 5G CPE Pro 2</spreadname_zh>\r\n</response>\r\n"
    ).encode()
    found = observe.hilink_observations(body, PORT, HILINK_ENDPOINT.path)
    assert keys(found) == [
        ("http", PORT, "hilink.product_family", "LTE"),
        ("http", PORT, "hilink.classify", "cpe"),
        ("http", PORT, "hilink.device_name", "H122-373"),
        ("http", PORT, "hilink.spread_name", "HUAWEI 5G CPE Pro 2"),
    ]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        # HiLink's own refusal on firmware that wants its session cookie first
        (
            b'<?xml version="1.0" encoding="UTF-8"?><error><code>125002</code><message></message>'
            b"</error>",
            "125002",
        ),
        (b"<error><code> 100003 </code><message>No rights</message></error>", "100003"),
        # a code that is not digits, or no code: nothing
        (b"<error><code>Unauthorized</code></error>", None),
        (b"<error><message>125002</message></error>", None),
        (b"<error><code>1234567890123</code></error>", None),
    ],
    ids=["session-error", "no-rights-spaced", "words", "no-code", "too-long"],
)
def test_a_hilink_refusal_keeps_only_its_code(body: bytes, code: str | None) -> None:
    found = observe.hilink_observations(body, PORT, HILINK_ENDPOINT.path)
    expected = [] if code is None else [("http", PORT, "hilink.error_code", code)]
    assert keys(found) == expected


@pytest.mark.parametrize(
    "body",
    [
        # another maker's XML that happens to use the same element names
        b"<DeviceInfo><classify>cpe</classify><devicename>Archer MR600</devicename></DeviceInfo>",
        # ZTE's LTE routers answer JSON from /goform/goform_get_cmd_process
        b'{"model_name":"MF79U","manufacturer_name":"ZTE"}',
        # MultiTech mPower's REST API answers a JSON error under /api/ without its cookie
        b'{"code": 401, "status": "error", "error": "Unauthorized"}',
        # an HTML 404 page
        b"<html><head><title>404 Not Found</title></head><body>Not Found</body></html>",
        b"",
    ],
    ids=["other-xml", "zte-json", "json-401", "html-404", "empty"],
)
def test_only_a_hilink_response_or_error_document_is_read(body: bytes) -> None:
    assert observe.hilink_observations(body, PORT, HILINK_ENDPOINT.path) == []


def test_a_favicon_is_hashed_only_when_it_is_an_icon() -> None:
    icon = http1.parse_response(http1.build_response(200, "OK", [], b"\x00\x00\x01\x00icon"))
    md5, murmur = observe.favicon_hashes(b"\x00\x00\x01\x00icon")
    assert keys(observe.favicon_observations(icon, PORT)) == [
        ("http", PORT, "http.favicon.md5", md5),
        ("http", PORT, "http.favicon.mmh3", murmur),
    ]
    page = http1.parse_response(http1.build_response(200, "OK", [], b"<html>"))
    assert observe.favicon_observations(page, PORT) == []
    assert observe.is_catch_all(200) and not observe.is_catch_all(404)


@pytest.mark.parametrize(
    ("answer", "answers", "control"),
    [
        # the canary's "no such page" first, whatever else answered
        (401, [(f"GET {observe.CANARY_PATH}", 404), ("GET /", 200)], 0),
        # a catch-all canary's page is a control for a 401, not for a page
        (401, [(f"GET {observe.CANARY_PATH}", 200), ("GET /favicon.ico", 404)], 0),
        (200, [(f"GET {observe.CANARY_PATH}", 200), ("GET /favicon.ico", 404)], 1),
        # without a canary: "no such page" before a page
        (401, [("GET /", 200), ("GET /favicon.ico", 404)], 1),
        # the same status, a redirect, a refusal or an error is no control
        (401, [(f"GET {observe.CANARY_PATH}", 401), ("GET /", 302), ("GET /x", 403)], None),
        (200, [(f"GET {observe.CANARY_PATH}", 200), ("GET /", 200), ("GET /x", 500)], None),
        (200, [], None),
    ],
    ids=["canary-404", "canary-page", "page-beside-page", "favicon", "none-401", "none-200", "-"],
)
def test_the_control_of_a_vendor_endpoint_answer(
    answer: int, answers: list[tuple[str, int]], control: int | None
) -> None:
    expected = None if control is None else answers[control]
    assert observe.control_for(answer, answers) == expected
    assert observe.is_control(404, 401) and observe.is_control(200, 401)
    assert not observe.is_control(401, 401) and not observe.is_control(302, 401)


def test_the_probe_and_a_capture_read_a_root_page_alike(
    run_probe: RunProbe, converse: Converse
) -> None:
    # Given a device whose root page is a 401 and which has no favicon
    def device(request: bytes) -> bytes:
        return ROOT if request.startswith(b"GET / ") else NOT_FOUND

    active = run_probe(HttpProbe(), PORT, device)
    passive = converse(PORT, b"GET / HTTP/1.1\r\nHost: 10.0.0.64\r\n\r\n", ROOT)
    # Then the probe's observations of "/" are those a capture of the same exchange gives
    assert distinct(o for o in active if o.detail == "/") == distinct(passive[SERVER])


@pytest.mark.parametrize(
    ("endpoint", "reply"),
    [
        (ISAPI_ENDPOINT, DEVICE_INFO),
        (RPC2_ENDPOINT, RPC2),
        (HILINK_ENDPOINT, HILINK_BASIC_INFORMATION),
    ],
    ids=["isapi", "rpc2", "hilink"],
)
def test_the_probe_and_a_capture_read_a_vendor_endpoint_alike(
    endpoint: HttpEndpoint, reply: bytes, run_probe: RunProbe, converse: Converse
) -> None:
    def device(request: bytes) -> bytes:
        return (
            reply
            if request.startswith(f"{endpoint.method} {endpoint.path} ".encode())
            else NOT_FOUND
        )

    active = run_probe(HttpProbe([endpoint]), PORT, device)
    request = http1.build_request(
        endpoint.method, endpoint.path, SERVER, (), endpoint.body.encode()
    )
    passive = converse(PORT, request, reply, {endpoint.path: endpoint})
    # the probe's endpoint answer names its control after the endpoint's id (a capture's
    # gets it in the host table, beside the capture's own control answers)
    from_endpoint = [o for o in active if o.detail.split("; ")[0] in (endpoint.path, endpoint.id)]
    assert [o.detail for o in from_endpoint if o.field == "http.endpoint"] == [
        f"{endpoint.id}; control GET {observe.CANARY_PATH} -> 404"
    ]
    assert distinct(from_endpoint) == distinct(passive[SERVER])


def test_request_headers_of_a_host_are_observed(converse: Converse) -> None:
    request = b"GET / HTTP/1.1\r\nHost: litedev.hik-connect.com\r\nUser-Agent: Hik/1.0\r\n\r\n"
    passive = converse(PORT, request, NOT_FOUND)
    client = [o for o in passive[CLIENT] if o.field.startswith("http.")]
    assert keys(client) == [
        ("http", PORT, "http.user_agent", "Hik/1.0"),
        ("http", PORT, "http.host", "litedev.hik-connect.com"),
    ]
