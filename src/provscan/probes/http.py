"""HTTP(S) probe: root page, favicon and the vendors' own unauthenticated endpoints.

What it sends (non-intrusive): ``GET /``, one redirect followed on the same host,
``GET /favicon.ico``, and each request in ``knowledge/data/http_endpoints.yaml`` (reviewed
data: read-only pages and login *challenges*; never credentials, never exploit paths).
Each request uses its own connection with ``Connection: close``; every read is capped.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

import mmh3
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from provscan.errors import ProtocolError
from provscan.knowledge.schema import HttpEndpoint
from provscan.model import Observation
from provscan.probes._io import host_header
from provscan.probes.interface import Probe, ProbeContext, ProbeError, ProbeMalformed
from provscan.wire.http1 import HttpResponse, build_request, parse_response

#: Bytes of a body kept for markers and titles.
BODY_KEEP = 64 * 1024
#: Largest response read per request.
RESPONSE_CAP = 256 * 1024
#: A path no device serves: when it answers like a vendor endpoint, endpoints prove nothing.
CANARY_PATH = "/provscan-canary-0f3a9c"
USER_AGENT = "provscan/0.1 (+https://github.com/provscan/provscan)"
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_REALM = re.compile(r'realm\s*=\s*"([^"]*)"|realm\s*=\s*([^\s,]+)', re.IGNORECASE)
_ISAPI_FIELDS = {
    "model": "isapi.model",
    "firmwareVersion": "isapi.firmware",
    "serialNumber": "isapi.serial",
    "macAddress": "isapi.mac",
    "deviceType": "isapi.device_type",
    "deviceName": "isapi.device_name",
}


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


def response_observations(
    response: HttpResponse, port: int, path: str, protocol: str = "http"
) -> list[Observation]:
    """Observations from one HTTP response (pure)."""
    out: list[Observation] = []

    def add(field: str, value: str) -> None:
        value = value.strip()
        if value:
            out.append(Observation(protocol, port, field, value, detail=path))

    add("http.status_line", f"{response.version} {response.status} {response.reason}".strip())
    add("http.header_names", ",".join(name for name, _ in response.headers))
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
    title = html_title(response.body)
    if title:
        add("http.title", title)
    if response.body:
        add("http.body", response.body[:BODY_KEEP].decode("latin-1"))
    return out


def isapi_observations(body: bytes, port: int, path: str) -> list[Observation]:
    """Fields of an ISAPI XML reply (e.g. ``<DeviceInfo>``, ``<userCheck>``)."""
    try:
        root = SafeET.fromstring(body[:BODY_KEEP])
    except (SafeET.ParseError, DefusedXmlException, ValueError):
        return []
    out = []
    if root.tag.startswith("{"):
        namespace = root.tag[1:].split("}", 1)[0]
        out.append(Observation("http", port, "isapi.namespace", namespace, detail=path))
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1]
        field = _ISAPI_FIELDS.get(local)
        if field and element.text and element.text.strip():
            out.append(Observation("http", port, field, element.text.strip()[:200], detail=path))
    return out


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
        out.append(
            Observation("http", port, "dahua.rpc2.error", error["message"][:200], detail=path)
        )
    params = document.get("params")
    if isinstance(params, dict):
        for key, field in (
            ("realm", "dahua.rpc2.realm"),
            ("mac", "dahua.rpc2.mac"),
            ("encryption", "dahua.rpc2.encryption"),
        ):
            value = params.get(key)
            if isinstance(value, str) and value:
                out.append(Observation("http", port, field, value[:200], detail=path))
    return out


async def fetch(
    ctx: ProbeContext,
    method: str,
    path: str,
    *,
    tls: bool,
    authorization: str | None = None,
    body: bytes = b"",
    content_type: str = "",
) -> HttpResponse:
    """One HTTP request on its own bounded connection (pure I/O, no retries)."""
    headers: list[tuple[str, str]] = [
        ("User-Agent", USER_AGENT),
        ("Accept", "*/*"),
        ("Connection", "close"),
    ]
    if content_type:
        headers.append(("Content-Type", content_type))
    if authorization is not None:
        headers.append(("Authorization", authorization))
    stream = await ctx.connect(tls=tls)
    try:
        await stream.write(
            build_request(method, path, host_header(ctx.address, ctx.port), headers, body)
        )
        raw = await stream.read_to_eof(limit=RESPONSE_CAP)
    finally:
        await stream.close()
    if not raw:
        raise ProbeMalformed("empty reply to an HTTP request")
    try:
        return parse_response(raw)
    except ProtocolError as exc:
        raise ProbeMalformed(f"not HTTP: {exc}") from exc


class HttpProbe(Probe):
    name = "http"
    default_ports = frozenset({80, 81, 88, 8000, 8080, 8081, 8899, 9000})
    order = 10
    tls = False

    def __init__(self, endpoints: Sequence[HttpEndpoint] = ()) -> None:
        self.endpoints = tuple(endpoints)

    async def _fetch(
        self, ctx: ProbeContext, method: str, path: str, body: bytes = b"", content_type: str = ""
    ) -> HttpResponse:
        return await fetch(ctx, method, path, tls=self.tls, body=body, content_type=content_type)

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        protocol = "https" if self.tls else "http"
        root = await self._fetch(ctx, "GET", "/")
        observations = response_observations(root, ctx.port, "/", protocol)
        seen = {(o.field, o.value) for o in observations}

        def extend(new: list[Observation]) -> None:
            for observation in new:
                if (
                    observation.field == "http.body"
                    or (observation.field, observation.value) not in seen
                ):
                    seen.add((observation.field, observation.value))
                    observations.append(observation)

        location = next((v for n, v in root.headers if n.lower() == "location"), None)
        if root.status in (301, 302, 303, 307, 308) and location:
            target = urlsplit(location)
            if not target.netloc or target.hostname == ctx.address:
                path = (target.path or "/") + (f"?{target.query}" if target.query else "")
                with contextlib.suppress(ProbeError):
                    extend(
                        response_observations(
                            await self._fetch(ctx, "GET", path), ctx.port, path, protocol
                        )
                    )

        try:
            icon = await self._fetch(ctx, "GET", "/favicon.ico")
            if icon.status == 200 and icon.body and icon.body.lstrip()[:1] != b"<":
                md5, murmur = favicon_hashes(icon.body)
                extend(
                    [
                        Observation(
                            protocol, ctx.port, "http.favicon.md5", md5, detail="/favicon.ico"
                        ),
                        Observation(
                            protocol, ctx.port, "http.favicon.mmh3", murmur, detail="/favicon.ico"
                        ),
                    ]
                )
        except ProbeError:
            pass

        # A catch-all server answers every path alike; then an endpoint's status says
        # nothing about the vendor. One request for a path no device has tells us.
        catch_all_status: int | None = None
        if self.endpoints:
            try:
                canary = await self._fetch(ctx, "GET", CANARY_PATH)
            except ProbeError:
                canary = None
            if canary is not None and canary.status not in (400, 404, 410):
                catch_all_status = canary.status
                extend(
                    [
                        Observation(
                            protocol,
                            ctx.port,
                            "http.endpoint",
                            f"GET {CANARY_PATH} -> {canary.status}",
                            detail="canary",
                        )
                    ]
                )

        for endpoint in self.endpoints:
            try:
                response = await self._fetch(
                    ctx,
                    endpoint.method,
                    endpoint.path,
                    endpoint.body.encode(),
                    endpoint.content_type,
                )
            except ProbeError:
                continue
            if response.status != catch_all_status:
                status = f"{endpoint.method} {endpoint.path} -> {response.status}"
                extend(
                    [Observation(protocol, ctx.port, "http.endpoint", status, detail=endpoint.id)]
                )
            extend(
                [
                    o
                    for o in response_observations(response, ctx.port, endpoint.path, protocol)
                    if o.field != "http.body" or endpoint.extractor == "text"
                ]
            )
            if endpoint.extractor == "isapi_xml":
                extend(isapi_observations(response.body, ctx.port, endpoint.path))
            elif endpoint.extractor == "dahua_rpc2":
                extend(rpc2_observations(response.body, ctx.port, endpoint.path))
        return observations


class HttpsProbe(HttpProbe):
    name = "https"
    default_ports = frozenset({443, 8443})
    order = 11
    tls = True
