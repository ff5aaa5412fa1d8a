"""Judging an identification against the selected policies, and the row object it becomes.

``ScreenRow`` is the one JSON shape of a screened product: ``provscan lookup --format json``
prints it and ``provscan screen --format json`` lists it under ``rows``. Its ``verdict`` is
the word ``provscan scan`` and ``provscan inventory`` give a device (restricted, review,
unknown, clear: :data:`provscan.report.contract.VERDICTS`), from the row's ``status`` by
:func:`verdict_of_status`; ``status`` and ``restricted`` stay for the scripts that read them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from provscan.knowledge.loader import load_knowledge
from provscan.knowledge.schema import Policy
from provscan.model import RESTRICTING_FINDING_EFFECTS, Finding, FindingEffect, finding_restricts
from provscan.policy.evaluate import (
    ACT_AS_ANYONE,
    DEFAULT_PARTY,
    JUDGED_FOR_ANYONE,
    RESTRICTED_MIN_CONFIDENCE,
    Assessment,
    FindingsMemo,
    assess,
    binds_once_in_force,
    describe_parties,
    judged_for,
    judging_parties,
    maker_countries,
)
from provscan.report.contract import Verdict
from provscan.screening.identify import Identification

Status = Literal["restricted", "review", "clear", "unknown"]

#: The relation of a brand that sells only some lines made by a maker (identify.py): the maker
#: is then only possible, never established.
POSSIBLE_RELABEL = "possible_relabel"

#: What to do about a row to review whose maker is in doubt (a possible relabel, a confidence
#: below the threshold, a relabeller's brand on a restricted maker's numbering): the last
#: clause of its reason; ``provscan lookup`` shows it apart under "next step".
REVIEW_NEXT_STEP = (
    "next step: ask the supplier for the manufacturer of record (and the OEM) in writing"
)
#: The same for a row restricted only on a condition it leaves open (a sensitive site, a kind
#: of equipment the measure covers).
CONDITION_NEXT_STEP = (
    "next step: check whether the condition holds for this purchase and record the answer"
)
#: How a reason's next step begins (``lookup`` finds it by this).
NEXT_STEP_PREFIX = "next step: "

#: The verdict of each screening status: the words of a scan's and an inventory's devices.
#: ``unknown`` is a row whose maker nothing identified (an empty product cell, a line that
#: is no product): not cleared, as an unknown device is not.
_VERDICT_OF_STATUS: dict[Status, Verdict] = {
    "restricted": "restricted",
    "review": "review",
    "unknown": "unknown",
    "clear": "clear",
}


def verdict_of_status(status: Status) -> Verdict:
    """The one place that maps a screened row's status to its verdict."""
    return _VERDICT_OF_STATUS[status]


#: The kinds of clause a row's reason is made of (:class:`ReasonClause`). The first clause of a
#: judged row says the verdict ("restricted", "review", "review_condition",
#: "review_numbering", "clear_not_binding", "clear_context_only"); a clear row with no
#: measure naming its maker says why last ("clear_no_family", "clear_not_named");
#: "context_not_binding" and "context_only" list the measures that name the maker without
#: restricting it; "identification" is a clause of the identification (identify.py's words);
#: "next_step" what to do about a row to review.
ClauseKind = Literal[
    "restricted",
    "review",
    "review_condition",
    "review_numbering",
    "clear_not_binding",
    "clear_context_only",
    "clear_no_family",
    "clear_not_named",
    "context_not_binding",
    "context_only",
    "identification",
    "next_step",
]
#: The clauses that list measures naming the maker without restricting it for whom the row
#: is judged for (the screening document says them once, above its rows).
CONTEXT_CLAUSES: frozenset[ClauseKind] = frozenset({"context_not_binding", "context_only"})


@dataclass(frozen=True)
class Say:
    """verdict.py's own words."""

    text: str


@dataclass(frozen=True)
class Brand:
    """Whose row it is: the brand the row states (None: "unknown brand"), with ": " after."""

    name: str | None


@dataclass(frozen=True)
class Maker:
    """A maker's name."""

    name: str


