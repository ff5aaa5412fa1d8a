"""``provscan explain``: why one device got its verdict (issue 11 point 4), over the lab."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provscan.lab.server import Lab, load_devices, run_lab_in_thread
from provscan.lab.spec import DeviceSpec, Expectation, Identity, ServiceSpec

#: On their own 127.N.63.x (N = 160-199 per test process), apart from other labs.
BASE = f"127.{160 + os.getpid() % 40}.63"


def _http_only(index: int, device_id: str, server: str) -> DeviceSpec:
    return DeviceSpec(
        id=device_id,
        address=f"{BASE}.{index}",
        description="one web server header",
        identity=Identity(),
        expect=Expectation(),
        sources=["test fixture"],
        services=[
            ServiceSpec(
                port=80,
                protocol="http",
                options={"default": {"status": 200, "headers": [["Server", server]], "body": "x"}},
            )
        ],
    )


SWITCH = next(d for d in load_devices(["telecom"]) if d.id == "huawei-vrp-switch").model_copy(
    update={"address": f"{BASE}.1"}
)
DEVICES = [
    SWITCH,
    # 'Webs' is the GoAhead-derived server string of many firmwares: shared, never enough.
    _http_only(2, "shared-webs", "Webs"),
    # A server string no rule knows: unknown, and what was seen is listed for a report.
    _http_only(3, "unknown-server", "Acme-Embedded/2.1"),
    # The bare 'Webs' rule is case-sensitive and anchored: 'WEBS' nearly matches it.
    _http_only(4, "near-miss-case", "WEBS"),
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "80"},
    )


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with run_lab_in_thread(DEVICES) as running:
        yield running


def explained(*args: str) -> dict[str, Any]:
    result = run("explain", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_restricted_device_explained_item_by_item(lab: Lab) -> None:
    data = explained(SWITCH.address, "--ports", "22,23")
    assert data["verdict"] == "restricted" and data["manufacturer"] == "Huawei"
    rules = {item["rule_id"]: item for item in data["evidence"]}
    ssh = rules["huawei.banner.ssh_huawei"]
    assert (ssh["field"], ssh["port"], ssh["specificity"]) == ("banner.text", 22, "maker-specific")
    assert ssh["source"], "every matched rule shows its source"
    (huawei,) = [m for m in data["makers"] if m["maker"] == "Huawei"]
    assert huawei["established"] and "huawei.banner.ssh_huawei" in huawei["maker_specific_rules"]
    assert data["measures"] and all(m["family"] == "huawei" for m in data["measures"])


def test_human_view_fits_80_columns(lab: Lab) -> None:
    result = run("explain", SWITCH.address, "--ports", "22,23")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # The verdict line says whom it was judged for (no --as: the default reading).
    assert " ".join(" ".join(lines[:2]).split()).startswith(
        f"{SWITCH.address}: RESTRICTED (as a national government body, the default) - maker Huawei"
    )
    # "maker" and the maker's name are never split across lines
    assert any("maker Huawei" in line for line in lines[:2])
    for heading in ("Evidence", "How the verdict was reached", "Measures"):
        assert heading in lines
    assert max(len(line) for line in lines) <= 80


def test_shared_signal_alone_is_shown_as_not_establishing(lab: Lab) -> None:
    data = explained(f"{BASE}.2", "--ports", "80")
    assert data["verdict"] != "restricted"
    webs = [e for e in data["evidence"] if e["observed"] == "Webs" and e["rule_id"]]
    assert webs and all(e["specificity"] == "shared" for e in webs)
    (hikvision,) = [m for m in data["makers"] if m["maker"] == "Hikvision"]
    assert not hikvision["established"]
    assert "needs one maker-specific signal" in hikvision["reason"]


def test_unknown_device_lists_what_no_rule_explains(lab: Lab) -> None:
    data = explained(f"{BASE}.3", "--ports", "80")
    assert data["verdict"] == "unknown" and data["manufacturer"] is None
    assert {"field": "http.server", "port": 80, "value": "Acme-Embedded/2.1"} in data["unexplained"]
    text = run("explain", f"{BASE}.3", "--ports", "80").stdout
    assert "explained by no rule" in text and "Acme-Embedded/2.1" in text


def test_near_misses_say_why_the_rule_did_not_match(lab: Lab) -> None:
    data = explained(f"{BASE}.4", "--ports", "80")
    assert {
        "field": "http.server",
        "observed": "WEBS",
        "rule_id": "hikvision.http_server.webs_bare",
        "why": "letter case differs",
    } in data["near_misses"]
    assert data["verdict"] != "restricted"


def test_from_a_saved_report_without_the_network(lab: Lab, tmp_path: Path) -> None:
    report = tmp_path / "scan.json"
    scan = run(
        "scan", SWITCH.address, "--ports", "22,23", "--no-db", "-q", "-f", "json", "-o", str(report)
    )
    assert scan.returncode in (0, 3), scan.stderr
    live = explained(SWITCH.address, "--ports", "22,23")
    saved = explained("--from", str(report), SWITCH.address)
    assert saved["verdict"] == live["verdict"] == "restricted"
    assert [e["rule_id"] for e in saved["evidence"]] == [e["rule_id"] for e in live["evidence"]]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["127.0.0.0/30"], "one address"),
        (["--from", "{missing}", "127.0.0.1"], "cannot read"),
        (["--from", "{garbage}", "127.0.0.1"], "not a provscan scan report"),
        (["--from", "{empty_report}", "127.0.0.9"], "no device 127.0.0.9"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    empty = tmp_path / "empty.json"
    scan = run(
        "scan", f"{BASE}.250", "--ports", "9", "--no-db", "-q", "-f", "json", "-o", str(empty)
    )
    assert scan.returncode == 0, scan.stderr
    paths = {"missing": tmp_path / "none.json", "garbage": garbage, "empty_report": empty}
    result = run("explain", *(a.format(**paths) for a in args))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("provscan: error: ") and words in lines[0]


def test_help_has_examples_and_exit_codes() -> None:
    result = run("explain", "--help")
    assert result.returncode == 0, result.stderr
    assert "Examples:" in result.stdout and "provscan explain --from" in result.stdout
    assert "Exit codes:" in result.stdout
