"""The inventory: one row per physical device across scans, kept up to date as scans arrive.

Each device of a stored scan is matched to an inventory device, strongest evidence first
(the rule that matched is recorded on the sighting):

1. ``mac``: the same MAC address, at any address or site (DHCP moves, re-addressing);
2. ``serial``: the same serial number, when the makers do not disagree;
3. ``address…``: at the same site and address, a device that is not gone and whose MAC,
   serial, maker and model do not contradict this one; the rule names what agreed
   (``address+maker+model``, ``address+maker``, ``address``). A scan that names no site
   (:func:`_match`) looks first among the devices of no site, then at the devices of the
   one named site that has such a device at that address (none when several sites do).

A scan that names no site never takes a device's site away: a device it matches keeps the
site it is known at (a named site's scan sets the site of the devices it sees).

Anything else is a new device (``new``): a camera replaced at the same address has another
MAC, serial or model, so it becomes a new device and the old one, no longer seen there, goes
missing. A device is matched at most once per scan.

A scan *covers* the addresses it set out to probe (its targets less its exclusions, kept as
ranges on the scan), at its site, when it ran to completion; captures, discovery and imports
cover nothing, because not hearing from a device proves nothing. It covers a *device* only
when it covers the device's address and probed every port the device's newest sighting saw
open (:func:`unprobed`): a scan of ``--ports 80,443`` did not look for a camera seen on 554
and 8000, and its silence there proves nothing. A device last seen on no port (it answered
only discovery or SNMP), or whose newest sighting is no longer stored, is covered by its
address alone, as before. A device not seen by a scan covering it, newer than its last
sighting, is ``missing``; after ``gone_after`` such scans in a row it is ``gone``. Seen
again, it is ``present``.

A restricted device that such a scan does not see is not counted missing either when the same
scan sees, at another address of its site, a device first seen after it was last seen that
nothing tells apart from it (:func:`could_have_moved`: the same maker, no brand, model, MAC or
serial that differs): without a MAC or serial a re-addressed device becomes a new device, and
the old one *possibly moved* there (:attr:`IngestOutcome.moved`); its absence proves no
removal.

The newest sighting sets a device's address, last sighting and status; its verdict,
``restricted``, confidence and findings come from the newest sighting that identified it
(:func:`identified`): one that identified nothing (its TCP resets in a capture) keeps them.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, tuple_, update
from sqlalchemy.orm import Session

from provscan.report.contract import verdict_of
from provscan.store.models import (
    CaseRow,
    DeviceRow,
    InventoryRow,
    MetaRow,
    ScanRow,
    SightingRow,
    insert_rows,
)

STATUSES = ("present", "missing", "gone")
#: Covering scans in a row that must miss a device before it is ``gone``.
DEFAULT_GONE_AFTER = 3
_LOCK_KEY = "inventory"
#: Longest serial used for matching (serials are device text; longer ones are cut).
_SERIAL_KEY_LENGTH = 128


def address_key(ip: str) -> str:
    """A fixed-width, sortable text form of an address (``4`` + 8 hex, ``6`` + 32 hex), so
    that a range of addresses is a range of keys on every database; text that is no
    address gets a key after every address."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "z" + ip[:38]
    width = 8 if address.version == 4 else 32
    return f"{address.version}{int(address):0{width}x}"


def _block_keys(spec: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] | None:
    """First and last address of a target spec (address, CIDR or ``a-b`` range); None when
    the spec is not an address form (a name, a file reference)."""
    text = spec.strip()
    try:
        network = ipaddress.ip_network(text, strict=False)
        return network[0], network[-1]
    except ValueError:
        pass
    if "-" in text:
        low_text, high_text = text.split("-", 1)
        try:
            low = ipaddress.ip_address(low_text.strip())
        except ValueError:
            return None
        high_text = high_text.strip()
        try:
            high = ipaddress.ip_address(high_text)
        except ValueError:
            # 10.0.0.1-20: the last octet only
            if low.version != 4 or not high_text.isdigit():
                return None
            high = ipaddress.ip_address(".".join([*str(low).split(".")[:3], high_text]))
        if high.version == low.version and int(high) >= int(low):
            return low, high
    return None


