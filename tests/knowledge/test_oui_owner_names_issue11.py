"""IEEE registry names that are no vocabulary spelling reach their vendor (issue 11).

Whole-name matching (no prefixes) keeps "Samsung Electronics" from reading as Hanwha, but it
loses registry names such as "KBVISION GROUP" or "Panasonic Corporation AVC Networks
Company" unless oui_owners.yaml lists them; these MACs are looked up in the registry netaddr
ships, as attribution does.
"""

from __future__ import annotations

import pytest

from provscan.attribution.mac import oui_owner, vendor_for_registry_name
from provscan.knowledge.grammars import load_grammar_knowledge
from provscan.knowledge.loader import load_knowledge

KNOWLEDGE = load_knowledge()
SPELLINGS = {name: [name, *v.aliases, *v.legal_names] for name, v in KNOWLEDGE.vendors.items()}
REGISTRY = {o.registry_name: o.vendor for o in load_grammar_knowledge().oui_owners}


@pytest.mark.parametrize(
    ("mac", "vendor"),
    [
        ("B4:36:E3:00:00:01", "KBVision"),
        ("00:12:81:00:00:01", "March Networks"),
        ("00:10:BE:00:00:01", "March Networks"),  # whole name already: "MARCH NETWORKS CORPORATION"
        ("CC:7E:E7:00:00:01", "Panasonic"),
        ("B8:20:8E:00:00:01", "Panasonic"),
        ("00:80:45:00:00:01", "Panasonic"),  # Matsushita, Panasonic's former name
        ("B8:27:EB:00:00:01", "Raspberry Pi"),
        ("D0:3F:27:00:00:01", "Wyze"),  # whole name already: "Wyze Labs Inc"
    ],
)
def test_registry_owner_reaches_its_vendor(mac: str, vendor: str) -> None:
    owner = oui_owner(mac)
    assert owner is not None
    assert vendor_for_registry_name(SPELLINGS, owner, REGISTRY) == vendor


def test_without_the_listing_these_names_were_lost() -> None:
    # The same names without oui_owners.yaml: whole-name matching alone finds no vendor.
    for name in ("KBVISION GROUP", "March Networks S.p.A.", "Raspberry Pi Foundation"):
        assert vendor_for_registry_name(SPELLINGS, name) is None
