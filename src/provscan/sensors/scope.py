"""What a sensor will scan: its own ``--allow`` list is the last word, whatever it is asked."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from provscan.errors import ProvscanError
from provscan.targets import TargetSet, build_targets

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Addresses one request may cover (as a scan from the web console).
MAX_SENSOR_HOSTS = 4096


class OutsideAllowList(ProvscanError):
    """A request the sensor refuses (its message says why)."""


def parse_allow(text: str) -> tuple[IPNetwork, ...]:
    """``10.1.0.0/16,10.2.3.0/24`` -> networks; ValueError naming a bad one."""
    networks: list[IPNetwork] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not a network (CIDR) or address") from None
    if not networks:
        raise ValueError("--allow names no network")
    return tuple(networks)


def is_address_spec(spec: str) -> bool:
    """An address, a network or a range ``A-B`` / ``a.b.c.d-e``: never a host name (the
    sensor would resolve it) nor an ``@file`` (it would read the sensor's files)."""
    for parse in (ipaddress.ip_address, lambda s: ipaddress.ip_network(s, strict=False)):
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


def allowed_targets(specs: Sequence[str], allow: Sequence[IPNetwork]) -> TargetSet:
    """The targets of a request when every address of it lies in ``allow``; else
    :class:`OutsideAllowList`. The scope rules of the CLI (public addresses, the
    ``PROVSCAN_ALLOWED_TARGETS`` interlock) apply too."""
    cleaned = [spec.strip() for spec in specs if spec.strip()]
    if not cleaned:
        raise OutsideAllowList("no targets given")
    for spec in cleaned:
        if not is_address_spec(spec):
            raise OutsideAllowList(f"{spec!r} is not an address, network or range")
    try:
        targets = build_targets(cleaned, max_hosts=MAX_SENSOR_HOSTS)
    except ProvscanError as exc:
        raise OutsideAllowList(str(exc)) from None
    for block in targets.blocks:
        inside = any(
            block.first.version == network.version
            and block.first in network
            and block.last in network
            for network in allow
        )
        if not inside:
            shown = ",".join(str(network) for network in allow)
            raise OutsideAllowList(f"{block.spec} is outside this sensor's --allow {shown}")
    return targets
