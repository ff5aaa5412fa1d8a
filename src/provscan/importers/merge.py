"""The records of one import's files -> one ``HostEvidence`` per device.

Records are joined on MAC first (a lease, a MAC table entry and a scan of the same device),
then on address (records without a MAC join the one MAC group that has their address, else
each other). A device that ends up without an address is skipped and counted: the scan
contract keys a device by ``ip`` (docs/decisions/0014-import.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from provscan.importers.interface import ImportRecord
from provscan.model import HostEvidence, Observation


@dataclass(frozen=True)
class ImportedEvidence:
    hosts: tuple[HostEvidence, ...]
    #: Devices (after joining) that had no IP address, per source.
    without_address: dict[str, int] = field(default_factory=dict)


def merge_records(records: Sequence[ImportRecord]) -> ImportedEvidence:
    groups: list[list[ImportRecord]] = []
    by_mac: dict[str, int] = {}
    loose: list[ImportRecord] = []
    for record in records:
        if record.mac is None:
            loose.append(record)
            continue
        index = by_mac.get(record.mac)
        if index is None:
            index = by_mac[record.mac] = len(groups)
            groups.append([])
        groups[index].append(record)
    by_address: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        for address in {r.address for r in group if r.address}:
            by_address.setdefault(address, []).append(index)
    loose_groups: dict[str, int] = {}
    for record in loose:
        if record.address is None:
            continue
        owners = by_address.get(record.address, [])
        if len(owners) == 1:
            groups[owners[0]].append(record)
            continue
        index = loose_groups.get(record.address)
        if index is None:
            index = loose_groups[record.address] = len(groups)
            groups.append([])
        groups[index].append(record)
    hosts: list[HostEvidence] = []
    without: dict[str, int] = {}
    for group in groups:
        host = _host(group)
        if host is None:
            source = group[0].source
            without[source] = without.get(source, 0) + 1
        else:
            hosts.append(host)
    return ImportedEvidence(tuple(hosts), without)


def _host(group: Sequence[ImportRecord]) -> HostEvidence | None:
    addresses = [r.address for r in group if r.address]
    if not addresses:
        return None
    address = addresses[0]
    sources = list(dict.fromkeys(r.source for r in group))
    notes = [f"imported from {source}" for source in sources]
    if len(set(addresses)) > 1:
        others = ", ".join(sorted(set(addresses) - {address}))
        notes.append(f"the same MAC was also recorded at {others}")
    for record in group:
        notes.extend(record.notes)
    observations: list[Observation] = []
    seen: set[Observation] = set()
    for record in group:
        for observation in record.observations:
            if observation not in seen:
                seen.add(observation)
                observations.append(observation)
    return HostEvidence(
        address,
        open_ports=tuple(sorted({p for r in group for p in r.open_ports})),
        observations=tuple(observations),
        mac=next((r.mac for r in group if r.mac), None),
        hostname=next((r.hostname for r in group if r.hostname), None),
        notes=tuple(notes),
        answered=True,
    )
