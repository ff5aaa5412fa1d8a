"""``policies.yaml``: the measures of each jurisdiction and the families they name."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from provscan.knowledge.base import (
    Confidence,
    Location,
    Problems,
    StrictModel,
    YamlDocument,
    check_sources,
    read_file,
)
from provscan.knowledge.families import FAMILIES_FILE, Family

POLICIES_FILE = "policies.yaml"

#: What a measure does to the equipment it names, for those it binds:
#: - use-ban: they may not use (or keep, connect, install) it;
#: - procurement-ban: they may not buy or obtain it (or buy it with certain funds);
#: - removal-order: they must remove and replace equipment they already have;
#: - authorization-ban: no new equipment authorization (so no new models marketed or imported);
#: - import-marketing-ban: already-authorized equipment may no longer be imported or marketed;
#: - advisory: advice only (the public is "encouraged"); never a restriction;
#: - context: it restricts no equipment (no ban, decisions of individual bodies, an order on a
#:   company rather than on its products). Reported, never a restriction.
MeasureEffect = Literal[
    "use-ban",
    "procurement-ban",
    "removal-order",
    "authorization-ban",
    "import-marketing-ban",
    "advisory",
    "context",
]
#: The effects that restrict the equipment for those a measure binds.
RESTRICTING_EFFECTS: frozenset[str] = frozenset(
    {"use-ban", "procurement-ban", "removal-order", "authorization-ban", "import-marketing-ban"}
)
#: The effects that restrict nothing: such findings are reported, never a restriction.
NON_RESTRICTING_EFFECTS: frozenset[str] = frozenset({"advisory", "context"})

#: How a measure that binds nobody starts its ``binds`` (see policies.yaml); it cannot restrict.
NOT_BINDING_PREFIX = "Not binding"
#: The kinds of device a measure's ``device_types`` and ``excludes_device_types`` name: the
#: device types the grammar, fingerprint, device API, relation and screening data give devices
#: and products (tests/policy/test_measure_kinds_data.py checks the data produces each one).
DEVICE_KINDS: frozenset[str] = frozenset(
    [
        "access_control",
        "access_point",
        "accessory",
        "alarm",
        "building_control",
        "building_sensor",
        "camera",
        "controller",
        "doorbell",
        "dvr",
        "encoder",
        "fire",
        "firewall",
        "gateway",
        "gimbal",
        "hvac",
        "intercom",
        "inverter",
        "kit",
        "laptop",
        "lighting",
        "meter",
        "mobile_computer",
        "modem",
        "nas",
        "nvr",
        "olt",
        "ont",
        "phone",
        "power",
        "printer",
        "ptz",
        "radio",
        "recorder",
        "repeater",
        "router",
        "server",
        "smartphone",
        "storage",
        "switch",
        "thermal",
        "thermostat",
        "transport",
        "uas",
        "video_conferencing",
        "voip",
    ]
)
#: The org type of a jurisdiction that stands for everyone in it (``us:everyone``): a measure
#: binding it binds every org type of that jurisdiction and of its sub-jurisdictions (us-tx).
EVERYONE = "everyone"
#: ``JURISDICTION:ORGTYPE``: lower-case jurisdiction code (``ca``, ``ca-qc``, ``us-tx``) and kind.
ORG_TYPE_PATTERN = r"^[a-z]{2}(-[a-z]{2,3})?:[a-z][a-z0-9-]*$"
#: What :data:`ORG_TYPE_PATTERN` asks for, in words (a knowledge maintainer reads it).
ORG_TYPE_SHAPE = (
    "an org type id is JURISDICTION:KIND: a lower-case two-letter country code with an "
    "optional subdivision of 2-3 letters (ca, ca-on, us-tx; not a city or a longer name), a "
    "colon, then a kind of lower-case letters, digits and hyphens (ca-on:municipality)"
)


class OrgType(StrictModel):
    """A kind of organisation (or person) a measure can bind, as users name themselves (--as)."""

    id: str
    description: str = Field(min_length=1)
    #: A body of a national government (or of a supranational institution): without ``--as``,
    #: verdicts are judged for these (decision 0015, the default reading).
    national_government: bool = False

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        """:data:`ORG_TYPE_PATTERN`, refused in words rather than as the raw pattern."""
        if not re.match(ORG_TYPE_PATTERN, value):
            raise ValueError(f"{value!r} is not a valid id: {ORG_TYPE_SHAPE}")
        return value


class CategoryScope(StrictModel):
    """A measure that names a kind of device and where it is produced, not makers."""

    #: Device types as in the grammar and fingerprint data (router, uas, camera, ...).
    device_types: list[str] = Field(min_length=1)
    #: The maker's country (vendors.yaml ``country``, ISO 3166 alpha-2) must be one of these.
    made_in: list[str] = Field(default_factory=list)
    #: The maker's country must be known and not one of these ("foreign-produced").
    made_outside: list[str] = Field(default_factory=list)
    #: How the country of production is judged, and what the tool cannot tell.
    note: str = Field(min_length=1)
    #: With ``made_outside``: the measure reaches where a device was produced, which the
    #: maker's country does not settle (a US maker's router assembled abroad). A device of a
    #: maker from an excluded or unknown country is then named on this condition (review),
    #: not cleared. Empty: such a device is outside the category.
    production_condition: str = ""
    #: With ``made_in``: how a condition names the device types when a device of a maker from
    #: one of these countries has no known type ("ICT equipment (camera, recorder, ...)").
    #: Empty: such a device is outside the category.
    unknown_type_condition: str = ""

    def covers(self, device_type: str | None, country: str | None) -> bool:
        """Whether a device of this type, made by a maker of this country, is in scope."""
        if device_type is None or device_type not in self.device_types:
            return False
        if self.made_in and country not in self.made_in:
            return False
        return not (self.made_outside and (country is None or country in self.made_outside))

    def naming(self, device_type: str | None, country: str | None) -> tuple[bool, str | None]:
        """Whether the category names this device, and on what condition the tool cannot
        tell (None: outright): an unknown type of a maker from a ``made_in`` country
        (``unknown_type_condition``), a maker's country that does not settle where the device
        was produced (``production_condition``)."""
        if self.covers(device_type, country):
            return True, None
        conditions = []
        if device_type is None:
            if not (self.unknown_type_condition and self.made_in and country in self.made_in):
                return False, None
            conditions.append(self.unknown_type_condition)
        elif device_type not in self.device_types:
            return False, None
        if self.made_in and country not in self.made_in:
            return False, None
        if self.made_outside and (country is None or country in self.made_outside):
            if not self.production_condition:
                return False, None
            conditions.append(self.production_condition)
        return True, " and ".join(conditions) or None


class Measure(StrictModel):
    id: str
    title: str
    #: Families named by the measure (families.yaml); may be empty when ``categories`` is not.
    families: list[str] = Field(default_factory=list)
    #: Kinds of device named by the measure with their country of production.
    categories: list[CategoryScope] = Field(default_factory=list)
    measure: str
    binds: str
    #: Whom the measure binds, as org type ids (see each policy's ``org_types``); empty for a
    #: measure that binds nobody ("Not binding").
    org_types: list[str] = Field(default_factory=list)
    scope_note: str = ""
    effect: MeasureEffect
    #: The words of the measure's own text (title, measure, binds or scope_note) that decide
    #: ``effect``; the loader checks that they are there.
    effect_basis: str
    effective: date
    #: The kinds of the named families' equipment the measure covers (device types as in the
    #: grammar and fingerprint data, :data:`DEVICE_KINDS`); empty: all of it. A device of
    #: another known type is outside the measure; a device whose type is not known is inside it
    #: only on that condition (its finding says so, and the device is to be reviewed).
    device_types: list[str] = Field(default_factory=list)
    #: The kinds of the named families' equipment the measure does not cover, per its own text
    #: (device types as ``device_types``); a device of such a kind is outside it; any other
    #: kind, and an unknown kind, is inside. A measure sets this or ``device_types``, not both.
    excludes_device_types: list[str] = Field(default_factory=list)
    #: The measure restricts only equipment acquired after this day (its own text says so, in
    #: ``effect_basis`` or ``scope_note``). A purchase being screened is acquired now; a device
    #: found installed may be older, so its finding restricts only on that condition.
    acquired_after: date | None = None
    #: The day by which the measure requires those it binds to have removed or stopped using
    #: the equipment, when its own text sets one (with a source); remediation cases are due
    #: then instead of at the organisation's SLA.
    deadline: date | None = None
    #: A condition of the measure's own scope that the tool cannot tell from a device (on a
    #: sensitive government site): the measure names a device only on it, so its findings
    #: restrict only on that condition (review). Its words are in the measure's own text.
    applies_if: str = ""
    #: How sure the sources are that the measure is as stated (high: primary source).
    confidence: Confidence = "high"
    citation: str
    #: The official page of the measure's text (a government, parliament or regulator's
    #: address), shown by ``provscan policies`` and ``lookup -v``; None when none was found.
    link: str | None = Field(default=None, pattern=r"^https://\S+$")
    sources: list[str] = Field(min_length=1)

    @property
    def restricts(self) -> bool:
        """Whether the measure restricts the equipment for someone it binds."""
        return self.effect in RESTRICTING_EFFECTS

    def own_text(self) -> str:
        """Title, measure, binds and scope note, whitespace collapsed (``effect_basis`` is read here)."""
        return " ".join(f"{self.title} {self.measure} {self.binds} {self.scope_note}".split())


class Policy(StrictModel):
    id: str
    jurisdiction: str
    name: str
    #: The kinds of organisation this jurisdiction's measures distinguish (the --as vocabulary).
    org_types: list[OrgType] = Field(default_factory=list)
    measures: list[Measure] = Field(min_length=1)


class PolicyFile(StrictModel):
    policies: list[Policy]


def org_type_vocabulary(policies: Iterable[Policy]) -> dict[str, OrgType]:
    """Every org type the policies declare, by id, in file order."""
    vocabulary: dict[str, OrgType] = {}
    for policy in policies:
        for org_type in policy.org_types:
            vocabulary.setdefault(org_type.id, org_type)
    return vocabulary


def jurisdiction_of(org_type: str) -> str:
    """``"us-tx:state-agency"`` -> ``"us-tx"``."""
    return org_type.partition(":")[0]


def binds_org_type(measure: Measure, org_type: str) -> bool:
    """Whether the measure binds this org type, directly or as "everyone" in its jurisdiction.

    ``us:everyone`` binds every ``us:`` and ``us-xx:`` org type; nothing else is implied
    (a federal contractor is not a federal agency).
    """
    if org_type in measure.org_types:
        return True
    jurisdiction = jurisdiction_of(org_type)
    for bound in measure.org_types:
        bound_jurisdiction, _, kind = bound.partition(":")
        if kind == EVERYONE and (
            jurisdiction == bound_jurisdiction or jurisdiction.startswith(bound_jurisdiction + "-")
        ):
            return True
    return False


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
    vocabulary = org_type_vocabulary(parsed.model.policies)
    for index, policy in parsed.indexed(parsed.model.policies):
        at = ("policies", index)
        if policy.id in policies:
            problems.add(document, f"duplicate policy id {policy.id!r}", at)
            continue
        policies[policy.id] = policy
        _check_org_types(policy, vocabulary, document, at, problems)
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
            _check_measure_scope(measure, vocabulary, document, measure_at, problems)
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
    if measure.device_types and not measure.families:
        problems.add(
            document,
            "device_types limits the named families' equipment: the measure names no family "
            "(a category has device_types of its own)",
            (*at, "device_types"),
            entry=entry,
        )
    if measure.excludes_device_types and not measure.families:
        problems.add(
            document,
            "excludes_device_types limits the named families' equipment: the measure names no "
            "family (a category has device_types of its own)",
            (*at, "excludes_device_types"),
            entry=entry,
        )
    if measure.device_types and measure.excludes_device_types:
        problems.add(
            document,
            "a measure gives device_types (the kinds it covers) or excludes_device_types (the "
            "kinds it does not), not both",
            (*at, "excludes_device_types"),
            entry=entry,
        )
    for field_name in ("device_types", "excludes_device_types"):
        for kind in getattr(measure, field_name):
            if kind not in DEVICE_KINDS:
                problems.add(
                    document,
                    f"{field_name}: {kind!r} is not a device type of the grammar, fingerprint "
                    "or screening data",
                    (*at, field_name),
                    entry=entry,
                )
    if measure.acquired_after is not None and measure.acquired_after.isoformat() not in (
        _iso_dates(measure.own_text())
    ):
        problems.add(
            document,
            f"acquired_after {measure.acquired_after.isoformat()} is not a day the measure's "
            "own text names (title, measure, binds or scope_note)",
            (*at, "acquired_after"),
            entry=entry,
        )
    if measure.binds.startswith(NOT_BINDING_PREFIX) and measure.effect != "context":
        problems.add(
            document,
            f"binds says {NOT_BINDING_PREFIX!r}: effect must be 'context', not {measure.effect!r}",
            (*at, "effect"),
            entry=entry,
        )


_MONTHS = {
    month: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for month in names
}


def _iso_dates(text: str) -> set[str]:
    """The days a measure's text names as "21 Dec 2023" (or "21 December 2023"), ISO 8601."""
    found = set()
    for day, month, year in re.findall(r"\b(\d{1,2}) ([A-Za-z]{3,9})\.? (\d{4})\b", text):
        number = _MONTHS.get(month.casefold())
        if number is not None:
            found.add(f"{year}-{number:02d}-{int(day):02d}")
    return found


