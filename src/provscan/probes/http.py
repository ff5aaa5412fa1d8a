"""HTTP(S) probe: root page, favicon and the vendors' own unauthenticated endpoints.

What it sends (non-intrusive): ``GET /``, one redirect followed on the same host,
``GET /favicon.ico``, and each request in ``knowledge/data/http_endpoints.yaml`` (reviewed
data: read-only pages and login *challenges*; never credentials, never exploit paths).
Each request uses its own connection with ``Connection: close``; every read is capped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from urllib.parse import urlsplit

from provscan.errors import ProtocolError
from provscan.knowledge.schema import HttpEndpoint
from provscan.model import Observation
from provscan.observations import http as observe
from provscan.probes._io import host_header
from provscan.probes.interface import Probe, ProbeContext, ProbeError, ProbeMalformed
from provscan.wire.http1 import HttpResponse, build_request, parse_response

#: Largest response read per request.
RESPONSE_CAP = 256 * 1024
USER_AGENT = "provscan/0.1 (+https://github.com/provscan/provscan)"


async def fetch(
    ctx: ProbeContext,
    method: str,
    path: str,
    *,
    tls: bool,
    authorization: str | None = None,
    body: bytes = b"",
    content_type: str = "",
    referer: str = "",
) -> HttpResponse:
    """One HTTP request on its own bounded connection (pure I/O, no retries).

    ``referer``: a path on the device itself, sent as ``Referer: <scheme>://<host><referer>``
    (what a browser on the device's own web UI sends; never another site).
    """
    host = host_header(ctx.address, ctx.port)
    headers: list[tuple[str, str]] = [
        ("User-Agent", USER_AGENT),
        ("Accept", "*/*"),
        ("Connection", "close"),
    ]
    if content_type:
        headers.append(("Content-Type", content_type))
    if referer.startswith("/") and not referer.startswith("//"):
        headers.append(("Referer", f"{'https' if tls else 'http'}://{host}{referer}"))
    if authorization is not None:
        headers.append(("Authorization", authorization))
    stream = await ctx.connect(tls=tls)
    try:
        await stream.write(build_request(method, path, host, headers, body))
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
        self,
        ctx: ProbeContext,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str = "",
        referer: str = "",
    ) -> HttpResponse:
        return await fetch(
            ctx,
            method,
            path,
            tls=self.tls,
            body=body,
            content_type=content_type,
            referer=referer,
        )

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        protocol = "https" if self.tls else "http"
        port = ctx.port
        root = await self._fetch(ctx, "GET", "/")
        observations = observe.response_observations(root, port, "/", protocol)
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
                    redirected = await self._fetch(ctx, "GET", path)
                    extend(observe.response_observations(redirected, port, path, protocol))

        with contextlib.suppress(ProbeError):
            icon = await self._fetch(ctx, "GET", "/favicon.ico")
            extend(observe.favicon_observations(icon, port, protocol))

        # A catch-all server answers every path alike; then an endpoint's status says
        # nothing about the vendor. One request for a path no device has tells us.
        catch_all_status: int | None = None
        if self.endpoints:
            try:
                canary = await self._fetch(ctx, "GET", observe.CANARY_PATH)
            except ProbeError:
                canary = None
            if canary is not None and observe.is_catch_all(canary.status):
                catch_all_status = canary.status
                extend(
                    [
                        observe.endpoint_observation(
                            "GET", observe.CANARY_PATH, canary.status, port, "canary", protocol
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
                    endpoint.referer,
                )
            except ProbeError:
                continue
            if response.status != catch_all_status:
                extend(
                    [
                        observe.endpoint_observation(
                            endpoint.method,
                            endpoint.path,
                            response.status,
                            port,
                            endpoint.id,
                            protocol,
                        )
                    ]
                )
            extend(
                [
                    o
                    for o in observe.response_observations(response, port, endpoint.path, protocol)
                    if o.field != "http.body" or endpoint.extractor == "text"
                ]
            )
            extend(
                observe.extractor_observations(
                    endpoint.extractor, response.body, port, endpoint.path
                )
            )
        return observations


class HttpsProbe(HttpProbe):
    name = "https"
    default_ports = frozenset({443, 8443})
    order = 11
    tls = True
