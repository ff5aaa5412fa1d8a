"""The vendor endpoint list: nine at most (decision 0025), a Referer only to the device itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from provscan.errors import KnowledgeError
from provscan.knowledge import load_knowledge
from provscan.knowledge.loader import MAX_HTTP_ENDPOINTS


def edit(path: Path, change: Callable[[Any], None]) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


def load_error(data_dir: Path) -> str:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(data_dir)
    return str(caught.value)


def test_the_bundled_list_fills_the_nine_slots() -> None:
    assert MAX_HTTP_ENDPOINTS == 9
    endpoints = load_knowledge().http_endpoints
    assert endpoints is not None
    assert len(endpoints.endpoints) == MAX_HTTP_ENDPOINTS
    (zte,) = [e for e in endpoints.endpoints if e.id == "zte-goform-version"]
    assert zte.method == "GET" and not zte.body and zte.referer == "/index.html"
    # only the endpoints that need it send a Referer
    assert [e.id for e in endpoints.endpoints if e.referer] == ["zte-goform-version"]


def test_a_tenth_endpoint_is_refused(data_copy: Path) -> None:
    def add_one(document: Any) -> None:
        document["endpoints"].append(
            {
                "id": "tenth",
                "method": "GET",
                "path": "/tenth",
                "extractor": "none",
                "purpose": "test",
                "sources": ["test"],
            }
        )

    edit(data_copy / "http_endpoints.yaml", add_one)
    assert "10 endpoints; at most 9" in load_error(data_copy)


@pytest.mark.parametrize(
    "referer", ["http://other.example/index.html", "//other.example/", "index.html"]
)
def test_a_referer_is_a_path_on_the_device(data_copy: Path, referer: str) -> None:
    def point_away(document: Any) -> None:
        for endpoint in document["endpoints"]:
            if endpoint["id"] == "zte-goform-version":
                endpoint["referer"] = referer

    edit(data_copy / "http_endpoints.yaml", point_away)
    assert "referer must be a path on the device" in load_error(data_copy)
