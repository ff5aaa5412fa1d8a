"""SNMPv2c read-only GET of sysDescr, sysObjectID and sysName (UDP 161), opt-in only.

Request: one ``GetRequest`` (RFC 3416) for three system-group objects with the community
the user supplied (``PROVSCAN_SNMP_COMMUNITY`` or ``all_probes(snmp_community=…)``; never a
guessed one), sent twice in case UDP drops one; nothing is ever set. Without a community
the probe is not registered at all (docs/decisions/0010-snmp-and-tr069.md).

The scheduler runs probes on open TCP ports only, so this probe rides on one of them: it
applies to every port but sends its datagram from the host's lowest open port that another
(specific) probe claims, or the lowest open port when none is claimed. In that second case
it also reads the port's banner, the work the fallback stage would otherwise have done
(its observations would be lost because the stage "saw something"). A device with no open
TCP port is not queried; a scheduler-level host probe would lift that (see the decision).
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Sequence

from provscan.model import Observation
from provscan.observations import banner as banner_observations
from provscan.observations import snmp as observe
from provscan.probes.banner import BANNER_WAIT_S, read_banner
from provscan.probes.interface import Probe, ProbeContext, ProbeError
from provscan.transport.udp import Datagram, Route, exchange_datagrams
from provscan.wire import snmp as wire

#: How long the reply is awaited (an agent answers in milliseconds; slow CPE within 1 s).
SNMP_WAIT_S = 1.0
ENVIRONMENT_VARIABLE = "PROVSCAN_SNMP_COMMUNITY"


class SnmpProbe(Probe):
    name = "snmp"
    order = 80

    def __init__(self, community: str, other_probes: Sequence[Probe] = ()) -> None:
        if not community:
            raise ValueError("an SNMP community is required")
        self._community = community.encode("utf-8")
        self._others = tuple(p for p in other_probes if p.name not in {"banner", self.name})

    def __repr__(self) -> str:  # the community is a credential: never shown
        return "SnmpProbe(community=<hidden>)"

    def applies_to(self, port: int) -> bool:
        return True

    def _claimed(self, port: int) -> bool:
        return any(p.applies_to(port) for p in self._others)

    def carrier_port(self, open_ports: Sequence[int]) -> int | None:
        """The open TCP port this probe runs on for a host (see the module text)."""
        ports = sorted(open_ports)
        claimed = [p for p in ports if self._claimed(p)]
        chosen = claimed or ports
        return chosen[0] if chosen else None

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        if self.carrier_port(list(ctx.port_state())) != ctx.port:
            return []
        found = await query_system_group(ctx.address, self._community, SNMP_WAIT_S)
        if not self._claimed(ctx.port):
            found += await self._banner(ctx)
        return found

    async def _banner(self, ctx: ProbeContext) -> list[Observation]:
        try:
            stream = await ctx.connect()
        except ProbeError:
            return []
        try:
            data = await read_banner(stream, min(BANNER_WAIT_S, ctx.limits.read_timeout_s))
        finally:
            await stream.close()
        return banner_observations.banner_observations(ctx.port, data, f"{len(data)} bytes read")


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
    )
    for message in result.replies:
        observations = observe.response_observations(message, f"udp/{port} v2c GET")
        if observations:
            return observations
    return []
