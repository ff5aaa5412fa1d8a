"""``cloud_endpoints.yaml``: vendor cloud, P2P and update services devices contact."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from provscan.knowledge.base import Confidence, Problems, StrictModel, check_sources, read_file
from provscan.knowledge.vocabulary import Vendor, check_vendor_name

CLOUD_ENDPOINTS_FILE = "cloud_endpoints.yaml"


class CloudEndpoint(StrictModel):
    """A vendor service devices contact: seen as a DNS query, TLS SNI or HTTP Host."""

    id: str
    service: str
    #: The canonical vendor (vocabulary) whose service it is.
    vendor: str
    #: "device": contacted by devices themselves; "app": by phone/desktop apps (weaker).
    role: Literal["device", "app", "p2p", "ddns", "update"]
    #: Exact host names (lower case, no trailing dot).
    names: list[str] = Field(default_factory=list)
    #: Domains: the name itself and every name under it.
    domains: list[str] = Field(default_factory=list)
    confidence: Confidence
    note: str = ""
    sources: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _has_names(self) -> CloudEndpoint:
        if not self.names and not self.domains:
            raise ValueError(f"cloud endpoint {self.id}: needs names or domains")
        for name in [*self.names, *self.domains]:
            if name != name.lower().strip().rstrip(".") or " " in name:
                raise ValueError(f"cloud endpoint {self.id}: {name!r} must be a lower-case name")
        return self


class CloudEndpointFile(StrictModel):
    endpoints: list[CloudEndpoint]


def read_cloud_endpoints(
    data_dir: Path, problems: Problems, vendors: dict[str, Vendor] | None
) -> tuple[CloudEndpoint, ...] | None:
    """Load ``cloud_endpoints.yaml``: unique ids and names, known vendors, sources."""
    parsed = read_file(data_dir, CLOUD_ENDPOINTS_FILE, CloudEndpointFile, problems, "endpoints")
    if parsed is None:
        return None
    document = parsed.document
    seen_ids: set[str] = set()
    seen_names: dict[str, str] = {}
    for index, endpoint in parsed.indexed(parsed.model.endpoints):
        at = ("endpoints", index)
        if endpoint.id in seen_ids:
            problems.add(document, f"duplicate id {endpoint.id!r}", at)
        seen_ids.add(endpoint.id)
        check_vendor_name(problems, document, at, endpoint.vendor, vendors, "vendor")
        for name in [*endpoint.names, *endpoint.domains]:
            first = seen_names.setdefault(name, endpoint.id)
            if first != endpoint.id:
                problems.add(document, f"{name!r} is also listed by {first}", at)
        check_sources(problems, document, at, endpoint.sources)
    return tuple(parsed.model.endpoints)
