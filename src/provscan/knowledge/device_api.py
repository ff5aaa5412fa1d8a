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
    Location,
    Problems,
    StrictModel,
    YamlDocument,
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
    # VAPIX param.cgi and SUNAPI write actions; Reolink's api.cgi writes are cmd=Set...
    "action=update",
    "action=add",
    "action=remove",
    "action=control",
    "cmd=set",
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
#: How a request carries the credential: ``digest`` answers a Digest challenge (RFC 7616;
#: never Basic in clear text); ``query_over_tls`` puts ``{username}``/``{password}`` in the
#: query string as the maker's API documents, and is sent only over TLS.
AuthScheme = Literal["digest", "query_over_tls"]
#: How the reply is read: ``key_value`` lines (``key=value``; a flat JSON object is read the
#: same way) or ``json`` (dotted paths, list items by index: ``0.value.DevInfo.model``).
ReplyFormat = Literal["key_value", "json"]
#: What a read field is to posture: the device's model, firmware version or serial number.
FieldRole = Literal["model", "firmware", "serial"]
#: The placeholders a ``query_over_tls`` path carries for the credential.
CREDENTIAL_PLACEHOLDERS = ("{username}", "{password}")


class FirmwareBuild(StrictModel):
    """The reply gives the firmware version and its build in two elements of one document.

    Each becomes its own observation; posture joins them (version, then build) when both
    come from the same reply, so ranges that need the build can be decided.
    """

    #: The field of the dotted version (e.g. ``isapi.firmware`` from ``firmwareVersion``).
    version_field: str
    #: The field of the build (e.g. ``isapi.firmware_build`` from ``firmwareReleasedDate``).
    build_field: str


class FieldRead(StrictModel):
    """One value of the reply, the observation field it becomes, and what it is to posture."""

    #: The key (``key_value``) or dotted path (``json``) of the value in the reply.
    key: str
    field: str
    role: FieldRole | None = None


class DeviceApiRequest(StrictModel):
    """One read-only request of a maker's management API."""

    id: str
    #: The API the request belongs to (its probe is ``credentialed-<api>``); requests of one
    #: API are sent in file order, the follow-ups only when the first one answered. Set for
    #: the requests read from data (``fields``); the Hikvision and Dahua APIs have their codecs.
    api: str | None = None
    vendors: list[str] = Field(min_length=1)
    use: RequestUse
    method: Literal["GET"]
    path: str
    #: What the reply tells (the fields read from it).
    reads: str
    sources: list[str] = Field(min_length=1)
    #: When the reply splits the firmware version and its build (Hikvision DeviceInfo).
    firmware_build: FirmwareBuild | None = None
    auth: AuthScheme = "digest"
    #: How to read the reply and which values to keep (requests read from data only).
    format: ReplyFormat | None = None
    fields: list[FieldRead] = Field(default_factory=list)
    #: What is not certain about the request or its reply (say what, and why).
    uncertain: str = ""


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

    def data_apis(self) -> dict[str, tuple[DeviceApiRequest, ...]]:
        """API name -> its credentialed requests read from data (``fields``), in file order."""
        apis: dict[str, list[DeviceApiRequest]] = {}
        for request in self.requests:
            if request.use == "credentialed" and request.api and request.fields:
                apis.setdefault(request.api, []).append(request)
        return {api: tuple(requests) for api, requests in apis.items()}

    def fields_with_role(self, role: FieldRole) -> tuple[str, ...]:
        """Observation fields the makers' APIs fill with a model, firmware or serial, in order."""
        found = [
            read.field for request in self.requests for read in request.fields if read.role == role
        ]
        return tuple(dict.fromkeys(found))

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
        _check_data_request(document, at, request, problems)
        if not request.reads.strip():
            problems.add(document, "reads must say what the reply tells", at)
        check_sources(problems, document, at, request.sources)
    return DeviceApi(tuple(parsed.model.requests))


def _check_data_request(
    document: YamlDocument, at: Location, request: DeviceApiRequest, problems: Problems
) -> None:
    """A request read from data: an API name, a format, field names; the credential only
    where its scheme puts it (placeholders in the query, and then TLS only)."""
    if request.fields and (request.api is None or request.format is None):
        problems.add(document, "a request with fields needs 'api' and 'format'", at)
    if request.fields and request.use != "credentialed":
        problems.add(document, "only credentialed requests read fields", at)
    for read in request.fields:
        if not FIELD_NAME.match(read.field):
            problems.add(document, f"{read.field!r} is not a field name like 'axis.firmware'", at)
    placeholders = [p for p in CREDENTIAL_PLACEHOLDERS if p in request.path]
    if request.auth == "query_over_tls":
        if "?" not in request.path or len(placeholders) != len(CREDENTIAL_PLACEHOLDERS):
            problems.add(
                document,
                "query_over_tls needs {username} and {password} in the query string",
                (*at, "path"),
            )
    elif placeholders:
        problems.add(
            document, "credential placeholders only with auth: query_over_tls", (*at, "path")
        )


#: The device API requests (default: the bundled file, read once: base.FileLoader).
#:
#: Raises KnowledgeError listing every problem. Vendor names are checked against the
#: vocabulary by ``load_posture_knowledge`` and ``provscan knowledge verify``.
load_device_api: FileLoader[DeviceApi] = FileLoader(read_device_api)
