"""HTTP: responses, vendor endpoint replies (ISAPI XML, Dahua RPC2, HiLink XML, ZTE goform
JSON), favicons and the headers of a host's own requests -> observations."""

from __future__ import annotations

import base64
import codecs
import hashlib
import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence

import mmh3

from provscan.errors import ProtocolError
from provscan.model import Observation
from provscan.wire._headers import format_head
from provscan.wire.http1 import HttpResponse
from provscan.wire.onvif import parse_xml

#: Bytes of a body kept for markers and titles.
BODY_KEEP = 64 * 1024
#: Bytes of a favicon hashed.
FAVICON_KEEP = 4 * BODY_KEEP
#: Bytes of a credentialed ISAPI settings reply read.
SETTINGS_KEEP = 16 * 1024
#: A path no device serves: when it answers like a vendor endpoint, endpoints prove nothing.
CANARY_PATH = "/provscan-canary-0f3a9c"
#: The path whose reply head is kept whole (`http.head`).
ROOT_PATH = "/"
#: Statuses that say "no such page": a canary answered otherwise means a catch-all server.
NOT_FOUND_STATUSES = frozenset({400, 404, 410})
#: Answers to a path no vendor endpoint names that make it a control for a vendor endpoint's
#: answer (:func:`is_control`): the server is seen not to answer every path alike (a "no
#: such page" status, or a page). Passive analysis holds the same set (``passive.streams``).
CONTROL_STATUSES = NOT_FOUND_STATUSES | {200}
#: Which control an endpoint claim's detail names first, by status: "no such page" (what the
#: canary looks for), then "bad request", then a page (``passive.hosts`` ranks by it too).
CONTROL_RANK = {404: 0, 410: 0, 400: 1, 200: 2}
#: A vendor endpoint's answers that generic servers give a whole directory they protect
#: (lighttpd ``auth.require``, BusyBox httpd ``/cgi-bin:user:pass``): such an answer under a
#: directory with a ``directory_control`` (``http_endpoints.yaml``) names the vendor only when
#: that control, a path no device serves in the same directory, is answered otherwise.
DIRECTORY_PROTECTED_STATUSES = frozenset({401, 403})
#: Appended to an ``http.endpoint`` value whose directory control was answered alike (or not
#: at all): ``GET /cgi-bin/magicBox.cgi?action=getMachineName -> 401 (whole directory)``.
WHOLE_DIRECTORY = "(whole directory)"
#: Longest value kept from one element of a vendor reply, and from a request header.
MAX_VALUE_CHARS = 200
#: Byte-order marks and their encodings; UTF-32 before UTF-16 (whose LE mark it starts with).
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHARSET = re.compile(r'charset\s*=\s*["\']?([A-Za-z0-9._:-]{1,40})', re.IGNORECASE)
#: The charsets a body is decoded with when its Content-Type names one: those of web pages
#: (the WHATWG Encoding Standard's, as Python names them). Any other name is ignored: a
#: device must not pick a codec that is slow or fails on its bytes (punycode, idna, utf-7).
_WEB_CHARSETS = frozenset(
    codecs.lookup(name).name
    for name in (
        "utf-8",
        "utf-16-le",
        "utf-16-be",
        "latin-1",
        *(f"iso-8859-{part}" for part in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16)),
        *(f"cp{page}" for page in (866, 874, 1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258)),
        "koi8-r",
        "koi8-u",
        "mac-roman",
        "mac-cyrillic",
        "gbk",
        "gb2312",
        "gb18030",
        "big5",
        "euc-jp",
        "iso-2022-jp",
        "shift_jis",
        "euc-kr",
    )
)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_REALM = re.compile(r'realm\s*=\s*"([^"]*)"|realm\s*=\s*([^\s,]+)', re.IGNORECASE)
#: ISAPI element (local name) -> observation field.
ISAPI_FIELDS = {
    "model": "isapi.model",
    "firmwareVersion": "isapi.firmware",
    # The build of that firmware ("build 240821"); posture joins it to the version
    # (device_api.yaml firmware_build).
    "firmwareReleasedDate": "isapi.firmware_build",
    "serialNumber": "isapi.serial",
    "macAddress": "isapi.mac",
    "deviceType": "isapi.device_type",
    "deviceName": "isapi.device_name",
}
#: Huawei HiLink ``GET /api/device/basic_information`` element -> observation field, read from
#: a ``<response>`` document only. ``spreadname_en`` is the product's marketing name on newer
#: firmware ("HUAWEI 5G CPE Pro 2"); the device's other elements are not read.
HILINK_FIELDS = {
    "productfamily": "hilink.product_family",
    "classify": "hilink.classify",
    "devicename": "hilink.device_name",
    "spreadname_en": "hilink.spread_name",
}
#: The code of HiLink's refusal ``<error><code>125002</code><message></message></error>``
#: (firmware that wants its web UI's session cookie first): digits only, nothing else of it.
_HILINK_ERROR_CODE = re.compile(r"[0-9]{1,9}")
#: ZTE goform ``GET /goform/goform_get_cmd_process`` JSON key -> observation field. Only a
#: JSON object is read, only these keys, only string values (the firmware answers every key it
#: was asked, with ``""`` for what it withholds).
ZTE_GOFORM_FIELDS = (
    ("wa_inner_version", "zte.goform.firmware"),
    ("cr_version", "zte.goform.cr_version"),
)
#: C0 controls and DEL: some ZTE firmware writes them raw inside JSON strings.
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
#: RPC2 login-challenge ``params`` key -> observation field.
RPC2_FIELDS = (
    ("realm", "dahua.rpc2.realm"),
    ("mac", "dahua.rpc2.mac"),
    ("encryption", "dahua.rpc2.encryption"),
)
#: Request header -> observation field (a host's own requests, seen in captures).
REQUEST_FIELDS = (("User-Agent", "http.user_agent"), ("Host", "http.host"))


