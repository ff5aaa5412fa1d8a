"""The parts of nmap's XML a recording of the lab does not show: MAC addresses, OS matches,
port-number guesses, hosts that are down, script elements (format: nmap.dtd, Nmap 7.93)."""

from __future__ import annotations

from pathlib import Path

from provscan.importers import ImportFormat, read_file
from provscan.pipeline import run_import

HAND_WRITTEN = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sV -O --script http-title,ssl-cert,rtsp-methods" version="7.93">
<host><status state="down" reason="no-response"/><address addr="10.9.0.1" addrtype="ipv4"/></host>
<host><status state="up" reason="arp-response"/>
<address addr="10.9.0.64" addrtype="ipv4"/>
<address addr="C0:56:E3:12:34:56" addrtype="mac" vendor="Hangzhou Hikvision Digital Technology"/>
<hostnames><hostname name="cam-64.example.internal" type="PTR"/></hostnames>
<ports>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack"/>
<service name="http" product="Hikvision IP camera httpd" method="probed" conf="10" devicetype="webcam"><cpe>cpe:/h:hikvision:ip_camera</cpe></service>
<script id="http-title" output="Site doesn&apos;t have a title (text/html)."/>
</port>
<port protocol="tcp" portid="443"><state state="open" reason="syn-ack"/>
<service name="https" method="table" conf="3" product="guessed from the port"/>
<script id="ssl-cert" output="Subject: commonName=www.hikvision.com">
<table key="subject"><elem key="commonName">www.hikvision.com</elem><elem key="organizationName">HIKVISION</elem><elem key="countryName">CN</elem></table>
<table key="issuer"><elem key="commonName">www.hikvision.com</elem></table>
</script>
</port>
<port protocol="tcp" portid="554"><state state="open" reason="syn-ack"/>
<script id="rtsp-methods" output="&#xa;  OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER">
<elem key="methods">OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER</elem></script>
</port>
<port protocol="tcp" portid="8080"><state state="closed" reason="reset"/></port>
</ports>
<os><osmatch name="Linux 3.2 - 4.9" accuracy="95"><osclass type="general purpose" vendor="Linux" osfamily="Linux" osgen="3.X" accuracy="95"><cpe>cpe:/o:linux:linux_kernel:3</cpe></osclass></osmatch></os>
</host>
</nmaprun>
"""


def test_hand_written_nmap_xml(tmp_path: Path) -> None:
    source = tmp_path / "scan.xml"
    source.write_text(HAND_WRITTEN, encoding="utf-8")
    imported = read_file(source, ImportFormat.nmap_xml)
    # The host that is down is not a device
    assert [r.address for r in imported.records] == ["10.9.0.64"]
    record = imported.records[0]
    assert record.mac == "c0:56:e3:12:34:56"
    assert record.hostname == "cam-64.example.internal"
    assert record.open_ports == {80, 443, 554}
    fields = {(o.field, o.value) for o in record.observations}
    assert ("nmap.product", "Hikvision IP camera httpd") in fields
    assert ("nmap.device_type", "webcam") in fields
    assert ("nmap.cpe", "cpe:/h:hikvision:ip_camera") in fields
    assert ("nmap.os_match", "Linux 3.2 - 4.9") in fields
    assert ("tls.subject", "CN=www.hikvision.com,O=HIKVISION,C=CN") in fields
    assert ("rtsp.public", "OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, "
            "GET_PARAMETER") in fields  # fmt: skip
    # nmap's guess from a port number is no evidence; "no title" is no title
    assert ("nmap.product", "guessed from the port") not in fields
    assert not any(field == "http.title" for field, _ in fields)
    # Identified like a scan: the MAC's registry owner and nmap's label agree
    result = run_import([(str(source), None)], posture=False)
    device = result.devices[0]
    assert device.manufacturer == "Hikvision" and device.restricted
    assert device.device_type == "camera"
    assert "nmap.product" in {e.observed_field for e in device.evidence}