def coverage_ranges(targets: Iterable[str], excludes: Iterable[str] = ()) -> list[list[str]]:
    """The address ranges ``targets`` less ``excludes`` cover, as ``[low_key, high_key]``
    pairs (see :func:`address_key`). Specs that are not addresses cover nothing."""
    spans: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for spec in targets:
        keys = _block_keys(spec)
        if keys:
            spans[keys[0].version].append((int(keys[0]), int(keys[1])))
    for spec in excludes:
        keys = _block_keys(spec)
        if not keys:
            continue
        low, high = int(keys[0]), int(keys[1])
        kept: list[tuple[int, int]] = []
        for first, last in spans[keys[0].version]:
            if last < low or first > high:
                kept.append((first, last))
                continue
            if first < low:
                kept.append((first, low - 1))
            if last > high:
                kept.append((high + 1, last))
        spans[keys[0].version] = kept
    ranges: list[list[str]] = []
    for version, found in spans.items():
        width = 8 if version == 4 else 32
        merged: list[tuple[int, int]] = []
        for first, last in sorted(found):
            if merged and first <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        ranges.extend(
            [f"{version}{first:0{width}x}", f"{version}{last:0{width}x}"] for first, last in merged
        )
    return ranges


def covers(ranges: Sequence[Sequence[str]], key: str) -> bool:
    return any(low <= key <= high for low, high in ranges)


def port_list(value: Any) -> tuple[int, ...] | None:
    """A stored list of port numbers (a document's ``ports`` or ``open_ports``), sorted;
    None when it is not one (not stored, or not a list)."""
    if not isinstance(value, list):
        return None
    return tuple(
        sorted({p for p in value if isinstance(p, int) and not isinstance(p, bool) and p > 0})
    )


def probed_ports(scan_document: dict[str, Any] | None) -> frozenset[int]:
    """The TCP ports a scan probed on each address it covered: its section's ``ports``."""
    return frozenset(port_list((scan_document or {}).get("ports")) or ())


def unprobed(last_ports: Iterable[int] | None, probed: Iterable[int]) -> tuple[int, ...]:
    """The ports a device was last seen on (its newest sighting's ``open_ports``) that a scan
    covering its address did not probe, in order: when there are any, the scan did not look
    where the device was, and not seeing it proves nothing. Empty when the scan probed every
    one of them, and when none is known (a device last seen on no TCP port, answering only
    discovery or SNMP, or whose newest sighting is no longer stored): its address decides."""
    asked = set(probed)
    return tuple(sorted({port for port in last_ports or () if port not in asked}))


#: What :func:`could_have_moved` compares: maker, brand, model, MAC, serial.
Identity = tuple[str | None, str | None, str | None, str | None, str | None]
#: A device a scan saw, as :func:`moved_to` reads it: device id, address key, first seen,
#: identity.
Candidate = tuple[str, str, datetime, Identity]


def identity_of(values: Any) -> Identity:
    """The :data:`Identity` of an inventory row or of a sighting's document."""
    if isinstance(values, dict):
        return (
            values.get("manufacturer"),
            values.get("brand"),
            values.get("model"),
            values.get("mac"),
            values.get("serial"),
        )
    return (values.manufacturer, values.brand, values.model, values.mac, values.serial)


def could_have_moved(missed: Identity, seen: Identity) -> bool:
    """Whether a device a scan did not see (``missed``, as the inventory has it) may be a
    device that scan saw at another address (``seen``, as the sighting has it): the same
    maker (known), and no brand, model, MAC or serial that differs (one side not knowing
    it does not tell them apart). A device with a MAC or serial the scan read again is
    matched to its own row wherever it is, so this matters for devices without either."""
    maker = _folded(missed[0])
    if maker is None or maker != _folded(seen[0]):
        return False
    return not any(_conflict(a, b) for a, b in zip(missed[1:], seen[1:], strict=True))


