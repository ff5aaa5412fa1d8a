"""A test-only end of support limited to one region, for the tests of that mechanism.

The bundled knowledge held one such entry (``hikvision-canada-support-withdrawn``); it was
removed because its day was computed and the wind-up is unconfirmed (eol.yaml). The mechanism
stays: an eol.yaml entry with a ``region`` is advice only where that region's policy is
selected and the scan is read there, named in words, and a condition for a device whose maker
is in doubt. These tests keep checking it with this entry, which is not a fact about Hikvision.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from provscan.knowledge.eol import EndOfLifeEntry
from provscan.knowledge.loader import PostureKnowledge, load_posture_knowledge

#: A Hikvision end of support limited to Canada (a made-up day: not a fact, a test input).
REGION_LIMITED = EndOfLifeEntry(
    id="test-hikvision-canada-support-withdrawn",
    vendors=["Hikvision"],
    status="support_withdrawn",
    region="CA",
    effective="2025-10-25",
    statement=(
        "Test entry: Hikvision Canada ends after-sales support in Canada; no local vendor "
        "support or firmware channel can be assumed for Hikvision devices there."
    ),
    sources=["tests/region_eol.py (test input, not a fact)"],
)
#: The reason the entry gives a Hikvision device read in Canada.
WITHDRAWN = "support withdrawn in Canada since 2025-10-25"


def with_region_limited(posture: PostureKnowledge | None = None) -> PostureKnowledge:
    """The posture knowledge (default: the active one) with :data:`REGION_LIMITED` added."""
    base = posture or load_posture_knowledge()
    return dataclasses.replace(base, end_of_life=(*base.end_of_life, REGION_LIMITED))


@contextmanager
def region_limited_in_commands() -> Iterator[PostureKnowledge]:
    """Commands run in this process (typer's CliRunner) read the posture knowledge with
    :data:`REGION_LIMITED` added (the pipeline and the identify stage load it by name)."""
    posture = with_region_limited()
    with pytest.MonkeyPatch.context() as patch:
        for module in ("provscan.pipeline", "provscan.identify.stage"):
            patch.setattr(f"{module}.load_posture_knowledge", lambda *_a, **_k: posture)
        yield posture
