"""HTTP/1.x responder: answers from a personality's route table, byte for byte.

``service.options`` (checked by :class:`HttpOptions`)::

    version: HTTP/1.1                 # status-line version unless a route sets its own
    routes:
      - method: GET                   # default GET; "*" = any; GET routes also answer HEAD
        path: /doc/page/login.asp     # exact (query included or ignored), or prefix with "*"
        status: 200
        reason: OK                    # default: the standard phrase
        headers: [[Server, App-webs/], [Content-Length, "{content_length}"]]
        body: "<html>…"               # or body_b64 (sent raw, no templates)
    default: {status: 404, headers: [...], body: ...}   # for unmatched requests
    favicon_b64: ...                  # served at /favicon.ico when no route matches
    onvif: {device_info_unauthenticated: false, fault_status: 400, ...}
    digest:                           # routes that need HTTP Digest (RFC 7616, MD5, qop=auth)
      realm: "IP Camera(C1234)"
      users: {admin: "lab-only-password"}   # lab test accounts; never real credentials
      routes: [...]                   # like ``routes``; answered only with valid credentials
      challenge: {status: 401, ...}   # reply without (valid) credentials; a fresh Digest
                                      # challenge header is appended
      lockout_after: 3                # failed logins after which ``locked`` is answered
      locked: {status: 401, body: "...<lockStatus>lock</lockStatus>..."}

Headers are sent exactly as written, in order and case (Dahua's upper-case names, no
``Server``); nothing is added, so a route without a length header is delimited by the close,
as many embedded servers do. ``{serial}``, ``{mac}``, ``{mac_plain}``, ``{model}``,
``{firmware}``, ``{manufacturer}``, ``{brand}``, ``{date}`` (RFC 1123), ``{nonce}`` (fresh
hex), ``{random}``, ``{session}``, ``{address}``, ``{port}`` and ``{content_length}`` are
replaced in header values and text bodies; other braces are left alone.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import http
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from provscan.errors import ProtocolError
from provscan.lab.spec import DeviceSpec, Identity, ServiceSpec
from provscan.wire.digest import (
    DigestChallenge,
    digest_response,
    parse_digest_authorization,
    verify_username_token,
)

#: Caps on what a lab device reads from a client.
HEAD_CAP = 16 * 1024
BODY_CAP = 64 * 1024
READ_TIMEOUT_S = 10.0

ONVIF_DEVICE_PATH = "/onvif/device_service"
NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS_TDS = "http://www.onvif.org/ver10/device/wsdl"
NS_TT = "http://www.onvif.org/ver10/schema"
NS_TER = "http://www.onvif.org/ver10/error"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reply(_Strict):
    status: int = Field(default=200, ge=100, le=999)
    reason: str | None = None
    version: str | None = None
    headers: list[tuple[str, str]] = Field(default_factory=list)
    body: str | None = None
    body_b64: str | None = None

    @model_validator(mode="after")
    def _one_body(self) -> Reply:
        if self.body is not None and self.body_b64 is not None:
            raise ValueError("give body or body_b64, not both")
        if self.body_b64 is not None:
            try:
                base64.b64decode(self.body_b64, validate=True)
            except binascii.Error as exc:
                raise ValueError(f"body_b64 is not base64: {exc}") from exc
        return self


class Route(Reply):
    method: str = "GET"
    path: str

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") and value != "*":
            raise ValueError(f"route path must start with '/': {value!r}")
        return value

    def matches(self, method: str, target: str) -> bool:
        wanted = self.method.upper()
        if wanted != "*" and wanted != method and not (wanted == "GET" and method == "HEAD"):
            return False
        path_only = target.split("?", 1)[0]
        if self.path.endswith("*"):
            return target.startswith(self.path[:-1])
        return self.path in (target, path_only)


class OnvifOptions(_Strict):
    """The ONVIF device service on this HTTP port."""

    device_info_unauthenticated: bool = False
    #: HTTP status of a refused call (devices use 400 or 401).
    fault_status: int = 400
    #: Extra headers on a refused call, e.g. a Digest challenge.
    fault_headers: list[tuple[str, str]] = Field(default_factory=list)
    #: Headers of every ONVIF reply; default a plain SOAP 1.2 header set.
    headers: list[tuple[str, str]] | None = None
    #: Overrides of what GetDeviceInformation reports (default: from identity; OEM
    #: devices report their label brand as Manufacturer).
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    hardware_id: str | None = None
    #: Lab test accounts accepted in a WS-Security UsernameToken (PasswordDigest).
    users: dict[str, str] = Field(default_factory=dict)


class DigestOptions(_Strict):
    """Digest-protected routes: the lab's model of a device's authenticated API."""

    realm: str
    #: Lab test accounts (user -> password). Never real credentials.
    users: dict[str, str] = Field(min_length=1)
    routes: list[Route] = Field(min_length=1)
    challenge: Reply = Field(
        default_factory=lambda: Reply(
            status=401,
            headers=[("Content-Length", "{content_length}"), ("Connection", "close")],
            body="",
        )
    )
    #: Offer qop="auth" (RFC 7616); False = an RFC 2069 challenge without qop.
    qop: bool = True
    #: Failed logins after which every protected route answers ``locked``.
    lockout_after: int | None = Field(default=None, ge=1)
    locked: Reply | None = None
    #: Also accept Basic credentials (old firmware).
    accept_basic: bool = False


class HttpOptions(_Strict):
    version: str = "HTTP/1.1"
    routes: list[Route] = Field(default_factory=list)
    default: Reply | None = None
    favicon_b64: str | None = None
    onvif: OnvifOptions | None = None
    digest: DigestOptions | None = None


def validate_options(options: Mapping[str, Any]) -> HttpOptions:
    """Parse ``service.options`` for this responder (raises pydantic.ValidationError)."""
    return HttpOptions.model_validate(dict(options))


# --- templates -------------------------------------------------------------------------

_TEMPLATE = re.compile(r"\{([a-z_]+)\}")


def _mac_plain(mac: str | None) -> str:
    return re.sub(r"[^0-9A-Fa-f]", "", mac or "").upper()


def template_values(device: DeviceSpec, service: ServiceSpec) -> dict[str, str]:
    """Values for ``{name}`` placeholders; fresh nonces per call."""
    identity: Identity = device.identity
    return {
        "serial": identity.serial or "",
        "mac": identity.mac or "",
        "mac_plain": _mac_plain(identity.mac),
        "model": identity.model or "",
        "firmware": identity.firmware or "",
        "manufacturer": identity.manufacturer or "",
        "brand": identity.brand or identity.manufacturer or "",
        "date": email.utils.formatdate(usegmt=True),
        "nonce": secrets.token_hex(16),
        "random": str(secrets.randbelow(2**31)),
        "session": str(secrets.randbelow(2**31)),
        "address": device.address,
        "port": str(service.port),
    }


def render(text: str, values: Mapping[str, str]) -> str:
    """Replace known ``{name}`` placeholders; leave every other brace (JSON, JS) alone."""
    return _TEMPLATE.sub(lambda match: values.get(match.group(1), match.group(0)), text)


# --- requests --------------------------------------------------------------------------


class Request:
    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one request with capped head and body; None if it is not HTTP."""
    buffer = b""
    async with asyncio.timeout(READ_TIMEOUT_S):
        while b"\r\n\r\n" not in buffer and b"\n\n" not in buffer and len(buffer) < HEAD_CAP:
            chunk = await reader.read(4096)
            if not chunk:
                break
            buffer += chunk
    separator = b"\r\n\r\n" if b"\r\n\r\n" in buffer else b"\n\n"
    head, _, rest = buffer.partition(separator)
    lines = head.decode("latin-1").splitlines()
    if not lines:
        return None
    parts = lines[0].split()
    if len(parts) < 2 or not parts[0].isalpha():
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    body = rest[:BODY_CAP]
    try:
        wanted = min(max(int(headers.get("content-length", "0")), 0), BODY_CAP)
    except ValueError:
        wanted = 0
    if len(body) < wanted:
        async with asyncio.timeout(READ_TIMEOUT_S):
            while len(body) < wanted:
                chunk = await reader.read(wanted - len(body))
                if not chunk:
                    break
                body += chunk
    return Request(parts[0].upper(), parts[1], headers, body)


