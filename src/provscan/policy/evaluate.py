"""Judge an attributed device against the selected jurisdiction policies (data)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from provscan.knowledge.schema import Policy
from provscan.model import Device, Finding


def findings_for_family(family: str | None, policies: Sequence[Policy]) -> list[Finding]:
    if not family:
        return []
    findings = []
    for policy in policies:
        for measure in policy.measures:
            if family in measure.families:
                findings.append(
                    Finding(
                        policy=policy.id,
                        jurisdiction=policy.jurisdiction,
                        measure=measure.title,
                        citation=measure.citation,
                        effective=measure.effective.isoformat(),
                        family=family,
                        scope_note=measure.scope_note,
                    )
                )
    return findings


def judge(device: Device, policies: Sequence[Policy]) -> Device:
    """Return the device with its findings; restricted when any selected measure names its family."""
    findings = findings_for_family(device.family, policies)
    notes = list(device.notes)
    if device.manufacturer is None and device.open_ports:
        notes.append("maker not identified: restriction status incomplete")
    return dataclasses.replace(
        device, findings=tuple(findings), restricted=bool(findings), notes=tuple(notes)
    )
