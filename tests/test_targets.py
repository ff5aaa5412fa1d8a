from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from provscan.errors import TargetError
from provscan.targets import (
    TargetBlock,
    TargetSet,
    build_targets,
    check_scope,
    expand_specs,
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


# Set arithmetic: what discovery asks of a target set of any size (a /8 is 16M addresses)
# without listing it. Every answer must be the one iterating the set would give.


def _set(*specs: str, excludes: tuple[str, ...] = (), allow_public: bool = False) -> TargetSet:
    # TargetSet straight from the blocks: build_targets refuses some of these ranges (their
    # ends), and the rules under test are the set's own.
    return TargetSet(tuple(expand_specs(specs)), tuple(expand_specs(excludes)), allow_public)


def _in_order(found: list[str]) -> list[str]:
    return sorted(
        found, key=lambda a: (ipaddress.ip_address(a).version, int(ipaddress.ip_address(a)))
    )


def test_membership_follows_blocks_excludes_and_scope() -> None:
    targets = build_targets(["127.0.0.0/29", "127.1.0.5-9", "::1"], ["127.0.0.2-4", "127.1.0.7"])
    listed = {a for a, _ in targets}
    for address in [*(f"127.0.0.{n}" for n in range(12)), *(f"127.1.0.{n}" for n in range(12))]:
        assert (address in targets) is (address in listed), address
    assert "127.0.0.1" in targets and "127.0.0.3" not in targets and "127.1.0.7" not in targets
    # IPv6 in any spelling, address objects, and never a host name or garbage
    assert "::1" in targets and "0:0::1" in targets and "[::1]" in targets
    assert ipaddress.ip_address("127.1.0.9") in targets
    assert "::2" not in targets and "localhost" not in targets and "" not in targets
    assert None not in targets and 2130706433 not in targets


def test_membership_of_a_host_name_is_its_addresses() -> None:
    targets = build_targets(["localhost"])
    resolved = {a for a, _ in targets}
    assert resolved and all(a in targets for a in resolved)
    assert "localhost" not in targets  # addresses only: a name is never looked up here
    assert targets.count() == len(resolved)


def test_membership_applies_the_scope_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the rules are checked here (nothing is sent).
    monkeypatch.delenv("PROVSCAN_ALLOWED_TARGETS")
    crossing = _set("127.255.255.254-128.0.0.1")
    assert "127.255.255.255" in crossing and "128.0.0.0" not in crossing
    assert "128.0.0.0" in _set("127.255.255.254-128.0.0.1", allow_public=True)
    assert "224.0.0.1" not in _set("223.255.255.255-224.0.0.2", allow_public=True)
    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", "10.0.0.0/24")
    assert "10.0.0.9" in _set("10.0.0.0/23") and "10.0.1.9" not in _set("10.0.0.0/23")


#: Sets whose scope changes inside a block: special-purpose edges, shared address space,
#: multicast, IPv4-mapped IPv6, excludes cutting blocks, overlapping blocks.
ARITHMETIC_CASES = [
    (("192.0.0.0/22",), (), False),
    (("192.0.0.0/22",), (), True),
    (("100.63.255.0-100.64.1.255",), (), False),
    (("100.63.255.0-100.64.1.255",), (), True),
    (("10.0.0.0/22", "10.0.2.0/23", "10.0.3.7"), ("10.0.1.0/25", "10.0.2.3"), False),
    (("::ffff:10.0.0.0/118", "::ffff:8.8.8.0/120", "::1", "fe80::/118"), ("fe80::5",), False),
    (("223.255.255.0-224.0.0.20",), (), True),
    (("198.17.255.200-198.18.0.100", "127.0.0.0/22"), ("127.0.1.0/24",), False),
    (("2001:db8::/120", "2001:1::/120", "2001::/120"), (), False),
    (("0.0.0.0/22",), (), False),
]
NETWORKS = ("10.0.0.0/24", "192.0.0.0/24", "127.0.0.0/23", "::ffff:0:0/96", "0.0.0.0/0", "::/0")


@pytest.mark.parametrize(
    "interlock", [None, "127.0.0.0/8,::1/128", "10.0.0.0/21,192.0.0.0/23,127.0.0.0/22,::/0"]
)
def test_arithmetic_agrees_with_listing_the_addresses(
    monkeypatch: pytest.MonkeyPatch, interlock: str | None
) -> None:
    # Only the rules are checked here (nothing is sent).
    if interlock is None:
        monkeypatch.delenv("PROVSCAN_ALLOWED_TARGETS")
    else:
        monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", interlock)
    for specs, excludes, allow_public in ARITHMETIC_CASES:
        targets = _set(*specs, excludes=excludes, allow_public=allow_public)
        listed = [a for a, _ in targets]
        context = (interlock, specs)
        assert targets.count() == len(listed), context
        assert list(targets.addresses()) == _in_order(listed), context
        assert all(a in targets for a in listed), context
        kept = set(listed)
        outside = [str(a) for b in targets.blocks for a in b if str(a) not in kept]
        assert not any(a in targets for a in outside), context
        for text in NETWORKS:
            network = ipaddress.ip_network(text)
            inside = [a for a in listed if ipaddress.ip_address(a) in network]
            assert targets.count([network]) == len(inside), (context, text)
            assert targets.overlaps([network]) is bool(inside), (context, text)
            assert list(targets.addresses([network])) == _in_order(inside), (context, text)
            assert targets.count(outside=[network]) == len(listed) - len(inside), (context, text)


def test_arithmetic_never_lists_a_huge_set(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_: TargetBlock) -> Iterator[ipaddress.IPv4Address]:
        raise AssertionError("a block's addresses were listed")

    monkeypatch.setattr(TargetBlock, "__iter__", refuse)
    # A /8 (16M addresses) less a /16, with the segment /24 the scanner sits on
    targets = build_targets(["127.0.0.0/8"], ["127.5.0.0/16"], max_hosts=1 << 24)
    segment = ipaddress.ip_network("127.9.9.0/24")
    assert targets.count() == (1 << 24) - (1 << 16)
    assert targets.overlaps([segment]) and targets.count([segment]) == 256
    assert not targets.overlaps([ipaddress.ip_network("127.5.1.0/24")])
    assert targets.count(outside=[segment]) == (1 << 24) - (1 << 16) - 256
    assert "127.200.1.2" in targets and "127.5.1.2" not in targets
    assert next(targets.addresses([segment])) == "127.9.9.0"