@dataclass(frozen=True)
class Name:
    """A name from the knowledge or the row said as it is (a family, a measure's title, a
    condition)."""

    text: str


@dataclass(frozen=True)
class Relation:
    """A relation code (``oem_relabel``, ``possible_relabel``...)."""

    code: str


@dataclass(frozen=True)
class Policies:
    """Policy ids, ``", "``-joined in the text."""

    ids: tuple[str, ...]


@dataclass(frozen=True)
class Quote:
    """Text of the identification, as it gave it (a clause of identify.py, a review note)."""

    text: str


ReasonToken = Say | Brand | Maker | Name | Relation | Policies | Quote


@dataclass(frozen=True)
class ReasonClause:
    """One clause of a row's reason: its kind and its parts, from which the ``reason`` text
    (:func:`reason_text`) and the screening document's plain words are both made."""

    kind: ClauseKind
    parts: tuple[ReasonToken, ...]

    @property
    def text(self) -> str:
        return "".join(token_text(part) for part in self.parts)


def token_text(token: ReasonToken) -> str:
    """A part as the CSV/JSON ``reason`` writes it."""
    if isinstance(token, Brand):
        return f"{token.name or 'unknown brand'}: "
    if isinstance(token, Maker):
        return token.name
    if isinstance(token, Relation):
        return token.code
    if isinstance(token, Policies):
        return ", ".join(token.ids)
    return token.text


def reason_text(clauses: Sequence[ReasonClause]) -> str:
    """The ``reason`` of the CSV, JSON and XLSX outputs: the clauses joined with "; "."""
    return "; ".join(clause.text for clause in clauses)


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
    #: What the measure does (use-ban, procurement-ban, removal-order, authorization-ban,
    #: import-marketing-ban restrict; advisory and context never make a row restricted).
    effect: FindingEffect = "restricts"
    #: Whether the measure binds the user (``--as``); None when they did not say who they are.
    binding: bool | None = None
    #: What must hold for the measure to restrict the product that the row does not say (the
    #: measure covers only some kinds of its makers' equipment): such a row is to be
    #: reviewed. None: nothing.
    condition: str | None = None

    @property
    def restricts(self) -> bool:
        """A restricting effect from a measure that binds the user (or anyone, without --as),
        on no condition the row leaves open: :func:`provscan.model.finding_restricts`, the one
        predicate a scan's, the inventory's and the console's findings are read by too."""
        return finding_restricts(
            {"effect": self.effect, "binding": self.binding, "condition": self.condition}
        )


class ScreenRow(_Strict):
    """One screened product. ``restricted`` is null when a human must review or decide."""

    @property
    def cited_policies(self) -> list[str]:
        """The policies a row's ``policies`` column cites: for a restricted row of several
        possible makers, those that restrict whichever made it (when there are any); else
        every policy with a restricting finding ("if confirmed", for a row to review)."""
        restricting = [f for f in self.findings if f.restricts]
        cited = list(dict.fromkeys(f.policy for f in restricting))
        if self.restricted:
            by_family: dict[str, set[str]] = {}
            for finding in restricting:
                by_family.setdefault(finding.family, set()).add(finding.policy)
            every = [p for p in cited if all(p in ids for ids in by_family.values())]
            if every:
                return every
        return cited

    @property
    def maker_established(self) -> bool:
        """False when the maker is only possible (a ``possible_relabel``: the brand sells only
        some lines made by it, and nothing says this is one): outputs mark it "Dahua?"."""
        return self.relation != POSSIBLE_RELABEL

    row: int | None
    input: str
    maker: str | None
    #: Every maker the evidence allows, ``maker`` first ("Hikvision or Dahua": two entries).
    makers: list[str]
    brand: str | None
    model: str | None
    device_type: str | None
    relation: str
    family: str | None
    restricted: bool | None
    status: Status
    #: The row's verdict in the words of ``provscan scan`` and ``provscan inventory``
    #: (:func:`verdict_of_status`); a row read without one (written before it) gets it.
    verdict: Verdict
    findings: list[ScreenFinding]
    confidence: float
    reason: str
    #: The clauses :attr:`reason` is made of (:func:`judge_product`), for the screening
    #: document's plain words; not written in the JSON (a row read from it has none, and
    #: its ``reason`` says the same).
    reason_parts: SkipJsonSchema[tuple[ReasonClause, ...]] = Field(
        default=(), exclude=True, repr=False
    )
    evidence: list[str]
    #: Who the user said they are (``--as``); empty: the default reading (a national
    #: government body); ``["all"]``: every measure counts.
    acting_as: list[str] = []
    #: Whom the verdict was judged for, in words: the ``--as`` org type ids, "a national
    #: government body" (the default) or "anyone" (``policy.evaluate.judged_for``); a row
    #: read without one (written before it) gets it from ``acting_as``.
    judged_for: str

    @model_validator(mode="before")
    @classmethod
    def _with_verdict(cls, data: object) -> object:
        if not isinstance(data, Mapping):
            return data
        status = data.get("status")
        if "verdict" not in data and status in _VERDICT_OF_STATUS:
            data = {**data, "verdict": verdict_of_status(status)}
        return _with_judged_for(data)

    @model_validator(mode="after")
    def _verdict_agrees(self) -> ScreenRow:
        expected = verdict_of_status(self.status)
        if self.verdict != expected:
            raise ValueError(f"verdict is {self.verdict!r} but the status says {expected!r}")
        return self


