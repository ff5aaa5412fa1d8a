"""nmap's service-probe match lines as a low-certainty fallback (decision 0023).

The parser and matcher are tested on a small file written here in nmap's format (nmap's own
file is never copied); the installed file, where nmap is, is read as a whole; the fallback is
tested through the real scan of a lab device on loopback and through the CLI.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provscan.cli import app
from provscan.fingerprints.service_probes import (
    ServiceProbes,
    find_service_probes,
    installed_service_probes,
    parse_templates,
    replies,
)
from provscan.identify import Identifier
from provscan.knowledge.loader import load_knowledge
from provscan.lab.server import run_lab_in_thread
from provscan.lab.spec import DeviceSpec, Expectation, Identity, ServiceSpec
from provscan.model import Device, HostEvidence, Observation
from provscan.passive import analyse_captures
from provscan.pipeline import run_scan
from provscan.targets import build_targets

KNOWLEDGE = load_knowledge()
#: The lab recording (tests/pcap/fixtures): real replies of the emulated devices.
LAB_CAPTURE = Path(__file__).parent / "pcap" / "fixtures" / "lab_scan.pcap.gz"

#: A file in nmap-service-probes' format, written for these tests (the makers are from
#: provscan's vocabulary; the products are made up).
PROBES = rb"""# a comment
Exclude T:9100
Probe TCP NULL q||
totalwaitms 6000
match ssh m|^SSH-([\d.]+)-ExampleSSH_([\d.]+)\r?\n| p/Cisco ExampleSSH sshd/ v/$2/ i/protocol $1/ cpe:/a:cisco:examplessh:$2/
match telnet m|^\xff\xfb\x01\xff\xfb\x03\r\nRTR-(\w+) login: | p/Zyxel $P(1) router telnetd/ d/router/
softmatch ftp m|^220 | p/only a service/
match ftp m|^220 PCRE(?C1)| p/PCRE only/
match ftp m|^220 widget (\w+)-(\w+) ready|i p/$SUBST(1,"_",".") widget ftpd/ i/$2/

Probe TCP GetRequest q|GET / HTTP/1.0\r\n\r\n|
ports 80
fallback GenericLines
match http m|^HTTP/1\.[01] 200 OK\r\nServer: ExampleCam/([\d.]+)\r\n.*<title>Example Cam</title>|s p/Axis ExampleCam httpd/ v/$1/ d/webcam/
match http m|^HTTP/1\.[01] 401 .*\r\nServer: Hikvision-Webs\r\n|s p/Hikvision IP camera httpd/ d/webcam/

Probe TCP GenericLines q|\r\n\r\n|
match echo m|^GENERIC (\w+)| p/Generic $1/

