"""`provscan knowledge verify` warns, without failing, on sources an auditor cannot check:
only provscan's research notes, note keys, or public code by search id (auditor review)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from provscan.commands.knowledge import register
from provscan.knowledge.base import DEFAULT_DATA_DIR
from provscan.knowledge.sources import internal_only
from provscan.knowledge.verify import INTERNAL_ONLY_WARNING, verify_knowledge


@pytest.mark.parametrize(
    "source",
    [
        "knowledge: fingerprint-signals §1",
        "public GitHub code id 29000318511",
        "public GitHub code 9185467836, 7295143009 (knowledge: fingerprint-signals §3)",
        "Public GitHub code excerpts, repository not named (knowledge key S84)",
        "knowledge: fingerprint-signals §1/§2/§4",
        "public GitHub code: DVRIP LoginReply fields Ret, SessionID",
        ["knowledge: policy-updates-2026-12 US-6, F-1"],
    ],
)
def test_only_internal_references(source: str | list[str]) -> None:
    assert internal_only(source)


@pytest.mark.parametrize(
    "source",
    [
        "nmap-service-probes l.14560; public GitHub code (knowledge: fingerprint-signals §2)",
        "rapid7/recog xml/http_servers.xml (knowledge: fingerprint-signals §2)",
        "https://example.org/manual.pdf; public GitHub code id 29000318511",
        "MatrixEditor/hiktools hiktools/sadp/message.py (reply type); public GitHub code id 6943",
        # free words are a different problem (no source at all), reported elsewhere
        "EZVIZ retail naming (C6N, H8c, DB1C)",
        ["rroller/dahua README (Amcrest are rebranded Dahua cams)"],
    ],
)
def test_a_checkable_citation_is_enough(source: str | list[str]) -> None:
    assert not internal_only(source)


def _with_internal_rule(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data)
    path = data / "fingerprints" / "http_title.yaml"
    text = path.read_text(encoding="utf-8").rstrip("\n") + "\n"
    path.write_text(
        text
        + """  - id: test.http_title.internal_only
    description: A rule citing only a research note.
    pattern: '^Zzyzx Camera Web$'
    certainty: 0.3
    specificity: {maker_specific: false, shared_with: [], note: "unknown others"}
    asserts: {manufacturer: Axis}
    source: "public GitHub code id 29000318511 (knowledge: fingerprint-signals §4)"
    examples:
      - value: Zzyzx Camera Web
        expect: {manufacturer: Axis}
""",
        encoding="utf-8",
    )
    return data


def test_verify_lists_internal_only_sources_as_warnings_not_problems(tmp_path: Path) -> None:
    data = _with_internal_rule(tmp_path)
    report = verify_knowledge(data)
    mine = [w for w in report.warnings if "test.http_title.internal_only" in w.entry]
    assert len(mine) == 1
    assert mine[0].file == "fingerprints/http_title.yaml"
    assert mine[0].message == INTERNAL_ONLY_WARNING
    assert not [p for p in report.problems if "internal_only" in p.entry]


def test_cli_prints_warnings_and_keeps_exit_status(tmp_path: Path) -> None:
    data = _with_internal_rule(tmp_path)
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    baseline = verify_knowledge(data)
    text = runner.invoke(app, ["knowledge", "verify", "--data-dir", str(data)])
    assert "test.http_title.internal_only" in text.output
    assert "warnings: sources citing only internal references" in text.output
    document = json.loads(
        runner.invoke(
            app, ["knowledge", "verify", "--data-dir", str(data), "--format", "json"]
        ).output
    )
    # the edited copy's manifest is stale (a failure of its own); the warnings add none
    failing = bool(document["problem_count"]) or document["manifest"] is not None
    assert text.exit_code == (1 if failing else 0)
    assert document["problem_count"] == len(baseline.problems)
    assert document["warning_count"] == len(baseline.warnings)
    assert any("internal_only" in w["entry"] for w in document["warnings"])
