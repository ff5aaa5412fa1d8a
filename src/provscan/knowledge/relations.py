"""``relations.yaml``: which maker makes a brand's products (own brands, OEM relabels…)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field

from provscan.knowledge.base import (
    Confidence,
    Problems,
    StrictModel,
    check_period,
    check_sources,
    read_file,
)
from provscan.knowledge.vocabulary import Vendor, check_vendor_name

RELATIONS_FILE = "relations.yaml"

#: Kinds of product a relation's scope can name (the device types of the fingerprint and
#: grammar data).
RelationDeviceType = Literal[
    "camera",
    "ptz",
    "thermal",
    "nvr",
    "dvr",
    "recorder",
    "kit",
    "doorbell",
    "intercom",
    "access_control",
    "alarm",
    "encoder",
    "storage",
    "switch",
    "router",
    "uas",
    "accessory",
    "radio",
    "smartphone",
]


class Relation(StrictModel):
    brand: str  # a Vendor.name
    maker: str  # a Vendor.name
    relation: Literal[
        "own_brand", "subsidiary", "consumer_brand", "oem_relabel", "former_subsidiary"
    ]
    #: "all" when every product of the brand is made by the maker; otherwise which lines.
    scope: str = "all"
    partial: bool = False
    since: str | None = None
    until: str | None = None
    confidence: Confidence
    evidence: str
    documented: bool = True
    #: The kinds of product the relation's scope covers (e.g. a relabel of video lines only);
    #: empty when the sources do not say. A product shown to be of another kind (a
    #: thermostat under a video-only relabel) is outside the relation.
    device_types: list[RelationDeviceType] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)


class RelationFile(StrictModel):
    relations: list[Relation]


def read_relations(
    data_dir: Path, problems: Problems, vendors: dict[str, Vendor] | None
) -> tuple[Relation, ...] | None:
    """Load ``relations.yaml``; dated relations of one brand and maker must not contradict."""
    parsed = read_file(data_dir, RELATIONS_FILE, RelationFile, problems, "relations")
    if parsed is None:
        return None
    document = parsed.document
    checked: list[tuple[int, Relation, tuple[date, date]]] = []
    for index, relation in parsed.indexed(parsed.model.relations):
        at = ("relations", index)
        for role, name in (("brand", relation.brand), ("maker", relation.maker)):
            check_vendor_name(problems, document, at, name, vendors, role)
        if relation.relation != "own_brand" and relation.brand == relation.maker:
            problems.add(document, f"brand == maker needs own_brand, not {relation.relation}", at)
        if relation.partial and relation.scope.strip().lower() == "all":
            problems.add(document, "partial: true needs a scope saying which lines", at)
        if not relation.evidence.strip():
            problems.add(document, "evidence must not be blank", at)
        check_sources(problems, document, at, relation.sources)
        period = check_period(problems, document, at, relation.since, relation.until)
        if period is not None:
            checked.append((index, relation, period))

    for position, (index, relation, (start, end)) in enumerate(checked):
        for other_index, other, (other_start, other_end) in checked[position + 1 :]:
            if (other.brand, other.maker) != (relation.brand, relation.maker):
                continue
            if start > other_end or other_start > end:
                continue
            other_at = ("relations", other_index)
            if other.relation != relation.relation:
                problems.add(
                    document,
                    f"contradicts relations[{index}]: {other.relation} vs {relation.relation} "
                    "for the same brand and maker in overlapping periods",
                    other_at,
                )
            elif other.scope == relation.scope:
                problems.add(document, f"duplicates relations[{index}]", other_at)
    return tuple(parsed.model.relations)
