"""``remediation.yaml``: the advice shown for each remediation (replace, isolate, patch, reconfigure),
and a coarse effort per kind of action (rough planning figures)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field

from provscan.knowledge.base import (
    FileLoader,
    Location,
    Problems,
    StrictModel,
    YamlDocument,
    check_sources,
    read_file,
    template_fields,
)
from provscan.knowledge.exposure import EXPOSURE_KINDS, ExposureKind

REMEDIATION_FILE = "remediation.yaml"
#: The placeholders each advice text is filled with (``str.format``).
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "replace_restricted": frozenset({"citation"}),
    "patch": frozenset({"fixed_in"}),
    "verify_firmware": frozenset(),
    "isolate": frozenset({"ip", "ports"}),  # and each isolate_by_device_type entry
    "reconfigure": frozenset(),
}
#: The placeholders of ``if_maker_not_established``: its ``reason`` wraps the advice's reason,
#: its ``steps`` come before the advice's steps.
MAKER_CONDITION_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "reason": frozenset({"maker", "reason"}),
    "steps": frozenset({"maker", "why"}),
}
#: The wording of advice that depends on a maker the evidence does not establish, for a
#: knowledge pack whose ``remediation.yaml`` predates ``if_maker_not_established``.
DEFAULT_MAKER_CONDITION_REASON = "if made by {maker}: {reason}"
DEFAULT_MAKER_CONDITION_STEPS = (
    "Only if {maker} made this device, which is not established ({why}): confirm the maker first."
)


class Advice(StrictModel):
    """What to do, as shown to the user."""

    steps: str
    sources: list[str] = Field(min_length=1)


class TypedIsolateAdvice(Advice):
    """Isolation advice for some device types (``isolate`` is for the rest: cameras and
    recorders, what the tool mostly finds)."""

    device_types: list[str] = Field(min_length=1)


class ReconfigureAdvice(Advice):
    """What to change on the device for one kind of exposure."""

    kind: ExposureKind
    #: 1 = internet-exposed or a working factory account … 3 = cloud/P2P, plain-HTTP login.
    priority: int = Field(ge=1, le=4)
    #: The exposure also calls for isolating the device until it is fixed.
    isolate: bool = False


class MakerConditionAdvice(Advice):
    """How advice that depends on who made the device (an end of support, an advisory,
    matched by a maker's name) is worded when that maker is not established: ``reason`` wraps
    the advice's reason, ``steps`` come before its steps."""

    reason: str


#: The kinds of action remediation gives (provscan.posture.assess.ACTIONS).
ACTION_KINDS: tuple[str, ...] = ("isolate", "replace", "patch", "reconfigure")
#: The widest effort ``label`` (the table's Effort column takes it only when it fits).
EFFORT_LABEL_WIDTH = 8


class EffortAdvice(StrictModel):
    """How much work one kind of action usually is: a rough planning figure."""

    action: str
    #: The column's word ("hours", "months").
    label: str = Field(min_length=1, max_length=EFFORT_LABEL_WIDTH)
    #: The figure in words ("weeks to months, and a budget: ...").
    text: str
    sources: list[str] = Field(min_length=1)


class EffortFile(StrictModel):
    """The effort of each kind of action, and what the figures are (``note``)."""

    note: str
    actions: list[EffortAdvice] = Field(min_length=1)


class RemediationFile(StrictModel):
    description: str
    replace_restricted: Advice
    patch: Advice
    verify_firmware: Advice
    isolate: Advice
    isolate_by_device_type: list[TypedIsolateAdvice] = Field(default_factory=list)
    reconfigure: list[ReconfigureAdvice] = Field(min_length=1)
    if_maker_not_established: MakerConditionAdvice | None = None
    effort: EffortFile | None = None


@dataclass(frozen=True)
class Effort:
    """A rough planning figure for one kind of action: ``label`` for a column, ``text`` in
    words, ``note`` what such figures are."""

    label: str
    text: str
    note: str


@dataclass(frozen=True)
class Reconfigure:
    priority: int
    steps: str
    isolate: bool


@dataclass(frozen=True)
class RemediationTexts:
    """The advice texts (templates where :data:`PLACEHOLDERS` says so)."""

    replace_restricted: str
    patch: str
    verify_firmware: str
    isolate: str
    reconfigure: dict[str, Reconfigure]
    #: Isolation advice by device type (``isolate`` for any type not here).
    isolate_by_type: dict[str, str] = field(default_factory=dict)
    #: Advice that depends on a maker the evidence does not establish: the reason
    #: ({maker}, {reason}) and the steps put before the advice's own ({maker}, {why}).
    if_maker_reason: str = DEFAULT_MAKER_CONDITION_REASON
    if_maker_steps: str = DEFAULT_MAKER_CONDITION_STEPS
    #: Effort by kind of action (empty for a knowledge pack whose file has none).
    effort: dict[str, Effort] = field(default_factory=dict)

    def isolate_for(self, device_type: str | None) -> str:
        """The isolation template for a device of this type."""
        return self.isolate_by_type.get(device_type or "", self.isolate)


def read_remediation(data_dir: Path, problems: Problems) -> RemediationTexts | None:
    """Load ``remediation.yaml``: known placeholders only, one advice per exposure kind."""
    parsed = read_file(data_dir, REMEDIATION_FILE, RemediationFile, problems)
    if parsed is None:
        return None
    document, model = parsed.document, parsed.model
    for key in ("replace_restricted", "patch", "verify_firmware", "isolate"):
        advice: Advice = getattr(model, key)
        _check_advice(problems, document, (key,), advice, PLACEHOLDERS[key])
    isolate_by_type: dict[str, str] = {}
    for index, typed in enumerate(model.isolate_by_device_type):
        at_typed: Location = ("isolate_by_device_type", index)
        _check_advice(problems, document, at_typed, typed, PLACEHOLDERS["isolate"])
        for device_type in typed.device_types:
            if device_type in isolate_by_type:
                problems.add(
                    document, f"device type {device_type!r} has isolation advice already", at_typed
                )
            isolate_by_type.setdefault(device_type, typed.steps)
    reconfigure: dict[str, Reconfigure] = {}
    for index, item in enumerate(model.reconfigure):
        at: Location = ("reconfigure", index)
        if item.kind in reconfigure:
            problems.add(document, f"duplicate advice for exposure kind {item.kind!r}", at)
        _check_advice(problems, document, at, item, PLACEHOLDERS["reconfigure"])
        reconfigure.setdefault(item.kind, Reconfigure(item.priority, item.steps, item.isolate))
    condition = model.if_maker_not_established
    if condition is not None:
        at_condition: Location = ("if_maker_not_established",)
        _check_advice(
            problems, document, at_condition, condition, MAKER_CONDITION_PLACEHOLDERS["steps"]
        )
        _check_template(
            problems,
            document,
            (*at_condition, "reason"),
            condition.reason,
            MAKER_CONDITION_PLACEHOLDERS["reason"],
        )
    effort = _read_effort(problems, document, model.effort)
    for kind in EXPOSURE_KINDS:
        if kind not in reconfigure:
            problems.add(
                document, f"no advice for exposure kind {kind!r}", ("reconfigure",), entry=""
            )
    return RemediationTexts(
        replace_restricted=model.replace_restricted.steps,
        patch=model.patch.steps,
        verify_firmware=model.verify_firmware.steps,
        isolate=model.isolate.steps,
        reconfigure=reconfigure,
        isolate_by_type=isolate_by_type,
        if_maker_reason=(
            condition.reason if condition is not None else DEFAULT_MAKER_CONDITION_REASON
        ),
        if_maker_steps=condition.steps if condition is not None else DEFAULT_MAKER_CONDITION_STEPS,
        effort=effort,
    )


def _read_effort(
    problems: Problems, document: YamlDocument, model: EffortFile | None
) -> dict[str, Effort]:
    """The effort of each kind of action: one entry per kind, each with a source, and the
    note that says they are rough figures; a file without ``effort`` gives none."""
    if model is None:
        return {}
    if not model.note.strip():
        problems.add(document, "note must not be blank", ("effort", "note"))
    effort: dict[str, Effort] = {}
    for index, item in enumerate(model.actions):
        at: Location = ("effort", "actions", index)
        check_sources(problems, document, at, item.sources)
        if item.action not in ACTION_KINDS:
            problems.add(
                document,
                f"unknown action {item.action!r}; one of {', '.join(ACTION_KINDS)}",
                at,
            )
        elif item.action in effort:
            problems.add(document, f"duplicate effort for action {item.action!r}", at)
        for name in ("label", "text"):
            if not getattr(item, name).strip():
                problems.add(document, f"{name} must not be blank", (*at, name))
        effort.setdefault(item.action, Effort(item.label, item.text, model.note))
    missing = [kind for kind in ACTION_KINDS if kind not in effort]
    if missing:
        problems.add(
            document, f"no effort for action(s) {', '.join(missing)}", ("effort",), entry=""
        )
    return effort


def _check_advice(
    problems: Problems,
    document: YamlDocument,
    at: Location,
    advice: Advice,
    allowed: frozenset[str],
) -> None:
    check_sources(problems, document, at, advice.sources)
    _check_template(problems, document, (*at, "steps"), advice.steps, allowed)


def _check_template(
    problems: Problems,
    document: YamlDocument,
    at: Location,
    text: str,
    allowed: frozenset[str],
) -> None:
    if not text.strip():
        problems.add(document, f"{at[-1]} must not be blank", at)
    try:
        unknown = template_fields(text) - allowed
    except ValueError as exc:
        problems.add(document, f"malformed template: {exc}", at)
        return
    if unknown:
        problems.add(
            document,
            f"unknown placeholder(s) {sorted(unknown)}; allowed here: {sorted(allowed) or 'none'}",
            at,
        )


#: The advice texts (default: the bundled file, read
#: once: base.FileLoader). Raises KnowledgeError.
load_remediation: FileLoader[RemediationTexts] = FileLoader(read_remediation)
