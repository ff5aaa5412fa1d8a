"""SSDP (UPnP discovery, UDP 1900), pure.

``M-SEARCH * HTTP/1.1`` goes to 239.255.255.250:1900 (or one address); each device answers
``HTTP/1.1 200 OK`` with ``LOCATION`` (its device-description URL), ``SERVER``
(``OS/version UPnP/1.0 product/version``), ``ST`` and ``USN``. UPnP Device Architecture
1.1 §1.3 (M-SEARCH and its response). Header names are case-insensitive; values are kept
as sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from provscan.errors import ProtocolError

SSDP_PORT = 1900
SSDP_MULTICAST_GROUP = "239.255.255.250"
SEARCH_ALL = "ssdp:all"
ROOT_DEVICE = "upnp:rootdevice"
IGD_DEVICE = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
#: An SSDP message larger than this is refused (real ones are ~300 bytes).
MAX_MESSAGE_BYTES = 8 * 1024
MAX_HEADERS = 32
MAX_VALUE_CHARS = 512


@dataclass(frozen=True)
class SsdpMessage:
    """A search request or a search response: its first line and its headers (lower-case names)."""

    start_line: str
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None

    @property
    def is_search(self) -> bool:
        return self.start_line.upper().startswith("M-SEARCH ")

    @property
    def is_response(self) -> bool:
        parts = self.start_line.split(" ", 2)
        return len(parts) >= 2 and parts[0].upper().startswith("HTTP/") and parts[1] == "200"


def build_msearch(
    search_target: str = SEARCH_ALL, mx: int = 1, host: str = f"{SSDP_MULTICAST_GROUP}:{SSDP_PORT}"
) -> bytes:
    """An M-SEARCH request. ``host`` is the HOST header (the group, or the unicast target)."""
    if not 1 <= mx <= 5:
        raise ValueError("MX must be 1..5 seconds")
    return (
        "M-SEARCH * HTTP/1.1\r\n"
        f"HOST: {host}\r\n"
        'MAN: "ssdp:discover"\r\n'
        f"MX: {mx}\r\n"
        f"ST: {search_target}\r\n"
        "\r\n"
    ).encode("latin-1")


def build_search_response(*, location: str, server: str, search_target: str, usn: str) -> bytes:
    """The device side: a search response (lab and tests)."""
    for value in (location, server, search_target, usn):
        if "\r" in value or "\n" in value:
            raise ValueError("SSDP header values are single lines")
    return (
        "HTTP/1.1 200 OK\r\n"
        "CACHE-CONTROL: max-age=1800\r\n"
        "EXT:\r\n"
        f"LOCATION: {location}\r\n"
        f"SERVER: {server}\r\n"
        f"ST: {search_target}\r\n"
        f"USN: {usn}\r\n"
        "\r\n"
    ).encode("latin-1")


def parse_message(data: bytes) -> SsdpMessage:
    """Parse an SSDP datagram (request or response). Raises ProtocolError."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"SSDP message larger than {MAX_MESSAGE_BYTES} bytes")
    text = bytes(data).decode("latin-1")
    lines = text.split("\n")
    start = lines[0].rstrip("\r").strip()
    if not (start.upper().startswith(("HTTP/", "M-SEARCH ", "NOTIFY "))):
        raise ProtocolError("not an SSDP message")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        line = line.rstrip("\r")
        if not line:
            break
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or " " in name.strip():
            continue
        if len(headers) >= MAX_HEADERS:
            break
        headers.append((name.strip().lower(), value.strip()[:MAX_VALUE_CHARS]))
    return SsdpMessage(start[:MAX_VALUE_CHARS], tuple(headers))
