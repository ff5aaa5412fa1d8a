"""The scope interlock: a hard outer limit on where provscan may send anything.

When ``PROVSCAN_ALLOWED_TARGETS`` is set (comma-separated CIDRs), every target address and
every interface used for discovery must lie inside one of them, whatever the command line
says. The test suite sets it to loopback (and its own namespace networks), so a mistake in a
test or an example can never put traffic on a real network. Unset, it changes nothing.
"""

from __future__ import annotations

import ipaddress
import os

ALLOWED_TARGETS_ENV = "PROVSCAN_ALLOWED_TARGETS"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed_networks() -> tuple[Network, ...] | None:
    """The interlock's networks, or None when it is off. A malformed value allows nothing."""
    value = os.environ.get(ALLOWED_TARGETS_ENV)
    if value is None:
        return None
    networks: list[Network] = []
    for part in value.split(","):
        try:
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            return ()  # fail closed: a typo in the interlock must not open it
    return tuple(networks)


def outside_interlock(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True when the interlock is on and ``address`` is outside every allowed network."""
    networks = allowed_networks()
    if networks is None:
        return False
    parsed = ipaddress.ip_address(address)
    return not any(parsed.version == net.version and parsed in net for net in networks)