# --- responses -------------------------------------------------------------------------


def _reason(status: int, reason: str | None) -> str:
    if reason is not None:
        return reason
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def build_response(
    reply: Reply,
    values: Mapping[str, str],
    default_version: str,
    *,
    include_body: bool = True,
    body_override: bytes | None = None,
) -> bytes:
    """Serialize a reply: status line, the headers as written, blank line, body."""
    if body_override is not None:
        body = body_override
    elif reply.body_b64 is not None:
        body = base64.b64decode(reply.body_b64)
    else:
        body = render(reply.body or "", values).encode("utf-8")
    values = {**values, "content_length": str(len(body))}
    version = reply.version or default_version
    lines = [f"{version} {reply.status} {_reason(reply.status, reply.reason)}"]
    lines += [f"{name}: {render(value, values)}" for name, value in reply.headers]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
    return head + body if include_body else head


_NOT_FOUND = Reply(
    status=404,
    headers=[
        ("Content-Type", "text/html"),
        ("Content-Length", "{content_length}"),
        ("Connection", "close"),
    ],
    body="<html><body><h1>404 Not Found</h1></body></html>",
)
_BAD_REQUEST = Reply(
    status=400, headers=[("Content-Length", "0"), ("Connection", "close")], body=""
)
_FAVICON_HEADERS = [
    ("Content-Type", "image/x-icon"),
    ("Content-Length", "{content_length}"),
    ("Connection", "close"),
]