Probe TCP RTSPRequest q|OPTIONS / RTSP/1.0\r\n\r\n|
match rtsp m|^RTSP/1\.0 200 OK\r\nServer: ExampleStreamer\r\n| p/Bosch ExampleStreamer rtspd/
"""


@pytest.fixture()
def probes() -> ServiceProbes:
    return ServiceProbes(PROBES, "test-probes")


def test_lines_are_read_per_probe_with_their_fallbacks(probes: ServiceProbes) -> None:
    assert probes.probe_names == ("NULL", "GetRequest", "GenericLines", "RTSPRequest")
    # softmatch lines name only a service: not read
    assert probes.line_count("NULL") == 4
    assert probes.line_count("GetRequest") == 2


def test_a_match_fills_its_templates_from_the_groups(probes: ServiceProbes) -> None:
    hit = probes.match("NULL", b"SSH-2.0-ExampleSSH_4.12\r\n")
    assert hit is not None
    assert hit.line.line == 5 and hit.line.service == "ssh"
    assert dict(hit.info) == {
        "p": "Cisco ExampleSSH sshd",
        "v": "4.12",
        "i": "protocol 2.0",
        "cpe": "cpe:/a:cisco:examplessh:4.12",
    }
    # $P keeps printable characters; binary telnet negotiation is matched as sent
    hit = probes.match("NULL", b"\xff\xfb\x01\xff\xfb\x03\r\nRTR-AX10 login: ")
    assert hit is not None and dict(hit.info)["p"] == "Zyxel AX10 router telnetd"
    # $SUBST, and the i flag
    hit = probes.match("NULL", b"220 WIDGET a_b-C9 ready\r\n")
    assert hit is not None and dict(hit.info) == {"p": "a.b widget ftpd", "i": "C9"}


def test_a_probe_falls_back_to_its_fallbacks_then_null(probes: ServiceProbes) -> None:
    assert probes.match("GetRequest", b"GENERIC thing") is not None  # fallback GenericLines
    hit = probes.match("GetRequest", b"SSH-2.0-ExampleSSH_1.0\n")  # then NULL
    assert hit is not None and dict(hit.info)["v"] == "1.0"
    # a probe's own lines come first; nothing matches: None
    assert probes.match("RTSPRequest", b"RTSP/1.0 404 Not Found\r\n\r\n") is None
    assert probes.match("NoSuchProbe", b"SSH-2.0-ExampleSSH_1.0\n") is not None


def test_a_pattern_python_cannot_compile_is_skipped_and_counted(probes: ServiceProbes) -> None:
    assert probes.match("NULL", b"220 PCRE") is None
    assert probes.skipped == 1


def test_replies_pair_a_head_with_its_body_and_read_raw_banners() -> None:
    head = "HTTP/1.1 200 OK\r\nServer: ExampleCam/2.1\r\n\r\n"
    observations = [
        Observation("http", 80, "http.head", head, "/"),
        Observation("http", 80, "http.body", "<title>Example Cam</title>", "/"),
        Observation("http", 80, "http.head", "HTTP/1.1 404 Not Found\r\n\r\n", "/ISAPI"),
        Observation("rtsp", 554, "rtsp.head", "RTSP/1.0 200 OK\r\n\r\n", "OPTIONS"),
        Observation("banner", 23, "banner.raw", "\xff\xfb\x01login: ", "9 bytes read"),
        Observation("banner", 23, "banner.text", "login:", "9 bytes read"),
    ]
    assert replies(observations) == [
        ("RTSPRequest", 554, b"RTSP/1.0 200 OK\r\n\r\n"),
        ("NULL", 23, b"\xff\xfb\x01login: "),
        ("GetRequest", 80, head.encode() + b"<title>Example Cam</title>"),
    ]


def test_observations_say_where_they_come_from(probes: ServiceProbes) -> None:
    found = probes.observations(
        [
            Observation(
                "http", 80, "http.head", "HTTP/1.0 200 OK\r\nServer: ExampleCam/3.0\r\n\r\n", "/"
            ),
            Observation("http", 80, "http.body", "<html><title>Example Cam</title>", "/"),
        ]
    )
    assert [(o.protocol, o.port, o.field, o.value) for o in found] == [
        ("nmap-fallback", 80, "nmap.product", "Axis ExampleCam httpd"),
        ("nmap-fallback", 80, "nmap.version", "3.0"),
        ("nmap-fallback", 80, "nmap.device_type", "webcam"),
    ]
    assert {o.detail for o in found} == {"nmap fallback: test-probes l.14 (http)"}


def test_an_http_1_1_reply_is_also_read_as_the_http_1_0_reply_nmap_asked_for() -> None:
    text = (
        b"Probe TCP GetRequest q|GET / HTTP/1.0\\r\\n\\r\\n|\n"
        b'match http m|^HTTP/1\\.0 401 Unauthorized\\r\\nWWW-Authenticate: Basic realm="(CAM-\\w+)"'
        b"| p/D-Link $1 webcam http config/ d/webcam/\n"
    )
    probes = ServiceProbes(text, "versions")
    head = 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="CAM-1"\r\n\r\n'
    found = probes.observations([Observation("http", 80, "http.head", head, "/")])
    assert [(o.field, o.value) for o in found][:1] == [
        ("nmap.product", "D-Link CAM-1 webcam http config")
    ]


def test_templates_with_other_delimiters_and_a_cpe_flag() -> None:
    assert parse_templates(b"p|a/b| v/1/ cpe:/h:x:y/a o/Linux/") == (
        ("p", b"a/b"),
        ("v", b"1"),
        ("cpe", b"cpe:/h:x:y"),
        ("o", b"Linux"),
    )


def test_a_reply_made_to_backtrack_costs_a_bounded_time() -> None:
    # A pattern that backtracks for ever on a reply that almost matches; then one that matches.
    text = b"Probe TCP NULL q||\nmatch x m|^(.*?,){30}P| p/Slow/\nmatch y m|^1,| p/Example/\n"
    probes = ServiceProbes(text, "hostile")
    started = time.monotonic()
    hit = probes.match("NULL", b"1," * 40)
    assert time.monotonic() - started < 2.0
    assert probes.timed_out == 1
    assert hit is not None and dict(hit.info) == {"p": "Example"}


def test_hostile_files_are_bounded(tmp_path: Path) -> None:
    # malformed lines are skipped; a reply is matched on its first 16 KiB only
    text = b"Probe TCP NULL q||\nmatch x\nmatch y m|unterminated\nmatch z m|^(a+)+$| p/Z/\n"
    probes = ServiceProbes(text, "hostile")
    assert probes.line_count("NULL") == 1
    assert probes.match("NULL", b"a" * 100_000) is not None
    big = tmp_path / "nmap-service-probes"
    with big.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)
    with pytest.raises(ValueError, match="larger than"):
        ServiceProbes.read(big)


def test_the_file_is_found_under_nmapdir_first(tmp_path: Path) -> None:
    (tmp_path / "nmap-service-probes").write_bytes(PROBES)
    assert find_service_probes({"NMAPDIR": str(tmp_path), "PATH": ""}) == (
        tmp_path / "nmap-service-probes"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    found = find_service_probes({"NMAPDIR": str(empty), "PATH": ""})
    assert found is None or found.parent != empty


@pytest.mark.skipif(installed_service_probes() is None, reason="nmap's data is not installed")
def test_the_installed_file_is_read_whole() -> None:
    probes = installed_service_probes()
    assert probes is not None
    assert sum(probes.line_count(name) for name in probes.probe_names) > 10_000
    assert {"NULL", "GetRequest", "RTSPRequest"} <= set(probes.probe_names)
    # an SSH identification nmap knows and provscan's rules do not
    hit = probes.match("NULL", b"SSH-2.0-Cisco-1.25\r\n")
    assert hit is not None and "Cisco" in dict(hit.info)["p"]
    assert probes.skipped < 50


def _host(*observations: Observation) -> HostEvidence:
    return HostEvidence("127.0.0.1", (23,), observations=observations)


def test_the_fallback_names_a_maker_only_where_no_rule_did(probes: ServiceProbes) -> None:
    knowledge = load_knowledge()
    policies = knowledge.select_policies(None)
    with_fallback = Identifier(knowledge, policies, posture=False, service_probes=probes)
    without = Identifier(knowledge, policies, posture=False)
    telnet = Observation("banner", 23, "banner.raw", "\xff\xfb\x01\xff\xfb\x03\r\nRTR-AX10 login: ")
    assert without.device(_host(telnet)).manufacturer is None
    device = with_fallback.device(_host(telnet))
    assert device.manufacturer == "Zyxel" and not device.restricted
    assert [o.field for o in device.observations] == [
        "banner.raw",
        "nmap.product",
        "nmap.device_type",
    ]
    assert any(
        n.startswith("nmap fallback (low certainty") and "Zyxel AX10 router telnetd" in n
        for n in device.notes
    )
    assert any(e.observed_field == "nmap.product" for e in device.evidence)
    # a device a rule attributed is left as it is
    ssh = Observation("banner", 22, "banner.text", "SSH-2.0-Comware-7.1.064")
    raw = Observation("banner", 22, "banner.raw", "SSH-2.0-Comware-7.1.064\r\n")
    before = without.device(_host(ssh, raw))
    assert before.manufacturer is not None
    assert with_fallback.device(_host(ssh, raw)) == before


def test_a_restricted_maker_named_only_by_nmap_is_for_review_not_a_verdict(
    probes: ServiceProbes,
) -> None:
    """nmap's label is only as specific as its pattern (some of its lines name Hikvision for a
    generic GoAhead server): alone, or next to a shared signal of the same reply, it names a
    restricted maker for review and restricts nothing."""
    knowledge = load_knowledge()
    identifier = Identifier(
        knowledge, knowledge.select_policies(None), posture=False, service_probes=probes
    )
    head = "HTTP/1.1 401 Unauthorized\r\nServer: Hikvision-Webs\r\n\r\n"
    device = identifier.device(_host(Observation("http", 80, "http.head", head, "/")))
    assert not device.restricted
    assert any(n.startswith("nmap fallback") for n in device.notes)
    assert any("review: possibly made by Hikvision" in n for n in device.notes), device.notes
    # the same label from an imported nmap scan (nmap's conclusion as the user recorded it) is
    # read by the nmap_product rules as before (decision 0014)
    imported = Observation("nmap", 80, "nmap.product", "Hikvision IP camera httpd")
    assert identifier.device(_host(imported)).manufacturer == "Hikvision"


def test_explain_says_what_the_fallback_proves(probes: ServiceProbes) -> None:
    """`provscan explain` re-reads the evidence: nmap's label on an nmap_product rule is shown
    as the fallback's, not as a maker-specific signal, and the explanation agrees with the
    verdict (a restricted maker it names is not established)."""
    from provscan.commands.explain import build_explanation

    knowledge = load_knowledge()
    identifier = Identifier(
        knowledge, knowledge.select_policies(None), posture=False, service_probes=probes
    )
    head = "HTTP/1.1 401 Unauthorized\r\nServer: Hikvision-Webs\r\n\r\n"
    device = identifier.device(_host(Observation("http", 80, "http.head", head, "/")))
    explained = build_explanation(device, list(device.observations), knowledge)
    assert {line.specificity for line in explained.evidence if line.rule_id} == {"fallback"}
    hikvision = [m for m in explained.makers if m.maker == "Hikvision"]
    assert hikvision and not hikvision[0].established
    assert "nmap's fallback never counts" in hikvision[0].reason
    telnet = Observation("banner", 23, "banner.raw", "\xff\xfb\x01\xff\xfb\x03\r\nRTR-AX10 login: ")
    zyxel = identifier.device(_host(telnet))
    reasons = [m.reason for m in build_explanation(zyxel, [], knowledge).makers]
    assert reasons == ["nmap's fallback only; enough for a maker outside the restricted families"]


#: A router whose telnet greeting only the test file above knows.
TELNET = b"\xff\xfb\x01\xff\xfb\x03\r\nRTR-AX10 login: "
LAB_DEVICE = DeviceSpec(
    id="nmap-fallback-router",
    address="127.0.0.1",
    description="a router whose telnet greeting no provscan rule knows",
    identity=Identity(manufacturer="Zyxel"),
    expect=Expectation(manufacturer="Zyxel", restricted=False),
    sources=["tests/test_service_probes.py"],
    services=[
        ServiceSpec(port=2323, protocol="banner", options={"hex": TELNET.hex(), "wait_s": 1.0})
    ],
)


def _lab_device(address: str) -> DeviceSpec:
    return LAB_DEVICE.model_copy(update={"address": address})


def test_a_real_scan_uses_the_fallback_it_is_given(probes: ServiceProbes) -> None:
    address = f"127.253.{os.getpid() % 200}.{7 + os.getpid() % 40}"
    with run_lab_in_thread([_lab_device(address)]):
        targets = build_targets([address])
        plain = asyncio.run(run_scan(targets, [address], [2323], discovery=None))
        helped = asyncio.run(
            run_scan(targets, [address], [2323], discovery=None, service_probes=probes)
        )
    assert plain.devices[0].manufacturer is None
    assert helped.devices[0].manufacturer == "Zyxel"


def test_the_cli_reads_nmapdir_and_can_be_told_not_to(tmp_path: Path) -> None:
    (tmp_path / "nmap-service-probes").write_bytes(PROBES)
    address = f"127.253.{os.getpid() % 200}.{50 + os.getpid() % 40}"
    runner = CliRunner()
    env = {"NMAPDIR": str(tmp_path)}
    with run_lab_in_thread([_lab_device(address)]):
        args = ["scan", address, "-p", "2323", "--no-db", "--no-discovery", "-q", "-f", "json"]
        on = runner.invoke(app, args, env=env)
        off = runner.invoke(app, [*args, "--no-nmap-fallback"], env=env)
    assert on.exit_code == 0, on.output
    assert off.exit_code == 0, off.output
    assert json.loads(on.stdout)["devices"][0]["manufacturer"] == "Zyxel"
    assert json.loads(off.stdout)["devices"][0]["manufacturer"] is None


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        (rb"^SSH-([\d.]+)-ExampleSSH_([\d.]+)\r?\n", b"-examplessh_"),
        (rb"^HTTP/1\.[01] 200 OK\r\nServer: Foo\r\n", b" 200 ok\r\nserver: foo\r\n"),
        (rb"(?:optional-words)?core", b"core"),
        (rb"(required-words)+tail", b"required-words"),
        (rb"abc|defgh", b""),
        (rb"(?:abcd|efgh)ij", b"ij"),
        (rb"^220 PCRE(?C1)", b""),  # PCRE only (a callout): every reply is tried
    ],
)
def test_a_line_is_indexed_by_a_run_every_match_contains(pattern: bytes, literal: bytes) -> None:
    from provscan.fingerprints.service_probes import required_literal

    assert required_literal(pattern, 0) == literal


@pytest.mark.skipif(installed_service_probes() is None, reason="nmap's data is not installed")
def test_the_index_finds_what_trying_every_line_finds() -> None:
    """The replies of the lab recording, and a few more, against nmap's whole file: the first
    match through the index is the first match of the whole chain, every line compiled."""
    import regex

    from provscan.fingerprints import service_probes as module

    probes = installed_service_probes()
    assert probes is not None
    found: list[tuple[str, int | None, bytes]] = []

    def keep(host: HostEvidence) -> Device:
        found.extend(replies(list(host.observations)))
        return Identifier(KNOWLEDGE, KNOWLEDGE.select_policies(None), posture=False).device(host)

    analyse_captures([str(LAB_CAPTURE)], keep, knowledge=KNOWLEDGE)
    found += [
        ("NULL", 22, b"SSH-2.0-Cisco-1.25\r\n"),
        ("NULL", 21, b"220 ProFTPD 1.3.5e Server (Debian) [::ffff:127.0.0.1]\r\n"),
        ("GetRequest", 80, b"HTTP/1.0 401 Unauthorized\r\nServer: Boa/0.94.13\r\n\r\n"),
    ]
    found = list(dict.fromkeys(found))
    assert len(found) >= 15
    compiled: dict[int, regex.Pattern[bytes] | None] = {}

    def pattern(line: module.MatchLine) -> regex.Pattern[bytes] | None:
        if line.line not in compiled:
            try:
                compiled[line.line] = regex.compile(line.pattern, line.flags | regex.VERSION0)
            except regex.error:
                compiled[line.line] = None
        return compiled[line.line]

    matched = 0
    for probe, _, reply in found:
        expected = None
        for each in probes._chain(probe):
            for line in each.lines:
                compiled_line = pattern(line)
                if compiled_line is not None and compiled_line.search(
                    reply[: module.MAX_REPLY_BYTES]
                ):
                    expected = line.line
                    break
            if expected is not None:
                break
        got = probes.match(probe, reply)
        assert (got.line.line if got else None) == expected, (probe, reply[:80])
        matched += expected is not None
    assert matched >= 3
