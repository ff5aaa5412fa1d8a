"""Target specifications -> addresses, with the scope safety rules.

Accepted: IPv4/IPv6 literals, CIDRs, ranges (``a-b`` with full addresses, or
``10.0.0.5-40`` on the last octet), hostnames, and ``@file`` lists (one spec per line,
``#`` comments). Expansion is lazy so a /16 does not sit in memory.

Safety: addresses that are globally routable (public) are refused unless the caller
passes ``allow_public=True``; multicast, unspecified and reserved addresses are always
refused as scan targets.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import re
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from provscan.errors import TargetError
from provscan.interlock import ALLOWED_TARGETS_ENV, allowed_networks, outside_interlock

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


class PublicTarget(TargetError):
    """A target refused for lying in public (or carrier-grade NAT) space; ``interlocked``:
    outside the ``PROVSCAN_ALLOWED_TARGETS`` interlock too, so that ``allow_public`` would not
    let it through either. Each caller says what its user can do about it (the message names
    `provscan scan` and `provscan discover`, for the web console and the sensors, which never
    scan such addresses)."""

    def __init__(self, spec: str, interlocked: bool) -> None:
        super().__init__(f"refusing target {spec}: {_PUBLIC_ADDRESS}")
        self.spec = spec
        self.interlocked = interlocked

    def __reduce__(self) -> tuple[type[PublicTarget], tuple[str, bool]]:
        return type(self), (self.spec, self.interlocked)  # copied or pickled whole


class TooManyTargets(TargetError):
    """Targets that expand to more than ``limit`` addresses (``addresses`` of them): each
    caller says what its user can do about it (the message speaks to the command line)."""

    def __init__(self, addresses: int, limit: int) -> None:
        super().__init__(
            f"targets expand to {addresses} addresses, more than --max-hosts {limit}; "
            "narrow the targets or raise --max-hosts"
        )
        self.addresses = addresses
        self.limit = limit

    def __reduce__(self) -> tuple[type[TooManyTargets], tuple[int, int]]:
        return type(self), (self.addresses, self.limit)  # copied or pickled whole


def parse_address(text: str) -> IPAddress:
    """The IPv4 or IPv6 address ``text`` is (brackets around it allowed: ``[::1]``);
    ValueError for anything else, a host name included (never looked up)."""
    return ipaddress.ip_address(text.strip("[]"))


def _resolve(name: str) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetError(f"cannot resolve host name {name!r}: {exc}") from exc
    seen: list[IPAddress] = []
    for info in infos:
        address = parse_address(str(info[4][0]).split("%")[0])
        if address not in seen:
            seen.append(address)
    return seen


#: Letters typed for the digits they look like (a zero, a one).
_DIGIT_LOOKALIKES = {"O": "0", "o": "0", "l": "1", "I": "1"}


def mistyped_address(text: str) -> str | None:
    """For ``text`` shaped like an IPv4 address with a letter for a digit (``127.77.1.1O``:
    four dot-separated labels of digits and the letters O, o, l or I, at least one digit, each
    label at most 255 with those letters read as digits), the message saying so; else None.
    A host name made only of such labels is not one anybody has: the text is refused, never
    looked up."""
    labels = text.split(".")
    letters = sorted({char for char in text if char in _DIGIT_LOOKALIKES})
    if len(labels) != 4 or not letters or not any(char.isdigit() for char in text):
        return None
    for label in labels:
        digits = "".join(_DIGIT_LOOKALIKES.get(char, char) for char in label)
        if not (digits.isascii() and digits.isdigit()) or int(digits) > 255:
            return None
    which = " or ".join(letters)
    return f"{text} looks like a mistyped address (letter {which}?): not looked up as a host name"


#: ``scheme://[user@]host[:port][/path]``: a URL copied from a browser.
_URL = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(?P<host>\[[^\]/?#]*\]|[^:/?#]*)"
    r"(?::(?P<port>[0-9]*))?(?:[/?#].*)?",
    re.DOTALL,
)
#: ``host:port`` with an IPv4 address, a host name or a bracketed IPv6 address.
_HOST_PORT = re.compile(r"(?P<host>\[[^\]]+\]|[^:\[\]]+):(?P<port>[0-9]+)")
#: ``a.b.c.*``, ``a.b.*.*``, ``a.*.*.*``: wildcards for the last labels of an IPv4 address.
_WILDCARD = re.compile(r"(?P<fixed>[0-9]{1,3}(?:\.[0-9]{1,3}){0,2})(?P<stars>(?:\.\*){1,3})")


def _host_words(host: str, port: str | None) -> str | None:
    """What to write instead of ``host`` (and ``port``) when ``host`` is an address or a host
    name provscan takes (read, never looked up); None when it is neither."""
    bare = host.strip("[]")
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        if (
            looks_like_address(bare)
            or mistyped_address(bare) is not None
            or not _HOSTNAME.fullmatch(bare)
            or len(bare) > 60
        ):
            return None
    return f"{bare} --ports {int(port)}" if port else bare


def misshapen_target(spec: str) -> str | None:
    """For a target written the way another tool or a browser writes it, the one-line message
    that says what to write instead; None for anything else. ``127.77.1.10:80`` (a port:
    ``127.77.1.10 --ports 80``), ``http://127.77.1.10/`` (a URL: its host part) and
    ``127.77.1.*`` (a wildcard: the network ``127.77.1.0/24``, or a range). Nothing is
    looked up: a host name in a URL is only repeated."""
    shown = _shown(spec)
    url = _URL.fullmatch(spec)
    if url is not None:
        instead = _host_words(url["host"], url["port"]) if url["host"] else None
        where = f"; write its host part: {instead}" if instead else ""
        return f"bad target {shown}: a URL, not an address{where}"
    host_port = _HOST_PORT.fullmatch(spec)
    if host_port is not None:
        instead = _host_words(host_port["host"], host_port["port"])
        if instead is not None:
            return f"bad target {shown}: a port is not part of the address; write {instead}"
    wildcard = _WILDCARD.fullmatch(spec)
    if wildcard is not None:
        fixed = wildcard["fixed"].split(".")
        if len(fixed) + wildcard["stars"].count("*") == 4 and all(
            int(label) <= 255 for label in fixed
        ):
            prefix = 8 * len(fixed)
            network = ".".join([*fixed, *["0"] * (4 - len(fixed))])
            instead = f"{network}/{prefix}"
            if prefix == 24:
                instead += f" for the whole network, or a range such as {'.'.join(fixed)}.1-20"
            return f"bad target {shown}: wildcards are not accepted; write {instead}"
    return None


def parse_spec(spec: str) -> list[TargetBlock]:
    spec = spec.strip()
    if not spec:
        raise TargetError("empty target")
    # so is the address of a network or the start of a range: none of them is ever resolved
    for text in (spec, spec.partition("/")[0], spec.partition("-")[0]):
        mistyped = mistyped_address(text)
        if mistyped is not None:
            raise TargetError(mistyped)
    misshapen = misshapen_target(spec)
    if misshapen is not None:
        raise TargetError(misshapen)
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
            first = parse_address(left)
        except ValueError:
            first = None
        if first is not None:
            try:
                last = parse_address(right)
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
        address = parse_address(spec)
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


_PUBLIC_ADDRESS = (
    "public address (only `provscan scan` or `provscan discover` with --allow-public "
    "probe addresses you own on the internet)"
)


def check_scope(address: IPAddress, *, allow_public: bool) -> str | None:
    """Why ``address`` must not be scanned, or None when it may be."""
    if address.is_loopback:
        return None
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "multicast, unspecified or reserved address"
    if (address.is_global or address in _SHARED_ADDRESS_SPACE) and not allow_public:
        # (said the same way wherever targets come from: the web console and the sensors
        # never scan public addresses; only the command line's scan and discover can)
        return _PUBLIC_ADDRESS
    if outside_interlock(address):
        return f"outside {ALLOWED_TARGETS_ENV}, the scope interlock set in this environment"
    return None


#: A run of addresses as integers, both ends included.
_Span = tuple[int, int]
#: Networks this small are checked address by address when the scope rules are not uniform.
_SCOPE_LEAF_ADDRESSES = 16
#: The IANA special-purpose blocks (RFC 6890 registries: iana.org/assignments/
#: iana-ipv4-special-registry, iana-ipv6-special-registry) and the other networks that
#: :func:`check_scope`'s answer depends on. They only say where that answer MAY change: the
#: networks Python's ``ipaddress`` itself tests are added at run time, and a network listed
#: here needlessly costs a few more splits, never a wrong answer.
_SCOPE_EDGES_V4 = (
    "0.0.0.0/8", "0.0.0.0/32", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.0.0/29", "192.0.0.8/32", "192.0.0.9/32",
    "192.0.0.10/32", "192.0.0.170/31", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24",
    "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
)  # fmt: skip
_SCOPE_EDGES_V6 = (
    "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64",
    "2001::/23", "2001::/32", "2001:1::1/128", "2001:1::2/128", "2001:2::/48", "2001:3::/32",
    "2001:4:112::/48", "2001:10::/28", "2001:20::/28", "2001:30::/28", "2001:db8::/32",
    "2002::/16", "2620:4f:8000::/48", "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10",
    "ff00::/8",
)  # fmt: skip


def _networks_in(value: object) -> Iterator[IPNetwork]:
    if isinstance(value, IPNetwork):
        yield value
    elif isinstance(value, IPAddress):
        yield ipaddress.ip_network(value)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _networks_in(item)


@functools.cache
def _scope_edges(version: int) -> tuple[IPNetwork, ...]:
    """Networks inside or outside of which :func:`check_scope` (interlock aside) answers the
    same for every address: the registry above and whatever ``ipaddress`` tests (its private
    tables, read defensively: without them the registry still holds)."""
    texts = _SCOPE_EDGES_V4 if version == 4 else _SCOPE_EDGES_V6
    edges: set[IPNetwork] = {ipaddress.ip_network(text) for text in texts}
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    constants = getattr(cls, "_constants", None)
    for name, value in vars(constants).items() if constants is not None else ():
        if not name.startswith("__"):
            edges.update(n for n in _networks_in(value) if n.version == version)
    if version == 6:
        # An IPv4-mapped address (::ffff:a.b.c.d) is judged as its IPv4 address.
        for network in _scope_edges(4):
            mapped = int(network.network_address) | 0xFFFF_0000_0000
            edges.add(ipaddress.IPv6Network((mapped, 96 + network.prefixlen)))
    return tuple(sorted(edges, key=lambda n: (int(n.network_address), n.prefixlen)))


def _merged(spans: Iterable[_Span]) -> list[_Span]:
    """Sorted, disjoint, non-adjacent spans covering the same addresses."""
    merged: list[_Span] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def _intersected(spans: list[_Span], others: list[_Span]) -> list[_Span]:
    """The addresses in both (each list merged)."""
    result: list[_Span] = []
    i = j = 0
    while i < len(spans) and j < len(others):
        first = max(spans[i][0], others[j][0])
        last = min(spans[i][1], others[j][1])
        if first <= last:
            result.append((first, last))
        if spans[i][1] < others[j][1]:
            i += 1
        else:
            j += 1
    return result


def _subtracted(spans: list[_Span], holes: list[_Span]) -> list[_Span]:
    """The addresses of ``spans`` outside ``holes`` (each list merged)."""
    result: list[_Span] = []
    j = 0
    for first, last in spans:
        while j < len(holes) and holes[j][1] < first:
            j += 1
        k = j
        while k < len(holes) and holes[k][0] <= last:
            if holes[k][0] > first:
                result.append((first, holes[k][0] - 1))
            first = max(first, holes[k][1] + 1)
            k += 1
        if first <= last:
            result.append((first, last))
    return result


def _network_spans(networks: Iterable[IPNetwork], version: int) -> list[_Span]:
    return _merged(
        (int(n.network_address), int(n.broadcast_address)) for n in networks if n.version == version
    )


@dataclass(frozen=True)
class TargetSet:
    blocks: tuple[TargetBlock, ...]
    excluded: tuple[TargetBlock, ...]
    allow_public: bool = False

    @property
    def size_upper_bound(self) -> int:
        return sum(block.size for block in self.blocks)

    def name_notes(self) -> tuple[str, ...]:
        """``"localhost = 127.0.0.1"`` for each target given as a host name: the address(es)
        it was resolved to, which the scan's hosts are listed by (said once, in the scan's
        notes, so a silent ``localhost`` does not leave its address unsaid)."""
        resolved: dict[str, dict[str, None]] = {}
        for block in self.blocks:
            if block.hostname is not None:
                resolved.setdefault(block.hostname, {})[str(block.first)] = None
        return tuple(f"{name} = {', '.join(found)}" for name, found in resolved.items())

    # Set arithmetic on the blocks: what discovery needs to know about a target set of any
    # size (a /8 is 16M addresses) without listing its addresses. Each answer follows the
    # same rules as __iter__: inside a block, not excluded, in scope (check_scope).

    @functools.cached_property
    def _spans_by_version(self) -> dict[int, list[_Span]]:
        """The blocks minus the excluded addresses, per IP version (scope not yet applied)."""
        spans: dict[int, list[_Span]] = {}
        for version in sorted({block.first.version for block in self.blocks}):
            wanted = _merged(
                (int(b.first), int(b.last)) for b in self.blocks if b.first.version == version
            )
            holes = _merged(
                (int(b.first), int(b.last)) for b in self.excluded if b.first.version == version
            )
            spans[version] = _subtracted(wanted, holes)
        return spans

    def __contains__(self, address: object) -> bool:
        """True for an address (text or object) that iterating the set would yield."""
        if isinstance(address, str):
            try:
                parsed: IPAddress = parse_address(address.split("%", 1)[0])
            except ValueError:
                return False  # a host name, or no address at all
        elif isinstance(address, IPAddress):
            parsed = address
        else:
            return False
        spans = self._spans_by_version.get(parsed.version, [])
        value = int(parsed)
        index = bisect.bisect_right(spans, (value, value)) - 1
        for candidate in (index, index + 1):
            if 0 <= candidate < len(spans) and spans[candidate][0] <= value <= spans[candidate][1]:
                return check_scope(parsed, allow_public=self.allow_public) is None
        return False

    def _spans(
        self, within: Iterable[IPNetwork] | None, outside: Iterable[IPNetwork]
    ) -> Iterator[tuple[int, _Span]]:
        within = None if within is None else list(within)
        outside = list(outside)
        for version, spans in self._spans_by_version.items():
            if within is not None:
                spans = _intersected(spans, _network_spans(within, version))
            for span in _subtracted(spans, _network_spans(outside, version)):
                yield version, span

    def _in_scope(
        self, within: Iterable[IPNetwork] | None, outside: Iterable[IPNetwork]
    ) -> Iterator[IPNetwork]:
        """The set's addresses (restricted to ``within``, minus ``outside``) as networks in
        address order, found without testing every address: a network no scope edge (nor
        the interlock's) cuts gets the same answer for all its addresses."""
        interlock = allowed_networks() or ()
        edges_of: dict[int, list[_Span]] = {}
        for version, (first, last) in self._spans(within, outside):
            # one span per edge, never merged: nested edges (192.0.0.0/24 holds
            # 192.0.0.0/29) each mark where the answer may change
            edges = edges_of.setdefault(
                version,
                [
                    (int(n.network_address), int(n.broadcast_address))
                    for n in (*_scope_edges(version), *interlock)
                    if n.version == version
                ],
            )
            cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
            for network in ipaddress.summarize_address_range(cls(first), cls(last)):
                pending: list[IPNetwork] = [network]
                while pending:
                    piece = pending.pop()
                    if piece.num_addresses <= _SCOPE_LEAF_ADDRESSES:
                        for address in piece:
                            if check_scope(address, allow_public=self.allow_public) is None:
                                yield ipaddress.ip_network(address)
                        continue
                    low, high = int(piece.network_address), int(piece.broadcast_address)
                    if any(
                        start <= high and low <= end and not (start <= low and high <= end)
                        for start, end in edges
                    ):
                        # an edge cuts it: the upper half first, popped last, so addresses
                        # come out in order
                        lower, upper = piece.subnets()
                        pending += [upper, lower]
                    elif check_scope(piece.network_address, allow_public=self.allow_public) is None:
                        yield piece

    def count(
        self, within: Iterable[IPNetwork] | None = None, *, outside: Iterable[IPNetwork] = ()
    ) -> int:
        """How many addresses iterating the set yields (only those inside ``within``'s
        networks when given, none inside ``outside``'s), computed on the blocks."""
        return sum(piece.num_addresses for piece in self._in_scope(within, outside))

    def overlaps(self, within: Iterable[IPNetwork], *, outside: Iterable[IPNetwork] = ()) -> bool:
        """True when iterating the set yields at least one address inside ``within``."""
        return next(self._in_scope(within, outside), None) is not None

    def addresses(
        self, within: Iterable[IPNetwork] | None = None, *, outside: Iterable[IPNetwork] = ()
    ) -> Iterator[str]:
        """The set's addresses inside ``within`` (minus ``outside``), in address order, IPv4
        first. Count them first (:meth:`count`): this lists them one by one."""
        for piece in self._in_scope(within, outside):
            for address in piece:
                yield str(address)

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
    # Scope first: a target refused for where it is must not be told to raise --max-hosts.
    for block in blocks:
        for address in (block.first, block.last):
            reason = check_scope(address, allow_public=allow_public)
            if reason == _PUBLIC_ADDRESS:
                raise PublicTarget(block.spec, interlocked=outside_interlock(address))
            if reason:
                raise TargetError(f"refusing target {block.spec}: {reason}")
    if targets.size_upper_bound > max_hosts:
        raise TooManyTargets(targets.size_upper_bound, max_hosts)
    return targets


#: What a port list is, said wherever one is refused.
PORTS_ACCEPTED = "give numbers and ranges, e.g. --ports 22,23,80-90"


def _bad_port_item(part: str) -> str:
    """Why ``part`` (one comma-separated item of ``--ports``) is no port or range."""
    shown = _shown(part)
    reversed_range = re.fullmatch(r"\s*([0-9]+)\s*-\s*([0-9]+)\s*", part)
    if reversed_range:
        low, high = reversed_range.groups()
        return f"bad port range {shown}: it ends before it starts (write {int(high)}-{int(low)})"
    if re.fullmatch(r"[0-9]+(?:\s*[;:/| ]\s*[0-9]+)+", part):
        return f"bad port specification {shown}: ports are separated by commas; {PORTS_ACCEPTED}"
    if re.search(r"[A-Za-z]", part):
        return (
            f"bad port specification {shown}: service names are not accepted, only port "
            f"numbers; {PORTS_ACCEPTED}"
        )
    return f"bad port specification {shown}; {PORTS_ACCEPTED}"


def parse_ports(text: str) -> tuple[int, ...]:
    """``80,443,8000-8010`` -> sorted unique ports. An empty or blank value, or an empty item
    (``80,,443``), is an error rather than "no ports" or the default set: a script's unset
    variable must not scan what nobody asked for."""
    if not text.replace(",", " ").strip():
        raise TargetError("no ports given: name them, e.g. 80,443,8000-8010 (or leave --ports out)")
    ports: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise TargetError(f"empty item in port list {text!r}: ports are separated by one comma")
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
            raise TargetError(_bad_port_item(part)) from None
    if not ports or min(ports) < 1 or max(ports) > 65535:
        raise TargetError(f"ports must be between 1 and 65535: {text!r}")
    return tuple(sorted(ports))