class ScreenSummary(_Strict):
    """The counts of a screened list and what an auditor needs to check it again: what read it
    (provscan's version), against which knowledge (version and as-of date), when, for whom,
    and which file (its name and sha256). The audit fields are null in a summary written
    before they were recorded, or built without them (``summarise`` alone)."""

    rows: int
    restricted: int
    review: int
    clear: int
    unknown: int
    policies: list[str]
    columns: dict[str, str | None]
    source: str | None = None
    #: Who the user said they are (``--as``); empty: the default reading (a national
    #: government body); ``["all"]``: every measure counts.
    acting_as: list[str] = []
    #: Whom the verdicts were judged for, in words (as each row's ``judged_for``).
    judged_for: str
    #: Rows of the input left out as no products (totals, rows of formulas), by their row
    #: numbers; not among ``rows``.
    skipped: list[int] = []
    #: The provscan version that screened the list.
    provscan_version: str | None = None
    #: The knowledge pack the verdicts were judged with, and the day its facts are as of.
    knowledge_version: str | None = None
    knowledge_as_of: str | None = None
    #: When the list was screened (UTC, ISO 8601).
    screened_at: str | None = None
    #: The sha256 of the input's bytes (a file or standard input), to tell it from another
    #: version of the list.
    input_sha256: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _fill_judged_for(cls, data: object) -> object:
        return _with_judged_for(data) if isinstance(data, Mapping) else data


def _with_judged_for(data: Mapping[str, object]) -> Mapping[str, object]:
    """A row or summary written before ``judged_for`` with the one its ``acting_as`` gives
    (as recorded by :func:`_recorded_parties`, it tells the three readings apart)."""
    acting_as = data.get("acting_as", [])
    if "judged_for" in data or not isinstance(acting_as, list):
        return data
    parties = [str(party) for party in acting_as]
    if parties == [ACT_AS_ANYONE]:
        return {**data, "judged_for": JUDGED_FOR_ANYONE}
    return {**data, "judged_for": ", ".join(parties) if parties else DEFAULT_PARTY}


class ScreenMeasure(_Strict):
    """A measure the screened rows name, once, with what an auditor quotes: its title,
    citation and official link (``provscan.screening.audit.cited_measures``)."""

    #: Its number among the measures of the document (restricting ones first).
    number: int
    policy: str
    jurisdiction: str
    #: The measure's id in ``policies.yaml``; null when it is not (older knowledge).
    id: str | None
    title: str
    effect: FindingEffect
    effective: str
    citation: str
    link: str | None = None
    #: What the measure covers, as its findings say it (a row's finding in the JSON leaves
    #: it here, once); empty when the knowledge gives none.
    scope_note: str = ""
    #: Whether it binds whom the rows were judged for (null: every measure counted).
    binding: bool | None = None
    #: The conditions the rows leave open on which it restricts them (a sensitive site).
    conditions: list[str] = []
    #: How many rows it restricts outright, and how many it names in all.
    restricts_rows: int = 0
    rows: int = 0


