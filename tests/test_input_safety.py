"""Bad input never costs the user anything: no overwritten input, no DNS for typos, bounded
reads, private files, one exit code per kind of failure (issue 9, points 1, 5 and 9)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import pytest
from helpers import run_provscan

from provscan.errors import TargetError
from provscan.targets import build_targets, looks_like_address

PCAP_FIXTURE = Path(__file__).parent / "pcap" / "fixtures" / "crafted_signals.pcapng"
LAB_CAPTURE = Path(__file__).parent / "pcap" / "fixtures" / "lab_scan.pcap.gz"


def run(
    *args: str, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return run_provscan(*args, unset=(), cwd=cwd, timeout=timeout)


def one_line_error(result: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("provscan: error:")]
    assert len(errors) == 1, result.stderr
    assert message in errors[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- point 5: text shaped like an address is never a host name --------------------------


@pytest.mark.parametrize(
    "spec", ["127.77.1.300", "10.0.0", "1.2.3.4.5", "256.1.1.1", "0x7f.1", "fe80::zz", "::1::2"]
)
def test_a_mistyped_address_is_a_bad_argument_without_dns(
    spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_dns(*args: object, **kwargs: object) -> object:
        raise AssertionError(f"DNS lookup for {args[0]!r}")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    assert looks_like_address(spec)
    with pytest.raises(TargetError, match=r"bad address|bad CIDR|not an address"):
        build_targets([spec])


@pytest.mark.parametrize("name", ["cam1.example.internal", "nvr-2", "host_a.lan."])
def test_names_are_still_names(name: str) -> None:
    assert not looks_like_address(name)


def test_cli_refuses_a_mistyped_address_with_exit_2() -> None:
    one_line_error(run("scan", "127.77.1.300", "--no-db"), 2, "bad address '127.77.1.300'")


# -- point 9: bounded target and credential files, CGNAT, missing files ----------------


@pytest.mark.parametrize("device", ["/dev/urandom", "/dev/zero"])
def test_a_device_as_target_file_is_read_bounded(device: str) -> None:
    # Both report size 0 to stat(); the read itself must be capped.
    result = run("scan", f"@{device}", "--no-db", timeout=30)
    one_line_error(result, 2, device)


def test_carrier_grade_nat_is_treated_as_public(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the rules are checked here (nothing is sent): the suite's loopback interlock is off.
    monkeypatch.delenv("PROVSCAN_ALLOWED_TARGETS")
    with pytest.raises(TargetError, match="public address"):
        build_targets(["100.64.0.1"])
    with pytest.raises(TargetError, match="public address"):
        build_targets(["100.127.255.254"])
    assert [a for a, _ in build_targets(["100.64.0.1"], allow_public=True)] == ["100.64.0.1"]
    # Outside 100.64.0.0/10 nothing changed.
    with pytest.raises(TargetError, match="public address"):
        build_targets(["100.128.0.1"])


def test_credentials_file_that_is_not_text(tmp_path: Path) -> None:
    binary = tmp_path / "creds.yaml"
    binary.write_bytes(os.urandom(512) + b"\xff\xfe")
    binary.chmod(0o600)
    result = run("scan", "127.0.0.1", "--credentials", str(binary), "--no-db", "--ports", "9")
    one_line_error(result, 2, "is not UTF-8 text")
    nul = tmp_path / "nul.yaml"
    nul.write_bytes(b"default: \x00\x00")
    nul.chmod(0o600)
    result = run("scan", "127.0.0.1", "--credentials", str(nul), "--no-db", "--ports", "9")
    one_line_error(result, 2, "not a text file")


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "@{missing}", "--no-db"],
        ["scan", "127.0.0.1", "--credentials", "{missing}", "--no-db"],
        ["pcap", "{missing}", "--no-db"],
        ["screen", "{missing}"],
    ],
)
def test_a_missing_input_file_is_exit_2_everywhere(args: list[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.file")
    result = run(*[arg.format(missing=missing) for arg in args])
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


def test_the_scope_interlock_refuses_everything_outside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128")
    for outside in ("10.1.2.3", "192.168.1.0/30", "172.16.0.1-3", "198.18.0.1"):
        with pytest.raises(TargetError, match="scope interlock"):
            build_targets([outside])
    assert [a for a, _ in build_targets(["127.0.0.1", "::1"])] == ["127.0.0.1", "::1"]
    # A malformed interlock fails closed: nothing but loopback (always in scope) is allowed.
    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", "not-a-network")
    with pytest.raises(TargetError, match="scope interlock"):
        build_targets(["10.0.0.1"])


def test_the_cli_honours_the_interlock() -> None:
    one_line_error(run("scan", "10.1.2.3", "--no-db"), 2, "scope interlock")


# -- gzip that is damaged is named for what it is ----------------------------------------


def test_garbage_inside_gzip_is_a_corrupt_gzip(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pcap.gz"
    broken.write_bytes(b"\x1f\x8b" + b"this is no deflate stream at all" * 4)
    one_line_error(run("pcap", str(broken), "--no-db"), 2, "corrupt gzip file")


def test_gzip_of_something_else_says_so(tmp_path: Path) -> None:
    wrapped = tmp_path / "notes.gz"
    wrapped.write_bytes(gzip.compress(b"hello, this is text\n" * 10))
    one_line_error(run("pcap", str(wrapped), "--no-db"), 2, "gzip-compressed, but not a pcap")


def test_gzip_damaged_after_good_packets_is_a_warning_and_incomplete(tmp_path: Path) -> None:
    good = LAB_CAPTURE.read_bytes()
    damaged = tmp_path / "damaged.pcap.gz"
    # Keep the first three quarters intact (many read chunks), then scramble the stream.
    damaged.write_bytes(good[: len(good) * 3 // 4] + bytes(range(256)) * 64)
    result = run("pcap", str(damaged), "--no-db", "-f", "json")
    # exit 4: the input was damaged; what it held before the damage is printed all the same
    assert result.returncode == 4, result.stderr
    assert "damaged.pcap.gz is corrupt" in result.stderr and "warning" in result.stderr
    document = json.loads(result.stdout)
    assert document["devices"] and document["scan"]["complete"] is False


# -- --db never creates directories; files are private -----------------------------------


def test_db_in_a_missing_directory_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "scans.db"
    result = run("pcap", str(PCAP_FIXTURE), "--db", str(target), "-f", "json")
    # a bad argument, refused before the capture is read (exit 2, nothing on stdout)
    one_line_error(result, 2, "does not exist")
    assert result.stdout == ""
    assert not (tmp_path / "no").exists()


def test_database_and_report_are_created_private(tmp_path: Path) -> None:
    database = tmp_path / "scans.db"
    report = tmp_path / "report.json"
    result = run("pcap", str(PCAP_FIXTURE), "--db", str(database), "-f", "json", "-o", str(report))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(report.stat().st_mode) == 0o600


def test_an_existing_report_keeps_its_mode(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text("old")
    report.chmod(0o640)
    refused = run("pcap", str(PCAP_FIXTURE), "--no-db", "-f", "json", "-o", str(report))
    one_line_error(refused, 2, "already exists; give --force")
    assert report.read_text() == "old"  # the user's file is never replaced unasked
    result = run("pcap", str(PCAP_FIXTURE), "--no-db", "-f", "json", "-o", str(report), "--force")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(report.stat().st_mode) == 0o640
    assert report.read_text().startswith("{")


@pytest.mark.parametrize(
    "args",
    [
        ["screen", "{list}"],
        ["pcap", str(PCAP_FIXTURE), "--no-db", "-f", "json"],
        ["report", "--db", "{db}"],
        ["inventory", "--db", "{db}", "-f", "csv"],
    ],
)
def test_an_output_that_exists_is_a_directory_or_has_no_folder_is_refused_first(
    args: list[str], tmp_path: Path
) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text("Brand,Model\nHikvision,DS-2CD2143G0-I\n")
    database = tmp_path / "store.db"
    assert run("pcap", str(PCAP_FIXTURE), "--db", str(database), "-q").returncode == 0
    filled = [arg.format(list=listing, db=database) for arg in args]
    mine = tmp_path / "mine.txt"
    mine.write_text("my precious notes")
    one_line_error(run(*filled, "-o", str(mine)), 2, "already exists; give --force")
    assert mine.read_text() == "my precious notes"
    one_line_error(run(*filled, "-o", str(tmp_path)), 2, "is a directory")
    one_line_error(run(*filled, "-o", str(tmp_path / "no" / "x.out")), 2, "does not exist")
    assert not (tmp_path / "no").exists()


# -- point 1: no command writes over one of its inputs -----------------------------------


@pytest.mark.parametrize("how", ["same", "relative", "symlink", "hardlink"])
def test_pcap_never_overwrites_its_capture(how: str, tmp_path: Path) -> None:
    capture = tmp_path / "capture.pcapng"
    shutil.copyfile(PCAP_FIXTURE, capture)
    before = digest(capture)
    output = {
        "same": capture,
        "relative": Path("capture.pcapng"),
        "symlink": tmp_path / "link.json",
        "hardlink": tmp_path / "hard.json",
    }[how]
    if how == "symlink":
        output.symlink_to(capture)
    if how == "hardlink":
        os.link(capture, output)
    result = run("pcap", str(capture), "--no-db", "-f", "json", "-o", str(output), cwd=tmp_path)
    one_line_error(result, 2, "is also an input")
    assert digest(capture) == before


def test_screen_never_overwrites_its_list(tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text("Brand,Model\nHikvision,DS-2CD2143G0-I\n")
    before = digest(listing)
    link = tmp_path / "out.csv"
    link.symlink_to(listing)
    one_line_error(run("screen", str(listing), "-o", str(link)), 2, "is also an input")
    assert digest(listing) == before


def test_scan_never_overwrites_a_target_file_or_credentials(tmp_path: Path) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text("127.0.0.1\n")
    creds = tmp_path / "creds.yaml"
    creds.write_text('default: {username: a, password: "b"}\n')
    creds.chmod(0o600)
    for victim, args in (
        (targets, ["scan", f"@{targets}", "--no-db", "-o", str(targets)]),
        (targets, ["scan", "127.0.0.1", "--exclude", f"@{targets}", "--no-db", "-o", str(targets)]),
        (creds, ["scan", "127.0.0.1", "--credentials", str(creds), "--no-db", "-o", str(creds)]),
    ):
        before = digest(victim)
        one_line_error(run(*args, "--ports", "9"), 2, "is also an input")
        assert digest(victim) == before


def test_the_report_never_overwrites_the_database(tmp_path: Path) -> None:
    database = tmp_path / "scans.db"
    assert run("pcap", str(PCAP_FIXTURE), "--db", str(database), "-f", "json").returncode == 0
    before = digest(database)
    result = run("pcap", str(PCAP_FIXTURE), "--db", str(database), "-o", str(database))
    one_line_error(result, 2, "is also an input")
    assert digest(database) == before
