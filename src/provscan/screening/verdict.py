"""Judging an identification against the selected policies, and the row object it becomes.

``ScreenRow`` is the one JSON shape of a screened product: ``provscan lookup --format json``
prints it and ``provscan screen --format json`` lists it under ``rows``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from provscan.knowledge.schema import Policy
from provscan.policy.evaluate import findings_for_family
from provscan.screening.identify import Identification

#: At or above this confidence a restricted-family maker makes the product restricted; below
#: it the product is flagged for review ("restricted": null), never silently cleared.
RESTRICTED_MIN_CONFIDENCE = 0.5

Status = Literal["restricted", "review", "clear", "unknown"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScreenFinding(_Strict):
    policy: str
    jurisdiction: str
    measure: str
    citation: str
    effective: str
    family: str
    scope_note: str = ""


class ScreenRow(_Strict):
    """One screened product. ``restricted`` is null when a human must review or decide."""

    row: int | None
    input: str
    maker: str | None
    brand: str | None
    model: str | None
    device_type: str | None
    relation: str
    family: str | None
    restricted: bool | None
    status: Status
    findings: list[ScreenFinding]
    confidence: float
    reason: str
    evidence: list[str]


class ScreenSummary(_Strict):
    rows: int
    restricted: int
    review: int
    clear: int
    unknown: int
    policies: list[str]
    columns: dict[str, str | None]
    source: str | None = None


class ScreenDocument(_Strict):
    rows: list[ScreenRow]
    summary: ScreenSummary


def judge_product(
    identification: Identification, policies: Sequence[Policy], row: int | None = None
) -> ScreenRow:
    """The row for one identification under the selected policies."""
    reasons = list(identification.reasons)
    findings = findings_for_family(identification.family, policies)
    status: Status
    restricted: bool | None
    if identification.maker is None:
        status, restricted = "unknown", None
    elif identification.family is None:
        status, restricted = "clear", False
        reasons.append(f"maker {identification.maker} is not in a restricted corporate family")
    elif not findings:
        status, restricted = "clear", False
        reasons.append(
            f"maker {identification.maker} (family {identification.family}) is named by no "
            "selected policy"
        )
    elif identification.confidence >= RESTRICTED_MIN_CONFIDENCE:
        status, restricted = "restricted", True
        reasons.insert(
            0,
            _summary(identification)
            + f" - restricted by {', '.join(dict.fromkeys(f.policy for f in findings))}",
        )
    else:
        status, restricted = "review", None
        reasons.insert(
            0,
            _summary(identification) + f" - confidence {identification.confidence:.2f} is below "
            f"{RESTRICTED_MIN_CONFIDENCE}: review; if confirmed, restricted by "
            + ", ".join(dict.fromkeys(f.policy for f in findings)),
        )
    return ScreenRow(
        row=row,
        input=identification.input,
        maker=identification.maker,
        brand=identification.brand,
        model=identification.model,
        device_type=identification.device_type,
        relation=identification.relation,
        family=identification.family,
        restricted=restricted,
        status=status,
        findings=[
            ScreenFinding(
                policy=f.policy,
                jurisdiction=f.jurisdiction,
                measure=f.measure,
                citation=f.citation,
                effective=f.effective,
                family=f.family,
                scope_note=f.scope_note,
            )
            for f in findings
        ],
        confidence=identification.confidence,
        reason="; ".join(reasons),
        evidence=list(identification.evidence),
    )


def _summary(identification: Identification) -> str:
    brand = identification.brand or "unknown brand"
    if identification.maker and identification.maker != brand:
        return f"{brand}: made by {identification.maker} ({identification.relation})"
    return f"{brand}: {identification.relation}"


def summarise(
    rows: Sequence[ScreenRow],
    policies: Sequence[Policy],
    columns: dict[str, str | None],
    source: str | None = None,
) -> ScreenSummary:
    counts = {status: 0 for status in ("restricted", "review", "clear", "unknown")}
    for row in rows:
        counts[row.status] += 1
    return ScreenSummary(
        rows=len(rows),
        restricted=counts["restricted"],
        review=counts["review"],
        clear=counts["clear"],
        unknown=counts["unknown"],
        policies=[policy.id for policy in policies],
        columns=columns,
        source=source,
    )


def summary_line(summary: ScreenSummary) -> str:
    return (
        f"{summary.rows} row{'s' if summary.rows != 1 else ''}: {summary.restricted} restricted, "
        f"{summary.review} to review, {summary.clear} clear, {summary.unknown} unknown "
        f"(policies {', '.join(summary.policies)})"
    )