class ScreenDocument(_Strict):
    rows: list[ScreenRow]
    summary: ScreenSummary
    #: Every measure the rows name, restricting ones first (empty in documents written
    #: before it was added).
    measures: list[ScreenMeasure] = []


def _recorded_parties(acting_as: Sequence[str], policies: Sequence[Policy]) -> list[str]:
    """Whom a row was judged for, as recorded: the user's org types; ``[]`` for the default
    reading; ``["all"]`` whenever every restricting measure counted (``--as all``, or a
    selection of policies that declares no national government body)."""
    if not acting_as and judging_parties(acting_as, policies) is None:
        return [ACT_AS_ANYONE]
    return list(acting_as)


_Made = TypeVar("_Made")


class PerJudgement(Generic[_Made]):
    """``make(row)`` once per judgement, for what is made from a row's verdict alone (its
    result cells, the measures it cites), never from its row number.

    ``provscan.screening.run.screen_table`` gives a product listed again a copy of its first
    row that shares every field's value object but the row number: rows whose fields are the
    same objects get the same result. Each first row is kept, so the objects a key names stay
    alive and their ids are not reused.
    """

    def __init__(self, make: Callable[[ScreenRow], _Made]) -> None:
        self._make = make
        self._made: dict[tuple[int, ...], tuple[ScreenRow, _Made]] = {}

    def __call__(self, row: ScreenRow) -> _Made:
        key = tuple(id(value) for name, value in row.__dict__.items() if name != "row")
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = (row, self._make(row))
        return made[1]


@lru_cache(maxsize=1)
def _bundled_countries() -> dict[str, str | None]:
    return maker_countries(load_knowledge().vendors)


