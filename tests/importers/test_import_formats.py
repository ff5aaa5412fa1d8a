"""Each importer reads its documented format into the observations a probe makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from provscan.importers import ImportFormat, detect_format, merge_records, read_file
from provscan.importers.servicefp import responses, unescape
from provscan.pipeline import run_import

FIXTURES = Path(__file__).parent / "fixtures"


def _fields(records: list, address: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for record in records:
        if record.address == address:
            for observation in record.observations:
                found.setdefault(observation.field, []).append(observation.value)
    return found


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("masscan.json", ImportFormat.masscan_json),
        ("masscan.list", ImportFormat.masscan_json),
        ("cmdb.csv", ImportFormat.csv),
        ("dhcpd.leases", ImportFormat.dhcp_leases),
        ("dnsmasq.leases", ImportFormat.dhcp_leases),
        ("cisco-mac-table.txt", ImportFormat.mac_table),
        ("aruba-mac-table.txt", ImportFormat.mac_table),
        ("lab-nmap.xml", ImportFormat.nmap_xml),
    ],
)
def test_formats_are_detected(name: str, expected: ImportFormat) -> None:
    assert detect_format(FIXTURES / name) is expected


def test_an_unknown_format_asks_for_from(tmp_path: Path) -> None:
    unknown = tmp_path / "notes.txt"
    unknown.write_text("just some words\nand more words\n", encoding="utf-8")
    with pytest.raises(Exception, match="--from"):
        detect_format(unknown)


def test_servicefp_escapes_decode_to_the_bytes_sent() -> None:
    # nmap's escaping: \x20 for a space, \r\n, \. for a dot, \0, \" and \\ kept literal.
    data, end = unescape(r'HTTP/1\.0\x20401\r\nA:\x20\"q\"\\\0"rest', 0)
    assert data == b'HTTP/1.0 401\r\nA: "q"\\\x00'
    assert end == len(r'HTTP/1\.0\x20401\r\nA:\x20\"q\"\\\0"')
    fingerprint = (
        "SF-Port80-TCP:V=7.93%I=7%D=12/3%Time=6750AB12%P=x86_64-pc-linux-gnu%r(GetR\n"
        'SF:equest,2A,"HTTP/1\\.1\\x20200\\x20OK\\r\\nServer:\\x20DNVRS-Webs\\r\\n\\r\\n")\n'
        'SF:%r(NULL,5,"hello");\n'
    )
    found = responses(fingerprint)
    assert [(r.probe, r.length) for r in found] == [("GetRequest", 0x2A), ("NULL", 5)]
    assert found[0].data == b"HTTP/1.1 200 OK\r\nServer: DNVRS-Webs\r\n\r\n"


def test_masscan_json_banners_become_http_observations() -> None:
    imported = read_file(FIXTURES / "masscan.json")
    fields = _fields(imported.records, "198.51.100.20")
    assert fields["http.server"] == ["Hikvision-Webs", "Hikvision-Webs"]
    assert fields["http.realm"] == ["IP Camera(C6271)"]
    assert _fields(imported.records, "198.51.100.22")["banner.text"] == [
        "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6"
    ]
    ports = {r.address: r.open_ports for r in imported.records}
    assert ports == {"198.51.100.20": {80}, "198.51.100.21": {554}, "198.51.100.22": {22}}


def test_masscan_list_reads_the_same_facts() -> None:
    imported = read_file(FIXTURES / "masscan.list")
    assert _fields(imported.records, "198.51.100.20")["http.server"] == ["Hikvision-Webs"]


def test_cmdb_csv_columns_are_detected_and_cells_stay_text() -> None:
    # Given the CMDB fixture (headers "IP Address", "MAC Address", "Manufacturer", "Model")
    result = run_import([(str(FIXTURES / "cmdb.csv"), None)], posture=False)
    by_ip = {d.ip: d for d in result.devices}
    # Then the maker column identifies the device, the MAC and host name are kept
    assert by_ip["10.20.1.11"].manufacturer == "Hikvision"
    assert by_ip["10.20.1.11"].restricted
    assert by_ip["10.20.1.11"].hostname == "lobby-cam-1"
    assert by_ip["10.20.1.12"].manufacturer == "Dahua"
    assert by_ip["10.20.1.13"].manufacturer == "Axis"
    assert not by_ip["10.20.1.13"].restricted
    # A formula-looking cell is data, kept as written
    assert by_ip["10.20.1.15"].hostname == '=HYPERLINK("http://198.51.100.9/x","click")'
    # Rows without an address: the MAC-only row and the empty one are skipped and counted
    assert "spare" not in " ".join(d.hostname or "" for d in result.devices)
    notes = " ".join(result.info.notes)
    assert "1 row without an IP address or MAC skipped" in notes
    assert "1 device without an IP address skipped" in notes
    assert result.info.kind == "import"
    assert result.info.targets == (f"csv:{FIXTURES / 'cmdb.csv'}",)
    assert all("imported from CSV cmdb.csv" in d.notes for d in result.devices)


def test_isc_leases_give_dhcp_fields_and_skip_free_leases() -> None:
    imported = read_file(FIXTURES / "dhcpd.leases")
    assert {r.address for r in imported.records} == {"10.20.2.30", "10.20.2.31", "10.20.2.33"}
    fields = _fields(imported.records, "10.20.2.33")
    assert fields["dhcp.vendor_class"] == ["AXIS,Network Camera,P3225-LV Mk II,9.70.1.5"]
    assert fields["dhcp.hostname"] == ["axis-accc8e000033"]
    assert any("1 leases not active" in note for note in imported.notes)


def test_dnsmasq_leases() -> None:
    imported = read_file(FIXTURES / "dnsmasq.leases")
    macs = {r.address: r.mac for r in imported.records}
    assert macs == {
        "10.20.3.40": "44:19:b6:aa:bb:11",
        "10.20.3.41": "3c:ef:8c:aa:bb:12",
        "10.20.3.42": "b8:27:eb:00:00:13",
    }
    assert _fields(imported.records, "10.20.3.41") == {}  # "*": no host name


@pytest.mark.parametrize("name", ["cisco-mac-table.txt", "aruba-mac-table.txt"])
def test_mac_tables_join_leases_on_mac(name: str) -> None:
    # Given a switch's MAC table (no addresses) and the DHCP leases of the same devices
    table = read_file(FIXTURES / name)
    leases = read_file(FIXTURES / "dhcpd.leases")
    # Then the switch's multicast, broadcast and CPU entries are not devices
    assert all(r.address is None for r in table.records)
    assert {r.mac for r in table.records} >= {"44:19:b6:aa:bb:01", "3c:ef:8c:aa:bb:02"}
    # And joined on MAC, the lease's address meets the switch port
    merged = merge_records([*table.records, *leases.records])
    host = next(h for h in merged.hosts if h.mac == "44:19:b6:aa:bb:01")
    assert host.address == "10.20.2.30"
    ports = [o.value for o in host.observations if o.field == "switch.port"]
    assert ports in (["Gi1/0/5"], ["5"])
    assert any(note.startswith("imported from MAC address table") for note in host.notes)


def test_a_mac_table_alone_names_no_device_but_says_why() -> None:
    result = run_import([(str(FIXTURES / "cisco-mac-table.txt"), None)], posture=False)
    assert result.devices == ()
    assert any("3 devices without an IP address skipped" in n for n in result.info.notes)
