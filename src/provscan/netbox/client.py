"""The NetBox REST API through httpx: devices read page by page (``next`` links), tags and a
custom field created when asked, devices patched. The token goes in one header only, to
the configured server only, and never into a message."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from provscan import __version__
from provscan.errors import InputError, ProvscanError
from provscan.interlock import ALLOWED_TARGETS_ENV, allowed_networks, outside_interlock

#: Devices asked for per page (NetBox caps it at its MAX_PAGE_SIZE, 1000 by default).
PAGE_SIZE = 250
#: Pages followed at most: a server whose ``next`` never ends must not loop forever.
MAX_PAGES = 10_000
#: The largest response body read.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: The longest token file read.
MAX_TOKEN_BYTES = 4096
TIMEOUT_SECONDS = 30.0


class NetBoxError(ProvscanError):
    """NetBox could not be reached or answered something unusable (exit 1)."""


class NetBoxInputError(InputError):
    """A bad URL or token file (exit 2)."""


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Named(_Loose):
    id: int | None = None
    name: str | None = None
    slug: str | None = None


class Manufacturer(Named):
    pass


class DeviceType(_Loose):
    id: int | None = None
    model: str | None = None
    manufacturer: Manufacturer | None = None


class IpAddress(_Loose):
    id: int | None = None
    address: str


class Tag(Named):
    pass


class NetBoxDevice(_Loose):
    """The fields of a NetBox device (``/api/dcim/devices/``) provscan reads."""

    id: int
    name: str | None = None
    device_type: DeviceType | None = None
    serial: str | None = None
    site: Named | None = None
    platform: Named | None = None
    primary_ip4: IpAddress | None = None
    primary_ip6: IpAddress | None = None
    tags: list[Tag] = []
    custom_fields: dict[str, Any] = {}

    @property
    def manufacturer(self) -> str | None:
        maker = self.device_type.manufacturer if self.device_type else None
        return (maker.name or None) if maker else None

    @property
    def model(self) -> str | None:
        return (self.device_type.model or None) if self.device_type else None

    @property
    def address(self) -> str | None:
        """The primary IPv4 address without its prefix length, else the IPv6 one."""
        for ip in (self.primary_ip4, self.primary_ip6):
            if ip is not None:
                try:
                    return str(ipaddress.ip_interface(ip.address.strip()).ip)
                except ValueError:
                    continue
        return None

    @property
    def label(self) -> str:
        return self.name or f"device {self.id}"


class _Page(_Loose):
    count: int | None = None
    next: str | None = None
    results: list[dict[str, Any]]


def read_token(path: Path) -> tuple[str, list[str]]:
    """The token in ``path`` (one line) and warnings (a file others can read)."""
    try:
        with path.expanduser().open("rb") as handle:
            data = handle.read(MAX_TOKEN_BYTES + 1)
        mode = path.expanduser().stat().st_mode
    except OSError as exc:
        raise NetBoxInputError(f"token file {path} cannot be read: {exc.strerror or exc}") from None
    token = data.decode("utf-8", "replace").strip()
    if not token or len(data) > MAX_TOKEN_BYTES or any(c.isspace() for c in token):
        raise NetBoxInputError(f"token file {path} must hold the token alone, on one line")
    warnings = []
    if mode & 0o077:
        warnings.append(f"token file {path} is readable by others (chmod 600 {path})")
    return token, warnings


def authorization(token: str) -> str:
    """NetBox v2 tokens (4.5+, ``nbt_…``) are Bearer tokens; v1 tokens use ``Token``."""
    return f"Bearer {token}" if token.startswith("nbt_") else f"Token {token}"


def check_url(url: str) -> httpx.URL:
    """The NetBox base URL (``https://netbox.example`` or with a path prefix), checked."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise NetBoxInputError(f"not a URL: {url!r}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise NetBoxInputError(f"--url must be http:// or https:// with a host: {url!r}")
    if parsed.userinfo:
        raise NetBoxInputError("--url must not hold a user or password (use --token-file)")
    host = parsed.host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if allowed_networks() is not None:
            raise NetBoxInputError(
                f"--url host {host} refused: {ALLOWED_TARGETS_ENV} is set and names are not "
                "resolved under it (give an address)"
            ) from None
    else:
        if outside_interlock(address):
            raise NetBoxInputError(f"--url host {host} refused: outside {ALLOWED_TARGETS_ENV}")
    path = parsed.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    return parsed.copy_with(path=path + "/", query=None, fragment=None)


def _tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """The system's CAs, or ``ca_file``; certificates and names always checked."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise NetBoxInputError(f"cannot use CA file {ca_file}: {exc}") from None


class NetBoxClient:
    """One NetBox server; use as a context manager."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = TIMEOUT_SECONDS,
        ca_file: Path | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.base = check_url(url)
        self.page_size = page_size
        self.client = httpx.Client(
            headers={
                "Authorization": authorization(token),
                "Accept": "application/json",
                "User-Agent": f"provscan/{__version__}",
            },
            timeout=timeout,
            verify=_tls_context(ca_file),
            follow_redirects=False,  # a redirect could carry the token elsewhere
            trust_env=False,
        )

    @property
    def shown(self) -> str:
        return str(self.base).rstrip("/")

    def __enter__(self) -> NetBoxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def _url(self, path: str, query: dict[str, str] | None = None) -> httpx.URL:
        url = self.base.join(path.lstrip("/"))
        return url.copy_merge_params(query) if query else url

    def _same_server(self, link: str) -> httpx.URL:
        """A ``next`` link's path and query on the configured server (never another host:
        NetBox behind a proxy often writes its own scheme or host into the links)."""
        target = httpx.URL(link)
        return self.base.copy_with(raw_path=target.raw_path, fragment=None)

    def request(self, method: str, url: httpx.URL, body: Any = None) -> Any:
        try:
            response = self.client.request(method, url, json=body)
        except httpx.HTTPError as exc:
            raise NetBoxError(f"NetBox {self.shown}: {type(exc).__name__}: {exc}") from None
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise NetBoxError(f"NetBox {self.shown}: response larger than {MAX_RESPONSE_BYTES}")
        if not response.is_success:
            detail = ""
            try:
                payload = response.json()
                if isinstance(payload, dict) and payload:
                    detail = ": " + str(payload.get("detail") or payload)[:300]
            except ValueError:
                pass
            raise NetBoxError(
                f"NetBox {self.shown}: {method} {url.path} answered HTTP "
                f"{response.status_code}{detail}"
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise NetBoxError(
                f"NetBox {self.shown}: {method} {url.path} did not answer JSON"
            ) from None

    def _pages(self, path: str, query: dict[str, str]) -> Iterator[dict[str, Any]]:
        url: httpx.URL | None = self._url(path, {"limit": str(self.page_size), **query})
        pages = 0
        while url is not None:
            pages += 1
            if pages > MAX_PAGES:
                raise NetBoxError(f"NetBox {self.shown}: more than {MAX_PAGES} pages")
            try:
                page = _Page.model_validate(self.request("GET", url))
            except ValidationError as exc:
                raise NetBoxError(
                    f"NetBox {self.shown}: {path} is not a NetBox list ({exc.errors()[0]['msg']})"
                ) from None
            yield from page.results
            url = self._same_server(page.next) if page.next else None

    def devices(self, site: str | None = None) -> list[NetBoxDevice]:
        """Every device (of the site with that slug), in NetBox's order."""
        query = {"site": site} if site else {}
        devices = []
        for item in self._pages("api/dcim/devices/", query):
            try:
                devices.append(NetBoxDevice.model_validate(item))
            except ValidationError as exc:
                ident = item.get("id") if isinstance(item, dict) else None
                raise NetBoxError(
                    f"NetBox {self.shown}: device {ident} does not have NetBox's shape "
                    f"({exc.errors()[0]['loc']}: {exc.errors()[0]['msg']})"
                ) from None
        return devices

    def find(self, path: str, **query: str) -> dict[str, Any] | None:
        for item in self._pages(path, query):
            return item
        return None

    def create(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("POST", self._url(path), body)

    def patch_device(self, device_id: int, body: dict[str, Any]) -> Any:
        return self.request("PATCH", self._url(f"api/dcim/devices/{device_id}/"), body)