def judge_product(
    identification: Identification,
    policies: Sequence[Policy],
    row: int | None = None,
    *,
    acting_as: Sequence[str] = (),
    countries: Mapping[str, str | None] | None = None,
    memo: FindingsMemo | None = None,
) -> ScreenRow:
    """The row for one identification under the selected policies, for the user ``acting_as``.

    Restricted only when restricting measures that bind the user (by default a national
    government body; any with ``--as all``;
    never advisory or context ones) name every maker the evidence allows, the maker is
    established (not a possible relabel) and the confidence reaches RESTRICTED_MIN_CONFIDENCE.
    Anything less with a restricted candidate is review. ``countries`` (maker -> country,
    default the bundled vendors') serves measures that name a device category. ``memo``:
    findings already made for a maker candidate (:func:`provscan.policy.evaluate.assess`),
    for one list judged under the same policies and ``acting_as``.

    The reason is built as clauses of parts (:class:`ReasonClause`): the row's ``reason``
    text is made from them, and the screening document's plain words too.
    """
    reasons = [
        ReasonClause("identification", (Quote(reason),)) for reason in identification.reasons
    ]
    assessment = assess(
        identification.candidates,
        policies,
        device_type=identification.device_type,
        countries=_bundled_countries() if countries is None else countries,
        acting_as=acting_as,
        installed=False,  # a product being bought: acquired now
        memo=memo,
    )
    several = len(identification.candidates) > 1
    context = assessment.context_policies
    # Who the verdict is for: the user (--as), by default a national government body, or
    # anyone (--as all: every measure counts).
    judged = judging_parties(acting_as, policies) is not None
    party = describe_parties(acting_as)
    context_reason: ReasonClause | None = None
    if context and judged:
        who = "you" if acting_as else party
        context_reason = ReasonClause(
            "context_not_binding",
            (
                Say(
                    f"named, restricting nothing for {who} (binds others, or "
                    "advisory / context only): "
                ),
                Policies(tuple(context)),
            ),
        )
    elif context:
        context_reason = ReasonClause(
            "context_only", (Say("context only, restricting nothing: "), Policies(tuple(context)))
        )
    summary = _summary(identification)
    status: Status
    restricted: bool | None
    if identification.maker is None:
        status, restricted = "unknown", None
    elif not assessment.some_candidate_restricted and assessment.conditional:
        # A measure that covers only some kinds of the maker's products, and the row does not
        # say which kind this is ("DJI RS 4" under a drone act), or a condition such as where
        # it was produced or the site it serves: a person decides.
        status, restricted = "review", None
        reasons.insert(
            0,
            ReasonClause(
                "review_condition",
                (
                    *summary,
                    Say(" - review: restricted only on a condition the row does not settle: "),
                    *_conditions(assessment),
                ),
            ),
        )
        if context_reason is not None:
            reasons.append(context_reason)
        reasons.append(ReasonClause("next_step", (Say(CONDITION_NEXT_STEP),)))
    elif not assessment.some_candidate_restricted and identification.review_notes:
        # The stated brand names an unrestricted maker, but the number follows a restricted
        # maker's own numbering (or a kit holds a restricted maker's component): a person
        # confirms - before the measures that name the brand without binding the user clear
        # it (a newcomer's TP-Link row with a Hikvision number was clear once us-tx was in).
        status, restricted = "review", None
        reasons.insert(
            0,
            ReasonClause(
                "review_numbering",
                (
                    *summary,
                    Say(" - review: "),
                    *_joined([(Quote(note),) for note in identification.review_notes], "; "),
                ),
            ),
        )
        if context_reason is not None:
            reasons.append(context_reason)
        reasons.append(ReasonClause("next_step", (Say(REVIEW_NEXT_STEP),)))
    elif not assessment.some_candidate_restricted and context and judged:
        # Judged for someone (the user, or by default a national government body): measures
        # that do not bind them, and advice, clear it.
        # Says which measures name it and why none restricts it for them ("named by us, au
        # (do not bind you)"), as the scan's table does: a Crown corporation's Dahua row was
        # "not restricted for ca:crown-corporation" and no more.
        status, restricted = "clear", False
        reasons.insert(
            0,
            ReasonClause(
                "clear_not_binding",
                (
                    *summary,
                    Say(f" - not restricted for {party}: "),
                    *_named_without_restricting(assessment, acting_as, policies),
                ),
            ),
        )
    elif not assessment.some_candidate_restricted and context:
        # Named only by measures that restrict nothing (context: "no ban", "report as
        # context"): clear, with them listed, as a scan, the inventory and a diff judge the
        # same device (decision 0027; this was "review" before 2026-12-06).
        status, restricted = "clear", False
        reasons.insert(
            0,
            ReasonClause(
                "clear_context_only",
                (
                    *summary,
                    Say(" - not restricted: "),
                    *_either(c.maker for c in assessment.candidates),
                    Say(" is named only by measures that restrict nothing"),
                ),
            ),
        )
        if context_reason is not None:
            reasons.append(context_reason)
    elif not assessment.some_candidate_restricted:
        status, restricted = "clear", False
        families = [c.family for c in identification.candidates if c.family]
        if not families:
            reasons.append(
                ReasonClause(
                    "clear_no_family",
                    (
                        Say("maker "),
                        Maker(identification.maker),
                        Say(" is not in a restricted corporate family"),
                    ),
                )
            )
        else:
            reasons.append(
                ReasonClause(
                    "clear_not_named",
                    (
                        Say("maker "),
                        *_either(c.maker for c in assessment.candidates),
                        Say(" (family "),
                        Name(", ".join(dict.fromkeys(families))),
                        Say(") is named by no selected policy"),
                    ),
                )
            )
    else:
        doubts = _doubts(identification, assessment.every_candidate_restricted, assessment)
        if doubts:
            status, restricted = "review", None
            reasons.insert(
                0,
                ReasonClause(
                    "review",
                    (
                        *summary,
                        Say(" - review: "),
                        *_joined(doubts, "; "),
                        Say("; if confirmed, restricted by "),
                        Policies(tuple(assessment.restricting_policies)),
                    ),
                ),
            )
        else:
            status, restricted = "restricted", True
            which = (Say("; each is restricted: "), *_which(assessment)) if several else ()
            reasons.insert(
                0,
                ReasonClause(
                    "restricted",
                    (*summary, Say(" - restricted by "), *_restricted_by(assessment), *which),
                ),
            )
        if context_reason is not None:
            reasons.append(context_reason)
        if status == "review":
            reasons.append(ReasonClause("next_step", (Say(REVIEW_NEXT_STEP),)))
    return ScreenRow(
        row=row,
        input=identification.input,
        maker=identification.maker,
        makers=[candidate.maker for candidate in identification.candidates],
        brand=identification.brand,
        model=identification.model,
        device_type=identification.device_type,
        relation=identification.relation,
        family=identification.family,
        restricted=restricted,
        status=status,
        findings=[_screen_finding(f) for f in assessment.findings],
        confidence=identification.confidence,
        reason=reason_text(reasons),
        reason_parts=tuple(reasons),
        evidence=list(identification.evidence),
        acting_as=_recorded_parties(acting_as, policies),
        judged_for=judged_for(acting_as, policies),
        verdict=verdict_of_status(status),
    )


