"""``eol.yaml``: documented ends of life and of support."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field

from provscan.knowledge.base import (
    Problems,
    StrictModel,
    check_sources,
    compile_pattern,
    parse_partial_date,
    read_file,
)
from provscan.knowledge.vocabulary import Vendor, check_vendor_name

END_OF_LIFE_FILE = "eol.yaml"


class EndOfLifeEntry(StrictModel):
    """A documented end of life or end of support."""

    id: str
    vendors: list[str] = Field(min_length=1)
    products: list[str] = Field(default_factory=lambda: [".*"])
    status: Literal["end_of_life", "support_withdrawn"]
    #: ISO country code when the statement is limited to one jurisdiction.
    region: str | None = None
    effective: str
    #: ``start``: the status began on ``effective``; ``stated``: ``effective`` is when the
    #: source said the product was already there (the start date is not published).
    effective_is: Literal["start", "stated"] = "start"
    statement: str
    sources: list[str] = Field(min_length=1)


class EndOfLifeFile(StrictModel):
    entries: list[EndOfLifeEntry]


def read_end_of_life(
    data_dir: Path, problems: Problems, vendors: dict[str, Vendor] | None
) -> tuple[EndOfLifeEntry, ...]:
    """Load the optional ``eol.yaml``: known vendors, product patterns, dates, sources."""
    if not (data_dir / END_OF_LIFE_FILE).exists():
        return ()
    parsed = read_file(data_dir, END_OF_LIFE_FILE, EndOfLifeFile, problems, "entries")
    if parsed is None:
        return ()
    document = parsed.document
    for index, entry in parsed.indexed(parsed.model.entries):
        at = ("entries", index)
        for name in entry.vendors:
            check_vendor_name(problems, document, at, name, vendors, "vendor")
        for pattern in entry.products:
            compile_pattern(problems, document, at, pattern, re.IGNORECASE)
        check_sources(problems, document, at, entry.sources)
        try:
            parse_partial_date(entry.effective, last_day=False)
        except ValueError as exc:
            problems.add(document, f"bad effective date: {exc}", (*at, "effective"))
    return tuple(parsed.model.entries)
