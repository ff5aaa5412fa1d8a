"""Target specifications -> addresses, with the scope safety rules.

Accepted: IPv4/IPv6 literals, CIDRs, ranges (``a-b`` with full addresses, or
``10.0.0.5-40`` on the last octet), hostnames, and ``@file`` lists (one spec per line,
``#`` comments). Expansion is lazy so a /16 does not sit in memory.

Safety: addresses that are globally routable (public) are refused unless the caller
passes ``allow_public=True``; multicast, unspecified and reserved addresses are always
refused as scan targets.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from provscan.errors import TargetError
from provscan.interlock import ALLOWED_TARGETS_ENV, outside_interlock

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?"
)
_NUMERIC_LAST_LABEL = re.compile(r"(?:^|\.)(?:\d+|0x[0-9a-fA-F]+)$")
#: Default ceiling on expanded addresses; --max-hosts raises it.
DEFAULT_MAX_HOSTS = 65536
#: Carrier-grade NAT (RFC 6598): not global, but not the user's own network either; an ISP
#: shares it among its customers, so it is treated like public space.
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
#: @file lists larger than this are refused (a target list, not a data dump).
MAX_TARGET_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class TargetBlock:
    """One parsed spec: a contiguous run of addresses."""

    spec: str
    first: IPAddress
    last: IPAddress
    hostname: str | None = None

    @property
    def size(self) -> int:
        return int(self.last) - int(self.first) + 1

    def __iter__(self) -> Iterator[IPAddress]:
        cls = type(self.first)
        for value in range(int(self.first), int(self.last) + 1):
            yield cls(value)


def _parse_address(text: str) -> IPAddress:
    return ipaddress.ip_address(text.strip("[]"))


def _resolve(name: str) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetError(f"cannot resolve host name {name!r}: {exc}") from exc
    seen: list[IPAddress] = []
    for info in infos:
        address = _parse_address(str(info[4][0]).split("%")[0])
        if address not in seen:
            seen.append(address)
    return seen


def parse_spec(spec: str) -> list[TargetBlock]:
    spec = spec.strip()
    if not spec:
        raise TargetError("empty target")
    if "/" in spec:
        try:
            network: IPNetwork = ipaddress.ip_network(spec, strict=False)
        except ValueError as exc:
            raise TargetError(f"bad CIDR {spec!r}: {exc}") from exc
        # Every address of the network, its first and last included, as nmap does: a /24
        # split into /28s must not lose .15, .16, .31 ... (on a real segment the network and
        # broadcast addresses simply do not answer a connection).
        return [TargetBlock(spec, network.network_address, network.broadcast_address)]
    if "-" in spec and not spec.startswith("["):
        left, _, right = spec.partition("-")
        try:
            first = _parse_address(left)
        except ValueError:
            first = None
        if first is not None:
            try:
                last = _parse_address(right)
            except ValueError:
                if first.version == 4 and right.isdigit() and 0 <= int(right) <= 255:
                    last = ipaddress.IPv4Address(int(first) & 0xFFFFFF00 | int(right))
                else:
                    raise TargetError(f"bad range {spec!r}: {right!r} is not an address") from None
            if last.version != first.version:
                raise TargetError(f"bad range {spec!r}: mixes IPv4 and IPv6")
            if int(last) < int(first):
                raise TargetError(f"bad range {spec!r}: end is before start")
            return [TargetBlock(spec, first, last)]
    try:
        address = _parse_address(spec)
        return [TargetBlock(spec, address, address)]
    except ValueError:
        if looks_like_address(spec):
            raise TargetError(
                f"bad address {_shown(spec)}: not a valid IPv4 or IPv6 address "
                "(text shaped like an address is never looked up as a host name)"
            ) from None
    if not _HOSTNAME.fullmatch(spec):
        raise TargetError(f"not an address, CIDR, range or host name: {_shown(spec)}")
    return [TargetBlock(spec, a, a, hostname=spec) for a in _resolve(spec)]


def looks_like_address(spec: str) -> bool:
    """True for text shaped like an IP address that is not one (``10.0.0.300``, ``1.2.3``).

    A host name's last label is never all digits (RFC 1123 §2.1, RFC 3696 §2), so such text
    is a mistyped address: it is refused as a bad argument and never sent to DNS.
    """
    if ":" in spec or spec.startswith("["):
        return True
    return bool(_NUMERIC_LAST_LABEL.search(spec.rstrip(".")))


def is_address_spec(spec: str) -> bool:
    """An address, a network (CIDR) or a range ``A-B`` / ``a.b.c.d-e``: never a host name
    (whoever takes a request from elsewhere would resolve it) nor an ``@file`` (it would read
    its own files). Targets from the web and from a central to a sensor must be this."""
    for parse in (ipaddress.ip_address, lambda text: ipaddress.ip_network(text, strict=False)):
        try:
            parse(spec)
            return True
        except ValueError:
            pass
    first, dash, last = spec.partition("-")
    if not dash:
        return False
    try:
        ipaddress.ip_address(first)
        if last.isdigit():
            return int(last) <= 255
        ipaddress.ip_address(last)
        return True
    except ValueError:
        return False


def _shown(spec: str) -> str:
    # A spec can come from a file: keep the message one short line.
    return repr(spec if len(spec) <= 60 else spec[:57] + "...")


def read_target_file(path_text: str) -> list[str]:
    """The specs listed in a target file, read with a size cap.

    The cap holds for devices and pipes too (``@/dev/urandom`` reports a size of 0), so
    the read itself is bounded rather than trusting ``stat``.
    """
    path = Path(path_text)
    try:
        if path.is_dir():
            raise TargetError(f"target file {path} is a directory")
        with path.open("rb") as handle:
            data = handle.read(MAX_TARGET_FILE_BYTES + 1)
    except FileNotFoundError as exc:
        raise TargetError(f"target file not found: {path}") from exc
    except OSError as exc:
        raise TargetError(f"cannot read target file {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_TARGET_FILE_BYTES:
        raise TargetError(
            f"target file {path} is larger than {MAX_TARGET_FILE_BYTES // (1024 * 1024)} MiB"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TargetError(f"target file {path} is not UTF-8 text") from None
    if "\x00" in text:
        raise TargetError(f"target file {path} is not a text file (it holds NUL bytes)")
    specs: list[str] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        specs.extend(part for part in line.replace(",", " ").split() if part)
    return specs


def expand_specs(specs: Iterable[str]) -> list[TargetBlock]:
    blocks: list[TargetBlock] = []
    for spec in specs:
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            if part.startswith("@"):
                blocks.extend(expand_specs(read_target_file(part[1:])))
            else:
                blocks.extend(parse_spec(part))
    return blocks


def check_scope(address: IPAddress, *, allow_public: bool) -> str | None:
    """Why ``address`` must not be scanned, or None when it may be."""
    if address.is_loopback:
        return None
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "multicast, unspecified or reserved address"
    if (address.is_global or address in _SHARED_ADDRESS_SPACE) and not allow_public:
        return "public address (pass --allow-public to scan addresses you own on the internet)"
    if outside_interlock(address):
        return f"outside {ALLOWED_TARGETS_ENV}, the scope interlock set in this environment"
    return None


@dataclass(frozen=True)
class TargetSet:
    blocks: tuple[TargetBlock, ...]
    excluded: tuple[TargetBlock, ...]
    allow_public: bool = False

    @property
    def size_upper_bound(self) -> int:
        return sum(block.size for block in self.blocks)

    def _is_excluded(self, address: IPAddress) -> bool:
        value = int(address)
        return any(
            block.first.version == address.version and int(block.first) <= value <= int(block.last)
            for block in self.excluded
        )

    def __iter__(self) -> Iterator[tuple[str, str | None]]:
        """Yield (address, hostname) once each, in order, skipping excluded addresses."""
        seen: set[str] = set()
        for block in self.blocks:
            for address in block:
                text = str(address)
                if text in seen or self._is_excluded(address):
                    continue
                # Ranges can span scopes: check each address, not only the ends.
                if check_scope(address, allow_public=self.allow_public):
                    continue
                seen.add(text)
                yield text, block.hostname


def build_targets(
    specs: Iterable[str],
    excludes: Iterable[str] = (),
    *,
    allow_public: bool = False,
    max_hosts: int = DEFAULT_MAX_HOSTS,
) -> TargetSet:
    blocks = expand_specs(specs)
    if not blocks:
        raise TargetError("no targets given")
    targets = TargetSet(tuple(blocks), tuple(expand_specs(excludes)), allow_public)
    if targets.size_upper_bound > max_hosts:
        raise TargetError(
            f"targets expand to {targets.size_upper_bound} addresses, more than --max-hosts "
            f"{max_hosts}; narrow the targets or raise --max-hosts"
        )
    for block in blocks:
        for address in (block.first, block.last):
            reason = check_scope(address, allow_public=allow_public)
            if reason:
                raise TargetError(f"refusing target {block.spec}: {reason}")
    return targets


def parse_ports(text: str) -> tuple[int, ...]:
    """``80,443,8000-8010`` -> sorted unique ports."""
    ports: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                low_text, high_text = part.split("-", 1)
                low, high = int(low_text), int(high_text)
                if low > high:
                    raise ValueError
                ports.update(range(low, high + 1))
            else:
                ports.add(int(part))
        except ValueError:
            raise TargetError(f"bad port specification {part!r}") from None
    if not ports or min(ports) < 1 or max(ports) > 65535:
        raise TargetError(f"ports must be between 1 and 65535: {text!r}")
    return tuple(sorted(ports))