def realms(www_authenticate: str) -> list[str]:
    return [a or b for a, b in _REALM.findall(www_authenticate)]


def html_title(body: bytes) -> str | None:
    found = _TITLE.search(body[:BODY_KEEP])
    if not found:
        return None
    text = found.group(1).decode("utf-8", errors="replace")
    text = " ".join(html.unescape(text).split())
    return text or None


def favicon_hashes(data: bytes) -> tuple[str, str]:
    """(md5 hex, Shodan-style mmh3 of the base64 with newlines every 76 chars)."""
    return hashlib.md5(data).hexdigest(), str(mmh3.hash(base64.encodebytes(data)))


def is_catch_all(canary_status: int) -> bool:
    """True when the answer to :data:`CANARY_PATH` shows a server that answers every path."""
    return canary_status not in NOT_FOUND_STATUSES


def response_observations(
    response: HttpResponse, port: int, path: str, protocol: str = "http"
) -> list[Observation]:
    """Status line, header names, the head as text, Server, authentication, cookies,
    redirect, title, body."""
    out: list[Observation] = []

    def add(field: str, value: str) -> None:
        value = value.strip()
        if value:
            out.append(Observation(protocol, port, field, value, detail=path))

    add("http.status_line", f"{response.version} {response.status} {response.reason}".strip())
    add("http.header_names", ",".join(name for name, _ in response.headers))
    if path == ROOT_PATH:
        # the head of GET / as text (its line ends kept), for matchers that read a whole
        # reply (nmap's service probes ask for / only; other paths' heads are not kept)
        head = format_head(response.status_line, response.headers)
        out.append(Observation(protocol, port, "http.head", head, path))
    content_type: str | None = None  # the first one's (each name is lowercased once)
    for name, value in response.headers:
        lower = name.lower()
        if lower == "server":
            add("http.server", value)
        elif lower == "www-authenticate":
            add("http.www_authenticate", value)
            for realm in realms(value):
                add("http.realm", realm)
        elif lower == "set-cookie":
            add("http.cookie", value)
        elif lower == "location":
            add("http.location", value)
        elif lower == "content-type" and content_type is None:
            content_type = value
    title = html_title(response.body)
    if title:
        add("http.title", title)
    if response.body:
        add("http.body", decode_body(response.body[:BODY_KEEP], content_type))
    return out


