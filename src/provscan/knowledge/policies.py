"""``policies.yaml``: the measures of each jurisdiction and the families they name."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field

from provscan.knowledge.base import (
    Location,
    Problems,
    StrictModel,
    YamlDocument,
    check_sources,
    read_file,
)
from provscan.knowledge.families import FAMILIES_FILE, Family

POLICIES_FILE = "policies.yaml"

#: What a measure does to the equipment of the families it names.
#: - restricts: it bars buying, using, keeping, connecting, authorizing or funding the
#:   equipment for those it binds;
#: - context: it restricts no equipment (no ban, decisions of individual bodies, an order on
#:   a company rather than on its products). Reported, never a restriction.
MeasureEffect = Literal["restricts", "context"]

#: How a measure that binds nobody starts its ``binds`` (see policies.yaml); it cannot restrict.
NOT_BINDING_PREFIX = "Not binding"


class Measure(StrictModel):
    id: str
    title: str
    families: list[str] = Field(min_length=1)
    measure: str
    binds: str
    scope_note: str = ""
    effect: MeasureEffect
    #: The words of the measure's own text (title, measure, binds or scope_note) that decide
    #: ``effect``; the loader checks that they are there.
    effect_basis: str
    effective: date
    citation: str
    sources: list[str] = Field(min_length=1)

    def own_text(self) -> str:
        """Title, measure, binds and scope note, whitespace collapsed (``effect_basis`` is read here)."""
        return " ".join(f"{self.title} {self.measure} {self.binds} {self.scope_note}".split())


class Policy(StrictModel):
    id: str
    jurisdiction: str
    name: str
    measures: list[Measure] = Field(min_length=1)


class PolicyFile(StrictModel):
    policies: list[Policy]


def read_policies(
    data_dir: Path, problems: Problems, families: dict[str, Family] | None
) -> dict[str, Policy] | None:
    """Load ``policies.yaml``: unique ids, known families, ``effect`` quoted from the text."""
    parsed = read_file(data_dir, POLICIES_FILE, PolicyFile, problems, "policies")
    if parsed is None:
        return None
    document = parsed.document
    policies: dict[str, Policy] = {}
    measure_owner: dict[str, str] = {}  # measure id -> policy id; unique across all policies
    for index, policy in parsed.indexed(parsed.model.policies):
        at = ("policies", index)
        if policy.id in policies:
            problems.add(document, f"duplicate policy id {policy.id!r}", at)
            continue
        policies[policy.id] = policy
        for measure_index, measure in enumerate(policy.measures):
            measure_at = (*at, "measures", measure_index)
            if measure.id in measure_owner:
                problems.add(
                    document,
                    f"duplicate measure id {measure.id!r} "
                    f"(first in policy {measure_owner[measure.id]!r})",
                    measure_at,
                )
            measure_owner.setdefault(measure.id, policy.id)
            for family_id in measure.families:
                if families is not None and family_id not in families:
                    problems.add(
                        document,
                        f"family {family_id!r} is not a family id in {FAMILIES_FILE}",
                        measure_at,
                    )
            for field_name in ("title", "measure", "binds", "citation"):
                if not str(getattr(measure, field_name)).strip():
                    problems.add(document, f"{field_name} must not be blank", measure_at)
            _check_measure_effect(measure, document, measure_at, problems)
            check_sources(problems, document, measure_at, measure.sources)
    return policies


def _check_measure_effect(
    measure: Measure, document: YamlDocument, at: Location, problems: Problems
) -> None:
    """``effect`` is read from the measure's own text: its basis must be quoted from it."""
    basis = " ".join(measure.effect_basis.split())
    basis_at = (*at, "effect_basis")
    entry = document.describe(at)
    if not basis:
        problems.add(
            document, "effect_basis must quote the words that decide effect", basis_at, entry=entry
        )
    elif basis.casefold() not in measure.own_text().casefold():
        problems.add(
            document,
            f"effect_basis {basis!r} is not in the measure's title, measure, binds or scope_note",
            basis_at,
            entry=entry,
        )
    if measure.binds.startswith(NOT_BINDING_PREFIX) and measure.effect != "context":
        problems.add(
            document,
            f"binds says {NOT_BINDING_PREFIX!r}: effect must be 'context', not {measure.effect!r}",
            (*at, "effect"),
            entry=entry,
        )
