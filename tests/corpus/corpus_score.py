"""Scoring of identifications against a corpus: restricted recall/precision, maker accuracy.

Definitions (per family F of hikvision, dahua, huawei, zte, hytera, and over all cases):

- restricted recall: restricted cases of F flagged restricted / restricted cases of F;
- restricted precision: cases flagged restricted *as F* whose true family is F / cases
  flagged as F ("all": flagged cases that are restricted / flagged cases);
- maker accuracy: cases whose reported maker is accepted / cases with a scored maker;
- false flags: unrestricted cases flagged restricted (the "no false bans" count).

A reported maker is accepted when an accepted name, case and punctuation ignored, is
contained in it ("HP" in "HP Inc."); an accepted ``None`` means "no maker" is right too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from corpus_schema import RESTRICTED_FAMILIES, Expect, family_from_name

from provscan.model import Device

#: Row order of the tables.
FAMILY_ROWS: tuple[str, ...] = (*RESTRICTED_FAMILIES, "other", "all")


def normalised(name: str | None) -> str:
    return "".join(ch for ch in (name or "").lower() if ch.isalnum())


def maker_matches(accepted: Sequence[str | None], reported: str | None) -> bool:
    """True when the reported maker is one of the accepted ones (see module doc)."""
    for name in accepted:
        if name is None:
            if not reported:
                return True
        elif reported and normalised(name) and normalised(name) in normalised(reported):
            return True
    return False


@dataclass
class Case:
    """One device, host or row: the truth and what provscan reported."""

    key: str
    true_family: str
    #: Truth for the restricted flag; None = not scored for restricted.
    restricted: bool | None
    #: Accepted makers; None = not scored for maker.
    accepted: list[str | None] | None
    reported_maker: str | None
    reported_restricted: bool
    reported_family: str | None
    evidence: list[str] = field(default_factory=list)

    @property
    def maker_ok(self) -> bool | None:
        if self.accepted is None:
            return None
        return maker_matches(self.accepted, self.reported_maker)

    @property
    def flagged_family(self) -> str:
        """The family the case was flagged as ("unknown" if provscan named none)."""
        return self.reported_family or family_from_name(self.reported_maker or "") or "unknown"

    @property
    def missed(self) -> bool:
        return self.restricted is True and not self.reported_restricted

    @property
    def false_flag(self) -> bool:
        return self.restricted is False and self.reported_restricted

    @property
    def wrong_family(self) -> bool:
        return (
            self.restricted is True
            and self.reported_restricted
            and self.flagged_family != self.true_family
        )


@dataclass
class Tally:
    cases: int = 0
    positives: int = 0
    hits: int = 0
    flagged: int = 0
    flagged_right: int = 0
    false_flags: int = 0
    makers: int = 0
    makers_right: int = 0

    @property
    def recall(self) -> float | None:
        return self.hits / self.positives if self.positives else None

    @property
    def precision(self) -> float | None:
        return self.flagged_right / self.flagged if self.flagged else None

    @property
    def maker_accuracy(self) -> float | None:
        return self.makers_right / self.makers if self.makers else None

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "cases": self.cases,
            "restricted": self.positives,
            "found": self.hits,
            "flagged": self.flagged,
            "flagged_right": self.flagged_right,
            "false_flags": self.false_flags,
            "makers_scored": self.makers,
            "makers_right": self.makers_right,
            "recall": self.recall,
            "precision": self.precision,
            "maker_accuracy": self.maker_accuracy,
        }


def tally(cases: Iterable[Case]) -> dict[str, Tally]:
    """Per-family and overall tallies (keys: FAMILY_ROWS)."""
    tallies = {row: Tally() for row in FAMILY_ROWS}
    for case in cases:
        family = case.true_family if case.true_family in tallies else "other"
        for row in (family, "all"):
            tally_ = tallies[row]
            tally_.cases += 1
            if case.restricted is True:
                tally_.positives += 1
                tally_.hits += case.reported_restricted
            if case.false_flag:
                tally_.false_flags += 1
            if case.maker_ok is not None:
                tally_.makers += 1
                tally_.makers_right += case.maker_ok
        if case.restricted is not None and case.reported_restricted:
            flagged_as = case.flagged_family
            overall = tallies["all"]
            overall.flagged += 1
            overall.flagged_right += case.restricted
            if flagged_as in RESTRICTED_FAMILIES:
                tallies[flagged_as].flagged += 1
                tallies[flagged_as].flagged_right += case.true_family == flagged_as
    return tallies


def _ratio(numerator: int, denominator: int) -> str:
    if not denominator:
        return "-"
    return f"{numerator}/{denominator} {numerator / denominator:.2f}"


def format_table(tallies: dict[str, Tally]) -> list[str]:
    """A table of at most 80 columns."""
    lines = [
        f"  {'family':<10}{'cases':>6}  {'recall':<13}{'precision':<13}{'maker acc.':<14}"
        f"{'false flags':>11}"
    ]
    for row in FAMILY_ROWS:
        tally_ = tallies[row]
        if not tally_.cases and not tally_.flagged:
            continue
        lines.append(
            f"  {row:<10}{tally_.cases:>6}  {_ratio(tally_.hits, tally_.positives):<13}"
            f"{_ratio(tally_.flagged_right, tally_.flagged):<13}"
            f"{_ratio(tally_.makers_right, tally_.makers):<14}{tally_.false_flags:>11}"
        )
    return lines


#: Error labels, most harmful first (the order of every error listing).
ERROR_LABELS: tuple[str, ...] = ("FALSE FLAG", "MISS", "WRONG FAMILY", "WRONG MAKER")


def errors(cases: Iterable[Case]) -> list[tuple[str, Case]]:
    """Every false flag, miss, wrong family and wrong maker, labelled, most harmful first."""
    found: list[tuple[str, Case]] = []
    for case in cases:
        if case.missed:
            found.append(("MISS", case))
        elif case.false_flag:
            found.append(("FALSE FLAG", case))
        elif case.wrong_family:
            found.append(("WRONG FAMILY", case))
        elif case.maker_ok is False:
            found.append(("WRONG MAKER", case))
    return sorted(found, key=lambda item: ERROR_LABELS.index(item[0]))


def format_errors(cases: Iterable[Case], *, evidence_lines: int = 6, width: int = 80) -> list[str]:
    """One block per error: what was expected, what was reported, the evidence behind it."""
    lines: list[str] = []
    for label, case in errors(cases):
        expected = "/".join(str(name) for name in (case.accepted or [])) or "-"
        truth = "restricted" if case.restricted else "unrestricted"
        if case.restricted is None:
            truth = "restricted not scored"
        reported = case.reported_maker or "no maker"
        verdict = "restricted" if case.reported_restricted else "not restricted"
        lines.append(_clip(f"{label} {case.key}: expected {expected} ({truth})", width))
        lines.append(_clip(f"    got {reported}, {verdict}, family {case.reported_family}", width))
        shown = case.evidence[:evidence_lines]
        lines += [_clip(f"    | {item}", width) for item in shown]
        if len(case.evidence) > len(shown):
            lines.append(f"    | ... {len(case.evidence) - len(shown)} more")
    return lines


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split()) if "\n" in text else text
    return text if len(text) <= width else text[: width - 1] + "…"


def summarise_evidence(device: dict[str, object]) -> list[str]:
    """Short lines for a report device's evidence: rule, field=observed -> asserted."""
    lines: list[str] = []
    items = device.get("evidence")
    if not isinstance(items, list):
        return lines
    # Evidence that asserts a maker or family first: that is what caused a verdict.
    ordered = sorted(
        (item for item in items if isinstance(item, dict)),
        key=lambda item: not item.get("asserts"),
    )
    for item in ordered:
        asserts = item.get("asserts") or {}
        claim = ", ".join(
            f"{key}={value}" for key, value in asserts.items() if key != "mac"
        )  # the MAC itself is not a claim
        observed = str(item.get("observed", ""))[:60]
        rule = item.get("rule_id") or "-"
        port = f":{item['port']}" if item.get("port") else ""
        text = f"{rule} {item.get('field')}{port}={observed!r}"
        lines.append(f"{text} -> {claim}" if claim else text)
    notes = device.get("notes")
    if isinstance(notes, list):
        lines += [f"note: {note}" for note in notes if not str(note).startswith(_ROUTINE_NOTES)]
    return lines


#: Notes every unidentified device carries; they say nothing about the cause.
_ROUTINE_NOTES = (
    "firmware unknown",
    "maker not identified",
    "context only",
    "model unknown",
)


def device_evidence(device: Device) -> list[str]:
    """A device's evidence and notes, summarised as the error lists print them."""
    record = {
        "evidence": [
            {
                "rule_id": item.rule_id,
                "field": item.observed_field,
                "port": item.port,
                "observed": item.observed,
                "asserts": item.asserts,
            }
            for item in device.evidence
        ],
        "notes": list(device.notes),
    }
    return summarise_evidence(record)


def device_case(key: str, expect: Expect, device: Device | None, absent: str) -> Case:
    """The Case of one corpus entry from the device provscan reported (None: ``absent``)."""
    return Case(
        key=key,
        true_family=expect.true_family(),
        restricted=expect.restricted,
        accepted=expect.accepted(),
        reported_maker=device.manufacturer if device else None,
        reported_restricted=bool(device and device.restricted),
        reported_family=device.family if device else None,
        evidence=device_evidence(device) if device else [absent],
    )
