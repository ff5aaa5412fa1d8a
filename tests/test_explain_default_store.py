"""``provscan explain ADDRESS`` reads the default database before it probes (a newcomer
review: after ``provscan pcap`` stored a capture in the default database, ``explain`` of a
captured address probed the device, 473 packets, where an analyst working from captures may
send nothing).

Real SQLite stores: captures stored by ``provscan pcap`` (no ``--db``) into the default
database of a sandboxed ``XDG_DATA_HOME``: one written here, whose devices a lab device of
this module also answers for on loopback (its request record shows whether anything was
sent), and the lab capture of tests/pcap/fixtures, explained with no lab of this module
running. In this process, every socket connect and send is recorded: reading the store
opens none. Also here: where each side of a conflict comes from (an Annke camera the
knowledge's relations tie to Hikvision and Dahua), and the wording for a host that is a
provscan scanner (its own User-Agent), a locally administered MAC and a capture's firmware.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dpkt
import pytest

from provscan import pipeline
from provscan.commands import explain as explain_command
from provscan.lab.server import Lab, run_lab_in_thread
from provscan.lab.spec import DeviceSpec, Expectation, Identity, ServiceSpec
from provscan.model import Device

#: On their own 127.N.66.x (N = 160-199 per test process), apart from other labs.
BASE = f"127.{160 + os.getpid() % 40}.66"
#: In the capture written here (a Hikvision camera), stored; a lab device answers there too.
STORED = f"{BASE}.10"
#: Not in the capture; a lab device answers there.
NOT_STORED = f"{BASE}.11"
#: The capture's client: it sent provscan's own User-Agent from a locally administered MAC.
SCANNER = f"{BASE}.200"
SCANNER_MAC = "02:00:00:00:00:01"
CAMERA_MAC = "bc:ba:c2:12:34:56"  # a Hikvision OUI
FIXTURE = Path(__file__).parent / "pcap" / "fixtures" / "lab_scan.pcap.gz"
#: Addresses of that capture (data: no lab of this module answers there, nothing is sent).
FIXTURE_CAMERA = "127.77.1.10"  # a Hikvision DS-2CD2386G2-IU
FIXTURE_ANNKE = "127.77.2.14"  # an Annke I81EM: Hikvision-made; Annke -> Dahua in relations
FIXTURE_SCANNER = "127.0.0.1"  # the host that scanned the lab while it was captured
SERVER = "DNVRS-Webs"
REALM = "IP Camera(C2183)"  # Hikvision's realm: maker-specific


def _device(index: int, address: str) -> DeviceSpec:
    return DeviceSpec(
        id=f"default-store-{index}",
        address=address,
        description="a Hikvision web server",
        identity=Identity(),
        expect=Expectation(),
        sources=["test fixture"],
        services=[
            ServiceSpec(
                port=80,
                protocol="http",
                options={
                    "default": {
                        "status": 401,
                        "headers": [
                            ["Server", SERVER],
                            ["WWW-Authenticate", f'Digest realm="{REALM}", nonce="abc"'],
                        ],
                        "body": "",
                    }
                },
            )
        ],
    )


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with run_lab_in_thread([_device(1, STORED), _device(2, NOT_STORED)]) as running:
        yield running


def _frame(src: str, dst: str, sport: int, dport: int, seq: int, flags: int, data: bytes) -> bytes:
    segment = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, ack=1, flags=flags, data=data)
    segment.off = 5
    packet = dpkt.ip.IP(
        src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_TCP, data=segment
    )
    packet.len = 40 + len(data)
    src_mac, dst_mac = (SCANNER_MAC, CAMERA_MAC) if src == SCANNER else (CAMERA_MAC, SCANNER_MAC)
    return bytes(
        dpkt.ethernet.Ethernet(
            src=bytes.fromhex(src_mac.replace(":", "")),
            dst=bytes.fromhex(dst_mac.replace(":", "")),
            type=dpkt.ethernet.ETH_TYPE_IP,
            data=packet,
        )
    )


def _capture() -> bytes:
    """One HTTP exchange: the scanner (User-Agent ``provscan``, the value Hikvision's
    User-Agent rule lists among its negatives) asks, the camera answers with Hikvision's
    realm; a pcap of Ethernet frames."""
    syn, ack, push, fin = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_PUSH, dpkt.tcp.TH_FIN
    request = f"GET / HTTP/1.1\r\nHost: {STORED}\r\nUser-Agent: provscan\r\n\r\n".encode()
    reply = (
        f"HTTP/1.1 401 Unauthorized\r\nServer: {SERVER}\r\n"
        f'WWW-Authenticate: Digest qop="auth", realm="{REALM}", nonce="abc"\r\n'
        "Content-Length: 0\r\n\r\n"
    ).encode()
    frames = [
        _frame(SCANNER, STORED, 40000, 80, 100, syn, b""),
        _frame(STORED, SCANNER, 80, 40000, 900, syn | ack, b""),
        _frame(SCANNER, STORED, 40000, 80, 101, ack | push, request),
        _frame(STORED, SCANNER, 80, 40000, 901, ack | push, reply),
        _frame(STORED, SCANNER, 80, 40000, 901 + len(reply), ack | fin, b""),
        _frame(SCANNER, STORED, 40000, 80, 101 + len(request), ack | fin, b""),
    ]
    out = bytes.fromhex("d4c3b2a1") + (2).to_bytes(2, "little") + (4).to_bytes(2, "little")
    out += bytes(8) + (65535).to_bytes(4, "little") + (1).to_bytes(4, "little")
    for index, frame in enumerate(frames):
        moment = 1767603600 + index
        header = b"".join(n.to_bytes(4, "little") for n in (moment, 0, len(frame), len(frame)))
        out += header + frame
    return out


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``provscan ARGS`` in a new process whose default database is ``home``'s."""
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "COLUMNS": "80", "XDG_DATA_HOME": str(home)},
    )


