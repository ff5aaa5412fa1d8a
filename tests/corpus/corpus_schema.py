"""Shapes of real-world corpus entries, and their conversion into lab devices.

An entry is one device as a third party saw it: what it answered (HTTP replies, RTSP
replies, a banner sent on connect, the names in its TLS certificate), the maker its public
source states, and that source. The service shapes are those of the external corpus
(``../shared/corpus/real-banners-recog.json``), so one converter serves both; the project's
own entries also carry a structured :class:`Source`.

``to_device_spec`` turns the observed services into :class:`provscan.lab.spec.DeviceSpec`
objects that the lab serves on loopback, replaying every recorded value as it was seen.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from provscan.lab.spec import DeviceSpec, Expectation, Identity, ServiceSpec, TlsSpec

#: The corporate families whose makers are restricted (ids as in provscan's families.yaml).
RESTRICTED_FAMILIES: tuple[str, ...] = ("hikvision", "dahua", "huawei", "zte", "hytera")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- observed services -------------------------------------------------------------------


class TlsNames(_Strict):
    """Names in the certificate the device presented (subject; issuer if it differs)."""

    cn: str | None = None
    ou: str | None = None
    o: str | None = None
    l: str | None = None  # noqa: E741 - the X.500 attribute is called L
    st: str | None = None
    c: str | None = None
    #: Issuer attributes in printed order (e.g. {"CN": "NVR", "O": "..."}); None = self-signed.
    issuer: dict[str, str] | None = None

    def subject(self) -> dict[str, str]:
        """Subject attributes in printed (RFC 4514) order, CN first."""
        pairs = (
            ("CN", self.cn),
            ("OU", self.ou),
            ("O", self.o),
            ("L", self.l),
            ("ST", self.st),
            ("C", self.c),
        )
        subject = {key: value for key, value in pairs if value is not None}
        if not subject:
            raise ValueError("a TLS certificate needs at least one subject attribute")
        return subject


class HttpReply(_Strict):
    status: int = Field(default=200, ge=100, le=999)
    reason: str | None = None
    headers: list[tuple[str, str]] = Field(default_factory=list)
    body: str = ""

    def lab_reply(self) -> dict[str, Any]:
        reply: dict[str, Any] = {"status": self.status, "headers": self.headers}
        if self.reason is not None:
            reply["reason"] = self.reason
        if self.body:
            # Sent as recorded: base64 keeps the lab's {placeholders} out of the body.
            reply["body_b64"] = base64.b64encode(self.body.encode("utf-8")).decode("ascii")
        else:
            reply["body"] = ""
        return reply


class HttpService(_Strict):
    kind: Literal["http"]
    port: int = Field(ge=1, le=65535)
    tls: TlsNames | None = None
    #: The reply to any request no route names (the lab's 404 page if absent).
    default: HttpReply | None = None
    #: Replies to given paths (query ignored), e.g. {"/cgi-bin/magicBox.cgi": {...}}.
    routes: dict[str, HttpReply] = Field(default_factory=dict)

    def values(self) -> list[str]:
        """The identifying recorded values (for overlap checks)."""
        replies = [r for r in (self.default, *self.routes.values()) if r is not None]
        found = [_identifying(name, value) for reply in replies for name, value in reply.headers]
        found += [reply.body for reply in replies if reply.body]
        if self.tls is not None:
            names = {
                **self.tls.subject(),
                **{f"issuer {k}": v for k, v in (self.tls.issuer or {}).items()},
            }
            found += [value for key, value in names.items() if key.split()[-1] in ("CN", "O")]
        return [value for value in found if value]


class RtspReply(_Strict):
    status: int = Field(default=200, ge=100, le=999)
    reason: str = "OK"
    headers: list[tuple[str, str]] = Field(default_factory=list)


class RtspService(_Strict):
    """The reply the device sent (to DESCRIBE; to every method unless ``options_reply``)."""

    kind: Literal["rtsp"]
    port: int = Field(ge=1, le=65535)
    status: int = Field(default=200, ge=100, le=999)
    reason: str = "OK"
    headers: list[tuple[str, str]] = Field(default_factory=list)
    #: The reply to OPTIONS, when the source shows a different one.
    options_reply: RtspReply | None = None

    def values(self) -> list[str]:
        headers = list(self.headers) + list(
            self.options_reply.headers if self.options_reply else []
        )
        return [v for v in (_identifying(name, value) for name, value in headers) if v]


class BannerService(_Strict):
    """What the device sends as soon as a client connects (SSH, telnet, FTP...)."""

    kind: Literal["banner"]
    port: int = Field(ge=1, le=65535)
    hex: str | None = None
    text: str | None = None
    on: Literal["connect"] = "connect"

    @model_validator(mode="after")
    def _one_banner(self) -> BannerService:
        if (self.hex is None) == (self.text is None):
            raise ValueError("give hex or text, exactly one")
        if self.hex is not None:
            bytes.fromhex(self.hex)
        return self

    def raw(self) -> bytes:
        return bytes.fromhex(self.hex) if self.hex is not None else (self.text or "").encode()

    def values(self) -> list[str]:
        return [self.raw().decode("latin-1")]


#: Headers whose values say nothing about a maker (left out of overlap checks).
GENERIC_HEADERS = frozenset(
    {
        "cache-control",
        "connection",
        "content-length",
        "content-type",
        "cseq",
        "date",
        "expires",
        "keep-alive",
        "pragma",
        "public",
    }
)
_REALM = re.compile(r'realm="([^"]*)"', re.IGNORECASE)


def _identifying(name: str, value: str) -> str:
    """A header's identifying part: "" for generic headers, the realm of a challenge."""
    lowered = name.lower()
    if lowered in GENERIC_HEADERS:
        return ""
    if lowered == "www-authenticate":
        match = _REALM.search(value)
        return f"realm {match.group(1)}" if match else value
    return value