def decode_body(body: bytes, content_type: str | None = None) -> str:
    """A body as text: a byte-order mark decides first (and is dropped), then the charset
    of ``Content-Type``, then UTF-8 when the bytes are UTF-8 (a last character cut by
    :data:`BODY_KEEP` is left out), else latin-1, which never fails.

    Decoded as latin-1 whatever it said, a UTF-8 page with a BOM began ``ï»¿<!DOCTYPE``
    and a ``^``-anchored body rule never matched it.
    """
    for mark, encoding in _BOMS:
        if body.startswith(mark):
            return body[len(mark) :].decode(encoding, errors="replace")
    charset = _web_charset(content_type)
    if charset:
        return body.decode(charset, errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and len(body) >= BODY_KEEP:
            return body[: exc.start].decode("utf-8")  # a character cut by BODY_KEEP
        return body.decode("latin-1")


def _web_charset(content_type: str | None) -> str | None:
    """The charset ``Content-Type`` names, when it is one of :data:`_WEB_CHARSETS`."""
    named = _CHARSET.search(content_type or "")
    if not named:
        return None
    try:
        codec = codecs.lookup(named.group(1)).name
    except LookupError:
        return None  # an unknown charset: the bytes are read as if none was named
    return codec if codec in _WEB_CHARSETS else None


def favicon_observations(
    response: HttpResponse, port: int, protocol: str = "http"
) -> list[Observation]:
    """The two hashes of ``/favicon.ico`` when the reply is an icon (not an HTML page)."""
    body = response.body
    if response.status != 200 or not body or body.lstrip()[:1] == b"<":
        return []
    md5, murmur = favicon_hashes(body[:FAVICON_KEEP])
    return [
        Observation(protocol, port, "http.favicon.md5", md5, detail="/favicon.ico"),
        Observation(protocol, port, "http.favicon.mmh3", murmur, detail="/favicon.ico"),
    ]


def endpoint_observation(
    method: str,
    path: str,
    status: int,
    port: int,
    detail: str,
    protocol: str = "http",
    *,
    whole_directory: bool = False,
) -> Observation:
    """``http.endpoint``: how a vendor endpoint (``detail``: its id) answered;
    ``whole_directory``: the answer may be its whole directory's (:data:`WHOLE_DIRECTORY`)."""
    value = f"{method} {path} -> {status}"
    if whole_directory:
        value = f"{value} {WHOLE_DIRECTORY}"
    return Observation(protocol, port, "http.endpoint", value, detail)


def control_detail(request: str, status: int) -> str:
    """What an ``http.endpoint`` claim's detail says of the control request that was made of
    the same server (``control GET /provscan-canary-0f3a9c -> 404``): the answer to a path
    no device has, which shows the server does not answer every path as it did the vendor's.
    """
    return f"control {request} -> {status}"


def is_control(control_status: int, answer_status: int) -> bool:
    """Whether the same server's answer ``control_status`` to a path no vendor endpoint names
    is a control for a vendor endpoint's answer ``answer_status``: a "no such page" status or
    a page (:data:`CONTROL_STATUSES`) that is not the vendor endpoint's own status. Without
    one the server may answer every path so, and the vendor path's answer names no maker:
    passive analysis holds a vendor path's 401/403 to this, the live probe every answer that
    says a vendor page exists."""
    return control_status in CONTROL_STATUSES and control_status != answer_status


def control_for(answer_status: int, answers: Sequence[tuple[str, int]]) -> tuple[str, int] | None:
    """The control (request, status) for a vendor endpoint's answer ``answer_status`` among
    the same server's ``answers`` to paths no vendor endpoint names (``GET /favicon.ico``,
    404): the canary's (:data:`CANARY_PATH`) first, then by status (404 before 400 before a
    page), then the first given; None when none is a control (:func:`is_control`)."""
    controls = [
        (not request.endswith(f" {CANARY_PATH}"), CONTROL_RANK[status], index)
        for index, (request, status) in enumerate(answers)
        if is_control(status, answer_status)
    ]
    if not controls:
        return None
    return answers[min(controls)[2]]


def _element_observations(
    root: ET.Element, fields: dict[str, str], port: int, path: str
) -> list[Observation]:
    """One observation per element whose local name ``fields`` maps, with its text."""
    out = []
    for element in root.iter():
        local = str(element.tag).rsplit("}", 1)[-1]
        field = fields.get(local)
        if field and element.text and element.text.strip():
            value = element.text.strip()[:MAX_VALUE_CHARS]
            out.append(Observation("http", port, field, value, detail=path))
    return out


def isapi_observations(body: bytes, port: int, path: str) -> list[Observation]:
    """Fields of an ISAPI XML reply (e.g. ``<DeviceInfo>``, ``<userCheck>``)."""
    try:
        root = parse_xml(body[:BODY_KEEP])
    except ProtocolError:
        return []
    out = []
    if root.tag.startswith("{"):
        namespace = root.tag[1:].split("}", 1)[0]
        out.append(Observation("http", port, "isapi.namespace", namespace, detail=path))
    return out + _element_observations(root, ISAPI_FIELDS, port, path)


def hilink_observations(body: bytes, port: int, path: str) -> list[Observation]:
    """Fields of a Huawei HiLink ``<response>`` (``/api/device/basic_information``), or the
    code of a HiLink ``<error>`` document (``hilink.error_code``): the refusal names no
    device, only which error scheme answered."""
    try:
        root = parse_xml(body[:BODY_KEEP])
    except ProtocolError:
        return []
    if root.tag == "error":
        code = root.find("code")
        text = (code.text or "").strip() if code is not None else ""
        if _HILINK_ERROR_CODE.fullmatch(text):
            return [Observation("http", port, "hilink.error_code", text, detail=path)]
        return []
    if root.tag != "response":
        return []
    return _element_observations(root, HILINK_FIELDS, port, path)


def ezviz_observations(body: bytes, port: int, path: str, protocol: str) -> list[Observation]:
    """``isapi.ezviz.enabled`` from an ISAPI ``<EZVIZ><enabled>`` document."""
    try:
        root = parse_xml(body[:SETTINGS_KEEP])
    except ProtocolError:
        return []
    for element in root.iter():
        if str(element.tag).rsplit("}", 1)[-1] == "enabled" and element.text:
            text = str(element.text).strip().lower()
            if text in ("true", "false"):
                return [Observation(protocol, port, "isapi.ezviz.enabled", text, path)]
    return []


def rpc2_observations(body: bytes, port: int, path: str) -> list[Observation]:
    """Fields of a Dahua RPC2 login challenge (JSON)."""
    try:
        document = json.loads(body[:BODY_KEEP].decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return []
    if not isinstance(document, dict):
        return []
    out = []
    error = document.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        message = error["message"][:MAX_VALUE_CHARS]
        out.append(Observation("http", port, "dahua.rpc2.error", message, detail=path))
    params = document.get("params")
    if isinstance(params, dict):
        for key, field in RPC2_FIELDS:
            value = params.get(key)
            if isinstance(value, str) and value:
                out.append(Observation("http", port, field, value[:MAX_VALUE_CHARS], detail=path))
    return out


def zte_goform_observations(body: bytes, port: int, path: str) -> list[Observation]:
    """Fields of a ZTE goform reply (``/goform/goform_get_cmd_process``, JSON object).

    Bounded and total: at most :data:`BODY_KEEP` bytes are parsed, anything that is not a
    JSON object gives nothing, values lose control characters and are cut to
    :data:`MAX_VALUE_CHARS`.
    """
    try:
        # strict=False: some ZTE firmware leaves control characters raw inside strings
        document = json.loads(body[:BODY_KEEP].decode("utf-8", errors="replace"), strict=False)
    except (ValueError, RecursionError):
        return []
    if not isinstance(document, dict):
        return []
    out = []
    for key, field in ZTE_GOFORM_FIELDS:
        value = document.get(key)
        if isinstance(value, str):
            text = _CONTROL_CHARS.sub(" ", value).strip()[:MAX_VALUE_CHARS].strip()
            if text:
                out.append(Observation("http", port, field, text, detail=path))
    return out


def extractor_observations(
    extractor: str | None, body: bytes, port: int, path: str
) -> list[Observation]:
    """A vendor endpoint's body read by its extractor (``http_endpoints.yaml``)."""
    read = _BODY_READERS.get(extractor or "")
    return read(body, port, path) if read is not None else []


#: The extractors that read a vendor endpoint's body (``http_endpoints.yaml`` ``extractor``).
_BODY_READERS: dict[str, Callable[[bytes, int, str], list[Observation]]] = {
    "isapi_xml": isapi_observations,
    "dahua_rpc2": rpc2_observations,
    "hilink_xml": hilink_observations,
    "zte_goform_json": zte_goform_observations,
}
BODY_EXTRACTORS = frozenset(_BODY_READERS)


def request_observations(
    headers: Sequence[tuple[str, str]],
    port: int,
    detail: str,
    first: Mapping[str, str] | None = None,
) -> list[Observation]:
    """``http.user_agent`` and ``http.host`` of a request a host sent (``port``: the server's).
    ``first``: the first value of each of ``headers`` by lowercased name, when the caller
    has it already (the stream analyser makes one per request)."""
    if first is None:
        first = {name.lower(): value for name, value in reversed(headers)}
    out = []
    for header, field in REQUEST_FIELDS:
        value = first.get(header.lower())
        if value:
            out.append(Observation("http", port, field, value[:MAX_VALUE_CHARS], detail))
    return out
