"""`provscan import` as a user runs it: stored like a scan, marked with its source, and never
taken as proof that a device is gone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

from provscan.report.contract import ScanDocument, from_contract, load_schema
from provscan.store.db import normalise_db_arg, open_store
from provscan.store.inventory import coverage_ranges

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parents[1] / "report" / "golden" / "scan_v1.json"
RANGE = "127.0.41.0/24"


def _run(*args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check is not None:
        assert result.returncode == check, result.stderr
    return result


def _covering_scan() -> ScanDocument:
    golden = from_contract(GOLDEN.read_text(encoding="utf-8"))
    devices = [
        d.model_copy(update={"ip": f"127.0.41.{i + 1}", "mac": None})
        for i, d in enumerate(golden.devices)
    ]
    scan = golden.scan.model_copy(
        update={
            "id": "scan-covering",
            "devices_found": len(devices),
            "restricted_count": sum(d.restricted for d in devices),
        }
    )
    return golden.model_copy(update={"scan": scan, "devices": devices})


def test_an_import_lands_in_the_inventory_with_its_source_and_marks_nothing_missing(
    tmp_path: Path,
) -> None:
    # Given a complete scan that covered 127.0.41.0/24 and saw every device there
    database = str(tmp_path / "store.db")
    covering = _covering_scan()
    with open_store(normalise_db_arg(database)) as store:
        store.save_document(covering, coverage=coverage_ranges([RANGE]))
    # When a CMDB that lists only one of those addresses (and others) is imported
    cmdb = tmp_path / "cmdb.csv"
    cmdb.write_text(
        "Hostname,IP Address,Manufacturer\n"
        "known-host,127.0.41.2,Axis\n"
        "lobby-cam,10.20.1.11,Hikvision\n",
        encoding="utf-8",
    )
    output = tmp_path / "imported.json"
    _run("import", str(cmdb), "--db", database, "-f", "json", "-o", str(output))
    document = json.loads(output.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(load_schema()).validate(document)
    # Then the import is stored as a scan of kind "import", naming its file and format
    scans = json.loads(_run("scans", "--db", database, "-f", "json").stdout)["scans"]
    imported = next(s for s in scans if s["kind"] == "import")
    assert imported["targets"] == [f"csv:{cmdb}"]
    assert imported["covering"] is False
    # And its devices are in the inventory, the known address matched to the scanned device
    inventory = json.loads(_run("inventory", "--db", database, "-f", "json").stdout)
    by_ip = {d["ip"]: d for d in inventory["devices"]}
    assert by_ip["10.20.1.11"]["last_scan_id"] == imported["id"]
    assert by_ip["10.20.1.11"]["manufacturer"] == "Hikvision"
    assert by_ip["127.0.41.2"]["last_scan_id"] == imported["id"]
    # And nothing the import did not list is marked missing: an import proves no absence
    assert {d["status"] for d in inventory["devices"]} == {"present"}
    assert len(inventory["devices"]) == len(covering.devices) + 1
    # And the stored document says where every device came from
    with open_store(normalise_db_arg(database)) as store:
        stored = store.load(imported["id"])
    assert all(f"imported from CSV {cmdb.name}" in d.notes for d in stored.devices)


def test_json_output_of_each_format_fits_the_contract(tmp_path: Path) -> None:
    for name in ("masscan.json", "dhcpd.leases", "dnsmasq.leases", "lab-nmap.xml"):
        completed = _run("import", str(FIXTURES / name), "--no-db", "-f", "json", "-q")
        document = json.loads(completed.stdout)
        jsonschema.Draft202012Validator(load_schema()).validate(document)
        assert document["scan"]["kind"] == "import"
        assert document["devices"], name


def test_fail_on_restricted_and_an_explicit_format(tmp_path: Path) -> None:
    completed = _run(
        "import",
        str(FIXTURES / "masscan.list"),
        "--from",
        "masscan-json",
        "--no-db",
        "--fail-on-restricted",
        "-q",
        check=3,
    )
    assert "Traceback" not in completed.stderr


def test_a_model_no_grammar_knows_is_kept_as_the_record_states_it(tmp_path: Path) -> None:
    # Given a CMDB export whose rows name models, one that no model-number grammar knows
    cmdb = tmp_path / "cmdb.csv"
    cmdb.write_text(
        "ip,manufacturer,model\n127.77.40.2,Annke,C800\n127.77.40.3,Hikvision,DS-2CD2143G0-I\n",
        encoding="utf-8",
    )
    done = _run("import", str(cmdb), "--no-db", "-f", "json")
    devices = {d["ip"]: d for d in json.loads(done.stdout)["devices"]}
    # Then the unknown model is kept as written, said to come from the record, and claims
    # nothing about the maker (Annke stays a label to review)
    annke = devices["127.77.40.2"]
    assert annke["model"] == "C800" and annke["manufacturer"] is None
    assert annke["verdict"] == "review"
    assert "model C800 as the imported record states it (no rule reads it)" in annke["notes"]
    # And a model a grammar reads is the grammar's, with no such note
    hikvision = devices["127.77.40.3"]
    assert hikvision["model"] == "DS-2CD2143G0-I"
    assert not any("as the imported record states it" in n for n in hikvision["notes"])


def test_malformed_addresses_and_macs_are_reported_row_by_row(tmp_path: Path) -> None:
    # addresses are data here: an import sends nothing
    register = tmp_path / "register.csv"
    register.write_text(
        "IP Address,MAC Address,Manufacturer,Model\n"
        "10.40.1.5,,Hikvision,DS-2CD2143G2-I\n"
        "10.40.1.300,,Dahua,IPC-HFW2431S-S-S2\n"
        ",zz:zz:zz:zz:zz:zz,Axis,M3106-L\n"
        "10.40.1.7,zz:zz:zz:zz:zz:zz,Axis,M3106-L\n"
        ",,,\n",
        encoding="utf-8",
    )
    done = _run("import", str(register), "--no-db", "-f", "json")
    notes = [line for line in done.stderr.splitlines() if "register.csv" in line]
    assert "register.csv row 3: '10.40.1.300' is not an IP address (row skipped)" in done.stderr
    assert "row 4: 'zz:zz:zz:zz:zz:zz' is not a MAC address (row skipped)" in done.stderr
    assert "row 5: 'zz:zz:zz:zz:zz:zz' is not a MAC address (MAC ignored)" in done.stderr
    assert "register.csv: 1 row without an IP address or MAC skipped" in done.stderr
    assert len(notes) == 4, done.stderr
    devices = {d["ip"]: d for d in json.loads(done.stdout)["devices"]}
    assert sorted(devices) == ["10.40.1.5", "10.40.1.7"]  # the rest of the import works
    assert devices["10.40.1.7"]["mac"] is None
    # a long list is capped, the rest counted
    many = tmp_path / "many.csv"
    many.write_text(
        "ip\n" + "".join(f"10.40.2.{300 + n}\n" for n in range(25)) + "10.40.2.1\n",
        encoding="utf-8",
    )
    done = _run("import", str(many), "--no-db", "-f", "json")
    assert done.stderr.count("is not an IP address") == 20
    assert "and 5 more malformed IP addresses or MACs" in done.stderr


def test_an_xlsx_register_and_french_headers_are_read(tmp_path: Path) -> None:
    openpyxl = __import__("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Registre des équipements"])  # a title row above the header
    sheet.append(["Adresse IP", "Fabricant", "Modèle", "Adresse MAC"])
    sheet.append(["10.40.1.5", "Hikvision", "DS-2CD2143G2-I", "00:11:22:33:44:55"])
    sheet.append(["10.40.1.300", "Dahua", "IPC-HFW2431S-S-S2", None])
    sheet.append(["10.40.1.8", "Axis", "M3106-L", None])
    register = tmp_path / "registre.xlsx"
    workbook.save(register)
    done = _run("import", str(register), "--no-db", "-f", "json")
    assert "registre.xlsx row 4: '10.40.1.300' is not an IP address" in done.stderr
    devices = {d["ip"]: d for d in json.loads(done.stdout)["devices"]}
    assert sorted(devices) == ["10.40.1.5", "10.40.1.8"]
    assert devices["10.40.1.5"]["verdict"] == "restricted"
    assert devices["10.40.1.5"]["mac"] == "00:11:22:33:44:55"
    assert devices["10.40.1.8"]["verdict"] == "clear"
    assert "imported from XLSX registre.xlsx" in devices["10.40.1.8"]["notes"]
    # the same as CSV with ';' and French headers, detected without --from
    french = tmp_path / "registre.csv"
    french.write_text(
        "Adresse IP;Fabricant;Modèle\n10.40.1.5;Hikvision;DS-2CD2143G2-I\n", encoding="utf-8"
    )
    done = _run("import", str(french), "--no-db", "-f", "json")
    assert json.loads(done.stdout)["devices"][0]["verdict"] == "restricted"
    # a legacy .xls says what to do, in one line
    legacy = tmp_path / "old.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64))
    done = _run("import", str(legacy), "--no-db", check=2)
    assert "a legacy Excel .xls workbook: save it as .xlsx" in done.stderr


def test_columns_named_on_the_command_line(tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("Gerät,Netz,Firma,Typ\ncam-1,10.40.1.5,Hikvision,DS-2CD2143G2-I\n", "utf-8")
    done = _run("import", str(odd), "--no-db", check=2)
    assert "cannot tell its format" in done.stderr
    done = _run(
        "import", str(odd), "--from", "csv", "--ip-col", "Netz", "--maker-col", "C",
        "--model-col", "4", "--no-db", "-f", "json",
    )  # fmt: skip
    device = json.loads(done.stdout)["devices"][0]
    assert device["ip"] == "10.40.1.5" and device["verdict"] == "restricted"
    done = _run("import", str(odd), "--from", "csv", "--ip-col", "Address", "--no-db", check=2)
    assert "column 'Address' is not in the file" in done.stderr