Service = Annotated[HttpService | RtspService | BannerService, Field(discriminator="kind")]


class Expect(_Strict):
    """What a correct identification says. ``manufacturer_any`` lists accepted makers
    (None = "no maker" is acceptable too); ``manufacturer`` is the one the source states."""

    manufacturer: str | None = None
    manufacturer_any: list[str | None] | None = None
    brand: str | None = None
    restricted: bool
    #: Restricted family id when restricted (default: derived from the maker's name).
    family: str | None = None

    def accepted(self) -> list[str | None]:
        if self.manufacturer_any is not None:
            return list(self.manufacturer_any)
        return [self.manufacturer]

    def stated_maker(self) -> str | None:
        return self.manufacturer or next((m for m in self.accepted() if m), None)

    def true_family(self) -> str:
        """The restricted family id, or "other" for every unrestricted maker."""
        if not self.restricted:
            return "other"
        if self.family:
            return self.family
        return family_from_name(self.stated_maker() or "") or "restricted-other"


def family_from_name(name: str) -> str | None:
    """The restricted family a maker's name spells out, e.g. "Huawei Technologies" -> huawei."""
    key = "".join(ch for ch in name.lower() if ch.isalnum())
    return next((family for family in RESTRICTED_FAMILIES if family in key), None)


# --- the project's own corpus ------------------------------------------------------------


class Source(_Strict):
    """Where an observation was published, and what the source says about the device."""

    kind: Literal[
        "fingerprint-database", "issue-thread", "advisory", "dataset", "manual", "web-page"
    ]
    #: The repository holding the source; None for a web page known only by its URL.
    repository: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    path: str | None = None
    commit: str | None = Field(default=None, pattern=r"^[0-9a-f]{40}$")
    url: str | None = None
    #: The source's own description of the device (e.g. a Recog fingerprint description).
    description: str = Field(min_length=3)
    licence: str | None = None

    @model_validator(mode="after")
    def _locatable(self) -> Source:
        if self.path is None and self.url is None:
            raise ValueError("a source needs a path (with its repository) or a URL")
        if self.path is not None and self.repository is None:
            raise ValueError("a source's path needs its repository")
        if self.repository is None and self.kind != "web-page":
            raise ValueError("only a web page may omit its repository")
        return self


