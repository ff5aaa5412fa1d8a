"""The loader keeps whom a measure binds honest (issue 12): declared org types, a restricting
measure says whom it binds, "Not binding" binds nobody, a measure names something."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import provscan.knowledge
from provscan.errors import KnowledgeError
from provscan.knowledge.loader import load_knowledge

KNOWLEDGE = load_knowledge()


def _refused(data_dir: Path, change: Callable[[Any], None]) -> str:
    path = data_dir / "policies.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(data_dir)
    return str(caught.value)


def _measure(document: Any, measure_id: str) -> dict[str, Any]:
    for policy in document["policies"]:
        for measure in policy["measures"]:
            if measure["id"] == measure_id:
                return measure  # type: ignore[no-any-return]
    raise KeyError(measure_id)


def test_every_restricting_measure_says_whom_it_binds_from_the_declared_types() -> None:
    declared = {o.id for p in KNOWLEDGE.policies.values() for o in p.org_types}
    for policy in KNOWLEDGE.policies.values():
        for measure in policy.measures:
            assert set(measure.org_types) <= declared, measure.id
            if measure.restricts:
                assert measure.org_types, measure.id
            assert measure.families or measure.categories, measure.id


def test_category_measures_name_device_types_the_data_produces() -> None:
    categories = [
        (measure.id, category)
        for policy in KNOWLEDGE.policies.values()
        for measure in policy.measures
        for category in measure.categories
    ]
    assert {measure_id for measure_id, _ in categories} >= {
        "us-fcc-covered-list-routers-2026",
        "us-fcc-covered-list-uas-2025",
    }
    produced = _device_types_the_data_produces()
    for measure_id, category in categories:
        assert set(category.device_types) <= produced, (measure_id, category.device_types)
        assert category.note


def _device_types_the_data_produces() -> set[str]:
    """Every ``device_type`` the identification data can give a device or a product (the
    fingerprints, grammars, device API, relations' scopes and screening's kind words)."""
    data = Path(provscan.knowledge.__file__).parent / "data"
    found: set[str] = set(KNOWLEDGE.screening_words.kinds.values())

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "device_type" and isinstance(value, str):
                    found.add(value)
                elif key == "device_types" and isinstance(value, list):
                    found.update(v for v in value if isinstance(v, str))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted(data.rglob("*.yaml")):
        if path.name not in ("policies.yaml", "manifest.yaml"):
            walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


def test_an_undeclared_org_type_is_refused(data_copy: Path) -> None:
    message = _refused(
        data_copy,
        lambda d: _measure(d, "us-ndaa-889-a1a-2019")["org_types"].append("us:mayor"),
    )
    assert "us-ndaa-889-a1a-2019" in message and "'us:mayor' is not declared" in message


def test_a_restricting_measure_that_binds_nobody_is_refused(data_copy: Path) -> None:
    message = _refused(
        data_copy, lambda d: _measure(d, "ca-qc-public-bodies-2023").pop("org_types")
    )
    assert "ca-qc-public-bodies-2023" in message and "whom it binds" in message


def test_a_not_binding_measure_with_org_types_is_refused(data_copy: Path) -> None:
    message = _refused(
        data_copy,
        lambda d: _measure(d, "nz-agency-phase-out-2023").update(
            org_types=["au:commonwealth-entity"]
        ),
    )
    assert "nz-agency-phase-out-2023" in message and "org_types must be empty" in message


def test_a_measure_naming_nothing_is_refused(data_copy: Path) -> None:
    message = _refused(
        data_copy, lambda d: _measure(d, "us-tx-prohibited-technologies-2026").update(families=[])
    )
    assert "names families or categories" in message


def test_a_category_with_made_in_and_made_outside_is_refused(data_copy: Path) -> None:
    def both(document: Any) -> None:
        _measure(document, "us-fcc-covered-list-routers-2026")["categories"][0]["made_in"] = ["CN"]

    assert "made_in or made_outside, not both" in _refused(data_copy, both)


def test_an_org_type_declared_twice_is_refused(data_copy: Path) -> None:
    def twice(document: Any) -> None:
        document["policies"][1]["org_types"].append(dict(document["policies"][0]["org_types"][1]))

    assert "org type 'ca:individual' is declared twice" in _refused(data_copy, twice)
