"""``provscan sensor``, ``serve --broker`` and ``schedule``: bad input is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from provscan.sensors.messages import load_keys, new_key


def _provscan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "site.key"
    path.write_text(new_key())
    return path


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--site", "a b", "--allow", "127.0.0.0/8"], "site name"),
        (["--site", "a", "--allow", "nonsense"], "not a network"),
        (["--site", "a", "--allow", "127.0.0.0/8"], "needs its site key"),
    ],
)
def test_sensors_sensor_refuses_bad_arguments(args: list[str], said: str) -> None:
    done = _provscan("sensor", "--broker", "amqp://127.0.0.1//", *args)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_sensors_serve_refuses_a_bad_broker(tmp_path: Path) -> None:
    done = _provscan("serve", "--db", str(tmp_path / "c.db"), "--broker", "nonsense")
    assert done.returncode == 2 and "not a broker URL" in done.stderr
    keys = tmp_path / "keys"
    keys.mkdir()
    # a port nothing listens on (the broker's own port is 5672)
    done = _provscan(
        "serve", "--db", str(tmp_path / "c.db"), "--broker", "amqp://guest:secret@127.0.0.1:9//",
        "--sensor-keys", str(keys),
    )  # fmt: skip
    assert done.returncode == 1 and "cannot reach the broker" in done.stderr
    assert "secret" not in done.stderr


def test_sensors_schedule_add_list_remove(tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    added = _provscan(
        "schedule", "add", "--site", "plant-3", "--targets", "127.0.1.0/24", "--every", "24h",
        "--db", db,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    schedule = json.loads(added.stdout)
    assert schedule["every_seconds"] == 86400 and schedule["site"] == "plant-3"
    listed = _provscan("schedule", "list", "--db", db)
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [schedule["id"]]
    assert _provscan("schedule", "remove", str(schedule["id"]), "--db", db).returncode == 0
    assert _provscan("schedule", "list", "--db", db).stdout == ""
    # (interval and cron parsing: test_sensors_messages.py)
    done = _provscan(
        "schedule", "add", "--site", "a", "--targets", "127.0.1.1", "--every", "1h",
        "--cron", "* * * * *", "--db", db,
    )  # fmt: skip
    assert done.returncode == 2 and "one of them" in done.stderr, done.stderr
    done = _provscan(
        "schedule", "add", "--site", "a", "--targets", "camera.example", "--every", "1h", "--db", db
    )
    assert done.returncode == 2 and "addresses, networks or ranges" in done.stderr


def test_sensors_keygen_writes_a_new_private_file_only(tmp_path: Path) -> None:
    out = tmp_path / "plant-3.next.key"
    done = _provscan("sensor", "keygen", "--site", "plant-3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    keys = load_keys(out)
    assert len(keys.signing) == 32 and out.stat().st_mode & 0o777 == 0o600
    assert keys.ids[0] in done.stdout and "plant-3" in out.read_text()
    # never over an existing file (the key in it stays)
    again = _provscan("sensor", "keygen", "--site", "plant-3", "--out", str(out))
    assert again.returncode == 2 and "never replaced" in again.stderr
    assert load_keys(out) == keys
