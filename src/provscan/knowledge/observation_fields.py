"""``observation_fields.yaml``: which observation fields carry a device's MAC, firmware or serial.

Attribution reads the MAC fields; posture reads firmware (best source first) and serial.
The fields that carry a bare model string are listed with the grammars that read them
(``model_grammars.yaml``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from provscan.knowledge.base import (
    FileLoader,
    Problems,
    StrictModel,
    check_sources,
    read_file,
)

OBSERVATION_FIELDS_FILE = "observation_fields.yaml"
#: ``protocol.name`` in lower case, e.g. ``isapi.mac`` or ``dahua.discovery.version``.
FIELD_NAME = re.compile(r"^[a-z0-9_]+(?:\.[a-z0-9_]+)+$")
ROLES = ("mac", "firmware", "serial", "names", "stated_model")


class CarrierField(StrictModel):
    """One observation field and where the protocol defines what it carries."""

    field: str
    note: str = ""
    sources: list[str] = Field(min_length=1)


class ObservationFieldFile(StrictModel):
    description: str
    mac: list[CarrierField] = Field(min_length=1)
    #: Best source first: the first field with a value gives the firmware.
    firmware: list[CarrierField] = Field(min_length=1)
    serial: list[CarrierField] = Field(min_length=1)
    #: Free text in which a device may name its maker or a product line (issue 11).
    names: list[CarrierField] = Field(default_factory=list)
    #: The model as its owner's record states it: the device's model when no rule or grammar
    #: gives one (shown, never a maker claim).
    stated_model: list[CarrierField] = Field(default_factory=list)


@dataclass(frozen=True)
class ObservationFields:
    """Field names per role, in file order."""

    mac: tuple[str, ...]
    firmware: tuple[str, ...]
    serial: tuple[str, ...]
    names: tuple[str, ...] = ()
    stated_model: tuple[str, ...] = ()


def read_observation_fields(data_dir: Path, problems: Problems) -> ObservationFields | None:
    """Load ``observation_fields.yaml``: well-formed names, each once per role, sources."""
    parsed = read_file(data_dir, OBSERVATION_FIELDS_FILE, ObservationFieldFile, problems)
    if parsed is None:
        return None
    document, model = parsed.document, parsed.model
    for role in ROLES:
        seen: set[str] = set()
        for index, carrier in enumerate(getattr(model, role)):
            at = (role, index)
            if not FIELD_NAME.match(carrier.field):
                problems.add(
                    document, f"{carrier.field!r} is not a field name like 'isapi.mac'", at
                )
            if carrier.field in seen:
                problems.add(document, f"{carrier.field!r} is listed twice under {role}", at)
            seen.add(carrier.field)
            check_sources(problems, document, at, carrier.sources)
    return ObservationFields(
        mac=tuple(carrier.field for carrier in model.mac),
        firmware=tuple(carrier.field for carrier in model.firmware),
        serial=tuple(carrier.field for carrier in model.serial),
        names=tuple(carrier.field for carrier in model.names),
        stated_model=tuple(carrier.field for carrier in model.stated_model),
    )


#: The carrier fields (default: the bundled file, read
#: once: base.FileLoader). Raises KnowledgeError.
load_observation_fields: FileLoader[ObservationFields] = FileLoader(read_observation_fields)
