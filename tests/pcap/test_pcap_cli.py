"""`provscan pcap`: the same contract, formats and storage as an active scan."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
from typer.testing import CliRunner

from provscan.cli import app
from provscan.knowledge import load_knowledge
from provscan.knowledge.loader import load_cloud_endpoints
from provscan.passive.cloud import CloudMatcher
from provscan.report.contract import SCHEMA_VERSION, load_schema
from provscan.store.db import normalise_db_arg, open_store

FIXTURES = Path(__file__).parent / "fixtures"
CRAFTED = FIXTURES / "crafted_signals.pcapng"


def test_json_output_fits_the_contract_and_is_stored(tmp_path: Path) -> None:
    # Given a capture analysed to JSON and stored in a fresh database
    database = tmp_path / "scans.db"
    output = tmp_path / "passive.json"
    result = CliRunner().invoke(
        app, ["pcap", str(CRAFTED), "-f", "json", "-o", str(output), "--db", str(database)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(output.read_text(encoding="utf-8"))
    # Then it validates against the committed schema, kind passive, with phone-home contacts
    jsonschema.Draft202012Validator(load_schema()).validate(document)
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["scan"]["kind"] == "passive"
    hik = next(d for d in document["devices"] if d["ip"] == "192.168.1.64")
    assert hik["phones_home"][0]["endpoint"] == "litedev.hik-connect.com"
    assert hik["phones_home"][0]["packet"] >= 1
    assert all("detail" in e for e in hik["evidence"])
    # And the store gives back the same document
    with open_store(normalise_db_arg(str(database))) as store:
        loaded = store.load(document["scan"]["id"])
    assert loaded.model_dump(mode="json") == document


def test_stdin_and_csv(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "provscan", "pcap", "-", "--no-db", "-f", "csv"],
        input=CRAFTED.read_bytes(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    lines = completed.stdout.decode().splitlines()
    assert lines[0].startswith("ip,mac,")
    assert any(line.startswith("192.168.1.64,bc:ba:c2:44:55:66,") for line in lines)


def test_fail_on_restricted_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    restricted = runner.invoke(
        app, ["pcap", str(CRAFTED), "--no-db", "-q", "-f", "jsonl", "--fail-on-restricted"]
    )
    assert restricted.exit_code == 3
    not_a_capture = tmp_path / "notes.txt"
    not_a_capture.write_text("hello", encoding="utf-8")
    bad = runner.invoke(app, ["pcap", str(not_a_capture), "--no-db"])
    assert bad.exit_code == 2 and "not a pcap" in bad.output
    missing = runner.invoke(app, ["pcap", str(tmp_path / "missing.pcap"), "--no-db"])
    assert missing.exit_code == 2 and "cannot open" in missing.output
    twice = runner.invoke(app, ["pcap", "-", "-", "--no-db"])
    assert twice.exit_code == 2


def test_every_cloud_endpoint_is_named_by_a_dns_rule_of_its_vendor_family() -> None:
    # The phone-home list and the attribution rules must not drift apart.
    knowledge = load_knowledge()
    endpoints = load_cloud_endpoints(knowledge=knowledge)
    from provscan.fingerprints.matcher import Matcher
    from provscan.model import Observation

    matcher = Matcher(knowledge)
    cloud = CloudMatcher(endpoints)
    for endpoint in endpoints:
        for name in [*endpoint.names, *(f"x.{d}" for d in endpoint.domains)]:
            assert cloud.match(name) is not None, name
            claims = matcher.match(Observation("dns", 53, "dns.query", name))
            families = {
                knowledge.family_of(c.value) for c in claims if c.field in ("manufacturer", "brand")
            }
            assert families == {knowledge.family_of(endpoint.vendor)}, (endpoint.id, name, families)


def test_a_capture_cut_short_exits_4_after_printing_and_storing_what_it_held(
    tmp_path: Path,
) -> None:
    # Given a capture cut in the middle of a record (tcpdump killed, a copy taken while it
    # wrote) and a pristine one
    whole = CRAFTED.read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(whole[: len(whole) - 7])
    db = tmp_path / "store.db"
    report = tmp_path / "out.json"
    command = [sys.executable, "-m", "provscan", "pcap", str(cut), "-q", "--db", str(db)]
    # When it is analysed
    completed = subprocess.run([*command, "-o", str(report)], capture_output=True, timeout=120)
    # Then the exit says the input was damaged (a script must not take it for the whole
    # capture), with the reason on one line, and nothing read before the damage is lost
    assert completed.returncode == 4, completed.stderr.decode()
    stderr = completed.stderr.decode()
    assert "cut.pcapng is " in stderr and "Traceback" not in stderr
    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["devices"], "the frames before the cut were analysed"
    assert document["scan"]["complete"] is False
    with open_store(normalise_db_arg(str(db))) as store:
        assert [scan.id for scan in store.list_scans()] == [document["scan"]["id"]]
    # --fail-on-restricted's 3 comes first; an undamaged capture still exits 0
    restricted = subprocess.run(
        [*command[:-2], "--no-db", "--fail-on-restricted", "-f", "jsonl"],  # --db left out
        capture_output=True,
        timeout=120,
    )
    assert restricted.returncode == 3, restricted.stderr.decode()
    fine = subprocess.run(
        [sys.executable, "-m", "provscan", "pcap", str(CRAFTED), "-q", "--no-db", "-f", "jsonl"],
        capture_output=True,
        timeout=120,
    )
    assert fine.returncode == 0, fine.stderr.decode()
