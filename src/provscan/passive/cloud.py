"""Which vendor service a host name belongs to (``knowledge/data/cloud_endpoints.yaml``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CloudService:
    id: str
    service: str
    vendor: str
    role: str


class CloudMatcher:
    """Exact names win over domains; among domains the longest (most specific) wins."""

    def __init__(self, endpoints: Iterable[object]) -> None:
        self._exact: dict[str, CloudService] = {}
        self._domains: dict[str, CloudService] = {}
        for endpoint in endpoints:
            service = CloudService(
                id=str(getattr(endpoint, "id")),  # noqa: B009  (pydantic entries, duck-typed)
                service=str(getattr(endpoint, "service")),  # noqa: B009
                vendor=str(getattr(endpoint, "vendor")),  # noqa: B009
                role=str(getattr(endpoint, "role")),  # noqa: B009
            )
            for name in getattr(endpoint, "names", ()):
                self._exact.setdefault(name, service)
            for domain in getattr(endpoint, "domains", ()):
                self._domains.setdefault(domain, service)

    def match(self, name: str) -> CloudService | None:
        name = name.strip().rstrip(".").lower()
        if not name:
            return None
        exact = self._exact.get(name)
        if exact is not None:
            return exact
        labels = name.split(".")
        for start in range(len(labels) - 1):
            found = self._domains.get(".".join(labels[start:]))
            if found is not None:
                return found
        return None
