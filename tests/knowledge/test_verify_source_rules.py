"""The contribution rules `provscan knowledge verify` enforces on fingerprint rules: every
citation names a source, and a rule that can by itself establish a restricted maker cites two
independent public sources and has a look-alike negative (docs/knowledge-sources.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from provscan.commands.knowledge import register
from provscan.knowledge import fingerprints
from provscan.knowledge.base import DEFAULT_DATA_DIR
from provscan.knowledge.sources import NO_NEGATIVE, SOURCE_SHORTFALLS, read_sources
from provscan.knowledge.verify import verify_knowledge

RULE = """  - id: {rule_id}
    description: Test rule naming the maker.
    pattern: '^{value}$'
    certainty: 0.9
    specificity: {{maker_specific: true, note: "the maker's own product string"}}
    asserts: {{manufacturer: {maker}}}
    source: "{source}"
    examples:
      - value: {value}
        expect: {{manufacturer: {maker}}}
{negatives}"""


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def _add_rule(data: Path, **fields: str) -> int:
    """Append a rule to http_server.yaml; return the line of its ``source``."""
    path = data / "fingerprints" / "http_server.yaml"
    text = path.read_text(encoding="utf-8").rstrip("\n") + "\n"
    rule = RULE.format(**{"negatives": "", **fields})
    path.write_text(text + rule, encoding="utf-8")
    return text.count("\n") + 7


def _located(data: Path) -> list[str]:
    return [problem.located(data) for problem in verify_knowledge(data).problems]


def test_my_notes_is_no_source_and_a_restricted_rule_needs_two_and_a_negative(
    data_copy: Path,
) -> None:
    # Given a maker-specific Hikvision rule citing "my notes" and no negatives
    line = _add_rule(
        data_copy,
        rule_id="hikvision.http_server.test",
        value="HikTest-Webs",
        maker="Hikvision",
        source="my notes",
    )
    # When the copy is verified (as the CLI does)
    result = CliRunner().invoke(cli(), ["knowledge", "verify", "--data-dir", str(data_copy)])
    # Then each rule broken is one line at path:line, exit 1
    assert result.exit_code == 1
    ours = [text for text in result.output.splitlines() if "hikvision.http_server.test" in text]
    where = f"{data_copy / 'fingerprints' / 'http_server.yaml'}:"
    assert any(f"{where}{line}:" in t and "'my notes' names no source" in t for t in ours), ours
    assert any("cites 0 independent public source(s); it needs 2" in t for t in ours), ours
    assert any("has no negatives" in t for t in ours), ours
    assert all(text.startswith(where) for text in ours)
    assert "Value error" not in result.output


def test_an_unrestricted_rule_needs_real_citations_but_one_is_enough(data_copy: Path) -> None:
    _add_rule(
        data_copy,
        rule_id="axis.http_server.test",
        value="AxisTest",
        maker="Axis",
        source="Recog http_servers.xml",
    )
    assert not [t for t in _located(data_copy) if "axis.http_server.test" in t]


def test_two_independent_sources_and_a_negative_pass(data_copy: Path) -> None:
    _add_rule(
        data_copy,
        rule_id="hikvision.http_server.test",
        value="HikTest-Webs",
        maker="Hikvision",
        source="Recog http_servers.xml; nmap-service-probes l.9811",
        negatives="    negatives: [GoAhead-Webs]\n",
    )
    assert not [t for t in _located(data_copy) if "hikvision.http_server.test" in t]


def test_one_project_cited_twice_is_one_source(data_copy: Path) -> None:
    _add_rule(
        data_copy,
        rule_id="hikvision.http_server.test",
        value="HikTest-Webs",
        maker="Hikvision",
        source="Recog http_servers.xml; Recog http_wwwauth.xml",
        negatives="    negatives: [GoAhead-Webs]\n",
    )
    found = [t for t in _located(data_copy) if "hikvision.http_server.test" in t]
    assert len(found) == 1 and "cites 1 independent public source(s)" in found[0]


def test_a_listed_shortfall_that_is_fixed_must_leave_the_list(
    data_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a restricted rule without negatives, listed as falling short for that (the bundled
    # list is empty since every rule was fixed, so the test lists its own rule)
    rule_id = "hikvision.http_server.listed"
    monkeypatch.setattr(fingerprints, "SOURCE_SHORTFALLS", {rule_id: frozenset({NO_NEGATIVE})})
    fields = {
        "rule_id": rule_id,
        "value": "Listed-Webs",
        "maker": "Hikvision",
        "source": "Recog http_servers.xml; nmap-service-probes l.9811",
    }
    _add_rule(data_copy, **fields)
    assert not [t for t in _located(data_copy) if rule_id in t]
    # When it is given a negative
    path = data_copy / "fingerprints" / "http_server.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + "\n    negatives: ['Other-Webs']\n", encoding="utf-8")
    # Then verify says to remove it from the list
    assert any("remove it from the list" in t and rule_id in t for t in _located(data_copy)), (
        rule_id
    )


def test_the_bundled_shortfall_list_is_empty() -> None:
    # Every bundled rule meets the sourcing rules; the list may only shrink (docs).
    assert SOURCE_SHORTFALLS == {}


def test_regex_errors_carry_no_validation_library_prefix(data_copy: Path) -> None:
    _add_rule(
        data_copy,
        rule_id="axis.http_server.test",
        value="Axis(Test",
        maker="Axis",
        source="Recog http_servers.xml",
    )
    found = [t for t in _located(data_copy) if "does not compile" in t]
    assert found and not any("Value error" in t for t in found)


@pytest.mark.parametrize(
    ("text", "public", "bad"),
    [
        ("my notes", 0, 1),
        (
            "Recog http_servers.xml; nmap-service-probes l.9811; knowledge: fingerprint-signals §2",
            2,
            0,
        ),
        ("knowledge: policy-families-oem-cve §3 (S71, S74)", 2, 0),
        ("https://example.org/a; GitHub rroller/dahua README", 2, 0),
        ("project brief (DS-KV doorbells); vendor naming", 0, 2),
        ("vendors.yaml (EZVIZ)", 0, 0),
        # a list key and its description are one source, not two
        ("S70 (Achelics/mutil_device_recongition)", 1, 0),
        ("knowledge: policy-families-oem-cve §3 and §4 (CVE-2023-28808 models, S74)", 1, 0),
        # one source however it is cited: a URL into a repository is that repository, Recog's
        # repository is Recog, IANA's registry page is IANA, nmap's site is nmap
        (
            "Recog xml/http_servers.xml; https://github.com/rapid7/recog/blob/main/xml/x.xml; "
            "rapid7/recog xml/ssh_banners.xml",
            1,
            0,
        ),
        (
            "https://github.com/rroller/dahua/issues/1; rroller/dahua README; "
            "https://raw.githubusercontent.com/rroller/dahua/main/x.py",
            1,
            0,
        ),
        ("https://www.iana.org/assignments/enterprise-numbers; IANA PEN registry", 1, 0),
        ("https://nmap.org/book/x.html; nmap-service-probes l.10", 1, 0),
        ("greenbone/vulnerability-tests nasl/x.nasl; Greenbone VT 1.3.6.1.4.1.25623", 1, 0),
        # public code named by its search id is that code, not the scanner it mentions
        ("public GitHub code id 56808497106 (parses nmap output); nmap-service-probes", 2, 0),
    ],
)
def test_read_sources(text: str, public: int, bad: int) -> None:
    reading = read_sources(text)
    assert (len(reading.public), len(reading.not_sources)) == (public, bad)
