"""Judge an attributed device against the selected jurisdiction policies (data).

A verdict never claims more than its evidence:

- only measures whose ``effect`` is ``restricts`` make anything restricted; ``context``
  measures (no ban, decisions of single bodies) are listed, marked, and never restrict;
- when the evidence names several possible makers (``Hikvision or Dahua``), the device is
  restricted only if every one of them is restricted by the selected measures;
- a maker below :data:`RESTRICTED_MIN_CONFIDENCE` is not established: review, not restricted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from provscan.knowledge.schema import Policy
from provscan.model import Device, Finding, MakerCandidate

#: At or above this confidence an identified maker is established; below it a restricted
#: maker is flagged for review, never silently cleared and never reported as restricted.
RESTRICTED_MIN_CONFIDENCE = 0.5
#: Device notes that say a restriction needs a human decision start with this.
REVIEW_NOTE_PREFIX = "review: "
#: Device notes that list context-only measures start with this.
CONTEXT_NOTE_PREFIX = "context only"


def findings_for_family(family: str | None, policies: Sequence[Policy]) -> list[Finding]:
    """Every selected measure naming ``family``: restricting ones first, then context ones."""
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
                        effect=measure.effect,
                    )
                )
    return restricting_first(findings)


def restricting_first(findings: Iterable[Finding]) -> list[Finding]:
    """The findings with restricting measures first (stable: policy order is kept)."""
    return sorted(findings, key=lambda finding: finding.effect != "restricts")


def policy_ids(findings: Iterable[Finding]) -> list[str]:
    return list(dict.fromkeys(finding.policy for finding in findings))


@dataclass(frozen=True)
class Assessment:
    """The selected measures applied to every maker the evidence allows."""

    candidates: tuple[MakerCandidate, ...]
    #: Restricting findings first, then context findings; one entry per (measure, family).
    findings: tuple[Finding, ...]
    #: For each candidate maker, the ids of the selected policies that restrict it.
    restricted_by: dict[str, tuple[str, ...]]

    @property
    def makers(self) -> str:
        """``"Hikvision"`` or ``"Hikvision or Dahua"``."""
        return " or ".join(candidate.maker for candidate in self.candidates)

    @property
    def every_candidate_restricted(self) -> bool:
        return bool(self.candidates) and all(self.restricted_by.values())

    @property
    def some_candidate_restricted(self) -> bool:
        return any(self.restricted_by.values())

    @property
    def restricting_policies(self) -> list[str]:
        return policy_ids(f for f in self.findings if f.effect == "restricts")

    @property
    def context_policies(self) -> list[str]:
        return policy_ids(f for f in self.findings if f.effect == "context")

    def which(self) -> str:
        """``"Hikvision by us, uk / Dahua by none of the selected policies"``.

        Not "; ": reasons are joined with "; " and split on it for display.
        """
        return " / ".join(
            f"{maker} by {', '.join(ids)}" if ids else f"{maker} by none of the selected policies"
            for maker, ids in self.restricted_by.items()
        )


def assess(candidates: Sequence[MakerCandidate], policies: Sequence[Policy]) -> Assessment:
    """The findings for every candidate maker's family, and which candidates are restricted."""
    findings: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    restricted_by: dict[str, tuple[str, ...]] = {}
    for candidate in candidates:
        family_findings = findings_for_family(candidate.family, policies)
        restricted_by[candidate.maker] = tuple(
            policy_ids(f for f in family_findings if f.effect == "restricts")
        )
        for finding in family_findings:
            key = (finding.policy, finding.measure, finding.family)
            if key not in seen:
                seen.add(key)
                findings.append(finding)
    return Assessment(tuple(candidates), tuple(restricting_first(findings)), restricted_by)


def judge(device: Device, policies: Sequence[Policy]) -> Device:
    """Return the device with its findings and verdict.

    Restricted only when a restricting measure names the family of every maker the evidence
    allows and the maker is established (confidence at least RESTRICTED_MIN_CONFIDENCE).
    Anything less is not restricted and says why in a note starting with ``review:``.
    """
    candidates: tuple[MakerCandidate, ...] = ()
    if device.manufacturer is not None:
        candidates = (MakerCandidate(device.manufacturer, device.family), *device.alternatives)
    assessment = assess(candidates, policies)
    notes = list(device.notes)
    if device.manufacturer is None and device.open_ports:
        notes.append("maker not identified: restriction status incomplete")
    restricted = False
    several = len(candidates) > 1
    if assessment.every_candidate_restricted:
        if device.confidence >= RESTRICTED_MIN_CONFIDENCE:
            restricted = True
            if several:
                notes.append(
                    f"made by {assessment.makers} (the evidence does not say which); "
                    f"each is restricted: {assessment.which()}"
                )
        else:
            notes.append(
                f"{REVIEW_NOTE_PREFIX}maker {assessment.makers} is not established (confidence "
                f"{device.confidence:.2f} is below {RESTRICTED_MIN_CONFIDENCE}); if confirmed, "
                f"restricted by {', '.join(assessment.restricting_policies)}"
            )
    elif assessment.some_candidate_restricted:
        notes.append(
            f"{REVIEW_NOTE_PREFIX}made by {assessment.makers} (the evidence does not say which) "
            f"and not every one is restricted: {assessment.which()}"
        )
    if assessment.context_policies:
        notes.append(
            f"{CONTEXT_NOTE_PREFIX} (these measures restrict nothing): "
            + ", ".join(assessment.context_policies)
        )
    return dataclasses.replace(
        device, findings=assessment.findings, restricted=restricted, notes=tuple(notes)
    )
