"""``http_endpoints.yaml``: the vendors' unauthenticated, read-only endpoints the HTTP probe asks."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from provscan.knowledge.base import Problems, StrictModel, check_sources, read_file

HTTP_ENDPOINTS_FILE = "http_endpoints.yaml"
#: Every vendor endpoint costs one request per host (decision 0025: nine since ZTE's goform
#: version query; measured cost in that record).
MAX_HTTP_ENDPOINTS = 9
#: Fragments of known exploit paths; an endpoint containing one is refused outright.
FORBIDDEN_ENDPOINT_FRAGMENTS = ("auth=", "/sdk/weblanguage")


class HttpEndpoint(StrictModel):
    """One unauthenticated, read-only vendor endpoint requested after ``/`` and ``/favicon.ico``."""

    id: str
    method: Literal["GET", "POST"]
    path: str
    body: str = ""
    content_type: str = ""
    #: A page of the device itself the request says it came from (``Referer:
    #: <scheme>://<host><referer>``), for firmware that answers only its own web UI's requests.
    #: A path on the same host, never another site; empty: no Referer.
    referer: str = ""
    #: Which parser turns the reply into observations.
    extractor: Literal["none", "isapi_xml", "dahua_rpc2", "hilink_xml", "zte_goform_json", "text"]
    purpose: str
    sources: list[str] = Field(min_length=1)


class HttpEndpointFile(StrictModel):
    endpoints: list[HttpEndpoint]


def read_http_endpoints(data_dir: Path, problems: Problems) -> HttpEndpointFile | None:
    """Load the optional ``http_endpoints.yaml``: few, safe, sourced endpoints."""
    if not (data_dir / HTTP_ENDPOINTS_FILE).exists():
        return None
    parsed = read_file(data_dir, HTTP_ENDPOINTS_FILE, HttpEndpointFile, problems, "endpoints")
    if parsed is None:
        return None
    document, endpoints = parsed.document, parsed.model.endpoints
    if len(document.data.get("endpoints") or ()) > MAX_HTTP_ENDPOINTS:
        problems.add(
            document,
            f"{len(document.data['endpoints'])} endpoints; at most {MAX_HTTP_ENDPOINTS} "
            "(each costs a request per host)",
            ("endpoints",),
            entry="",
        )
    seen: set[str] = set()
    for index, endpoint in parsed.indexed(endpoints):
        at = ("endpoints", index)
        if endpoint.id in seen:
            problems.add(document, f"duplicate endpoint id {endpoint.id!r}", at)
        seen.add(endpoint.id)
        if not endpoint.path.startswith("/"):
            problems.add(document, "path must start with '/'", at)
        lowered = endpoint.path.lower()
        for fragment in FORBIDDEN_ENDPOINT_FRAGMENTS:
            if fragment in lowered:
                problems.add(document, f"path contains exploit fragment {fragment!r}", at)
        if endpoint.referer and (
            not endpoint.referer.startswith("/") or endpoint.referer.startswith("//")
        ):
            problems.add(document, "referer must be a path on the device ('/index.html')", at)
        if endpoint.method == "GET" and endpoint.body:
            problems.add(document, "a GET endpoint must not have a body", at)
        if not endpoint.purpose.strip():
            problems.add(document, "purpose must not be blank", at)
        check_sources(problems, document, at, endpoint.sources)
    return parsed.model
