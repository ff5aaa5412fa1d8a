"""`provscan explain` says why a device stayed unknown, and answers in one line when there is
nothing to explain (a newcomer's review, sections 5 and 9).

Before: `explain` on a hostile lab device printed "Evidence: none: nothing observed matched a
rule" although the device's attempts recorded malformed replies and timeouts per probe; an
address where nothing answered exited 2, the bad-argument code; and `explain --from` given an
inventory export printed pydantic's "4235 validation errors for ScanDocument".
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest
from helpers import SESSION_DEVICES, SESSION_OCTET, run_provscan

from provscan.commands.explain import build_explanation, render
from provscan.compliance.render import inventory_document
from provscan.knowledge.loader import load_knowledge
from provscan.lab.server import Lab
from provscan.model import AttemptStatus, Device, Evidence, ProbeAttempt

KNOWLEDGE = load_knowledge()
GOLDEN_REPORT = Path(__file__).parent / "report" / "golden" / "scan_v1_2.json"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_provscan(*args, env={"COLUMNS": "80"}, unset=())


def _attempt(probe: str, port: int, status: AttemptStatus, error: str = "") -> ProbeAttempt:
    return ProbeAttempt(probe, port, status, error=error)


UNKNOWN = Device(
    ip="127.0.0.9",
    open_ports=(80, 554),
    attempts=(
        _attempt("http", 80, AttemptStatus.MALFORMED, "not HTTP: not an HTTP status line: 'HTTP/'"),
        _attempt("banner", 80, AttemptStatus.OK),
        _attempt("tls", 80, AttemptStatus.TIMEOUT, "connect or TLS handshake timed out"),
        _attempt("https", 80, AttemptStatus.TIMEOUT, "connect or TLS handshake timed out"),
        _attempt("rtsp", 554, AttemptStatus.REFUSED, "connection refused"),
        _attempt("http", 554, AttemptStatus.CLOSED, "connection reset"),
    ),
    notes=("maker not identified: restriction status incomplete",),
)


def _view(device: Device, width: int = 80) -> list[str]:
    return render(build_explanation(device, [], KNOWLEDGE), width)


def _section(lines: list[str], heading: str) -> list[str]:
    start = lines.index(heading)
    rest = lines[start + 1 :]
    return rest[: next((i for i, line in enumerate(rest) if not line), len(rest))]


def test_an_unknown_device_says_what_each_probe_got() -> None:
    lines = _view(UNKNOWN)
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "nothing observed matched a rule" not in text
    why = _section(lines, "Why it stayed unknown: what each probe got")
    words = " ".join(" ".join(why).split())
    assert words.startswith("5 of 6 probes got no usable answer: 2 timed out,")
    for expected in (
        "1 malformed reply",
        "1 refused",
        "1 closed without an answer",
        "1 answered but matched no rule",
    ):
        assert expected in words, words
    for entry in (
        "- http:80 malformed reply (not HTTP: not an HTTP status line: 'HTTP/')",
        "- banner:80 answered but matched no rule",
        "- tls:80 timed out (connect or TLS handshake timed out)",
        "- rtsp:554 refused (connection refused)",
        "- http:554 closed without an answer (connection reset)",
    ):
        assert entry in words, (entry, why)


def test_the_json_has_each_probe_outcome() -> None:
    document = asdict(build_explanation(UNKNOWN, [], KNOWLEDGE))
    outcomes = [(p["probe"], p["port"], p["outcome"]) for p in document["probes"]]
    assert outcomes == [
        ("http", 80, "malformed"),
        ("banner", 80, "no match"),
        ("tls", 80, "timeout"),
        ("https", 80, "timeout"),
        ("rtsp", 554, "refused"),
        ("http", 554, "closed"),
    ]
    json.dumps(document)  # what `-f json` prints


def test_a_probe_that_gave_evidence_is_matched_and_a_known_device_has_no_why_section() -> None:
    evidence = Evidence(
        "http", 80, "http.title", "Axis", "axis.http.title", {"manufacturer": "Axis"}, 0.9
    )
    known = Device(
        ip="127.0.0.9",
        open_ports=(80,),
        manufacturer="Axis",
        confidence=0.9,
        evidence=(evidence,),
        attempts=(
            _attempt("http", 80, AttemptStatus.OK),
            _attempt("tls", 80, AttemptStatus.TIMEOUT),
        ),
    )
    result = build_explanation(known, [], KNOWLEDGE)
    assert [p.outcome for p in result.probes] == ["matched", "timeout"]
    assert not any(line.startswith("Why it stayed unknown") for line in render(result, 80))


def test_a_title_kept_only_as_context_is_not_a_rule_match() -> None:
    # the lab's MultiTech mPower look-alike: its HTTP title is kept as context (no rule), so
    # the probe answered but no rule matched, as the Evidence section says ("no rule")
    context = Evidence("http", 80, "http.title", "mPower", None, {}, 0.0)
    device = Device(
        ip="127.0.0.9",
        open_ports=(80,),
        evidence=(context,),
        attempts=(_attempt("http", 80, AttemptStatus.OK), _attempt("onvif", 80, AttemptStatus.OK)),
        notes=("maker not identified: restriction status incomplete",),
    )
    result = build_explanation(device, [], KNOWLEDGE)
    assert [p.outcome for p in result.probes] == ["no match", "no match"]
    why = " ".join(
        " ".join(_section(render(result, 80), "Why it stayed unknown: what each probe got")).split()
    )
    assert "a rule matched" not in why
    assert "- http:80 answered but matched no rule" in why


def test_an_unknown_device_no_probe_reached_says_so() -> None:
    lines = _view(Device(ip="127.0.0.9"))
    why = _section(lines, "Why it stayed unknown: what each probe got")
    assert "no probe ran on it" in " ".join(why)


@pytest.mark.parametrize("width", [60, 80, 100, 120])
def test_the_probe_list_fits_every_width(width: int) -> None:
    lines = _view(UNKNOWN, width)
    assert max(len(line) for line in lines) <= width


# -- over the lab: the newcomer's devices -------------------------------------------------

HOSTILE = {d.id: d.address for d in SESSION_DEVICES if d.expect.hostile}


@pytest.fixture(scope="module")
def hostile_report(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = tmp_path_factory.mktemp("explain-unknown") / "scan.json"
    addresses = [HOSTILE["hostile-slow-drip"], HOSTILE["hostile-malformed-http"]]
    scan = run(
        "scan", *addresses, "--ports", "80", "--no-db", "-q", "-f", "json", "-o", str(report)
    )
    assert scan.returncode == 0, scan.stderr
    return report


@pytest.mark.parametrize(
    ("device_id", "outcomes"),
    [
        # a valid reply one byte a second: cut off (malformed) over HTTP, TLS never answered
        ("hostile-slow-drip", ("malformed reply", "timed out")),
        ("hostile-malformed-http", ("malformed reply", "failed")),
    ],
)
def test_explain_from_a_report_of_hostile_devices_says_why(
    hostile_report: Path, device_id: str, outcomes: tuple[str, ...]
) -> None:
    result = run("explain", "--from", str(hostile_report), HOSTILE[device_id])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "nothing observed matched a rule" not in result.stdout
    why = _section(lines, "Why it stayed unknown: what each probe got")
    assert any(line.startswith("- http:80 ") for line in why), why
    for outcome in outcomes:
        assert any(outcome in line for line in why), (outcome, why)
    assert max(len(line) for line in lines) <= 80


def test_explain_live_on_a_hostile_device_says_why(lab: Lab) -> None:
    result = run("explain", HOSTILE["hostile-malformed-http"], "--ports", "80")
    assert result.returncode == 0, result.stderr
    assert "Why it stayed unknown" in result.stdout
    assert "- http:80 malformed reply (not HTTP: " in result.stdout


# -- nothing to explain, or not a report ---------------------------------------------------


def test_nothing_answering_is_one_line_and_exit_1() -> None:
    address = f"127.{SESSION_OCTET}.99.99"  # no lab device there: nothing answers on port 9
    result = run("explain", address, "--ports", "9")
    assert result.returncode == 1, result.stderr
    # the line that says it is probed (before anything is sent: the default database does
    # not hold it), then the one error line
    probing, line = result.stderr.strip().splitlines()
    assert probing.startswith(f"provscan: probing {address} now, packets are sent to it")
    assert line.startswith(f"provscan: error: nothing answered at {address} on the 1 port scanned;")
    assert "--ports" in line and result.stdout == ""


def test_a_public_address_is_refused_without_naming_an_option_explain_lacks() -> None:
    # check_scope's advice, "pass --allow-public", is scan's: explain has no such option
    # ("No such option: --allow-public"); refused before anything is sent
    result = run("explain", "8.8.8.8")
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("provscan: error: refusing target 8.8.8.8: public address")
    # and hands out no command that would scan it (the user may not own it)
    assert line.count("8.8.8.8") == 1 and "provscan scan" not in line
    assert 'README "Safety model" explains --allow-public' in line
    assert result.stdout == ""


def _inventory_export(path: Path) -> None:
    devices = [
        {"device_id": f"dev-{n:012x}", "ip": f"127.0.0.{n}", "restricted": False} for n in range(3)
    ]
    path.write_text(json.dumps(inventory_document(devices, 1, {"version": "x"}, ["us"])))


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_inventory_export, "it is an inventory export (provscan inventory -f json)"),
        (
            lambda path: path.write_text(json.dumps({"rows": [], "summary": {"rows": 0}})),
            "it is a screened list (provscan screen -f json)",
        ),
        (
            lambda path: path.write_bytes(GOLDEN_REPORT.read_bytes()[:1500]),
            "its JSON ends in the middle after 1500 bytes (cut short",
        ),
        (
            lambda path: path.write_text(
                '{"type":"scan","schema_version":"1.4"}\n{"type":"device"}\n'
            ),
            "it is JSON Lines (-f jsonl)",
        ),
        (
            lambda path: path.write_text(
                json.dumps({"schema_version": "2.0", "scan": {}, "devices": []})
            ),
            "its schema version is 2.0; this provscan reads 1.2 to 1.8",
        ),
        (
            lambda path: path.write_text("[1, 2]"),
            "it is a JSON array",
        ),
    ],
)
def test_from_the_wrong_file_says_what_it_is(tmp_path: Path, make, words: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "input.json"
    make(path)
    result = run("explain", "--from", str(path), "127.0.0.1")
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"provscan: error: {path} is not a provscan scan report (-f json): ")
    assert words in line, line
    assert "validation error" not in line


def test_help_says_when_explain_exits_1() -> None:
    result = run("explain", "--help")
    assert result.returncode == 0, result.stderr
    codes = result.stdout.split("Exit codes:")[1]
    one = " ".join(codes.split(" 2 ")[0].split())
    assert "1 nothing answered at the address on the ports probed" in one