def default_db(home: Path) -> Path:
    return home / "provscan" / "provscan.db"


def stored_by_pcap(home: Path, capture: Path, *args: str) -> None:
    """``provscan pcap CAPTURE`` into the default database of ``home`` (no --db)."""
    result = run(home, "pcap", str(capture), *args)
    assert result.returncode == 0, result.stderr
    assert f"in {default_db(home)}" in result.stderr  # "stored scan … in …/provscan.db"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default database holding the capture written here (a passive scan)."""
    directory = tmp_path_factory.mktemp("default-store")
    capture = directory / "camera.pcap"
    capture.write_bytes(_capture())
    stored_by_pcap(directory / "data", capture)
    return directory / "data"


@pytest.fixture(scope="module")
def lab_capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The lab capture stored in a default database of its own, and written as -f json."""
    directory = tmp_path_factory.mktemp("lab-capture")
    report = directory / "ts.json"
    stored_by_pcap(directory / "data", FIXTURE, "-f", "json", "-o", str(report))
    return directory / "data", report


def explained(home: Path, *args: str) -> tuple[dict[str, Any], str]:
    """``explain ARGS -f json`` (exit 0): the document and stderr."""
    result = run(home, "explain", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document, result.stderr


def text(home: Path, *args: str) -> str:
    """The human view of ``explain ARGS`` (exit 0), its words on one line."""
    result = run(home, "explain", *args)
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    return " ".join(result.stdout.split())


def sent_to(lab: Lab, address: str) -> list[str]:
    return [request.first_line for request in lab.record if request.address == address]


# -- the store first, the network only when asked or not stored -----------------------------


def test_a_captured_address_is_explained_from_the_default_database(lab: Lab, home: Path) -> None:
    before = len(sent_to(lab, STORED))
    data, stderr = explained(home, STORED)
    assert len(sent_to(lab, STORED)) == before  # a device answers there: nothing reached it
    assert "probing" not in stderr
    origin = data["origin"]
    assert (origin["read_from"], origin["chosen"]) == ("store", "default store")
    assert (origin["location"], origin["kind"]) == (str(default_db(home)), "passive")
    assert data["verdict"] == "restricted" and data["manufacturer"] == "Hikvision"
    said = " ".join(origin["said"])
    assert "a passive capture" in said and f"in {default_db(home)}" in said
    assert "explain read it there and sent nothing to the device (--probe probes it now)" in said


def test_the_lab_capture_of_the_review_is_read_from_the_store(
    lab_capture: tuple[Path, Path],
) -> None:
    # The review's own steps: `provscan pcap lab_scan.pcap.gz`, then `explain 127.77.1.10`
    # with no --db; no lab of this module runs, the answer is the stored sighting.
    data_home, _ = lab_capture
    data, stderr = explained(data_home, FIXTURE_CAMERA)
    assert "probing" not in stderr
    assert data["origin"]["read_from"] == "store" and data["origin"]["kind"] == "passive"
    assert data["model"] == "DS-2CD2386G2-IU" and data["verdict"] == "restricted"
    words = text(data_home, FIXTURE_CAMERA)
    assert "the default database holds the address" in words
    assert "probed now by explain" not in words


def test_probe_asks_for_a_fresh_probe_and_says_so_on_stderr(lab: Lab, home: Path) -> None:
    before = len(sent_to(lab, STORED))
    data, stderr = explained(home, STORED, "--probe", "--ports", "80")
    assert stderr.splitlines()[0] == (
        f"provscan: probing {STORED} now, packets are sent to it (--probe); nothing is stored"
    )
    assert len(sent_to(lab, STORED)) > before, "the lab device was probed"
    assert (data["origin"]["read_from"], data["origin"]["chosen"]) == ("network", "asked")
    assert "probed now by explain (not stored), as --probe asked" in data["origin"]["said"]


def test_an_address_the_default_database_lacks_is_probed_after_saying_so(
    lab: Lab, home: Path
) -> None:
    before = len(sent_to(lab, NOT_STORED))
    data, stderr = explained(home, NOT_STORED, "--ports", "80")
    assert stderr.splitlines()[0] == (
        f"provscan: probing {NOT_STORED} now, packets are sent to it (the default database "
        f"{default_db(home)} holds no device there); nothing is stored"
    )
    assert len(sent_to(lab, NOT_STORED)) > before
    assert (data["origin"]["read_from"], data["origin"]["chosen"]) == ("network", "not stored")
    said = "probed now by explain (not stored): the default database holds no device at this "
    assert said + "address" in data["origin"]["said"]


def test_the_line_is_said_before_anything_is_sent(
    lab: Lab, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    real = pipeline.run_scan
    said_first: list[str] = []
    before = len(sent_to(lab, NOT_STORED))

    def scan(*args: Any, **kwargs: Any) -> Any:
        said_first.append(capsys.readouterr().err)  # what stderr held when the probe began
        assert len(sent_to(lab, NOT_STORED)) == before
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "run_scan", scan)
    explain_command.explain(NOT_STORED, ports="80", fmt=explain_command.ExplainFormat.json)
    (said,) = said_first
    assert said.startswith(f"provscan: probing {NOT_STORED} now, packets are sent to it")
    assert len(sent_to(lab, NOT_STORED)) > before
    assert json.loads(capsys.readouterr().out)["origin"]["read_from"] == "network"


@pytest.fixture
def sockets(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """Every socket connect and send of this process, recorded; a probe fails."""
    opened: list[tuple[str, object]] = []
    for name in ("connect", "connect_ex", "sendto", "sendmsg"):
        original = getattr(socket.socket, name)

        def recording(
            self: socket.socket, *args: Any, _name: str = name, _o: Any = original
        ) -> Any:
            opened.append((_name, args[-1] if args else None))
            return _o(self, *args)

        monkeypatch.setattr(socket.socket, name, recording)

    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("explain probed the network")

    monkeypatch.setattr(pipeline, "run_scan", never)
    monkeypatch.setattr(pipeline, "run_interruptibly", never)
    return opened


def test_reading_the_default_database_opens_no_socket(
    home: Path,
    sockets: list[tuple[str, object]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    explain_command.explain(STORED, fmt=explain_command.ExplainFormat.json)
    out, err = capsys.readouterr()
    assert json.loads(out)["origin"]["chosen"] == "default store"
    assert sockets == [] and "probing" not in err


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--ports", "80"], ["--ports applies to a device probed now", "add --probe"]),
        (["--policy", "us"], ["--policy applies to a device probed now", "add --probe"]),
        (["--as", "ca:individual"], ["--as cannot re-judge it", "--probe probes it again"]),
        (["--probe", "--db", "{tmp}/x.db"], ["--probe and --db exclude each other"]),
        (["--probe", "--from", "{tmp}/x.json"], ["--probe and --from exclude each other"]),
        (["--probe", "--site", "hq"], ["--probe and --site exclude each other"]),
    ],
)
def test_probe_options_for_a_stored_device_are_refused_in_one_line(
    lab: Lab, home: Path, tmp_path: Path, extra: list[str], words: list[str]
) -> None:
    before = len(sent_to(lab, STORED))
    result = run(home, "explain", STORED, *(arg.format(tmp=tmp_path) for arg in extra))
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("provscan: error: ") and result.stdout == ""
    for word in words:
        assert word in line
    assert len(sent_to(lab, STORED)) == before and "probing" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # no database made of the --db named


def test_a_default_database_that_is_no_store_is_refused_not_probed(
    lab: Lab, tmp_path: Path
) -> None:
    # a CSV saved over the default database by mistake: said, and nothing is sent instead
    path = default_db(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    before = len(sent_to(lab, STORED))
    result = run(tmp_path, "explain", STORED)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"provscan: error: the default database cannot be read: {path} is not a provscan "
        "database (not a SQLite file) (--probe probes the device without it)"
    )
    assert len(sent_to(lab, STORED)) == before
    assert path.read_text(encoding="utf-8") == "a,b\n1,2\n"


# -- a conflict: where each side comes from ---------------------------------------------------


def test_a_weaker_relation_of_the_label_is_no_conflict(lab_capture: tuple[Path, Path]) -> None:
    """The Annke camera answers Hikvision's SDK (maker-specific); Annke relabels some lines of
    Hikvision and some of Dahua (both partial). The Annke -> Dahua relation is the label read
    another way, not evidence against Hikvision: it no longer lowers the confidence (issue 11:
    it took 1.00 to 0.89). Where a rival's relations come from: tests/
    test_attribution_shared_unrestricted.py."""
    data_home, report = lab_capture
    data, stderr = explained(data_home, FIXTURE_ANNKE, "--from", str(report))
    assert "probing" not in stderr
    assert data["brand"] == "Annke" and data["manufacturer"] == "Hikvision"
    assert data["conflict_sources"] == []
    assert round(data["confidence"], 2) == 0.99
    (note,) = [n for n in data["notes"] if n.startswith("Dahua (0.22)")]
    assert "through brand Annke by a relation no stronger than its relation to Hikvision" in note
    words = text(data_home, FIXTURE_ANNKE, "--from", str(report))
    assert "a rival maker of another family lowers it" not in words


# -- a host running provscan, a locally administered MAC, a capture's firmware -------------


def test_a_host_sending_provscans_user_agent_is_said_to_run_provscan(
    lab_capture: tuple[Path, Path],
) -> None:
    data_home, _ = lab_capture
    data, stderr = explained(data_home, FIXTURE_SCANNER)
    assert "probing" not in stderr
    assert "rtsp.user_agent:554" in data["provscan_agent"]
    assert not [a for a in data["lookalikes"] if a["observed"].startswith("provscan")]
    words = text(data_home, FIXTURE_SCANNER)
    assert "looks like Hikvision" not in words and "Known look-alikes" not in words
    assert "it sent provscan's own User-Agent (http.user_agent on ports 80," in words
    assert "it is a host running provscan (the scanner itself, or another one)" in words
    assert "nothing to identify on a label: it is a host running provscan" in words
    # a capture tries no credentials: the firmware note does not say that none matched
    assert "no credentials matched" not in words
    assert "credentials are not tried on captures" in words


def test_the_capture_client_of_a_locally_administered_mac(lab: Lab, home: Path) -> None:
    data, _ = explained(home, SCANNER)
    assert data["provscan_agent"] == ["http.user_agent:80"]
    assert data["lookalikes"] == []  # 'provscan' is a negative of Hikvision's rule, no look-alike
    words = text(home, SCANNER)
    assert f"MAC {SCANNER_MAC} is locally administered or randomised" in words
    assert "network card's maker" not in words
    assert "no credentials matched" not in words and "credentials are not tried" in words
    assert sent_to(lab, SCANNER) == []


def test_next_steps_say_a_locally_administered_mac_names_no_maker() -> None:
    local = explain_command.next_steps(Device(ip="127.0.0.31", mac=SCANNER_MAC), False)
    step = next(s for s in local if "MAC address table" in s)
    assert "the MAC is locally administered (randomised or set by software), so its " in step
    assert "first half names no maker" in step and "network card's maker" not in step
    wired = explain_command.next_steps(Device(ip="127.0.0.31", mac=CAMERA_MAC), False)
    assert any("the MAC's first half its network card's maker" in s for s in wired)
