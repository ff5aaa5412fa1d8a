"""Hostile and broken files: refused or read safely, one line, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from provscan.importers import ImportFileError, read_file
from provscan.importers import interface as limits
from provscan.importers.interface import ImportFormat

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE nmaprun [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<nmaprun><host><status state="up"/><address addr="127.0.0.9" addrtype="ipv4"/>
<hostnames><hostname name="&lol9;"/></hostnames></host></nmaprun>
"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE nmaprun [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<nmaprun><host><status state="up"/><address addr="127.0.0.9" addrtype="ipv4"/>
<hostnames><hostname name="&secret;"/></hostnames></host></nmaprun>
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provscan", "import", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entity_tricks_are_refused_in_one_line(tmp_path: Path, text: str) -> None:
    hostile = tmp_path / "hostile.xml"
    hostile.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFileError, match="unsafe XML"):
        read_file(hostile)
    completed = _run(str(hostile), "--no-db")
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr
    assert "unsafe XML" in completed.stderr


def test_a_truncated_nmap_file_keeps_the_hosts_before_the_cut(tmp_path: Path) -> None:
    whole = (Path(__file__).parent / "fixtures" / "lab-nmap.xml").read_text(encoding="utf-8")
    cut = tmp_path / "cut.xml"
    cut.write_text(whole[: len(whole) * 2 // 3], encoding="utf-8")
    imported = read_file(cut, ImportFormat.nmap_xml)
    assert imported.records
    assert any("truncated or malformed" in note for note in imported.notes)


def test_a_huge_line_is_refused(tmp_path: Path) -> None:
    huge = tmp_path / "leases"
    huge.write_text(
        "1764792000 44:19:b6:aa:bb:11 10.20.3.40 " + "x" * (limits.MAX_LINE_CHARS + 1) + " *\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFileError, match="line longer than"):
        read_file(huge, ImportFormat.dhcp_leases)


def test_a_file_over_the_size_limit_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.csv"
    big.write_text("ip,mac\n" + "10.0.0.1,\n" * 200, encoding="utf-8")
    monkeypatch.setattr("provscan.importers.files.MAX_FILE_BYTES", 100)
    with pytest.raises(ImportFileError, match="more than the 100"):
        read_file(big, ImportFormat.csv)


@pytest.mark.parametrize(
    ("content", "fmt", "message"),
    [
        (b"\x00\x01\x02binary", "csv", "binary data"),
        (b"not xml at all", "nmap-xml", "not XML"),
        (b"<?xml version='1.0'?><report/>", "nmap-xml", "not an nmap XML file"),
        (b"{not json\n", "masscan-json", "not masscan JSON"),
        (b"name,colour\nx,red\n", "csv", "no IP address or MAC column"),
        (b"hello\n", "dhcp-leases", "neither ISC"),
        (b"hello\n", "mac-table", "no MAC address table header"),
    ],
)
def test_malformed_files_are_one_line_exit_2(
    tmp_path: Path, content: bytes, fmt: str, message: str
) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(content)
    completed = _run(str(bad), "--from", fmt, "--no-db")
    assert completed.returncode == 2, completed.stderr
    assert message in completed.stderr
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr


def test_a_missing_file_and_an_output_over_the_input(tmp_path: Path) -> None:
    completed = _run(str(tmp_path / "nope.xml"), "--no-db")
    assert completed.returncode == 2 and "no such file" in completed.stderr
    source = tmp_path / "cmdb.csv"
    source.write_text("ip\n10.0.0.1\n", encoding="utf-8")
    completed = _run(str(source), "--no-db", "-o", str(source))
    assert completed.returncode == 2
    assert source.read_text(encoding="utf-8") == "ip\n10.0.0.1\n"


def test_formula_cells_stay_data_and_are_guarded_in_csv_output(tmp_path: Path) -> None:
    # Given a CMDB whose host name cell is a spreadsheet formula, imported into a database
    fixture = Path(__file__).parent / "fixtures" / "cmdb.csv"
    database = str(tmp_path / "store.db")
    assert _run(str(fixture), "--db", database, "-q").returncode == 0
    # When its case is exported as a service-desk CSV
    completed = subprocess.run(
        [sys.executable, "-m", "provscan", "cases", "export", "-f", "csv", "--db", database],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    # Then the cell is written as text, never as a formula
    line = next(row for row in completed.stdout.splitlines() if ",10.20.1.15," in row)
    assert "'=HYPERLINK" in line
    assert ",=HYPERLINK" not in line


def test_record_limits_keep_the_first_records_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixtures = Path(__file__).parent / "fixtures"
    monkeypatch.setattr("provscan.importers.nmap_xml.MAX_RECORDS", 3)
    monkeypatch.setattr("provscan.importers.csv_table.MAX_RECORDS", 2)
    nmap = read_file(fixtures / "lab-nmap.xml", ImportFormat.nmap_xml)
    assert len(nmap.records) == 3
    assert any("only the first 3 hosts" in note for note in nmap.notes)
    table = read_file(fixtures / "cmdb.csv", ImportFormat.csv)
    assert len(table.records) == 2
    assert any("only the first 2 rows" in note for note in table.notes)


def test_a_port_with_many_macs_is_an_uplink_not_a_device(tmp_path: Path) -> None:
    lines = ["Vlan    Mac Address       Type        Ports", "----    -----------       ----  -----"]
    lines += [f"  10    0011.2233.{i:04x}    DYNAMIC     Te1/0/48" for i in range(40)]
    lines += ["  10    4419.b6aa.bb01    DYNAMIC     Gi1/0/5"]
    table = tmp_path / "uplink.txt"
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    imported = read_file(table, ImportFormat.mac_table)
    assert [r.mac for r in imported.records] == ["44:19:b6:aa:bb:01"]
    assert any("40 MACs on ports with more than" in note for note in imported.notes)
