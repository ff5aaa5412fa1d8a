"""``provscan knowledge verify``: the bundled data is clean; injected faults are each reported
with the file and line of the offending entry, all in one run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from provscan.commands.knowledge import register
from provscan.errors import KnowledgeError
from provscan.knowledge.base import DEFAULT_DATA_DIR, Problem
from provscan.knowledge.loader import load_knowledge, load_posture_knowledge
from provscan.knowledge.verify import KNOWN_FILES, VerifyReport, verify_knowledge


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def replace_line(path: Path, old: str, new: str) -> int:
    """Replace the one line equal to ``old`` (whitespace included); return its 1-based number."""
    lines = path.read_text(encoding="utf-8").split("\n")
    matches = [index for index, line in enumerate(lines) if line == old]
    assert len(matches) == 1, (old, matches)
    lines[matches[0]] = new
    path.write_text("\n".join(lines), encoding="utf-8")
    return matches[0] + 1


def line_of(path: Path, text: str) -> int:
    """The 1-based number of the one line equal to ``text``."""
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines.count(text) == 1, text
    return lines.index(text) + 1


def problems_in(report: VerifyReport, file: str) -> list[Problem]:
    return [problem for problem in report.problems if problem.file == file]


def reported(report: VerifyReport, file: str, line: int, message: str) -> Problem:
    """The problem at ``file:line`` whose message contains ``message`` (fails otherwise)."""
    found = [p for p in problems_in(report, file) if p.line == line and message in p.message]
    listing = "\n".join(problem.located(report.data_dir) for problem in report.problems)
    assert found, f"no {message!r} at {file}:{line} in:\n{listing}"
    return found[0]


# --- the bundled data ----------------------------------------------------------------------


def test_the_bundled_data_verifies_clean() -> None:
    report = verify_knowledge(DEFAULT_DATA_DIR)
    assert report.ok, "\n".join(p.located(report.data_dir) for p in report.problems)
    assert {"vendors.yaml", "exposure.yaml", "fingerprints/http_server.yaml"} <= set(report.files)
    assert set(KNOWN_FILES) <= set(report.files)


def test_the_command_exits_0_on_the_bundled_data() -> None:
    result = CliRunner().invoke(cli(), ["knowledge", "verify"])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


def test_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="not found"):
        verify_knowledge(tmp_path / "absent")
    result = CliRunner().invoke(cli(), ["knowledge", "verify", "--data-dir", str(tmp_path / "x")])
    assert result.exit_code == 2


# --- injected faults -----------------------------------------------------------------------


def test_every_injected_fault_is_reported_with_its_file_and_line(data_copy: Path) -> None:
    fingerprints = data_copy / "fingerprints"
    # Given a copy of the data with one fault of each kind
    # - a duplicate id: the second http.title rule takes the first one's id
    duplicate_line = replace_line(
        fingerprints / "http_title.yaml",
        "  - id: xiongmai.http_title.netsurveillance",
        "  - id: dahua.http_title.web_service",
    )
    # - an example that no longer matches its pattern
    example_line = replace_line(
        fingerprints / "http_server.yaml", "      - value: DNVRS-Webs", "      - value: DNVRS-Webz"
    )
    # - entries without a source: a blank one, and a list left out
    blank_source_line = replace_line(
        fingerprints / "http_title.yaml",
        '    source: "Greenbone gb_dahua_devices_http_detect (qweasader/gbn); knowledge: '
        'fingerprint-signals §3"',
        '    source: ""',
    )
    fields = data_copy / "observation_fields.yaml"
    onvif_line = line_of(fields, "  - field: onvif.mac")
    text = fields.read_text(encoding="utf-8")
    unsourced = text.replace(
        '    sources:\n      - "ONVIF Core Specification, GetNetworkInterfaces: '
        'tt:NetworkInterfaceInfo/HwAddress"\n',
        "",
    )
    assert unsourced != text
    fields.write_text(unsourced, encoding="utf-8")
    # - a later rule shadowed by an earlier, as certain rule that says another maker
    server = fingerprints / "http_server.yaml"
    shadowed_line = len(server.read_text(encoding="utf-8").rstrip("\n").split("\n")) + 1
    with server.open("a", encoding="utf-8") as handle:
        handle.write(
            "  - id: test.http_server.late_webs\n"
            "    description: A later rule for a banner an earlier rule already decides.\n"
            "    pattern: '^Hikvision-Webs$'\n"
            "    certainty: 0.5\n"
            "    asserts: {manufacturer: Dahua}\n"
            "    source: test\n"
            "    examples:\n"
            "      - value: Hikvision-Webs\n"
            "        expect: {manufacturer: Dahua}\n"
        )
    # - malformed YAML
    yaml_line = _break_relations(data_copy / "relations.yaml")

    # When the copy is verified
    report = verify_knowledge(data_copy)

    # Then each fault is reported at its own file and line, in one run
    reported(report, "fingerprints/http_title.yaml", duplicate_line, "duplicate rule id")
    reported(report, "fingerprints/http_server.yaml", example_line, "does not match the pattern")
    reported(report, "fingerprints/http_title.yaml", blank_source_line, "source must not be blank")
    missing = reported(report, "observation_fields.yaml", onvif_line, "Field required")
    assert missing.entry == "mac[3] (field=onvif.mac).sources"
    shadow = reported(report, "fingerprints/http_server.yaml", shadowed_line + 7, "shadowed")
    assert "hikvision.http_server.hikvision_webs" in shadow.message
    assert "fingerprints/http_server.yaml:" in shadow.message  # where the earlier rule is
    reported(report, "relations.yaml", yaml_line, "YAML parse error")
    assert not report.ok
    assert "problems in" in report.summary()


def _break_relations(path: Path) -> int:
    """A value with a second ``key:`` on one line: "mapping values are not allowed here"."""
    lines = path.read_text(encoding="utf-8").split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("    confidence: "))
    lines[index] = "    confidence: high: certain"
    path.write_text("\n".join(lines), encoding="utf-8")
    return index + 1


def test_the_command_prints_path_line_message_and_exits_1(data_copy: Path) -> None:
    line = replace_line(
        data_copy / "fingerprints" / "http_server.yaml",
        "      - value: DNVRS-Webs",
        "      - value: DNVRS-Webz",
    )
    result = CliRunner().invoke(cli(), ["knowledge", "verify", "--data-dir", str(data_copy)])
    assert result.exit_code == 1
    first, *_, summary = result.output.strip().split("\n")
    assert first.startswith(f"{data_copy / 'fingerprints' / 'http_server.yaml'}:{line}: ")
    assert "example 'DNVRS-Webz' does not match the pattern" in first
    assert summary.startswith("1 problem in 1 of ")


def test_json_output_lists_each_problem(data_copy: Path) -> None:
    line = _break_relations(data_copy / "relations.yaml")
    result = CliRunner().invoke(
        cli(), ["knowledge", "verify", "--data-dir", str(data_copy), "--format", "json"]
    )
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["problem_count"] == len(document["problems"]) >= 1
    problem = next(p for p in document["problems"] if p["file"] == "relations.yaml")
    assert problem["line"] == line
    assert problem["message"].startswith("YAML parse error")
    assert document["problems_by_file"]["relations.yaml"] >= 1


# --- Recog's checks one by one -------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # a negative that matches
        (
            '    negatives: [GoAhead-Webs, Webs, App-webs/, "GoAhead-Webs/2.5.0", "uc-httpd 1.0.0", '
            '"Boa/0.94.13", lighttpd, "nginx/1.18.0", "Microsoft-IIS/10.0", "Apache/2.4.41 '
            '(Ubuntu)", "mini_httpd/1.19 19dec2003", "thttpd/2.25b 29dec2003"]',
            "    negatives: [Hikvision-Webs]",
            "negative 'Hikvision-Webs' matches the pattern",
        ),
        # a capture group no capture uses
        (
            "    pattern: '^AvigilonOnvifNvt/(\\d+\\.\\S+)'",
            "    pattern: '^(Avigilon)OnvifNvt/(\\d+\\.\\S+)'",
            "capture group(s) but captures use",
        ),
        # an example that yields another value than it expects
        (
            "        expect: {manufacturer: Avigilon, device_type: camera, firmware: 2.6.0.130}",
            "        expect: {manufacturer: Avigilon, device_type: camera, firmware: 2.6.0}",
            "yields firmware='2.6.0.130', expected '2.6.0'",
        ),
        # an unknown vendor name (controlled vocabulary)
        (
            "    asserts: {manufacturer: Avigilon, device_type: camera}",
            "    asserts: {manufacturer: AVIGILON, device_type: camera}",
            "asserts.manufacturer 'AVIGILON' is not a canonical vendor name; use 'Avigilon'",
        ),
    ],
)
def test_fingerprint_self_test(data_copy: Path, old: str, new: str, message: str) -> None:
    line = replace_line(data_copy / "fingerprints" / "http_server.yaml", old, new)
    report = verify_knowledge(data_copy)
    found = [p for p in report.problems if message in p.message]
    assert found, [str(p) for p in report.problems]
    assert found[0].file == "fingerprints/http_server.yaml"
    # The problem points at the rule, or at the changed line inside it.
    assert found[0].line <= line


def test_policy_effect_basis_must_be_quoted_from_the_measure(data_copy: Path) -> None:
    path = data_copy / "policies.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("effect_basis:"))
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines[index] = f'{indent}effect_basis: "words nobody wrote"'
    path.write_text("\n".join(lines), encoding="utf-8")
    report = verify_knowledge(data_copy)
    problem = reported(report, "policies.yaml", index + 1, "effect_basis 'words nobody wrote'")
    assert "measures[" in problem.entry


def test_grammar_examples_and_unknown_files_are_reported(data_copy: Path) -> None:
    path = data_copy / "model_grammars.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("examples: ["))
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines[index] = f"{indent}examples: [NOT-A-MODEL-0000]"
    path.write_text("\n".join(lines), encoding="utf-8")
    (data_copy / "vendor.yaml").write_text("vendors: []\n", encoding="utf-8")
    report = verify_knowledge(data_copy)
    reported(report, "model_grammars.yaml", index + 1, "example 'NOT-A-MODEL-0000' does not match")
    reported(report, "vendor.yaml", 1, "not a knowledge file")


def test_exposure_markers_carry_examples(data_copy: Path) -> None:
    line = replace_line(
        data_copy / "exposure.yaml",
        "      pattern: 't_username'",
        "      pattern: 't_user_name'",
    )
    report = verify_knowledge(data_copy)
    reported(report, "exposure.yaml", line + 1, "does not match the pattern")


def test_remediation_templates_use_only_their_placeholders(data_copy: Path) -> None:
    path = data_copy / "remediation.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Update the firmware to {fixed_in}", "Update to {fixed}"), "utf-8")
    report = verify_knowledge(data_copy)
    assert any("unknown placeholder(s) ['fixed']" in p.message for p in report.problems)


def test_device_api_requests_must_only_read(data_copy: Path) -> None:
    line = replace_line(
        data_copy / "device_api.yaml",
        "    path: /cgi-bin/configManager.cgi?action=getConfig&name=T2UServer",
        "    path: /cgi-bin/configManager.cgi?action=setConfig&T2UServer.Enable=false",
    )
    report = verify_knowledge(data_copy)
    reported(report, "device_api.yaml", line, "requests must only read")
    with pytest.raises(KnowledgeError, match="requests must only read"):
        load_posture_knowledge(data_copy, load_knowledge(data_copy))


def test_a_default_account_needs_a_known_check(data_copy: Path) -> None:
    path = data_copy / "default_accounts.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("check: dahua_cgi_machinename", "check: dahua_reboot", 1), "utf-8")
    with pytest.raises(KnowledgeError, match="check 'dahua_reboot' is not a default_account_check"):
        load_posture_knowledge(data_copy, load_knowledge(data_copy))


def test_load_errors_name_the_line_too(data_copy: Path) -> None:
    line = _break_relations(data_copy / "relations.yaml")
    with pytest.raises(
        KnowledgeError, match=rf"relations.yaml: YAML parse error: .*\(line {line}\)"
    ):
        load_knowledge(data_copy)


def test_isolation_advice_by_device_type_is_checked_like_the_rest(data_copy: Path) -> None:
    path = data_copy / "remediation.yaml"
    text = path.read_text(encoding="utf-8")
    # An unknown placeholder, and a device type given advice twice, are both reported
    text = text.replace("plan its replacement first", "plan its {replacement} first")
    text = text.replace(
        "isolate_by_device_type:\n",
        "isolate_by_device_type:\n  - device_types: [router]\n    steps: Unplug {ip}.\n"
        '    sources: ["a second opinion"]\n',
    )
    path.write_text(text, "utf-8")
    report = verify_knowledge(data_copy)
    messages = [p.message for p in report.problems]
    assert any("unknown placeholder(s) ['replacement']" in m for m in messages), messages
    assert any("device type 'router' has isolation advice already" in m for m in messages)


def test_a_stale_manifest_is_a_problem_even_when_the_data_has_none(data_copy: Path) -> None:
    """A maintainer edited a file and ran verify: "no problems", then the pack made from it
    was refused as damaged. The manifest is checked too, and the fix is named."""
    with (data_copy / "vendors.yaml").open("a", encoding="utf-8") as handle:
        handle.write("# reviewed again\n")
    result = CliRunner().invoke(cli(), ["knowledge", "verify", "--data-dir", str(data_copy)])
    assert result.exit_code == 1
    *_, said, summary = result.output.strip().split("\n")
    assert said.startswith("manifest out of date (vendors.yaml: hash differs")
    assert f"scripts/gen_manifest.py --data-dir {data_copy}" in said
    assert summary.endswith("no problems in the data; its manifest is out of date")
    document = json.loads(
        CliRunner()
        .invoke(cli(), ["knowledge", "verify", "--data-dir", str(data_copy), "-f", "json"])
        .output
    )
    assert document["problem_count"] == 0 and document["manifest"] == said
