"""Findings written back to NetBox: a tag on restricted devices and a custom field with the
verdict, the measures and the case. ``plan`` changes nothing; ``apply`` writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provscan.model import REVIEW_MEANING, finding_restricts
from provscan.netbox.client import NetBoxClient, NetBoxDevice
from provscan.netbox.pull import netbox_id, netbox_target
from provscan.report.contract import VERDICTS
from provscan.store.db import Store
from provscan.store.views import InventoryDevice

TAG_SLUG = "provscan-restricted"
TAG_COLOR = "f44336"  # NetBox colours are six hex digits
CUSTOM_FIELD = "provscan_status"
#: The longest value written to the custom field (NetBox text fields are unbounded, but a
#: status is a summary).
MAX_STATUS_CHARS = 500


@dataclass(frozen=True)
class Change:
    """What ``push`` would change on one NetBox device."""

    netbox_id: int
    name: str
    device_id: str
    add_tag: bool
    remove_tag: bool
    status_before: str | None
    status_after: str
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "netbox_id": self.netbox_id,
            "name": self.name,
            "device_id": self.device_id,
            "tag": "add" if self.add_tag else "remove" if self.remove_tag else None,
            "status_before": self.status_before,
            "status_after": self.status_after,
            "patch": self.body,
        }


@dataclass(frozen=True)
class Plan:
    changes: list[Change]
    #: NetBox devices with no inventory device (never pulled, or no primary IP).
    unmatched: list[NetBoxDevice]
    unchanged: int


#: What the custom field says after the verdict word, for the verdicts that need it.
_VERDICT_GLOSS = {
    "review": f"review ({REVIEW_MEANING})",
    "unknown": "unknown (the maker was not identified: not cleared)",
}


def status_text(device: InventoryDevice) -> str:
    """The device's verdict word first (restricted, review, unknown, clear: the inventory's,
    from its newest sighting), then the binding measures and the case:
    ``restricted; measures: ca, us; case 5 open, due 2027-03-03``, ``clear``. A device that is
    not restricted is not therefore clear: review and unknown say so."""
    verdict = device.verdict if device.verdict in VERDICTS else None
    if verdict is None:  # a row without a verdict word: say no more than the flag does
        verdict = "restricted" if device.restricted else "unknown"
    parts = [_VERDICT_GLOSS.get(verdict, verdict)]
    restricting = sorted(
        {
            str(f.get("policy"))
            for f in device.findings
            if isinstance(f, dict) and finding_restricts(f)
        }
    )
    if device.restricted and restricting:
        parts.append("measures: " + ", ".join(restricting))
    if device.case is not None:
        due = f", due {device.case.due}" if device.case.due else ""
        parts.append(f"case {device.case.id} {device.case.status}{due}")
    return "; ".join(parts)[:MAX_STATUS_CHARS]


def links(store: Store, base_url: str) -> dict[int, str]:
    """NetBox device id -> inventory device id, from every pull of this NetBox (the newest
    pull wins)."""
    target = netbox_target(base_url)
    pulls = [scan for scan in store.scans(None) if scan.kind == "import" and target in scan.targets]
    found: dict[int, str] = {}
    for scan in sorted(pulls, key=lambda s: (s.started_at, s.id)):
        document = store.load(scan.id)
        sightings = store.sightings(scan.id)
        for position, device in enumerate(document.devices):
            ident = next((n for n in map(netbox_id, device.notes) if n is not None), None)
            if ident is not None and position in sightings:
                found[ident] = sightings[position][0]
    return found


def plan(
    devices: Sequence[NetBoxDevice],
    linked: Mapping[int, str],
    inventory: Mapping[str, InventoryDevice],
) -> Plan:
    changes: list[Change] = []
    unmatched: list[NetBoxDevice] = []
    unchanged = 0
    for item in devices:
        device_id = linked.get(item.id)
        device = inventory.get(device_id) if device_id else None
        if device is None or device_id is None:
            unmatched.append(item)
            continue
        slugs = [tag.slug or tag.name or "" for tag in item.tags]
        tagged = TAG_SLUG in slugs
        before = item.custom_fields.get(CUSTOM_FIELD)
        after = status_text(device)
        body: dict[str, Any] = {}
        if tagged != device.restricted:
            kept = [slug for slug in slugs if slug and slug != TAG_SLUG]
            wanted = [*kept, TAG_SLUG] if device.restricted else kept
            body["tags"] = [{"slug": slug} for slug in wanted]
        if before != after:
            body["custom_fields"] = {CUSTOM_FIELD: after}
        if not body:
            unchanged += 1
            continue
        changes.append(
            Change(
                netbox_id=item.id,
                name=item.label,
                device_id=device_id,
                add_tag=device.restricted and not tagged,
                remove_tag=tagged and not device.restricted,
                status_before=before if isinstance(before, str) or before is None else str(before),
                status_after=after,
                body=body,
            )
        )
    return Plan(changes, unmatched, unchanged)


def ensure_tag_and_field(client: NetBoxClient, changes: Sequence[Change]) -> list[str]:
    """Create the tag and the custom field when a change needs them; returns what it made."""
    made = []
    if (
        any(change.add_tag for change in changes)
        and client.find("api/extras/tags/", slug=TAG_SLUG) is None
    ):
        client.create(
            "api/extras/tags/",
            {
                "name": TAG_SLUG,
                "slug": TAG_SLUG,
                "color": TAG_COLOR,
                "description": "Made by a restricted vendor (set by provscan netbox push)",
            },
        )
        made.append(f"tag {TAG_SLUG}")
    if (
        any("custom_fields" in change.body for change in changes)
        and client.find("api/extras/custom-fields/", name=CUSTOM_FIELD) is None
    ):
        client.create(
            "api/extras/custom-fields/",
            {
                "name": CUSTOM_FIELD,
                "label": "provscan status",
                "type": "text",
                "object_types": ["dcim.device"],
                "description": "Restricted?, binding measures and remediation case, from provscan",
            },
        )
        made.append(f"custom field {CUSTOM_FIELD}")
    return made


def apply(client: NetBoxClient, changes: Sequence[Change]) -> list[str]:
    """Write every change (the tag and the field first); returns what was created."""
    made = ensure_tag_and_field(client, changes)
    for change in changes:
        client.patch_device(change.netbox_id, change.body)
    return made
