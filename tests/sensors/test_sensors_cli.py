"""``provscan sensor``, ``serve --broker`` and ``schedule``: bad input is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from provscan.cli import app
from provscan.sensors.messages import load_keys, new_key


def _provscan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provscan", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _in_process(*args: str) -> Any:
    """The CLI in this process: the same commands, exit codes and messages, without starting
    Python, provscan and Celery again for each call (3-6 s each as a child process on a
    loaded machine). ``serve`` is run as ``python -m provscan`` itself, below."""
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


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
def test_sensors_sensor_refuses_bad_arguments(
    args: list[str], said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROVSCAN_SENSOR_KEY", raising=False)
    done = _in_process("sensor", "--broker", "amqp://127.0.0.1//", *args)
    assert done.exit_code == 2, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_sensors_serve_refuses_a_bad_broker(tmp_path: Path) -> None:
    done = _provscan("serve", "--db", str(tmp_path / "c.db"), "--broker", "nonsense")
    assert done.returncode == 2 and "not a broker URL" in done.stderr
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "plant-3.key").write_text(new_key())
    (keys / "plant-3.key").chmod(0o600)
    # a port nothing listens on (the broker's own port is 5672)
    done = _provscan(
        "serve", "--db", str(tmp_path / "c.db"), "--broker", "amqp://guest:secret@127.0.0.1:9//",
        "--sensor-keys", str(keys),
    )  # fmt: skip
    assert done.returncode == 1 and "cannot reach the broker" in done.stderr
    assert "secret" not in done.stderr


def test_sensors_schedule_add_list_remove(tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    # a new store, and a site no sensor has reported yet
    every = ("--every", "24h", "--db", db, "--create", "--new-site")
    added = _in_process("schedule", "add", "--site", "plant-3", "--targets", "127.0.1.0/24", *every)
    assert added.exit_code == 0, added.stderr
    schedule = json.loads(added.stdout)
    assert schedule["every_seconds"] == 86400 and schedule["site"] == "plant-3"
    assert schedule["kind"] == "scan" and schedule["targets"] == ["127.0.1.0/24"]
    # a capture analysis of the files a glob matches under the sensor's --captures, and a
    # discovery on the sensor's own interface
    pcap = _in_process(
        "schedule", "add", "--site", "plant-3", "--kind", "pcap", "--captures",
        "mirror/*.pcapng,day1.pcap", *every,
    )  # fmt: skip
    assert pcap.exit_code == 0, pcap.stderr
    discover = _in_process("schedule", "add", "--site", "plant-3", "--kind", "discover", *every)
    assert discover.exit_code == 0, discover.stderr
    # and a discovery on one named interface of the sensor's
    named = _in_process(
        "schedule", "add", "--site", "plant-3", "--kind", "discover", "--interface", "eth1",
        *every,
    )  # fmt: skip
    assert named.exit_code == 0, named.stderr
    listed = [
        json.loads(line) for line in _in_process("schedule", "list", "--db", db).stdout.splitlines()
    ]
    assert [(s["id"], s["kind"]) for s in listed] == [
        (schedule["id"], "scan"), (json.loads(pcap.stdout)["id"], "pcap"),
        (json.loads(discover.stdout)["id"], "discover"), (json.loads(named.stdout)["id"], "discover"),
    ]  # fmt: skip
    assert listed[1]["captures"] == ["mirror/*.pcapng", "day1.pcap"] and listed[1]["targets"] == []
    assert listed[2]["captures"] == [] and listed[2]["targets"] == []
    assert listed[2]["interface"] is None and listed[3]["interface"] == "eth1"
    assert [s["interface"] for s in listed[:2]] == [None, None]
    for row in listed:
        assert _in_process("schedule", "remove", str(row["id"]), "--db", db).exit_code == 0
    assert _in_process("schedule", "list", "--db", db).stdout == ""
    # refused, one line each, exit 2 (interval and cron parsing: test_sensors_messages.py)
    for args, said in [
        (["--targets", "127.0.1.1", "--cron", "* * * * *"], "one of them"),
        (["--targets", "camera.example"], "addresses, networks or ranges"),
        ([], "a scan schedule needs --targets"),
        (["--kind", "pcap"], "names 1 to 64 --captures"),
        (["--kind", "pcap", "--captures", "../etc/x.pcap"], "relative, no '..'"),
        (["--kind", "pcap", "--captures", "/var/x.pcap"], "relative, no '..'"),
        (
            ["--kind", "pcap", "--captures", "a.pcap", "--targets", "127.0.1.1"],
            "takes no --targets",
        ),
        (["--kind", "discover", "--targets", "127.0.1.1"], "takes no --targets"),
        (["--kind", "discover", "--ports", "80"], "takes no --targets or --ports"),
        (["--kind", "discover", "--captures", "a.pcap"], "--captures is for --kind pcap"),
        (["--targets", "127.0.1.1", "--captures", "a.pcap"], "--captures is for --kind pcap"),
        (["--kind", "sweep"], "one of scan, pcap, discover"),
        (["--targets", "127.0.1.1", "--interface", "eth1"], "--interface is for --kind discover"),
        (["--kind", "discover", "--interface", "eth 1"], "is not an interface name"),
        (["--kind", "discover", "--interface", "a-very-long-interface"], "not an interface name"),
    ]:
        done = _in_process("schedule", "add", "--site", "a", "--every", "1h", "--db", db, *args)
        assert done.exit_code == 2 and said in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1
    assert _in_process("schedule", "list", "--db", db).stdout == ""


def test_sensors_keygen_writes_a_new_private_file_only(tmp_path: Path) -> None:
    out = tmp_path / "plant-3.next.key"
    done = _in_process("sensor", "keygen", "--site", "plant-3", "--out", str(out))
    assert done.exit_code == 0, done.stderr
    keys = load_keys(out)
    assert len(keys.signing) == 32 and out.stat().st_mode & 0o777 == 0o600
    assert keys.ids[0] in done.stdout and "plant-3" in out.read_text()
    # never over an existing file (the key in it stays)
    again = _in_process("sensor", "keygen", "--site", "plant-3", "--out", str(out))
    assert again.exit_code == 2 and "never replaced" in again.stderr
    assert load_keys(out) == keys


@pytest.mark.parametrize(
    ("targets", "said"),
    [
        ("0.0.0.0/0", "refusing target 0.0.0.0/0: multicast, unspecified or reserved address"),
        ("8.8.8.8", "refusing target 8.8.8.8: public address"),
        ("127.0.1.1,100.64.0.1", "refusing target 100.64.0.1: public address"),  # CGNAT
        ("10.20.0.1", "refusing target 10.20.0.1: outside PROVSCAN_ALLOWED_TARGETS"),
        ("127.0.0.0/16", "targets expand to 65536 addresses, more than the 4096"),
    ],
)
def test_sensors_schedule_add_applies_the_scope_rules_of_scan(
    targets: str, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # addresses here are data only: adding a schedule sends nothing anywhere
    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128")
    db = str(tmp_path / "central.db")
    done = _in_process(
        "schedule", "add", "--site", "a", "--targets", targets, "--every", "1h", "--db", db
    )
    assert done.exit_code == 2 and said in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    if Path(db).exists():
        assert _in_process("schedule", "list", "--db", db).stdout == ""


def test_sensors_schedule_add_says_where_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128")
    db = str(tmp_path / "central.db")
    done = _in_process(
        "schedule", "add", "--site", "plant-3", "--targets", "127.0.1.0/24", "--every", "1h",
        "--db", db, "--create", "--new-site",
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["targets"] == ["127.0.1.0/24"]  # stdout: the JSON line only
    assert "`provscan serve`" in done.stderr and "--broker" in done.stderr
    assert "provscan sensor --site plant-3" in done.stderr
    helped = _in_process("schedule", "add", "--help")
    assert "serve" in helped.stdout and "--broker" in helped.stdout


def test_sensors_schedule_list_and_remove_refuse_a_missing_store(tmp_path: Path) -> None:
    typo = tmp_path / "centrl.db"
    for args in (["list"], ["remove", "1"]):
        done = _in_process("schedule", *args, "--db", str(typo))
        assert done.exit_code == 2 and "no provscan database at" in done.stderr, done.stderr
    assert not typo.exists()


def test_sensors_the_central_does_not_send_a_stored_schedule_out_of_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schedule written before add checked the scope (or by other means) is refused when it
    is due: recorded as a refused job, and nothing is sent (no broker listens here)."""
    from datetime import UTC, datetime

    from provscan.sensors.central import Central, SiteKeys
    from provscan.store.db import open_store

    monkeypatch.setenv("PROVSCAN_ALLOWED_TARGETS", "127.0.0.0/8,::1/128")
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "plant-3.key").write_text(new_key())
    now = datetime.now(UTC)
    with open_store(f"sqlite:///{tmp_path / 'central.db'}") as store:
        for targets in (["8.8.8.8"], ["0.0.0.0/0"]):
            schedule = store.fleet().add_schedule(
                "plant-3", targets, every_seconds=3600, cron=None, next_run=now
            )
            # a port nothing listens on: were anything sent, this would fail differently
            central = Central(store, "amqp://guest:guest@127.0.0.1:9//", SiteKeys(keys))
            assert central.run_schedule(schedule, now) is None
        jobs = store.fleet().jobs(site="plant-3")
    assert [job.state for job in jobs] == ["refused", "refused"]
    assert all((job.detail or "").startswith("not sent: refusing target") for job in jobs)
