"""Which body extractor reads a captured reply by its path's prefix is reviewed data
(``http_endpoints.yaml`` ``passive_path_prefixes``, issue 11): each prefix a path, listed
once, read by an extractor the observation layer has, used by makers the vocabulary names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from provscan.errors import KnowledgeError
from provscan.knowledge import load_knowledge
from provscan.knowledge.schema import BODY_EXTRACTOR_NAMES
from provscan.observations import http as observe_http


def edit_prefixes(data_dir: Path, change: Callable[[list[dict[str, Any]]], None]) -> None:
    path = data_dir / "http_endpoints.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document["passive_path_prefixes"])
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


def problem_lines(data_dir: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(data_dir)
    return [line.strip() for line in str(caught.value).splitlines()[1:]]


def test_the_knowledge_names_the_extractors_the_observation_layer_has() -> None:
    assert BODY_EXTRACTOR_NAMES == observe_http.BODY_EXTRACTORS


def test_every_bundled_prefix_is_read_by_a_body_extractor() -> None:
    http = load_knowledge().http_endpoints
    assert http is not None and http.passive_path_prefixes
    for entry in http.passive_path_prefixes:
        assert entry.prefix.startswith("/") and entry.prefix != "/"
        assert entry.extractor in observe_http.BODY_EXTRACTORS
        assert entry.specificity.used_by and entry.sources
    prefixes = [entry.prefix for entry in http.passive_path_prefixes]
    assert len(prefixes) == len(set(prefixes))
    # GoAhead's bare form prefix is every maker's: only ZTE's form name is listed
    assert "/goform/" not in prefixes


def test_an_unknown_extractor_is_refused_by_name(data_copy: Path) -> None:
    def misname(entries: list[dict[str, Any]]) -> None:
        entries[0]["extractor"] = "isapi_json"

    edit_prefixes(data_copy, misname)
    (line,) = problem_lines(data_copy)
    assert line.startswith(
        "- http_endpoints.yaml: passive_path_prefixes[0] (prefix=/ISAPI/).extractor: "
        "extractor 'isapi_json' is not a body extractor (one of: dahua_rpc2, hilink_xml, "
        "isapi_xml, zte_goform_json)"
    ), line


@pytest.mark.parametrize("extractor", ["none", "text"])
def test_an_endpoint_only_extractor_reads_no_prefix(data_copy: Path, extractor: str) -> None:
    def plain(entries: list[dict[str, Any]]) -> None:
        entries[2]["extractor"] = extractor

    edit_prefixes(data_copy, plain)
    (line,) = problem_lines(data_copy)
    assert f"extractor '{extractor}' is not a body extractor" in line, line


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        (
            "SDK/",
            "passive_path_prefixes[1] (prefix=SDK/): prefix 'SDK/' must be a path "
            "starting with '/'",
        ),
        (
            "//SDK/",
            "passive_path_prefixes[1] (prefix=//SDK/): prefix '//SDK/' must be a path "
            "starting with '/'",
        ),
        (
            "/",
            "passive_path_prefixes[1] (prefix=/): prefix '/' would read every reply with "
            "one maker's extractor",
        ),
        # the second of the two is reported, with where the first is
        (
            "/RPC2",
            "passive_path_prefixes[2] (prefix=/RPC2): duplicate prefix '/RPC2' (first "
            "at passive_path_prefixes[1])",
        ),
    ],
)
def test_a_prefix_is_a_distinct_path(data_copy: Path, prefix: str, message: str) -> None:
    def change(entries: list[dict[str, Any]]) -> None:
        entries[1]["prefix"] = prefix

    edit_prefixes(data_copy, change)
    (line,) = problem_lines(data_copy)
    assert line.startswith(f"- http_endpoints.yaml: {message} (line "), line


def test_makers_and_sources_are_checked(data_copy: Path) -> None:
    def unsourced(entries: list[dict[str, Any]]) -> None:
        entries[3]["specificity"]["used_by"] = ["Zte Corporation"]
        entries[3]["sources"] = [" "]

    edit_prefixes(data_copy, unsourced)
    lines = problem_lines(data_copy)
    assert len(lines) == 2, lines
    assert "specificity.used_by" in lines[0] and "'Zte Corporation'" in lines[0], lines
    assert "every entry needs at least one non-blank source" in lines[1], lines


def test_a_missing_field_is_a_schema_problem_with_its_line(data_copy: Path) -> None:
    def no_specificity(entries: list[dict[str, Any]]) -> None:
        del entries[0]["specificity"]

    edit_prefixes(data_copy, no_specificity)
    (line,) = problem_lines(data_copy)
    assert "passive_path_prefixes[0] (prefix=/ISAPI/).specificity: Field required" in line, line
    assert line.endswith(")") and "(line " in line, line
