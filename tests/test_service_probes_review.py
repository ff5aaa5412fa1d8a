"""Review of the nmap service-probes fallback (decision 0023), 2026-12-05.

Two kinds of tests, against the installed nmap-service-probes (Nmap 7.93; skipped without it):

- ``REVIEW-PROBLEM``: tests of the problems the review found (they failed before the fixes
  of the same day: the fallback hid a restricted candidate, the first reply of a process
  timed out while the index was built, one nmap line counted as several signals, product
  lines of other makers were read in nmap's text, RTSP replies kept their echoed CSeq).
- plain tests that pin behaviour the review verified and found sound.

The replies are written here to match single nmap lines (named by line number in Nmap 7.93);
nmap's file itself is never copied.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from provscan.fingerprints.service_probes import (
    ServiceMatch,
    ServiceProbes,
    fill_templates,
    installed_service_probes,
)
from provscan.identify import Identifier
from provscan.knowledge.loader import load_knowledge
from provscan.model import Device, HostEvidence, Observation

pytestmark = pytest.mark.skipif(
    installed_service_probes() is None, reason="nmap's data is not installed"
)

KNOWLEDGE = load_knowledge()
#: BusyBox ftpd's stock greeting: nmap 7.93 l.1225 calls it "BusyBox ftpd" with extrainfo
#: "D-Link DCS-932L IP-Cam camera" (and cpe:/h:dlink:dcs-932l).
BUSYBOX_FTP = "220 Operation successful\r\n"


def _identify(*observations: Observation, fallback: bool = True) -> Device:
    probes = installed_service_probes()
    if probes is not None:
        assert probes.probe_names  # index built first (see test_the_first_reply_is_...)
    identifier = Identifier(
        KNOWLEDGE,
        KNOWLEDGE.select_policies(None),
        posture=False,
        service_probes=installed_service_probes() if fallback else None,
    )
    return identifier.device(HostEvidence("127.0.0.1", (21, 80), observations=observations))


# -- problems ---------------------------------------------------------------------------


def test_the_first_reply_is_matched_while_the_index_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROVSCAN_CACHE_DIR", "off")
    installed = installed_service_probes()
    assert installed is not None
    probes = ServiceProbes(Path(installed.source).read_bytes(), installed.source)
    first = probes.match("NULL", BUSYBOX_FTP.encode())
    assert probes.timed_out == 0
    assert first is not None and first.line.service == "ftp"


def test_a_fallback_maker_does_not_hide_a_restricted_candidate() -> None:
    title = Observation("http", 80, "http.title", "WEB SERVICE", "/")  # a shared Dahua signal
    banner = Observation("banner", 21, "banner.raw", BUSYBOX_FTP, "26 bytes read")
    without = _identify(title, banner, fallback=False)
    assert any(n.startswith("review: possibly made by Dahua") for n in without.notes)
    with_fallback = _identify(title, banner)
    # what happens today: manufacturer D-Link at 0.75, the Dahua note no longer "review:"
    assert any(n.startswith("review: possibly made by Dahua") for n in with_fallback.notes), (
        with_fallback.manufacturer,
        with_fallback.notes,
    )


def test_one_nmap_line_is_one_signal() -> None:
    device = _identify(Observation("banner", 21, "banner.raw", BUSYBOX_FTP, "26 bytes read"))
    assert device.manufacturer == "D-Link"
    assert device.confidence <= 0.5


def test_westell_versalink_is_not_xerox() -> None:
    head = (
        "HTTP/1.0 200 OK\r\nServer: RapidLogic/1.1\r\nMIME-version: 1.0\r\n"
        "Content-type: text/html\r\n\r\n"
    )
    body = "<HTML>\r\n<HEAD>\r\n<TITLE>Westell VersaLink Wireless Gateway</TITLE>"
    device = _identify(
        Observation("http", 80, "http.head", head, "/"),
        Observation("http", 80, "http.body", body, "/"),
    )
    assert any("l.8138" in n for n in device.notes)  # the line did match
    assert device.manufacturer != "Xerox"


def test_macsense_homepod_is_not_apple() -> None:
    banner = (
        "\xff\xfd\x01\xff\xfd!\xff\xfb\x01\xff\xfb\x03\r\r\n\r\n\r\nBusyBox v1.00 "
        "(2005.01.01-00:00+0000) Built-in shell (ash)\r\nEnter 'help' for a list of built-in "
        "commands.\r\n\r\n# "
    )
    device = _identify(Observation("banner", 23, "banner.raw", banner, "x"))
    assert any("l.4053" in n for n in device.notes)
    assert device.manufacturer != "Apple"


def test_an_rtsp_reply_with_its_cseq_still_matches() -> None:
    probes = installed_service_probes()
    assert probes is not None
    nonce = "0" * 32
    reply = (
        "RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n"
        f'WWW-Authenticate: Digest realm="Hikvision", nonce="{nonce}", stale="FALSE"\r\n'
        'WWW-Authenticate: Basic realm="/"\r\n\r\n'
    )
    assert probes.match("RTSPRequest", reply.replace("CSeq: 1\r\n", "").encode()) is not None
    # the head as provscan's probe received it, CSeq and all, through the fallback's reading
    found = probes.observations([Observation("rtsp", 554, "rtsp.head", reply, "OPTIONS")])
    assert any(o.field == "nmap.product" and "Hikvision" in o.value for o in found), found


# -- verified -----------------------------------------------------------------------------


class _AnyGroup:
    """Stands for a match: every group reads X1."""

    def group(self, _number: int) -> bytes:
        return b"X1"


def test_no_nmap_label_alone_restricts_a_device() -> None:
    """Every match line of the installed file, its templates filled, as the only evidence:
    labels naming Hikvision, Dahua, Huawei, ZTE or a relabel give a review note, never a
    restricted device (checked for 11,651 lines with version info in Nmap 7.93)."""
    probes = installed_service_probes()
    assert probes is not None
    identifier = Identifier(KNOWLEDGE, KNOWLEDGE.select_policies(None), posture=False)
    restricted: list[int] = []
    reviewed = 0
    for name in probes.probe_names:
        for line in probes._probes[name].lines:
            found = ServiceMatch(line, fill_templates(line.templates, _AnyGroup()))
            observations = tuple(found.observations(80, "review"))
            if not observations:
                continue
            device = identifier.device(HostEvidence("127.0.0.1", (80,), observations=observations))
            restricted += [line.line] if device.restricted else []
            if device.manufacturer and KNOWLEDGE.family_of(device.manufacturer):
                restricted.append(line.line)
            reviewed += any(n.startswith("review: possibly made by") for n in device.notes)
    assert restricted == []
    assert reviewed > 50


@pytest.mark.parametrize(
    ("shared", "reply"),
    [
        # l.12147 "Dahua IP camera rtspd" next to the shared Dahua realm "device"
        (
            Observation("rtsp", 554, "rtsp.realm", "device", "OPTIONS"),
            Observation(
                "rtsp",
                554,
                "rtsp.head",
                'RTSP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm="device"\r\n'
                "Server: Dahua Rtsp Server\r\nContent-Length: 0\r\n\r\n",
                "OPTIONS",
            ),
        ),
        # l.10166 "Hikvision DVR web UI" next to the shared Hikvision "Webs" server header
        (
            Observation("http", 80, "http.server", "Webs", "/"),
            Observation(
                "http",
                80,
                "http.head",
                "HTTP/1.1 200 OK\r\nServer: DVRDVS-Webs\r\n\r\n",
                "/",
            ),
        ),
    ],
)
def test_a_label_next_to_one_shared_signal_restricts_nothing(
    shared: Observation, reply: Observation
) -> None:
    device = _identify(shared, reply)
    # a shared signal names a restricted candidate: the fallback is not run at all (it is for
    # devices nothing names), and the candidate stays under review
    assert not any(n.startswith("nmap fallback") for n in device.notes)
    assert not device.restricted and device.manufacturer is None
    assert any(n.startswith("review: possibly made by") for n in device.notes)


def test_hostile_templates_fill_safely() -> None:
    text = (
        b"Probe TCP NULL q||\n"
        b'match a m|^AA(x)| p/$9 $P(9) $SUBST(9,"a","b") $SUBST(1,"",",")/ v/$SUBST(1,"x")/\n'
        b"match b m=^BB(.)= p=pipe|in|delim= i|x|\n"
    )
    probes = ServiceProbes(text, "hostile")
    hit = probes.match("NULL", b"AAx")
    assert hit is not None and dict(hit.info)["p"] == ",x,"
    hit = probes.match("NULL", b"BBz")
    assert hit is not None and dict(hit.info) == {"p": "pipe|in|delim", "i": "x"}


def test_a_damaged_cached_index_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVSCAN_CACHE_DIR", str(tmp_path))
    text = b"Probe TCP NULL q||\nmatch a m|^HELLO (\\w+)| p/Thing $1/\n"
    assert ServiceProbes(text, "t").match("NULL", b"HELLO x") is not None
    cached = list((tmp_path / "knowledge").glob("nmap-service-probes-*.pickle"))
    assert len(cached) == 1
    cached[0].write_bytes(b"\x80\x05not a pickle")
    hit = ServiceProbes(text, "t").match("NULL", b"HELLO y")
    assert hit is not None and dict(hit.info) == {"p": "Thing y"}
