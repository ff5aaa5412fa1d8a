"""Which vendor service a host name belongs to (``knowledge/data/cloud_endpoints.yaml``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Host names whose answer :meth:`CloudMatcher.match` remembers.
MAX_REMEMBERED_NAMES = 65_536


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
        self._answers: dict[str, CloudService | None] = {}
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
        # Every HTTP request names its Host and most name the same few: answers are kept
        # (a bounded number; the matching is a pure function of the name).
        answers = self._answers
        if name in answers:
            return answers[name]
        found = self._match(name)
        if len(self._answers) < MAX_REMEMBERED_NAMES:
            answers[name] = found
        return found

    def _match(self, name: str) -> CloudService | None:
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
