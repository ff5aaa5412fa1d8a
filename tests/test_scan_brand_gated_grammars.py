"""A scanned device that states its brand in a label field (its ONVIF Manufacturer) has its
model read by the grammars a brand must be named for (``requires_brand``), as a list row
naming the brand has in screening; without the brand the same short model names nothing.
Real scans of lab devices over loopback; the expected grammar comes from the knowledge data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from helpers import onvif_only_device, scan_addresses

from provscan.fingerprints.grammars import GrammarIndex
from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.lab.server import run_lab_in_thread
from provscan.model import Device

INDEX = GrammarIndex(load_grammar_knowledge())

#: On their own 127.N.148.x (N = 120-219 per test process), apart from other labs.
BASE = f"127.{120 + os.getpid() % 100}.148"

#: (ONVIF manufacturer, model): short names a grammar reads only beside its brand.
STATED = [("EZVIZ", "H8C"), ("Meraki", "MV12WE"), ("ZTE", "F660")]
#: The same models under a generic label: no brand stated.
UNSTATED = [("IPC", "H8C"), ("Generic", "MV12WE")]


def _gated(brand: str, model: str) -> str:
    """The id of the brand-gated grammar the data says the model follows beside its brand."""
    hits = [h for h in INDEX.find([model], (brand,)) if h.grammar.requires_brand]
    assert hits, (brand, model)
    assert not INDEX.find([model]), model  # nothing without the brand
    return hits[0].grammar.id


SPECS = [
    onvif_only_device(f"gated-{i}", f"{BASE}.{10 + i}", label, model)
    for i, (label, model) in enumerate([*STATED, *UNSTATED])
]


@pytest.fixture(scope="module")
def scanned() -> Iterator[dict[tuple[str, str], Device]]:
    with run_lab_in_thread(SPECS):
        result = scan_addresses([spec.address for spec in SPECS], ports=[80])
    by_address = {device.ip: device for device in result.devices}
    yield {
        (label, model): by_address[spec.address]
        for spec, (label, model) in zip(SPECS, [*STATED, *UNSTATED], strict=True)
    }


def _grammar_rules(device: Device) -> set[str]:
    return {e.rule_id for e in device.evidence if e.rule_id and e.rule_id.startswith("grammar:")}


@pytest.mark.parametrize(("brand", "model"), STATED)
def test_a_stated_brand_unlocks_its_grammar(
    scanned: dict[tuple[str, str], Device], brand: str, model: str
) -> None:
    device = scanned[(brand, model)]
    assert f"grammar:{_gated(brand, model)}" in _grammar_rules(device)
    assert device.model == model


@pytest.mark.parametrize(("label", "model"), UNSTATED)
def test_a_generic_label_unlocks_nothing(
    scanned: dict[tuple[str, str], Device], label: str, model: str
) -> None:
    assert _grammar_rules(scanned[(label, model)]) == set()
