"""One device per physical host: replies are merged when they share an address, a MAC or a
serial number (a device may answer SADP on one address and WS-Discovery on another)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from provscan.discovery.interface import DiscoveredHost, DiscoveryReply
from provscan.model import Observation, address_sort_key
from provscan.observations.sighting import Sighting
from provscan.wire.mac import normalise_mac

#: Serials shorter than this ("0", "N/A") are not identities.
MIN_SERIAL_CHARS = 6


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, first: str, second: str) -> None:
        self.parent[self.find(first)] = self.find(second)


def reply_for(
    protocol: str, address: str, port: int, sighting: Sighting | None
) -> DiscoveryReply | None:
    """The reply of a datagram from ``address`` that the observation layer read (None: it
    was not a device's answer)."""
    if sighting is None:
        return None
    return DiscoveryReply(
        protocol, address, port, sighting.observations, mac=sighting.mac, serial=sighting.serial
    )


def merge_replies(
    replies: Sequence[DiscoveryReply],
    arp_macs: Mapping[str, str] | None = None,
    arp_source: str = "arp",
) -> list[DiscoveredHost]:
    """Group replies (and ARP answers) into hosts, sorted by address."""
    arp_macs = dict(arp_macs or {})
    groups = _UnionFind()
    for reply in replies:
        groups.find(f"ip:{reply.address}")
        if reply.mac:
            groups.union(f"ip:{reply.address}", f"mac:{reply.mac}")
        if reply.serial and len(reply.serial) >= MIN_SERIAL_CHARS:
            groups.union(f"ip:{reply.address}", f"sn:{reply.serial}")
    for address, arp_mac in arp_macs.items():
        groups.union(f"ip:{address}", f"mac:{arp_mac}")

    members: dict[str, list[DiscoveryReply]] = {}
    addresses: dict[str, set[str]] = {}
    for reply in replies:
        root = groups.find(f"ip:{reply.address}")
        members.setdefault(root, []).append(reply)
        addresses.setdefault(root, set()).add(reply.address)
    for address in arp_macs:
        root = groups.find(f"ip:{address}")
        members.setdefault(root, [])
        addresses.setdefault(root, set()).add(address)

    hosts: list[DiscoveredHost] = []
    for root, group in members.items():
        ordered = sorted(addresses[root], key=address_sort_key)
        primary = ordered[0]
        reported = [r.mac for r in group if r.mac]
        mac: str | None = None
        mac_source: str | None = None
        # The MAC seen on the wire (ARP) wins over the one a device reports about itself.
        notes: list[str] = []
        wire_mac = next((arp_macs[a] for a in ordered if a in arp_macs), None)
        if wire_mac:
            mac, mac_source = normalise_mac(wire_mac), arp_source
            if reported and reported[0] != mac:
                notes.append(f"device reports MAC {reported[0]}, {arp_source} saw {mac}")
        elif reported:
            mac, mac_source = reported[0], next(r.protocol for r in group if r.mac)
        serial = next((r.serial for r in group if r.serial), None)
        protocols = tuple(dict.fromkeys(r.protocol for r in group)) or ("arp",)
        observations: list[Observation] = []
        seen: set[Observation] = set()
        for reply in group:
            for observation in reply.observations:
                if observation not in seen:
                    seen.add(observation)
                    observations.append(observation)
            notes.extend(reply.notes)
        if len(ordered) > 1:
            notes.append(f"one device answered on {', '.join(ordered)} (same MAC or serial)")
        hosts.append(
            DiscoveredHost(
                address=primary,
                mac=mac,
                mac_source=mac_source,
                serial=serial,
                protocols=protocols,
                observations=tuple(observations),
                other_addresses=tuple(ordered[1:]),
                notes=tuple(dict.fromkeys(notes)),
            )
        )
    hosts.sort(key=lambda h: address_sort_key(h.address))
    return hosts
