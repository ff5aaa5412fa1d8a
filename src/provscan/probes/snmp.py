"""SNMPv2c read-only GET of sysDescr, sysObjectID and sysName (UDP 161), opt-in only.

Request: one ``GetRequest`` (RFC 3416) for three system-group objects with the community
the user supplied (``PROVSCAN_SNMP_COMMUNITY`` or ``host_probes(snmp_community=…)``; never a
guessed one), one datagram per host; nothing is ever set. Without a community the probe is
not registered at all (docs/decisions/0010-snmp-and-tr069.md).

It is a host-level probe: the scheduler asks it once per target host (hosts with no open
TCP port included), at the scan's rate, and records one ``snmp`` attempt on port 161.
"""

from __future__ import annotations

import ipaddress
import secrets

from provscan.model import Observation
from provscan.observations import snmp as observe
from provscan.transport.udp import Datagram, Route, exchange_datagrams
from provscan.wire import snmp as wire

#: How long the reply is awaited (an agent answers in milliseconds; slow CPE within 1 s).
SNMP_WAIT_S = 1.0
ENVIRONMENT_VARIABLE = "PROVSCAN_SNMP_COMMUNITY"


class SnmpProbe:
    """The host-level SNMP probe: one GET to UDP 161 of a host, its observations back."""

    name = "snmp"
    port = wire.SNMP_PORT
    #: The reply wait of one host (the scheduler adds no other deadline below its own).
    wait_s = SNMP_WAIT_S

    def __init__(self, community: str) -> None:
        if not community:
            raise ValueError("an SNMP community is required")
        self._community = community.encode("utf-8")

    def __repr__(self) -> str:  # the community is a credential: never shown
        return "SnmpProbe(community=<hidden>)"

    def applies_to_host(self, address: str) -> bool:
        """IPv4 only: the UDP transport opens IPv4 sockets."""
        try:
            return ipaddress.ip_address(address).version == 4
        except ValueError:
            return False

    async def query(self, address: str) -> list[Observation]:
        """One GET of the system group to ``address``; the answer's observations, or ``[]``."""
        return await query_system_group(address, self._community, self.wait_s, self.port)


async def query_system_group(
    address: str, community: bytes, wait_s: float = SNMP_WAIT_S, port: int = wire.SNMP_PORT
) -> list[Observation]:
    """One GET of the system group to ``address``; the answer's observations, or ``[]``."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return []
    if ip.version != 4:  # the UDP transport is IPv4-only
        return []
    request_id = secrets.randbelow(2**31 - 1) + 1
    payload = wire.encode_get_request(community, request_id)

    def parse(data: bytes, source: str, source_port: int) -> wire.SnmpMessage | None:
        return wire.parse_response(data, request_id) if source_port == port else None

    result = await exchange_datagrams(
        [Datagram(address, port, payload)],
        parse,
        route=Route("127.0.0.1" if ip.is_loopback else "0.0.0.0"),
        in_scope=lambda source: source == address,
        timeout_s=wait_s,
        repeat=1,
        enough=bool,  # the one answer asked for: no need to wait out the deadline
    )
    for message in result.replies:
        observations = observe.response_observations(message, f"udp/{port} v2c GET")
        if observations:
            return observations
    return []
