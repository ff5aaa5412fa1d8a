"""``device_api.yaml``: the read-only requests provscan may send to a maker's management API.

Used only with credentials (``--credentials``) or ``--check-default-credentials``. Every
request is a ``GET`` that reads; a path that could write, reboot or exploit is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from provscan.knowledge.base import (
    FileLoader,
    Problems,
    StrictModel,
    check_sources,
    read_file,
)
from provscan.knowledge.http_endpoints import FORBIDDEN_ENDPOINT_FRAGMENTS
from provscan.knowledge.observation_fields import FIELD_NAME
from provscan.knowledge.vocabulary import Vendor, check_vendor_name

DEVICE_API_FILE = "device_api.yaml"
#: Words of management-API paths that change a device; a read-only request never has one.
WRITE_FRAGMENTS = (
    "setconfig",
    "action=set",
    "reboot",
    "factoryreset",
    "factorydefault",
    "upgrade",
    "delete",
)

#: What a request is for: ``credentialed`` reads device information with the user's
#: credentials; ``default_account_check`` is the request a documented factory account is
#: tried on (``default_accounts.yaml`` names it in ``check``).
RequestUse = Literal["credentialed", "default_account_check"]


class FirmwareBuild(StrictModel):
    """The reply gives the firmware version and its build in two elements of one document.

    Each becomes its own observation; posture joins them (version, then build) when both
    come from the same reply, so ranges that need the build can be decided.
    """

    #: The field of the dotted version (e.g. ``isapi.firmware`` from ``firmwareVersion``).
    version_field: str
    #: The field of the build (e.g. ``isapi.firmware_build`` from ``firmwareReleasedDate``).
    build_field: str


class DeviceApiRequest(StrictModel):
    """One read-only request of a maker's management API."""

    id: str
    vendors: list[str] = Field(min_length=1)
    use: RequestUse
    method: Literal["GET"]
    path: str
    #: What the reply tells (the fields read from it).
    reads: str
    sources: list[str] = Field(min_length=1)
    #: When the reply splits the firmware version and its build (Hikvision DeviceInfo).
    firmware_build: FirmwareBuild | None = None


class DeviceApiFile(StrictModel):
    description: str
    requests: list[DeviceApiRequest] = Field(min_length=1)


@dataclass(frozen=True)
class DeviceApi:
    """The requests by id, in file order."""

    requests: tuple[DeviceApiRequest, ...]

    def path(self, request_id: str) -> str:
        """The path of one request; KeyError for an unknown id."""
        for request in self.requests:
            if request.id == request_id:
                return request.path
        raise KeyError(request_id)

    def paths_for(self, use: RequestUse) -> dict[str, str]:
        """Request id -> path of every request with this use."""
        return {request.id: request.path for request in self.requests if request.use == use}

    def request(self, request_id: str) -> DeviceApiRequest:
        """One request; KeyError for an unknown id."""
        for request in self.requests:
            if request.id == request_id:
                return request
        raise KeyError(request_id)

    def firmware_builds(self) -> dict[str, str]:
        """Version field -> build field, for replies that give the two apart."""
        return {
            request.firmware_build.version_field: request.firmware_build.build_field
            for request in self.requests
            if request.firmware_build is not None
        }


def read_device_api(
    data_dir: Path, problems: Problems, vendors: dict[str, Vendor] | None = None
) -> DeviceApi | None:
    """Load ``device_api.yaml``: unique ids, read-only paths, sources (vendors when given)."""
    parsed = read_file(data_dir, DEVICE_API_FILE, DeviceApiFile, problems, "requests")
    if parsed is None:
        return None
    document = parsed.document
    seen: set[str] = set()
    for index, request in parsed.indexed(parsed.model.requests):
        at = ("requests", index)
        if request.id in seen:
            problems.add(document, f"duplicate request id {request.id!r}", at)
        seen.add(request.id)
        for name in request.vendors:
            check_vendor_name(problems, document, at, name, vendors, "vendor")
        if not request.path.startswith("/"):
            problems.add(document, "path must start with '/'", (*at, "path"))
        lowered = request.path.lower()
        for fragment in FORBIDDEN_ENDPOINT_FRAGMENTS:
            if fragment in lowered:
                problems.add(
                    document, f"path contains exploit fragment {fragment!r}", (*at, "path")
                )
        for fragment in WRITE_FRAGMENTS:
            if fragment in lowered:
                problems.add(
                    document, f"path contains {fragment!r}: requests must only read", (*at, "path")
                )
        if request.firmware_build is not None:
            for name in (request.firmware_build.version_field, request.firmware_build.build_field):
                if not FIELD_NAME.match(name):
                    problems.add(
                        document, f"{name!r} is not a field name like 'isapi.firmware'", at
                    )
        if not request.reads.strip():
            problems.add(document, "reads must say what the reply tells", at)
        check_sources(problems, document, at, request.sources)
    return DeviceApi(tuple(parsed.model.requests))


#: The device API requests (default: the bundled file, read once: base.FileLoader).
#:
#: Raises KnowledgeError listing every problem. Vendor names are checked against the
#: vocabulary by ``load_posture_knowledge`` and ``provscan knowledge verify``.
load_device_api: FileLoader[DeviceApi] = FileLoader(read_device_api)