def choose_reply(options: HttpOptions, request: Request) -> Reply:
    for route in options.routes:
        if route.matches(request.method, request.target):
            return route
    if options.favicon_b64 and request.path == "/favicon.ico" and request.method in ("GET", "HEAD"):
        return Reply(status=200, headers=_FAVICON_HEADERS, body_b64=options.favicon_b64)
    return options.default or _NOT_FOUND


# --- ONVIF -----------------------------------------------------------------------------

_ONVIF_HEADERS = [
    ("Content-Type", "application/soap+xml; charset=utf-8"),
    ("Content-Length", "{content_length}"),
    ("Connection", "close"),
]


def _envelope(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<env:Envelope xmlns:env="{NS_SOAP12}" xmlns:tds="{NS_TDS}" xmlns:tt="{NS_TT}" '
        f'xmlns:ter="{NS_TER}"><env:Body>{body}</env:Body></env:Envelope>'
    )


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def onvif_fault(subcode: str, reason: str, code: str = "env:Sender") -> str:
    return _envelope(
        f"<env:Fault><env:Code><env:Value>{code}</env:Value><env:Subcode>"
        f"<env:Value>{subcode}</env:Value></env:Subcode></env:Code><env:Reason>"
        f'<env:Text xml:lang="en">{_xml_text(reason)}</env:Text></env:Reason></env:Fault>'
    )


def onvif_system_date_and_time(now: datetime) -> str:
    return _envelope(
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
        "<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime>"
        f"<tt:Date><tt:Year>{now.year}</tt:Year><tt:Month>{now.month}</tt:Month>"
        f"<tt:Day>{now.day}</tt:Day></tt:Date><tt:Time><tt:Hour>{now.hour}</tt:Hour>"
        f"<tt:Minute>{now.minute}</tt:Minute><tt:Second>{now.second}</tt:Second></tt:Time>"
        "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def onvif_device_information(device: DeviceSpec, onvif: OnvifOptions) -> str:
    identity = device.identity
    fields = [
        ("Manufacturer", onvif.manufacturer or identity.brand or identity.manufacturer or ""),
        ("Model", onvif.model or identity.model or ""),
        ("FirmwareVersion", onvif.firmware or identity.firmware or ""),
        ("SerialNumber", onvif.serial or identity.serial or ""),
        ("HardwareId", onvif.hardware_id or identity.model or ""),
    ]
    inner = "".join(f"<tds:{name}>{_xml_text(value)}</tds:{name}>" for name, value in fields)
    return _envelope(
        f"<tds:GetDeviceInformationResponse>{inner}</tds:GetDeviceInformationResponse>"
    )


def soap_action(body: bytes) -> str | None:
    """Local name of the first element inside the SOAP Body, or None if unreadable."""
    try:
        root: Element = SafeET.fromstring(body)
    except (SafeET.ParseError, DefusedXmlException, ValueError):
        return None
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "Body":
            for child in element:
                return child.tag.rsplit("}", 1)[-1]
    return None


def onvif_reply(device: DeviceSpec, onvif: OnvifOptions, request: Request) -> tuple[Reply, bytes]:
    action = soap_action(request.body)
    headers = onvif.headers if onvif.headers is not None else _ONVIF_HEADERS
    if action == "GetSystemDateAndTime":
        return Reply(status=200, headers=headers), onvif_system_date_and_time(
            datetime.now(UTC)
        ).encode()
    if action == "GetDeviceInformation" and (
        onvif.device_info_unauthenticated or valid_username_token(onvif.users, request.body)
    ):
        return Reply(status=200, headers=headers), onvif_device_information(device, onvif).encode()
    if action is None:
        body = onvif_fault("ter:WellFormed", "XML Well-formed violation")
        return Reply(status=400, headers=headers), body.encode()
    body = onvif_fault("ter:NotAuthorized", "Sender not Authorized")
    return (
        Reply(status=onvif.fault_status, headers=[*headers, *onvif.fault_headers]),
        body.encode(),
    )


def valid_username_token(users: Mapping[str, str], body: bytes) -> bool:
    """True when the SOAP header carries a UsernameToken with a correct PasswordDigest."""
    if not users:
        return False
    try:
        root: Element = SafeET.fromstring(body)
    except (SafeET.ParseError, DefusedXmlException, ValueError):
        return False
    found: dict[str, str] = {}
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1]
        if local in ("Username", "Password", "Nonce", "Created") and element.text:
            found.setdefault(local, element.text.strip())
    password = users.get(found.get("Username", ""))
    if password is None or not {"Password", "Nonce", "Created"} <= set(found):
        return False
    return verify_username_token(password, found["Password"], found["Nonce"], found["Created"])