def moved_to(
    missed: Identity, address_key_: str, last_seen: datetime, seen: Iterable[Candidate]
) -> Candidate | None:
    """The first of ``seen`` (devices a scan saw, each ``(device_id, ip_key, first_seen,
    identity)``) that the device ``missed`` (last at ``address_key_``, last seen at
    ``last_seen``) may have moved to: at another address, first seen after it was last seen,
    and :func:`could_have_moved`. The inventory (:func:`ingest`) and the compliance report's
    trend (which replays it) decide with this one function."""
    for candidate in seen:
        _, key, first_seen, identity = candidate
        if (
            key != address_key_
            and _aware(first_seen) > _aware(last_seen)
            and could_have_moved(missed, identity)
        ):
            return candidate
    return None


def _folded(value: str | None) -> str | None:
    return value.strip().casefold() if value and value.strip() else None


def _serial_key(serial: str | None) -> str | None:
    folded = _folded(serial)
    return folded[:_SERIAL_KEY_LENGTH] if folded else None


def compact_findings(document: dict[str, Any]) -> list[dict[str, Any]]:
    """What the inventory keeps of a device's findings (the full entries stay in the scan):
    policy, measure (its title: a policy has several), jurisdiction and family, and effect,
    binding and condition (a measure that restricts only if it holds) where the document has
    them."""
    kept = ("policy", "measure", "jurisdiction", "family", "effect", "binding", "condition")
    return [
        {key: finding[key] for key in kept if key in finding}
        for finding in document.get("findings", [])
    ]


def document_verdict(document: dict[str, Any]) -> str:
    """A stored device document's verdict, from the fields it is made of (1.4 documents
    carry it; older ones do not), by the contract's one function."""
    return verdict_of(
        bool(document.get("restricted")), document.get("notes") or (), document.get("manufacturer")
    )


def _conflict(stored: str | None, seen: str | None) -> bool:
    a, b = _folded(stored), _folded(seen)
    return a is not None and b is not None and a != b


#: What matching, the inventory's values and the cases (:func:`provscan.store.cases.subjects`)
#: read of a device's document: its fields, and for lists of entries the keys kept of each.
#: A sighting keeps only these, not the evidence, attempts and texts that make a document
#: large, so a capture's thousands of devices are light while the scan is added. ``verdict``
#: is the contract's, which :meth:`Sighting.of` gives documents stored before it (1.3) too.
_SIGHTING_FIELDS: dict[str, tuple[str, ...] | None] = {
    "ip": None,
    "mac": None,
    "serial": None,
    "hostname": None,
    "manufacturer": None,
    "brand": None,
    "family": None,
    "model": None,
    "firmware": None,
    "device_type": None,
    "confidence": None,
    "restricted": None,
    "verdict": None,
    "alternatives": ("maker",),
    "findings": (
        "policy",
        "measure",
        "jurisdiction",
        "family",
        "effect",
        "binding",
        "deadline",
        "condition",
    ),
    "exposure": ("kind", "detail"),
    "vulnerabilities": ("cve",),
    "remediation": ("action", "reason", "priority", "condition"),
}


