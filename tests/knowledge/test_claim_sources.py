"""`knowledge verify` holds relations, family members and policy measures that can make a
brand restricted to the source rules (docs/knowledge-sources.md §3): each citation names a
source, and a claim that makes a brand restricted cites two independent public sources (two
pages of one site are one; a bare RFC or CVE id is none) unless its confidence is low."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from provscan.knowledge.base import DEFAULT_DATA_DIR
from provscan.knowledge.sources import claim_source_problems, read_sources
from provscan.knowledge.verify import verify_knowledge


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def _add_relation(data_dir: Path, sources: list[str], confidence: str = "high") -> None:
    path = data_dir / "relations.yaml"
    quoted = ", ".join(f'"{source}"' for source in sources)
    path.write_text(
        path.read_text(encoding="utf-8").rstrip("\n")
        + "\n  - brand: Axis\n    maker: Hikvision\n    relation: oem_relabel\n"
        f'    confidence: {confidence}\n    evidence: "test relabel"\n'
        f"    sources: [{quoted}]\n",
        encoding="utf-8",
    )


def _messages(data_dir: Path) -> list[str]:
    return [
        problem.message
        for problem in verify_knowledge(data_dir).problems
        if "brand=Axis, maker=Hikvision" in problem.entry
    ]


def test_bundled_data_passes() -> None:
    assert verify_knowledge(DEFAULT_DATA_DIR).ok


@pytest.mark.parametrize(
    ("sources", "confidence", "expected"),
    [
        (["my notes"], "high", ["names no source", "cites no public source"]),
        (["my notes"], "low", ["names no source"]),
        (["https://www.securityinfowatch.com/a"], "high", ["needs 2"]),
        (
            ["https://securityinfowatch.com/a", "https://www.securityinfowatch.com/b"],
            "high",
            ["needs 2"],
        ),
        (
            ["GitHub rroller/dahua README", "https://github.com/rroller/dahua/x"],
            "medium",
            ["needs 2"],
        ),
        (["Recog xml/http_servers.xml", "RFC 2616"], "high", ["needs 2"]),
        (["https://securityinfowatch.com/a", "https://ipvm.com/reports/b"], "high", []),
        (["https://securityinfowatch.com/a"], "low", []),
    ],
)
def test_relation_to_restricted_maker(
    data_copy: Path, sources: list[str], confidence: str, expected: list[str]
) -> None:
    _add_relation(data_copy, sources, confidence)
    messages = _messages(data_copy)
    assert len(messages) == len(expected)
    for words in expected:
        assert any(words in message for message in messages), (words, messages)


def test_family_member_with_free_words_is_reported(data_copy: Path) -> None:
    path = data_copy / "families.yaml"
    text = path.read_text(encoding="utf-8")
    old = 'sources: ["https://www.tapo.com (Tapo by TP-Link)"]'
    assert old in text
    path.write_text(text.replace(old, 'sources: ["my notes"]', 1), encoding="utf-8")
    problems = [p for p in verify_knowledge(data_copy).problems if "name=Tapo" in p.entry]
    assert [p.message.split(" names")[0] for p in problems] == ["source 'my notes'"]


def test_measure_on_a_reserved_example_domain_is_no_source(data_copy: Path) -> None:
    path = data_copy / "policies.yaml"
    text = path.read_text(encoding="utf-8")
    old = '"https://app.legiplex.com/la/legislature/2021/2021-r/bills/sb15/drafts-latest"'
    assert old in text
    path.write_text(text.replace(old, '"https://exampleton.example/policy/1"', 1), encoding="utf-8")
    problems = verify_knowledge(data_copy).problems
    assert any("exampleton.example" in p.message and "measures" in p.entry for p in problems)


def test_two_pages_of_one_site_are_one_source() -> None:
    reading = read_sources(["https://docs.fcc.gov/a.txt", "https://www.fcc.gov/b"])
    assert len(reading.public) == 1
    assert len(read_sources(["https://a.github.io/x", "https://b.github.io/y"]).public) == 2


def test_bare_standard_is_no_maker_source() -> None:
    reading = read_sources("Recog xml/http_servers.xml; CVE-2099-0001")
    assert (len(reading.public), len(reading.not_sources), len(reading.standards)) == (1, 0, 1)
    assert claim_source_problems(["RFC 2616"], restricting=False)  # no public source at all