@lru_cache(maxsize=4096)
def _screen_finding(f: Finding) -> ScreenFinding:
    """The finding as a row shows it; built once per finding (rows share the frozen object)."""
    return ScreenFinding(
        policy=f.policy,
        jurisdiction=f.jurisdiction,
        measure=f.measure,
        citation=f.citation,
        effective=f.effective,
        family=f.family,
        scope_note=f.scope_note,
        effect=f.effect,
        binding=f.binding,
        condition=f.condition,
    )


def _joined(items: Iterable[Sequence[ReasonToken]], separator: str) -> tuple[ReasonToken, ...]:
    """The parts of ``items`` with ``separator`` (verdict.py's words) between them."""
    joined: list[ReasonToken] = []
    for index, item in enumerate(items):
        if index:
            joined.append(Say(separator))
        joined.extend(item)
    return tuple(joined)


def _either(makers: Iterable[str]) -> tuple[ReasonToken, ...]:
    """``Hikvision`` or ``Hikvision or Dahua``."""
    return _joined([(Maker(maker),) for maker in makers], " or ")


def _doubts(
    identification: Identification, every_candidate_restricted: bool, assessment: Assessment
) -> list[tuple[ReasonToken, ...]]:
    """Why the evidence does not establish a restriction (empty: it does)."""
    doubts: list[tuple[ReasonToken, ...]] = []
    makers = _makers(identification)
    if not every_candidate_restricted:
        made = "made" if identification.established else "possibly made"
        doubts.append(
            (
                Say(f"{made} by "),
                *makers,
                Say(" and not every one is restricted ("),
                *_which(assessment),
                Say(")"),
            )
        )
    if not identification.established:
        # the summary says "possibly made by ..." already
        doubts.append((Say("the maker is not established"),))
    if identification.confidence < RESTRICTED_MIN_CONFIDENCE:
        doubts.append(
            (
                Say(
                    f"confidence {identification.confidence:.2f} is below "
                    f"{RESTRICTED_MIN_CONFIDENCE}"
                ),
            )
        )
    return doubts


def _makers(identification: Identification) -> tuple[ReasonToken, ...]:
    """``"Hikvision"``, or ``"Hikvision or Dahua"`` when the evidence allows several."""
    names = [c.maker for c in identification.candidates] or [identification.maker or "unknown"]
    return _either(names)


def _summary(identification: Identification) -> tuple[ReasonToken, ...]:
    """``"LTS: made by Hikvision (oem_relabel)"``; ``"Lorex: possibly made by Dahua
    (possible_relabel)"`` when the maker is not established (the brand sells only some lines
    made by it): the row never says "made by" of a maker it then calls only possible."""
    brand = Brand(identification.brand)
    if identification.maker and identification.maker != (identification.brand or "unknown brand"):
        made = "made by" if identification.established else "possibly made by"
        return (
            brand,
            Say(f"{made} "),
            *_makers(identification),
            Say(" ("),
            Relation(identification.relation),
            Say(")"),
        )
    return (brand, Relation(identification.relation))