def _check_org_types(
    policy: Policy,
    vocabulary: dict[str, OrgType],
    document: YamlDocument,
    at: Location,
    problems: Problems,
) -> None:
    """Org type ids are unique and belong to the policy's own jurisdiction code."""
    seen: set[str] = set()
    for index, org_type in enumerate(policy.org_types):
        if org_type.id in seen or vocabulary[org_type.id] is not org_type:
            problems.add(
                document, f"org type {org_type.id!r} is declared twice", (*at, "org_types", index)
            )
        seen.add(org_type.id)


def _check_measure_scope(
    measure: Measure,
    vocabulary: dict[str, OrgType],
    document: YamlDocument,
    at: Location,
    problems: Problems,
) -> None:
    """Whom it binds: declared org types; what it names: families or device categories."""
    entry = document.describe(at)
    if not measure.families and not measure.categories:
        problems.add(document, "a measure names families or categories", at, entry=entry)
    for org_type in measure.org_types:
        if org_type not in vocabulary:
            problems.add(
                document,
                f"org type {org_type!r} is not declared in any policy's org_types",
                (*at, "org_types"),
                entry=entry,
            )
    not_binding = measure.binds.startswith(NOT_BINDING_PREFIX)
    if not_binding and measure.org_types:
        problems.add(
            document,
            f"binds says {NOT_BINDING_PREFIX!r}: org_types must be empty",
            (*at, "org_types"),
            entry=entry,
        )
    if not not_binding and measure.restricts and not measure.org_types:
        problems.add(
            document,
            "a restricting measure must say whom it binds (org_types)",
            (*at, "org_types"),
            entry=entry,
        )
    for index, category in enumerate(measure.categories):
        if category.made_in and category.made_outside:
            problems.add(
                document,
                "a category gives made_in or made_outside, not both",
                (*at, "categories", index),
                entry=entry,
            )
        if category.production_condition and not category.made_outside:
            problems.add(
                document,
                "production_condition qualifies made_outside: the category gives none",
                (*at, "categories", index),
                entry=entry,
            )
        if category.unknown_type_condition and not category.made_in:
            problems.add(
                document,
                "unknown_type_condition needs made_in (the maker's country must name it)",
                (*at, "categories", index),
                entry=entry,
            )
