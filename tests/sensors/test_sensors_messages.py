"""Signed envelopes, the sensor's allow list and schedule times (no broker needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provscan.errors import ProvscanError
from provscan.sensors.central import next_run, parse_every
from provscan.sensors.messages import (
    MessageRejected,
    SiteKeyError,
    load_key,
    new_key,
    open_envelope,
    seal,
)
from provscan.sensors.scope import OutsideAllowList, allowed_targets, parse_allow

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
        (lambda e: {**e, "v": 2}, "version"),
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
    with pytest.raises(SiteKeyError, match="hex"):
        load_key(text)
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