class _Entry(_Strict):
    """What every corpus entry has: an id, the maker its public source states, the sources."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    expect: Expect
    sources: list[Source] = Field(min_length=1)
    #: How the recorded values were turned into services or packets.
    note: str | None = None

    @field_validator("expect")
    @classmethod
    def _maker_stated(cls, expect: Expect) -> Expect:
        if not expect.manufacturer:
            raise ValueError("every corpus entry names the maker its source states")
        return expect


def _check_unique_ids(entries: Sequence[_Entry]) -> None:
    ids = [entry.id for entry in entries]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate corpus ids: {', '.join(duplicates)}")


class CorpusEntry(_Entry):
    """One real device of the project corpus: observations, stated maker, public source."""

    services: list[Service] = Field(min_length=1)


class CorpusFile(_Strict):
    entries: list[CorpusEntry]

    @model_validator(mode="after")
    def _unique_ids(self) -> CorpusFile:
        _check_unique_ids(self.entries)
        return self


CORPUS_DIR = Path(__file__).resolve().parent

#: Addresses one test process may give corpus devices: 4 x 250 on its own third octets.
MAX_CORPUS_DEVICES = 1000


def corpus_address(second_octet: int, index: int, process: int) -> str:
    """The loopback address of the ``index``-th corpus device of a test process.

    Each process (``process``, e.g. its pid) owns four /24s of 127.<second_octet>.0.0/16,
    so concurrent sessions never share an address and the corpus can outgrow one /24.
    """
    if not 0 <= index < MAX_CORPUS_DEVICES:
        raise ValueError(f"corpus device index {index} outside 0..{MAX_CORPUS_DEVICES - 1}")
    slot = process % 60
    return f"127.{second_octet}.{slot * 4 + index // 250}.{index % 250 + 1}"


def load_project_corpus(directory: Path = CORPUS_DIR) -> list[CorpusEntry]:
    """Every entry of every ``devices*.yaml`` file in the project corpus folder."""
    entries: list[CorpusEntry] = []
    for path in sorted(directory.glob("devices*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        entries.extend(CorpusFile.model_validate(raw).entries)
    CorpusFile(entries=entries)  # ids unique across files too
    return entries


# --- conversion into lab devices ---------------------------------------------------------


def to_device_spec(
    device_id: str,
    address: str,
    expect: Expect,
    services: Sequence[HttpService | RtspService | BannerService],
    sources: Sequence[str],
    description: str,
) -> DeviceSpec:
    """A lab device on ``address`` (loopback only) answering as the observations say."""
    if not ipaddress.ip_address(address).is_loopback:
        raise ValueError(f"corpus devices are served on loopback only, not {address}")
    specs = [_service_spec(service) for service in services]
    maker = expect.stated_maker()
    return DeviceSpec(
        id=device_id,
        address=address,
        description=description,
        identity=Identity(manufacturer=maker, brand=expect.brand),
        expect=Expectation(manufacturer=maker, brand=expect.brand, restricted=expect.restricted),
        sources=list(sources) or ["(no source)"],
        services=specs,
    )


def entry_device_spec(entry: CorpusEntry, address: str) -> DeviceSpec:
    """The lab device of one project corpus entry."""
    sources = [_describe_source(source) for source in entry.sources]
    description = entry.sources[0].description
    return to_device_spec(entry.id, address, entry.expect, entry.services, sources, description)


def _describe_source(source: Source) -> str:
    where = source.url or f"{source.repository}:{source.path}"
    return f"{where} ({source.description})"


def _service_spec(service: HttpService | RtspService | BannerService) -> ServiceSpec:
    if isinstance(service, HttpService):
        options: dict[str, Any] = {
            "routes": [
                {"path": path, **reply.lab_reply()} for path, reply in service.routes.items()
            ]
        }
        if service.default is not None:
            options["default"] = service.default.lab_reply()
        tls = None
        if service.tls is not None:
            tls = TlsSpec(subject=service.tls.subject(), issuer=service.tls.issuer)
        return ServiceSpec(port=service.port, protocol="http", tls=tls, options=options)
    if isinstance(service, RtspService):
        replies: dict[str, Any] = {
            "*": {"status": service.status, "reason": service.reason, "headers": service.headers}
        }
        if service.options_reply is not None:
            replies["OPTIONS"] = service.options_reply.model_dump()
        return ServiceSpec(port=service.port, protocol="rtsp", options={"replies": replies})
    return ServiceSpec(
        port=service.port, protocol="banner", options={"hex": service.raw().hex(), "wait_s": 2.0}
    )


def observed_values(services: Sequence[HttpService | RtspService | BannerService]) -> set[str]:
    """Every recorded value of a device, normalised for overlap checks (nonces kept)."""
    return {" ".join(value.split()).lower() for s in services for value in s.values() if value}


# --- passive entries: what a device says unasked -----------------------------------------

_MAC = r"^[0-9a-f]{2}(?::[0-9a-f]{2}){2}(?:(?::[0-9a-f]{2}){3})?$"


class DhcpRequest(_Strict):
    """The options of a client's DHCP request, as the source shows them."""

    hostname: str | None = None  # option 12
    vendor_class: str | None = None  # option 60
    parameter_list: list[int] | None = None  # option 55, in the order sent

    @field_validator("parameter_list")
    @classmethod
    def _option_codes(cls, codes: list[int] | None) -> list[int] | None:
        if codes is not None and not all(1 <= code <= 254 for code in codes):
            raise ValueError("DHCP option codes are 1..254")
        return codes

    @model_validator(mode="after")
    def _something(self) -> DhcpRequest:
        if self.hostname is None and self.vendor_class is None and not self.parameter_list:
            raise ValueError("a DHCP request needs a host name, vendor class or parameter list")
        return self

    def values(self) -> list[str]:
        found = [self.hostname or "", self.vendor_class or ""]
        if self.parameter_list:
            found.append(",".join(str(code) for code in self.parameter_list))
        return [value for value in found if value]