def _restricted_by(assessment: Assessment) -> tuple[ReasonToken, ...]:
    """``"us, uk"`` or, when candidates differ, ``"us, uk (whichever made it), and ca only if
    Hikvision"`` (as :meth:`Assessment.restricted_by_text`, in parts)."""
    every = assessment.restricting_every_candidate
    restricting = assessment.restricting_policies
    if len(assessment.candidates) < 2 or every == restricting:
        return (Policies(tuple(restricting)),)
    extra = _joined(
        [
            (Policies(tuple(p for p in ids if p not in every)), Say(" only if "), Maker(maker))
            for maker, ids in assessment.restricted_by.items()
            if any(p not in every for p in ids)
        ],
        " / ",
    )
    if not every:
        return extra
    return (Policies(tuple(every)), Say(" (whichever made it), and "), *extra)


def _which(assessment: Assessment) -> tuple[ReasonToken, ...]:
    """``"Hikvision by us, uk / Dahua by none of the selected policies"`` (as
    :meth:`Assessment.which`, in parts)."""
    return _joined(
        [
            (Maker(maker), Say(" by "), Policies(tuple(ids)))
            if ids
            else (Maker(maker), Say(" by none of the selected policies"))
            for maker, ids in assessment.restricted_by.items()
        ],
        " / ",
    )


def _conditions(assessment: Assessment) -> tuple[ReasonToken, ...]:
    """``"us (American Security Drone Act: ...) if its device type is uas"`` per measure and
    condition (as :meth:`Assessment.conditions_text`, in parts)."""
    said = dict.fromkeys(
        (finding.policy, finding.measure, finding.condition or "")
        for finding in assessment.conditional
    )
    return _joined(
        [
            (Policies((policy,)), Say(" ("), Name(measure), Say(") if "), Name(condition))
            for policy, measure, condition in said
        ],
        " / ",
    )


def _named_without_restricting(
    assessment: Assessment, acting_as: Sequence[str], policies: Sequence[Policy]
) -> tuple[ReasonToken, ...]:
    """Which policies name a maker without restricting it for whom the row is judged for,
    and why: ``"named by us, au (do not bind you) and by dk, nz (advice or context only)"``;
    a measure not in force today that binds them once it is: ``"named by ca (in force from
    2027-06-01)"`` (never "; ", which separates reasons)."""
    context = assessment.context_policies
    later: dict[str, str] = {}
    for finding in assessment.findings:
        if finding.policy in context and binds_once_in_force(finding, policies, acting_as):
            later[finding.policy] = min(finding.effective, later.get(finding.policy, "9999"))
    unbound = [
        policy
        for policy in context
        if policy not in later
        and any(
            f.policy == policy and f.effect in RESTRICTING_FINDING_EFFECTS and f.binding is False
            for f in assessment.findings
        )
    ]
    advice = [policy for policy in context if policy not in unbound and policy not in later]
    parts: list[tuple[ReasonToken, ...]] = [
        (Policies((policy,)), Say(f" (in force from {day})")) for policy, day in later.items()
    ]
    if unbound:
        why = "do not bind you" if acting_as else "binding others"
        parts.append((Policies(tuple(unbound)), Say(f" ({why})")))
    if advice:
        parts.append((Policies(tuple(advice)), Say(" (advice or context only)")))
    return (Say("named by "), *_joined(parts, " and by "))


def summarise(
    rows: Sequence[ScreenRow],
    policies: Sequence[Policy],
    columns: dict[str, str | None],
    source: str | None = None,
    acting_as: Sequence[str] = (),
    skipped: Sequence[int] = (),
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
        acting_as=_recorded_parties(acting_as, policies),
        judged_for=judged_for(acting_as, policies),
        skipped=list(skipped),
    )


def summary_line(summary: ScreenSummary) -> str:
    acting = f"; as {describe_parties(summary.acting_as)}"
    return (
        f"{summary.rows} row{'s' if summary.rows != 1 else ''}: {summary.restricted} restricted, "
        f"{summary.review} to review, {summary.unknown} unknown, {summary.clear} clear "
        f"(policies {', '.join(summary.policies)}{acting})"
    )