# --- Digest-protected routes -----------------------------------------------------------

#: Failed logins per (device id, port), for the lockout model. Reset with reset_lockouts().
_FAILED_LOGINS: dict[tuple[str, int], int] = {}


def reset_lockouts() -> None:
    """Forget every failed login (tests call this between lockout scenarios)."""
    _FAILED_LOGINS.clear()


def _credentials_valid(digest: DigestOptions, request: Request) -> bool:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic ") and digest.accept_basic:
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("latin-1")
        except (binascii.Error, ValueError):
            return False
        user, _, given = decoded.partition(":")
        return digest.users.get(user) == given
    params = parse_digest_authorization(header)
    password = digest.users.get(params.get("username", ""))
    if password is None or params.get("realm") != digest.realm:
        return False
    if params.get("uri") != request.target:
        return False
    qop = ("auth",) if params.get("qop") else ()
    challenge = DigestChallenge(
        realm=digest.realm,
        nonce=params.get("nonce", ""),
        qop=qop,
        algorithm=(params.get("algorithm") or "MD5").upper(),
    )
    try:
        expected = digest_response(
            challenge,
            method=request.method,
            uri=params["uri"],
            username=params["username"],
            password=password,
            cnonce=params.get("cnonce", ""),
            nonce_count=int(params.get("nc", "1"), 16),
        )
    except (ProtocolError, ValueError):
        return False
    return secrets.compare_digest(expected, params.get("response", ""))


def digest_reply(
    digest: DigestOptions, request: Request, device: DeviceSpec, service: ServiceSpec
) -> Reply | None:
    """The reply to a request for a protected route, or None when no protected route matches."""
    route = next((r for r in digest.routes if r.matches(request.method, request.target)), None)
    if route is None:
        return None
    key = (device.id, service.port)
    locked = digest.lockout_after is not None and _FAILED_LOGINS.get(key, 0) >= digest.lockout_after
    if locked and digest.locked is not None:
        return digest.locked
    if "authorization" in request.headers:
        if _credentials_valid(digest, request):
            return route
        _FAILED_LOGINS[key] = _FAILED_LOGINS.get(key, 0) + 1
        if (
            digest.lockout_after is not None
            and _FAILED_LOGINS[key] >= digest.lockout_after
            and digest.locked is not None
        ):
            return digest.locked
    qop = ' qop="auth",' if digest.qop else ""
    challenge = f'Digest{qop} realm="{digest.realm}", nonce="{{nonce}}", stale="FALSE"'
    return digest.challenge.model_copy(
        update={"headers": [*digest.challenge.headers, ("WWW-Authenticate", challenge)]}
    )


# --- the responder ---------------------------------------------------------------------


async def respond(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    device: DeviceSpec,
    service: ServiceSpec,
) -> None:
    options = validate_options(service.options)
    values = template_values(device, service)
    request = await read_request(reader)
    if request is None:
        writer.write(build_response(_BAD_REQUEST, values, options.version))
    elif (
        options.onvif is not None and request.method == "POST" and request.path == ONVIF_DEVICE_PATH
    ):
        reply, body = onvif_reply(device, options.onvif, request)
        writer.write(build_response(reply, values, options.version, body_override=body))
    else:
        protected = (
            digest_reply(options.digest, request, device, service)
            if options.digest is not None
            else None
        )
        reply = protected or choose_reply(options, request)
        writer.write(
            build_response(reply, values, options.version, include_body=request.method != "HEAD")
        )
    await writer.drain()
