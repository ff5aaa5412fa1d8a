from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from provscan.errors import TargetError
from provscan.targets import (
    TargetBlock,
    TargetSet,
    build_targets,
    check_scope,
    parse_ports,
    parse_spec,
)


def addresses(*specs: str, excludes: tuple[str, ...] = ()) -> list[str]:
    return [a for a, _ in build_targets(specs, excludes)]


def test_single_cidr_range_and_last_octet_range() -> None:
    assert addresses("127.0.0.1") == ["127.0.0.1"]
    # every address of a CIDR, first and last included (as nmap): /28 pieces of a /24 lose
    # nothing
    assert addresses("127.0.0.0/30") == ["127.0.0.0", "127.0.0.1", "127.0.0.2", "127.0.0.3"]
    pieces = [a for start in range(0, 256, 16) for a in addresses(f"127.0.0.{start}/28")]
    assert pieces == addresses("127.0.0.0/24") == [f"127.0.0.{n}" for n in range(256)]
    assert addresses("127.0.0.5-127.0.0.7") == ["127.0.0.5", "127.0.0.6", "127.0.0.7"]
    assert addresses("127.0.0.5-6") == ["127.0.0.5", "127.0.0.6"]


def test_ipv6_literal_and_dedup_and_exclude() -> None:
    assert addresses("::1", "[::1]") == ["::1"]
    assert addresses("127.0.0.0/29", excludes=("127.0.0.2-4",)) == [
        "127.0.0.0",
        "127.0.0.1",
        "127.0.0.5",
        "127.0.0.6",
        "127.0.0.7",
    ]


def test_hostname_resolves() -> None:
    found = list(build_targets(["localhost"]))
    assert found and all(ipaddress.ip_address(a).is_loopback for a, _ in found)
    assert all(h == "localhost" for _, h in found)


def test_file_list(tmp_path: Path) -> None:
    listing = tmp_path / "targets.txt"
    listing.write_text("# lab\n127.0.0.1\n127.0.0.2, 127.0.0.3  # two more\n\n")
    assert addresses(f"@{listing}") == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("127.0.0.9-127.0.0.1", "end is before start"),
        ("127.0.0.1-::1", "mixes"),
        ("not a target!", "not an address"),
        ("127.0.0.0/33", "bad CIDR"),
        ("@/nonexistent/targets.txt", "not found"),
        ("8.8.8.8", "public address"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_bad_targets_are_clear_errors(spec: str, message: str) -> None:
    with pytest.raises(TargetError, match=message):
        build_targets([spec])


def test_public_needs_explicit_permission_and_ranges_are_checked_per_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Only the rules are checked here (nothing is sent): the suite's loopback interlock is off.
    monkeypatch.delenv("PROVSCAN_ALLOWED_TARGETS")
    assert check_scope(ipaddress.ip_address("8.8.8.8"), allow_public=True) is None
    # A block that crosses from loopback into public space: only loopback is yielded.
    block = TargetBlock(
        "x", ipaddress.ip_address("127.255.255.254"), ipaddress.ip_address("128.0.0.1")
    )
    assert [a for a, _ in TargetSet((block,), ())] == ["127.255.255.254", "127.255.255.255"]
    with pytest.raises(TargetError, match="max-hosts"):
        build_targets(["127.0.0.0/8"], max_hosts=1000)


def test_binary_or_huge_target_file(tmp_path: Path) -> None:
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TargetError, match="not UTF-8"):
        build_targets([f"@{binary}"])


def test_ports() -> None:
    assert parse_ports("80,443,8000-8002") == (80, 443, 8000, 8001, 8002)
    for bad in ("0", "70000", "a", "10-5", ""):
        with pytest.raises(TargetError):
            parse_ports(bad)


def test_parse_spec_keeps_hostname_none_for_literals() -> None:
    assert parse_spec("127.0.0.1")[0].hostname is None