class MdnsAnnouncement(_Strict):
    """One DNS-SD service instance a device announced (PTR, SRV, TXT and A records)."""

    service: str = Field(pattern=r"^_[A-Za-z0-9_-]+\._(?:tcp|udp)\.local\.$")
    #: The instance's own label (``<instance>.<service>`` is its full name). None when the
    #: source lists only the service type: the capture then holds the device's answer to a
    #: service-type enumeration (``_services._dns-sd._udp.local.`` PTR ``<service>``).
    instance: str | None = Field(default=None, min_length=1, max_length=63)
    #: The SRV target, e.g. ``axis-accc8e000000.local.`` (default: none shown by the source).
    host: str | None = Field(default=None, pattern=r"^[^.\s]+\.local\.$")
    port: int = Field(default=0, ge=0, le=65535)
    #: TXT items in the order sent.
    txt: list[tuple[str, str]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _records_need_an_instance(self) -> MdnsAnnouncement:
        if self.instance is None and (self.host is not None or self.txt):
            raise ValueError("SRV and TXT records belong to an instance: name it")
        return self

    def values(self) -> list[str]:
        found = [f"{key}={value}" for key, value in self.txt]
        return [self.instance, *found] if self.instance else found


class SsdpMessage(_Strict):
    """An SSDP NOTIFY (``nt``) or a search reply (``st``) as the source shows its headers."""

    kind: Literal["notify", "reply"] = "notify"
    server: str | None = None
    nt: str | None = None
    st: str | None = None
    usn: str | None = None
    #: The description URL's port and path (the host part is the entry's capture address).
    location: str | None = Field(default=None, pattern=r"^:[0-9]{1,5}/")

    @model_validator(mode="after")
    def _target(self) -> SsdpMessage:
        if self.kind == "notify" and (self.nt is None or self.st is not None):
            raise ValueError("a NOTIFY has an NT header and no ST")
        if self.kind == "reply" and (self.st is None or self.nt is not None):
            raise ValueError("a search reply has an ST header and no NT")
        return self

    def values(self) -> list[str]:
        return [self.server] if self.server else []


class TuyaBroadcast(_Strict):
    """A Tuya local-protocol broadcast: the JSON the source shows (decrypted if it was)."""

    port: Literal[6666, 6667]
    payload: dict[str, str | int | bool]

    def values(self) -> list[str]:
        return []  # keys of a platform, not of a maker: nothing a rule could copy


class PassiveObservations(_Strict):
    """What a device sent unasked. ``mac``: the whole MAC, or only its OUI (three octets)
    when the source shows no more; absent when the source shows none (the capture then
    uses a locally administered MAC, which names no maker)."""

    mac: str | None = Field(default=None, pattern=_MAC)
    dhcp: DhcpRequest | None = None
    mdns: list[MdnsAnnouncement] = Field(default_factory=list)
    ssdp: list[SsdpMessage] = Field(default_factory=list)
    dns_queries: list[str] = Field(default_factory=list)
    tuya: list[TuyaBroadcast] = Field(default_factory=list)

    @field_validator("dns_queries")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not re.fullmatch(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+", name):
                raise ValueError(f"not a host name as queried: {name!r}")
        return names

    @model_validator(mode="after")
    def _says_something(self) -> PassiveObservations:
        if not (self.mac or self.dhcp or self.mdns or self.ssdp or self.dns_queries or self.tuya):
            raise ValueError(
                "a passive entry needs a MAC, a DHCP request, mDNS, SSDP, DNS or Tuya data"
            )
        return self

    def values(self) -> dict[str, list[str]]:
        """The identifying recorded values by kind (for overlap checks with rule examples)."""
        return {
            "dhcp": self.dhcp.values() if self.dhcp else [],
            "mdns": [value for item in self.mdns for value in item.values()],
            "ssdp": [value for item in self.ssdp for value in item.values()],
            "dns": list(self.dns_queries),
        }


class PassiveEntry(_Entry):
    """One real device of the passive corpus: what it said unasked, stated maker, source."""

    passive: PassiveObservations


class PassiveFile(_Strict):
    entries: list[PassiveEntry]

    @model_validator(mode="after")
    def _unique_ids(self) -> PassiveFile:
        _check_unique_ids(self.entries)
        return self


def load_passive_corpus(directory: Path = CORPUS_DIR) -> list[PassiveEntry]:
    """Every entry of every ``passive*.yaml`` file in the project corpus folder."""
    entries: list[PassiveEntry] = []
    for path in sorted(directory.glob("passive*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        entries.extend(PassiveFile.model_validate(raw).entries)
    PassiveFile(entries=entries)  # ids unique across files too
    return entries