class _Kept(dict[str, Any]):
    """Part of a device document, kept for a sighting: reading a key that was not kept is a
    programming error and says so, instead of passing for a value the document lacks (a field
    added to what the inventory or the cases read must be added to ``_SIGHTING_FIELDS``)."""

    __slots__ = ("_allowed",)

    def __init__(self, allowed: Iterable[str], values: dict[str, Any]) -> None:
        super().__init__(values)
        self._allowed = frozenset(allowed)

    def _check(self, key: str) -> None:
        if key not in self._allowed:
            raise LookupError(
                f"{key!r} is not kept in a sighting: add it to inventory._SIGHTING_FIELDS"
            )

    def __getitem__(self, key: str) -> Any:
        self._check(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._check(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self._check(key)
        return super().__contains__(key)


@dataclass(frozen=True)
class Sighting:
    """A device of the scan being added, with what matching reads of it."""

    position: int
    #: The part of the device's document the inventory and the cases read (see :meth:`of`).
    document: dict[str, Any]

    @classmethod
    def of(cls, position: int, document: dict[str, Any]) -> Sighting:
        """The sighting of a device document (its JSON form) at ``position`` in its scan."""
        kept: dict[str, Any] = {}
        for name, keys in _SIGHTING_FIELDS.items():
            if name not in document:
                continue
            value = document[name]
            if keys is not None:
                value = [
                    _Kept(keys, {key: item[key] for key in keys if key in item}) for item in value
                ]
            kept[name] = value
        # The verdict the contract gives the document (1.4 writes it; a document stored
        # before has the fields it is made from), decided in one place: the review notes it
        # reads are not kept.
        kept["verdict"] = document_verdict(document)
        return cls(position, _Kept(_SIGHTING_FIELDS, kept))

    def get(self, name: str) -> Any:
        return self.document.get(name)


def stored_sightings(session: Session, scan_id: str) -> list[Sighting]:
    """The sightings of a scan already in the store (one stored before the inventory
    existed, or by an interrupted save), in contract order."""
    documents = session.execute(
        select(DeviceRow.position, DeviceRow.document)
        .where(DeviceRow.scan_id == scan_id)
        .order_by(DeviceRow.position)
        .execution_options(yield_per=500)  # documents read in batches, not all at once
    )
    return [Sighting.of(position, document) for position, document in documents]


def _address_rule(row: InventoryRow, seen: Sighting) -> str | None:
    """The address rule that matches ``row`` to ``seen``, or None when they contradict."""
    for stored, new in (
        (row.mac, seen.get("mac")),
        (row.serial, seen.get("serial")),
        (row.manufacturer, seen.get("manufacturer")),
        (row.model, seen.get("model")),
    ):
        if _conflict(stored, new):
            return None
    agreed = ["address"]
    if _folded(row.manufacturer) and _folded(row.manufacturer) == _folded(seen.get("manufacturer")):
        agreed.append("maker")
    if _folded(row.model) and _folded(row.model) == _folded(seen.get("model")):
        agreed.append("model")
    return "+".join(agreed)


def lock_inventory(session: Session) -> None:
    """Take the inventory lock: the first write of the transaction, so that concurrent
    writers queue here (a row lock on PostgreSQL, the write lock on SQLite)."""
    session.execute(update(MetaRow).where(MetaRow.key == _LOCK_KEY).values(value=MetaRow.value + 1))


def _candidates(session: Session, site: str | None, seen: Sequence[Sighting]) -> list[InventoryRow]:
    macs = {s.get("mac") for s in seen if s.get("mac")}
    serials = {key for s in seen if (key := _serial_key(s.get("serial")))}
    keys = {address_key(s.get("ip")) for s in seen}
    conditions: list[ColumnElement[bool]] = []
    if macs:
        conditions.append(InventoryRow.mac.in_(macs))
    if serials:
        conditions.append(InventoryRow.serial_key.in_(serials))
    if keys:
        # A scan that names no site may match a device of any site at the address (_match).
        place = [InventoryRow.ip_key.in_(keys), InventoryRow.status != "gone"]
        if site is not None:
            place.append(InventoryRow.site == site)
        conditions.append(and_(*place))
    if not conditions:
        return []
    # In a fixed order (the device known longest first): matching is greedy, and without an
    # order the database's plan decided which of two rows sharing a serial a device took
    # (SQLite and PostgreSQL gave different inventories from the same scans).
    query = select(InventoryRow).where(or_(*conditions))
    return list(session.scalars(query.order_by(InventoryRow.first_seen, InventoryRow.device_id)))


class _Candidates:
    """The candidate rows of a scan by MAC, serial key and place (site and address key), each
    list in the candidates' order: a sighting looks only at the rows that can match it.

    Built before matching starts: a row whose values a sighting then changes is taken, and
    taken rows are skipped, so the lookups stay those of the untaken rows."""

    def __init__(self, rows: Iterable[InventoryRow]) -> None:
        self.by_mac: dict[str, list[InventoryRow]] = {}
        self.by_serial: dict[str, list[InventoryRow]] = {}
        self.by_place: dict[tuple[str | None, str], list[InventoryRow]] = {}
        #: address key -> the rows at it at a named site (for a scan that names none)
        self.named_sites_at: dict[str, list[InventoryRow]] = {}
        for row in rows:
            if row.mac:
                self.by_mac.setdefault(row.mac, []).append(row)
            if row.serial_key:
                self.by_serial.setdefault(row.serial_key, []).append(row)
            self.by_place.setdefault((row.site, row.ip_key), []).append(row)
            if row.site is not None:
                self.named_sites_at.setdefault(row.ip_key, []).append(row)


def _match(
    seen: Sighting, site: str | None, candidates: _Candidates, taken: set[str]
) -> tuple[InventoryRow | None, str]:
    mac = seen.get("mac")
    if mac:
        for row in candidates.by_mac.get(mac, ()):
            if row.device_id not in taken:
                return row, "mac"
    serial = _serial_key(seen.get("serial"))
    if serial:
        for row in candidates.by_serial.get(serial, ()):
            if (
                row.device_id not in taken
                and not _conflict(row.manufacturer, seen.get("manufacturer"))
                and not _conflict(row.mac, mac)
            ):
                return row, "serial"
    key = address_key(seen.get("ip"))
    best = _best_at(seen, candidates.by_place.get((site, key), ()), taken)
    if best is None and site is None:
        # A scan that names no site, at an address where no device of no site agrees: the
        # device of the one named site that agrees there (several sites: it cannot tell
        # which, and makes a device of no site, as before).
        rows = candidates.named_sites_at.get(key, ())
        agreeing = [row for row in rows if _best_at(seen, [row], taken)]
        if len({row.site for row in agreeing}) == 1:
            best = _best_at(seen, agreeing, taken)
    return best if best else (None, "new")


def _best_at(
    seen: Sighting, rows: Iterable[InventoryRow], taken: set[str]
) -> tuple[InventoryRow, str] | None:
    """Of ``rows`` (devices at the sighting's place), the untaken one not gone whose values
    agree best with ``seen`` (:func:`_address_rule`), and the rule; None when none agrees."""
    best: tuple[InventoryRow, str] | None = None
    for row in rows:
        if row.device_id in taken or row.status == "gone":
            continue
        rule = _address_rule(row, seen)
        if rule and (best is None or rule.count("+") > best[1].count("+")):
            best = row, rule
    return best


def _copy_values(row: InventoryRow, seen: Sighting) -> None:
    document = seen.document
    row.ip = document["ip"]
    row.ip_key = address_key(document["ip"])
    row.mac = document.get("mac") or row.mac
    row.serial = document.get("serial") or row.serial
    row.serial_key = _serial_key(row.serial)
    row.hostname = document.get("hostname") or row.hostname
    for name in ("manufacturer", "brand", "family", "model", "firmware", "device_type"):
        # A sighting with less evidence (no model this time) keeps what was known.
        value = document.get(name)
        if value is not None:
            setattr(row, name, value)
    if identified(document) or row.verdict is None:  # (None: a device being made)
        # The verdict of the newest sighting that identified the device, like ``restricted``,
        # the confidence and the findings: a rule fix that identifies it again changes them.
        row.confidence = float(document.get("confidence", 0.0))
        row.restricted = bool(document.get("restricted"))
        row.verdict = document["verdict"]
        row.findings = compact_findings(document)
    # A sighting that identified nothing (a capture of its TCP resets, a scan of ports it
    # does not answer with anything it can be told by) keeps what was established: not
    # hearing its maker this time proves nothing. A device never identified is ``unknown``.


def identified(document: dict[str, Any]) -> bool:
    """Whether a sighting (a device document, or what a :class:`Sighting` keeps of one)
    identified anything the verdict is made of: a maker claim, a restriction or a review
    note, i.e. any verdict but ``unknown``. One that did not (a device that only answered
    with resets, a port nothing could be read from) leaves a device's verdict as it was."""
    verdict = document.get("verdict") or document_verdict(document)
    return bool(verdict != "unknown" or document.get("manufacturer"))


@dataclass
class IngestOutcome:
    """What adding one scan changed in the inventory (read by the cases)."""

    #: device_id -> what the cases read of the device's document (:attr:`Sighting.document`),
    #: for devices this scan saw
    seen: dict[str, dict[str, Any]]
    #: device_ids this scan covered and did not see
    unseen: list[str]
    new: list[str]
    #: devices restricted now that were not before (new ones included)
    newly_restricted: list[InventoryRow] = field(default_factory=list)
    #: device_id -> inventory row, of the devices seen and unseen (the cases' events
    #: describe them; held here, the rows stay in the session and are not read again)
    rows: dict[str, InventoryRow] = field(default_factory=dict)
    #: device_id -> the ports it was last seen on that this scan, covering its address, did
    #: not probe: not seen, and not counted missing (the scan did not look there)
    not_probed: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: device_id -> the device this scan saw at another address that it may have moved to
    #: (:func:`moved_to`): not seen here, and not counted missing
    moved: dict[str, InventoryRow] = field(default_factory=dict)


def ingest(
    session: Session,
    scan: ScanRow,
    seen: Sequence[Sighting],
    gone_after: int = DEFAULT_GONE_AFTER,
) -> IngestOutcome:
    """Add a stored scan's devices (``seen``, in contract order) to the inventory, inside
    the caller's transaction."""
    lock_inventory(session)
    candidates = _Candidates(_candidates(session, scan.site, seen))
    when = scan.started_at
    taken: set[str] = set()
    outcome = IngestOutcome({}, [], [])
    sightings: list[dict[str, Any]] = []
    for sighting in seen:
        row, rule = _match(sighting, scan.site, candidates, taken)
        if row is None:
            row = InventoryRow(
                device_id=f"dev-{uuid.uuid4().hex[:12]}",
                site=scan.site,
                first_seen=when,
                last_seen=when,
                last_scan_id=scan.id,
                last_position=sighting.position,
                status="present",
                missed=0,
                match_rule="new",
            )
            _copy_values(row, sighting)
            session.add(row)
            outcome.new.append(row.device_id)
            if row.restricted:
                outcome.newly_restricted.append(row)
        elif _aware(row.last_seen) <= _aware(when):
            # The newest sighting sets the device's values; an older scan stored late only
            # adds its sighting (and may move first_seen back).
            was_restricted = row.restricted
            _copy_values(row, sighting)
            if row.restricted and not was_restricted:
                outcome.newly_restricted.append(row)
            if scan.site is not None:  # a scan that names no site leaves the known one
                row.site = scan.site
            row.last_seen = when
            row.last_scan_id = scan.id
            row.last_position = sighting.position
            row.status = "present"
            row.missed = 0
            row.match_rule = rule
        elif _aware(row.first_seen) > _aware(when):
            row.first_seen = when
        taken.add(row.device_id)
        sightings.append(
            {
                "scan_id": scan.id,
                "position": sighting.position,
                "device_id": row.device_id,
                "rule": rule,
            }
        )
        outcome.seen[row.device_id] = sighting.document
        outcome.rows[row.device_id] = row
    session.flush()
    insert_rows(session, SightingRow, sightings)
    _mark_unseen(session, scan, gone_after, outcome)
    scan.inventoried = True
    return outcome


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back naive (they were stored in UTC).
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def covering(scan: ScanRow) -> list[list[str]]:
    """The ranges ``scan`` proves absence in: its coverage when it ran to completion."""
    return list(scan.coverage or []) if scan.complete else []


def last_ports(session: Session, rows: Iterable[InventoryRow]) -> dict[str, tuple[int, ...]]:
    """device_id -> the ports each device's newest sighting saw open (``open_ports`` of the
    document at its ``last_scan_id``/``last_position``); a device whose sighting is no longer
    stored is left out. Only that field is read, not the documents."""
    wanted: dict[tuple[str, int], str] = {
        (row.last_scan_id, row.last_position): row.device_id for row in rows
    }
    found: dict[str, tuple[int, ...]] = {}
    pairs = sorted(wanted)
    for start in range(0, len(pairs), _PORTS_CHUNK):
        chunk = pairs[start : start + _PORTS_CHUNK]
        query = select(DeviceRow.scan_id, DeviceRow.position, DeviceRow.document["open_ports"])
        query = query.where(tuple_(DeviceRow.scan_id, DeviceRow.position).in_(chunk))
        for scan_id, position, ports in session.execute(query):
            listed = port_list(ports)
            if listed is not None:
                found[wanted[scan_id, position]] = listed
    return found


#: Sightings whose ports :func:`last_ports` reads in one query.
_PORTS_CHUNK = 400


def _unseen_rows(
    session: Session,
    site: str | None,
    ranges: Sequence[Sequence[str]],
    started_at: datetime,
    seen: Iterable[str] = (),
) -> list[InventoryRow]:
    """The devices of ``site`` inside ``ranges``, not gone, last seen before ``started_at``
    and not among the ``seen`` device ids: those a covering scan may count missing."""
    if not ranges:
        return []
    same_site = InventoryRow.site.is_(None) if site is None else InventoryRow.site == site
    in_range = or_(*(InventoryRow.ip_key.between(low, high) for low, high in ranges))
    taken = set(seen)
    return [
        row
        for row in session.scalars(
            select(InventoryRow).where(same_site, in_range, InventoryRow.status != "gone")
        )
        if row.device_id not in taken and _aware(row.last_seen) < _aware(started_at)
    ]


#: The restricted-maker case statuses in which a person said the device was taken away (or a
#: scan proved it): a scan that nothing answered may count such a device missing.
DECLARED_GONE = ("removed", "replaced", "verified")


def silent_scan_misses(
    session: Session,
    site: str | None,
    coverage: Sequence[Sequence[str]],
    ports: Iterable[int],
    started_at: datetime,
) -> list[InventoryRow]:
    """The devices a complete scan of ``coverage`` (at ``site``, probing ``ports``, started
    at ``started_at``) that saw no device at all would count missing (as :func:`ingest` would:
    covered, every port they were last seen on probed) although nobody said they were taken
    away (their restricted-maker case is not one of :data:`DECLARED_GONE`). Read only.

    Such a scan cannot tell an empty network from one out of reach (a VPN down, the wrong
    interface, the lab not started): the command line stores it only when this is empty, or
    when the user says the addresses really are empty (``--store-empty``)."""
    rows = _unseen_rows(session, site, coverage, started_at)
    if not rows:
        return []
    probed = frozenset(ports)
    last = last_ports(session, rows)
    rows = [row for row in rows if not unprobed(last.get(row.device_id), probed)]
    declared = set(
        session.scalars(
            select(CaseRow.device_id).where(
                CaseRow.device_id.in_([row.device_id for row in rows]),
                CaseRow.subject == "restricted",
                CaseRow.status.in_(DECLARED_GONE),
            )
        )
    )
    return [row for row in rows if row.device_id not in declared]


def _mark_unseen(session: Session, scan: ScanRow, gone_after: int, outcome: IngestOutcome) -> None:
    """The devices of the scan's site that it covered and did not see: counted missing
    (``outcome.unseen``), unless the scan did not probe the ports they were last seen on
    (``outcome.not_probed``) or they may have moved to a device it saw (``outcome.moved``)."""
    candidates = _unseen_rows(session, scan.site, covering(scan), scan.started_at, outcome.seen)
    if not candidates:
        return
    probed = probed_ports(scan.document)
    ports = last_ports(session, candidates)
    seen: list[Candidate] | None = None
    for row in candidates:
        outcome.rows[row.device_id] = row
        gap = unprobed(ports.get(row.device_id), probed)
        if gap:
            outcome.not_probed[row.device_id] = gap
            continue
        if row.restricted:
            if seen is None:
                seen = _seen_candidates(outcome)
            twin = moved_to(identity_of(row), row.ip_key, row.last_seen, seen)
            if twin is not None:
                outcome.moved[row.device_id] = outcome.rows[twin[0]]
                continue
        row.missed += 1
        row.status = "gone" if row.missed >= gone_after else "missing"
        outcome.unseen.append(row.device_id)


def _seen_candidates(outcome: IngestOutcome) -> list[Candidate]:
    """The devices the scan saw, as :func:`moved_to` reads them, in the scan's order."""
    return [
        (
            device_id,
            address_key(document["ip"]),
            outcome.rows[device_id].first_seen,
            identity_of(document),
        )
        for device_id, document in outcome.seen.items()
    ]
