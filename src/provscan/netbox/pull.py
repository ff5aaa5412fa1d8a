"""NetBox devices screened like a procurement list (manufacturer + model, platform as
description) into a ``ScanResult`` of kind "import" for the inventory."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from provscan import __version__
from provscan.identify import Identifier
from provscan.knowledge.schema import Policy
from provscan.model import Device, Evidence, Finding, ScanInfo, ScanResult
from provscan.netbox.client import NetBoxDevice
from provscan.policy.evaluate import REVIEW_NOTE_PREFIX
from provscan.screening.identify import ProductIdentifier
from provscan.screening.verdict import ScreenRow, judge_product

#: How the origin is written in a device's notes (``push`` reads it back).
NOTE_PREFIX = "netbox: device id"
_NOTE = re.compile(r"^netbox: device id (\d+)\b")


def netbox_target(base_url: str) -> str:
    """The import's target: which NetBox it read."""
    return f"netbox:{base_url}"


def netbox_id(note: str) -> int | None:
    match = _NOTE.match(note)
    return int(match.group(1)) if match else None


def netbox_site(item: NetBoxDevice) -> str | None:
    """The device's NetBox site as ``--site`` names it: its slug (else its name)."""
    return (item.site.slug or item.site.name or None) if item.site else None


def by_site(devices: Sequence[NetBoxDevice]) -> dict[str | None, list[NetBoxDevice]]:
    """The devices by their NetBox site (None: no site), in NetBox's order. Addresses are
    per site in the inventory, so a pull of every site files each device under its own."""
    groups: dict[str | None, list[NetBoxDevice]] = {}
    for item in devices:
        groups.setdefault(netbox_site(item), []).append(item)
    return groups


def combined(
    parts: Sequence[tuple[str | None, ScanResult]],
    base_url: str,
    skipped: Sequence[NetBoxDevice],
) -> ScanResult:
    """One result of the imports of several sites (each stored on its own, at its site),
    for the report: every device, the first import's judging, the sites in its notes."""
    first = parts[0][1].info
    sites = ", ".join(slug or "(no site)" for slug, _ in parts)
    notes = [f"imported from NetBox {base_url} (sites {sites}; one import per site)"]
    if skipped:
        notes.append(_skipped_note(skipped))
    devices = tuple(device for _, part in parts for device in part.devices)
    info = dataclasses.replace(
        first,
        scan_id=str(uuid.uuid4()),
        started_at=min(part.info.started_at for _, part in parts),
        finished_at=datetime.now(UTC),
        hosts_scanned=len(devices) + len(skipped),
        hosts_responding=len(devices),
        notes=tuple(notes),
    )
    return ScanResult(info, devices)


def _device(item: NetBoxDevice, address: str, row: ScreenRow, base_url: str) -> Device:
    findings = tuple(
        Finding(
            policy=f.policy,
            jurisdiction=f.jurisdiction,
            measure=f.measure,
            citation=f.citation,
            effective=f.effective,
            family=f.family,
            scope_note=f.scope_note,
            effect=f.effect,
            binding=f.binding,
        )
        for f in row.findings
    )
    asserts = {"maker": row.maker} if row.maker else {}
    evidence = tuple(
        Evidence(
            protocol="netbox",
            port=None,
            observed_field=field,
            observed=value,
            rule_id=None,
            asserts=asserts,
            certainty=row.confidence,
            detail=f"NetBox device {item.id}",
        )
        for field, value in (
            ("manufacturer", item.manufacturer),
            ("model", item.model),
            ("platform", item.platform.name if item.platform else None),
        )
        if value
    )
    site = netbox_site(item)
    origin = f"{NOTE_PREFIX} {item.id} ({item.label}) at {base_url}" + (
        f", site {site}" if site else ""
    )
    return Device(
        ip=address,
        hostname=item.name,
        manufacturer=row.maker,
        brand=row.brand,
        relation=row.relation,
        family=row.family,
        model=row.model or item.model,
        serial=(item.serial or "").strip() or None,
        device_type=row.device_type,
        confidence=row.confidence,
        restricted=row.restricted is True,
        findings=findings,
        evidence=evidence,
        # A review row says so the way policy judging does, so that it reads as "review"
        # (contract 1.4 verdict, the tables), not as clear for its possible maker.
        notes=(
            origin,
            f"{REVIEW_NOTE_PREFIX}screened: {row.reason}"
            if row.status == "review"
            else f"screened {row.status}: {row.reason}",
        ),
    )


def _skipped_note(skipped: Sequence[NetBoxDevice]) -> str:
    return (
        f"{len(skipped)} NetBox device(s) without a primary IP left out: "
        + ", ".join(str(item.id) for item in skipped[:50])
        + (" …" if len(skipped) > 50 else "")
    )


def screen_devices(
    devices: Sequence[NetBoxDevice],
    base_url: str,
    identifier: ProductIdentifier,
    identify_stage: Identifier,
    policies: Sequence[Policy],
    *,
    site: str | None = None,
    started: datetime | None = None,
) -> tuple[ScanResult, list[NetBoxDevice]]:
    """The import result, and the devices left out because they have no primary IP (the
    inventory keys a device by MAC, serial or site + address, and every device record of
    the contract has an address). They are counted in the scan's notes; ``push`` leaves
    them alone (they are not in the inventory)."""
    started = started or datetime.now(UTC)
    acting_as = identify_stage.acting_as
    judged: dict[tuple[str, str, str], ScreenRow] = {}
    kept: list[Device] = []
    skipped: list[NetBoxDevice] = []
    for item in devices:
        address = item.address
        if address is None:
            skipped.append(item)
            continue
        platform = item.platform.name if item.platform and item.platform.name else ""
        key = (item.manufacturer or "", item.model or "", platform)
        row = judged.get(key)
        if row is None:
            row = judge_product(
                identifier.identify(platform, brand=key[0] or None, model=key[1] or None),
                policies,
                acting_as=acting_as,
            )
            judged[key] = row
        kept.append(_device(item, address, row, base_url))
    notes = [f"imported from NetBox {base_url}" + (f" (site {site})" if site else "")]
    if skipped:
        notes.append(_skipped_note(skipped))
    info = ScanInfo(
        scan_id=str(uuid.uuid4()),
        kind="import",
        started_at=started,
        finished_at=datetime.now(UTC),
        targets=(netbox_target(base_url),),
        ports=(),
        policies=tuple(policy.id for policy in policies),
        tool_version=__version__,
        hosts_scanned=len(devices),
        hosts_responding=len(kept),
        notes=tuple(notes),
    )
    return identify_stage.finish(ScanResult(info, tuple(kept))), skipped
