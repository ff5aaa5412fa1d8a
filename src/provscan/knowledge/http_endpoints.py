"""``http_endpoints.yaml``: the vendors' unauthenticated, read-only endpoints the HTTP probe asks,
and the path prefixes whose replies a capture reads with a vendor's body extractor."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import Field

from provscan.knowledge.base import Problems, StrictModel, YamlDocument, check_sources, read_file
from provscan.knowledge.vocabulary import Vendor, check_vendor_name

HTTP_ENDPOINTS_FILE = "http_endpoints.yaml"
#: Every vendor endpoint costs one request per host (decision 0025: nine since ZTE's goform
#: version query; measured cost in that record; decision 0026 measured and declined a tenth).
MAX_HTTP_ENDPOINTS = 9
#: Fragments of known exploit paths; an endpoint containing one is refused outright.
FORBIDDEN_ENDPOINT_FRAGMENTS = ("auth=", "/sdk/weblanguage")

#: The extractors that read a vendor's reply body into observations; the observation layer
#: has one reader for each (``provscan.observations.http.BODY_EXTRACTORS``, tested equal).
BodyExtractor = Literal["isapi_xml", "dahua_rpc2", "hilink_xml", "zte_goform_json"]
BODY_EXTRACTOR_NAMES: frozenset[str] = frozenset(get_args(BodyExtractor))


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
    extractor: Literal["none", "text", BodyExtractor]
    #: A path no device serves in the directory of ``path`` that generic servers protect as
    #: a whole (``/cgi-bin/``): asked once per host and port when the endpoint answers 401 or
    #: 403; only an answer of another kind lets that answer name the vendor. Empty: the
    #: directory is the vendor's own (``/ISAPI/``) and the root controls suffice.
    directory_control: str = ""
    purpose: str
    sources: list[str] = Field(min_length=1)


class PrefixSpecificity(StrictModel):
    """Which makers' devices serve paths under a prefix (vocabulary names), and what else does."""

    used_by: list[str] = Field(min_length=1)
    note: str


class PassivePathPrefix(StrictModel):
    """A path prefix whose replies, seen in a capture, are read by a vendor's body extractor
    (a request to a path no endpoint names, e.g. what a browser or a VMS asked)."""

    prefix: str
    #: A name of :data:`BODY_EXTRACTOR_NAMES` (checked by the loader, which says which).
    extractor: str
    specificity: PrefixSpecificity
    #: Other servers that answer under the prefix, and why the extractor does not mistake them.
    lookalikes: list[str] = Field(default_factory=list)
    purpose: str
    sources: list[str] = Field(min_length=1)


class HttpEndpointFile(StrictModel):
    endpoints: list[HttpEndpoint]
    passive_path_prefixes: list[PassivePathPrefix] = Field(default_factory=list)

    def prefix_extractors(self) -> dict[str, str]:
        """Each passive path prefix and the extractor that reads replies under it."""
        return {entry.prefix: entry.extractor for entry in self.passive_path_prefixes}


def read_http_endpoints(
    data_dir: Path, problems: Problems, vendors: dict[str, Vendor] | None = None
) -> HttpEndpointFile | None:
    """Load the optional ``http_endpoints.yaml``: few, safe, sourced endpoints, and passive
    path prefixes each read by a known body extractor."""
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
        if endpoint.directory_control:
            _check_directory_control(endpoint, endpoints, problems, document, at)
        if endpoint.method == "GET" and endpoint.body:
            problems.add(document, "a GET endpoint must not have a body", at)
        if not endpoint.purpose.strip():
            problems.add(document, "purpose must not be blank", at)
        check_sources(problems, document, at, endpoint.sources)
    _check_prefixes(parsed.model, problems, document, vendors)
    return parsed.model


def _check_directory_control(
    endpoint: HttpEndpoint,
    endpoints: list[HttpEndpoint],
    problems: Problems,
    document: YamlDocument,
    at: tuple[str | int, ...],
) -> None:
    """A directory control is a path without a query in the endpoint's own directory (not the
    root: the root controls are the probe's own), that is no endpoint's path."""
    control = endpoint.directory_control
    where = (*at, "directory_control")
    directory = control.rpartition("/")[0] + "/"
    if not control.startswith("/") or control.startswith("//") or "?" in control:
        problems.add(
            document, f"directory_control {control!r} must be a path without a query", where
        )
    elif directory == "/" or not endpoint.path.startswith(directory):
        problems.add(
            document,
            f"directory_control {control!r} must lie in a directory of the path {endpoint.path!r}",
            where,
        )
    if control.endswith("/") or control in {e.path.split("?", 1)[0] for e in endpoints}:
        problems.add(
            document, f"directory_control {control!r} must name a file no endpoint asks", where
        )
    for fragment in FORBIDDEN_ENDPOINT_FRAGMENTS:
        if fragment in control.lower():
            problems.add(
                document, f"directory_control contains exploit fragment {fragment!r}", where
            )


def _check_prefixes(
    model: HttpEndpointFile,
    problems: Problems,
    document: YamlDocument,
    vendors: dict[str, Vendor] | None,
) -> None:
    """Each prefix a path, listed once, read by a body extractor, used by named makers."""
    first_at: dict[str, int] = {}
    # (entries with schema errors made the whole file unusable above: indexes are the file's)
    for index, entry in enumerate(model.passive_path_prefixes):
        at = ("passive_path_prefixes", index)
        if not entry.prefix.startswith("/") or entry.prefix.startswith("//"):
            problems.add(document, f"prefix {entry.prefix!r} must be a path starting with '/'", at)
        elif entry.prefix == "/":
            problems.add(
                document, "prefix '/' would read every reply with one maker's extractor", at
            )
        first = first_at.setdefault(entry.prefix, index)
        if first != index:
            problems.add(
                document,
                f"duplicate prefix {entry.prefix!r} (first at passive_path_prefixes[{first}])",
                at,
            )
        if entry.extractor not in BODY_EXTRACTOR_NAMES:
            known = ", ".join(sorted(BODY_EXTRACTOR_NAMES))
            problems.add(
                document,
                f"extractor {entry.extractor!r} is not a body extractor (one of: {known})",
                (*at, "extractor"),
            )
        for maker_index, name in enumerate(entry.specificity.used_by):
            check_vendor_name(
                problems,
                document,
                (*at, "specificity", "used_by", maker_index),
                name,
                vendors,
                "specificity.used_by",
            )
        for field, text in (("purpose", entry.purpose), ("specificity", entry.specificity.note)):
            if not text.strip():
                problems.add(document, f"{field} must not be blank", at)
        check_sources(problems, document, at, entry.sources)
