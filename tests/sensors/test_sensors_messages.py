"""Signed envelopes, key rotation, the sensor's allow list and captures directory, and
schedule times (no broker needed)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provscan.errors import ProvscanError
from provscan.sensors.beat import next_run, parse_every
from provscan.sensors.messages import (
    KeyFile,
    KeyRing,
    MessageRejected,
    SiteKeyError,
    key_file_text,
    key_id,
    load_key,
    load_keys,
    new_key,
    open_envelope,
    seal,
)
from provscan.sensors.scope import (
    MAX_CAPTURES,
    OutsideAllowList,
    allowed_targets,
    capture_files,
    capture_path,
    parse_allow,
    segment_inside,
)

KEY = bytes.fromhex(new_key())


def _ours(site: str) -> bytes | None:
    return KEY if site == "plant-3" else None


def test_sensors_a_sealed_request_opens_with_its_site_key() -> None:
    envelope = seal("scan", "plant-3", {"job_id": "j1", "targets": ["10.3.0.0/24"]}, KEY)
    assert open_envelope(envelope, _ours, kinds=("scan",)) == (
        "scan",
        "plant-3",
        {"job_id": "j1", "targets": ["10.3.0.0/24"]},
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: {**e, "body": e["body"].replace("10.3.0.0/24", "10.0.0.0/8")}, "bad signature"),
        (lambda e: {**e, "mac": "0" * 64}, "bad signature"),
        (lambda e: {**e, "kind": "heartbeat"}, "not accepted here"),
        (lambda e: {**e, "site": "plant-4"}, "not ours"),
        (lambda e: {k: v for k, v in e.items() if k != "mac"}, "unsigned"),
        (lambda e: {**e, "v": 1}, "version"),
        (lambda e: {**e, "kid": key_id(bytes.fromhex(new_key()))}, "no key"),
        (lambda e: {k: v for k, v in e.items() if k != "kid"}, "unsigned"),
        (lambda e: ["not", "a", "dict"], "not an envelope"),
    ],
)
def test_sensors_a_changed_or_unsigned_envelope_is_rejected(change: object, reason: str) -> None:
    envelope = seal("scan", "plant-3", {"job_id": "j1", "targets": ["10.3.0.0/24"]}, KEY)
    with pytest.raises(MessageRejected, match=reason):
        open_envelope(change(envelope), _ours, kinds=("scan",))  # type: ignore[operator]


def test_sensors_another_sites_key_does_not_open_it() -> None:
    other = bytes.fromhex(new_key())
    envelope = seal("scan", "plant-3", {"job_id": "j1"}, other)
    with pytest.raises(MessageRejected, match="bad signature"):
        open_envelope(envelope, _ours, kinds=("scan",))


def test_sensors_a_site_key_changes_without_losing_a_message() -> None:
    old, new = bytes.fromhex(new_key()), bytes.fromhex(new_key())
    # Given messages signed before the change, with the old key
    before = seal("outcome", "plant-3", {"job_id": "j1"}, KeyRing((old,)))
    # When both sides hold the new key first (it signs) and the old one second
    during = KeyRing((new, old))
    after_change = seal("outcome", "plant-3", {"job_id": "j2"}, during)
    # Then what was signed before still opens, and new messages name the new key
    assert open_envelope(before, lambda site: during, kinds=("outcome",))[2] == {"job_id": "j1"}
    assert after_change["kid"] == key_id(new) != before["kid"] == key_id(old)
    # and a side that has not learnt the new key yet refuses the new messages, not the old
    with pytest.raises(MessageRejected, match="no key"):
        open_envelope(after_change, lambda site: old, kinds=("outcome",))
    # When the old key is dropped, what it signs is refused
    with pytest.raises(MessageRejected, match="no key"):
        open_envelope(before, lambda site: KeyRing((new,)), kinds=("outcome",))
    with pytest.raises(SiteKeyError, match="1 or 2 keys"):
        KeyRing((new, old, bytes.fromhex(new_key())))
    with pytest.raises(SiteKeyError, match="twice"):
        KeyRing((new, new))


def test_sensors_a_key_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    old, new = new_key(), new_key()
    path = tmp_path / "plant-3.key"
    path.write_text(key_file_text(old, "plant-3"))
    keys = KeyFile(path)
    assert keys.ring().ids == (key_id(bytes.fromhex(old)),)
    # the operator puts the new key first and keeps the old one (comments are skipped)
    path.write_text(f"# after the change\n{new}\n\n{old}\n")
    os.utime(path, ns=(1, 10**18))  # a new stamp even within the clock's resolution
    assert keys.ring().keys == (bytes.fromhex(new), bytes.fromhex(old))
    # a half-written file keeps the keys last read
    path.write_text("0123")
    os.utime(path, ns=(1, 2 * 10**18))
    assert keys.ring().keys == (bytes.fromhex(new), bytes.fromhex(old))
    path.write_text(f"{new}\n{old}\n{new_key()}\n")
    with pytest.raises(SiteKeyError, match="at most 2"):
        load_keys(path)


def test_sensors_key_files(tmp_path: Path) -> None:
    good = tmp_path / "good.key"
    good.write_text(new_key() + "\n")
    assert len(load_key(good)) == 32
    short = tmp_path / "short.key"
    short.write_text("abcd")
    with pytest.raises(SiteKeyError, match="at least 32"):
        load_key(short)
    text = tmp_path / "text.key"
    text.write_text("not hex at all")
    with pytest.raises(SiteKeyError, match="hex keys"):
        load_key(text)
    empty = tmp_path / "empty.key"
    empty.write_text("# nothing yet\n")
    with pytest.raises(SiteKeyError, match="no key"):
        load_key(empty)
    with pytest.raises(SiteKeyError, match="cannot read"):
        load_key(tmp_path / "missing.key")


def test_sensors_allow_list_is_the_last_word() -> None:
    allow = parse_allow("127.0.1.0/24, 127.0.3.0/28")
    assert allowed_targets(["127.0.1.5", "127.0.1.10-127.0.1.20", "127.0.3.0/28"], allow)
    for specs, reason in [
        (["127.0.2.1"], "outside this sensor's --allow"),
        (["127.0.1.250-127.0.2.5"], "outside"),  # a range that leaves the network
        (["127.0.3.0/27"], "outside"),
        (["::1"], "outside"),  # another address family
        (["camera.example"], "not an address"),  # a name the sensor would resolve
        (["@/etc/passwd"], "not an address"),  # a file the sensor would read
        ([], "no targets"),
    ]:
        with pytest.raises(OutsideAllowList, match=reason):
            allowed_targets(specs, allow)
    with pytest.raises(ValueError, match="not a network"):
        parse_allow("10.0.0.0/8,nonsense")


def test_sensors_captures_only_from_their_directory(tmp_path: Path) -> None:
    captures = tmp_path / "captures"
    (captures / "day1").mkdir(parents=True)
    (captures / "day1" / "mirror.pcap").write_bytes(b"x")
    secret = tmp_path / "secret.pcap"
    secret.write_bytes(b"x")
    (captures / "link.pcap").symlink_to(secret)
    (captures / "inner.pcap").symlink_to(captures / "day1" / "mirror.pcap")
    assert capture_path("day1/mirror.pcap", captures) == captures / "day1" / "mirror.pcap"
    assert capture_path("inner.pcap", captures) == captures / "day1" / "mirror.pcap"
    for name, reason in [
        ("../secret.pcap", "relative, no '..'"),
        ("day1/../../secret.pcap", "relative, no '..'"),
        (str(secret), "relative, no '..'"),
        ("~/secret.pcap", "relative, no '..'"),
        ("-", "relative, no '..'"),  # standard input
        ("link.pcap", "leads outside"),  # a link out of the directory
        ("day1", "not a file"),
        ("missing.pcap", "no such capture"),
    ]:
        with pytest.raises(OutsideAllowList, match=reason):
            capture_path(name, captures)


def test_sensors_capture_globs_match_inside_their_directory_only(tmp_path: Path) -> None:
    captures = tmp_path / "captures"
    (captures / "day1").mkdir(parents=True)
    (captures / "day2.pcap").mkdir()  # a directory a glob matches: skipped
    for name in ("day1/a.pcap", "day1/b.pcap", "day1/c.pcapng", "day1/.hidden.pcap"):
        (captures / name).write_bytes(b"x")
    secret = tmp_path / "secret.pcap"
    secret.write_bytes(b"x")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.pcap").write_bytes(b"x")
    # a glob: every file it matches, by its name under the directory, in name order
    found = capture_files(["day1/*.pcap", "day1/c.pcapng"], captures)
    assert found == [
        ("day1/a.pcap", captures / "day1" / "a.pcap"),
        ("day1/b.pcap", captures / "day1" / "b.pcap"),
        ("day1/c.pcapng", captures / "day1" / "c.pcapng"),
    ]
    assert [name for name, _ in capture_files(["*/?.pcap*"], captures)] == [
        "day1/a.pcap", "day1/b.pcap", "day1/c.pcapng",
    ]  # fmt: skip
    assert [name for name, _ in capture_files(["day1/.*"], captures)] == ["day1/.hidden.pcap"]
    # "**" is not recursive (one level, like "*")
    assert capture_files(["**/a.pcap"], captures) == [("day1/a.pcap", captures / "day1" / "a.pcap")]
    for names, reason in [
        (["../*.pcap"], "relative, no '..'"),
        ([str(tmp_path / "*.pcap")], "relative, no '..'"),
        (["*.pcapng"], "no capture .* matches"),
        (["day2.pcap"], "not a file"),
    ]:
        with pytest.raises(OutsideAllowList, match=reason):
            capture_files(names, captures)
    # a match that leads out (a link to a file, a link to a directory) refuses the whole request
    (captures / "day1" / "z.pcap").symlink_to(secret)
    with pytest.raises(OutsideAllowList, match="leads outside"):
        capture_files(["day1/*.pcap"], captures)
    (captures / "day1" / "z.pcap").unlink()
    (captures / "out").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OutsideAllowList, match="leads outside"):
        capture_files(["*"], captures)
    with pytest.raises(OutsideAllowList, match="leads outside"):
        capture_files(["out/*.pcap"], captures)
    (captures / "out").unlink()
    # at most MAX_CAPTURES files in all, globs expanded
    for index in range(MAX_CAPTURES):
        (captures / "day1" / f"many-{index:03d}.pcap").write_bytes(b"x")
    assert len(capture_files(["day1/many-*.pcap"], captures)) == MAX_CAPTURES
    with pytest.raises(OutsideAllowList, match=f"more than {MAX_CAPTURES} captures"):
        capture_files(["day1/many-*.pcap", "day1/a.pcap"], captures)


def test_sensors_a_segment_must_lie_inside_the_allow_list() -> None:
    import ipaddress

    allow = parse_allow("198.18.7.0/24,10.3.0.0/16")
    assert segment_inside(ipaddress.ip_network("198.18.7.0/24"), allow)
    assert segment_inside(ipaddress.ip_network("10.3.4.0/24"), allow)
    assert not segment_inside(ipaddress.ip_network("198.18.6.0/23"), allow)
    assert not segment_inside(ipaddress.ip_network("::1/128"), allow)


def test_sensors_schedule_times_count_from_now() -> None:
    now = datetime(2026, 12, 4, 17, 3, 27, 500, tzinfo=UTC)
    # an interval: from now, however many runs were missed
    assert next_run((3600, None), now) == now + timedelta(hours=1)
    # a cron line: the next matching minute after now, in UTC
    assert next_run((None, "30 2 * * *"), now) == datetime(2026, 12, 5, 2, 30, tzinfo=UTC)
    assert next_run((None, "*/15 * * * *"), now) == datetime(2026, 12, 4, 17, 15, tzinfo=UTC)
    assert parse_every("24h") == 86400 and parse_every("15m") == 900
    for bad in ("24", "h", "10s", "1w"):
        with pytest.raises(ProvscanError):
            parse_every(bad)
    with pytest.raises(ProvscanError, match="five fields"):
        next_run((None, "* * *"), now)
