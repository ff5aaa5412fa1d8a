"""HTTP(S) probe: root page, favicon and the vendors' own unauthenticated endpoints.

What it sends (non-intrusive): ``GET /``, one redirect followed on the same host,
``GET /favicon.ico``, a path no device has (the canary), each request in
``knowledge/data/http_endpoints.yaml`` (reviewed data: read-only pages and login *challenges*;
never credentials, never exploit paths) and, when an endpoint under a directory generic
servers protect as a whole answers 401 or 403, that endpoint's ``directory_control`` (a path
no device has in the same directory), once per host and port.
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

        # Answers to paths no vendor endpoint names: the controls for the endpoints' answers.
        vendor_paths = {endpoint.path.split("?", 1)[0] for endpoint in self.endpoints}
        controls: list[tuple[str, int]] = []
        if "/" not in vendor_paths:
            controls.append(("GET /", root.status))

        with contextlib.suppress(ProbeError):
            icon = await self._fetch(ctx, "GET", "/favicon.ico")
            extend(observe.favicon_observations(icon, port, protocol))
            if "/favicon.ico" not in vendor_paths:
                controls.append(("GET /favicon.ico", icon.status))

        # A catch-all server answers every path alike; then an endpoint's status says
        # nothing about the vendor. One request for a path no device has tells us.
        if self.endpoints:
            with contextlib.suppress(ProbeError):
                canary = await self._fetch(ctx, "GET", observe.CANARY_PATH)
                controls.insert(0, (f"GET {observe.CANARY_PATH}", canary.status))
                if observe.is_catch_all(canary.status):
                    extend(
                        [
                            observe.endpoint_observation(
                                "GET", observe.CANARY_PATH, canary.status, port, "canary", protocol
                            )
                        ]
                    )

        directory_answers: dict[str, int | None] = {}
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
            answer = await self._endpoint_answer(
                ctx, endpoint, response.status, controls, directory_answers
            )
            if answer is not None:
                extend([answer])
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

    async def _endpoint_answer(
        self,
        ctx: ProbeContext,
        endpoint: HttpEndpoint,
        status: int,
        controls: Sequence[tuple[str, int]],
        directory_answers: dict[str, int | None],
    ) -> Observation | None:
        """The ``http.endpoint`` observation of a vendor endpoint's answer ``status``, or None.

        Beside a root control (:func:`_endpoint_detail`), a 401 or 403 under a directory that
        generic servers protect as a whole (the endpoint's ``directory_control``) is held to
        that control too, asked once per host and port (``directory_answers``: path -> status,
        None when unanswered): answered otherwise, the answer stands and its detail names the
        control; answered alike or not at all, the value says so (:data:`WHOLE_DIRECTORY
        <provscan.observations.http.WHOLE_DIRECTORY>`), and only rules for a value several
        makers share match it.
        """
        protocol = "https" if self.tls else "http"
        detail = _endpoint_detail(endpoint.id, status, controls)
        if detail is None:
            return None
        whole_directory = False
        directory = endpoint.directory_control
        if directory and status in observe.DIRECTORY_PROTECTED_STATUSES:
            if directory not in directory_answers:
                try:
                    directory_answers[directory] = (await self._fetch(ctx, "GET", directory)).status
                except ProbeError:
                    directory_answers[directory] = None
            directory_status = directory_answers[directory]
            whole_directory = directory_status is None or not observe.is_control(
                directory_status, status
            )
            detail = f"{detail}; {_directory_detail(directory, directory_status)}"
        return observe.endpoint_observation(
            endpoint.method,
            endpoint.path,
            status,
            ctx.port,
            detail,
            protocol,
            whole_directory=whole_directory,
        )


def _directory_detail(path: str, status: int | None) -> str:
    """What an endpoint answer's detail says of its directory control ``GET path``."""
    if status is None:
        return f"directory control GET {path} unanswered"
    return f"directory {observe.control_detail(f'GET {path}', status)}"


def _endpoint_detail(
    endpoint_id: str, status: int, controls: Sequence[tuple[str, int]]
) -> str | None:
    """The detail of a vendor endpoint's ``http.endpoint`` answer, or None to leave it out.

    A "no such page" answer claims nothing and stands alone. Any other says the vendor's page
    exists only beside a control (:func:`~provscan.observations.http.control_for`): the same
    server answered a path no vendor endpoint names (the canary, ``/``, ``/favicon.ico``)
    with "no such page" or a page, and not as it answered the vendor's. The detail names
    that control; without one (a server that answers 401, or the same page, to every path)
    the answer is left out, as passive analysis leaves out a vendor path's 401 without one.
    """
    if status in observe.NOT_FOUND_STATUSES:
        return endpoint_id
    control = observe.control_for(status, controls)
    if control is None:
        return None
    return f"{endpoint_id}; {observe.control_detail(*control)}"


class HttpsProbe(HttpProbe):
    name = "https"
    default_ports = frozenset({443, 8443})
    order = 11
    tls = True
