"""Judge an attributed device against the selected jurisdiction policies (data).

A verdict never claims more than its evidence:

- a measure names a device by its maker's family, or by its device category and country of
  production (``categories``: foreign-produced routers, foreign drones);
- who the user is (``acting_as``, org type ids from ``--as``) decides which measures bind
  them: each finding says ``binding``. Without ``acting_as`` the verdict is judged for a
  national government body (the org types the selected policies mark
  ``national_government``; the default reading, decision 0015); with ``--as all``, or when the
  selected policies declare no such body, every measure counts and ``binding`` is None;
- only findings that restrict (a restricting ``effect`` from a measure that binds the user)
  make anything restricted; advisory and context findings are listed, marked, never restrict;
- a measure not yet in force on the judging day (``effective`` after it: a ban published now
  that starts later) binds nobody yet: its finding is kept with ``binding`` False, like one
  binding others, and output says "in force from" its day (:func:`not_yet_in_force`). The
  judging day is the scan's start date for scans and captures (a stored scan judged again
  keeps its own), today for lookup and screening;
- when the evidence names several possible makers (``Hikvision or Dahua``), the device is
  restricted only if every one of them is restricted by the selected measures;
- a maker below :data:`RESTRICTED_MIN_CONFIDENCE` is not established: review, not restricted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from provscan.errors import InputError
from provscan.knowledge.policies import (
    EVERYONE,
    ORG_TYPE_PATTERN,
    Measure,
    binds_org_type,
    org_type_vocabulary,
)
from provscan.knowledge.schema import Policy, Vendor
from provscan.model import Device, Finding, MakerCandidate

#: At or above this confidence an identified maker is established; below it a restricted
#: maker is flagged for review, never silently cleared and never reported as restricted.
RESTRICTED_MIN_CONFIDENCE = 0.5
#: Device notes that say a restriction needs a human decision start with this.
REVIEW_NOTE_PREFIX = "review: "
#: Device notes that list context-only measures start with this.
CONTEXT_NOTE_PREFIX = "context only"
#: What the context note of scans stored before 2026-12-04 said after the party: advice for
#: the command line, which reports and pages leave out (:func:`without_cli_advice`).
LEGACY_CLI_ADVICE = "; say who you are with --as"
#: ``--as all``: judge as nobody in particular (every measure counts), whatever the config says.
ACT_AS_ANYONE = "all"
#: How the default reading (no ``--as``) is named in output.
DEFAULT_PARTY = "a national government body"


class OrgTypeError(InputError):
    """An ``--as`` value that is not a declared org type."""


def parse_acting_as(values: Iterable[str], policies: Iterable[Policy]) -> tuple[str, ...]:
    """``["ca:federal-institution", "us:federal-contractor"]`` checked against the org types the
    policies declare (``all`` alone: nobody in particular, the empty tuple).

    Raises :class:`OrgTypeError` (one line, with the valid ids) for an unknown or malformed id.
    """
    import re

    wanted = [value.strip().lower() for value in values if value.strip()]
    if wanted == [ACT_AS_ANYONE]:
        return (ACT_AS_ANYONE,)
    vocabulary = org_type_vocabulary(policies)
    unknown = [
        value
        for value in wanted
        if not re.match(ORG_TYPE_PATTERN, value)
        or value not in vocabulary
        or value.partition(":")[2] == EVERYONE
    ]
    if unknown:
        choosable = [key for key in vocabulary if key.partition(":")[2] != EVERYONE]
        raise OrgTypeError(
            "unknown organisation type(s) for --as: "
            f"{', '.join(_with_hint(value, choosable) for value in unknown)}; "
            "see `provscan policies --as-types`"
        )
    return tuple(dict.fromkeys(wanted))


#: How many near matches an unknown ``--as`` value is offered at most.
_MAX_NEAR = 4


def near_org_types(value: str, choosable: Sequence[str]) -> list[str]:
    """The org types among ``choosable`` that ``value`` (an unknown ``--as`` id) was probably
    meant to be, best first (none when nothing is close): ``ca:municipal`` ->
    ``ca:provincial-or-municipal-body`` (its words are in the id's), ``us:state-agency`` ->
    ``us-tx:state-agency`` and ``us-la:state-agency`` (the same kind in a state),
    ``federal`` -> the federal kinds of every jurisdiction, ``ca:federal-instituton`` ->
    ``ca:federal-institution`` (a typo: :func:`difflib.get_close_matches`)."""
    import difflib
    import re

    jurisdiction, colon, kind = value.rpartition(":")
    if not colon:
        jurisdiction, kind = "", value
    words = [word for word in re.split(r"[^a-z0-9]+", kind) if word]

    def same_word(typed: str, word: str) -> bool:
        if len(typed) >= 3 and (
            word.startswith(typed) or (len(word) >= 4 and typed.startswith(word))
        ):
            return True
        return difflib.SequenceMatcher(None, typed, word).ratio() >= 0.8

    by_words = [
        org_type
        for org_type in choosable
        if words
        and all(
            any(same_word(typed, word) for word in org_type.partition(":")[2].split("-"))
            for typed in words
        )
    ]
    typos = difflib.get_close_matches(value, choosable, n=_MAX_NEAR, cutoff=0.75)
    near = list(dict.fromkeys([*typos, *by_words]))

    def rank(org_type: str) -> int:
        """0: the jurisdiction typed, 1: a part or the whole of it (us, us-tx), 2: another."""
        other = org_type.partition(":")[0]
        if other == jurisdiction:
            return 0
        related = other.startswith(jurisdiction + "-") or jurisdiction.startswith(other + "-")
        return 1 if related else 2

    if any(org_type.partition(":")[0] == jurisdiction for org_type in choosable):
        # a known jurisdiction: never another country's type (ca:government is not the UK's)
        near = sorted((org_type for org_type in near if rank(org_type) < 2), key=rank)
        if near and rank(near[0]) == 0:
            near = [org_type for org_type in near if rank(org_type) == 0]
    return near[:_MAX_NEAR]


def _with_hint(value: str, choosable: Sequence[str]) -> str:
    """An unknown ``--as`` value with what it may have meant: its near matches, else the types
    of its jurisdiction, else the jurisdictions there are (one line, never all the types)."""
    near = near_org_types(value, choosable)
    if near:
        return f"{value} (did you mean {' or '.join(near)}?)"
    jurisdiction = value.partition(":")[0] if ":" in value else ""
    same = [org_type for org_type in choosable if org_type.partition(":")[0] == jurisdiction]
    if same:
        return f"{value} ({jurisdiction} has {', '.join(same)})"
    known = dict.fromkeys(org_type.partition(":")[0] for org_type in choosable)
    return f"{value} (jurisdictions: {', '.join(known)}; or 'all')"


def unbound_parties(
    parties: Sequence[str], selected: Iterable[Policy], every: Iterable[Policy]
) -> dict[str, list[str]]:
    """The org types among ``parties`` (``--as``) that no restricting measure of the
    ``selected`` policies binds, each with the ids of the policies among ``every`` that have
    one binding it (empty when none does)."""
    if tuple(parties) == (ACT_AS_ANYONE,):
        return {}
    selected, every = list(selected), list(every)

    def binding(policies: Iterable[Policy], party: str) -> list[str]:
        return [
            policy.id
            for policy in policies
            if any(m.restricts and binds_org_type(m, party) for m in policy.measures)
        ]

    return {party: binding(every, party) for party in parties if not binding(selected, party)}


def without_cli_advice(note: str) -> str:
    """A device note as a report or web page shows it: without the command-line advice that
    notes of older stored scans carry (``say who you are with --as``)."""
    return note.replace(LEGACY_CLI_ADVICE, " (the default reading)")


def maker_countries(vendors: Mapping[str, Vendor]) -> dict[str, str | None]:
    """Maker name -> country (vendors.yaml), for measures that name a country of production."""
    return {name: vendor.country for name, vendor in vendors.items()}


def default_parties(policies: Iterable[Policy]) -> tuple[str, ...]:
    """The org types the policies mark ``national_government``: whom a verdict is judged for
    when the user does not say who they are."""
    return tuple(
        org_type.id
        for org_type in org_type_vocabulary(policies).values()
        if org_type.national_government
    )


def judging_parties(acting_as: Sequence[str], policies: Sequence[Policy]) -> tuple[str, ...] | None:
    """The org types a verdict is judged for: the user's (``--as``); without them, the national
    government bodies of the selected ``policies``; None (every restricting measure counts)
    with ``--as all`` or when the selected policies declare no national government body."""
    if tuple(acting_as) == (ACT_AS_ANYONE,):
        return None
    if acting_as:
        return tuple(acting_as)
    # A few dozen org types: cheaper to read again than to cache by object identity (a
    # reloaded knowledge pack could reuse the ids of freed policies).
    return default_parties(policies) or None


def describe_parties(acting_as: Sequence[str]) -> str:
    """How output names whom a verdict was judged for."""
    if tuple(acting_as) == (ACT_AS_ANYONE,):
        return "anyone (every measure counts)"
    return ", ".join(acting_as) if acting_as else DEFAULT_PARTY


#: How ``judged_for`` names the reading in which every restricting measure counts.
JUDGED_FOR_ANYONE = "anyone"


def judged_for(acting_as: Sequence[str], policies: Sequence[Policy]) -> str:
    """Whom verdicts were judged for, as the JSON's ``judged_for`` says it: the org type ids
    given with ``--as`` (comma-separated), "a national government body" (the default
    reading), or "anyone" (``--as all``, or selected policies that declare no national
    government body: every restricting measure counts)."""
    if judging_parties(acting_as, policies) is None:
        return JUDGED_FOR_ANYONE
    return ", ".join(acting_as) if acting_as else DEFAULT_PARTY


def measure_binds(
    measure: Measure, parties: Sequence[str] | None, on: date | None = None
) -> bool | None:
    """Whether the measure binds someone acting as any of ``parties`` (None: every measure
    counts; see :func:`judging_parties`) on the day ``on`` (None: today): a measure not yet
    in force then binds nobody (False)."""
    if measure.effective > (on or date.today()):
        return False
    if parties is None:
        return None
    return any(binds_org_type(measure, org_type) for org_type in parties)


def not_yet_in_force(effective: str | None, on: date | None = None) -> bool:
    """Whether a finding's measure, in force from ``effective`` (ISO date), takes effect after
    the day ``on`` (None: today), so that it is kept but does not count (see
    :func:`measure_binds`)."""
    try:
        return date.fromisoformat(str(effective)) > (on or date.today())
    except ValueError:
        return False


def binds_once_in_force(
    finding: Finding | Mapping[str, object],
    policies: Sequence[Policy],
    acting_as: Sequence[str],
    on: date | None = None,
) -> bool:
    """Whether a finding kept with ``binding`` False only because its measure was not in
    force on the judging day ``on`` (None: today) binds the user once it is: the measure
    (found by the finding's policy id and measure title among ``policies``, the selected
    ones) binds someone acting as ``acting_as`` (see :func:`judging_parties`). False for a
    finding in force, a measure that binds others, or one the policies no longer hold (said
    as before: "does not bind you"). A stored finding without its ``effective`` day (the
    inventory's) is read with the measure's. Output says "in force from" its day for these,
    not "does not bind you"."""
    policy_id: object
    title: object
    effective: object
    binding: object
    if isinstance(finding, Finding):
        policy_id, title, effective = finding.policy, finding.measure, finding.effective
        binding = finding.binding
    else:
        policy_id, title = finding.get("policy"), finding.get("measure")
        effective, binding = finding.get("effective"), finding.get("binding")
    if binding is not False or (effective and not not_yet_in_force(str(effective), on)):
        return False
    measure = next(
        (
            measure
            for policy in policies
            if policy.id == policy_id
            for measure in policy.measures
            if measure.title == title
        ),
        None,
    )
    if measure is None:
        return False
    if not effective and not not_yet_in_force(measure.effective.isoformat(), on):
        return False  # the finding's own day was checked above; a stored one has none
    parties = judging_parties(acting_as, policies)
    return parties is None or any(binds_org_type(measure, party) for party in parties)


def _naming(
    measure: Measure,
    candidate: MakerCandidate,
    device_type: str | None,
    country: str | None,
    installed: bool,
) -> tuple[bool, str | None]:
    """Whether the measure names this device, and on what condition the tool cannot tell
    (None: none)."""
    named, condition = False, None
    if (
        candidate.family
        and candidate.family in measure.families
        and device_type not in measure.excludes_device_types
    ):
        # a kind the measure's text leaves out is outside it; any other, or an unknown, inside
        if not measure.device_types or device_type in measure.device_types:
            named = True
        elif device_type is None:
            # the measure covers only some kinds of the family's equipment; this one's is unknown
            named, condition = True, _kind_condition(measure.device_types)
    if condition is not None or not named:
        for category in measure.categories:
            by_category, category_condition = category.naming(device_type, country)
            if by_category and category_condition is None:
                named, condition = True, None
                break
            if by_category and not named:
                # named by kind and country, on a condition (unknown type, where produced)
                named, condition = True, category_condition
    if named and measure.applies_if:
        condition = (
            measure.applies_if if condition is None else f"{condition} and {measure.applies_if}"
        )
    if named and installed and measure.acquired_after is not None:
        acquired = f"it was acquired after {measure.acquired_after.isoformat()}"
        condition = acquired if condition is None else f"{condition} and {acquired}"
    return named, condition


def _kind_condition(device_types: Sequence[str]) -> str:
    kinds = [kind.replace("_", " ") for kind in device_types]
    if len(kinds) == 1:
        return f"its device type is {kinds[0]}"
    return f"its device type is one of {', '.join(kinds[:-1])} or {kinds[-1]}"


def findings_for_candidate(
    candidate: MakerCandidate,
    policies: Sequence[Policy],
    *,
    device_type: str | None = None,
    country: str | None = None,
    acting_as: Sequence[str] = (),
    installed: bool = True,
    on: date | None = None,
) -> list[Finding]:
    """Every selected measure naming this maker (by family, or by device category and the
    maker's country): restricting ones first, then the others.

    ``installed``: the device is already there (a scan, a capture, an import), so a measure
    on equipment acquired after a day restricts it only on that condition; False for a
    product being bought now (screening), which such a measure restricts outright.
    ``on``: the judging day (None: today); a measure not in force yet then binds nobody.
    """
    parties = judging_parties(acting_as, policies)
    on = on or date.today()
    findings = []
    for policy in policies:
        for measure in policy.measures:
            named, condition = _naming(measure, candidate, device_type, country, installed)
            if not named:
                continue
            findings.append(
                Finding(
                    policy=policy.id,
                    jurisdiction=policy.jurisdiction,
                    measure=measure.title,
                    citation=measure.citation,
                    effective=measure.effective.isoformat(),
                    family=candidate.family or candidate.maker,
                    scope_note=measure.scope_note,
                    effect=measure.effect,
                    binding=measure_binds(measure, parties, on),
                    deadline=measure.deadline.isoformat() if measure.deadline else None,
                    condition=condition,
                )
            )
    return restricting_first(findings)


#: (candidate, device type, country) -> :func:`findings_for_candidate`'s findings.
FindingsMemo = dict[tuple[MakerCandidate, str | None, str | None], tuple[Finding, ...]]
#: At most this many entries in a memo (makers x device types x countries: a few hundred).
MAX_MEMO_ENTRIES = 4096


def findings_for_family(family: str | None, policies: Sequence[Policy]) -> list[Finding]:
    """Every selected measure naming ``family`` (no --as): restricting ones first."""
    if not family:
        return []
    return findings_for_candidate(MakerCandidate(family, family), policies)


def restricting_first(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that restrict first, then those that would on a condition, then binding
    ones, then the rest (stable: policy order is kept within each)."""
    return sorted(
        findings,
        key=lambda finding: (
            not finding.restricts,
            not finding.restricts_if_so,
            finding.binding is False,
        ),
    )


def policy_ids(findings: Iterable[Finding]) -> list[str]:
    return list(dict.fromkeys(finding.policy for finding in findings))


@dataclass(frozen=True)
class Assessment:
    """The selected measures applied to every maker the evidence allows."""

    candidates: tuple[MakerCandidate, ...]
    #: Restricting findings first, then the others; one entry per (measure, family).
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
        """The policies that restrict some candidate maker."""
        return policy_ids(f for f in self.findings if f.restricts)

    @property
    def restricting_every_candidate(self) -> list[str]:
        """The policies that restrict every candidate maker (whichever made it), in order;
        with one candidate, :attr:`restricting_policies`."""
        every = [set(ids) for ids in self.restricted_by.values()]
        return [p for p in self.restricting_policies if all(p in ids for ids in every)]

    def restricted_by_text(self) -> str:
        """``"us, uk"`` or, when candidates differ, ``"us, uk (whichever made it), and ca
        only if Hikvision"``: what a restricted verdict cites (never "; ", which separates
        reasons)."""
        every = self.restricting_every_candidate
        if len(self.candidates) < 2 or every == self.restricting_policies:
            return ", ".join(self.restricting_policies)
        extra = [
            f"{', '.join(p for p in ids if p not in every)} only if {maker}"
            for maker, ids in self.restricted_by.items()
            if any(p not in every for p in ids)
        ]
        if not every:
            return " / ".join(extra)
        return f"{', '.join(every)} (whichever made it), and " + " / ".join(extra)

    @property
    def conditional(self) -> list[Finding]:
        """Findings that would restrict the device on a condition the tool cannot tell."""
        return [f for f in self.findings if f.condition is not None and f.restricts_if_so]

    def conditions_text(self) -> str:
        """``"us (American Security Drone Act: ...) if its device type is uas"``, one per
        measure and condition, joined with " / " (never "; ", which separates reasons). A
        measure naming two possible makers (Annke: Hikvision or Dahua) has a finding per
        family, said once."""
        return " / ".join(
            dict.fromkeys(
                f"{finding.policy} ({finding.measure}) if {finding.condition}"
                for finding in self.conditional
            )
        )

    @property
    def context_policies(self) -> list[str]:
        """Policies naming the maker only through measures that restrict nothing (advisory,
        context) or that do not bind the user."""
        restricting = set(self.restricting_policies)
        restricting |= {f.policy for f in self.conditional}
        return [
            p
            for p in policy_ids(f for f in self.findings if not f.restricts)
            if p not in restricting
        ]

    def which(self) -> str:
        """``"Hikvision by us, uk / Dahua by none of the selected policies"``.

        Not "; ": reasons are joined with "; " and split on it for display.
        """
        return " / ".join(
            f"{maker} by {', '.join(ids)}" if ids else f"{maker} by none of the selected policies"
            for maker, ids in self.restricted_by.items()
        )


def assess(
    candidates: Sequence[MakerCandidate],
    policies: Sequence[Policy],
    *,
    device_type: str | None = None,
    countries: Mapping[str, str | None] | None = None,
    acting_as: Sequence[str] = (),
    memo: FindingsMemo | None = None,
    installed: bool = True,
    on: date | None = None,
) -> Assessment:
    """The findings for every candidate maker, and which candidates are restricted.

    ``countries``: maker name -> country (vendors.yaml), for measures that name a device
    category and its country of production. ``memo``: see :class:`FindingsMemo` (one memo
    serves one value of ``installed`` and of ``on``). ``installed``, ``on`` (the judging
    day, None: today): see :func:`findings_for_candidate`.
    """
    findings: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    restricted_by: dict[str, tuple[str, ...]] = {}
    for candidate in candidates:
        country = (countries or {}).get(candidate.maker)
        memo_key = (candidate, device_type, country)
        known = memo.get(memo_key) if memo is not None else None
        if known is None:
            known = tuple(
                findings_for_candidate(
                    candidate,
                    policies,
                    device_type=device_type,
                    country=country,
                    acting_as=acting_as,
                    installed=installed,
                    on=on,
                )
            )
            if memo is not None and len(memo) < MAX_MEMO_ENTRIES:
                memo[memo_key] = known
        candidate_findings = known
        restricted_by[candidate.maker] = tuple(
            policy_ids(f for f in candidate_findings if f.restricts)
        )
        for finding in candidate_findings:
            key = (finding.policy, finding.measure, finding.family)
            if key not in seen:
                seen.add(key)
                findings.append(finding)
    return Assessment(tuple(candidates), tuple(restricting_first(findings)), restricted_by)


def conditional_note(assessment: Assessment) -> str:
    """The review note of measures that restrict the device only on a condition the tool
    cannot tell (its kind of device, when it was acquired)."""
    return (
        f"{REVIEW_NOTE_PREFIX}restricted only on a condition the evidence cannot settle: "
        f"{assessment.conditions_text()}"
    )


def judge(
    device: Device,
    policies: Sequence[Policy],
    *,
    countries: Mapping[str, str | None] | None = None,
    acting_as: Sequence[str] = (),
    memo: FindingsMemo | None = None,
    on: date | None = None,
) -> Device:
    """Return the device with its findings and verdict (``memo``: see :class:`FindingsMemo`;
    ``on``: the judging day, the scan's start date; None: today).

    Restricted only when a restricting measure that binds the user (any, without
    ``acting_as``) names every maker the evidence allows and the maker is established
    (confidence at least RESTRICTED_MIN_CONFIDENCE). Anything less is not restricted and says
    why in a note starting with ``review:``.
    """
    candidates: tuple[MakerCandidate, ...] = ()
    if device.manufacturer is not None:
        candidates = (MakerCandidate(device.manufacturer, device.family), *device.alternatives)
    assessment = assess(
        candidates,
        policies,
        device_type=device.device_type,
        countries=countries,
        acting_as=acting_as,
        memo=memo,
        on=on,
    )
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
    if not restricted and assessment.conditional:
        notes.append(conditional_note(assessment))
    if assessment.context_policies:
        if judging_parties(acting_as, policies) is None:
            what = "restrict nothing"
        elif acting_as:
            what = "restrict nothing or do not bind you"
        else:
            what = f"restrict nothing or do not bind {DEFAULT_PARTY} (the default reading)"
        later = dict.fromkeys(
            f"{f.policy} in force from {f.effective}"
            for f in assessment.findings
            if not_yet_in_force(f.effective, on)
        )
        if later:
            what = f"{what}, or are not in force yet: {', '.join(later)}"
        notes.append(
            f"{CONTEXT_NOTE_PREFIX} (these measures {what}): "
            + ", ".join(assessment.context_policies)
        )
    return dataclasses.replace(
        device, findings=assessment.findings, restricted=restricted, notes=tuple(notes)
    )
